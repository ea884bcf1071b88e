"""Golden model of the UART (:class:`pezo.hw.uart.Uart`): the reference, one clock edge at a
time, bit-exact and cycle-accurate; read it against docs/uart.md.

Plain integers rather than tensors: the UART moves one bit a cycle and nothing here is a lane
or a batch. :func:`line` is the other side of the wire, an ideal sender at any bit period
(fractional, to model a baud-rate mismatch), to test the receiver against the 8N1 definition
rather than against this model alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pezo.uart import UartParams

__all__ = ["Uart", "frame_bits", "line"]


def frame_bits(byte: int) -> list[int]:
    """The 10 line levels of one 8N1 frame: start 0, data LSB first, stop 1."""
    return [0, *((byte >> i) & 1 for i in range(8)), 1]


def line(data: Iterable[int], bit_cycles: float, idle: int = 0, gaps: Iterable[int] | None = None,
         phase: float = 0.0) -> list[int]:
    """Per clock cycle, the level of a line that carries ``data`` at ``bit_cycles`` clock cycles a
    bit (the receiver's ``divisor`` times 1 + the sender's rate error), sampled at each cycle.

    ``idle`` cycles of 1 come first; ``gaps`` (one per byte) adds idle bit times after each
    frame; ``phase`` in [0, 1) shifts the sender's edges against the clock by that fraction of a
    cycle. The line ends with one idle bit time.
    """
    data = list(data)
    gaps = list(gaps) if gaps is not None else [0] * len(data)
    levels: list[int] = []      # one per bit time of the sender
    for byte, gap in zip(data, gaps):
        levels += frame_bits(byte) + [1] * gap
    levels.append(1)
    total = idle + math.ceil(len(levels) * bit_cycles + phase)
    out = []
    for c in range(total):
        t = (c - idle + phase) / bit_cycles     # the sender's time, in bits
        out.append(1 if t < 0 else levels[min(int(t), len(levels) - 1)])
    return out


class Uart:
    """Golden UART, the reference.

    Parameters
    ----------
    params : UartParams

    Notes
    -----
    Inputs of :meth:`step`: ``tx_data``, ``tx_valid``, ``rx`` (absent: 0, 0 and the idle 1).
    Outputs: ``tx``, ``tx_ready``, ``rx_data``, ``rx_valid``, ``rx_error``, all as they are after
    the edge (every one a register or a function of registers only).
    """

    def __init__(self, params: UartParams):
        self.params = params
        self.div = params.divisor
        # transmitter
        self.tx, self.busy, self.t_cnt, self.t_left, self.t_shift = 1, 0, 0, 0, 0
        # receiver
        self.s1 = self.s2 = 1
        self.state, self.r_cnt, self.r_bits, self.r_shift = "IDLE", 0, 0, 0
        self.rx_data = self.rx_valid = self.rx_error = 0

    def outputs(self) -> dict[str, int]:
        return {"tx": self.tx, "tx_ready": 1 - self.busy, "rx_data": self.rx_data,
                "rx_valid": self.rx_valid, "rx_error": self.rx_error}

    def step(self, inputs: dict | None = None) -> dict[str, int]:
        """One rising edge; returns the outputs after it."""
        i = inputs or {}
        self._step_tx(int(i.get("tx_data", 0)), int(i.get("tx_valid", 0)))
        self._step_rx(int(i.get("rx", 1)))
        return self.outputs()

    def _step_tx(self, data: int, valid: int) -> None:
        if not self.busy:
            if valid:
                self.busy, self.tx, self.t_shift = 1, 0, (data & 0xFF) | 0x100
                self.t_left, self.t_cnt = 9, self.div - 1
        elif self.t_cnt:
            self.t_cnt -= 1
        elif self.t_left == 0:
            self.busy = 0
        else:
            self.tx, self.t_shift = self.t_shift & 1, self.t_shift >> 1
            self.t_left, self.t_cnt = self.t_left - 1, self.div - 1

    def _step_rx(self, rx: int) -> None:
        bit = self.s2                       # the synchroniser's output before this edge
        self.s2, self.s1 = self.s1, rx & 1
        self.rx_valid = self.rx_error = 0
        if self.state == "IDLE":
            if not bit:
                self.r_cnt, self.state = self.params.half - 1, "START"
        elif self.state == "BREAK":
            if bit:
                self.state = "IDLE"
        elif self.r_cnt:
            self.r_cnt -= 1
        elif self.state == "START":
            if bit:
                self.state = "IDLE"         # a glitch, not a start bit
            else:
                self.r_cnt, self.r_bits, self.state = self.div - 1, 0, "DATA"
        elif self.state == "DATA":
            self.r_shift = (self.r_shift >> 1) | (bit << 7)
            self.r_cnt, self.r_bits = self.div - 1, self.r_bits + 1
            if self.r_bits == 8:
                self.state = "STOP"
        elif bit:                           # STOP
            self.rx_data, self.rx_valid, self.state = self.r_shift, 1, "IDLE"
        else:
            self.rx_error, self.state = 1, "BREAK"

    def receive(self, levels: Iterable[int]) -> tuple[list[int], int]:
        """Feed a line level per cycle to the receiver: the bytes it delivers and its framing
        errors."""
        got, errors = [], 0
        for rx in levels:
            out = self.step({"rx": rx})
            if out["rx_valid"]:
                got.append(out["rx_data"])
            errors += out["rx_error"]
        return got, errors
