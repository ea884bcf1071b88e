"""Two 8-bit Box-Muller units (four lanes) on the UP5K: they fit, within the size budget.

Budget (docs/gaussian-boxmuller.md; a regression guard for competitiveness), per unit (two
samples per cycle): at most 750 LUT4, 400 FF, 2 block RAMs and 2 DSPs (the two f*g products).
The FF budget was 260 at latency 6; the pipeline registers of latency 8 (docs) cost ~125 FF.
The units sit in a wrapper as in benchmarks/gaussian_boxmuller_synth.py: yosys-abc (YoWASP
0.70) exits without a message on the bare unit's netlist, not on the wrapper's.
"""

import pytest

from pezo.build.flow import synthesize
from pezo.config import Config
from pezo.hw.gaussian import Lanes

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.synth
UNITS = 2


def test_units_8bit_fit_the_up5k_within_budget(tmp_path):
    cfg = Config().replace(**{**W63, "engine.source": "gaussian-boxmuller", "engine.value_bits": 8, "engine.lanes": 4,
                              "engine.reuse.strategy": "none", "engine.scale.mode": "fixed"})
    rep = synthesize(lambda: Lanes(cfg.engine.params), design="boxmuller8", target="ice40-up5k", seeds=[1],
                     out_dir=tmp_path, config_digest=cfg.digest())
    res = rep["resources"]
    assert 0 < res["LUT"] <= 750 * UNITS and res["FF"] <= 400 * UNITS
    assert res["BRAM"] <= 2 * UNITS and res["DSP"] <= 2 * UNITS
    assert rep["fmax_mhz"] > 20
