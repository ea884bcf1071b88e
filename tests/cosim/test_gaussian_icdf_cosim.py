"""gaussian-icdf unit RTL against its golden Sampler, every cycle, with random ``en``."""

import pytest
from amaranth.back import verilog

from pezo.config import Config
from pezo.hw.gaussian.icdf import Unit
from pezo.sim import gaussian_icdf
from pezo.sim.runner import CosimMismatch, Trace, cosimulate

pytestmark = pytest.mark.cosim


def _cfg(value_bits: int, **knobs) -> Config:
    over = {"engine.source": "gaussian-icdf", "engine.reuse.strategy": "none",
            "engine.scale.mode": "fixed", "engine.value_bits": value_bits}
    over.update({f"engine.gaussian.{k}": v for k, v in knobs.items()})
    return Config().replace(**over)


def _run(cfg, tmp_path, name, trace):
    vfile = tmp_path / f"{name}.v"
    vfile.write_text(verilog.convert(Unit(cfg.engine.params), name="icdf_unit", emit_src=False))
    return cosimulate(vfile, "icdf_unit", trace, build_dir=tmp_path / name)


CASES = [(8, {}), (16, {}), (12, {"icdf_degree": 1, "icdf_segment_bits": 5}), (6, {"icdf_degree": 2}),
         (8, {"icdf_multiplier": "lut", "icdf_arg_bits": 14}), (16, {"icdf_multiplier": "lut"})]


@pytest.mark.parametrize("bits,knobs", CASES, ids=[f"b{b}-{'-'.join(map(str, k.values())) or 'default'}" for b, k in CASES])
def test_unit_matches_golden_every_cycle(tmp_path, bits, knobs):
    cfg = _cfg(bits, **knobs)
    tr = gaussian_icdf.trace(cfg, 3000, seed=bits)
    assert sum(v is not None for v in tr.outputs["values"]) > 1500
    assert _run(cfg, tmp_path, "dut", tr).cycles == 3000


def test_checker_catches_a_wrong_value(tmp_path):
    cfg = _cfg(8)
    tr = gaussian_icdf.trace(cfg, 300, seed=1)
    vals = list(tr.outputs["values"])
    c = next(i for i in range(200, 300) if vals[i] is not None)
    vals[c] ^= 1
    with pytest.raises(CosimMismatch) as exc:
        _run(cfg, tmp_path, "wrong", Trace(inputs=tr.inputs, outputs={"values": vals}))
    assert exc.value.cycle == c and exc.value.signal == "values"
