"""cocotb test: the board top's RTL (``BoardCore``) as a serial device for a host in another process.

Runs inside the simulator (started by :class:`pezo.sim.bridge.SimTransport` through
:func:`pezo.sim.runner.cosimulate`); imports cocotb and the standard library only. It connects
to the host's socket (``PEZO_BRIDGE`` = ``host:port``), drives every byte the host sends onto
the UART's ``rx`` line as an 8N1 frame of ``PEZO_DIVISOR`` cycles a bit, decodes the ``tx`` line
and sends each byte back. When the host closes the socket the test ends and writes to
``PEZO_REPORT`` the cycles it simulated and, per request, the cycles from its first byte on the
line to the end of its reply's stop bit (the link's own time, without the host's).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotb.utils import get_sim_time

#: Cycles the line stays idle between looks at the socket when the host has sent nothing.
POLL = 64


def _now() -> int:
    return int(get_sim_time("ns")) // 10


async def _listen(dut: Any, sock: socket.socket, div: int, counts: dict) -> None:
    reply = bytearray()
    while True:
        await FallingEdge(dut.tx)                   # a start bit
        await ClockCycles(dut.clk, div // 2)
        byte = 0
        for i in range(8):
            await ClockCycles(dut.clk, div)
            byte |= int(dut.tx.value) << i
        await ClockCycles(dut.clk, div)             # the middle of the stop bit
        counts["to_host"] += 1
        # a whole reply frame (SOF, LEN, SEQ, CMD, payload, CRC) ends the host's transaction
        reply.append(byte)
        if reply[0] != 0x50:
            reply.clear()
        elif len(reply) >= 3 and len(reply) == 7 + (reply[1] | reply[2] << 8):
            if counts["start"] is not None:
                counts["transactions"].append(_now() - counts["start"])
                counts["start"] = None
            reply.clear()
        try:
            sock.sendall(bytes([byte]))
        except OSError:                             # the host has gone; the main loop ends
            return


@cocotb.test()
async def bridge(dut: Any) -> None:
    host, port = os.environ["PEZO_BRIDGE"].rsplit(":", 1)
    div = int(os.environ["PEZO_DIVISOR"])
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setblocking(False)
    dut.rst.value = 1
    dut.rx.value = 1
    Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    counts = {"to_host": 0, "from_host": 0, "cycles": 0, "start": None, "transactions": []}
    cocotb.start_soon(_listen(dut, sock, div, counts))
    pending = bytearray()
    cycles = 0
    while True:
        try:
            data = sock.recv(1 << 16)
            if not data:
                break
            pending += data
        except BlockingIOError:
            pass
        except OSError:
            break
        if not pending:
            await ClockCycles(dut.clk, POLL)
            cycles += POLL
            continue
        byte = pending.pop(0)
        counts["from_host"] += 1
        if counts["start"] is None:
            counts["start"] = _now()
        for bit in (0, *((byte >> i) & 1 for i in range(8)), 1):
            dut.rx.value = bit
            await ClockCycles(dut.clk, div)
            cycles += div
    sock.close()
    counts["cycles"] = cycles
    counts.pop("start")
    Path(os.environ["PEZO_REPORT"]).write_text(json.dumps({"status": "pass", **counts}))
