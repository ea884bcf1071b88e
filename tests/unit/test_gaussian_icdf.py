"""gaussian-icdf golden model: exhaustive error against the exact inverse CDF, the stream's
quality at 8 and 16 bits, and the configuration knobs."""

import json

import numpy as np
import pytest
import torch

from pezo.app.cli import main
from pezo.config import Config, ConfigError
from pezo.gaussian import code_limit, spec
from pezo.gaussian.icdf import exact, params_of, saturating_octaves, tables
from pezo.sim.gaussian_icdf import edge_magnitudes
from pezo.sw.golden.gaussian.stream import stream
from pezo.sw.golden.gaussian.icdf import Sampler
from pezo.sw.golden.stats import gaussian_quality

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}


def _cfg(bits: int, lanes: int = 1, **knobs) -> Config:
    over = {"engine.source": "gaussian-icdf", "engine.reuse.strategy": "none", "engine.scale.mode": "fixed",
            "engine.value_bits": bits, "engine.lanes": lanes}
    over.update({f"engine.gaussian.{k}": v for k, v in knobs.items()})
    cfg = Config().replace(**over)
    return cfg.replace(**{"engine.lfsr.lanes": cfg.engine.params.bank_lanes_needed})


# Every magnitude of M bits, against round(Phi^-1(1 - q/2) * T) at the input's midpoint q.
# Bound: 1 LSB (a value within the polynomial's error of a rounding boundary may round the
# other way); the share of such inputs is below 1% (8 bits) and 3% (16 bits), docs/gaussian-icdf.md.
@pytest.mark.parametrize("bits,share", [(8, 0.01), (16, 0.03), (12, 0.03), (4, 0.01)])
def test_exhaustive_error_at_most_one_lsb(bits, share):
    e = _cfg(bits).engine
    p = params_of(e)
    k = torch.arange(1 << p.mag_bits)
    code = Sampler(e.params).codes(k, torch.zeros_like(k)).numpy()
    ideal = np.minimum(np.floor(exact(p, k.numpy()) + 0.5), code_limit(bits))
    d = np.abs(code - ideal)
    assert d.max() <= 1
    assert (d > 0).mean() < share
    assert code.min() >= 0 and code.max() == code_limit(bits)


def test_sign_negates_and_edges():
    e = _cfg(8).engine
    s, p = Sampler(e.params), params_of(e)
    k = torch.tensor(edge_magnitudes(e))
    pos, neg = s.codes(k, torch.zeros_like(k)), s.codes(k, torch.ones_like(k))
    assert torch.equal(neg, -pos)
    assert s([torch.tensor([0]), torch.tensor([0])]).tolist() == [[p.limit]]          # all zeros: deepest tail
    assert s([torch.tensor([(1 << p.mag_bits) - 1]), torch.tensor([1])]).tolist() == [[0]]   # all ones: centre
    # magnitude decreases monotonically with k (the ICDF is monotone)
    allk = torch.arange(1 << p.mag_bits)
    assert bool((s.codes(allk, torch.zeros_like(allk)).diff() <= 0).all())


def test_saturating_octaves_and_spec():
    assert saturating_octaves(8) == 14 and saturating_octaves(16) == 14
    assert spec(_cfg(8).engine).fields == (18, 1) and spec(_cfg(8).engine).latency == 4
    assert spec(_cfg(16).engine).fields == (22, 1) and spec(_cfg(16).engine).latency == 5
    t = tables(params_of(_cfg(16).engine))
    assert len(t.c0) == 16 * 8 and t.widths[1] <= 16          # c1 fits a 16x16 DSP


# Tolerance per figure: 4 standard errors at n (2**20) plus the systematic error of the table
# (the exhaustive pmf moves the moments by < 1e-4 and the chi-square by E < 35, see the doc).
CASES = [(8, 1), (8, 8), (16, 1), (16, 8)]


@pytest.mark.parametrize("bits,lanes", CASES, ids=[f"b{b}-l{n}" for b, n in CASES])
def test_stream_quality(bits, lanes):
    q = gaussian_quality(stream(_cfg(bits, lanes), (1 << 20) // lanes), bits)
    assert q["n"] == 1 << 20
    for f in ("mean", "var", "skew", "kurt", "tail2", "tail3", "tail4"):
        assert abs(q[f] - q[f"{f}_ref"]) <= 4 * q[f"{f}_se"] + 1e-4, (f, q[f], q[f"{f}_ref"])
    assert q["chi2_p"] > 1e-3 and q["chi2_coarse_p"] > 1e-3
    assert q["max_abs_code"] == code_limit(bits)


def test_a_wrong_table_fails_the_chi_square():
    # the quality test can fail: a table a quarter LSB low everywhere is rejected
    e = _cfg(8).engine
    s = Sampler(e.params)
    s.c0 = s.c0 - (1 << (s.p.guard - 2))
    g = torch.Generator().manual_seed(1)
    k = torch.randint(0, 1 << s.p.mag_bits, (1 << 20,), generator=g)
    q = gaussian_quality(s([k, torch.randint(0, 2, (1 << 20,), generator=g)]), 8)
    assert q["chi2_p"] < 1e-6


@pytest.mark.parametrize("field,value,msg", [
    ("icdf_degree", 3, "engine.gaussian.icdf_degree = 3: must be in 0..2"),
    ("icdf_segment_bits", 7, "engine.gaussian.icdf_segment_bits = 7: must be in 0..6"),
    ("icdf_uniform_bits", 12, "engine.gaussian.icdf_uniform_bits = 12: must be in 18..40"),
    ("icdf_arg_bits", 17, "engine.gaussian.icdf_arg_bits = 17: must be in 0..16"),
    ("icdf_multiplier", "mac", 'engine.gaussian.icdf_multiplier = "mac": must be one of "dsp", "lut"'),
])
def test_knob_validation(tmp_path, capsys, field, value, msg):
    with pytest.raises(ConfigError) as exc:
        Config().replace(**{**W63, f"engine.gaussian.{field}": value})
    assert str(exc.value).startswith(msg)
    f = tmp_path / "bad.toml"
    f.write_text(f"[engine.gaussian]\n{field} = {json.dumps(value)}\n")
    assert main(["config", "check", str(f)]) == 1
    assert msg in capsys.readouterr().err


def test_knobs_change_the_unit():
    p = params_of(_cfg(12, icdf_degree=1, icdf_segment_bits=5, icdf_uniform_bits=24, icdf_arg_bits=12,
                       icdf_multiplier="lut").engine)
    assert (p.degree, p.seg_bits, p.mag_bits, p.arg_bits, p.lut_multiply) == (1, 5, 24, 12, True)
    p = params_of(_cfg(8).engine)
    assert (p.degree, p.seg_bits, p.mag_bits, p.arg_bits, p.lut_multiply) == (1, 4, 18, 10, False)
    assert spec(_cfg(12, icdf_uniform_bits=24).engine).fields == (24, 1)


def test_saturated_rows_and_clamp():
    # octaves >= NO read rows that give lim at every argument; at 8 bits no row exceeds lim
    # (the unit has no clamp), at 16 bits the deepest octave's rows do (the unit clamps)
    for bits, clamp in ((8, False), (16, True)):
        p = params_of(_cfg(bits).engine)
        t = tables(p)
        assert t.clamp is clamp
        for a in range(p.octaves << p.seg_bits, p.depth):
            assert (t.c0[a] >> p.guard, t.c1[a], t.c2[a]) == (p.limit, 0, 0)


def test_engine_streams_the_units_values():
    # inside the golden engine (latency 4: three priming cycles), a pass streamed cycle by cycle
    # shows the values of the bank words from reset, as the unit-level stream does
    from pezo.sw.golden.engine import Engine
    from pezo.sw.golden.engine_stream import EngineStream

    cfg = _cfg(8, lanes=8).replace(**{"engine.max_params": 64})
    eng = Engine(cfg.engine.params)
    got = []
    out = eng.step({"start": 1, "d": 40})
    while not out["idle"]:
        if out["valid"]:
            got.append(out["values"].tolist())
        out = eng.step({"ready": 1})
    assert got == stream(cfg, 5).tolist()
    assert got == EngineStream(cfg.engine.params).passes(1, 40).view(5, 8).tolist()
