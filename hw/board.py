"""The board top (DESIGN.md 4.6): the UART, the link's decoder and the update system.

``BoardCore`` is the whole design behind the two UART pins, a plain component (the RTL the host's
simulated transport runs in cocotb); ``BoardTop`` puts it on a board's ``amaranth-boards``
platform: the UART's pins, and LEDs for a pass running, the overflow flag and received bytes.
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from pezo.link import LinkParams
from pezo.uart import UartParams

from .link import LinkSystem
from .uart import Uart


class BoardCore(wiring.Component):
    """UART + decoder + update system.

    Attributes
    ----------
    rx : In(1)
        The UART's receive line (from the host).
    tx : Out(1)
        The UART's transmit line (to the host).
    busy, ovf, activity : Out(1)
        A pass is running; the overflow flag; a byte arrived (toggles, for an LED).
    """

    def __init__(self, link: LinkParams, uart: UartParams):
        self.link_params, self.uart_params = link, uart
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "busy": Out(1), "ovf": Out(1),
                          "activity": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = Uart(self.uart_params)
        m.submodules.link = link = LinkSystem(self.link_params)
        m.d.comb += [
            uart.rx.eq(self.rx), self.tx.eq(uart.tx),
            link.rx_data.eq(uart.rx_data), link.rx_valid.eq(uart.rx_valid), link.rx_error.eq(uart.rx_error),
            uart.tx_data.eq(link.tx_data), uart.tx_valid.eq(link.tx_valid), link.tx_ready.eq(uart.tx_ready),
            self.busy.eq(link.busy), self.ovf.eq(link.ovf),
        ]
        with m.If(uart.rx_valid):
            m.d.sync += self.activity.eq(~self.activity)
        return m


class BoardTop(Elaboratable):
    """:class:`BoardCore` on a platform's ``uart`` 0 and its first LEDs (where it has them)."""

    def __init__(self, link: LinkParams, uart: UartParams):
        self.link_params, self.uart_params = link, uart

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = BoardCore(self.link_params, self.uart_params)
        pins = platform.request("uart", 0, dir="-")
        m.submodules.rx = rx = io.Buffer("i", pins.rx)
        m.submodules.tx = tx = io.Buffer("o", pins.tx)
        m.d.comb += [core.rx.eq(rx.i), tx.o.eq(core.tx)]
        leds = [platform.request("led", i, dir="-") for i in range(3)
                if any(r.name == "led" and r.number == i for r in platform.resources.values())]
        for i, (led, sig) in enumerate(zip(leds, (core.activity, core.busy, core.ovf))):
            m.submodules[f"led{i}"] = buf = io.Buffer("o", led)
            m.d.comb += buf.o.eq(sig)
        return m


__all__ = ["BoardCore", "BoardTop"]
