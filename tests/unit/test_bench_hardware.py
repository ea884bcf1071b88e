"""The headline benchmark's bank rule and comparisons (benchmarks/hardware.py), without tools."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import hardware  # noqa: E402


def test_bank_rule_power_of_two_k_at_most_63():
    banks = {(v, p): (c.engine.lfsr.lanes, c.engine.lfsr.k) for v in ("pezo-recommended", "gaussian-clt")
             for p in ((8, 8), (16, 16)) for c in [hardware.variant_config(v, *p)]}
    assert banks == {("pezo-recommended", (8, 8)): (1, 16),      # 13 bits: 7-bit entry + offset
                     ("pezo-recommended", (16, 16)): (1, 32),    # 21 bits
                     ("gaussian-clt", (8, 8)): (4, 63),          # 224 bits
                     ("gaussian-clt", (16, 16)): (16, 63)}
    for v in hardware.VARIANTS:
        cfg = hardware.variant_config(v, 8, 8)
        assert cfg.engine.lfsr.bits_per_cycle >= cfg.engine.params.bank_bits_needed


def _row(variant, lut, ff, uw, family="pezo", status="ok"):
    return {"point": "8x8", "target": "ice40-up5k", "variant": variant, "family": family, "status": status,
            "LUT": lut, "FF": ff, "dynamic_uw": uw, "BRAM": 8, "DSP": 0}


def test_reductions_goals_and_smallest_variant():
    rows = [_row("pezo-recommended", 300, 150, 500), _row("pool-sign-fixed", 100, 100, 80),
            _row("gaussian-clt", 1000, 1000, 1000, "gaussian"), _row("gaussian-icdf", 2000, 500, 10, "gaussian"),
            _row("gaussian-boxmuller", 0, 0, 0, "gaussian", "does not fit: 1/0 X")]
    hardware.add_comparisons(rows)
    rec = rows[0]
    assert rec["best_gaussian"] == "gaussian-clt"          # fewest LUTs among those that ran
    assert (rec["vs_gauss_LUT"], rec["vs_gauss_FF"], rec["vs_gauss_dynamic_uw"]) == (70.0, 85.0, 50.0)
    text = hardware.goals(rows)
    assert "LUT 70.0% less (goal: 85% less; missed)" in text and "FF 85.0% less (goal: 80% less; met)" in text
    small = hardware.smallest_pezo(rows)
    assert small.startswith("* 8x8 on ice40-up5k: pool-sign-fixed against gaussian-clt: LUT 90.0% less (met)")
