"""The host link's protocol (docs/link.md): frame layout, commands, error codes, CRC, and the
parameters object the link's hardware (``pezo.hw.link``), its golden model
(``pezo.sw.golden.link``) and the host (``pezo.host``) are all built from.

A frame, both ways: ``SOF LEN_lo LEN_hi SEQ CMD PAYLOAD[LEN] CRC_hi CRC_lo``. The CRC is
CRC-16/CCITT-FALSE (``amaranth.lib.crc.catalog.CRC16_CCITT_FALSE``, 8-bit data) over every byte
from ``LEN_lo`` to the payload's last, sent most significant byte first, so running it over the
whole frame after ``SOF`` leaves the residue 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from amaranth.lib.crc import catalog

from .errors import PezoError
from .update_rules import UpdateRules

__all__ = ["ARG_BYTES", "CRC", "Command", "Error", "Frame", "FrameReader", "LinkParams", "PROTOCOL", "SOF", "crc16", "encode"]

SOF = 0x50                  # 'P'
PROTOCOL = 1
CRC = catalog.CRC16_CCITT_FALSE(8)
#: Payload bytes the decoder keeps in registers as they arrive (the arguments of every command).
ARG_BYTES = 6
#: The reply to any bad frame carries this command code.
ERROR_CMD = 0x7F
MAGIC = b"PEZO"


class Command(IntEnum):
    IDENTIFY = 0x01         # -> identity (LinkParams.identity)
    WRITE = 0x02            # addr(2) n(1) words[n]  -> ack
    READ = 0x03             # addr(2) n(2)           -> words[n]
    SCALAR = 0x04           # code(ceil(S/8))        -> ack
    PASS = 0x05             # op(1) d(4) flags(1)    -> ovf(1) [words 0 .. ceil(d/L)-1 if flags & 1]
    STATUS = 0x06           # -> flags(1) counters(5 x 2)
    CLEAR = 0x07            # -> ack (overflow flag and counters cleared)


class Error(IntEnum):
    """Code of an error reply (its payload: code, the command byte received)."""

    CRC = 1                 # the CRC does not match (SEQ and CMD of the reply as received)
    COMMAND = 2             # unknown command
    LENGTH = 3              # payload length wrong for the command, or longer than the buffer
    RANGE = 4               # address, count or pass op out of range
    TIMEOUT = 5             # the frame stopped arriving (truncated)
    FRAMING = 6             # the UART saw a framing error (or a break) inside the frame


#: The device's counters, in the order STATUS sends them.
COUNTERS = ("frames", "crc_errors", "bad_frames", "timeouts", "framing_errors")
READBACK = 0x01             # PASS flag: stream the parameters back after the pass


def crc16(data: bytes) -> int:
    return CRC.compute(data)


def encode(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One frame."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes; a frame holds at most 65535")
    body = bytes([len(payload) & 0xFF, len(payload) >> 8, seq & 0xFF, cmd & 0xFF]) + bytes(payload)
    c = crc16(body)
    return bytes([SOF]) + body + bytes([c >> 8, c & 0xFF])


@dataclass(frozen=True)
class Frame:
    seq: int
    cmd: int
    payload: bytes


class FrameReader:
    """The host's side of resynchronisation: bytes in, whole frames with a good CRC out.

    Every ``SOF`` byte is a candidate start: the first candidate that completes with a good CRC
    is a frame, and everything before it is skipped (and counted). A candidate that claims more
    than ``max_len`` payload bytes is not a frame, so garbage cannot make the reader wait for a
    long frame while a good one sits behind it."""

    def __init__(self, max_len: int = 0xFFFF):
        self.buf = bytearray()
        self.skipped = 0
        self.max_len = max_len
        self._base = 0              # bytes dropped from the front so far
        self._bad: set[int] = set()  # candidates (absolute positions) whose CRC failed: checked once

    def _at(self, i: int) -> Frame | bool | None:
        """The frame starting at ``i``; False if there is none; None if it may yet come."""
        if len(self.buf) - i < 3 or self._base + i in self._bad:
            return None if len(self.buf) - i < 3 else False
        n = self.buf[i + 1] | self.buf[i + 2] << 8
        if n > self.max_len:
            return False
        if len(self.buf) - i < n + 7:
            return None
        body = bytes(self.buf[i + 1:i + n + 7])
        if crc16(body) != 0:
            self._bad.add(self._base + i)
            return False
        return Frame(body[2], body[3], body[4:4 + n])

    def _drop(self, n: int) -> None:
        del self.buf[:n]
        self._base += n
        self._bad = {b for b in self._bad if b >= self._base}

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        frames = []
        while True:
            starts = [i for i, b in enumerate(self.buf) if b == SOF]
            found = next(((i, f) for i in starts if (f := self._at(i))), None)
            if found is None:
                pending = next((i for i in starts if self._at(i) is None), len(self.buf))
                self.skipped += pending
                self._drop(pending)
                return frames
            i, frame = found
            frames.append(frame)
            self.skipped += i
            self._drop(i + len(frame.payload) + 7)


@dataclass(frozen=True)
class LinkParams:
    """The link of one update system.

    Parameters
    ----------
    rules : UpdateRules
        The update system behind the link (lanes, widths, depth).
    digest : str
        The configuration digest IDENTIFY reports (hex; its first 16 digits are sent).
    version : str
        The pezo version IDENTIFY reports.
    timeout : int
        Clock cycles without a byte after which a frame being received is dropped.
    buffer : int
        Bytes of the request buffer: the longest payload the device accepts.
    """

    rules: UpdateRules
    digest: str
    version: str
    timeout: int
    buffer: int = 256

    def __post_init__(self) -> None:
        if self.bytes_per_word > self.buffer - 3:
            raise PezoError(f"a parameter word of {self.bytes_per_word} bytes does not fit the link's "
                            f"{self.buffer}-byte request buffer")
        if 1 + self.rules.words * self.bytes_per_word > 0xFFFF:
            raise PezoError(f"update.depth = {self.rules.depth}: the read-back of a pass "
                            f"({self.rules.words * self.bytes_per_word} bytes) exceeds a frame's 65535")
        if self.timeout < 1:
            raise PezoError(f"link timeout must be at least one cycle, got {self.timeout}")

    @property
    def bytes_per_word(self) -> int:
        return (self.rules.lanes * self.rules.W + 7) // 8

    @property
    def scalar_bytes(self) -> int:
        return (self.rules.S + 7) // 8

    @property
    def max_write_words(self) -> int:
        return min(255, (self.buffer - 3) // self.bytes_per_word)

    def identity(self) -> bytes:
        """IDENTIFY's reply payload: magic, protocol, lanes, W, S, B, depth (4), buffer (2),
        digest (8 bytes), version (its length, then ASCII)."""
        r = self.rules
        version = self.version.encode("ascii")[:32]
        return (MAGIC + bytes([PROTOCOL, r.lanes, r.W, r.S, r.B]) + r.depth.to_bytes(4, "little")
                + self.buffer.to_bytes(2, "little") + bytes.fromhex(self.digest[:16].ljust(16, "0"))
                + bytes([len(version)]) + version)
