"""Co-simulation of the gaussian-clt unit: random fields every cycle, random ``en``, golden trace."""

from __future__ import annotations

import random

import torch

from pezo.config import Config
from pezo.gaussian import spec
from pezo.sim.trace import Trace, delayed
from pezo.sw.golden.gaussian.clt import Sampler


def trace(cfg: Config, cycles: int, seed: int, sampler: Sampler | None = None) -> Trace:
    """``bits`` random every cycle (the first ones all-zeros and all-ones, the extreme sums),
    ``en`` high ~70% of cycles; ``values`` expected from the ``latency``-th ``en`` cycle on."""
    e = cfg.engine
    s = spec(e)
    sample = sampler or Sampler(e.params)
    rng = random.Random(seed)
    full = (1 << s.bits) - 1
    words = [[0, full, 0, full][c] if c < 4 else rng.getrandbits(s.bits) for c in range(cycles)]
    en = [1 if c < 4 else int(rng.random() < 0.7) for c in range(cycles)]
    fields, pos = [], 0
    for w in s.fields:
        fields.append(torch.tensor([(x >> pos) & ((1 << w) - 1) for x in words], dtype=torch.int64))
        pos += w
    codes = sample(fields)[:, 0].tolist()
    return Trace(inputs={"bits": words, "en": en}, outputs={"values": delayed(codes, en, s.latency)})
