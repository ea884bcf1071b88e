"""One gaussian-icdf unit (8-bit) on the iCE40 UP5K: it fits, and stays within its budget."""

import pytest

from pezo.build.flow import synthesize
from pezo.config import Config
from pezo.hw.gaussian.icdf import Unit

pytestmark = pytest.mark.synth


def test_icdf_unit_8bit_within_budget(tmp_path):
    cfg = Config().replace(**{"engine.source": "gaussian-icdf", "engine.reuse.strategy": "none",
                              "engine.scale.mode": "fixed", "engine.value_bits": 8})
    rep = synthesize(lambda: Unit(cfg.engine), design="icdf8", target="ice40-up5k", seeds=[1],
                     out_dir=tmp_path / "out", config_digest=cfg.digest())
    r = rep["resources"]
    # Budget (regression guard, docs/gaussian-icdf.md): the LUT multiplier keeps DSPs at 0 so
    # that 8 lanes leave the UP5K's 8 DSPs free; the 256 x 25-bit ROM is two 256 x 16 RAMs.
    assert r["DSP"] == 0
    assert r["BRAM"] <= 2
    # measured 8 units: 3241 LUT, 593 FF (docs/gaussian-icdf.md); 20% headroom per unit
    assert 0 < r["LUT"] <= 490
    assert 0 < r["FF"] <= 90
    assert rep["fmax_mhz"] > 25
