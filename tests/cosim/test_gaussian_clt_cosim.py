"""gaussian-clt unit RTL against its golden Sampler, every cycle, with random ``en``."""

import pytest
import torch
from amaranth.back import verilog

from pezo.config import Config
from pezo.hw.gaussian.clt import Unit
from pezo.sim import gaussian_clt
from pezo.sim.runner import CosimMismatch, cosimulate
from pezo.sw.golden.gaussian.clt import Sampler

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.cosim

# (value_bits, K): the default K at both widths; K = 3 and 12 (one digit, ties at K = 12);
# K = 16 (saturates); K = 5 (odd, seven digits at 16 bits)
CASES = [(8, 4), (16, 4), (8, 3), (16, 12), (8, 16), (16, 5), (4, 2)]


def _cfg(value_bits: int, terms: int) -> Config:
    return Config().replace(**{**W63, "engine.source": "gaussian-clt", "engine.reuse.strategy": "none",
                               "engine.scale.mode": "fixed", "engine.lanes": 1,
                               "engine.value_bits": value_bits, "engine.gaussian.clt_terms": terms})


def _run(cfg, tmp_path, name, trace):
    vfile = tmp_path / f"{name}.v"
    vfile.write_text(verilog.convert(Unit(cfg.engine.params), name="clt_unit", emit_src=False))
    return cosimulate(vfile, "clt_unit", trace, build_dir=tmp_path / name)


@pytest.mark.parametrize("value_bits,terms", CASES, ids=[f"b{b}-k{k}" for b, k in CASES])
def test_unit_matches_golden_every_cycle(tmp_path, value_bits, terms):
    cfg = _cfg(value_bits, terms)
    trace = gaussian_clt.trace(cfg, 3000, seed=value_bits * 100 + terms)
    assert sum(v is not None for v in trace.outputs["values"]) > 2000
    assert _run(cfg, tmp_path, "dut", trace).cycles == 3000


class _OffByOne(Sampler):
    """A golden model with a bug: code +1 for the largest sums."""

    def codes_of_sum(self, z):
        return super().codes_of_sum(z) + (z > self.plan.z_max // 2).to(torch.int64)


def test_checker_catches_a_wrong_golden_model(tmp_path):
    cfg = _cfg(8, 4)
    trace = gaussian_clt.trace(cfg, 400, seed=1, sampler=_OffByOne(cfg.engine.params))
    with pytest.raises(CosimMismatch) as exc:
        _run(cfg, tmp_path, "wrong", trace)
    assert exc.value.signal == "values"
    # cycle 1 presented all-ones bits: its value (the largest sum) appears latency-1 cycles later
    assert exc.value.cycle == 1 + Sampler(cfg.engine.params).plan.latency - 1
