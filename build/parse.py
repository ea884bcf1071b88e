"""Reading what the tools wrote: yosys' cell statistics, nextpnr's report and its log (a design
that does not fit), each failure a one-line :class:`pezo.errors.PezoError` naming the log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pezo import tools
from pezo.errors import PezoError

from .targets import Target

__all__ = ["DoesNotFit", "cell_histogram", "classify", "fit_error", "parse_pnr_report", "read_json"]


# nextpnr's "Device utilisation" lines, e.g. "Info: \t ICESTORM_LC:  9090/  5280   172%".
_UTIL_RE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def read_json(path: Path, step: str, log: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise PezoError(f"{step}: cannot read {path.name} ({reason}); see {log}") from None


def cell_histogram(stat_path: Path, top: str, step: str, log: Path) -> dict[str, int]:
    """Cell type -> count from yosys ``stat -json`` output, without bookkeeping cells."""
    stat = read_json(stat_path, step, log)
    try:
        # yosys 0.70 puts whole-design totals under "design"; older versions only per module.
        section = stat["design"] if "design" in stat else stat["modules"]["\\" + top]
        raw = section["num_cells_by_type"]
        cells = {str(k): int(v) for k, v in raw.items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PezoError(f"{step}: {stat_path.name} has no cell counts for {top}; "
                        f"see {log}") from None
    # $scopeinfo cells only record the flattened hierarchy; they are not hardware.
    return {k: v for k, v in sorted(cells.items()) if k != "$scopeinfo"}


def classify(cells: dict[str, int], target: Target) -> dict[str, Any]:
    resources: dict[str, Any] = {
        key: sum(n for cell, n in cells.items() if cell.startswith(prefixes)) if prefixes else 0
        for key, prefixes in target.cells.items()
    }
    resources["cells"] = cells
    return resources


class DoesNotFit(PezoError):
    """nextpnr found the design larger than the device.

    Attributes
    ----------
    over : list of [str, int, int]
        ``[bel type, used, available]`` for every bel type over capacity (may be empty when
        nextpnr only said "no BELs remaining").
    """

    def __init__(self, message: str, over: list[list[Any]]):
        super().__init__(message)
        self.over = over


def fit_error(log: Path, step: str, target: Target, note: str) -> DoesNotFit | None:
    """A 'does not fit' error if nextpnr's log shows a bel type over capacity, else None."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    over = [[bel, int(used), int(avail)] for bel, used, avail in _UTIL_RE.findall(text)
            if int(used) > int(avail)]
    if not over and "no BELs remaining" not in text:
        return None
    what = ", ".join(f"{b} {u}/{a}" for b, u, a in over) if over else tools.first_error(log)
    return DoesNotFit(f"{step}: design does not fit {target.device}-{target.package} ({what}; "
                      f"{note}); see {log}", over)


def parse_pnr_report(path: Path, step: str, log: Path) -> tuple[float, dict[str, float],
                                                                 dict[str, dict[str, int]]]:
    """Fmax of the slowest clock, Fmax per clock and utilisation from a nextpnr report."""
    rep = read_json(path, step, log)
    try:
        per_clock = {str(clk): float(v["achieved"]) for clk, v in rep["fmax"].items()}
        util = {str(bel): {"used": int(v["used"]), "available": int(v["available"])}
                for bel, v in rep["utilization"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PezoError(f"{step}: {path.name} lacks fmax/utilization; see {log}") from None
    if not per_clock:
        raise PezoError(f"{step}: {path.name} reports no clock Fmax; see {log}")
    return min(per_clock.values()), per_clock, util
