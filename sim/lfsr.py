"""Co-simulation of the LFSR bank: seeded random stimulus, golden trace, run on the RTL."""

from __future__ import annotations

import random

from pezo.config import Config
from pezo.sim.runner import Trace, pack_lanes
from pezo.sw.golden.lfsr import LfsrBank


def stimulus(cfg: Config, cycles: int, seed: int) -> dict[str, list[int]]:
    """Random enable stalls and, with replay, snapshot/restore events."""
    rng = random.Random(seed)
    stim = {"en": [int(rng.random() < 0.75) for _ in range(cycles)]}
    if cfg.engine.lfsr.replay:
        stim["snapshot"] = [int(rng.random() < 0.05) for _ in range(cycles)]
        stim["restore"] = [int(rng.random() < 0.03) for _ in range(cycles)]
    return stim


def trace(cfg: Config, cycles: int, seed: int, golden: LfsrBank | None = None) -> Trace:
    """Stimulus plus the golden model's outputs, one ``step`` per cycle."""
    lf = cfg.engine.lfsr
    golden = golden or LfsrBank(lf)
    stim = stimulus(cfg, cycles, seed)
    initial = {"out": pack_lanes(golden.outputs()["out"].tolist(), lf.k)}
    outs = []
    for c in range(cycles):
        outs.append(pack_lanes(golden.step({name: v[c] for name, v in stim.items()})["out"].tolist(), lf.k))
    return Trace(inputs=stim, outputs={"out": outs}, initial=initial)


#: Cycles of the standard power stimulus of the LFSR bank.
STANDARD_CYCLES = 1024


def standard_stimulus(cfg: Config, cycles: int = STANDARD_CYCLES) -> Trace:
    """The power-estimate stimulus: ``en`` held high (fresh bits every cycle), no replay."""
    lf = cfg.engine.lfsr
    golden = LfsrBank(lf)
    stim = {"en": [1] * cycles}
    if lf.replay:
        stim["snapshot"] = [0] * cycles
        stim["restore"] = [0] * cycles
    outs = [pack_lanes(golden.step({n: v[c] for n, v in stim.items()})["out"].tolist(), lf.k)
            for c in range(cycles)]
    return Trace(inputs=stim, outputs={"out": outs})
