"""``gaussian-clt``: the sum of K uniforms, normalised to sigma 1 (docs/gaussian-clt.md).

One evaluation reads K fields of ``u`` bits, ``U_i``. Each is centred to the odd value
``2 U_i + 1 - 2**u`` (wiring: MSB inverted, a constant 1 below the LSB), so the sum ``Z`` is
exactly symmetric about 0 with variance ``K (4**u - 1) / 3``. The code is ``Z * c`` rounded to
the nearest integer (ties away from zero) and saturated at ``+-(2**(B-1) - 1)``, where the ideal
``c = T / sigma_Z`` (``T = 2**(B-3)``) is replaced by a sum of a few signed powers of two
``c' = sum_j s_j 2**(k_j - F)``: ``X = Z * c' * 2**F = sum_j s_j (Z << k_j)`` is a shift-add
tree, no multiplier. This module chooses ``u`` and ``c'`` (the "table" of this source) once per
(K, B); the hardware and the golden model both take them from :func:`plan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from pezo.gaussian import SourceSpec, code_limit

if TYPE_CHECKING:
    from pezo.config import EngineConfig

MIN_SUMS_PER_CODE = 2       # the sum's grid is at least this many times finer than the code grid
MAX_ERROR_LSB = 1.0         # |code - Z*c| over every reachable Z, c the exact normalisation
MAX_DIGITS = 8              # signed powers of two tried for c' before giving up
_BEAM = 64


@dataclass(frozen=True)
class Plan:
    """Everything the unit and its golden model need, for one (K, B).

    Attributes
    ----------
    terms : int
        K, uniforms summed.
    value_bits : int
        B.
    u : int
        Bits per uniform.
    digits : tuple of (int, int)
        ``(s_j, k_j)``: ``X = sum_j s_j * (Z << k_j)``, ``s_j`` in {+1, -1}, high digit first.
    frac : int
        ``F``: the code is ``X / 2**F`` rounded.
    half_away : bool
        Some ``X`` is an exact tie; the rounding then subtracts ``[Z < 0]`` so that ties go away
        from zero (the law stays symmetric). False when no tie is reachable (the term is omitted).
    saturate : bool
        Some reachable ``Z`` rounds beyond ``+-code_limit(B)``; the unit clamps.
    scale : float
        The exact normalisation ``c = T / sigma_Z``.
    max_error_lsb : float
        ``max |code(Z) - clamp(Z * c)|`` over every reachable Z (measured exhaustively).
    """

    terms: int
    value_bits: int
    u: int
    digits: tuple[tuple[int, int], ...]
    frac: int
    half_away: bool
    saturate: bool
    scale: float
    max_error_lsb: float

    @property
    def z_max(self) -> int:
        """Largest ``|Z|``: ``K (2**u - 1)``."""
        return self.terms * ((1 << self.u) - 1)

    @property
    def z_bits(self) -> int:
        """Signed width holding every ``Z``."""
        return self.z_max.bit_length() + 1

    @property
    def sum_levels(self) -> int:
        """Registered levels of the uniform adder tree."""
        return math.ceil(math.log2(self.terms))

    @property
    def scale_levels(self) -> int:
        """Registered levels of the shift-add tree (its operands: the digits and the rounding
        constant)."""
        return math.ceil(math.log2(len(self.digits) + 1))

    @property
    def latency(self) -> int:
        """Uniform tree, shift-add tree (its last level keeps ``X >> F``), then a clamp register
        only when the plan saturates."""
        return self.sum_levels + self.scale_levels + self.saturate

    @property
    def sums_per_code(self) -> float:
        """Code step over the step of Z (2) in code units: reachable sums per code."""
        return 1 / (2 * self.scale)

    def rounding_constant(self) -> int:
        """Added to ``X`` before the shift: one half (``[Z < 0]`` is subtracted separately)."""
        return 1 << (self.frac - 1)


def _sigma_z(terms: int, u: int) -> float:
    return math.sqrt(terms * ((1 << 2 * u) - 1) / 3)


def uniform_bits(terms: int, value_bits: int) -> int:
    """Smallest ``u`` whose sum grid (step 2 in Z) is ``MIN_SUMS_PER_CODE`` times finer than the
    code grid, with the continuous-uniform ``sigma_Z = 2**u sqrt(K/3)`` (the discrete uniforms'
    variance is smaller by ``1 - 4**-u``; K = 3 * 4**j gets exactly 2 sums per code this way)."""
    u = 1
    while (1 << u) * math.sqrt(terms / 3) < MIN_SUMS_PER_CODE * (1 << (value_bits - 2)):
        u += 1
    return u


def _candidates(c: float, n: int) -> list[tuple[tuple[int, int], ...]]:
    """Beam search for sums of ``n`` signed powers of two close to ``c``: digits (s, p) with
    value ``s * 2**p``, best first."""
    beam = [(c, ())]
    for _ in range(n):
        nxt = []
        for r, digs in beam:
            if r == 0:
                nxt.append((r, digs))
                continue
            p = math.floor(math.log2(abs(r)))
            s = 1 if r > 0 else -1
            for q in (p, p + 1):
                if digs and q >= digs[-1][1]:
                    continue            # strictly decreasing powers
                nxt.append((r - s * 2.0 ** q, digs + ((s, q),)))
        nxt.sort(key=lambda t: abs(t[0]))
        beam = nxt[:_BEAM]
    return [d for _, d in beam]


def _reachable_z(terms: int, u: int) -> np.ndarray:
    zmax = terms * ((1 << u) - 1)
    return np.arange(-zmax, zmax + 1, 2, dtype=np.int64)


@lru_cache(maxsize=64)
def plan(terms: int, value_bits: int) -> Plan:
    """The cheapest plan (fewest digits) whose every code is within ``MAX_ERROR_LSB`` of the
    exact transform ``clamp(Z * c)``, checked over every reachable Z."""
    u = uniform_bits(terms, value_bits)
    t, lim = 1 << (value_bits - 3), code_limit(value_bits)
    c = t / _sigma_z(terms, u)
    z = _reachable_z(terms, u)
    exact = np.clip(z * c, -lim, lim)
    for n in range(1, MAX_DIGITS + 1):
        for digs in _candidates(c, n):
            frac = max(1, -min(p for _, p in digs))     # X integer, the half at bit frac-1
            digits = tuple((s, p + frac) for s, p in digs)
            x = sum(s * (z << k) for s, k in digits)
            half_away = bool(np.any((x & ((1 << frac) - 1)) == (1 << (frac - 1))))
            q = (x + (1 << (frac - 1)) - (z < 0) * half_away) >> frac
            err = float(np.abs(np.clip(q, -lim, lim) - exact).max())
            if err <= MAX_ERROR_LSB:
                return Plan(terms, value_bits, u, digits, frac, half_away, bool(np.abs(q).max() > lim), c, err)
    raise ValueError(f"no shift-add normalisation within {MAX_ERROR_LSB} LSB for K={terms}, B={value_bits}")


def plan_of(e: "EngineConfig") -> Plan:
    return plan(e.gaussian.clt_terms, e.value_bits)


def spec(e: "EngineConfig") -> SourceSpec:
    p = plan_of(e)
    return SourceSpec(fields=(p.u,) * p.terms, outputs=1, latency=p.latency)
