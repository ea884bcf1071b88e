"""The host's side of the link (docs/link.md): one API over any byte transport.

:class:`Device` numbers every request, waits for the reply with its sequence number, resends the
same frame when the reply does not come in time or the device reports a damaged frame (CRC,
timeout, framing), and fails in one line when retries run out or the device refuses a request.
A transport is anything with ``write(bytes)``, ``read(timeout) -> bytes`` and ``close()``:
:class:`SerialTransport` for a board on a serial port, ``pezo.sim.bridge`` for the board top's
RTL in a simulator, ``pezo.sim.link.ModelTransport`` for the golden model.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Protocol

from .errors import PezoError
from .fixed import pack_lanes, unpack_lanes
from .link import COUNTERS, ERROR_CMD, MAGIC, Command, Error, Frame, FrameReader, LinkParams, encode
from .update_rules import Op

__all__ = ["Device", "DeviceInfo", "SerialTransport", "Transport"]

#: Error replies that mean the request was damaged on the way: resend it.
_RETRY = {Error.CRC, Error.TIMEOUT, Error.FRAMING}


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, timeout: float) -> bytes: ...
    def close(self) -> None: ...


class SerialTransport:
    """A serial port (pyserial), 8N1."""

    def __init__(self, port: str, baud: int):
        import serial

        try:
            self.port = serial.Serial(port, baud, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PezoError(f"cannot open the serial port {port}: {str(exc).splitlines()[0]}") from None
        self.name = port

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def read(self, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        while True:
            got = self.port.read(self.port.in_waiting or 1)
            if got or time.monotonic() >= end:
                return got
            time.sleep(0.0005)

    def close(self) -> None:
        self.port.close()


@dataclass(frozen=True)
class DeviceInfo:
    protocol: int
    lanes: int
    W: int
    S: int
    B: int
    depth: int
    buffer: int
    digest: str
    version: str


class Device:
    """A pezo board top behind a transport.

    Parameters
    ----------
    transport : Transport
    params : LinkParams
        What the host expects the device to be (its rules and configuration digest).
    timeout : float
        Seconds to wait for a reply before resending.
    retries : int
        Resends of one request before giving up.
    where : str
        The device's name in messages (the port).
    """

    def __init__(self, transport: Transport, params: LinkParams, timeout: float = 1.0, retries: int = 3,
                 where: str = "the device"):
        self.t, self.p, self.timeout, self.retries, self.where = transport, params, timeout, retries, where
        self.seq = 0
        self.resent = 0
        r = params.rules
        self.lanes, self.W, self.bpw = r.lanes, r.W, params.bytes_per_word
        self._reader = FrameReader(max_len=max(len(params.identity()), 1 + r.words * self.bpw))

    # -- requests ---------------------------------------------------------------------------

    def request(self, cmd: int, payload: bytes = b"") -> bytes:
        """Send one request and return its reply's payload (resending as the class says)."""
        self.seq = (self.seq + 1) & 0xFF
        frame = encode(self.seq, cmd, payload)
        for attempt in range(self.retries + 1):
            if attempt:
                self.resent += 1
            self.t.write(frame)
            reply = self._await(self.seq)
            if reply is None:
                continue
            if reply.cmd == ERROR_CMD:
                code = reply.payload[0] if reply.payload else 0
                if code in _RETRY:
                    continue
                name = Error(code).name if code in Error._value2member_map_ else str(code)
                raise PezoError(f"{self.where} refused {Command(cmd).name}: error {name}")
            if reply.cmd != cmd:
                continue
            return reply.payload
        raise PezoError(f"{self.where} did not answer {Command(cmd).name} after {self.retries + 1} tries "
                        f"({self.timeout:g} s each)")

    def _await(self, seq: int) -> Frame | None:
        end = time.monotonic() + self.timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            for f in self._reader.feed(self.t.read(min(left, 0.05))):
                if f.seq == seq:
                    return f

    # -- the API ----------------------------------------------------------------------------

    def identify(self, check: bool = True) -> DeviceInfo:
        """What the device is; with ``check``, a device built from another configuration is
        refused in one line."""
        p = self.request(Command.IDENTIFY)
        if p[:4] != MAGIC or len(p) < 24:
            raise PezoError(f"{self.where} is not a pezo device (its IDENTIFY reply starts {p[:8]!r})")
        n = p[23]
        info = DeviceInfo(p[4], p[5], p[6], p[7], p[8], int.from_bytes(p[9:13], "little"),
                          int.from_bytes(p[13:15], "little"), p[15:23].hex(), p[24:24 + n].decode("ascii", "replace"))
        want = self.p.digest[:16]
        if check and info.digest != want:
            raise PezoError(f"{self.where} runs configuration {info.digest} (pezo {info.version}); this host "
                            f"expects {want}: build and program the board with the same --config")
        return info

    def _words(self, codes) -> bytes:
        codes = [int(c) for c in codes]
        codes += [0] * (-len(codes) % self.lanes)
        return b"".join(pack_lanes(codes[w:w + self.lanes], self.W).to_bytes(self.bpw, "little")
                        for w in range(0, len(codes), self.lanes))

    def _codes(self, data: bytes, n: int) -> list[int]:
        out = []
        for w in range(len(data) // self.bpw):
            out += unpack_lanes(int.from_bytes(data[w * self.bpw:(w + 1) * self.bpw], "little"), self.lanes, self.W)
        return out[:n]

    def load(self, codes, at: int = 0) -> None:
        """Write parameter codes from parameter ``at`` (a multiple of the lanes) on."""
        if at % self.lanes:
            raise ValueError(f"load at {at}: not a multiple of {self.lanes} lanes")
        data = self._words(codes)
        per = self.p.max_write_words * self.bpw
        for off in range(0, len(data), per):
            chunk = data[off:off + per]
            self.request(Command.WRITE, struct.pack("<HB", at // self.lanes + off // self.bpw,
                                                    len(chunk) // self.bpw) + chunk)

    def read(self, n: int, at: int = 0) -> list[int]:
        """``n`` parameter codes from parameter ``at`` (a multiple of the lanes) on."""
        words = -(-n // self.lanes)
        per = 0xFFFF // self.bpw
        data = b""
        for w in range(0, words, per):
            data += self.request(Command.READ, struct.pack("<HH", at // self.lanes + w, min(per, words - w)))
        return self._codes(data, n)

    def run_pass(self, op: Op, d: int, readback: bool = False) -> tuple[bool, list[int] | None]:
        """One pass over ``d`` parameters; the overflow flag and, with ``readback``, theta[:d]."""
        p = self.request(Command.PASS, struct.pack("<BIB", int(op), d, int(readback)))
        return bool(p[0] & 1), (self._codes(p[1:], d) if readback else None)

    def scalar(self, code: int) -> None:
        n = self.p.scalar_bytes
        self.request(Command.SCALAR, (int(code) & ((1 << 8 * n) - 1)).to_bytes(n, "little"))

    def status(self) -> dict:
        p = self.request(Command.STATUS)
        return {"busy": bool(p[0] & 1), "overflow": bool(p[0] & 2),
                **dict(zip(COUNTERS, struct.unpack(f"<{len(COUNTERS)}H", p[1:1 + 2 * len(COUNTERS)])))}

    def clear(self) -> None:
        self.request(Command.CLEAR)

    def close(self) -> None:
        self.t.close()
