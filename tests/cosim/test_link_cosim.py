"""The link's decoder with its update system (RTL) against the golden decoder and update model,
every cycle: every command, a ZO step with read-back, a retried pass, and every kind of bad
frame (flipped bit, truncated, garbage, a break inside a frame, wrong length, range, command)."""

import struct

import pytest
from amaranth.back import verilog

from pezo.config import Config
from pezo.hw.link import LinkSystem
from pezo.link import Command, LinkParams, encode
from pezo.sim import link as sim_link
from pezo.sim.runner import cosimulate
from pezo.update_rules import Op, UpdateRules

pytestmark = pytest.mark.cosim

CASES = {
    "rademacher-8": {"update.depth": 64},
    "uniform-4": {"update.depth": 32, "engine.lanes": 4, "engine.source": "uniform",
                  "engine.reuse.strategy": "pool-sign", "engine.value_bits": 8, "engine.lfsr.k": 16},
}


def _script(p: LinkParams) -> list:
    r, bpw = p.rules, p.bytes_per_word
    init = bytes((i * 29 + 3) & 0xFF for i in range(r.words * bpw))
    write = encode(2, Command.WRITE, struct.pack("<HB", 0, r.words) + init)
    flipped = bytearray(encode(3, Command.WRITE, struct.pack("<HB", 1, 1) + bytes(bpw)))
    flipped[10] ^= 0x01
    seq = 10
    step = []
    for op in (Op.PLUS, Op.MINUS2, Op.RESTORE):
        step.append(encode(seq, Command.PASS, struct.pack("<BIB", op, r.depth - 3, 1)))
        seq += 1
    step += [encode(seq, Command.SCALAR, (-321 & ((1 << 8 * p.scalar_bytes) - 1)).to_bytes(p.scalar_bytes, "little")),
             encode(seq + 1, Command.PASS, struct.pack("<BIB", Op.UPDATE, r.depth - 3, 0))]
    return [encode(1, Command.IDENTIFY), write, bytes(flipped),
            b"\x11\x50\x02",                                           # garbage with a SOF: times out
            encode(4, Command.READ, struct.pack("<HH", 0, r.words)),
            encode(5, Command.WRITE, struct.pack("<HB", 0, 1) + bytes(bpw))[:9],   # truncated
            ("framing", encode(6, Command.STATUS)[:3]),
            encode(7, Command.WRITE, struct.pack("<HB", 0, 2) + bytes(bpw)),       # wrong length
            encode(8, Command.READ, struct.pack("<HH", r.words - 1, 2)),           # out of range
            encode(9, 0x44), *step, step[0], step[0],                              # a retried pass
            encode(40, Command.STATUS), encode(41, Command.CLEAR), encode(42, Command.STATUS)]


@pytest.mark.parametrize("case", CASES)
def test_rtl_matches_golden_every_cycle(tmp_path, case):
    cfg = Config().replace(**CASES[case])
    p = LinkParams(UpdateRules.from_config(cfg), cfg.digest("engine", "update"), "0.1.0", timeout=150)
    trace, replies, golden = sim_link.run(p, _script(p), seed=5)
    assert sum(1 for r in replies if r) >= 18 and golden.counters["frames"] == 1   # CLEAR, then STATUS
    vfile = tmp_path / "link.v"
    vfile.write_text(verilog.convert(LinkSystem(p), name="pezo_link", emit_src=False))
    result = cosimulate(vfile, "pezo_link", trace, build_dir=tmp_path / "sim")
    assert result.cycles == trace.cycles
