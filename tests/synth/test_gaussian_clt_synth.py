"""gaussian-clt unit synthesis: a regression guard for its competitiveness (the lean baseline)."""

import pytest

from pezo.build.flow import synthesize
from pezo.config import Config
from pezo.hw.gaussian import Lanes

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.synth


def test_unit_8bit_fits_the_up5k_within_budget(tmp_path):
    cfg = Config().replace(**{**W63, "engine.source": "gaussian-clt", "engine.reuse.strategy": "none",
                              "engine.scale.mode": "fixed", "engine.lanes": 1, "engine.value_bits": 8})
    e = cfg.engine
    rep = synthesize(lambda: Lanes(e.params), design="clt", target="ice40-up5k", seeds=[1],
                     out_dir=tmp_path / "out", config_digest=cfg.digest())
    res = rep["resources"]
    # K = 4, u = 7: three 8..9-bit adders, three shift-add adders of ~13 bits, registers.
    # Measured 65 LUT / 54 FF, 84 MHz (yosys 0.70, nextpnr 0.11.1); ~15% headroom.
    assert res["DSP"] == 0 and res["BRAM"] == 0
    assert 0 < res["LUT"] <= 75
    assert 0 < res["FF"] <= 62
    assert rep["fmax_mhz"] > 50
