"""Arithmetic and pipeline helpers shared by the hardware blocks: the one pipeline register
helper and the one balanced adder tree."""

from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed

__all__ = ["adder_tree", "mul_logic", "register", "round_shift"]


def register(m: Module, name: str, value, shape=None, *, en=None, reset_less: bool = False) -> Signal:
    """A register ``name`` of ``shape`` (default: the value's) that loads ``value`` at every edge,
    or only on the edges where ``en`` is high (a pipeline stage that advances with an enable)."""
    r = Signal(shape if shape is not None else value.shape(), name=name, reset_less=reset_less)
    if en is None:
        m.d.sync += r.eq(value)
    else:
        with m.If(en):
            m.d.sync += r.eq(value)
    return r


def adder_tree(terms: list, middle: Callable[[list], list] | None = None):
    """The sum of ``terms`` as a balanced tree: neighbours added pairwise, level by level, an odd
    one out passed on to the next level, so the depth is ``ceil(log2 n)`` adders.

    ``middle(terms) -> terms`` (registers, say) is applied to the operands of the level halfway
    down the tree, level ``(levels + 1) // 2``: a tree split into two pipeline stages."""
    levels = (len(terms) - 1).bit_length()
    for level in range(levels):
        if middle is not None and level == (levels + 1) // 2:
            terms = middle(terms)
        terms = [x + y for x, y in zip(terms[::2], terms[1::2])] + terms[len(terms) & ~1:]
    return terms[0]


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
    return adder_tree(terms)
