"""The headline benchmark's bank rule, variants and comparisons (benchmarks/hardware.py), without tools."""

from pathlib import Path

import pytest

from pezo import config
from pezo.bench import hardware

ROOT = Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", list(hardware.VARIANTS))
def test_each_variant_is_its_config_file_at_8_lanes(name):
    """The benchmark's 8-lane row is exactly configs/<name>.toml (bank included), so a user
    who takes the file gets the design the table reports."""
    assert hardware.variant_config(name, 8).digest() == config.load(ROOT / "configs" / f"{name}.toml").digest()


def test_bank_rule():
    banks = {(v, n): (c.engine.lfsr.lanes, c.engine.lfsr.width, c.engine.lfsr.k)
             for v in ("rademacher", "pool-sign", "gaussian-clt") for n in (1, 8, 16)
             for c in [hardware.variant_config(v, n)]}
    assert banks == {("rademacher", 1): (1, 31, 1), ("rademacher", 8): (1, 31, 8), ("rademacher", 16): (1, 31, 16),
                     ("pool-sign", 1): (1, 31, 16), ("pool-sign", 8): (1, 31, 16),      # 7-bit entry + offset
                     ("pool-sign", 16): (1, 31, 16),
                     ("gaussian-clt", 1): (1, 31, 31), ("gaussian-clt", 8): (4, 63, 63),    # 224 bits
                     ("gaussian-clt", 16): (8, 63, 63)}
    for v in hardware.VARIANTS:
        for n in hardware.LANES:
            lf = hardware.variant_config(v, n).engine.lfsr
            assert lf.bits_per_cycle >= hardware.variant_config(v, n).engine.params.bank_bits_needed
            assert lf.k <= lf.width and (lf.k & (lf.k - 1) == 0 or lf.k == lf.width)


def test_system_uses_the_dsps_the_engine_leaves():
    assert hardware.system_config("gaussian-clt").update.dsp_lanes == 8
    assert hardware.system_config("pool-sign").update.dsp_lanes == 7          # adaptive: one DSP in the engine
    assert hardware.system_config("rademacher").update.dsp_lanes == 8         # unused: +-1 needs no multiplier


def test_default_is_a_variant():
    assert hardware.recommended() == "rademacher"


def _row(variant, lut, ff, uw, family="pezo", status="ok", design="engine", lanes=8, dsp=0, fmax=120.0):
    return {"design": design, "lanes": lanes, "target": "ice40-up5k", "variant": variant, "family": family,
            "status": status, "LUT": lut, "FF": ff, "dynamic_uw": uw, "BRAM": 0, "DSP": dsp, "fmax_mhz": fmax}


def test_reductions_and_goals():
    rows = [_row("rademacher", 50, 60, 50, "rademacher"), _row("pool-sign", 300, 150, 500),
            _row("gaussian-clt", 1000, 1000, 1000, "gaussian"), _row("gaussian-icdf", 2000, 500, 10, "gaussian"),
            _row("gaussian-boxmuller", 0, 0, 0, "gaussian", "does not fit: 1/0 X"),
            _row("rademacher", 40, 30, 5, "rademacher", lanes=1), _row("gaussian-clt", 30, 100, 5, "gaussian", lanes=1),
            _row("gaussian-clt", 1000, 900, 900, "gaussian", design="update", dsp=8, fmax=30.0),
            _row("rademacher", 350, 500, 300, "rademacher", design="update", fmax=61.0)]
    hardware.add_comparisons(rows)
    rad = rows[0]
    assert rad["reference"] == "gaussian-clt"                  # fewest LUTs among those that ran
    assert (rad["vs_ref_LUT"], rad["vs_ref_FF"], rad["vs_ref_dynamic_uw"]) == (95.0, 94.0, 95.0)
    assert rows[-1]["reference"] == "gaussian-clt" and rows[-1]["vs_ref_LUT"] == 65.0
    text = hardware.goals(rows, "rademacher")
    assert "engine, 8 lanes, ice40-up5k: LUT 95.0% fewer than gaussian-clt (goal: 90% fewer; met)" in text
    assert "Fmax 120.0 MHz (goal: 100; met)" in text
    # at 1 lane: smaller than CLT in LUTs *and* FFs, here not in LUTs
    assert "40 LUT / 30 FF against gaussian-clt's 30 / 100 (goal: smaller; missed)" in text
    assert "update system, 8 lanes, ice40-up5k: LUT 65.0% fewer than the same system with gaussian-clt " \
           "(goal: 60% fewer; met); DSP 0 (goal: none; met); Fmax 61.0 MHz (goal: 60; met)" in text
    assert hardware._fewer(-12.5) == "12.5% more"
