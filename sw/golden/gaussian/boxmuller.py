"""Golden ``gaussian-boxmuller`` unit: integer-exact model of ``pezo.hw.gaussian.boxmuller``.

The algorithm, step by step, is docs/gaussian-boxmuller.md; the tables and widths come from
:mod:`pezo.gaussian.boxmuller`.
"""

from __future__ import annotations

import torch

from pezo.engine_params import EngineParams
from pezo.gaussian import code_limit
from pezo.gaussian.boxmuller import f_table, sin_table
from pezo.gaussian.boxmuller import params as unit_params


class Sampler:
    """``Sampler(e)(fields) -> int64 [n, 2]``: ``(x1, x2)`` codes from ``[u0, u1]``.

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        only ``value_bits`` matters.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self.p = unit_params(e.value_bits)
        self.lim = code_limit(e.value_bits)
        fv, fd = f_table(e.value_bits).unpack()
        sv, sd = sin_table(e.value_bits).unpack()
        self.fv, self.fd = torch.tensor(fv), torch.tensor(fd)
        self.sv, self.sd = torch.tensor(sv), torch.tensor(sd)

    def f(self, u0: torch.Tensor) -> torch.Tensor:
        """``sqrt(-2 ln u0)`` with FB fraction bits."""
        p = self.p
        w, m0, r0 = p.u0_bits, p.f_index, p.f_frac
        s = u0 >> (w - 1)
        low = (1 << (w - 1)) - 1
        kp = torch.where(s == 1, ~u0 & low, u0 & low)
        k = 2 * kp + 1                                       # odd, < 2**W0: r = k / 2**(W0+1)
        top = torch.frexp(k.double())[1].long() - 1          # leading-one position (exact, k < 2**53)
        sh = torch.clamp(w - 1 - top, max=w - 1 - m0)        # normalise, but not past segment 0
        kn = k << sh
        seg = torch.where((kn >> (w - 1)) == 1, w - m0 - sh, 0)
        idx = (kn >> (w - 1 - m0)) & ((1 << m0) - 1)
        below = w - 1 - m0                                   # bits of kn under the index
        t = (kn >> (below - r0) if below >= r0 else kn << (r0 - below)) & ((1 << r0) - 1)
        t_ext = 2 * t + (seg > r0 + 1).long()                # +half a step where bits were cut off
        a = (s << (p.seg_bits + m0)) | (seg << m0) | idx
        sh = r0 + 1 + p.f_table_point - p.f_point
        return ((self.fv[a] << (r0 + 1)) + self.fd[a] * t_ext + (1 << (sh - 1))) >> sh

    def g(self, ph: torch.Tensor) -> torch.Tensor:
        """``sin(pi/2 * (ph + 0.5) / 2**(W1-2))`` with GB fraction bits."""
        p = self.p
        r1 = p.g_frac
        i, t = ph >> r1, ph & ((1 << r1) - 1)
        sh = r1 + 1 + p.g_table_point - p.g_point
        return ((self.sv[i] << (r1 + 1)) + self.sd[i] * (2 * t + 1) + (1 << (sh - 1))) >> sh

    def __call__(self, fields: list[torch.Tensor]) -> torch.Tensor:
        p = self.p
        u0, u1 = (x.to(torch.int64) for x in fields)
        f = self.f(u0)
        pb = p.u1_bits - 2
        q, ph = u1 >> pb, u1 & ((1 << pb) - 1)
        a = torch.where((q & 1) == 1, ~ph & ((1 << pb) - 1), ph)   # sin(q*pi/2 + phi) as a sine of a
        b = ~a & ((1 << pb) - 1)                                    # ... and the cosine: pi/2 - that
        out = []
        for ph_, neg in ((a, q >> 1), (b, (q >> 1) ^ (q & 1))):
            mag = (f * self.g(ph_) + (1 << (p.out_shift - 1))) >> p.out_shift
            mag = torch.clamp(mag, max=self.lim)
            out.append(torch.where(neg == 1, -mag, mag))
        return torch.stack(out, dim=1)
