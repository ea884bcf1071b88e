"""Running the flow's tools: one tool with its log (:func:`run_tool`), the two yosys runs of a
design (core and scan harness, with the ABC9 ``-dff`` fallback) and one nextpnr seed.

Every tool runs with ``cwd`` the work directory and relative file names (YoWASP remaps
``/tmp``). Where the tools are and how to install them is :mod:`pezo.tools`'.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pezo import tools
from pezo.errors import PezoError

from .parse import DoesNotFit, cell_histogram, classify, fit_error, parse_pnr_report
from .targets import NETLIST_JSON, NETLIST_V, Target

__all__ = ["DoesNotFit", "abc9_reintegrate_failed", "place", "run_tool", "synth_core", "synth_design",
           "synth_harness"]


def _read(sources: tuple[str, ...]) -> str:
    """The script lines reading a design's own Verilog files (external cores), before pezo's."""
    return "".join(f"read_verilog -sv {name}\n" for name in sources)


def run_tool(step: str, short: str, args: list[str], cwd: Path, log_name: str) -> None:
    """Run one tool with its combined output in ``cwd/log_name``; raise PezoError on failure.

    yosys writes its own log (``-l``), and its console output (``-q``: warnings, errors, and
    a WebAssembly trap reported by the runtime) is appended to it afterwards. The YoWASP build
    links ABC in and redirects stdout around each ABC run without restoring it, so everything
    yosys prints to stdout after the first ABC9 call is lost, including the ``ERROR`` line of
    a failure (measured: the stdout log ends at "Running ABC command" even on success, while
    the ``-l`` log goes on to "End of script").
    """
    exe = tools.find(short)
    log = cwd / log_name
    if exe is None:
        raise PezoError(f"{step}: {tools.TOOLS[short]} not found; install it with "
                        f"`{tools.install_hint(short)}`")
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
        detail = tools.first_error(log)
        detail = f": {detail}" if detail else ""
        raise PezoError(f"{step} failed (exit {proc.returncode}){detail}; see {log}")


def synth_design(design: str, tgt: Target, top: str, top_h: str, out: Path, times: dict[str, float],
                 say: Callable[[str], None], sources: tuple[str, ...] = ()) -> tuple[tuple[dict[str, Any], str], tuple[dict[str, Any], str]]:
    """Synthesise the core (resources, mapped netlist) and the harness (netlist for nextpnr);
    each with the synthesis command used.

    Fallback: where yosys 0.70 stops on its ABC9 re-import assertion (see
    :func:`synth_harness`), the run is repeated with ``-dff``, said in the progress line and
    recorded in the report (``abc9_fallback``, ``synth_command``). Met on the ECP5 cores of some
    update systems (pool engines with the three-stage datapath).
    """
    try:
        core = (synth_core(design, tgt, tgt.synth, top, out, times, say, sources=sources), tgt.synth)
    except PezoError:
        if not abc9_reintegrate_failed(out / "yosys_core.log"):
            raise
        say(f"yosys: core hit yosys' ABC9 re-import assertion (see {out / 'yosys_core.log'}); "
            f"retrying with `{tgt.synth} -dff`")
        synth = f"{tgt.synth} -dff"
        core = (synth_core(design, tgt, synth, top, out, times, say, log="yosys_core_fallback.log",
                           sources=sources), synth)
    return core, synth_harness(tgt, top_h, out, times, say, sources=sources)


#: The pass (ABC9's re-import of its mapping) in which yosys 0.70 asserts on some netlists.
_REINTEGRATE_PASS = "ABC_OPS_REINTEGRATE"


def abc9_reintegrate_failed(log: Path) -> bool:
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


def synth_harness(tgt: Target, top_h: str, out: Path, times: dict[str, float],
                  say: Callable[[str], None], sources: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
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
        script = (_read(sources) + f"read_verilog {top_h}.v\n"
                  f"{synth} -top {top_h} -json {top_h}.json\n"
                  "tee -q -o stat_harness.json stat -json\n")
        (out / "yosys_harness.ys").write_text(script)
        (out / "stat_harness.json").unlink(missing_ok=True)
        try:
            run_tool(step, "yosys", ["-s", "yosys_harness.ys"], out, log_name)
            break
        except PezoError:
            if attempt or not abc9_reintegrate_failed(out / log_name):
                raise
        say(f"yosys: harness hit yosys' ABC9 re-import assertion (see {out / log_name}); "
            f"retrying with `{synth} -dff`")
        synth = f"{tgt.synth} -dff"
        log_name, step = "yosys_harness_fallback.log", "yosys (harness, -dff fallback)"
    times["yosys_harness"] = time.perf_counter() - t0
    h_cells = cell_histogram(out / "stat_harness.json", top_h, step, out / log_name)
    return classify(h_cells, tgt), synth


def synth_core(design: str, tgt: Target, synth: str, top: str, out: Path, times: dict[str, float],
               say: Callable[[str], None], log: str = "yosys_core.log", sources: tuple[str, ...] = ()) -> dict[str, Any]:
    """Synthesise ``out/<top>.v`` alone: resources from ``stat``, and the mapped netlist."""
    say(f"yosys: core {design} ({synth})")
    # The mapped core is also written with plain net names (rename -hide, -enumerate) as
    # Verilog and JSON: the power estimate simulates it (pezo.build.power).
    script = (_read(sources) + f"read_verilog {top}.v\n"
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
    run_tool("yosys (core)", "yosys", ["-s", "yosys_core.ys"], out, log)
    times["yosys_core"] = time.perf_counter() - t0
    cells = cell_histogram(out / "stat.json", top, "yosys (core)", out / log)
    return classify(cells, tgt)


def place(tgt: Target, top_h: str, seed: int, freq_mhz: float, out: Path, fit_note: str
          ) -> tuple[float, dict[str, float], dict[str, dict[str, int]]]:
    """nextpnr on the harness netlist ``out/<top_h>.json`` with one seed: Fmax of the slowest
    clock, Fmax per clock and utilisation per bel type.

    Raises :class:`pezo.build.parse.DoesNotFit` (with ``fit_note`` in its message) when the log
    shows a bel type over capacity, else the tool's own failure.
    """
    step, log_name = f"nextpnr seed {seed}", f"nextpnr_seed{seed}.log"
    args = [*tgt.nextpnr_args, "--json", f"{top_h}.json", "--report", f"report_seed{seed}.json",
            "--seed", str(seed), "--freq", str(freq_mhz), "--timing-allow-fail"]
    (out / f"report_seed{seed}.json").unlink(missing_ok=True)
    try:
        run_tool(step, tgt.nextpnr, args, out, log_name)
    except PezoError as exc:
        # "Does not fit" is the likely failure and deserves its own message.
        fit = fit_error(out / log_name, step, tgt, fit_note)
        if fit is None:
            raise PezoError(str(exc)) from None
        raise fit from None
    return parse_pnr_report(out / f"report_seed{seed}.json", step, out / log_name)
