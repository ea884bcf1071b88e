"""Tests for the trace co-simulation runner (pezo.sim.runner + pezo.sim.tb_trace)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from amaranth import Cat, Const, Module, signed
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.errors import PezoError
from pezo.sim.runner import (
    CosimMismatch,
    SimulatorMissing,
    Trace,
    available_simulators,
    check_simulator,
    cosimulate,
)

pytestmark = pytest.mark.cosim

BIG = 200  # wide enough to go through the hex-string path of the trace file
CYCLES = 300


class Counter(wiring.Component):
    """Counter that adds a signed step when enabled, with registered and combinational outputs."""

    def __init__(self, width: int) -> None:
        self.width = width
        super().__init__({
            "en": In(1),
            "step": In(signed(4)),
            "count": Out(width),
            "peek": Out(width),  # combinational from an input: checks the sampling convention
            "prev_en": Out(1),
            "big": Out(BIG),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + self.step)
        m.d.sync += self.prev_en.eq(self.en)
        m.d.comb += self.peek.eq(self.count + self.en)
        m.d.comb += self.big.eq(Cat(self.count, Const(0, BIG - 2 * self.width), self.count))
        return m


def golden_trace(width: int, cycles: int = CYCLES, seed: int = 1) -> Trace:
    """Plain-Python model of Counter, following the runner's timing convention."""
    rng = random.Random(seed)
    en = [rng.randrange(2) for _ in range(cycles)]
    step = [rng.randrange(-8, 8) for _ in range(cycles)]  # negative = two's complement
    mask = (1 << width) - 1
    count = 0
    out: dict[str, list[int]] = {"count": [], "peek": [], "prev_en": [], "big": []}
    for e, s in zip(en, step):
        if e:
            count = (count + s) & mask
        out["count"].append(count)
        out["peek"].append((count + e) & mask)  # inputs[c] is still applied when sampled
        out["prev_en"].append(e)
        out["big"].append(count << (BIG - width) | count)
    initial = {"count": 0, "peek": 0, "prev_en": 0, "big": 0}
    return Trace(inputs={"en": en, "step": step}, outputs=out, initial=initial)


def write_verilog(path: Path, width: int) -> Path:
    path.write_text(verilog.convert(Counter(width), name=f"counter{width}", emit_src=False))
    return path


@pytest.fixture(scope="module")
def icarus() -> str:
    try:
        return check_simulator("icarus")
    except SimulatorMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def rtl(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    d = tmp_path_factory.mktemp("rtl")
    return {w: write_verilog(d / f"counter{w}.v", w) for w in (8, 12)}


def test_pass(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    result = cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    assert result.cycles == len(trace) == CYCLES
    assert result.seconds > 0 and result.cycles_per_second > 0
    assert result.waveform is None
    assert result.log.is_file()


def test_mismatch_at_cycle_17(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    right = trace.outputs["count"][17]
    trace.outputs["count"][17] = right ^ 0x5A
    with pytest.raises(CosimMismatch) as info:
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    exc = info.value
    assert (exc.cycle, exc.signal, exc.expected, exc.got) == (17, "count", right ^ 0x5A, right)
    assert exc.waveform is None
    message = str(exc)
    assert message.startswith(f"cycle 17, signal count: expected {hex(right ^ 0x5A)}, got {hex(right)} (")
    assert "--waves" in message and "\n" not in message
    assert isinstance(exc, PezoError)
    report = json.loads((tmp_path / "w8" / "report.json").read_text())
    assert report["cycle"] == 17 and report["expected_hex"] == hex(right ^ 0x5A)


def test_mismatch_after_reset(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    trace.initial["count"] = 5  # type: ignore[index]
    with pytest.raises(CosimMismatch) as info:
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    assert (info.value.cycle, info.value.signal, info.value.got) == (-1, "count", 0)


def test_wide_output_mismatch(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    trace.outputs["big"][40] ^= 1 << 150
    with pytest.raises(CosimMismatch) as info:
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    assert (info.value.cycle, info.value.signal) == (40, "big")
    assert info.value.got == golden_trace(8).outputs["big"][40]


def test_waves(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    result = cosimulate(rtl[8], "counter8", trace, tmp_path / "w8", waves=True)
    assert result.waveform is not None and result.waveform.is_file()
    assert result.waveform.stat().st_size > 0

    trace.outputs["prev_en"][3] ^= 1
    with pytest.raises(CosimMismatch) as info:
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8", waves=True)
    assert info.value.waveform == result.waveform
    assert f"(waveform: {result.waveform})" in str(info.value)


def test_parameter_sets_do_not_interfere(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    t8, t12 = golden_trace(8, seed=2), golden_trace(12, seed=3)
    for _ in range(2):  # second round reuses both cached builds
        assert cosimulate(rtl[8], "counter8", t8, tmp_path / "w8").cycles == CYCLES
        assert cosimulate(rtl[12], "counter12", t12, tmp_path / "w12").cycles == CYCLES
    # Traces really differ, so a mix-up would have been caught.
    with pytest.raises(CosimMismatch):
        cosimulate(rtl[12], "counter12", golden_trace(8, seed=3), tmp_path / "w12")


def test_rebuilds_when_verilog_changes(icarus: str, tmp_path: Path) -> None:
    source = tmp_path / "top.v"
    for width in (8, 12):
        source.write_text(
            verilog.convert(Counter(width), name="counter", emit_src=False)
        )
        assert cosimulate(source, "counter", golden_trace(width), tmp_path / "b").cycles == CYCLES


def test_x_is_a_mismatch(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    full = golden_trace(8)
    trace = Trace(inputs={"en": full.inputs["en"]}, outputs={"count": full.outputs["count"]})
    with pytest.raises(CosimMismatch) as info:  # `step` is never driven: count goes X
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    assert info.value.signal == "count"
    assert isinstance(info.value.got, str) and "x" in info.value.got.lower()
    # the message says the value held X or Z, and shows the bits it held
    assert "(X/Z)" in str(info.value) and info.value.got in str(info.value)


def test_dont_care(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = golden_trace(8)
    trace.outputs["count"][17] = None  # type: ignore[call-overload]
    assert cosimulate(rtl[8], "counter8", trace, tmp_path / "w8").cycles == CYCLES


def test_unknown_port(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = Trace(inputs={"en": [0] * 4}, outputs={"nope": [0] * 4})
    with pytest.raises(PezoError, match="nope") as info:
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")
    assert not isinstance(info.value, CosimMismatch)


def test_value_too_wide_for_port(icarus: str, rtl: dict[int, Path], tmp_path: Path) -> None:
    trace = Trace(inputs={"en": [2]}, outputs={})
    with pytest.raises(PezoError, match="does not fit port 'en'"):
        cosimulate(rtl[8], "counter8", trace, tmp_path / "w8")


def test_build_error(icarus: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input clk, input rst); this is not verilog\nendmodule\n")
    with pytest.raises(PezoError, match="build.log"):
        cosimulate(bad, "bad", Trace({}, {}), tmp_path / "bad")


def test_trace_validation() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        Trace(inputs={"a": [0, 1]}, outputs={"b": [0]})
    with pytest.raises(ValueError, match="driven by the testbench"):
        Trace(inputs={"rst": [0]}, outputs={})
    with pytest.raises(ValueError, match="integers"):
        Trace(inputs={"a": [0.5]}, outputs={}).to_json()
    wide = json.loads(Trace(inputs={}, outputs={"w": [1 << 300, None, -1 << 70]}).to_json())
    assert [None if v is None else int(v, 16) for v in wide["outputs"]["w"]] == [1 << 300, None, -1 << 70]


def test_available_simulators(icarus: str) -> None:
    found = available_simulators()
    assert set(found) == {"icarus", "verilator"}
    assert found["icarus"] == icarus != "missing"


def test_verilator(rtl: dict[int, Path], tmp_path: Path) -> None:
    try:
        check_simulator("verilator")
    except SimulatorMissing as exc:
        pytest.skip(f"Verilator unusable: {exc}")
    trace = golden_trace(12)
    result = cosimulate(rtl[12], "counter12", trace, tmp_path / "w12", simulator="verilator")
    assert result.cycles == CYCLES and result.cycles_per_second > 0

    trace.outputs["count"][17] ^= 1
    with pytest.raises(CosimMismatch) as info:
        cosimulate(rtl[12], "counter12", trace, tmp_path / "w12", simulator="verilator")
    assert (info.value.cycle, info.value.signal) == (17, "count")
