"""``gaussian-icdf`` unit: inverse CDF by octave/segment polynomial table (algorithm and tables
in :mod:`pezo.gaussian.icdf`, exact behaviour in docs/gaussian-icdf.md).

Pipeline, every register enabled by ``en``:

1. leading zeros ``z`` of ``v = 2k + 1`` (a priority encoder over its top NO bits; NO when
   they are all zero, whose ROM rows give the largest code);
2. normalising shift ``v << z``, inversion, ROM read of row ``z*2**S + j`` (block RAM port,
   ``en`` = the unit's ``en``);
3. (degree 2) ``c1 + ((c2 * wh) >> FH)``;
4. product with the argument ``w``;
5. ``c0`` added (rounding is folded into it), ``>> G``, clamp (only if a row can exceed the
   largest code), sign.
"""

from __future__ import annotations

import functools

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pezo.engine_params import EngineParams
from pezo.hw.arith import adder_tree, register
from pezo.gaussian.icdf import OCTAVE_SLOTS, params_of, tables


def _lut_product(a, b):
    """``a * b`` (``a`` unsigned, ``b`` unsigned or signed) as a balanced adder tree of shifted
    partial products, so that yosys builds it from LUTs and carry chains instead of a DSP."""
    return adder_tree([Mux(a[i], b, 0) << i for i in range(len(a))])


class Unit(wiring.Component):
    """One inverse-CDF Gaussian generator: one value per ``en`` cycle.

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        ``value_bits`` and ``gaussian.icdf_*``.

    Attributes
    ----------
    bits : In(M + 1)
        ``k`` in ``bits[:M]``, the sign in ``bits[M]``.
    en : In(1)
        Advance the pipeline.
    values : Out(ArrayLayout(signed(B), 1))
        The code, ``latency`` ``en`` cycles after its bits.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self.p = params_of(e)
        self.tab = tables(self.p)
        super().__init__({
            "bits": In(self.p.mag_bits + 1),
            "en": In(1),
            "values": Out(ArrayLayout(signed(self.p.value_bits), 1)),
        })

    def elaborate(self, platform):
        m = Module()
        p, tab = self.p, self.tab
        M, S, F, G, NO = p.mag_bits, p.seg_bits, p.arg_bits, p.guard, p.octaves
        w0, w1, w2 = tab.widths
        zb = (OCTAVE_SLOTS - 1).bit_length()

        stage = functools.partial(register, m, en=self.en)

        # 1: leading zeros below NO (NO when the top NO bits are zero: saturated rows)
        k, sign = self.bits[:M], self.bits[M]
        v = Cat(Const(1, 1), k)                       # 2k + 1, M + 1 bits
        z = Const(NO, zb)
        for i in range(NO - 1, -1, -1):               # the smallest i with bit M-i set wins
            z = Mux(v[M - i], i, z)
        z1 = stage("z1", z, unsigned(zb))
        v1 = stage("v1", v[:M])                       # the leading one is implied by z
        sign1 = stage("sign1", sign)

        # 2: normalise, invert, ROM read
        norm = (v1 << z1)[:M]
        sh = M - S - F
        top = norm[sh:] if sh >= 0 else Cat(Const(0, -sh), norm)
        inv = ~top
        seg, w = inv[F:F + S], inv[:F]
        words = [c0 | (c1 << w0) | ((c2 & ((1 << w2) - 1)) << (w0 + w1)) if w2 else c0 | (c1 << w0)
                 for c0, c1, c2 in zip(tab.c0, tab.c1, tab.c2)]
        m.submodules.rom = rom = Memory(shape=unsigned(w0 + w1 + w2), depth=p.depth, init=words)
        rp = rom.read_port()
        m.d.comb += [rp.addr.eq(Cat(seg, z1)), rp.en.eq(self.en)]
        w2r = stage("w2", w)
        sign2 = stage("sign2", sign1)
        c0 = rp.data[:w0]
        c1 = rp.data[w0:w0 + w1]

        # 3 (degree 2): the slope factor c1 + c2 * w / 2**F, non-negative (checked by the tables)
        wi = tab.inner_bits(p)
        if p.degree == 2:
            c2 = rp.data[w0 + w1:].as_signed()
            fh = p.arg_h_bits
            c2w = _lut_product(w2r[F - fh:], c2) if p.lut_multiply else c2 * w2r[F - fh:]
            inner = stage("inner", c1 + (c2w >> fh), unsigned(wi))
            c0, w, sgn = stage("c0_3", c0), stage("w3", w2r), stage("sign3", sign2)
        else:
            inner, w, sgn = c1, w2r, sign2

        # 4: the product and c0 (a DSP with its accumulator adder, or LUTs with
        # icdf_multiplier = "lut"); c0 + ((c1*w) >> F) == ((c0 << F) + c1*w) >> F
        if p.lut_multiply:
            y4 = stage("y", c0 + _lut_product(w, inner)[F:])
        else:
            y4 = stage("y", (c0 << F) + inner * w)[F:]
        sign4 = stage("sign4", sgn)

        # 5: round (folded into c0), clamp if a row can exceed lim, sign
        code = y4[G:]
        mag = Mux(code > p.limit, p.limit, code) if tab.clamp else code[:p.value_bits - 1]
        out = Signal(signed(p.value_bits), name="out")
        with m.If(self.en):
            m.d.sync += out.eq(Mux(sign4, -mag, mag))
        m.d.comb += self.values[0].eq(out)
        return m
