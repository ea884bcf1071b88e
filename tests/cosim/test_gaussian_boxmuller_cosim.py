"""The Box-Muller unit's RTL against its golden model, every cycle, random bits and enables."""

import pytest
from amaranth.back import verilog

from pezo.config import Config
from pezo.hw.gaussian.boxmuller import Unit
from pezo.sim import gaussian_boxmuller as simbm
from pezo.sim.runner import CosimMismatch, Trace, cosimulate

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.cosim


def _cfg(value_bits: int) -> Config:
    return Config().replace(**{**W63, "engine.source": "gaussian-boxmuller", "engine.value_bits": value_bits,
                               "engine.lanes": 2, "engine.reuse.strategy": "none", "engine.scale.mode": "fixed"})


def _run(cfg: Config, tmp_path, trace: Trace, name: str):
    vfile = tmp_path / f"{name}.v"
    vfile.write_text(verilog.convert(Unit(cfg.engine.params), name="pezo_boxmuller", emit_src=False))
    return cosimulate(vfile, "pezo_boxmuller", trace, build_dir=tmp_path / name)


@pytest.mark.parametrize("value_bits", [8, 16])
def test_unit_matches_golden_every_cycle(tmp_path, value_bits):
    cfg = _cfg(value_bits)
    tr = simbm.trace(cfg, 3000, seed=value_bits)
    assert sum(v is not None for v in tr.outputs["values"]) > 2000
    assert _run(cfg, tmp_path, tr, f"bm{value_bits}").cycles == 3000


def test_checker_catches_a_wrong_value(tmp_path):
    cfg = _cfg(8)
    tr = simbm.trace(cfg, 200, seed=3)
    vals = list(tr.outputs["values"])
    c = next(i for i, v in enumerate(vals) if i > 100 and v is not None)
    vals[c] ^= 1 << 8                              # lane 1, bit 0
    with pytest.raises(CosimMismatch) as exc:
        _run(cfg, tmp_path, Trace(inputs=tr.inputs, outputs={"values": vals}), "wrong")
    assert exc.value.cycle == c and exc.value.signal == "values"
