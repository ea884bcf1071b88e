"""Fixed-point rules shared by the Amaranth hardware and the PyTorch golden models.

Formats
-------
``Qm.n`` is signed two's complement with ``m`` integer bits *including* the sign
bit and ``n`` fraction bits, total width ``m + n``: ``Q4.12`` is 16 bits wide and
covers ``[-8, 8 - 2**-12]``. ``UQm.n`` is unsigned with ``m`` integer bits and
width ``m + n``: ``UQ1.7`` covers ``[0, 2 - 2**-7]``. ``Q8`` means ``Q8.0``.
Widths are 1..64 bits.

A value is carried as its *raw code*, the integer ``value * 2**n``.

Rounding (when fraction bits are dropped)
-----------------------------------------
``floor``         toward -inf; what simply dropping the low wires does.
``trunc``         toward zero.
``nearest-up``    round half up: add half an LSB, then floor (cheapest nearest).
``nearest-even``  round half to even (convergent), unbiased.

Results that leave the destination range are saturated by default, or wrapped
modulo ``2**width`` on request. :func:`shift_right`, :func:`convert` and
:func:`mul` default to floor; :func:`from_float` defaults to nearest-even.

Ints and tensors
----------------
Every function accepts a Python int (exact, unbounded) or a torch int64 tensor
(float64 for :func:`from_float`) and gives identical results, as long as the
codes involved fit in int64 (so ``UQ64.0`` codes above ``2**63 - 1`` cannot be
held in a tensor). Tensors are handled through their methods only: importing
this module must not import torch, because the HDL side and the cocotb
simulator import it and torch takes seconds to load.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pezo.errors import PezoError

__all__ = [
    "QFormat", "Rounding", "saturate", "saturate_flag", "wrap", "shift_right",
    "convert", "mul", "from_float", "to_float", "to_unsigned", "from_unsigned", "pack_lanes", "unpack_lanes",
]

# An int or a torch tensor; kept as Any so that type checkers need no torch.
Raw = Any

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_SYNTAX = "expected 'Qm.n', 'Qm', 'UQm.n' or 'UQm' (e.g. 'Q4.12', 'UQ1.7', 'Q8')"
_FORMAT_RE = re.compile(r"(U?)Q([0-9]+)(?:\.([0-9]+))?")


class Rounding(StrEnum):
    """How :func:`shift_right` and friends treat the dropped fraction bits."""

    FLOOR = "floor"
    TRUNC = "trunc"
    NEAREST_UP = "nearest-up"
    NEAREST_EVEN = "nearest-even"


def _is_int(x: Any) -> bool:
    # The exact type check first: the ABC check is slow and ints are the hot path.
    return type(x) is int or isinstance(x, numbers.Integral)


def _rounding(mode: str) -> Rounding:
    if isinstance(mode, Rounding):
        return mode
    try:
        return Rounding(mode)
    except ValueError:
        choices = ", ".join(repr(r.value) for r in Rounding)
        raise PezoError(f"unknown rounding mode {mode!r}; expected one of {choices}") from None


@dataclass(frozen=True)
class QFormat:
    """A fixed-point format; see the module docstring for the Qm.n convention.

    Parameters
    ----------
    int_bits : int
        Integer bits, including the sign bit when signed (>= 1 signed, >= 0 unsigned).
    frac_bits : int
        Fraction bits (>= 0).
    signed : bool
        Two's complement if true, unsigned otherwise.
    """

    int_bits: int
    frac_bits: int
    signed: bool = True

    def __post_init__(self) -> None:
        if self.int_bits < (1 if self.signed else 0) or self.frac_bits < 0:
            raise PezoError(f"invalid fixed-point format {self}: a signed format needs >= 1 "
                            "integer bit (the sign), fraction bits must be >= 0")
        if not 1 <= self.width <= 64:
            raise PezoError(f"invalid fixed-point format {self}: width {self.width} not in 1..64")

    @classmethod
    def parse(cls, text: str) -> QFormat:
        """Parse ``'Q4.12'``, ``'UQ1.7'`` or ``'Q8'``; raise PezoError if invalid."""
        match = _FORMAT_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise PezoError(f"invalid fixed-point format {text!r}: {_SYNTAX}")
        unsigned, int_bits, frac_bits = match.groups()
        try:
            return cls(int(int_bits), int(frac_bits or 0), signed=not unsigned)
        except PezoError as exc:
            raise PezoError(f"invalid fixed-point format {text!r}: {_SYNTAX}, "
                            "signed needs m >= 1, width m+n in 1..64") from exc

    def __str__(self) -> str:
        return f"{'' if self.signed else 'U'}Q{self.int_bits}.{self.frac_bits}"

    @property
    def width(self) -> int:
        """Total number of bits."""
        return self.int_bits + self.frac_bits

    @property
    def min_raw(self) -> int:
        """Smallest raw code."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        """Largest raw code."""
        return (1 << (self.width - self.signed)) - 1

    @property
    def scale(self) -> int:
        """``2**frac_bits``: raw code = value * scale."""
        return 1 << self.frac_bits

    @property
    def lsb(self) -> float:
        """Value of one code step."""
        return 2.0 ** -self.frac_bits

    @property
    def min_value(self) -> float:
        """Smallest representable value."""
        return to_float(self.min_raw, self)

    @property
    def max_value(self) -> float:
        """Largest representable value (rounded to float64 for very wide formats)."""
        return to_float(self.max_raw, self)


def _bounds(fmt: QFormat, raw: Raw) -> tuple[int, int]:
    # Tensor values already lie in int64, so clipping the limits loses nothing
    # and keeps torch from rejecting out-of-range scalars (UQ64.0).
    if _is_int(raw):
        return fmt.min_raw, fmt.max_raw
    return max(fmt.min_raw, _INT64_MIN), min(fmt.max_raw, _INT64_MAX)


def saturate_flag(raw: Raw, fmt: QFormat) -> tuple[Raw, Any]:
    """Clamp raw codes into ``fmt``'s range.

    Returns
    -------
    value, overflowed
        The clamped code(s) and a bool (bool tensor) telling which were clamped.
    """
    lo, hi = _bounds(fmt, raw)
    if _is_int(raw):
        raw = int(raw)
        return min(max(raw, lo), hi), not lo <= raw <= hi
    return raw.clamp(lo, hi), (raw < lo) | (raw > hi)


def saturate(raw: Raw, fmt: QFormat) -> Raw:
    """Clamp raw codes into ``fmt``'s range."""
    return saturate_flag(raw, fmt)[0]


def to_unsigned(raw: Raw, fmt: QFormat) -> Raw:
    """Bit pattern of a code as an unsigned ``fmt.width``-bit integer (for HDL ports).

    Out-of-range codes keep only their low bits, as an HDL port would. In a
    tensor a 64-bit pattern stays int64, i.e. it is the signed code itself.
    """
    # (raw >> w) << w clears the low bits; with torch it is 0 or -1 << 64 == 0 for
    # w == 64, so no mask constant outside int64 is ever needed.
    return raw - ((raw >> fmt.width) << fmt.width)


def from_unsigned(bits: Raw, fmt: QFormat) -> Raw:
    """Raw code from an unsigned ``fmt.width``-bit pattern (inverse of :func:`to_unsigned`)."""
    u = to_unsigned(bits, fmt)
    if not fmt.signed:
        return u
    # Subtract 2**w when the sign bit is set; int64 wrap-around makes this right
    # for tensors at widths 63 and 64 too.
    return u - ((u >> (fmt.width - 1)) << fmt.width)


def wrap(raw: Raw, fmt: QFormat) -> Raw:
    """Two's complement (modular) wrap of raw codes into ``fmt``'s width."""
    return from_unsigned(raw, fmt)


def shift_right(raw: Raw, shift: int, rounding: str = Rounding.FLOOR) -> Raw:
    """Exact ``raw / 2**shift`` rounded to an integer with the given rounding mode.

    Parameters
    ----------
    raw : int or torch int64 tensor
        Value(s) to shift.
    shift : int
        Bits to drop, >= 0 (any size; large shifts give 0 or -1 as appropriate).
    rounding : Rounding or str
        One of ``floor``, ``trunc``, ``nearest-up``, ``nearest-even``.
    """
    mode = _rounding(rounding)
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift}")
    if shift == 0:
        return raw
    q = raw >> shift  # floor
    if mode is Rounding.FLOOR:
        return q
    if mode is Rounding.TRUNC:
        inexact = raw != (q << shift)
        return q + ((raw < 0) & inexact)
    half = (raw >> (shift - 1)) & 1  # first dropped bit: remainder >= 1/2
    if mode is Rounding.NEAREST_UP:
        return q + half
    below_half = raw != ((raw >> (shift - 1)) << (shift - 1))  # sticky bits under it
    return q + (half & (below_half | (q & 1)))


def _requantize(raw: Raw, src_frac: int, dst: QFormat, rounding: str, sat: bool) -> Raw:
    # Works from the source's fraction bits alone, so intermediate products
    # wider than 64 bits never need a QFormat.
    rounding = _rounding(rounding)
    if _is_int(raw):
        raw = int(raw)
    shift = dst.frac_bits - src_frac
    if shift < 0:
        out = shift_right(raw, -shift, rounding)
    elif shift > 0 and sat and not _is_int(raw):
        # The left shift may wrap in int64, so decide overflow before shifting.
        lo, hi = _bounds(dst, raw)
        out = (raw << shift).clamp(lo, hi)
        return out.masked_fill(raw > (dst.max_raw >> shift), hi).masked_fill(
            raw < -((-dst.min_raw) >> shift), lo)
    else:
        out = raw << shift
    return saturate(out, dst) if sat else wrap(out, dst)


def convert(raw: Raw, src: QFormat, dst: QFormat, rounding: str = Rounding.FLOOR,
            saturate: bool = True) -> Raw:
    """Re-quantise raw codes from ``src`` to ``dst``.

    Fraction bits are dropped with ``rounding`` (added ones are exact), then the
    result is saturated (``saturate=True``) or wrapped into ``dst``.
    Floor is the default because it is what dropping low bits in hardware does.
    """
    return _requantize(raw, src.frac_bits, dst, rounding, saturate)


def mul(a: Raw, fa: QFormat, b: Raw, fb: QFormat, dst: QFormat,
        rounding: str = Rounding.FLOOR, saturate: bool = True) -> Raw:
    """Exact product of codes ``a`` (in ``fa``) and ``b`` (in ``fb``), converted to ``dst``.

    With tensors the exact product must fit in int64, else PezoError is raised.
    """
    product = a * b
    if not _is_int(product):
        corners = [x * y for x in (fa.min_raw, fa.max_raw) for y in (fb.min_raw, fb.max_raw)]
        if min(corners) < _INT64_MIN or max(corners) > _INT64_MAX:
            raise PezoError(f"product of {fa} and {fb} does not fit in int64 tensors; "
                            "use Python ints")
    else:
        product = int(product)
    return _requantize(product, fa.frac_bits + fb.frac_bits, dst, rounding, saturate)


def from_float(x: Any, fmt: QFormat, rounding: str = Rounding.NEAREST_EVEN,
               saturate: bool = True) -> Raw:
    """Raw code(s) of float(s): exact ``x * 2**frac_bits``, rounded, then saturated or wrapped.

    Accepts a Python float/int or a float tensor (computed in float64). NaN raises
    PezoError, and so does infinity when ``saturate`` is false.
    """
    mode = _rounding(rounding)
    if isinstance(x, numbers.Real):
        x = float(x)
        if math.isnan(x) or (math.isinf(x) and not saturate):
            raise PezoError(f"cannot convert {x} to fixed-point {fmt}")
        if math.isinf(x):
            return fmt.max_raw if x > 0 else fmt.min_raw
        # A float is itself a raw code with log2(denominator) fraction bits.
        num, den = x.as_integer_ratio()
        return _requantize(num, den.bit_length() - 1, fmt, mode, saturate)
    x = x.double()
    if bool(x.isnan().any()) or (not saturate and bool(x.isinf().any())):
        raise PezoError(f"cannot convert NaN or infinity to fixed-point {fmt}")
    if not saturate:
        # Dropping whole multiples of 2**int_bits keeps the wrapped result (fmod is
        # exact and keeps the sign, so even trunc agrees) and avoids float overflow.
        x = x.fmod(2.0 ** fmt.int_bits)
    s = x * 2.0 ** fmt.frac_bits  # exact: scaling by a power of two
    if mode is Rounding.FLOOR:
        r = s.floor()
    elif mode is Rounding.TRUNC:
        r = s.trunc()
    else:
        r = s.round()  # half to even; r - s is exact, so ties are detected exactly
        if mode is Rounding.NEAREST_UP:
            r = r + ((r - s) == -0.5)
    if saturate:
        lo, hi = _bounds(fmt, r)
        over, under = r >= float(fmt.max_raw + 1), r < float(fmt.min_raw)
        out = r.masked_fill(over | under, 0).long()
        return out.masked_fill(over, hi).masked_fill(under, lo)
    # Here |r| <= 2**64; fold into int64 exactly before the integer wrap.
    r = r.where(r < 2.0 ** 63, r - 2.0 ** 64)
    r = r.where(r >= -(2.0 ** 63), r + 2.0 ** 64)
    return wrap(r.long(), fmt)


def to_float(raw: Raw, fmt: QFormat) -> Any:
    """Value(s) of raw code(s): a Python float, or a float64 tensor."""
    if _is_int(raw):
        return int(raw) / fmt.scale  # int / int is correctly rounded in Python
    return raw.double() / 2.0 ** fmt.frac_bits


def pack_lanes(values, bits: int) -> int:
    """Lane codes (two's complement allowed) as one word's bit pattern, lane ``i`` at bit
    ``i*bits``: a memory word of the update system, a port of several lanes."""
    mask = (1 << bits) - 1
    return sum((int(v) & mask) << (i * bits) for i, v in enumerate(values))


def unpack_lanes(word: int, lanes: int, bits: int) -> list[int]:
    """The signed lane codes of a word's bit pattern (the inverse of :func:`pack_lanes`)."""
    out = []
    for i in range(lanes):
        v = (int(word) >> (i * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out
