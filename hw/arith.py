"""Arithmetic helpers shared by the hardware blocks."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, signed

__all__ = ["mul_logic", "round_shift"]


def round_shift(x, k: int):
    """``x * 2**-k`` rounded to nearest, ties to even (``k > 0``); exact left shift if ``k <= 0``."""
    if k <= 0:
        return x << -k
    q = x >> k                                    # arithmetic: floor
    sticky = x[:k - 1].any() if k > 1 else Const(0, 1)
    return q + (x[k - 1] & (sticky | q[0]))


def mul_logic(s, z, bits: int):
    """``s * z`` (z signed ``bits`` wide) from LUTs and carry chains instead of a DSP: radix-4
    Booth recoding of z (digits -2..2, so ceil(bits/2) partial products, each a select of
    0, s or 2s, inverted for negative digits with the +1 collected in one correction term),
    summed by a balanced adder tree. Exact for every input."""
    zz = Cat(Const(0, 1), z, z[bits - 1])          # z[-1] = 0, one sign bit of headroom
    zero = Const(0, signed(len(s) + 1))
    terms, corr = [], []
    for j in range((bits + 1) // 2):
        b0, b1, b2 = zz[2 * j], zz[2 * j + 1], zz[2 * j + 2]
        one = b0 ^ b1
        two = (b2 & ~b1 & ~b0) | (~b2 & b1 & b0)
        mag = Mux(two, s << 1, Mux(one, s, zero))
        terms.append(Mux(b2, ~mag, mag) << (2 * j))   # ~mag = -mag - 1
        corr += [b2, Const(0, 1)]
    terms.append(Cat(*corr))                          # the +1 of every negative digit
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]
