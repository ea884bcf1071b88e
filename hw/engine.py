"""The perturbation engine: LFSR bank -> (reuse pool -> scale | Gaussian units) -> L values per beat.

The exact register-level behaviour is docs/engine.md; the golden model
(``pezo.sw.golden.engine``) implements the same page and is compared with this every cycle.
Every rule (strategy traits, fill sizes, priming, widths, the beat layout) comes from
:class:`pezo.engine_params.EngineParams`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pezo.config import Config
from pezo.engine_params import EngineParams, Offset, Source
from pezo.hw.arith import mul_logic
from pezo.hw.gaussian import Lanes as GaussianLanes
from pezo.hw.lfsr import LfsrBank
from pezo.scale import (RESCALE_STAGES, ROM_AT, ROM_INDEX_BITS, ROM_MANTISSA_BITS, SCALE_LATENCY, adaptive_rom,
                        shift_params)

__all__ = ["Engine", "State", "odd", "POOL_READ_PORTS"]

#: Read ports of one pool memory (see the pool in :class:`Engine`).
POOL_READ_PORTS = 8


class _WritePort:
    """The signals of a memory write port, fanned out to every pool replica."""

    def __init__(self, addr: Signal, data: Signal, en: Signal):
        self.addr, self.data, self.en = addr, data, en


class State(enum.Enum, shape=2):
    IDLE = 0
    FILL = 1
    SCALE = 2
    STREAM = 3


def odd(u, value_bits: int):
    """The odd code of ``B-1`` uniform bits as wiring: ``{u, 1}`` (:func:`pezo.scale.odd_code`)."""
    return Cat(Const(1, 1), u[:value_bits - 1]).as_signed()


class Engine(wiring.Component):
    """Perturbation engine: ``lanes`` signed ``value_bits`` values per beat, replayable.

    Parameters
    ----------
    params : EngineParams or Config
        The engine's parameters (a :class:`~pezo.config.Config` is turned into them).

    Attributes
    ----------
    start : In(1)
        In IDLE: start a new step (refill the pool as the strategy says, then stream a pass).
    replay : In(1)
        In IDLE with ``start`` low: stream the step's pass again, identically.
    d : In(range(max_params + 1))
        Pass length, sampled with ``start``/``replay``; ``ceil(d / lanes)`` beats.
    idle : Out(1)
        The engine accepts a command.
    o : Out(stream.Signature(params.beat_layout))
        ``payload.values[l]``: the value of parameter ``beat*lanes + l``; ``payload.last`` marks
        the final beat. Held while ``valid & ~ready``.

    Timing (pooled strategy, fixed scale, ``ready`` high)::

        clk      _/~\\_/~\\_/~\\_..._/~\\_/~\\_/~\\_/~\\_..._/~\\_/~\\_
        start    ‾‾‾\\___________________________________________
        idle     ‾‾‾\\______________________________________/‾‾‾‾
        state    IDLE| FILL x N        | STREAM ...            |IDLE
        o.valid  _____________________/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\\____
        o.last   ________________________________________/‾\\____

    A replay goes straight from IDLE to STREAM. Without a pool (``rademacher``, ``uniform``
    with ``none``) the values are wiring from the bank's register and ``valid`` rises in the
    cycle after ``start`` (docs/engine.md "Direct stream"). With back-pressure the beat waits.
    """

    def __init__(self, params: EngineParams | Config):
        ep = params if isinstance(params, EngineParams) else EngineParams.from_config(params)
        ep.check_bank()
        self._p = ep
        super().__init__({
            "start": In(1),
            "replay": In(1),
            "d": In(range(ep.max_params + 1)),
            "idle": Out(1),
            "o": Out(stream.Signature(ep.beat_layout)),
        })

    @property
    def params(self) -> EngineParams:
        return self._p

    def elaborate(self, platform):
        m = Module()
        m.submodules.bank = bank = LfsrBank(self._p.engine_bank)
        if self._p.direct:
            self._direct(m, bank)
        else:
            self._pooled(m, bank)
        return m

    def _direct(self, m: Module, bank: LfsrBank) -> None:
        """No pool, no pipeline: the bank's register is the beat's register; it advances when
        the beat is taken, so a beat costs no flip-flop beyond the bank's."""
        ep = self._p
        L, B = ep.lanes, ep.value_bits
        rnd = bank.out
        ovalid, olast = Signal(), Signal()
        for lane in range(L):
            if ep.source is Source.RADEMACHER:
                v = Cat(Const(1, 1), rnd[lane]).as_signed()            # +1 or -1
            else:
                v = odd(rnd[lane * (B - 1):(lane + 1) * (B - 1)], B)
            m.d.comb += self.o.payload.values[lane].eq(v)
        m.d.comb += [self.idle.eq(~ovalid), self.o.valid.eq(ovalid), self.o.payload.last.eq(olast)]
        take = ovalid & self.o.ready
        load = ~ovalid & (self.start | self.replay)
        with m.If(~ovalid):
            with m.If(self.start):
                m.d.comb += bank.snapshot.eq(1)      # the state that shows beat 0
            with m.Elif(self.replay):
                m.d.comb += bank.restore.eq(1)
        with m.If(take):
            m.d.comb += bank.en.eq(1)
            with m.If(olast):
                m.d.sync += ovalid.eq(0)
        # c = values left after the shown beat, minus 1: the shown beat is the last when c < 0.
        # A load and a take are one subtraction each (d - (L+1), c - L), and `last` is the
        # sign of the result: the carry chain that computes c, no magnitude compare.
        c = Signal(signed(len(self.d) + 2))
        nxt = Signal.like(c)
        m.d.comb += nxt.eq(Mux(ovalid, c, self.d) - Mux(ovalid, L, L + 1))
        with m.If(load | take):
            m.d.sync += [c.eq(nxt), olast.eq(nxt < 0)]
        with m.If(load):
            m.d.sync += ovalid.eq(self.d != 0)

    def _pooled(self, m: Module, bank: LfsrBank) -> None:
        ep = self._p
        t = ep.traits
        L, B = ep.lanes, ep.value_bits
        P, p = ep.pool_size, ep.index_bits
        adaptive = ep.adaptive
        rnd = bank.out
        gaussian = ep.source.gaussian
        # A Gaussian unit is a pipeline of `latency` stages whose last one is the beat's output
        # register: a pass first primes the other latency - 1 stages (docs/engine.md).
        prime_cycles = ep.prime_cycles
        prime = Signal(range(prime_cycles + 1))
        unit_en = Signal()
        fsm = Signal(State)
        m.d.comb += self.idle.eq(fsm == State.IDLE)

        if t.pool:
            # One synchronous read port per lane: yosys replicates the pool into block or
            # distributed RAM. The read-data registers are the output registers of the beat.
            # Tiny pools stay in flip-flops; anything larger goes to block RAM, which on the
            # iCE40 costs 8 RAMs for 8 lanes instead of thousands of LUTs of read multiplexers.
            attrs = {"ram_style": "block"} if P * B > 64 else {}
            # At most POOL_READ_PORTS read ports per memory: yosys 0.70 aborts in memory_libmap
            # on the ECP5 for a memory with 12 or more (docs/engine.md). Wider engines keep
            # identical replicas written together, which is what yosys builds anyway.
            groups = -(-L // POOL_READ_PORTS)
            pools = [Memory(shape=signed(B), depth=P, init=[], attrs=attrs) for _ in range(groups)]
            for g, mem in enumerate(pools):
                m.submodules["pool" if g == 0 else f"pool{g}"] = mem
            wports = []
            for mem in pools:
                wport = mem.write_port()          # (named by this assignment in the Verilog)
                wports.append(wport)
            rports = [pools[lane // POOL_READ_PORTS].read_port(transparent_for=()) for lane in range(L)]
            if groups > 1:
                wport = _WritePort(addr=Signal.like(wport.addr), data=Signal(signed(B)), en=Signal())
                m.d.comb += [sig for w in wports
                             for sig in (w.addr.eq(wport.addr), w.data.eq(wport.data), w.en.eq(wport.en))]
        sizes = ep.batch_sizes                     # fill sizes a step can have (P, and R or 0)
        wptr = Signal(max(p, 1))
        filled = Signal()
        full = Signal()                    # the batch being filled is the whole pool
        cnt = Signal(range(P + SCALE_LATENCY + 1))
        acc = Signal(2 * (B - 1) + p + 1)
        sq = Signal(2 * (B - 1))           # v*v of the previous fill entry (registered)
        rewrite = Signal()                 # SCALE rewrites an entry this cycle (cnt <= N)
        offset = Signal(max(p, 1))
        dprev = Signal(max(p, 1))          # CARRY: the previous step's length, mod P
        base = Signal(max(p, 1))
        rpos = Signal(range(max(P // L, 1)))   # on-the-fly: beat within the round of P values
        rom_v = Signal(ROM_MANTISSA_BITS + 1)
        sa = Signal(6)
        rem = Signal.like(self.d)
        more = Signal()                    # rem != 0, registered so a beat load waits on no compare
        lastb = Signal()                   # rem <= L
        started = Signal()
        ovalid = Signal()
        olast = Signal()
        signs = Signal(L)
        load = Signal()                    # a beat is loaded into the output registers
        m.d.comb += [self.o.valid.eq(ovalid), self.o.payload.last.eq(olast)]

        # --- the value of lane l of the beat being loaded --------------------------------
        # Sequential strategies read entry cur + c_l of the pool; cur is the step's start
        # (the offset, or 0) on the first beat, then advances per beat (docs/engine.md).
        cur = Mux(started, base, offset)
        if t.rotate:
            # on-the-fly: one more entry after every round of P values (L | P or P | L)
            rpos_now = Mux(started, rpos, 0)
            wrap = rpos_now == max(P // L, 1) - 1 if L <= P else Const(0)
            nxt_base = (cur + (L if L <= P else L // P) + wrap)[:p]
        else:
            nxt_base = (cur + L)[:p]
        if gaussian:
            m.submodules.gauss = gl = GaussianLanes(ep)
            m.d.comb += [gl.bits.eq(rnd[:len(gl.bits)]), gl.en.eq(unit_en),
                         self.o.payload.values.eq(gl.values)]
        else:
            for lane, rp in enumerate(rports):
                if t.index:
                    m.d.comb += rp.addr.eq(rnd[lane * p:(lane + 1) * p])
                else:
                    c = (lane + lane // P) % P if t.rotate and L > P else lane
                    m.d.comb += rp.addr.eq((cur + c)[:p])
                m.d.comb += rp.en.eq(load)
                z = rp.data
                if t.sign:
                    # negating an odd code flips every bit but the LSB
                    z = (z ^ Mux(signs[lane], Const((1 << B) - 2, B), 0)).as_signed()
                m.d.comb += self.o.payload.values[lane].eq(z)
            if t.sign:
                with m.If(load):
                    m.d.sync += signs.eq(rnd[:L])

        # --- adaptive scale: leading one of acc, ROM, shift ---------------------------------
        if adaptive:
            # The scale is computed once per batch over SCALE_LATENCY cycles, each one short
            # path: leading one of acc; ROM index and shift; ROM lookup.
            rom = adaptive_rom()
            e_lead = Signal(range(len(acc)))
            for i in range(len(acc)):          # last assignment wins: the highest set bit
                with m.If(acc[i]):
                    m.d.comb += e_lead.eq(i)
            e_lead_r = Signal.like(e_lead)
            idx = Signal(ROM_INDEX_BITS)
            q = Signal()
            sa_next = Signal(6)
            m.d.comb += idx.eq(((acc << ROM_INDEX_BITS) >> e_lead_r)[:ROM_INDEX_BITS])
            # (q, sa) from the leading one, tabulated per batch size (P when `full`, else R).
            # Both tables are constant vectors indexed with word_select, which the Verilog
            # backend emits as continuous assignments: as `always @*` case blocks they stay X
            # in Icarus until their index first changes.
            entries = []
            for is_full in (0, 1):
                n = P if is_full else sizes[0]
                for lead in range(1 << len(e_lead)):
                    tq, tsa = shift_params(lead, B, n.bit_length() - 1)
                    entries.append(tq | tsa << 1)
            qsa = Const(sum(v << (7 * i) for i, v in enumerate(entries)), 7 * len(entries))
            m.d.comb += Cat(q, sa_next).eq(qsa.word_select(Cat(e_lead_r, full), 7))
            idx_r = Signal.like(idx)
            q_r = Signal()
            sa_r = Signal.like(sa_next)
            rom_bits = ROM_MANTISSA_BITS + 1
            rom_sig = Const(sum(v << (rom_bits * i) for i, v in enumerate(rom[0] + rom[1])), rom_bits * 32)
            slot = Signal(max(p, 1))
            m.d.comb += slot.eq(wptr - cnt)
            # The rescale in stages: the entry read RESCALE_STAGES + 1 cycles before its
            # rewrite is multiplied by rom_v, then shifted by sa, then clamped and written.
            v_old = rports[0].data
            prod = Signal(signed(B + ROM_MANTISSA_BITS + 2))
            shifted = Signal.like(prod)
            m.d.sync += [prod.eq(v_old * rom_v), shifted.eq(prod >> sa)]
            assert RESCALE_STAGES == 2
            lim = 1 << (B - 2)
            y = Signal(signed(B))
            with m.If(shifted < -lim):
                m.d.comb += y.eq(-lim)
            with m.Elif(shifted > lim - 1):
                m.d.comb += y.eq(lim - 1)
            with m.Else():
                m.d.comb += y.eq(shifted)
            rescaled = Cat(Const(1, 1), y[:B - 1]).as_signed()

        # --- FSM ----------------------------------------------------------------------------
        first_n, next_n = ep.fill_size(False), ep.fill_size(True)
        batch = Mux(filled, next_n, first_n)                              # N of the next batch
        batch_n = Mux(full, P, sizes[0]) if sizes else 0                  # N of this batch
        adv = ~ovalid | self.o.ready
        go = self.start | self.replay
        with m.Switch(fsm):
            with m.Case(State.IDLE):
                with m.If(go):
                    m.d.sync += [rem.eq(self.d), more.eq(self.d != 0), lastb.eq(self.d <= L), started.eq(0),
                                 prime.eq(prime_cycles)]
                with m.If(self.start):
                    if t.offset is Offset.CARRY:
                        # the step starts where the previous one stopped
                        with m.If(filled):
                            m.d.sync += offset.eq(offset + dprev)
                        m.d.sync += dprev.eq(self.d[:p])
                    if not t.pool:
                        m.d.sync += fsm.eq(State.STREAM)
                    else:
                        m.d.sync += [cnt.eq(batch), acc.eq(0), sq.eq(0), full.eq(batch == P)]
                        m.d.sync += fsm.eq(Mux(batch == 0, State.STREAM, State.FILL))
                with m.Elif(self.replay):
                    if ep.stream_reads_bank:
                        m.d.comb += bank.restore.eq(1)
                    m.d.sync += fsm.eq(State.STREAM)
            if t.pool:
                with m.Case(State.FILL):
                    v = odd(rnd[:B - 1], B)
                    m.d.comb += [bank.en.eq(1), wport.addr.eq(wptr), wport.data.eq(v), wport.en.eq(1)]
                    m.d.sync += [wptr.eq(wptr + 1), cnt.eq(cnt - 1)]
                    if adaptive:
                        # in logic: the rescale's multiplier is the engine's one DSP block
                        m.d.sync += [sq.eq(mul_logic(v, v, B)), acc.eq(acc + sq)]
                    with m.If(cnt == 1):
                        m.d.sync += filled.eq(1)
                        if t.offset is Offset.RANDOM:
                            m.d.sync += offset.eq(rnd[B - 1:B - 1 + p])
                        if adaptive:
                            m.d.sync += [fsm.eq(State.SCALE), cnt.eq(batch_n + SCALE_LATENCY)]
                        else:
                            m.d.sync += fsm.eq(State.STREAM)
            if adaptive:
                with m.Case(State.SCALE):
                    # entry wptr-cnt is rewritten from the read issued RESCALE_STAGES + 1
                    # cycles before (docs/engine.md "Scale")
                    m.d.comb += [rports[0].addr.eq(slot + RESCALE_STAGES + 1), rports[0].en.eq(1)]
                    m.d.sync += cnt.eq(cnt - 1)
                    with m.If(cnt == batch_n + SCALE_LATENCY):
                        m.d.sync += acc.eq(acc + sq)               # the last entry's square
                    with m.Elif(cnt == batch_n + SCALE_LATENCY - 1):
                        m.d.sync += e_lead_r.eq(e_lead)
                    with m.Elif(cnt == batch_n + SCALE_LATENCY - 2):
                        m.d.sync += [idx_r.eq(idx), q_r.eq(q), sa_r.eq(sa_next)]
                    with m.Elif(cnt == batch_n + ROM_AT):
                        m.d.sync += [rom_v.eq(rom_sig.word_select(Cat(idx_r, q_r), rom_bits)), sa.eq(sa_r)]
                    # the rewrites (cnt = N .. 1) are flagged by a register set one cycle
                    # ahead: the write port's multiplexers wait on no magnitude compare
                    with m.If(cnt == batch_n + 1):
                        m.d.sync += rewrite.eq(1)
                    with m.If(rewrite):
                        m.d.comb += [wport.addr.eq(slot), wport.data.eq(rescaled), wport.en.eq(1)]
                        with m.If(cnt == 1):
                            m.d.sync += [rewrite.eq(0), fsm.eq(State.STREAM)]
            with m.Case(State.STREAM):
                if ep.stream_reads_bank:
                    m.d.comb += bank.snapshot.eq(~started & ~ovalid & (prime == prime_cycles))
                with m.If(prime != 0 if prime_cycles else Const(0)):
                    m.d.comb += [bank.en.eq(1), unit_en.eq(1)]
                    m.d.sync += prime.eq(prime - 1)
                with m.Elif(adv):
                    with m.If(more):
                        m.d.comb += [load.eq(1), unit_en.eq(1)]
                        if gaussian or t.sign or t.index:
                            m.d.comb += bank.en.eq(1)
                        m.d.sync += [
                            ovalid.eq(1),
                            olast.eq(lastb),
                            rem.eq(Mux(lastb, 0, rem - L)),
                            more.eq(~lastb),
                            lastb.eq(rem <= 2 * L),
                            started.eq(1),
                            base.eq(nxt_base),
                        ]
                        if t.rotate and L <= P:
                            m.d.sync += rpos.eq(Mux(wrap, 0, rpos_now + 1))
                    with m.Else():
                        m.d.sync += [ovalid.eq(0), fsm.eq(State.IDLE)]
