"""One gaussian-icdf unit (8-bit) on the iCE40 UP5K: it fits, and stays within its budget."""

import pytest

from pezo.build.flow import synthesize
from pezo.config import Config
from pezo.hw.gaussian.icdf import Unit

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.synth


def test_icdf_unit_8bit_within_budget(tmp_path):
    cfg = Config().replace(**{**W63, "engine.source": "gaussian-icdf", "engine.reuse.strategy": "none",
                              "engine.scale.mode": "fixed", "engine.value_bits": 8})
    rep = synthesize(lambda: Unit(cfg.engine.params), design="icdf8", target="ice40-up5k", seeds=[1],
                     out_dir=tmp_path / "out", config_digest=cfg.digest())
    r = rep["resources"]
    # Budget (regression guard, docs/gaussian-icdf.md): the degree-1 product and c0 in one
    # SB_MAC16 (8 lanes use the UP5K's 8); the 256 x 24-bit ROM is two 256 x 16 RAMs.
    assert r["DSP"] == 1
    assert r["BRAM"] <= 2
    # measured: 99 LUT, 50 FF (docs/gaussian-icdf.md); ~30% headroom
    assert 0 < r["LUT"] <= 130
    assert 0 < r["FF"] <= 65
    assert rep["fmax_mhz"] > 30
