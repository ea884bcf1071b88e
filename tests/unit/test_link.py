"""The link's protocol (pezo.link) and its golden decoder: every command, every bad frame, and
a ZO step over the link bit-identical to the update system's own golden model. The RTL against
the golden decoder, every cycle: tests/cosim/test_link_cosim.py."""

import struct

import pytest
import torch

from pezo.config import Config
from pezo.errors import PezoError
from pezo.link import COUNTERS, ERROR_CMD, Command, Error, FrameReader, LinkParams, crc16, encode
from pezo.sim import link as sim_link
from pezo.sw.golden.update_stream import UpdateStream
from pezo.update_rules import Op, UpdateRules

CFG = Config().replace(**{"update.depth": 64})


def params(cfg=CFG, timeout=200) -> LinkParams:
    return LinkParams(UpdateRules.from_config(cfg), cfg.digest("engine", "update"), "0.1.0", timeout=timeout)


P = params()
BPW = P.bytes_per_word                      # 16: 8 lanes x Q4.12


def words(*values) -> bytes:
    return b"".join(struct.pack("<8h", *([v] * 8)) for v in values)


def replies(script, seed=1, p=P):
    trace, sent, golden = sim_link.run(p, script, seed)
    frames = []
    for raw in sent:
        reader = FrameReader()
        got = reader.feed(raw)
        assert reader.skipped == 0 and len(got) <= 1, raw
        frames.append(got[0] if got else None)
    return frames, golden


def test_frame_layout_and_crc():
    f = encode(7, Command.READ, b"\x01\x02")
    assert f[0] == 0x50 and f[1:3] == b"\x02\x00" and f[3] == 7 and f[4] == Command.READ
    assert crc16(f[1:]) == 0                # the residue over everything after SOF
    assert crc16(b"123456789") == 0x29B1    # CRC-16/CCITT-FALSE's check value


def test_reader_resynchronises_after_garbage_and_bad_frames():
    good = encode(1, Command.STATUS)
    bad = bytearray(encode(2, Command.STATUS))
    bad[3] ^= 0x10
    reader = FrameReader()
    frames = reader.feed(b"\x00\x50\xff" + bytes(bad) + good[:3]) + reader.feed(good[3:])
    assert [(f.seq, f.cmd) for f in frames] == [(1, Command.STATUS)]
    assert reader.skipped > 0


def test_params_refuse_what_the_link_cannot_carry():
    with pytest.raises(PezoError, match="65535"):
        params(CFG.replace(**{"update.depth": 65536, "engine.max_params": 1 << 20}))
    with pytest.raises(PezoError, match="timeout"):
        params(timeout=0)


def test_identify_reports_the_configuration():
    (f,), _ = replies([encode(1, Command.IDENTIFY)])
    assert (f.seq, f.cmd, f.payload) == (1, Command.IDENTIFY, P.identity())
    assert f.payload[:4] == b"PEZO" and f.payload[5] == 8 and int.from_bytes(f.payload[9:13], "little") == 64
    assert f.payload[-5:] == b"0.1.0"


def test_write_then_read_and_the_parameters_hold_it():
    (w, r), g = replies([encode(1, Command.WRITE, struct.pack("<HB", 2, 3) + words(5, -6, 7)),
                         encode(2, Command.READ, struct.pack("<HH", 1, 4))])
    assert (w.cmd, w.payload) == (Command.WRITE, b"")
    assert r.payload == words(0, 5, -6, 7)
    assert g.system.theta.view(-1, 8)[1:5, 0].tolist() == [0, 5, -6, 7]


@pytest.mark.parametrize("fault,code,counter", [
    ("flip", Error.CRC, "crc_errors"),
    ("truncate", Error.TIMEOUT, "timeouts"),
    ("framing", Error.FRAMING, "framing_errors"),
    ("length", Error.LENGTH, "bad_frames"),
    ("range", Error.RANGE, "bad_frames"),
    ("command", Error.COMMAND, "bad_frames"),
])
def test_a_bad_frame_changes_no_parameter_and_is_counted(fault, code, counter):
    frame = bytearray(encode(3, Command.WRITE, struct.pack("<HB", 0, 1) + words(99)))
    item = bytes(frame)
    if fault == "flip":
        frame[9] ^= 0x04
        item = bytes(frame)
    elif fault == "truncate":
        item = bytes(frame[:12])
    elif fault == "framing":
        item = ("framing", bytes(frame[:8]))
    elif fault == "length":
        item = encode(3, Command.WRITE, struct.pack("<HB", 0, 2) + words(99))     # says 2 words, has 1
    elif fault == "range":
        item = encode(3, Command.WRITE, struct.pack("<HB", 8, 1) + words(99))     # past the 8 words
    elif fault == "command":
        item = encode(3, 0x33, b"")
    script = [item] if fault != "framing" else [item]
    (err, status), g = replies(script + [encode(4, Command.STATUS)])
    assert err.cmd == ERROR_CMD and err.payload[0] == code
    assert g.system.theta.abs().sum() == 0
    counts = dict(zip(COUNTERS, struct.unpack("<5H", status.payload[1:])))
    assert counts[counter] == 1 and counts["frames"] == 1        # only the STATUS itself


def test_garbage_between_frames_is_skipped():
    (a, b, c), g = replies([b"\x00\x13\x37", encode(1, Command.WRITE, struct.pack("<HB", 0, 1) + words(3)),
                            encode(2, Command.READ, struct.pack("<HH", 0, 1))])
    assert a is None and b.cmd == Command.WRITE and c.payload == words(3)


def _step_over_link(seq, d, scalar, p=P):
    frames = []
    for op in (Op.PLUS, Op.MINUS2, Op.RESTORE):
        frames.append(encode(seq, Command.PASS, struct.pack("<BIB", op, d, 1)))
        seq += 1
    frames.append(encode(seq, Command.SCALAR, struct.pack("<H", scalar & 0xFFFF)))
    frames.append(encode(seq + 1, Command.PASS, struct.pack("<BIB", Op.UPDATE, d, 0)))
    return frames


def test_a_zo_step_over_the_link_is_bit_identical_to_the_update_model():
    init = [(-1) ** i * (i * 37 % 500) for i in range(64)]
    load = encode(1, Command.WRITE, struct.pack("<HB", 0, 8) + b"".join(struct.pack("<h", v) for v in init))
    frames, g = replies([load] + _step_over_link(2, 60, -1234))
    ref = UpdateStream(P.rules)
    ref.theta[:] = torch.tensor(init)
    plus = ref.run_pass(Op.PLUS, 60)
    assert frames[1].payload[1:] == b"".join(struct.pack("<h", v) for v in ref.theta[:64].tolist())
    assert plus.tolist() == list(struct.unpack("<60h", frames[1].payload[1:121]))
    ref.run_pass(Op.MINUS2, 60)
    ref.run_pass(Op.RESTORE, 60)
    ref.load_scalar(-1234)
    ref.run_pass(Op.UPDATE, 60)
    assert torch.equal(g.system.theta, ref.theta)
    assert frames[-1].payload == bytes([0])         # no overflow, no read-back


def test_a_retried_pass_runs_once():
    plus = encode(5, Command.PASS, struct.pack("<BIB", Op.PLUS, 64, 1))
    (a, b), g = replies([plus, plus])
    assert a.payload == b.payload                   # the same read-back, not theta + 2 delta
    ref = UpdateStream(P.rules)
    ref.run_pass(Op.PLUS, 64)
    assert torch.equal(g.system.theta, ref.theta)
