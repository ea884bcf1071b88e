"""One 8-bit Box-Muller unit on the UP5K: it fits, and stays within its size budget.

Budget (docs/gaussian-boxmuller.md, regression guard for competitiveness): per unit (two
samples per cycle) at most 450 LUT4, 250 FF, 2 block RAMs and 2 DSPs (the two f*g products).
"""

import pytest

from pezo.build.flow import synthesize
from pezo.config import Config
from pezo.hw.gaussian.boxmuller import Unit

pytestmark = pytest.mark.synth


def test_unit_8bit_fits_the_up5k_within_budget(tmp_path):
    cfg = Config().replace(**{"engine.source": "gaussian-boxmuller", "engine.value_bits": 8, "engine.lanes": 2,
                              "engine.reuse.strategy": "none", "engine.scale.mode": "fixed"})
    rep = synthesize(lambda: Unit(cfg.engine), design="boxmuller8", target="ice40-up5k", seeds=[1],
                     out_dir=tmp_path, config_digest=cfg.digest())
    res = rep["resources"]
    assert 0 < res["LUT"] <= 450 and res["FF"] <= 250
    assert res["BRAM"] <= 2 and res["DSP"] <= 2
    assert rep["fmax_mhz"] > 20
