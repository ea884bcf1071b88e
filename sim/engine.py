"""Co-simulation of the perturbation engine: a seeded ZO-step schedule with random back-pressure.

The schedule reacts to the golden model's ``idle`` (a host waits for the engine before issuing
the next command); since the RTL must equal the golden model every cycle, the same stimulus is
exactly what the RTL sees.
"""

from __future__ import annotations

import random

from pezo.config import Config
from pezo.engine_params import EngineParams
from pezo.sim.runner import Trace
from pezo.sw.golden.engine import Engine


def _payload(ep: EngineParams, out: dict) -> int:
    return ep.pack_beat(out["values"].tolist(), out["last"])


def trace(cfg: Config, cycles: int, seed: int, golden: Engine | None = None, replays: int = 3) -> Trace:
    """Steps of (start, ``replays`` replays) with random pass lengths, idle gaps and ``ready``."""
    golden = golden or Engine(cfg)
    ep = golden.params
    rng = random.Random(seed)
    d_max = min(ep.max_params, 4 * ep.lanes + 5)
    stim: dict[str, list[int]] = {"start": [], "replay": [], "d": [], "o__ready": []}
    outs: dict[str, list[int]] = {"idle": [], "o__valid": [], "o__payload": []}

    def record(out: dict) -> None:
        outs["idle"].append(int(out["idle"]))
        outs["o__valid"].append(int(out["valid"]))
        # a stream's payload is defined only while valid (the pool's read registers are
        # reused by the scaling pass in between)
        outs["o__payload"].append(_payload(ep, out) if out["valid"] else None)

    first = golden.outputs()
    initial = {"idle": int(first["idle"]), "o__valid": int(first["valid"])}
    pending, d = 0, 1
    for _ in range(cycles):
        start = replay = 0
        if golden.outputs()["idle"] and rng.random() < 0.7:
            if pending == 0:
                start, pending = 1, replays
                d = rng.randrange(0 if rng.random() < 0.05 else 1, d_max + 1)   # sometimes empty
            else:
                replay, pending = 1, pending - 1
        inputs = {"start": start, "replay": replay, "d": d if start or replay else rng.randrange(0, d_max + 1),
                  "ready": int(rng.random() < 0.7)}
        for name in ("start", "replay", "d"):
            stim[name].append(inputs[name])
        stim["o__ready"].append(inputs["ready"])
        record(golden.step(inputs))
    return Trace(inputs=stim, outputs=outs, initial=initial)


#: Pass length of the standard power stimulus (capped at ``engine.max_params``).
STANDARD_PASS = 4096


def standard_stimulus(cfg: Config, d: int | None = None) -> Trace:
    """The power-estimate stimulus: one ZO step streamed at full rate.

    ``start`` with ``d`` parameters (default :data:`STANDARD_PASS`, capped at
    ``engine.max_params``) in the first cycle, then ``ready`` held high until the golden model
    is idle again: the fill (and scale) of the pool, then ``ceil(d / lanes)`` beats back to back.
    """
    golden = Engine(cfg)
    ep = golden.params
    d = min(STANDARD_PASS if d is None else d, ep.max_params)
    stim: dict[str, list[int]] = {"start": [], "replay": [], "d": [], "o__ready": []}
    outs: dict[str, list[int | None]] = {"idle": [], "o__valid": [], "o__payload": []}
    cycle = 0
    while True:
        inputs = {"start": int(cycle == 0), "replay": 0, "d": d, "ready": 1}
        out = golden.step(inputs)
        for name in ("start", "replay", "d"):
            stim[name].append(inputs[name])
        stim["o__ready"].append(1)
        outs["idle"].append(int(out["idle"]))
        outs["o__valid"].append(int(out["valid"]))
        outs["o__payload"].append(_payload(ep, out) if out["valid"] else None)
        cycle += 1
        if out["idle"]:
            return Trace(inputs=stim, outputs=outs)
