"""UART parameters: the one object the UART's hardware (``pezo.hw.uart``) and golden model
(``pezo.sw.golden.uart``) are built from (DESIGN.md 4.0).

8N1 framing: a start bit (0), eight data bits least significant first, one stop bit (1); the
line idles at 1. A bit lasts ``divisor`` clock cycles, the platform clock over the baud rate
rounded to the nearest integer. The receiver samples each bit once, ``divisor // 2`` cycles
after the start edge it saw plus whole bits, so the whole frame must stay within half a bit of
the sender's: :data:`MAX_RATE_ERROR` bounds the rounding error of the divisor, leaving the rest
of the half bit to the other side's clock (docs/uart.md works out the margin).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PezoError

__all__ = ["MAX_RATE_ERROR", "MIN_DIVISOR", "UartParams"]

#: Largest relative difference between the baud rate asked for and clock / divisor.
MAX_RATE_ERROR = 0.01
#: Fewest clock cycles per bit: the receiver's two synchroniser stages and its half-bit wait
#: must fit in one bit.
MIN_DIVISOR = 4


@dataclass(frozen=True)
class UartParams:
    """Clock and baud rate of one UART.

    Parameters
    ----------
    clk_hz : int
        The clock the UART runs on (the board's oscillator, e.g. 12 MHz on the iCEBreaker).
    baud : int
        Bits per second on the line.
    """

    clk_hz: int
    baud: int

    def __post_init__(self) -> None:
        if self.clk_hz <= 0 or self.baud <= 0:
            raise PezoError(f"UART clock and baud rate must be positive, got {self.clk_hz} Hz and {self.baud} baud")
        if self.divisor < MIN_DIVISOR:
            raise PezoError(f"{self.baud} baud is too fast for a {self.clk_hz / 1e6:g} MHz clock: "
                            f"{self.clk_hz / self.baud:.2f} cycles a bit, the UART needs at least {MIN_DIVISOR}")
        if abs(self.rate_error) > MAX_RATE_ERROR:
            raise PezoError(f"{self.baud} baud from a {self.clk_hz / 1e6:g} MHz clock is off by "
                            f"{100 * self.rate_error:+.2f}% ({self.divisor} cycles a bit); the UART allows "
                            f"{100 * MAX_RATE_ERROR:g}%: pick a baud rate that divides the clock more evenly")

    @property
    def divisor(self) -> int:
        """Clock cycles per bit."""
        return max(1, round(self.clk_hz / self.baud))

    @property
    def rate_error(self) -> float:
        """(actual - asked) / asked of the bit rate."""
        return self.clk_hz / self.divisor / self.baud - 1

    @property
    def half(self) -> int:
        """Cycles from the start edge the receiver sees to its sample of the start bit."""
        return self.divisor // 2

    @property
    def frame_cycles(self) -> int:
        """Clock cycles the transmitter takes for one byte (start, 8 data, stop)."""
        return 10 * self.divisor
