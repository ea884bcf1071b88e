"""Golden model of the link's decoder with its update system (:class:`pezo.hw.link.LinkSystem`):
the reference, one clock edge at a time; read it against docs/link.md ("The decoder, cycle by
cycle").

Plain integers for the decoder (a byte a cycle at most); the update system is its own golden
model, :class:`pezo.sw.golden.update.Update`. The CRC registers are modelled by the bytes they
have taken: the decoder only looks at the receive CRC's residue, two cycles after the frame's
last byte, and sends the transmit CRC after the reply's last payload byte.
"""

from __future__ import annotations

from pezo.link import ARG_BYTES, COUNTERS, ERROR_CMD, READBACK, SOF, Command, Error, LinkParams, crc16
from pezo.update_rules import Cmd

from .update import Update

__all__ = ["LinkSystem"]


class LinkSystem:
    """Golden decoder + update system.

    Notes
    -----
    Inputs of :meth:`step`: ``rx_data``, ``rx_valid``, ``rx_error``, ``tx_ready`` (absent: 0).
    Outputs: ``tx_data``, ``tx_valid`` (registers). :attr:`system` is the update system's model
    (its ``theta`` the parameters), :attr:`counters` the STATUS counters.
    """

    def __init__(self, params: LinkParams):
        self.p, self.r = params, params.rules
        self.system = Update(self.r)
        self.sys_out = self.system.outputs()
        self.ident = params.identity()
        self.state = "HUNT"
        self.buf = [0] * params.buffer
        self.rd = 0                         # the buffer's read register
        self.rx_bytes: list[int] = []       # what the receive CRC has taken since SOF
        self.tx_bytes: list[int] = []       # what the transmit CRC has taken since the reply began
        self.crc_data = self.crc_feed = 0
        self.length = self.seq = self.cmd = self.hcnt = self.pcnt = self.arg = self.tmo = 0
        self.last_seq = self.last_pass = 0
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.base = self.nwords = self.widx = self.bidx = self.word = 0
        self.d_e = self.acc = self.readback = 0
        self.rkind = self.rcmd = self.rlen = self.tcnt = self.ecode = self.phase = 0
        self.tword = self.tleft = 0
        self.u_cmd, self.o_op, self.o_addr, self.o_wdata, self.o_d = Cmd.NOP, 0, 0, 0, 0
        self.tx_data = self.tx_valid = 0

    def outputs(self) -> dict[str, int]:
        return {"tx_data": self.tx_data, "tx_valid": self.tx_valid}

    def step(self, inputs: dict | None = None) -> dict[str, int]:
        i = inputs or {}
        drive = {"cmd": self.u_cmd, "op": self.o_op, "addr": self.o_addr, "wdata": self.o_wdata, "d": self.o_d}
        self._edge(int(i.get("rx_data", 0)), int(i.get("rx_valid", 0)), int(i.get("rx_error", 0)),
                   int(i.get("tx_ready", 0)), self.sys_out)
        self.sys_out = self.system.step(drive)
        return self.outputs()

    # -- the decoder's edge --------------------------------------------------------------------

    def _bump(self, name: str) -> None:
        self.counters[name] = min(0xFFFF, self.counters[name] + 1)

    def _error(self, code: int) -> None:
        self.ecode, self.rkind, self.rlen, self.rcmd, self.next = code, 1, 2, ERROR_CMD, "REPLY"

    def _bad(self, code: int) -> int:
        """A frame the command rules refuse; no command for the update system."""
        self._bump("bad_frames")
        self._error(code)
        return Cmd.NOP

    def _receiving(self, rx: int, valid: int, error: int, on_byte) -> None:
        if error:
            self._bump("framing_errors")
            self._error(Error.FRAMING)
        elif valid:
            self.tmo, self.crc_data = 0, rx
            on_byte()
        elif self.tmo == self.p.timeout - 1:
            self._bump("timeouts")
            self._error(Error.TIMEOUT)
        else:
            self.tmo += 1

    def _edge(self, rx: int, valid: int, error: int, tx_ready: int, so: dict) -> None:
        p, r = self.p, self.r
        bpw = p.bytes_per_word
        st = self.state
        self.next = st
        # registers read before this edge's updates
        feed, data = self.crc_feed, self.crc_data
        u_cmd = Cmd.NOP
        rd_addr, write = 0, None
        self.crc_feed = 0
        start_rx = start_tx = False
        tx_feed = None

        if st == "HUNT":
            start_rx = True
            if error:
                self._bump("framing_errors")
            elif valid and rx == SOF:
                self.hcnt = self.tmo = self.seq = self.cmd = 0
                self.next = "HEADER"
        elif st == "HEADER":
            def header():
                h = self.hcnt
                self.crc_feed, self.hcnt, self.pcnt = 1, (h + 1) % 4, 0
                if h == 0:
                    self.length = (self.length & 0xFF00) | rx
                elif h == 1:
                    self.length = (self.length & 0xFF) | rx << 8
                elif h == 2:
                    self.seq = rx
                else:
                    self.cmd = rx
                    if self.length > p.buffer:
                        self._bad(Error.LENGTH)
                    elif self.length == 0:
                        self.next = "CRC"
                    else:
                        self.next = "PAYLOAD"
            self._receiving(rx, valid, error, header)
        elif st == "PAYLOAD":
            def payload():
                nonlocal write
                c = self.pcnt
                self.crc_feed, self.pcnt = 1, (c + 1) & 0xFFFF
                write = (c % p.buffer, rx)
                if c < ARG_BYTES:
                    self.arg = (self.arg & ~(0xFF << 8 * c)) | rx << 8 * c
                if c + 1 == self.length:
                    self.next = "CRC"
            self._receiving(rx, valid, error, payload)
        elif st == "CRC":
            def crc_byte():
                second = self.hcnt == 1
                self.crc_feed, self.hcnt = 1, (self.hcnt + 1) % 4
                if second:
                    self.next = "SETTLE"
            self._receiving(rx, valid, error, crc_byte)
        elif st == "SETTLE":
            self.next = "CHECK"
        elif st == "CHECK":
            u_cmd = self._check(so)
        elif st == "W_LOAD":
            rd_addr = (3 + self.widx * bpw + self.bidx) % p.buffer
            if self.bidx:
                self.word = (self.word >> 8) | self.rd << (8 * bpw - 8)
            if self.bidx == bpw:
                self.next = "W_ISSUE"
            else:
                self.bidx += 1
        elif st == "W_ISSUE":
            u_cmd, self.o_addr, self.o_wdata = Cmd.WRITE, (self.base + self.widx) % r.words, self.word & ((1 << r.lanes * r.W) - 1)
            self.widx, self.bidx = self.widx + 1, 0
            self.next = "REPLY" if self.widx == self.nwords else "W_LOAD"
        elif st == "P_ISSUED":
            self.next = "P_WAIT"
        elif st == "P_WAIT":
            if not so["busy"]:
                self.next = "P_COUNT"
        elif st == "P_COUNT":
            if self.readback and self.acc < self.d_e:
                self.acc, self.nwords = self.acc + r.lanes, self.nwords + 1
            else:
                self.rlen = (1 + self.nwords * bpw) & 0xFFFF
                self.next = "REPLY"
        elif st == "REPLY":
            self.phase = self.tcnt = self.widx = self.tleft = 0
            start_tx = True
            self.next = "T_LOAD"
        elif st == "T_LOAD":
            in_words = self.phase == 5 and self.tleft == 0 and (
                self.rkind == 4 or (self.rkind == 5 and self.tcnt != 0))
            if in_words:
                u_cmd, self.o_addr = Cmd.READ, (self.base + self.widx) % r.words
                self.widx += 1
                self.next = "T_FETCH"
            else:
                self.tx_data, self.tx_valid = self._byte(so), 1
                self.next = "T_SEND"
        elif st == "T_FETCH":
            self.next = "T_LATCH"
        elif st == "T_LATCH":
            self.tword, self.tleft = so["rdata"], bpw
            self.next = "T_LOAD"
        elif st == "T_SEND":
            if tx_ready:
                self.tx_valid = 0
                if 0 < self.phase < 6:
                    tx_feed = self.tx_data
                if self.phase == 5:
                    self.tcnt = (self.tcnt + 1) & 0xFFFF
                    if self.tleft:
                        self.tword, self.tleft = self.tword >> 8, self.tleft - 1
                    if self.tcnt == self.rlen:
                        self.phase = 6
                    self.next = "T_LOAD"
                elif self.phase == 7:
                    self.next = "HUNT"
                else:
                    self.phase = 6 if self.phase == 4 and self.rlen == 0 else self.phase + 1
                    self.next = "T_LOAD"

        # the memories and CRC registers at this edge
        self.rd = self.buf[rd_addr]
        if write is not None:
            self.buf[write[0]] = write[1]
        if start_rx:
            self.rx_bytes = []
        elif feed:
            self.rx_bytes.append(data)
        if start_tx:
            self.tx_bytes = []
        elif tx_feed is not None:
            self.tx_bytes.append(tx_feed)
        self.u_cmd = u_cmd
        self.state = self.next

    def _check(self, so: dict) -> int:
        """The CHECK state: the CRC, then the command's length and range; returns the update
        system's command for the next cycle."""
        p, r, bpw = self.p, self.r, self.p.bytes_per_word
        if crc16(bytes(self.rx_bytes)) != 0:
            self._bump("crc_errors")
            self._error(Error.CRC)
            return Cmd.NOP
        cmd, length, arg = self.cmd, self.length, self.arg
        retry = self.last_pass and self.seq == self.last_seq
        self.last_seq, self.last_pass = self.seq, int(cmd == Command.PASS)
        self.rcmd, self.rkind, self.rlen = cmd, 0, 0
        a_arg, n_arg, n16 = arg & 0xFFFF, (arg >> 16) & 0xFF, (arg >> 16) & 0xFFFF

        self.next = "REPLY"
        if cmd in (Command.IDENTIFY, Command.STATUS, Command.CLEAR):
            if length != 0:
                return self._bad(Error.LENGTH)
            if cmd == Command.IDENTIFY:
                self._bump("frames")
                self.rkind, self.rlen = 2, len(self.ident)
                return Cmd.NOP
            if cmd == Command.STATUS:
                self._bump("frames")
                self.rkind, self.rlen = 3, 1 + 2 * len(COUNTERS)
                return Cmd.NOP
            self.counters = dict.fromkeys(COUNTERS, 0)
            return Cmd.CLEAR
        if cmd == Command.WRITE:
            if n_arg == 0 or length != 3 + n_arg * bpw:
                return self._bad(Error.LENGTH)
            if a_arg + n_arg > r.words:
                return self._bad(Error.RANGE)
            self._bump("frames")
            self.base, self.nwords, self.widx, self.bidx = a_arg, n_arg, 0, 0
            self.next = "W_LOAD"
            return Cmd.NOP
        if cmd == Command.READ:
            if length != 4:
                return self._bad(Error.LENGTH)
            if n16 == 0 or a_arg + n16 > r.words or n16 > 0xFFFF // bpw:
                return self._bad(Error.RANGE)
            self._bump("frames")
            self.base, self.nwords, self.rkind, self.rlen = a_arg, n16, 4, (n16 * bpw) & 0xFFFF
            return Cmd.NOP
        if cmd == Command.SCALAR:
            if length != p.scalar_bytes:
                return self._bad(Error.LENGTH)
            self._bump("frames")
            self.o_wdata = arg & ((1 << r.S) - 1)
            return Cmd.SCALAR
        if cmd == Command.PASS:
            if length != 6:
                return self._bad(Error.LENGTH)
            if arg & 0xFF > 3:
                return self._bad(Error.RANGE)
            self._bump("frames")
            d32 = (arg >> 8) & 0xFFFFFFFF
            self.d_e = min(d32, r.depth)
            self.readback = int(bool((arg >> 40) & READBACK))
            self.base = self.nwords = self.acc = 0
            self.rkind = 5
            if retry:
                self.next = "P_COUNT"
                return Cmd.NOP
            self.o_op, self.o_d = arg & 3, self.d_e
            self.next = "P_ISSUED"
            return Cmd.PASS
        return self._bad(Error.COMMAND)

    def _byte(self, so: dict) -> int:
        """The byte T_LOAD hands to the UART."""
        ph = self.phase
        if ph == 0:
            return SOF
        if ph in (1, 2):
            return (self.rlen >> 8 * (ph - 1)) & 0xFF
        if ph == 3:
            return self.seq
        if ph == 4:
            return self.rcmd
        if ph in (6, 7):
            c = crc16(bytes(self.tx_bytes))
            return c >> 8 if ph == 6 else c & 0xFF
        t, k = self.tcnt, self.rkind
        if k == 1:
            return self.ecode if t == 0 else self.cmd
        if k == 2:
            return self.ident[t] if t < len(self.ident) else 0
        if k == 3:
            status = [so["busy"] | so["ovf"] << 1]
            for name in COUNTERS:
                status += [self.counters[name] & 0xFF, self.counters[name] >> 8]
            return status[t] if t < len(status) else 0
        if k == 5 and t == 0:
            return so["ovf"]
        return self.tword & 0xFF
