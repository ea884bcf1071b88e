"""Golden Gaussian baseline units; the contract is in :mod:`pezo.gaussian`.

:func:`beat_values` is how the engine uses them: the values of beats from the bank words that
loaded them. :func:`stream` runs a free-running bank through it, for statistics.
"""

from __future__ import annotations

import importlib

import torch

from pezo.engine_params import EngineParams
from pezo.gaussian import MODULES, spec, units
from pezo.sw.golden.fields import FieldReader


def sampler(params: EngineParams):
    """The golden unit of the engine's Gaussian source: ``sampler(fields) -> int64 [n, outputs]``."""
    return importlib.import_module(f"pezo.sw.golden.gaussian.{MODULES[params.engine.source]}").Sampler(params)


class BeatValues:
    """Values [nb, L] of the beats loaded from bank words [nb, bank lanes] (one word per beat)."""

    def __init__(self, params: EngineParams):
        e = params.engine
        self.e, self.spec, self.units = e, spec(e), units(e)
        self.sample = sampler(params)
        self.reader = FieldReader(e.lfsr.k)

    def __call__(self, words: torch.Tensor) -> torch.Tensor:
        s, nb = self.spec, words.shape[0]
        fields, pos = [], 0
        for w in s.fields:          # every unit's field f at once: [nb, units]
            fields.append(self.reader(words, tuple(j * s.bits + pos for j in range(self.units)), w))
            pos += w
        flat = self.sample([f.reshape(-1) for f in fields])          # [nb*units, outputs], unit-major per beat
        return flat.view(nb, self.units * s.outputs)[:, :self.e.lanes]
