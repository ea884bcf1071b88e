"""Scan harness that lets a wide core be placed and routed on a small package.

The iCE40 UP5K in the sg48 package has 39 IOs, while cores routinely have hundreds of port bits.
For place-and-route the core is therefore wrapped in a harness with five pins:

``clk``, ``rst``
    Clock and synchronous reset of the core's ``sync`` domain (the reset is registered once,
    as it would be behind a reset synchroniser, so the reset net is FF-driven).
``sin``
    Serial input. It is shifted into a register file that drives every core input.
``cap``
    When high, the output shift registers load the captured core outputs; otherwise they shift.
``sout``
    Serial output, a pipelined XOR of the output shift registers' last bits.

Why the scan chains are split into segments of at most ``SEGMENT`` bits: yosys' ``techmap`` walks
the netlist with a recursive topological sort, and the WebAssembly build runs out of stack on
cell paths a few thousand cells long (measured: a 1500-FF chain synthesises, a 3000-FF chain traps
with "call stack exhausted"). A single chain through all port bits of a wide core gets there, so
the harness keeps its own depth near ``2 * SEGMENT``:

* Inputs: a short *head chain* ``head[0..K]`` shifts ``sin``; segment ``k`` (``k >= 1``) starts
  with ``head[k] ^ head[0]`` and then shifts. The XOR makes each segment head structurally (and
  functionally) different from the next head-chain stage, so ``opt_merge`` cannot fold the
  chains into each other and hand the core identical inputs.
* Outputs: every output bit is captured into a plain register each cycle (so the core's output
  paths end at an FF without an extra LUT), then loaded into segment shift registers whose last
  bits are combined by a pipelined XOR tree into ``sout``. Each output segment shifts in a
  different head-chain bit, so even two segments that capture identical nets stay distinct and
  cannot cancel in the XOR.

Every core output bit can reach ``sout``, so synthesis keeps all of the core's logic; the harness
itself adds only FF->FF and FF->(one LUT)->FF paths, so the critical path stays inside the core
unless the core is trivially fast.
"""

from collections.abc import Callable

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Module, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.errors import PezoError

__all__ = ["SEGMENT", "ScanHarness", "core_port_bits"]

#: Maximum length of one scan segment (bits); bounds the harness' logic depth.
SEGMENT = 64


def core_port_bits(component: wiring.Component) -> tuple[list[Value], list[Value]]:
    """Split a component's ports into flat lists of input and output values.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        The core; nested signatures and arrays are flattened.

    Returns
    -------
    inputs, outputs : tuple of list of amaranth.hdl.Value
        Port values in signature order.
    """
    inputs: list[Value] = []
    outputs: list[Value] = []
    for _path, member, value in component.signature.flatten(component):
        # Shaped members (e.g. data.View) are cast to their underlying signal.
        (inputs if member.flow == wiring.In else outputs).append(Value.cast(value))
    return inputs, outputs


def _segments(width: int) -> list[tuple[int, int]]:
    """Split ``range(width)`` into consecutive ``(start, stop)`` runs of at most SEGMENT bits."""
    return [(start, min(start + SEGMENT, width)) for start in range(0, width, SEGMENT)]


class ScanHarness(wiring.Component):
    """Wrap a core so that all of its port bits are reachable from five pins.

    Parameters
    ----------
    make_component : callable
        Zero-argument callable returning a fresh core component whose logic lives in the
        ``sync`` domain (clock plus synchronous active-high reset).

    Attributes
    ----------
    core : amaranth.lib.wiring.Component
        The wrapped core instance.
    in_bits, out_bits : int
        Total width of the core's inputs and outputs.

    Raises
    ------
    PezoError
        If ``make_component`` does not return a Component or the core has no output bits
        (nothing would survive synthesis).
    """

    clk: In(1)
    rst: In(1)
    sin: In(1)
    cap: In(1)
    sout: Out(1)

    def __init__(self, make_component: Callable[[], wiring.Component]) -> None:
        super().__init__()
        self.core = make_component()
        if not isinstance(self.core, wiring.Component):
            raise PezoError(
                f"harness: make_component() returned {type(self.core).__name__}, "
                "expected an amaranth.lib.wiring.Component")
        self._inputs, self._outputs = core_port_bits(self.core)
        self.in_bits = sum(len(v) for v in self._inputs)
        self.out_bits = sum(len(v) for v in self._outputs)
        if self.out_bits == 0:
            # Neither object will be elaborated; keep Amaranth's "created but never used"
            # warnings from burying the one-line error.
            self._MustUse__used = self.core._MustUse__used = True
            raise PezoError("harness: the core has no output ports, so synthesis would remove "
                            "all of its logic")

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.core = self.core

        # Harness registers live in a reset-less domain so they add no reset fan-out; the core's
        # `sync` domain shares the clock.
        m.domains.scan = ClockDomain("scan", reset_less=True)
        m.domains.sync = ClockDomain("sync")
        m.d.comb += [
            ClockSignal("scan").eq(self.clk),
            ClockSignal("sync").eq(self.clk),
        ]
        rst_q = Signal()
        m.d.scan += rst_q.eq(self.rst)
        m.d.comb += ResetSignal("sync").eq(rst_q)

        in_segs = _segments(self.in_bits)
        out_segs = _segments(self.out_bits)
        heads = max(len(in_segs), len(out_segs))
        head = Signal(heads + 1)
        m.d.scan += head.eq(Cat(self.sin, head[:-1]))

        if self.in_bits:
            drive = Signal(self.in_bits)
            for k, (start, stop) in enumerate(in_segs, start=1):
                seg = drive[start:stop]
                m.d.scan += seg.eq(Cat(head[k] ^ head[0], seg[:-1]))
            m.d.comb += Cat(*self._inputs).eq(drive)

        captured = Signal(self.out_bits)
        m.d.scan += captured.eq(Cat(*self._outputs))
        shift = Signal(self.out_bits)
        tails = []
        for k, (start, stop) in enumerate(out_segs, start=1):
            seg = shift[start:stop]
            with m.If(self.cap):
                m.d.scan += seg.eq(captured[start:stop])
            with m.Else():
                m.d.scan += seg.eq(Cat(seg[1:], head[k]))
            tails.append(seg[0])
        m.d.comb += self.sout.eq(self._xor_tree(m, tails))
        return m

    @staticmethod
    def _xor_tree(m: Module, bits: list[Value]) -> Value:
        """Reduce ``bits`` to one bit with registered XORs of at most four inputs (one LUT4)."""
        level = 0
        while len(bits) > 1:
            groups = -(-len(bits) // 4)
            # Balanced groups of 2..4 bits, so no stage degenerates into a plain copy.
            bounds = [len(bits) * i // groups for i in range(groups + 1)]
            reduced = Signal(groups, name=f"xor_l{level}")
            for i in range(groups):
                group = bits[bounds[i]:bounds[i + 1]]
                acc = group[0]
                for bit in group[1:]:
                    acc = acc ^ bit
                m.d.scan += reduced[i].eq(acc)
            bits = [reduced[i] for i in range(groups)]
            level += 1
        return bits[0]
