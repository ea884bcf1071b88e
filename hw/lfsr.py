"""LFSR bank: ``lanes`` leap-forward LFSRs, ``k`` fresh bits each per cycle, with replay.

The algorithm (polynomial, structure, leap matrix, lane seeds) is the bank's parameters object,
:class:`pezo.lfsr.BankParams`; this module only turns it into gates. Each next-state
bit is the XOR of the state bits in one row of ``T**k``, and the table in ``pezo.lfsr`` picks the
polynomial that keeps those rows short, so a row usually fits one 4-input LUT.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.lfsr import BankParams


class LfsrBank(wiring.Component):
    """A bank of LFSRs with distinct start states that all advance together.

    Parameters
    ----------
    params : BankParams
        Polynomial, structure and ``k`` of every lane, the lanes' seeds, replay
        (``BankParams.from_config(cfg.lfsr)``).

    Attributes
    ----------
    en : In(1)
        Advance every LFSR by ``k`` steps at the next rising edge.
    out : Out(lanes * k)
        The fresh bits, lane ``i`` in ``out[i*k:(i+1)*k]``: the top ``k`` bits of the state of
        LFSR ``i``. Registered: no logic between the flip-flops and the port.
    snapshot : In(1)
        Only with ``replay``. Copy the current state (the one whose bits are on ``out`` now)
        into the shadow register at the next edge.
    restore : In(1)
        Only with ``replay``. Load the shadow register into the state at the next edge;
        takes priority over ``en``. The shadow starts at the seeds, so ``restore`` before any
        ``snapshot`` rewinds to reset.

    Timing: after reset (or power-up: the registers' initial value is the seed too) the state
    is the seed. With ``en``
    high in cycle ``c``, the value on ``out`` after the edge is the next ``k`` bits of each
    lane's sequence. A pass is replayed by ``snapshot`` at its first cycle and ``restore``
    after its last: ``out`` then shows the pass's first value again on the cycle after
    ``restore``.
    """

    def __init__(self, params: BankParams):
        self._params = params.lfsr
        self._seeds = params.seeds
        self._replay = params.replay
        signature = {"en": In(1), "out": Out(params.bits_per_cycle)}
        if params.replay:
            signature |= {"snapshot": In(1), "restore": In(1)}
        super().__init__(signature)

    def elaborate(self, platform):
        m = Module()
        p = self._params
        for lane, seed in enumerate(self._seeds):
            # The register holds the state itself, reset (and initial) value the seed: yosys
            # maps a 1 to a set flip-flop (ECP5) or absorbs it into the next-state LUT (iCE40),
            # which the restore multiplexer needs anyway. Measured against holding state ^ seed
            # (reset 0) in docs/results/engine-options.md: equal or fewer LUTs on both targets.
            reg = Signal(p.width, name=f"state{lane}", init=seed)
            nxt = Cat(*(Cat(*(reg[i] for i in range(p.width) if row >> i & 1)).xor() for row in p.leap_rows))
            if self._replay:
                shadow = Signal(p.width, name=f"shadow{lane}", init=seed)
                with m.If(self.snapshot):
                    m.d.sync += shadow.eq(reg)
                with m.If(self.restore):
                    m.d.sync += reg.eq(shadow)
                with m.Elif(self.en):
                    m.d.sync += reg.eq(nxt)
            else:
                with m.If(self.en):
                    m.d.sync += reg.eq(nxt)
            m.d.comb += self.out[lane * p.k:(lane + 1) * p.k].eq(reg[p.width - p.k:])
        return m
