"""Co-simulation of the update system: whole ZO steps played by a seeded host, with random stalls.

The host schedule is a generator that sees the golden model's outputs after every cycle (it waits
for ``busy`` to fall before its next command, as a real host polls). Since the RTL must equal the
golden model every cycle, the same stimulus is what the RTL sees. On top of the schedule:

* ``stall`` is high in a random 30% of cycles: the stream between engine and datapath is blocked
  (back-pressure on the engine, valid gaps at the datapath);
* while a pass runs the host sends random commands, which the system must ignore;
* the parameters include values near the rails so that saturation and the sticky flag occur.
"""

from __future__ import annotations

import random
from collections.abc import Generator

from pezo.config import Config
from pezo.sim.trace import Recorder, Trace
from pezo.sw.golden.update import Update, pack_word
from pezo.update_rules import Cmd, Op, UpdateRules

PORTS_IN = ("cmd", "op", "addr", "wdata", "d", "stall")
PORTS_OUT = ("rdata", "busy", "done", "ovf")


def default_d(cfg: Config) -> int:
    """A few hundred parameters, a partial last beat when lanes > 1, within the memory."""
    return min(UpdateRules.from_config(cfg).depth, 301)


def host(r: UpdateRules, d: int, rng: random.Random) -> Generator[dict, dict, None]:
    """Load theta, then ZO steps: PLUS, read theta, MINUS2, read theta, RESTORE, SCALAR, UPDATE."""
    nwords = -(-d // r.lanes)
    out = yield {}

    def idle_gap():
        nonlocal out
        for _ in range(rng.choice((0, 0, 1, 3))):
            out = yield {}

    def noise() -> dict:
        return {"cmd": rng.randrange(8), "op": rng.randrange(4), "addr": rng.randrange(r.words),
                "wdata": rng.getrandbits(r.lanes * r.W), "d": rng.randrange(r.depth + 1)}

    def run(op: int):
        nonlocal out
        out = yield {"cmd": Cmd.PASS, "op": op, "d": d}
        while out["busy"]:
            out = yield noise() if rng.random() < 0.3 else {}

    def read_all():
        nonlocal out
        for w in range(nwords):
            out = yield {"cmd": Cmd.READ, "addr": w}

    def code() -> int:
        if rng.random() < 0.02:                              # near a rail: saturation
            return min(max(rng.choice((r.lo, r.hi)) + rng.randrange(-40, 41), r.lo), r.hi)
        return rng.randrange(-(1 << r.F), 1 << r.F)          # +-1.0

    for w in range(min(nwords + 1, r.words)):        # one word past the pass: must stay
        out = yield {"cmd": Cmd.WRITE, "addr": w,
                     "wdata": pack_word([code() for _ in range(r.lanes)], r.W)}
    while True:
        yield from idle_gap()
        yield from run(Op.PLUS)
        yield from read_all()
        yield from run(Op.MINUS2)
        yield from read_all()
        yield from run(Op.RESTORE)
        yield from idle_gap()
        s = rng.randrange(-(1 << (r.S - 1)), 1 << (r.S - 1)) >> rng.randrange(r.S)
        out = yield {"cmd": Cmd.SCALAR, "wdata": s & ((1 << r.S) - 1)}
        yield from run(Op.UPDATE)
        if out["ovf"] and rng.random() < 0.5:
            out = yield {"cmd": Cmd.CLEAR}
        yield from read_all()


def _recorder(golden: Update) -> Recorder:
    def probe(out: dict) -> dict:
        # rdata is the memory's read register, which has no reset value: X until its first read
        return {p: out[p] if p != "rdata" or golden.rdata_known else None for p in PORTS_OUT}

    return Recorder(golden.step, {p: p for p in PORTS_IN}, probe)


def trace(cfg: Config, cycles: int, seed: int, golden: Update | None = None, d: int | None = None,
          stall: float = 0.3) -> Trace:
    """``cycles`` cycles of the host schedule above with the golden model's outputs."""
    golden = golden or Update(UpdateRules.from_config(cfg))
    rng = random.Random(seed)
    d = default_d(cfg) if d is None else d
    schedule = host(golden.r, d, rng)
    next(schedule)
    rec = _recorder(golden)
    out = golden.outputs()
    initial = rec.initial(out)
    for _ in range(cycles):
        inputs = schedule.send(out)
        out = rec.cycle({**inputs, "stall": int(rng.random() < stall)})
    return rec.trace(initial)


#: Seed of the parameters the standard stimulus loads (fixed: the same workload every run).
STANDARD_SEED = 0


def standard_stimulus(cfg: Config) -> Trace:
    """The power-estimate stimulus: load the parameters, then one whole ZO step at full rate.

    The host writes all ``depth`` parameters (seeded codes in +-1.0), then issues PLUS, MINUS2,
    RESTORE, SCALAR (a fixed ``lr*g`` code of about 2**-4) and UPDATE over the whole memory,
    each command in the cycle after ``busy`` falls, with no stall: the passes run at the
    rate the memory allows (full rate in block RAM, half in SPRAM). Outputs are the golden
    model's, checked every cycle by the gate-level simulation.
    """
    golden = Update(UpdateRules.from_config(cfg))
    r = golden.r
    rng = random.Random(STANDARD_SEED)
    rec = _recorder(golden)
    for w in range(r.words):
        rec.cycle({"cmd": Cmd.WRITE, "addr": w,
                   "wdata": pack_word([rng.randrange(-(1 << r.F), 1 << r.F) for _ in range(r.lanes)], r.W)})
    for op in Op:
        if op == Op.UPDATE:
            rec.cycle({"cmd": Cmd.SCALAR, "wdata": (1 << max(r.Fs - 4, 0)) & ((1 << r.S) - 1)})
        out = rec.cycle({"cmd": Cmd.PASS, "op": op, "d": r.depth})
        while out["busy"]:
            out = rec.cycle({})
    return rec.trace()
