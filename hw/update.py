"""The fixed-point ZO update datapath and the ``pezo_update`` system around it.

* :class:`UpdateDatapath`: the parameter memory and its read-modify-write pipeline, ``lanes``
  parameters per cycle from the engine's stream.
* :class:`UpdateSystem`: engine + datapath + controller + host registers, the design a user puts
  on the FPGA (``pezo generate|sim|synth update``).

The register-level contract is docs/update.md; the golden model (``pezo.sw.golden.update``)
implements the same page, and the fixed-point rules both use are :mod:`pezo.update_rules`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pezo.hw.arith import mul_logic, round_shift
from pezo.hw.engine import Engine
from pezo.update_rules import Cmd, Op, UpdateRules

__all__ = ["UpdateDatapath", "UpdateSystem"]


class UpdateDatapath(wiring.Component):
    """Parameter memory with a read-modify-write pipeline fed by the engine's stream.

    Parameters
    ----------
    rules : UpdateRules
        The datapath's parameters object (``UpdateRules.from_config(cfg)``): formats, eps,
        depth, memory, DSP lanes and the engine whose beats it takes.

    Attributes
    ----------
    i : In(stream.Signature(values[L], last))
        The engine's beats, offered only while ``run`` is high; ``ready`` is always high (block
        RAM) or low in a cycle that writes (SPRAM). Beat ``k`` of a pass updates memory word ``k``.
    run : In(1)
        A pass is in progress: the stream owns both memory ports.
    start : In(1)
        With ``op`` and ``d``: start a pass (word pointer to 0, ``op`` latched; the lanes past
        ``d`` in the stream's ``last`` beat keep their value).
    op : In(2)
        :class:`pezo.update_rules.Op`.
    d : In(range(depth + 1))
        Pass length (``<= depth``; the system clamps it), read with ``start``.
    scalar : In(signed(S))
        The ``lr*g`` code used by ``UPDATE``.
    pending : Out(1)
        A transferred beat is still in the pipeline (not yet written).
    ovf : Out(1)
        Sticky: some sum saturated since the last ``clear`` (set one cycle after the write).
    clear : In(1)
        Clear ``ovf``.
    addr, we, wdata, re, rdata
        Host port, honoured while ``run`` is low: ``we`` writes ``wdata`` to word ``addr``;
        ``re`` reads word ``addr`` into ``rdata`` (visible after the edge). ``rdata`` is the
        memory's read register, which the pass also uses.

    Timing: a beat transferred at edge ``c`` has its word read and its products ``scalar * z``
    registered at that edge, its term registered at ``c + 1``, its sum at ``c + 2`` and its
    saturated word written at ``c + 3`` (``PIPELINE_DEPTH = 3``).
    Consecutive beats touch different words, so the pipeline needs no forwarding.
    With ``update.memory = "spram"`` the memory has one port (read and write share the
    address) and ``ready = run & ~v3``: no beat is taken in a cycle whose edge writes.
    """

    def __init__(self, rules: UpdateRules):
        self._r = r = rules
        self._dsp_lanes = r.dsp_lanes
        self._spram = r.spram
        super().__init__({
            "i": In(stream.Signature(r.engine.beat_layout)),
            "run": In(1),
            "start": In(1),
            "op": In(2),
            "d": In(range(r.depth + 1)),
            "scalar": In(signed(r.S)),
            "pending": Out(1),
            "ovf": Out(1),
            "clear": In(1),
            "addr": In(range(r.words)),
            "we": In(1),
            "wdata": In(r.lanes * r.W),
            "re": In(1),
            "rdata": Out(r.lanes * r.W),
        })

    def elaborate(self, platform):
        m = Module()
        r = self._r
        L, W, B = r.lanes, r.W, r.B

        if self._spram:
            # ram_style "huge" asks yosys for SB_SPRAM256KA; the flow drops the (zero) initial
            # contents Amaranth gives every memory, which SPRAM cannot have (build/flow.py).
            m.submodules.spram = mem = Memory(shape=r.lanes * W, depth=r.words, init=[],
                                              attrs={"ram_style": "huge"})
        else:
            m.submodules.mem = mem = Memory(shape=r.lanes * W, depth=r.words, init=[])
        rp = mem.read_port(transparent_for=())
        wp = mem.write_port()
        m.d.comb += self.rdata.eq(rp.data)

        ptr = Signal(range(r.words))
        mode = Signal(2)
        v1, v2 = Signal(), Signal()
        a1, a2 = Signal.like(ptr), Signal.like(ptr)
        z1 = Signal(data.ArrayLayout(signed(B), L))
        p_shape = signed(r.S + B + 2)
        p1 = Signal(data.ArrayLayout(p_shape, L))      # s * z, multiplied as the beat arrives
        m1, m2 = Signal(L), Signal(L)
        # SPRAM has one port: a beat is read in the cycle it arrives and written three cycles
        # later, so no beat is taken while a write is due (v3).
        v3 = Signal()
        a3 = Signal.like(ptr)
        # (the engine shows a beat only during a pass, so `ready` need not wait on `run`: one
        # input less on the path into the engine's enables)
        ready = ~v3 if self._spram else Const(1)
        m.d.comb += [self.pending.eq(v1 | v2 | v3), self.i.ready.eq(ready)]

        accept = self.i.valid & self.i.ready
        # The product is the long path (a Booth tree or a DSP): it has the stage from the
        # engine's output registers to p1 to itself, and its rounding is in the next one.
        # With +-1 codes there is no product: the term is a pass constant, negated per lane.
        prods = []
        for lane in range(0 if r.unit else L):
            z, s = self.i.payload.values[lane], self.scalar
            prods.append((z * s if lane < self._dsp_lanes else mul_logic(s, z, B)).as_signed())
        read_en = accept | (self.re & ~self.run)
        if self._spram:
            # One address for both ports, which yosys merges into SPRAM's single port. A read
            # and a write never meet in one cycle (ready is low while v3; the host issues one
            # command per cycle), so masking the read enable with the write enable changes
            # nothing, but it shows yosys that SPRAM's "no change on write" is enough.
            spram_addr = Signal.like(ptr)
            m.d.comb += [spram_addr.eq(Mux(v3, a3, Mux(self.run, ptr, self.addr))),
                         rp.addr.eq(spram_addr), rp.en.eq(read_en & ~wp.en)]
        else:
            m.d.comb += [
                rp.addr.eq(Mux(self.run, ptr, self.addr)),
                rp.en.eq(read_en),
            ]
        with m.If(self.start):
            m.d.sync += [ptr.eq(0), mode.eq(self.op)]
        m.d.sync += v1.eq(accept)
        with m.If(accept):
            m.d.sync += [
                ptr.eq(ptr + 1),
                a1.eq(ptr),
                z1.eq(self.i.payload.values),
                *(p1[lane].eq(prods[lane]) for lane in range(len(prods))),
            ]
        if L & (L - 1) == 0:
            # Only the pass's last beat (the stream's `last`) can be partial: its lanes below
            # ((d - 1) mod L) + 1 are written, a mask latched at start. No count of d.
            sh = L.bit_length() - 1
            lastmask = Signal(L)
            with m.If(self.start):
                m.d.sync += lastmask.eq(Cat((self.d - 1)[:sh] >= lane if sh else Const(1) for lane in range(L)))
            with m.If(accept):
                m.d.sync += m1.eq(Mux(self.i.payload.last, lastmask, (1 << L) - 1))
        else:
            rem = Signal(range(r.depth + 1))             # parameters still to come
            with m.If(self.start):
                m.d.sync += rem.eq(self.d)
            with m.If(accept):
                m.d.sync += [rem.eq(Mux(rem > L, rem - L, 0)), m1.eq(Cat(rem > lane for lane in range(L)))]

        # Stage 1 -> 2: the word read for beat k arrives; register it with each lane's term as
        # x and a subtract flag: theta - x folds into the adder as ~x + 1 (no negation adder).
        th2 = Signal(data.ArrayLayout(signed(W), L))
        m.d.sync += [v2.eq(v1), a2.eq(a1), m2.eq(m1), th2.eq(rp.data)]
        sub = (mode == Op.MINUS2) | (mode == Op.UPDATE)
        if r.unit:
            # z = +-1: one magnitude for every lane of the pass (delta, 2 delta, or the scalar
            # rounded once), subtracted where the op subtracts xor the lane's z is -1.
            x_shape = signed(max(r.S - r.product_shift, 2 + max(r.delta_shift, 0)) + 2)
            mag = Signal(x_shape)
            neg2 = Signal(L)
            m.d.sync += neg2.eq(Cat(z1[lane][B - 1] ^ sub for lane in range(L)))
            with m.Switch(mode):
                with m.Case(Op.PLUS, Op.RESTORE):
                    m.d.sync += mag.eq(r.delta(1))
                with m.Case(Op.MINUS2):
                    m.d.sync += mag.eq(2 * r.delta(1))
                with m.Case(Op.UPDATE):
                    m.d.sync += mag.eq(round_shift(self.scalar, r.product_shift))
            terms = [(mag, neg2[lane]) for lane in range(L)]
        else:
            x_shape = signed(max(r.S + B - r.product_shift, B + max(r.delta_shift, 0)) + 2)
            x2 = Signal(data.ArrayLayout(x_shape, L))
            sub2 = Signal()
            m.d.sync += sub2.eq(sub)
            for lane in range(L):
                z = z1[lane]
                delta = round_shift(z, -r.delta_shift)
                with m.Switch(mode):
                    with m.Case(Op.PLUS, Op.RESTORE):
                        m.d.sync += x2[lane].eq(delta)
                    with m.Case(Op.MINUS2):
                        m.d.sync += x2[lane].eq(delta << 1)
                    with m.Case(Op.UPDATE):
                        m.d.sync += x2[lane].eq(round_shift(p1[lane], r.product_shift))
            terms = [(x2[lane], sub2) for lane in range(L)]

        # Stage 2 -> 3: the add or subtract, registered (masked lanes keep theta).
        sums = []
        for lane, (x, neg) in enumerate(terms):
            total = Signal(signed(max(W, len(x)) + 1), name=f"sum{lane}")
            flip = Mux(neg, ~x, x)
            m.d.sync += total.eq(Mux(m2[lane], th2[lane] + flip + neg, th2[lane]))
            sums.append(total)
        m.d.sync += [v3.eq(v2), a3.eq(a2)]

        # Stage 3: saturate, write back. The adder and the saturation were one stage before:
        # the carry chain, the compares and the write-data multiplexer were the UP5K's
        # critical path (docs/results/engine-options.md).
        new, over = [], []
        for total in sums:
            hi, lo = total > r.hi, total < r.lo
            new.append(Mux(hi, Const(r.hi, signed(W)), Mux(lo, Const(r.lo, signed(W)), total[:W]))[:W])
            over.append(hi | lo)
        m.d.comb += [
            wp.addr.eq(spram_addr if self._spram else Mux(v3, a3, self.addr)),
            wp.data.eq(Mux(v3, Cat(*new), self.wdata)),
            wp.en.eq(v3 | (self.we & ~self.run)),
        ]
        # Registered once more before the sticky flag: the OR over every lane's saturation
        # after the adders was the UP5K's critical path. A pass ends only after this drains.
        over_r = Signal()
        m.d.sync += over_r.eq(v3 & Cat(*over).any())
        with m.If(self.clear):
            m.d.sync += self.ovf.eq(0)
        with m.Elif(over_r):
            m.d.sync += self.ovf.eq(1)
        return m


class UpdateSystem(wiring.Component):
    """Engine + update datapath + controller + host registers (top module ``pezo_update``).

    Parameters
    ----------
    rules : UpdateRules
        The system's parameters object (``UpdateRules.from_config(cfg)``), with its engine.

    Attributes
    ----------
    cmd : In(3)
        :class:`pezo.update_rules.Cmd`, acted on only while ``busy`` is low (one per cycle).
    op : In(2)
        The pass of a ``PASS`` command (:class:`pezo.update_rules.Op`); ``PLUS`` starts a new
        engine step (the engine's ``start``), the others replay it.
    addr : In(range(depth // lanes))
        Word address of ``WRITE``/``READ``.
    wdata : In(lanes * W)
        Word of ``WRITE`` (lane ``l`` at bits ``l*W``); its low S bits are the ``SCALAR`` code.
    d : In(range(depth + 1))
        Pass length of ``PASS``, clamped to ``depth``; the same for the four passes of a step.
    stall : In(1)
        Test hook: blocks the stream between engine and datapath (``valid`` and ``ready`` both
        forced low) in the cycles it is high, as back-pressure would. Tie low in use.
    rdata : Out(lanes * W)
        Word read by the last ``READ`` (the memory's read register).
    busy : Out(1)
        A pass is running.
    done : Out(1)
        High for one cycle after a pass has completed (its last word written).
    ovf : Out(1)
        Sticky saturation flag; cleared by ``CLEAR``.
    """

    def __init__(self, rules: UpdateRules):
        self._r = r = rules
        super().__init__({
            "cmd": In(3),
            "op": In(2),
            "addr": In(range(r.words)),
            "wdata": In(r.lanes * r.W),
            "d": In(range(r.depth + 1)),
            "stall": In(1),
            "rdata": Out(r.lanes * r.W),
            "busy": Out(1),
            "done": Out(1),
            "ovf": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        r = self._r
        m.submodules.engine = eng = Engine(r.engine)
        m.submodules.datapath = dp = UpdateDatapath(r)

        running = Signal()
        scalar = Signal(signed(r.S))
        idle = ~running
        cmd = Signal(3)
        m.d.comb += cmd.eq(Mux(idle, self.cmd, Cmd.NOP))
        d_eff = Mux(self.d > r.depth, r.depth, self.d)
        is_pass = cmd == Cmd.PASS
        # Engine and datapath receive the pass one cycle after the command, from registers:
        # decoding the command into the engine's start/replay and on into the bank's enables,
        # and clamping d into the datapath's lane mask, were the system's critical paths
        # (docs/results/engine-options.md).
        go_start, go_replay = Signal(), Signal()
        go_d = Signal.like(self.d)
        go_op = Signal.like(self.op)
        m.d.sync += [go_start.eq(is_pass & (self.op == Op.PLUS)), go_replay.eq(is_pass & (self.op != Op.PLUS)),
                     go_d.eq(d_eff), go_op.eq(self.op)]

        m.d.comb += [
            # the stream between engine and datapath, with the test stall
            dp.i.valid.eq(eng.o.valid & ~self.stall),
            dp.i.payload.eq(eng.o.payload),
            eng.o.ready.eq(dp.i.ready & ~self.stall),
            eng.start.eq(go_start),
            eng.replay.eq(go_replay),
            eng.d.eq(go_d),
            dp.run.eq(running),
            dp.start.eq(go_start | go_replay),
            dp.op.eq(go_op),
            dp.d.eq(go_d),
            dp.scalar.eq(scalar),
            dp.clear.eq(cmd == Cmd.CLEAR),
            dp.addr.eq(self.addr),
            dp.we.eq(cmd == Cmd.WRITE),
            dp.wdata.eq(self.wdata),
            dp.re.eq(cmd == Cmd.READ),
            self.rdata.eq(dp.rdata),
            self.busy.eq(running),
            self.ovf.eq(dp.ovf),
        ]
        with m.If(cmd == Cmd.SCALAR):
            m.d.sync += scalar.eq(self.wdata[:r.S])
        m.d.sync += self.done.eq(0)
        with m.If(is_pass):
            m.d.sync += running.eq(1)
        # The engine leaves IDLE at the edge after the PASS command, so in the pass it is idle
        # again only once it has streamed every beat; then the pipeline drains.
        with m.If(running & eng.idle & ~dp.pending & ~go_start & ~go_replay):
            m.d.sync += [running.eq(0), self.done.eq(1)]
        return m
