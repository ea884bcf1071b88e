"""The host link's command decoder: frames in from the UART, the update system's one-cycle
commands out, replies back to the UART. Byte by byte in docs/link.md (the protocol) and cycle by
cycle there too; golden model :mod:`pezo.sw.golden.link`.

A request is executed only after its whole frame is in and its CRC matches: the payload waits
in a buffer (one block RAM), so a bad frame never reaches the parameters. ``LinkSystem`` is the
decoder with its update system (what the co-simulation checks); ``pezo.hw.board`` adds the
UART and the pins.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.crc import Processor
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pezo.link import ARG_BYTES, COUNTERS, CRC, ERROR_CMD, READBACK, SOF, Command, Error, LinkParams
from pezo.update_rules import Cmd

from .update import UpdateSystem


def select(index, values):
    """``values[index]`` (0 past the end) as a tree of 2-way multiplexers on the index bits.

    An ``Array`` lookup becomes a ``case`` in an ``always @*`` block, which Icarus (under cocotb)
    does not evaluate at time 0: a lookup whose index has not changed since then reads X. The
    multiplexers become continuous assignments, which it does."""
    values = list(values)
    bits = max(1, (len(values) - 1).bit_length())
    level = values + [Const(0, 8)] * ((1 << bits) - len(values))
    for b in range(bits):
        level = [Mux(index[b], hi, lo) for lo, hi in zip(level[0::2], level[1::2])]
    return Mux(index >> bits == 0, level[0], 0)


class Link(wiring.Component):
    """The decoder (see the module).

    Attributes
    ----------
    rx_data, rx_valid, rx_error : In(8), In(1), In(1)
        Bytes from the UART receiver (``rx_error``: a framing error).
    tx_data, tx_valid, tx_ready : Out(8), Out(1), In(1)
        Bytes to the UART transmitter (taken where ``tx_valid & tx_ready``).
    cmd, op, addr, wdata, d : Out
        The update system's command ports (docs/update.md), from registers.
    rdata, busy, ovf : In
        The update system's outputs.
    """

    def __init__(self, params: LinkParams):
        self.params = params
        r = params.rules
        super().__init__({
            "rx_data": In(8), "rx_valid": In(1), "rx_error": In(1),
            "tx_data": Out(8), "tx_valid": Out(1), "tx_ready": In(1),
            "cmd": Out(3), "op": Out(2), "addr": Out(range(r.words)), "wdata": Out(r.lanes * r.W),
            "d": Out(range(r.depth + 1)), "rdata": In(r.lanes * r.W), "busy": In(1), "ovf": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        p, r = self.params, self.params.rules
        bpw, words = p.bytes_per_word, r.words

        m.submodules.buf = buf = Memory(shape=8, depth=p.buffer, init=[])
        wp, rp = buf.write_port(), buf.read_port(transparent_for=())
        m.submodules.rx_crc = rx_crc = Processor(CRC)
        m.submodules.tx_crc = tx_crc = Processor(CRC)

        # the frame being received
        length, seq, cmd = Signal(16), Signal(8), Signal(8)
        hcnt = Signal(range(4))
        pcnt = Signal(16)
        arg = Signal(8 * ARG_BYTES)
        tmo = Signal(range(p.timeout + 1))
        last_seq, last_pass = Signal(8), Signal()
        counters = {name: Signal(16, name=f"n_{name}") for name in COUNTERS}

        # execution
        addr = Signal(16)                   # first word of WRITE/READ (or 0 for a read-back)
        nwords = Signal(16)
        widx = Signal(16)
        bidx = Signal(range(bpw + 1))
        word = Signal(8 * bpw)
        d_e = Signal(range(r.depth + 1))
        acc = Signal(range(r.depth + r.lanes + 1))
        readback = Signal()

        # the reply
        rkind = Signal(3)                   # 0 ack, 1 error, 2 identity, 3 status, 4 words, 5 pass
        rcmd, rlen, tcnt = Signal(8), Signal(16), Signal(16)
        ecode = Signal(8)
        phase = Signal(range(8))            # SOF, LEN0, LEN1, SEQ, CMD, PAY, CRC0, CRC1
        tword = Signal(8 * bpw)
        tleft = Signal(range(bpw + 1))      # bytes of tword still to send
        ident = [Const(b, 8) for b in p.identity()]

        u_cmd = Signal(3)
        m.d.comb += [self.cmd.eq(u_cmd), rp.addr.eq(0), wp.data.eq(self.rx_data)]
        m.d.sync += u_cmd.eq(Cmd.NOP)

        def bump(name):
            c = counters[name]
            m.d.sync += c.eq(Mux(c == 0xFFFF, c, c + 1))

        def error(code):
            m.d.sync += [ecode.eq(code), rkind.eq(1), rlen.eq(2), rcmd.eq(ERROR_CMD)]
            m.next = "REPLY"

        def bad(code):
            """A frame the command rules refuse (a length, a range, an unknown command)."""
            bump("bad_frames")
            error(code)

        def receiving(m_next_on_byte):
            """The common part of the three receive states: framing errors and the timeout."""
            with m.If(self.rx_error):
                bump("framing_errors")
                error(Error.FRAMING)
            with m.Elif(self.rx_valid):
                m.d.sync += [tmo.eq(0), rx_crc.data.eq(self.rx_data)]
                m_next_on_byte()
            with m.Elif(tmo == p.timeout - 1):
                bump("timeouts")
                error(Error.TIMEOUT)
            with m.Else():
                m.d.sync += tmo.eq(tmo + 1)

        # The receive CRC takes each byte one cycle late, from registers (rx_crc.data above).
        crc_feed = Signal()
        m.d.comb += [rx_crc.valid.eq(crc_feed)]
        m.d.sync += crc_feed.eq(0)

        with m.FSM():
            with m.State("HUNT"):
                m.d.comb += rx_crc.start.eq(1)
                with m.If(self.rx_error):
                    bump("framing_errors")
                with m.Elif(self.rx_valid & (self.rx_data == SOF)):
                    m.d.sync += [hcnt.eq(0), tmo.eq(0), seq.eq(0), cmd.eq(0)]
                    m.next = "HEADER"

            with m.State("HEADER"):
                def header():
                    m.d.sync += [crc_feed.eq(1), hcnt.eq(hcnt + 1), pcnt.eq(0)]
                    with m.Switch(hcnt):
                        with m.Case(0):
                            m.d.sync += length[:8].eq(self.rx_data)
                        with m.Case(1):
                            m.d.sync += length[8:].eq(self.rx_data)
                        with m.Case(2):
                            m.d.sync += seq.eq(self.rx_data)
                        with m.Case(3):
                            m.d.sync += cmd.eq(self.rx_data)
                            with m.If(length > p.buffer):
                                bad(Error.LENGTH)
                            with m.Elif(length == 0):
                                m.next = "CRC"
                            with m.Else():
                                m.next = "PAYLOAD"
                receiving(header)

            with m.State("PAYLOAD"):
                def payload():
                    m.d.sync += [crc_feed.eq(1), pcnt.eq(pcnt + 1)]
                    m.d.comb += [wp.addr.eq(pcnt), wp.en.eq(1)]
                    for i in range(ARG_BYTES):
                        with m.If(pcnt == i):
                            m.d.sync += arg[8 * i:8 * i + 8].eq(self.rx_data)
                    with m.If(pcnt + 1 == length):
                        m.next = "CRC"
                receiving(payload)

            with m.State("CRC"):
                def crc_byte():
                    m.d.sync += [crc_feed.eq(1), hcnt.eq(hcnt + 1)]
                    with m.If(hcnt == 1):
                        m.next = "SETTLE"
                receiving(crc_byte)

            with m.State("SETTLE"):             # the last CRC byte enters the processor
                m.next = "CHECK"

            with m.State("CHECK"):
                n_arg = arg[16:24]
                a_arg = arg[:16]
                with m.If(~rx_crc.match_detected):
                    bump("crc_errors")
                    error(Error.CRC)
                with m.Else():
                    m.d.sync += [last_seq.eq(seq), last_pass.eq(cmd == Command.PASS), rcmd.eq(cmd),
                                 rkind.eq(0), rlen.eq(0)]
                    with m.Switch(cmd):
                        with m.Case(Command.IDENTIFY, Command.STATUS, Command.CLEAR):
                            with m.If(length != 0):
                                bad(Error.LENGTH)
                            with m.Elif(cmd == Command.IDENTIFY):
                                bump("frames")
                                m.d.sync += [rkind.eq(2), rlen.eq(len(p.identity()))]
                                m.next = "REPLY"
                            with m.Elif(cmd == Command.STATUS):
                                bump("frames")
                                m.d.sync += [rkind.eq(3), rlen.eq(1 + 2 * len(COUNTERS))]
                                m.next = "REPLY"
                            with m.Else():
                                m.d.sync += u_cmd.eq(Cmd.CLEAR)
                                m.d.sync += [c.eq(0) for c in counters.values()]
                                m.next = "REPLY"
                        with m.Case(Command.WRITE):
                            with m.If((n_arg == 0) | (length != 3 + n_arg * bpw)):
                                bad(Error.LENGTH)
                            with m.Elif(a_arg + n_arg > words):
                                bad(Error.RANGE)
                            with m.Else():
                                bump("frames")
                                m.d.sync += [addr.eq(a_arg), nwords.eq(n_arg), widx.eq(0), bidx.eq(0)]
                                m.next = "W_LOAD"
                        with m.Case(Command.READ):
                            n16 = arg[16:32]
                            with m.If(length != 4):
                                bad(Error.LENGTH)
                            with m.Elif((n16 == 0) | (a_arg + n16 > words) | (n16 > 0xFFFF // bpw)):
                                bad(Error.RANGE)
                            with m.Else():
                                bump("frames")
                                m.d.sync += [addr.eq(a_arg), nwords.eq(n16), rkind.eq(4),
                                             rlen.eq(n16 * bpw)]
                                m.next = "REPLY"
                        with m.Case(Command.SCALAR):
                            with m.If(length != p.scalar_bytes):
                                bad(Error.LENGTH)
                            with m.Else():
                                bump("frames")
                                m.d.sync += [u_cmd.eq(Cmd.SCALAR), self.wdata.eq(arg[:r.S])]
                                m.next = "REPLY"
                        with m.Case(Command.PASS):
                            d32 = arg[8:40]
                            d_clamped = Mux(d32 > r.depth, r.depth, d32)
                            with m.If(length != 6):
                                bad(Error.LENGTH)
                            with m.Elif(arg[:8] > 3):
                                bad(Error.RANGE)
                            with m.Else():
                                bump("frames")
                                m.d.sync += [d_e.eq(d_clamped),
                                             readback.eq(arg[40:48] & READBACK), addr.eq(0), nwords.eq(0),
                                             acc.eq(0), rkind.eq(5)]
                                with m.If(last_pass & (seq == last_seq)):
                                    m.next = "P_COUNT"      # a retry: the pass ran already
                                with m.Else():
                                    m.d.sync += [u_cmd.eq(Cmd.PASS), self.op.eq(arg[:2]),
                                                 self.d.eq(d_clamped)]
                                    m.next = "P_ISSUED"
                        with m.Default():
                            bad(Error.COMMAND)

            # WRITE: bpw bytes from the buffer into a word (reads one cycle behind), then the command
            with m.State("W_LOAD"):
                m.d.comb += rp.addr.eq(3 + widx * bpw + bidx)
                with m.If(bidx != 0):
                    m.d.sync += word.eq((word >> 8) | (rp.data << (8 * bpw - 8)))
                with m.If(bidx == bpw):
                    m.next = "W_ISSUE"
                with m.Else():
                    m.d.sync += bidx.eq(bidx + 1)
            with m.State("W_ISSUE"):
                m.d.sync += [u_cmd.eq(Cmd.WRITE), self.addr.eq(addr + widx), self.wdata.eq(word),
                             widx.eq(widx + 1), bidx.eq(0)]
                with m.If(widx + 1 == nwords):
                    m.next = "REPLY"
                with m.Else():
                    m.next = "W_LOAD"

            # PASS: the system is busy from the edge after the command until the pass is written
            with m.State("P_ISSUED"):
                m.next = "P_WAIT"
            with m.State("P_WAIT"):
                with m.If(~self.busy):
                    m.next = "P_COUNT"
            with m.State("P_COUNT"):            # words of the read-back: ceil(d_e / L)
                with m.If(readback & (acc < d_e)):
                    m.d.sync += [acc.eq(acc + r.lanes), nwords.eq(nwords + 1)]
                with m.Else():
                    m.d.sync += rlen.eq(1 + nwords * bpw)
                    m.next = "REPLY"

            # The reply: one byte handed to the UART at a time
            with m.State("REPLY"):
                m.d.sync += [phase.eq(0), tcnt.eq(0), widx.eq(0), tleft.eq(0)]
                m.d.comb += tx_crc.start.eq(1)
                m.next = "T_LOAD"
            with m.State("T_LOAD"):
                in_words = (phase == 5) & (tleft == 0) & ((rkind == 4) | ((rkind == 5) & (tcnt != 0)))
                with m.If(in_words):
                    m.d.sync += [u_cmd.eq(Cmd.READ), self.addr.eq(addr + widx), widx.eq(widx + 1)]
                    m.next = "T_FETCH"
                with m.Else():
                    byte = Signal(8)
                    payload = Signal(8)
                    status = [self.busy | (self.ovf << 1)] + [c.word_select(i, 8) for c in counters.values()
                                                              for i in range(2)]
                    with m.Switch(rkind):
                        with m.Case(1):
                            m.d.comb += payload.eq(Mux(tcnt == 0, ecode, cmd))
                        with m.Case(2):
                            m.d.comb += payload.eq(select(tcnt, ident))
                        with m.Case(3):
                            m.d.comb += payload.eq(select(tcnt, status))
                        with m.Case(5):
                            m.d.comb += payload.eq(Mux(tcnt == 0, self.ovf, tword[:8]))
                        with m.Default():
                            m.d.comb += payload.eq(tword[:8])
                    with m.Switch(phase):
                        with m.Case(0):
                            m.d.comb += byte.eq(SOF)
                        with m.Case(1):
                            m.d.comb += byte.eq(rlen[:8])
                        with m.Case(2):
                            m.d.comb += byte.eq(rlen[8:])
                        with m.Case(3):
                            m.d.comb += byte.eq(seq)
                        with m.Case(4):
                            m.d.comb += byte.eq(rcmd)
                        with m.Case(5):
                            m.d.comb += byte.eq(payload)
                        with m.Case(6):
                            m.d.comb += byte.eq(tx_crc.crc[8:])
                        with m.Case(7):
                            m.d.comb += byte.eq(tx_crc.crc[:8])
                    m.d.sync += [self.tx_data.eq(byte), self.tx_valid.eq(1)]
                    m.next = "T_SEND"
            with m.State("T_FETCH"):            # the system sees READ now; rdata is there next
                m.next = "T_LATCH"
            with m.State("T_LATCH"):
                m.d.sync += [tword.eq(self.rdata), tleft.eq(bpw)]
                m.next = "T_LOAD"
            with m.State("T_SEND"):
                with m.If(self.tx_ready):
                    m.d.sync += self.tx_valid.eq(0)
                    m.d.comb += [tx_crc.valid.eq((phase != 0) & (phase < 6)), tx_crc.data.eq(self.tx_data)]
                    with m.If(phase == 5):
                        m.d.sync += tcnt.eq(tcnt + 1)
                        with m.If(tleft != 0):
                            m.d.sync += [tword.eq(tword >> 8), tleft.eq(tleft - 1)]
                        with m.If(tcnt + 1 == rlen):
                            m.d.sync += phase.eq(6)
                        m.next = "T_LOAD"
                    with m.Elif(phase == 7):
                        m.next = "HUNT"
                    with m.Else():
                        m.d.sync += phase.eq(Mux((phase == 4) & (rlen == 0), 6, phase + 1))
                        m.next = "T_LOAD"
        return m


class LinkSystem(wiring.Component):
    """The decoder with its update system: bytes in, bytes out (the co-simulated unit); ``busy``
    and ``ovf`` are the system's, for a board's LEDs."""

    def __init__(self, params: LinkParams):
        self.params = params
        super().__init__({"rx_data": In(8), "rx_valid": In(1), "rx_error": In(1),
                          "tx_data": Out(8), "tx_valid": Out(1), "tx_ready": In(1),
                          "busy": Out(1), "ovf": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.link = link = Link(self.params)
        m.submodules.system = system = UpdateSystem(self.params.rules)
        m.d.comb += [link.rx_data.eq(self.rx_data), link.rx_valid.eq(self.rx_valid),
                     link.rx_error.eq(self.rx_error), self.tx_data.eq(link.tx_data),
                     self.tx_valid.eq(link.tx_valid), link.tx_ready.eq(self.tx_ready),
                     system.cmd.eq(link.cmd), system.op.eq(link.op), system.addr.eq(link.addr),
                     system.wdata.eq(link.wdata), system.d.eq(link.d), system.stall.eq(0),
                     link.rdata.eq(system.rdata), link.busy.eq(system.busy), link.ovf.eq(system.ovf),
                     self.busy.eq(system.busy), self.ovf.eq(system.ovf)]
        return m
