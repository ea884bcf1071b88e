"""Golden Gaussian baseline units; the contract is in :mod:`pezo.gaussian`.

:func:`beat_values` is how the engine uses them: the values of beats from the bank words that
loaded them. :func:`stream` runs a free-running bank through it, for statistics.
"""

from __future__ import annotations

import importlib

import torch

from pezo.config import Config, EngineConfig
from pezo.gaussian import MODULES, spec, units
from pezo.sw.golden.lfsr import FieldReader, LfsrBank


def sampler(e: EngineConfig):
    """The golden unit of ``e.source``: ``sampler(fields) -> int64 [n, outputs]``."""
    return importlib.import_module(f"pezo.sw.golden.gaussian.{MODULES[e.source]}").Sampler(e)


class BeatValues:
    """Values [nb, L] of the beats loaded from bank words [nb, bank lanes] (one word per beat)."""

    def __init__(self, e: EngineConfig):
        self.e, self.spec, self.units = e, spec(e), units(e)
        self.sample = sampler(e)
        self.reader = FieldReader(e.lfsr.k)

    def __call__(self, words: torch.Tensor) -> torch.Tensor:
        s, nb = self.spec, words.shape[0]
        fields, pos = [], 0
        for w in s.fields:          # every unit's field f at once: [nb, units]
            fields.append(self.reader(words, tuple(j * s.bits + pos for j in range(self.units)), w))
            pos += w
        flat = self.sample([f.reshape(-1) for f in fields])          # [nb*units, outputs], unit-major per beat
        return flat.view(nb, self.units * s.outputs)[:, :self.e.lanes]


def stream(cfg: Config, beats: int) -> torch.Tensor:
    """Values [beats, L] of a bank advancing every cycle from reset (no engine around it)."""
    e = cfg.engine
    e.check_bank()
    # row c of run() is the state after edge c; en is low in cycle 0, so row c is the word the
    # bank shows during cycle c of a free run
    en = torch.ones(beats, dtype=torch.int64)
    en[0] = 0
    return BeatValues(e)(LfsrBank(e.lfsr).run(beats, {"en": en})["out"])
