"""Golden model of ``gaussian-clt`` (docs/gaussian-clt.md): integer arithmetic, bit-exact with
:class:`pezo.hw.gaussian.clt.Unit`."""

from __future__ import annotations

import numpy as np
import torch

from pezo.engine_params import EngineParams
from pezo.gaussian import code_limit
from pezo.gaussian.clt import plan_of


class Sampler:
    """``sampler(fields) -> int64 [n, 1]``: K uniform fields of ``u`` bits to one code.

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        ``value_bits`` and ``gaussian.clt_terms`` select the plan.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self.plan = plan_of(e)
        self.limit = code_limit(e.value_bits)

    def codes_of_sum(self, z: torch.Tensor) -> torch.Tensor:
        """Code of each centred sum ``Z`` (int64): the normalisation, rounding and clamp."""
        p = self.plan
        x = sum(s * (z << k) for s, k in p.digits) + p.rounding_constant()
        if p.half_away:
            x = x - (z < 0).to(torch.int64)
        return (x >> p.frac).clamp(-self.limit, self.limit)

    def __call__(self, fields: list[torch.Tensor]) -> torch.Tensor:
        p = self.plan
        assert len(fields) == p.terms
        z = sum(2 * f.to(torch.int64) + 1 - (1 << p.u) for f in fields)
        return self.codes_of_sum(z).unsqueeze(1)

    def law(self) -> np.ndarray:
        """Exact probabilities of codes ``-lim .. lim`` when the fields are independent and
        uniform: the K-fold convolution of the uniform law over Z, mapped through the codes."""
        p = self.plan
        pz = np.ones(1)
        one = np.full(1 << p.u, 2.0 ** -p.u)
        for _ in range(p.terms):
            pz = np.convolve(pz, one) if pz.size * one.size < 1 << 24 else _fftconv(pz, one)
        z = torch.arange(-p.z_max, p.z_max + 1, 2, dtype=torch.int64)
        codes = self.codes_of_sum(z).numpy() + self.limit
        out = np.bincount(codes, weights=np.clip(pz, 0, None), minlength=2 * self.limit + 1)
        return out / out.sum()


def _fftconv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    return fftconvolve(a, b)
