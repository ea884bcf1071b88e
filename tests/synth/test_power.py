"""Power estimate (pezo.build.power): toggle counts against the golden model, the arithmetic."""

import os
from pathlib import Path

import pytest

from pezo import config

from pezo.app import designs
from pezo.build import power
from pezo.build.flow import core_netlist
from pezo.build.report import power_of
from pezo.errors import PezoError
from pezo.sim.engine import standard_stimulus as engine_stimulus
from pezo.sim.lfsr import standard_stimulus as lfsr_stimulus


def _changes(values, initial, width):
    """Per-bit 0<->1 transitions of a sequence of bit patterns that starts at ``initial``."""
    counts = [0] * width
    prev = initial
    for v in values:
        diff = prev ^ v
        for i in range(width):
            counts[i] += (diff >> i) & 1
        prev = v
    return counts


def _netlist(tmp_path, design, cfg, target):
    d = designs.get(design)
    core_netlist(lambda: d.component(cfg), design=design, target=target, out_dir=tmp_path)
    return tmp_path / "core_netlist.v", tmp_path / "core_netlist.json"


@pytest.mark.synth
def test_lfsr_output_toggles_are_what_the_golden_model_predicts(tmp_path):
    cfg = config.load("configs/lfsr-small.toml")
    lf = cfg.engine.lfsr
    v, j = _netlist(tmp_path, "lfsr", cfg, "ice40-up5k")
    trace = lfsr_stimulus(cfg, cycles=300)
    act = power.simulate(v, j, "pezo_lfsr", "ice40-up5k", trace.inputs, trace.outputs,
                         tmp_path / "sim")
    width = lf.lanes * lf.k
    # The state register resets to the seeds, so the dump starts at their top k bits.
    first = sum((seed >> (lf.width - lf.k)) << (lane * lf.k) for lane, seed in enumerate(lf.seeds))
    assert act["ports"]["out"] == _changes(trace.outputs["out"], first, width)
    assert sum(act["ports"]["out"]) > 0
    # The dump starts with cycle 0's inputs applied: en is 1 throughout, so it never toggles.
    assert act["ports"]["en"] == [0]
    assert act["cycles"] == act["clock_edges"] == 300
    assert act["ff"] == lf.lanes * lf.width * 2      # state + replay shadow
    assert not (tmp_path / "sim" / "activity.vcd").exists()


@pytest.mark.synth
def test_engine_on_ecp5_block_ram_and_multiplier_models(tmp_path):
    # A 1-lane, 4-bit adaptive engine puts its pool in a DP16KD and its rescale in a
    # MULT18X18D, the two cells pezo models itself; the golden check covers every cycle.
    cfg = config.Config().replace(**{"engine.source": "uniform", "engine.reuse.strategy": "pool-sign",
                                     "engine.scale.mode": "adaptive", "engine.lanes": 1, "engine.value_bits": 4,
                                     "engine.lfsr.k": 16,
                                     "engine.max_params": 64})
    v, j = _netlist(tmp_path, "engine", cfg, "ecp5-25k")
    trace = engine_stimulus(cfg)
    # A relative work directory, as the CLI and the benchmark use (pezo writes cell models there).
    work = Path(os.path.relpath(tmp_path / "sim"))
    act = power.simulate(v, j, "pezo_engine", "ecp5-25k", trace.inputs, trace.outputs, work)
    assert act["ports"]["o__valid"] == _changes(trace.outputs["o__valid"], 0, 1) == [2]
    assert act["ports"]["idle"] == _changes(trace.outputs["idle"], 1, 1) == [2]
    assert act["bram_ports"] == 2 and act["bram_accesses"] > 0
    assert act["dsp"] == 1 and act["dsp_input_toggles"] > 0
    # The clock reaches the BRAM and DSP through aliases; it is charged per FF, never as a net.
    assert "clock" not in act["toggles"] and "clock" not in act["fanout_extra"]
    assert act["ports"]["clk"] == [0]


@pytest.mark.synth
def test_ecp5_36_bit_rom_in_pseudo_dual_port_block_ram(tmp_path):
    # The 1-lane 8-bit ICDF's coefficient ROM is 36 bits wide: yosys maps it to a DP16KD in
    # its pseudo-dual-port mode, which the cell model must read back exactly (golden check).
    cfg = config.load("configs/gaussian-icdf.toml").replace(
        **{"engine.lanes": 1, "engine.value_bits": 8, "engine.max_params": 64,
           "engine.lfsr.lanes": 1, "engine.lfsr.k": 32})
    v, j = _netlist(tmp_path, "engine", cfg, "ecp5-25k")
    assert ".DATA_WIDTH_A(32'd36)" in v.read_text()
    trace = engine_stimulus(cfg)
    act = power.simulate(v, j, "pezo_engine", "ecp5-25k", trace.inputs, trace.outputs,
                         Path(os.path.relpath(tmp_path / "sim")))
    assert act["bram_accesses"] > 0


@pytest.mark.synth
def test_a_wrong_netlist_is_caught_by_the_golden_check(tmp_path):
    cfg = config.load("configs/lfsr-small.toml")
    v, j = _netlist(tmp_path, "lfsr", cfg, "ice40-up5k")
    trace = lfsr_stimulus(cfg, cycles=20)
    expected = {"out": list(trace.outputs["out"])}
    expected["out"][5] ^= 1
    with pytest.raises(PezoError, match=r"differs from the golden model at cycle 5, port out"):
        power.simulate(v, j, "pezo_lfsr", "ice40-up5k", trace.inputs, expected, tmp_path / "s")


def test_estimate_arithmetic():
    act = {"cycles": 10, "toggles": {"LUT": 40, "FF": 20, "carry": 10, "BRAM": 5},
           "fanout_extra": {"LUT": 30, "carry": 100}, "ff": 8, "bram_accesses": 10,
           "dsp_input_toggles": 2}
    k = power.COEFFICIENTS["ice40-up5k"]
    est = power.estimate(act, "ice40-up5k", f_mhz=10.0)
    e_fj = ((40 + 20 + 5) * k.net + 30 * k.fanout + 10 * k.carry + 8 * 10 * k.ff_clock
            + 10 * k.bram_access + 2 * k.dsp_input) / 10
    assert est["energy_pj_per_cycle"] == pytest.approx(e_fj / 1000, abs=1e-4)
    assert est["dynamic_uw"] == pytest.approx(e_fj * 10 * 1e-3, abs=1e-3)
    assert est["total_uw"] == pytest.approx(k.static_uw + 10 * k.clock_base_uw_per_mhz
                                            + est["dynamic_uw"], abs=1e-3)
    assert est["toggles_per_cycle"] == 7.5
    assert power.estimate(act, "ecp5-25k")["total_uw"] is None     # no cited static figure


def test_design_without_stimulus_is_a_clear_error(tmp_path):
    import dataclasses

    d = dataclasses.replace(designs.get("lfsr"), stimulus=None)
    with pytest.raises(PezoError, match="has no standard stimulus"):
        power_of(d, config.Config(), "ice40-up5k", tmp_path, cache=None, progress=print)
