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
from pezo.sim.runner import Trace
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


def trace(cfg: Config, cycles: int, seed: int, golden: Update | None = None, d: int | None = None,
          stall: float = 0.3) -> Trace:
    """``cycles`` cycles of the host schedule above with the golden model's outputs."""
    golden = golden or Update(cfg)
    r = golden.r
    rng = random.Random(seed)
    d = default_d(cfg) if d is None else d
    schedule = host(r, d, rng)
    next(schedule)
    stim: dict[str, list[int]] = {p: [] for p in PORTS_IN}
    outs: dict[str, list[int]] = {p: [] for p in PORTS_OUT}
    initial = golden.outputs()
    out = initial
    for _ in range(cycles):
        inputs = {p: 0 for p in PORTS_IN} | schedule.send(out)
        inputs["stall"] = int(rng.random() < stall)
        inputs["cmd"] = int(inputs["cmd"])
        inputs["op"] = int(inputs["op"])
        for p in PORTS_IN:
            stim[p].append(inputs[p])
        out = golden.step(inputs)
        for p in PORTS_OUT:
            outs[p].append(out[p])
        if not golden.rdata_known:
            outs["rdata"][-1] = None
    initial = {p: v for p, v in initial.items() if p != "rdata"}
    return Trace(inputs=stim, outputs=outs, initial=initial)


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
    golden = Update(cfg)
    r = golden.r
    rng = random.Random(STANDARD_SEED)
    stim: dict[str, list[int]] = {p: [] for p in PORTS_IN}
    outs: dict[str, list[int | None]] = {p: [] for p in PORTS_OUT}

    def cycle(inputs: dict) -> dict:
        inputs = {p: 0 for p in PORTS_IN} | inputs
        for p in PORTS_IN:
            stim[p].append(int(inputs[p]))
        out = golden.step(inputs)
        for p in PORTS_OUT:
            outs[p].append(out[p])
        if not golden.rdata_known:
            outs["rdata"][-1] = None
        return out

    for w in range(r.words):
        cycle({"cmd": Cmd.WRITE, "addr": w,
               "wdata": pack_word([rng.randrange(-(1 << r.F), 1 << r.F) for _ in range(r.lanes)], r.W)})
    for op in Op:
        if op == Op.UPDATE:
            cycle({"cmd": Cmd.SCALAR, "wdata": (1 << max(r.Fs - 4, 0)) & ((1 << r.S) - 1)})
        out = cycle({"cmd": Cmd.PASS, "op": op, "d": r.depth})
        while out["busy"]:
            out = cycle({})
    return Trace(inputs=stim, outputs=outs)
