"""Co-simulation of the link's decoder with its update system: a host script of frames (good,
corrupted, truncated, garbage) fed byte by byte, the UART's ``tx_ready`` at random; the golden
model's trace, and the replies it sent for each part of the script."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pezo.link import LinkParams
from pezo.sim.trace import Recorder, Trace
from pezo.sw.golden.link import LinkSystem

PORTS = ("rx_data", "rx_valid", "rx_error", "tx_ready")


def run(params: LinkParams, script: Sequence[bytes | tuple], seed: int, golden: LinkSystem | None = None,
        max_cycles: int = 1_000_000) -> tuple[Trace, list[bytes], LinkSystem]:
    """Play ``script``: each item is the bytes a host sends (a byte every 1-3 cycles), or
    ``("framing", bytes)`` to raise ``rx_error`` after those bytes (a break inside a frame). After each item the host
    waits until the decoder is back to hunting for a frame with its reply sent. Returns the
    trace, the bytes the decoder sent after each item, and the golden model."""
    golden = golden or LinkSystem(params)
    rng = random.Random(seed)
    rec = Recorder(golden.step, {p: p for p in PORTS},
                   lambda out: {"tx_data": out["tx_data"], "tx_valid": out["tx_valid"]})
    initial = rec.initial(golden.outputs())
    replies: list[bytes] = []
    cycles = 0

    def cycle(**inputs) -> None:
        nonlocal cycles, sent
        ready = int(rng.random() < 0.7)
        if golden.tx_valid and ready:
            sent.append(golden.tx_data)
        rec.cycle({**inputs, "tx_ready": ready})
        cycles += 1
        if cycles > max_cycles:
            raise RuntimeError(f"the link did not finish the script within {max_cycles} cycles")

    for item in script:
        sent: list[int] = []
        framing, data = (True, item[1]) if isinstance(item, tuple) else (False, item)
        for byte in data:
            for _ in range(rng.randrange(3)):
                cycle()
            cycle(rx_data=byte, rx_valid=1)
        if framing:
            cycle(rx_error=1)
        while not (golden.state == "HUNT" and not golden.tx_valid):
            cycle()
        replies.append(bytes(sent))
    for _ in range(4):
        cycle()
    return rec.trace(initial), replies, golden


class ModelTransport:
    """The golden decoder and update system as a :class:`pezo.host.Device` transport: the bytes a
    host writes go in one a cycle, the model runs until it is back to hunting with its reply sent,
    and the reply waits for :meth:`read`. ``fault(n, data)`` may change the ``n``-th write (flip,
    cut, drop, add garbage) and ``lose(n)`` drop the ``n``-th reply: fault injection."""

    def __init__(self, params: LinkParams, fault=None, lose=None, answer: bool = True):
        self.golden = LinkSystem(params)
        self.fault, self.lose, self.answer = fault, lose, answer
        self.writes = 0
        self.out = bytearray()
        self.limit = params.timeout + 20 * (params.rules.words + 300)

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.fault is not None:
            data = self.fault(self.writes, data)
        if not self.answer:
            return
        g, sent = self.golden, bytearray()

        def cycle(**inputs):
            if g.tx_valid:
                sent.append(g.tx_data)
            g.step({**inputs, "tx_ready": 1})

        for byte in data:
            cycle(rx_data=byte, rx_valid=1)
        for _ in range(self.limit):
            if g.state == "HUNT" and not g.tx_valid:
                break
            cycle()
        if self.lose is None or not self.lose(self.writes):
            self.out += sent

    def read(self, timeout: float) -> bytes:
        data, self.out = bytes(self.out), bytearray()
        return data

    def close(self) -> None:
        pass
