"""gaussian-boxmuller golden model: error against the exact transform, and the quality of its stream.

Error bounds (docs/gaussian-boxmuller.md), in output LSB (2**-(B-3) sigma):
f within 0.1 (B=8) / 2.5 (B=16) exhaustively; sin/cos times 4 sigma within 0.1 / 1.5
exhaustively; codes within 1 / 3 of the exactly rounded transform.
"""

import math

import numpy as np
import pytest
import torch

from pezo.config import Config
from pezo.gaussian import boxmuller as bm
from pezo.gaussian import code_limit, spec
from pezo.sw.golden.gaussian.stream import stream
from pezo.sw.golden.gaussian.boxmuller import Sampler
from pezo.sw.golden.stats import gaussian_quality

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

F_BOUND = {8: 0.1, 16: 2.5}
G_BOUND = {8: 0.1, 16: 1.5}
CODE_BOUND = {8: 1, 16: 3}
# a bank whose bits per cycle are not linear images of each other (see the doc's "Bank" note)
BANK = {1: {}, 8: {"engine.lfsr.k": 31, "engine.lfsr.lanes": 6}}


def _cfg(value_bits: int, lanes: int = 2) -> Config:
    return Config().replace(**{**W63, "engine.source": "gaussian-boxmuller", "engine.value_bits": value_bits,
                               "engine.lanes": lanes, "engine.reuse.strategy": "none",
                               "engine.scale.mode": "fixed", "engine.lfsr.k": 63,
                               **BANK.get(lanes, {})})


def test_spec():
    s = spec(_cfg(8).engine)
    assert s.outputs == 2 and s.latency == bm.LATENCY and s.fields == (14, 10)
    assert spec(_cfg(16).engine).fields == (22, 18)


@pytest.mark.parametrize("value_bits", [8, 16])
def test_f_exhaustive(value_bits):
    p = bm.params(value_bits)
    u0 = torch.arange(1 << p.u0_bits)
    f = Sampler(_cfg(value_bits).engine.params).f(u0)
    assert int(f.min()) >= 0 and int(f.max()) < 1 << p.f_bits
    u = (u0.double() + 0.5) / 2 ** p.u0_bits
    exact = torch.sqrt(-2 * torch.where(u < 0.5, torch.log(u), torch.log1p(u - 1)))
    err = (f.double() / 2 ** p.f_point - exact) * 2 ** (value_bits - 3)
    assert float(err.abs().max()) <= F_BOUND[value_bits]
    assert abs(float(err.mean())) < 0.1                         # the fitted lines leave no bias


@pytest.mark.parametrize("value_bits", [8, 16])
def test_sin_exhaustive(value_bits):
    p = bm.params(value_bits)
    ph = torch.arange(1 << (p.u1_bits - 2))
    g = Sampler(_cfg(value_bits).engine.params).g(ph)
    assert int(g.min()) >= 0 and int(g.max()) <= 1 << p.g_point
    exact = torch.sin(math.pi / 2 * (ph.double() + 0.5) / 2 ** (p.u1_bits - 2))
    err = (g.double() / 2 ** p.g_point - exact) * 4 * 2 ** (value_bits - 3)
    assert float(err.abs().max()) <= G_BOUND[value_bits]


def _edges(p):
    """u0 at every segment boundary (both halves) and the ends; u1 at every quadrant boundary."""
    w = p.u0_bits
    u0 = {0, 1, (1 << w) - 1, (1 << w) - 2, 1 << (w - 1), (1 << (w - 1)) - 1}
    for b in range(w - 1):
        for d in (-1, 0, 1):
            x = (1 << b) + d
            if 0 <= x < 1 << (w - 1):
                u0 |= {x, (1 << w) - 1 - x}
    q = 1 << (p.u1_bits - 2)
    u1 = {(j * q + d) % (1 << p.u1_bits) for j in range(4) for d in (-1, 0, 1)}
    pairs = [(a, b) for a in sorted(u0) for b in sorted(u1)]
    return torch.tensor([a for a, _ in pairs]), torch.tensor([b for _, b in pairs])


@pytest.mark.parametrize("value_bits", [8, 16])
def test_codes_against_exact_transform(value_bits):
    p = bm.params(value_bits)
    g = torch.Generator().manual_seed(value_bits)
    n = 1 << 18
    e0, e1 = _edges(p)
    u0 = torch.cat([torch.randint(0, 1 << p.u0_bits, (n,), generator=g), e0])
    u1 = torch.cat([torch.randint(0, 1 << p.u1_bits, (n,), generator=g), e1])
    codes = Sampler(_cfg(value_bits).engine.params)([u0, u1]).numpy()
    lim = code_limit(value_bits)
    x1, x2 = bm.exact(value_bits, u0.numpy(), u1.numpy())
    ref = np.clip(np.round(np.stack([x1, x2], 1) * 2 ** (value_bits - 3)), -lim, lim)
    assert np.abs(codes - ref).max() <= CODE_BOUND[value_bits]
    assert np.abs(codes).max() <= lim
    # the two outputs share f: x1**2 + x2**2 = f**2 up to the rounding
    assert (np.abs(codes - ref) > 0).mean() < (0.05 if value_bits == 8 else 0.5)


def test_quadrants_are_exact_symmetries():
    # u1 -> u1 + quarter turn maps (x1, x2) to (x2, -x1) exactly: one table, sign and mirror logic
    p = bm.params(8)
    s = Sampler(_cfg(8).engine.params)
    u0 = torch.randint(0, 1 << p.u0_bits, (4096,), generator=torch.Generator().manual_seed(1))
    u1 = torch.randint(0, 1 << p.u1_bits, (4096,), generator=torch.Generator().manual_seed(2))
    a = s([u0, u1])
    b = s([u0, (u1 + (1 << (p.u1_bits - 2))) % (1 << p.u1_bits)])
    assert torch.equal(b[:, 0], a[:, 1]) and torch.equal(b[:, 1], -a[:, 0])


@pytest.mark.parametrize("value_bits,lanes", [(8, 1), (8, 8), (16, 1), (16, 8)])
def test_stream_quality(value_bits, lanes):
    """Each figure within 4 standard errors of the quantised normal (n = 2**20 values); the
    systematic errors (docs) are far below one SE. Chi-square, fine and coarse: p > 0.001."""
    cfg = _cfg(value_bits, lanes)
    q = gaussian_quality(stream(cfg, (1 << 20) // lanes), value_bits)
    assert q["n"] == 1 << 20
    for k in ("mean", "var", "skew", "kurt", "tail2", "tail3", "tail4"):
        assert abs(q[k] - q[f"{k}_ref"]) <= 4 * q[f"{k}_se"], (k, q[k], q[f"{k}_ref"])
    assert q["chi2_p"] > 1e-3 and q["chi2_coarse_p"] > 1e-3, (q["chi2_p"], q["chi2_coarse_p"])
    assert q["max_abs_code"] == code_limit(value_bits)          # the tail reaches saturation


def test_dropped_second_output_at_one_lane():
    cfg = _cfg(8, 1)
    v = stream(cfg, 64)
    assert v.shape == (64, 1)
