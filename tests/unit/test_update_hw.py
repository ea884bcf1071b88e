"""Pieces of the update hardware checked exhaustively in the Amaranth simulator."""

import random

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from pezo import fixed
from pezo.hw.arith import mul_logic, round_shift


@pytest.mark.parametrize("sbits,zbits", [(16, 8), (9, 5), (6, 4)])
def test_logic_multiplier_is_exact(sbits, zbits):
    s, z = Signal(signed(sbits)), Signal(signed(zbits))
    m = Module()
    p = Signal(signed(sbits + zbits + 2))
    r = Signal(signed(sbits + zbits))
    m.d.comb += [p.eq(mul_logic(s, z, zbits)), r.eq(round_shift(p, 3))]
    rng = random.Random(1)
    svals = [-(1 << (sbits - 1)), (1 << (sbits - 1)) - 1, 0, 1, -1] + [rng.randrange(-(1 << (sbits - 1)), 1 << (sbits - 1)) for _ in range(6)]

    async def bench(ctx):
        for sv in svals:
            for zv in range(-(1 << (zbits - 1)), 1 << (zbits - 1)):
                ctx.set(s, sv)
                ctx.set(z, zv)
                assert ctx.get(p) == sv * zv, (sv, zv)
                assert ctx.get(r) == fixed.shift_right(sv * zv, 3, "nearest-even"), (sv, zv)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
