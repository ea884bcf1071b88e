"""Generic cocotb test: replay a pezo trace on a DUT and check every output every cycle.

This module runs inside the simulator process, started by :func:`pezo.sim.runner.cosimulate`.
It imports only cocotb and the standard library: golden models (PyTorch) run on the pytest
side and hand over their per-cycle stimulus and expected outputs as a trace file.

Environment
-----------
PEZO_TRACE
    Path of the trace file (format: see :mod:`pezo.sim.runner`).
PEZO_REPORT
    Path of the JSON report this test writes: ``{"status": "pass", ...}``, or on the first
    mismatch ``{"status": "mismatch", "cycle", "signal", "expected", "got", ...}``, or
    ``{"status": "error", "message"}`` when the trace does not fit the DUT.

The timing convention is documented in :mod:`pezo.sim.runner`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotb.types import Logic

TRACE_ENV = "PEZO_TRACE"
REPORT_ENV = "PEZO_REPORT"
CLOCK_PERIOD_NS = 10
RESET_CYCLES = 2


class TraceError(Exception):
    """The trace does not fit the DUT (unknown port, value too wide)."""


def _write_report(report: dict[str, Any]) -> None:
    Path(os.environ[REPORT_ENV]).write_text(json.dumps(report))


def _decode(values: list[Any]) -> list[int | None]:
    # Wide ports are stored as hex strings (see runner._encode_port).
    if values and any(type(v) is str for v in values):
        return [None if v is None else int(v, 16) for v in values]
    return values


def _port(dut: Any, name: str) -> Any:
    try:
        return getattr(dut, name)
    except AttributeError:
        raise TraceError(f"the DUT has no port named {name!r}") from None


def _check_fits(name: str, values: list[int | None], width: int) -> list[int | None]:
    """Check that *values* fit *width* bits; map negative (two's complement) values to bit patterns."""
    present = [v for v in values if v is not None]
    if not present:
        return values
    lo, hi = min(present), max(present)
    if hi >= 1 << width or lo < -(1 << (width - 1)):
        bad = hi if hi >= 1 << width else lo
        raise TraceError(f"trace value {bad} does not fit port {name!r} ({width} bits)")
    if lo < 0:
        mask = (1 << width) - 1
        return [None if v is None else v & mask for v in values]
    return values


def _reader(handle: Any) -> Callable[[Any], int]:
    # 1-bit ports are LogicObject (value: Logic), vectors LogicArrayObject (value: LogicArray).
    # Both conversions raise ValueError on X/Z.
    if isinstance(handle.value, Logic):
        return int
    return lambda value: value.to_unsigned()


def _to_drive(handle: Any, values: list[int], width: int) -> list[int]:
    # cocotb range-checks ints against the port's signedness; the trace holds bit patterns.
    if getattr(handle, "is_signed", False):
        half, full = 1 << (width - 1), 1 << width
        return [v - full if v >= half else v for v in values]
    return values


def _mismatch(cycle: int, signal: str, expected: int, value: Any, got: int | None) -> None:
    report: dict[str, Any] = {
        "status": "mismatch",
        "cycle": cycle,
        "signal": signal,
        "expected": expected,
        "expected_hex": hex(expected),
        "got": got,
        "got_hex": None if got is None else hex(got),
        # The raw bit string shows X/Z bits when the value could not be converted.
        "got_bits": str(value),
    }
    _write_report(report)
    shown = report["got_hex"] if got is not None else f"0b{value} (X/Z)"
    raise AssertionError(
        f"cycle {cycle}, signal {signal}: expected {hex(expected)}, got {shown}"
    )


@cocotb.test()
async def replay_trace(dut: Any) -> None:
    """Reset the DUT, then drive the trace's inputs and compare its outputs every cycle."""
    trace = json.loads(Path(os.environ[TRACE_ENV]).read_text())
    n = trace["cycles"]
    try:
        inputs = []
        for name, values in trace["inputs"].items():
            handle = _port(dut, name)
            width = len(handle)
            values = _check_fits(name, _decode(values), width)
            inputs.append((handle, _to_drive(handle, values, width)))
        outputs = []
        for name, values in trace["outputs"].items():
            handle = _port(dut, name)
            outputs.append((name, handle, _check_fits(name, _decode(values), len(handle)), _reader(handle)))
        initial = []
        for name, value in trace["initial"].items():
            handle = _port(dut, name)
            value = _check_fits(name, _decode([value]), len(handle))[0]
            initial.append((name, handle, value, _reader(handle)))
    except TraceError as exc:
        _write_report({"status": "error", "message": str(exc)})
        raise

    dut.rst.value = 1
    for handle, _ in inputs:
        handle.value = 0
    # The C++ (gpi) clock costs no Python per edge; cocotb only picks it by itself when writes
    # are trusted to be inertial, which we do not need: inputs change at falling edges only.
    # Start low so that the first edge is a clean 0->1 at t = 5 ns.
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, RESET_CYCLES)
    falling = FallingEdge(dut.clk)
    await falling

    # Outputs are read before any write in the same callback, so they show the state the
    # previous rising edge produced with the previous inputs still applied.
    for name, handle, expected, read in initial:
        value = handle.value
        try:
            got = read(value)
        except ValueError:
            _mismatch(-1, name, expected, value, None)
        if got != expected:
            _mismatch(-1, name, expected, value, got)
    dut.rst.value = 0

    started = time.perf_counter()
    previous = [None] * len(inputs)
    for c in range(n):
        # Only write inputs that change: every write is a VPI call.
        for i, (handle, values) in enumerate(inputs):
            v = values[c]
            if v != previous[i]:
                handle.value = v
                previous[i] = v
        await falling
        for name, handle, values, read in outputs:
            expected = values[c]
            if expected is None:
                continue
            value = handle.value
            try:
                got = read(value)
            except ValueError:
                _mismatch(c, name, expected, value, None)
            if got != expected:
                _mismatch(c, name, expected, value, got)
    seconds = time.perf_counter() - started
    _write_report({"status": "pass", "cycles": n, "loop_seconds": seconds})
