"""Co-simulation of the LFSR bank: seeded random stimulus, golden trace, run on the RTL."""

from __future__ import annotations

import random

from pezo.config import Config
from pezo.lfsr import BankParams
from pezo.sim.trace import Recorder, Trace, pack_lanes
from pezo.sw.golden.lfsr import LfsrBank


def stimulus(cfg: Config, cycles: int, seed: int) -> dict[str, list[int]]:
    """Random enable stalls and, with replay, snapshot/restore events."""
    rng = random.Random(seed)
    stim = {"en": [int(rng.random() < 0.75) for _ in range(cycles)]}
    if cfg.engine.lfsr.replay:
        stim["snapshot"] = [int(rng.random() < 0.05) for _ in range(cycles)]
        stim["restore"] = [int(rng.random() < 0.03) for _ in range(cycles)]
    return stim


def _recorder(golden: LfsrBank, stim: dict[str, list[int]]) -> Recorder:
    k = golden.params.k
    return Recorder(golden.step, {name: name for name in stim},
                    lambda out: {"out": pack_lanes(out["out"].tolist(), k)})


def _play(rec: Recorder, stim: dict[str, list[int]]) -> None:
    for c in range(len(stim["en"])):
        rec.cycle({name: v[c] for name, v in stim.items()})


def trace(cfg: Config, cycles: int, seed: int, golden: LfsrBank | None = None) -> Trace:
    """Stimulus plus the golden model's outputs, one ``step`` per cycle."""
    golden = golden or LfsrBank(BankParams.from_config(cfg))
    stim = stimulus(cfg, cycles, seed)
    rec = _recorder(golden, stim)
    initial = rec.initial(golden.outputs())
    _play(rec, stim)
    return rec.trace(initial)


#: Cycles of the standard power stimulus of the LFSR bank.
STANDARD_CYCLES = 1024


def standard_stimulus(cfg: Config, cycles: int = STANDARD_CYCLES) -> Trace:
    """The power-estimate stimulus: ``en`` held high (fresh bits every cycle), no replay."""
    golden = LfsrBank(BankParams.from_config(cfg))
    stim = {"en": [1] * cycles}
    if golden.replay:
        stim["snapshot"] = [0] * cycles
        stim["restore"] = [0] * cycles
    rec = _recorder(golden, stim)
    _play(rec, stim)
    return rec.trace()
