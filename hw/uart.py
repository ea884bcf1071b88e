"""A UART (8N1): the byte-serial host link of the board top. Cycle by cycle in docs/uart.md;
golden model :mod:`pezo.sw.golden.uart`.

amaranth-stdio on PyPI is an empty placeholder, so pezo has its own: a transmitter with a
valid/ready byte input and a receiver with a two-flip-flop synchroniser that samples each bit in
its middle and reports a missing stop bit instead of a byte.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.uart import UartParams


class Uart(wiring.Component):
    """Transmitter and receiver of one 8N1 serial line.

    Parameters
    ----------
    params : UartParams
        Clock and baud rate (``divisor`` cycles a bit).

    Attributes
    ----------
    tx : Out(1)
        The transmit line, a flip-flop (no glitches on the pin); 1 when idle.
    tx_data, tx_valid, tx_ready : In(8), In(1), Out(1)
        A byte is taken at an edge where ``tx_valid & tx_ready``; ``tx_ready`` is low for the
        ``10 * divisor`` cycles of its frame.
    rx : In(1)
        The receive line, asynchronous to the clock.
    rx_data, rx_valid : Out(8), Out(1)
        ``rx_valid`` is high for one cycle with the byte in ``rx_data`` (held until the next):
        the reader must take it then (a byte arrives at most every ``10 * divisor`` cycles).
    rx_error : Out(1)
        High for one cycle where a frame's stop bit was 0 (framing error or a break); the
        receiver then waits for the line to go high before it looks for the next start bit.
    """

    def __init__(self, params: UartParams):
        self.params = params
        super().__init__({"tx": Out(1, init=1), "tx_data": In(8), "tx_valid": In(1), "tx_ready": Out(1),
                          "rx": In(1, init=1), "rx_data": Out(8), "rx_valid": Out(1), "rx_error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        div = self.params.divisor
        count_shape = range(div)

        # Transmitter: the start bit goes out from the load; 9 shifts send the data and the
        # stop bit; the frame ends when the stop bit has lasted a whole bit.
        busy = Signal()
        t_cnt = Signal(count_shape)
        t_left = Signal(range(10))
        t_shift = Signal(9)
        m.d.comb += self.tx_ready.eq(~busy)
        with m.If(~busy):
            with m.If(self.tx_valid):
                m.d.sync += [busy.eq(1), self.tx.eq(0), t_shift.eq(Cat(self.tx_data, 1)),
                             t_left.eq(9), t_cnt.eq(div - 1)]
        with m.Elif(t_cnt != 0):
            m.d.sync += t_cnt.eq(t_cnt - 1)
        with m.Elif(t_left == 0):
            m.d.sync += busy.eq(0)
        with m.Else():
            m.d.sync += [self.tx.eq(t_shift[0]), t_shift.eq(t_shift >> 1), t_left.eq(t_left - 1),
                         t_cnt.eq(div - 1)]

        # Receiver: synchronise, wait half a bit after the start edge, then sample whole bits.
        s1, s2 = Signal(init=1), Signal(init=1)
        m.d.sync += [s1.eq(self.rx), s2.eq(s1)]
        r_cnt = Signal(count_shape)
        r_bits = Signal(range(8))
        r_shift = Signal(8)
        m.d.sync += [self.rx_valid.eq(0), self.rx_error.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~s2):
                    m.d.sync += r_cnt.eq(self.params.half - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(r_cnt != 0):
                    m.d.sync += r_cnt.eq(r_cnt - 1)
                with m.Elif(s2):                # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [r_cnt.eq(div - 1), r_bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(r_cnt != 0):
                    m.d.sync += r_cnt.eq(r_cnt - 1)
                with m.Else():
                    m.d.sync += [r_shift.eq(Cat(r_shift[1:], s2)), r_cnt.eq(div - 1), r_bits.eq(r_bits + 1)]
                    with m.If(r_bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(r_cnt != 0):
                    m.d.sync += r_cnt.eq(r_cnt - 1)
                with m.Elif(s2):
                    m.d.sync += [self.rx_data.eq(r_shift), self.rx_valid.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += self.rx_error.eq(1)
                    m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(s2):
                    m.next = "IDLE"
        return m
