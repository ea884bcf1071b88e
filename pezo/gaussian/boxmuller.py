"""``gaussian-boxmuller``: Box-Muller by table plus interpolation (docs/gaussian-boxmuller.md).

One evaluation reads ``u0`` (field 0, ``W0`` bits) and ``u1`` (field 1, ``W1`` bits) and gives
two values, ``x1 = f*sin(2 pi u1)`` and ``x2 = f*cos(2 pi u1)`` with ``f = sqrt(-2 ln u0)``
(Lee, Villasenor, Luk and Leong, IEEE Trans. Computers 55(6), 2006). The uniforms are taken at
the midpoints of their codes, ``u = (code + 0.5) / 2**W``, so neither is ever 0 or 1 and both
laws are exactly symmetric.

* ``f``: one segmented table of ``sqrt(-2 ln u0)`` with linear interpolation. The top bit of
  ``u0`` picks the half: ``r = u0`` below 1/2, ``r = 1 - u0`` above (the complement of the other
  bits, exact at the midpoints), so both singular ends (``u0 -> 0``: the tail; ``u0 -> 1``:
  ``f ~ sqrt(2(1 - u0))``) are at ``r -> 0``. Segments are the octaves of ``r`` (leading-zero
  count of ``K = 2*code' + 1``), ``2**M0`` entries each, so they shrink toward ``r -> 0``; the
  lowest ``K < 2**M0`` are looked up exactly.
* ``sin``/``cos``: a quarter-wave table of ``sin`` with linear interpolation; the top two bits
  of ``u1`` are the quadrant, ``cos(phi)`` is ``sin`` at the complemented phase.

Everything here is the single source of these numbers: :func:`params`, :func:`f_table`,
:func:`sin_table` (cached per value width) are what the hardware and the golden model use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from pezo.gaussian import SourceSpec

if TYPE_CHECKING:
    from pezo.config import EngineConfig

#: ``en`` cycles from bits to values: complement, first normalisation steps | other steps,
#: addresses | ROM read | step x fraction (two stages) | value + that, rounded | f x g | round,
#: saturate, sign.
LATENCY = 8

#: Normalisation steps (of ``ceil(log2(W0))``) done before the register that splits the address
#: computation in two stages; the rest, and the segment/fraction selection, come after it.
NORM_SPLIT = 2

#: Products whose operand widths sum to at most this are built from LUTs (shift-add), larger
#: ones are left to the synthesiser's DSP inference. 10 x 10 (value_bits 8) stays in LUTs, so
#: an 8 x 8-bit engine needs no DSP for its Gaussian source.
LUT_MUL_MAX_BITS = 20

#: Tables of at most this many bits are built as logic (LUTs), larger ones as block RAM.
ROM_LOGIC_MAX_BITS = 2048


@dataclass(frozen=True)
class Params:
    """Widths of one Box-Muller unit, all derived from ``value_bits`` (see :func:`params`).

    Attributes
    ----------
    value_bits : int
        B: output codes are signed B bits, Q3.(B-3).
    u0_bits, u1_bits : int
        W0, W1: widths of the two uniform fields.
    f_index, f_frac : int
        M0: entries per octave of ``r`` are ``2**M0``; R0: interpolation fraction bits.
    f_point : int
        FB: fraction bits of ``f``; ``f`` is ``FB + 3`` bits.
    f_table_point : int
        FX >= FB: fraction bits of the ``f`` table (value and step). The step of a cell spans
        only a few ulps of FB: rounded there, the slope (hence the density of ``f``) would be
        off by tens of percent, which the 8-bit chi-square sees at once.
    g_index, g_frac : int
        M1: quarter-wave entries ``2**M1``; R1 = W1 - 2 - M1: interpolation fraction bits.
    g_point : int
        GB: fraction bits of ``|sin|``, ``|cos|`` (``GB + 1`` bits, 1.0 included).
    g_table_point : int
        GX >= GB: fraction bits of the quarter-wave table.
    """

    value_bits: int
    u0_bits: int
    u1_bits: int
    f_index: int
    f_frac: int
    f_point: int
    g_index: int
    g_point: int
    f_table_point: int
    g_table_point: int

    @property
    def g_frac(self) -> int:
        return self.u1_bits - 2 - self.g_index

    @property
    def seg_count(self) -> int:
        """Segments of ``f``: 0 (exact, ``K < 2**M0``) and one per octave ``W0 - M0``."""
        return self.u0_bits - self.f_index + 1

    @property
    def seg_bits(self) -> int:
        return (self.seg_count - 1).bit_length()

    @property
    def f_bits(self) -> int:
        return self.f_point + 3

    @property
    def g_bits(self) -> int:
        return self.g_point + 1

    @property
    def out_shift(self) -> int:
        """Right shift from ``f*g`` (FB + GB fraction bits) to an output code (B - 3)."""
        return self.f_point + self.g_point - (self.value_bits - 3)


@lru_cache(maxsize=None)
def params(value_bits: int) -> Params:
    """The unit's widths for B-bit values (4..16); the reasons are in docs/gaussian-boxmuller.md.

    * ``M0``: linear interpolation of ``f`` over an octave split in ``2**M0`` cells errs by about
      ``0.048 * 4**-M0`` sigma (worst at ``f = sqrt(3)``; the fitted line halves it).
    * ``R0 = B + 1 - M0``: ``f`` is a staircase of ``2**(M0+R0)`` steps per octave; finer than
      a sixteenth of an LSB, it does not beat against the output codes.
    * ``FB = B + 1``, ``GB = B + 2`` (at most 13 and 15: ``f`` and ``g`` fit one 16 x 16 DSP):
      with fewer bits the products ``f*g`` fall on a lattice the 8-bit chi-square detects.
    * ``W0 = B + 6`` reaches ``f`` = 4.6 sigma (B = 8) .. 5.5 sigma (B = 16), past the
      format's 4-sigma saturation; ``W1 = B + 2``: with 8 phase bits the 8-bit chi-square fails
      even for the exact transform.
    """
    b = value_bits
    fb, gb = min(b + 1, 13), min(b + 2, 15)
    m0 = max(3, -(-(b - 8) // 2))
    return Params(
        value_bits=b,
        u0_bits=b + 6,
        u1_bits=b + 2,
        f_index=m0,
        f_frac=b + 1 - m0,
        f_point=fb,
        g_index=min(max(5, (b + 1) // 2), b),
        g_point=gb,
        f_table_point=max(fb, 13),
        g_table_point=max(gb, 13),
    )


def spec(e: "EngineConfig") -> SourceSpec:
    p = params(e.value_bits)
    return SourceSpec(fields=(p.u0_bits, p.u1_bits), outputs=2, latency=LATENCY)


def f_exact(p: Params, s: int, k_odd: float) -> float:
    """``sqrt(-2 ln u0)`` at ``r = k_odd / 2**(W0+1)``: ``u0 = r`` (s = 0) or ``1 - r`` (s = 1)."""
    r = k_odd / 2 ** (p.u0_bits + 1)
    return math.sqrt(-2 * (math.log(r) if s == 0 else math.log1p(-r)))


@dataclass(frozen=True)
class Table:
    """A ROM of packed words ``(delta << value_bits) | value``; ``delta`` is two's complement."""

    words: tuple[int, ...]
    value_bits: int
    delta_bits: int

    @property
    def width(self) -> int:
        return self.value_bits + self.delta_bits

    @property
    def bits(self) -> int:
        return len(self.words) * self.width

    def unpack(self) -> tuple[list[int], list[int]]:
        vm, dm = (1 << self.value_bits) - 1, 1 << (self.delta_bits - 1)
        values = [w & vm for w in self.words]
        deltas = [((w >> self.value_bits) ^ dm) - dm for w in self.words]
        return values, deltas


def _pack(values: list[int], deltas: list[int], value_bits: int) -> Table:
    assert all(0 <= v < 1 << value_bits for v in values), "table value out of range"
    dbits = max(max(abs(d) for d in deltas).bit_length() + 1, 2)
    dmask = (1 << dbits) - 1
    words = tuple(((d & dmask) << value_bits) | v for v, d in zip(values, deltas))
    return Table(words, value_bits, dbits)


def _fit(fn, positions: list[float], one: int) -> tuple[int, int]:
    """The least-squares line through ``fn`` at the positions (in [0, 1)) the unit evaluates,
    as (value at 0, step over the whole cell), both in units of ``1/one``. A chord through the
    cell's ends would err one-sidedly (sine concave, ``f`` convex): a bias a quarter of an LSB
    is enough to fail the 8-bit chi-square; the fitted line's error averages to zero."""
    n = len(positions)
    mx = sum(positions) / n
    ys = [fn(x) for x in positions]
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in positions)
    slope = sum((x - mx) * (y - my) for x, y in zip(positions, ys)) / sxx if sxx else 0.0
    # at 0 both laws are linear: an intercept of -0.5 ulp there is a rounding artefact
    return max(0, round((my - slope * mx) * one)), round(slope * one)


def _f_positions(p: Params, seg: int) -> list[float]:
    """Where in a cell of segment ``seg`` the unit evaluates: ``t_ext / 2**(R0+1)``."""
    r0, below = p.f_frac, seg - 1                  # ``below``: bits of K under the index
    if below > r0:                                 # truncated: the half-step point of each slice
        return [(2 * t + 1) / 2 ** (r0 + 1) for t in range(1 << r0)]
    # exact: K is odd, so its bits under the index are an odd j (or none, in segment 1)
    return [(2 * j + 1) / 2 ** below for j in range(1 << (below - 1))] if below else [0.0]


@lru_cache(maxsize=None)
def f_table(value_bits: int) -> Table:
    """``f`` at address ``{s, seg, idx}``: a line (value at the cell's left end, step over
    the cell) fitted to ``f`` where the unit evaluates it (:func:`_fit`).

    Segment ``seg >= 1`` covers ``K`` in ``[2**P, 2**(P+1))``, ``P = seg + M0 - 1``, cell ``idx``
    starts at ``K = 2**P + idx * 2**(P - M0)``. Segment 0 holds ``f`` at ``K = idx`` exactly
    (odd ``idx`` only: K is odd) with step 0.
    """
    p = params(value_bits)
    m0, one = p.f_index, 1 << p.f_table_point
    rows = 1 << (1 + p.seg_bits + m0)
    values, deltas = [0] * rows, [0] * rows
    for s in (0, 1):
        for seg in range(p.seg_count):
            pos = _f_positions(p, seg) if seg else []
            for idx in range(1 << m0):
                a = (s << (p.seg_bits + m0)) | (seg << m0) | idx
                if seg == 0:
                    if idx & 1:
                        values[a] = round(f_exact(p, s, idx) * one)
                    continue
                lo, width = (1 << (seg + m0 - 1)) + (idx << (seg - 1)), 1 << (seg - 1)
                values[a], deltas[a] = _fit(lambda x: f_exact(p, s, lo + x * width), pos, one)
    return _pack(values, deltas, p.f_table_point + 3)


@lru_cache(maxsize=None)
def sin_table(value_bits: int) -> Table:
    """Quarter-wave ``sin``: per cell ``i < 2**M1`` a line fitted (:func:`_fit`) to
    ``sin(pi/2 * (i + x) / 2**M1)`` at the unit's phases ``x = (2t + 1) / 2**(R1+1)``."""
    p = params(value_bits)
    one, cells, r1 = 1 << p.g_table_point, 1 << p.g_index, p.g_frac
    pos = [(2 * t + 1) / 2 ** (r1 + 1) for t in range(1 << r1)]
    rows = [_fit(lambda x: math.sin(math.pi / 2 * (i + x) / cells), pos, one) for i in range(cells)]
    return _pack([v for v, _ in rows], [d for _, d in rows], p.g_table_point + 1)


def exact(value_bits: int, u0, u1):
    """Float reference of the transform this unit approximates, at the same midpoints:
    ``(f*sin, f*cos)`` in sigma units (numpy arrays), before rounding to codes."""
    import numpy as np

    p = params(value_bits)
    uu0 = (np.asarray(u0, dtype=np.float64) + 0.5) / 2.0 ** p.u0_bits
    uu1 = (np.asarray(u1, dtype=np.float64) + 0.5) / 2.0 ** p.u1_bits
    # f from the nearer end of u0, as the unit does, so the reference itself is accurate there
    s = uu0 >= 0.5
    r = np.where(s, 1.0 - uu0, uu0)
    f = np.sqrt(-2.0 * np.where(s, np.log1p(-r), np.log(r)))
    # the phase within the quadrant, exactly as the unit forms it (no 2*pi*u1 rounding)
    q = np.asarray(u1) >> (p.u1_bits - 2)
    ph = (np.asarray(u1, dtype=np.float64) % 2.0 ** (p.u1_bits - 2) + 0.5) / 2.0 ** (p.u1_bits - 2) * (math.pi / 2)
    sn, cs = np.sin(ph), np.cos(ph)
    g1 = np.select([q == 0, q == 1, q == 2, q == 3], [sn, cs, -sn, -cs])
    g2 = np.select([q == 0, q == 1, q == 2, q == 3], [cs, -sn, -cs, sn])
    return f * g1, f * g2
