"""Co-simulation of the UART: random bytes to send with random stalls, and a receive line from an
ideal sender at a given rate error, with a glitch and a break spliced in; golden trace."""

from __future__ import annotations

import random

from pezo.sim.trace import Recorder, Trace
from pezo.sw.golden.uart import Uart, line
from pezo.uart import UartParams


def rx_line(params: UartParams, n_bytes: int, seed: int, rate_error: float = 0.0) -> tuple[list[int], list[int]]:
    """A receive line: ``n_bytes`` random bytes from a sender ``rate_error`` faster (+) or
    slower (-) than the receiver, with random gaps and phase; then a one-cycle glitch on the
    idle line (not a start bit), a break (0 for three frames: a framing error) and two more
    bytes. Returns the levels and the bytes a correct receiver delivers."""
    rng = random.Random(seed)
    data = [rng.randrange(256) for _ in range(n_bytes)]
    bit = params.divisor / (1 + rate_error)         # the sender's bit, in the receiver's cycles
    levels = line(data, bit, idle=rng.randrange(3 * params.divisor), gaps=[rng.choice((0, 0, 1, 3)) for _ in data],
                  phase=rng.random())
    tail = [rng.randrange(256) for _ in range(2)]
    levels += [1] * (2 * params.divisor) + [0] + [1] * (2 * params.divisor)       # glitch
    levels += [0] * (30 * params.divisor) + [1] * (2 * params.divisor)            # break
    levels += line(tail, bit, phase=rng.random())
    return levels, data + tail


def trace(params: UartParams, n_bytes: int, seed: int, rate_error: float = 0.0,
          golden: Uart | None = None) -> Trace:
    """Stimulus plus the golden model's outputs, one ``step`` per cycle: the receiver gets
    :func:`rx_line` of ``n_bytes`` and two more frames of idle line; meanwhile the transmitter
    gets a random byte whenever a coin says so (taken where it is ready)."""
    golden = golden or Uart(params)
    rng = random.Random(seed)
    rx, _ = rx_line(params, n_bytes, seed, rate_error)
    rx += [1] * (2 * params.frame_cycles)
    rec = Recorder(golden.step, {"tx_data": "tx_data", "tx_valid": "tx_valid", "rx": "rx"},
                   lambda out: dict(out))
    initial = rec.initial(golden.outputs())
    for level in rx:
        rec.cycle({"tx_data": rng.randrange(256), "tx_valid": int(rng.random() < 0.3), "rx": level})
    return rec.trace(initial)
