"""Co-simulation of the perturbation engine: a seeded ZO-step schedule with random back-pressure.

The schedule reacts to the golden model's ``idle`` (a host waits for the engine before issuing
the next command); since the RTL must equal the golden model every cycle, the same stimulus is
exactly what the RTL sees.
"""

from __future__ import annotations

import random

from pezo.config import Config
from pezo.sim.trace import Recorder, Trace
from pezo.sw.golden.engine import Engine


#: The engine's RTL ports (the stream's ``ready`` is ``o__ready``) and the model's names.
PORTS = {"start": "start", "replay": "replay", "d": "d", "o__ready": "ready"}


def _recorder(golden: Engine) -> Recorder:
    ep = golden.params

    def probe(out: dict) -> dict:
        # a stream's payload is defined only while valid (the pool's read registers are
        # reused by the scaling pass in between)
        return {"idle": int(out["idle"]), "o__valid": int(out["valid"]),
                "o__payload": ep.pack_beat(out["values"].tolist(), out["last"]) if out["valid"] else None}

    return Recorder(golden.step, PORTS, probe)


def trace(cfg: Config, cycles: int, seed: int, golden: Engine | None = None, replays: int = 3) -> Trace:
    """Steps of (start, ``replays`` replays) with random pass lengths, idle gaps and ``ready``."""
    golden = golden or Engine(cfg.engine.params)
    ep = golden.params
    rng = random.Random(seed)
    d_max = min(ep.max_params, 4 * ep.lanes + 5)
    rec = _recorder(golden)
    initial = rec.initial(golden.outputs())
    pending, d = 0, 1
    for _ in range(cycles):
        start = replay = 0
        if golden.outputs()["idle"] and rng.random() < 0.7:
            if pending == 0:
                start, pending = 1, replays
                d = rng.randrange(0 if rng.random() < 0.05 else 1, d_max + 1)   # sometimes empty
            else:
                replay, pending = 1, pending - 1
        rec.cycle({"start": start, "replay": replay, "d": d if start or replay else rng.randrange(0, d_max + 1),
                   "ready": int(rng.random() < 0.7)})
    return rec.trace(initial)


#: Pass length of the standard power stimulus (capped at ``engine.max_params``).
STANDARD_PASS = 4096


def standard_stimulus(cfg: Config, d: int | None = None) -> Trace:
    """The power-estimate stimulus: one ZO step streamed at full rate.

    ``start`` with ``d`` parameters (default :data:`STANDARD_PASS`, capped at
    ``engine.max_params``) in the first cycle, then ``ready`` held high until the golden model
    is idle again: the fill (and scale) of the pool, then ``ceil(d / lanes)`` beats back to back.
    """
    golden = Engine(cfg.engine.params)
    d = min(STANDARD_PASS if d is None else d, golden.params.max_params)
    rec = _recorder(golden)
    cycle = 0
    while True:
        out = rec.cycle({"start": int(cycle == 0), "replay": 0, "d": d, "ready": 1})
        cycle += 1
        if out["idle"]:
            return rec.trace()
