"""``gaussian-boxmuller`` unit: two Gaussian codes per evaluation by table plus interpolation.

The exact behaviour is docs/gaussian-boxmuller.md; the golden model is
``pezo.sw.golden.gaussian.boxmuller``. Widths and tables come from :mod:`pezo.gaussian.boxmuller`.
"""

from __future__ import annotations

import functools

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pezo.engine_params import EngineParams
from pezo.hw.arith import adder_tree, register
from pezo.gaussian import code_limit
from pezo.gaussian.boxmuller import (LUT_MUL_MAX_BITS, NORM_SPLIT, ROM_LOGIC_MAX_BITS, f_table,
                                     sin_table, spec)
from pezo.gaussian.boxmuller import params as unit_params


def _mul(a, b, stage=None, name=""):
    """``a * b``; a small product as a balanced tree of shifted partial products, so that the
    synthesiser keeps it out of DSPs and its depth is log2 of ``b``'s width, not linear.

    With ``stage`` (``stage(name, value)`` registers a value) the product takes two en-cycles:
    the first half of the tree's levels, a register, the rest, a register (a DSP product is
    registered twice, which its output register can absorb)."""
    if len(a) + len(b) > LUT_MUL_MAX_BITS:
        return a * b if stage is None else stage(name, stage(f"{name}_p", a * b))
    terms = [Mux(b[i], a, 0) << i for i in range(len(b))] or [Const(0, 1)]
    if stage is None:
        return adder_tree(terms)
    return stage(name, adder_tree(terms, lambda ts: [stage(f"{name}_s{i}", x) for i, x in enumerate(ts)]))


def _rom(m: Module, name: str, table, ports: int, en):
    """The table as a Memory with ``ports`` synchronous read ports (block RAM or logic)."""
    style = "logic" if table.bits <= ROM_LOGIC_MAX_BITS else "block"
    mem = Memory(shape=unsigned(table.width), depth=len(table.words), init=list(table.words),
                 attrs={"ram_style": style})
    m.submodules[name] = mem
    rps = [mem.read_port(transparent_for=()) for _ in range(ports)]
    for rp in rps:
        m.d.comb += rp.en.eq(en)
    return rps


def _split(word, table):
    """(value, step) of a packed table word, the step signed."""
    return word[:table.value_bits], word[table.value_bits:].as_signed()


class Unit(wiring.Component):
    """Box-Muller unit: ``values[0] = f*sin``, ``values[1] = f*cos`` of one ``(u0, u1)``.

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        ``value_bits`` sets every width (:func:`pezo.gaussian.boxmuller.params`).

    Attributes
    ----------
    bits : In(W0 + W1)
        ``u0`` at the low ``W0`` bits, ``u1`` above.
    en : In(1)
        Advances every register, ROM read ports included.
    values : Out(ArrayLayout(signed(B), 2))
        The codes of the bits presented ``LATENCY`` en-cycles earlier.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self._p = unit_params(e.value_bits)
        self._s = spec(e)
        super().__init__({
            "bits": In(self._s.bits),
            "en": In(1),
            "values": Out(data.ArrayLayout(signed(e.value_bits), 2)),
        })

    def elaborate(self, platform):
        m = Module()
        p, en = self._p, self.en
        w, m0, r0 = p.u0_bits, p.f_index, p.f_frac
        pb, r1 = p.u1_bits - 2, p.g_frac
        ft, st = f_table(p.value_bits), sin_table(p.value_bits)

        stage = functools.partial(register, m, en=en)

        # --- stage 1a: complement, the first NORM_SPLIT normalisation steps --------------------
        u0, u1 = self.bits[:w], self.bits[w:]
        s = u0[w - 1]
        k = Cat(Const(1, 1), u0[:w - 1] ^ s.replicate(w - 1))     # 2*code' + 1
        # normalise in log2(W0) steps (shift by 2**j where the top 2**j bits are zero), not
        # through a priority chain; K is odd, so it always has a leading one
        steps = list(reversed(range((w - 1).bit_length())))
        x, bits_ = k, []
        for j in steps[:NORM_SPLIT]:
            z = x[w - (1 << j):] == 0
            x = Mux(z, (x << (1 << j))[:w], x)
            bits_.append(z)
        cap = w - 1 - m0                                              # no shift past segment 0
        seg0 = stage("seg0", k[m0:] == 0)
        # segment 0 takes K << cap as it is; carrying it in x costs a mux here and no register
        x = stage("x_half", Mux(k[m0:] == 0, (k << cap)[:w], x))
        bits_ = [stage(f"lz{i}", z) for i, z in enumerate(bits_)]
        s_r = stage("s", s)
        u1 = stage("u1", u1)

        # --- stage 1b: the other normalisation steps, f address; sine addresses -------------
        kh = x
        for j in steps[NORM_SPLIT:]:
            z = x[w - (1 << j):] == 0
            x = Mux(z, (x << (1 << j))[:w], x)
            bits_.append(z)
        sh = Signal(range(max(cap, 1) + 1))
        kn = Signal(w)
        m.d.comb += [sh.eq(Mux(seg0, cap, Cat(*reversed(bits_)))),
                     kn.eq(Mux(seg0, kh, x))]
        seg = Signal(range(p.seg_count))
        m.d.comb += seg.eq(Mux(kn[w - 1], w - m0 - sh, 0))
        idx = kn[w - 1 - m0:w - 1]
        below = w - 1 - m0
        t = kn[below - r0:below] if below >= r0 else Cat(Const(0, r0 - below), kn[:below])
        seg_r = stage("seg", seg)
        f_addr = stage("f_addr", Cat(idx, seg, s_r))
        t_r = stage("t", t)
        q = u1[pb:]
        ph = u1[:pb]
        a = ph ^ q[0].replicate(pb)                                   # sin(q*pi/2 + phi) = S(a)
        g_addr = [stage(f"g_addr{j}", x[r1:]) for j, x in enumerate((a, ~a))]
        g_t = [stage(f"g_t{j}", x[:r1]) for j, x in enumerate((a, ~a))]
        neg1 = stage("neg1", q[1])
        neg2 = stage("neg2", q[1] ^ q[0])

        # --- stage 2: ROM reads --------------------------------------------------------
        frp, = _rom(m, "f_rom", ft, 1, en)
        srp = _rom(m, "sin_rom", st, 2, en)
        m.d.comb += frp.addr.eq(f_addr)
        for rp, ad in zip(srp, g_addr):
            m.d.comb += rp.addr.eq(ad)
        t_ext = stage("t_ext", Cat(seg_r > r0 + 1, t_r))
        g_t2 = [stage(f"g_te{j}", Cat(Const(1, 1), x)) for j, x in enumerate(g_t)]
        neg1b, neg2b = stage("neg1b", neg1), stage("neg2b", neg2)

        # --- stages 3a, 3b: step * fraction; stage 4: value + that, rounded ----------------
        def interpolate(word, table, te, frac, point, table_point, width, name):
            v, d = _split(word, table)
            v3, dt = stage(f"{name}_v", stage(f"{name}_va", v)), _mul(d, te, stage, f"{name}_dt")
            sh = frac + 1 + table_point - point
            full = (v3 << (frac + 1)) + dt + (1 << (sh - 1))
            return stage(name, full[sh:sh + width], unsigned(width))

        f = interpolate(frp.data, ft, t_ext, r0, p.f_point, p.f_table_point, p.f_bits, "f")
        gs = [interpolate(rp.data, st, te, r1, p.g_point, p.g_table_point, p.g_bits, f"g{j}")
              for j, (rp, te) in enumerate(zip(srp, g_t2))]
        neg1c, neg2c = (stage(f"{n}e", stage(f"{n}d", stage(f"{n}c", x)))
                        for x, n in ((neg1b, "neg1"), (neg2b, "neg2")))

        # --- stage 5: products; stage 6: round, saturate, sign ------------------------------
        # -round(P) = floor((~P + H) / 2**S) with H = 2**(S-1): one carry chain rounds and
        # negates; saturation compares P with a constant, beside it, not after it
        lim = code_limit(p.value_bits)
        sh = p.out_shift
        for j, (g, ng) in enumerate(zip(gs, (neg1c, neg2c))):
            prod = stage(f"prod{j}", _mul(f, g), unsigned(p.f_bits + p.g_bits))
            ngd = stage(f"neg{j}d", ng)
            ps = Cat(prod, Const(0, 1)).as_signed() ^ ngd.replicate(len(prod) + 1).as_signed()
            r = (ps + (1 << (sh - 1)))[sh:]
            sat = prod >= ((lim + 1) << sh) - (1 << (sh - 1))
            with m.If(en):
                m.d.sync += self.values[j].eq(Mux(sat, Mux(ngd, -lim, lim), r))
        return m
