"""Golden ``gaussian-icdf`` unit: the algorithm of :mod:`pezo.gaussian.icdf`, integer-only."""

from __future__ import annotations

import torch

from pezo.engine_params import EngineParams
from pezo.gaussian.icdf import Params, params_of, poly_eval, tables


class Sampler:
    """Codes [n, 1] of the inverse-CDF unit from fields ``[k (M bits), sign (1 bit)]``.

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        ``value_bits`` and ``gaussian.icdf_*`` select :class:`pezo.gaussian.icdf.Params`.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self.p = params_of(e)
        tab = tables(self.p)
        self.clamp = tab.clamp
        self.c0, self.c1, self.c2 = (torch.tensor(t, dtype=torch.int64) for t in (tab.c0, tab.c1, tab.c2))

    def __call__(self, fields: list[torch.Tensor]) -> torch.Tensor:
        return self.codes(fields[0].to(torch.int64), fields[1].to(torch.int64)).unsqueeze(1)

    def codes(self, k: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
        """Codes [n] of magnitudes ``k`` and sign bits."""
        p: Params = self.p
        m, s, f = p.mag_bits, p.seg_bits, p.arg_bits
        v = 2 * k + 1
        z = torch.full_like(v, p.octaves)                # leading zeros of v (M+1 bits), NO if >= NO
        for i in range(p.octaves - 1, -1, -1):            # the smallest i with bit m-i set wins
            z = torch.where(((v >> (m - i)) & 1) == 1, i, z)
        norm = (v << z) & ((1 << m) - 1)                  # the M bits after the leading one
        sh = m - s - f
        top = norm >> sh if sh >= 0 else norm << -sh
        inv = ((1 << (s + f)) - 1) - top                  # inverted: x grows with the argument
        seg, w = inv >> f, inv & ((1 << f) - 1)
        addr = (z << s) | seg
        code = poly_eval(p, self.c0[addr], self.c1[addr], self.c2[addr], w) >> p.guard   # 0..2*lim+1
        if self.clamp:
            code = torch.clamp(code, max=p.limit)
        return torch.where(sign == 1, -code, code)
