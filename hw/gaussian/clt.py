"""``gaussian-clt`` unit (docs/gaussian-clt.md): K uniforms summed by an adder tree, then
normalised by a shift-add tree, one register level per adder level, no multiplier."""

from __future__ import annotations

import functools

from amaranth.hdl import Cat, Const, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pezo.engine_params import EngineParams
from pezo.hw.arith import register
from pezo.gaussian import code_limit
from pezo.gaussian.clt import plan_of, spec


def _width(bound: int) -> int:
    """Signed width holding every integer in ``[-bound, bound]``."""
    return bound.bit_length() + 1


class Unit(wiring.Component):
    """One ``gaussian-clt`` value per evaluation (contract: :mod:`pezo.gaussian`).

    Parameters
    ----------
    params : EngineParams
        The engine's parameters object; of its configuration (``params.engine``):
        ``value_bits`` and ``gaussian.clt_terms`` select the plan (:func:`pezo.gaussian.clt.plan`).

    Attributes
    ----------
    bits : In(K * u)
        K uniform fields of ``u`` bits, field 0 at the low bits.
    en : In(1)
        Advances every register.
    values : Out(ArrayLayout(signed(value_bits), 1))
        The code, ``latency`` ``en`` cycles after its bits.
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self._e, self._plan, self._spec = e, plan_of(e), spec(e)
        super().__init__({
            "bits": In(self._spec.bits),
            "en": In(1),
            "values": Out(data.ArrayLayout(signed(e.value_bits), 1)),
        })

    def elaborate(self, platform):
        m = Module()
        p, b = self._plan, self._e.value_bits
        u = p.u

        stage = functools.partial(register, m, en=self.en, reset_less=True)

        # Uniform tree. Term i is the odd value 2 U_i + 1 - 2**u: U_i with its MSB inverted
        # (signed, centred) and a constant 1 appended below; a node of n terms spans n (2**u - 1).
        nodes = []
        for i in range(p.terms):
            f = self.bits[i * u:(i + 1) * u]
            nodes.append((Cat(Const(1, 1), f[:u - 1], ~f[u - 1]).as_signed(), 1))
        level = 0
        while len(nodes) > 1:
            nxt = []
            for j in range(0, len(nodes) - 1, 2):
                (x, nx), (y, ny) = nodes[j], nodes[j + 1]
                n = nx + ny
                nxt.append((stage(f"sum{level}_{j // 2}", x + y, signed(_width(n * ((1 << u) - 1)))), n))
            if len(nodes) % 2:
                x, n = nodes[-1]
                nxt.append((stage(f"sum{level}_pass", x, signed(_width(n * ((1 << u) - 1)))), n))
            nodes, level = nxt, level + 1
        z = nodes[0][0]
        assert level == p.sum_levels

        # Shift-add tree: operands (sign, value, coefficient, has_const) with value = coefficient * Z
        # (+ the rounding constant). The rounding constant 2**(F-1) - [Z < 0] is the wiring
        # {~s, s, ..., s} (s = sign of Z), or just 2**(F-1) when no tie is reachable.
        s = z[-1] if p.half_away else Const(0, 1)
        half = Cat(s.replicate(p.frac - 1), ~s, Const(0, 1)).as_signed()
        ops = [(sg, z << k, sg * (1 << k), False) for sg, k in p.digits]
        ops.append((1, half, 0, True))
        zmax, level = p.z_max, 0

        def bound(coef: int, const: bool) -> int:
            return zmax * abs(coef) + (p.rounding_constant() if const else 0)

        while len(ops) > 1:
            pos = [o for o in ops if o[0] > 0]
            neg = [o for o in ops if o[0] < 0]
            pairs = []
            while pos and neg:          # pos - neg keeps a positive operand for the end
                pairs.append((pos.pop(0), neg.pop(0)))
            rest = pos + neg
            while len(rest) > 1:
                pairs.append((rest.pop(0), rest.pop(0)))
            last = len(ops) == 2
            nxt = []
            for idx, (a, c) in enumerate(pairs):
                if a[0] == c[0]:
                    sg, val, coef = a[0], a[1] + c[1], a[2] + c[2]
                else:
                    sg, val, coef = 1, a[1] - c[1], a[2] + c[2]     # a positive, c negative
                const = a[3] or c[3]
                name = f"scale{level}_{idx}"
                if last:                # X >> F: only the code bits are kept
                    width = _width(bound(coef, const)) - p.frac
                    if not p.saturate:  # the plan proved every code fits B bits
                        width = b
                    nxt.append((sg, stage("x_code", val[p.frac:p.frac + width], signed(width)), coef, const))
                else:
                    nxt.append((sg, stage(name, val, signed(_width(bound(coef, const)))), coef, const))
            for o in rest:
                nxt.append((o[0], stage(f"scale{level}_pass", o[1], signed(_width(bound(o[2], o[3])))), o[2], o[3]))
            ops, level = nxt, level + 1
        assert level == p.scale_levels and ops[0][0] > 0
        q = ops[0][1]

        lim = code_limit(b)
        if p.saturate:
            out = Signal(signed(b), name="clamped", reset_less=True)
            with m.If(self.en):
                with m.If(q > lim):
                    m.d.sync += out.eq(lim)
                with m.Elif(q < -lim):
                    m.d.sync += out.eq(-lim)
                with m.Else():
                    m.d.sync += out.eq(q)
        else:
            out = q
        m.d.comb += self.values[0].eq(out)
        return m

