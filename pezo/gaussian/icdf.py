"""``gaussian-icdf``: inverse CDF by a segmented piecewise polynomial (spine: spec and tables).

One evaluation reads two fields: ``k`` (field 0, ``M`` bits, the magnitude) and the sign
(field 1, one bit, 1 = negative). The magnitude is the half-normal quantile of the midpoint
probability ``q = (2k + 1) / 2**(M+1)``: ``|x| = Phi^-1(1 - q/2)``, so small ``k`` is the tail.

Segmentation (as the OpenCores "gng" core and Lee et al.'s hierarchical segmentation): with
``v = 2k + 1`` (``M + 1`` bits, its last bit the midpoint), the leading zeros ``z`` of ``v``
select an *octave* ``q in [2**-(z+1), 2**-z)``; octaves ``z >= NO`` (:attr:`Params.octaves`)
lie wholly beyond the largest code and saturate. For ``z < NO``, ``v << z`` is normalised and
its ``M`` bits after the leading one are the mantissa; its top ``S`` bits, inverted, select the
segment ``j`` (inverted so that ``x`` grows with the polynomial's argument), and its next bits,
inverted and truncated to ``F`` bits, are the argument ``w``. ROM word ``16*2**S``-deep, address
``z*2**S + j``, holds ``(c0, c1, c2)``; the polynomial, in units of ``2**-G`` output LSB, is

    degree 1:  y = c0 + ((c1 * w) >> F)
    degree 2:  y = c0 + (((c1 + ((c2 * (w >> (F - FH))) >> FH)) * w) >> F)

(``>>`` is a floor shift; ``c2`` is signed, the others unsigned). ``c0`` carries ``2**(G-1)``,
so the code is ``y >> G`` (round to nearest), negated by the sign. Saturated inputs
(``z >= NO``) address rows whose ``c0`` is ``lim`` (and ``c1 = c2 = 0``); the generator checks
whether any row exceeds ``lim`` (B = 16: the deepest octave's segments span hundreds of
LSB) and only then does the unit clamp ``code > lim`` to ``lim``; at B = 8 the rows that
would exceed it by under an LSB are lowered instead, and the unit has no clamp. The
coefficients are fitted at generation time (least squares on Chebyshev nodes, which is
near-minimax for these smooth segments) to the exact ``Phi^-1`` at the centre of the input
points each ``w`` stands for, quantised, and ``c0`` is then re-centred on the integer
evaluation's error. docs/gaussian-icdf.md has the error analysis.

Hardware (``pezo.hw.gaussian.icdf``) and golden model (``pezo.sw.golden.gaussian.icdf``) take
:class:`Params` and :func:`tables` from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pezo.gaussian import SourceSpec, code_limit

OCTAVE_SLOTS = 16       # ROM rows per segment index: octaves 0..15 (NO <= 14 are used), a power of two
W_MAX = 16              # widest polynomial argument: one 16x16 DSP (SB_MAC16) per multiply
WH_BITS = 12            # argument bits of the small c2 multiply
SMALL_ARG_BITS = 10     # default F for value_bits <= 10 (docs/gaussian-icdf.md: chi-square excess)
FIT_NODES = 48


@dataclass(frozen=True)
class Params:
    """Widths and sizes of one ``gaussian-icdf`` unit, derived from the configuration.

    Attributes
    ----------
    value_bits : int
        B, output code width.
    degree : int
        1 (linear) or 2 (quadratic, Horner).
    seg_bits : int
        S, segments per octave ``2**S``.
    mag_bits : int
        M, width of the magnitude field.
    octaves : int
        NO, octaves with coefficients; ``z >= NO`` saturates.
    arg_bits : int
        F, polynomial argument width (the inverted mantissa bits after the segment, truncated).
    guard : int
        G, fraction bits of ``y`` below the output LSB.
    lut_multiply : bool
        Build the multipliers from LUTs (shift-add trees) instead of inferring DSPs
        (``icdf_multiplier = "lut"``, for devices or lane counts without enough DSPs).
    """

    value_bits: int
    degree: int
    seg_bits: int
    mag_bits: int
    octaves: int
    arg_bits: int
    guard: int
    lut_multiply: bool

    @property
    def limit(self) -> int:
        return code_limit(self.value_bits)

    @property
    def mant_bits(self) -> int:
        """Mantissa bits the shifter must deliver: segment plus argument."""
        return self.seg_bits + self.arg_bits

    @property
    def depth(self) -> int:
        return OCTAVE_SLOTS << self.seg_bits

    @property
    def latency(self) -> int:
        # leading zeros | shift + ROM read | (c2 product) | c1 product | add, round, sign
        return 4 + (self.degree == 2)

    @property
    def arg_h_bits(self) -> int:
        return min(WH_BITS, self.arg_bits)


def saturating_octaves(value_bits: int) -> int:
    """NO: the first octave whose every point rounds to the largest code."""
    t, lim = 1 << (value_bits - 3), code_limit(value_bits)
    xs = (lim - 0.5) / t                  # |x| from which the code is lim
    qs = math.erfc(xs / math.sqrt(2))     # two-sided tail probability there
    return math.ceil(-math.log2(qs))      # 2**-NO <= qs: octave NO and beyond all saturate


def params(value_bits: int, degree: int = 0, seg_bits: int = 0, mag_bits: int = 0, arg_bits: int = 0,
           multiplier: str = "dsp") -> Params:
    """:class:`Params` for B = ``value_bits``; 0 selects the default of a knob.

    Defaults: B <= 10: degree 1, S = 4, M = B + 10, F = 10; B > 10: degree 2, S = 3, M = B + 6,
    F = 16 (``F`` is always capped at ``M - S`` and 16).
    """
    small = value_bits <= 10
    degree = degree or (1 if small else 2)
    seg_bits = seg_bits or (4 if degree == 1 else 3)
    mag_bits = mag_bits or (value_bits + (10 if small else 6))
    no = saturating_octaves(value_bits)
    if mag_bits < no + 2:
        raise ValueError(f"{mag_bits} magnitude bits do not reach the {no} octaves of {value_bits}-bit codes")
    arg_bits = max(1, min(mag_bits - seg_bits, W_MAX, arg_bits or (SMALL_ARG_BITS if small else W_MAX)))
    guard = 8 if small else 6
    return Params(value_bits, degree, seg_bits, mag_bits, no, arg_bits, guard, lut_multiply=multiplier == "lut")


def params_of(e) -> Params:
    """:class:`Params` of an :class:`~pezo.config.EngineConfig`."""
    g = e.gaussian
    return params(e.value_bits, g.icdf_degree, g.icdf_segment_bits, g.icdf_uniform_bits, g.icdf_arg_bits,
                  g.icdf_multiplier)


def spec(e) -> SourceSpec:
    p = params_of(e)
    return SourceSpec(fields=(p.mag_bits, 1), outputs=1, latency=p.latency)


def exact(p: Params, k: np.ndarray) -> np.ndarray:
    """The exact transform of magnitudes ``k``: ``Phi^-1(1 - q/2) * T`` (float, in LSB)."""
    from scipy.special import erfcinv

    q = (2 * np.asarray(k, dtype=np.float64) + 1) / 2.0 ** (p.mag_bits + 1)
    return math.sqrt(2) * erfcinv(q) * (1 << (p.value_bits - 3))


def _arg_centre(p: Params, octave: int) -> float:
    """Offset, in units of the untruncated inverted mantissa, of the centre of the input
    points that one argument value ``w`` stands for, in this octave."""
    d = p.mag_bits - p.seg_bits - p.arg_bits           # truncated bits
    if d <= 0:
        return 0.0
    # the mantissa of octave z ends in 1 then z zeros, so its inverse ends in 0 then z ones
    return 2.0 ** (d - 1) - 0.5 if octave < d else 2.0 ** d - 1


def _x_of_arg(p: Params, octave: int, seg: int, w: np.ndarray) -> np.ndarray:
    """Exact |x| in LSB at argument ``w`` (real, in [0, 2**F)) of (octave, inverted segment)."""
    from scipy.special import erfcinv

    m, s = p.mag_bits, p.seg_bits
    f0 = m - s
    d = f0 - p.arg_bits
    t_inv = w * 2.0 ** max(d, 0) + _arg_centre(p, octave)
    t = (2.0 ** f0 - 1) - t_inv
    mant = ((1 << s) - 1 - seg) * 2.0 ** f0 + t
    q = 2.0 ** -(octave + 1) * (1 + mant / 2.0 ** m)
    return math.sqrt(2) * erfcinv(q) * (1 << (p.value_bits - 3))


def poly_eval(p: Params, c0, c1, c2, w):
    """The integer polynomial ``y`` (works on numpy int64 arrays and on torch int64 tensors)."""
    f, fh = p.arg_bits, p.arg_h_bits
    if p.degree == 2:
        c1 = c1 + ((c2 * (w >> (f - fh))) >> fh)
    return c0 + ((c1 * w) >> f)


@dataclass(frozen=True)
class Tables:
    """Coefficient ROM, ``Params.depth`` rows (address ``z*2**S + j``); rows of octaves >= NO
    give ``lim``."""

    c0: tuple[int, ...]
    c1: tuple[int, ...]
    c2: tuple[int, ...]
    clamp: bool = True      # some row exceeds lim: clamp the code (else its low B - 1 bits are it)

    @property
    def widths(self) -> tuple[int, int, int]:
        """Bits of c0 and c1 (unsigned) and c2 (signed; 0 for degree 1)."""
        w2 = max(max(abs(c) for c in self.c2).bit_length() + 1, 2) if any(self.c2) else 0
        return max(self.c0).bit_length(), max(self.c1).bit_length(), w2

    def inner_bits(self, p: Params) -> int:
        """Bits of the non-negative factor ``c1 + ((c2 * wh) >> FH)`` over every row and ``wh``."""
        if p.degree == 1:
            return self.widths[1]
        top = (1 << p.arg_h_bits) - 1
        ends = [v for c1, c2 in zip(self.c1, self.c2) for v in (c1, c1 + ((c2 * top) >> p.arg_h_bits))]
        if min(ends) < 0:
            raise AssertionError("a segment's slope factor goes negative")
        return max(ends).bit_length()


@lru_cache(maxsize=16)
def tables(p: Params) -> Tables:
    """Fit and quantise the coefficients of every (octave, segment)."""
    f = p.arg_bits
    unit = 2.0 ** p.guard                    # y is in 2**-G LSB
    half = 2.0 ** (p.guard - 1)              # rounding to nearest folded into c0
    nodes = 0.5 - 0.5 * np.cos(np.pi * (np.arange(FIT_NODES) + 0.5) / FIT_NODES)
    n_chk = min(1 << f, 4096)
    w_chk = np.unique(np.round(np.linspace(0, (1 << f) - 1, n_chk)).astype(np.int64))
    c0 = [0] * p.depth
    c1 = [0] * p.depth
    c2 = [0] * p.depth
    for z in range(p.octaves):
        for j in range(1 << p.seg_bits):
            a = (z << p.seg_bits) | j
            wn = nodes * (1 << f)
            coef = np.polyfit(nodes, _x_of_arg(p, z, j, wn) * unit, p.degree)[::-1]   # low first
            # (c2 * (w >> (F-FH))) >> FH is c2 * w / 2**F: the fit's u**2 coefficient as is;
            # its floor loses 1/2 on average, given back to c1
            q2 = int(round(coef[2])) if p.degree == 2 else 0
            q1 = int(round(coef[1] + (0.5 if p.degree == 2 else 0.0)))
            if q1 < 0:
                raise AssertionError(f"negative slope in octave {z} segment {j}")
            q0 = int(round(coef[0] + 0.5 + half))
            want = _x_of_arg(p, z, j, w_chk.astype(np.float64)) * unit + half
            err = want - poly_eval(p, np.int64(q0), np.int64(q1), np.int64(q2), w_chk)
            q0 += int(round((err.max() + err.min()) / 2))
            # the deepest octave's last segments reach lim + 1/2: if the row's top code exceeds
            # lim by less than one LSB (small B, where a segment spans under an LSB), lower
            # the row until its top code is lim (those inputs round to lim or lie within the
            # row's span of it), so that the hardware needs no clamp
            top = poly_eval(p, np.int64(q0), np.int64(q1), np.int64(q2), np.arange(1 << f, dtype=np.int64)).max()
            excess = int(top) - ((p.limit + 1) << p.guard) + 1
            if 0 < excess <= 1 << p.guard:
                q0 -= excess
            c0[a], c1[a], c2[a] = q0, q1, q2
    # octaves NO.. (the saturated inputs) read a constant lim: no saturation flag in the datapath
    for a in range(p.octaves << p.seg_bits, p.depth):
        c0[a] = (p.limit << p.guard) + int(half)
    lo, hi = _code_range(p, c0, c1, c2)
    if lo < 0 or hi >= 2 * (p.limit + 1):
        raise AssertionError(f"the rows give codes {lo}..{hi}, outside 0..{2 * p.limit + 1}")
    return Tables(tuple(c0), tuple(c1), tuple(c2), clamp=hi > p.limit)


def _code_range(p: Params, c0, c1, c2) -> tuple[int, int]:
    """Smallest and largest ``y >> G`` of any row at any argument."""
    w = np.arange(1 << p.arg_bits, dtype=np.int64)
    step = max(1, (1 << 20) >> p.arg_bits)
    lo, hi = 0, 0
    for a0 in range(0, p.depth, step):
        cs = [np.array(c[a0:a0 + step], dtype=np.int64)[:, None] for c in (c0, c1, c2)]
        code = poly_eval(p, *cs, w[None, :]) >> p.guard
        lo, hi = min(lo, int(code.min())), max(hi, int(code.max()))
    return lo, hi
