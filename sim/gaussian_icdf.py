"""Co-simulation trace of one ``gaussian-icdf`` unit: random ``bits`` every cycle (with octave
and segment boundaries mixed in), ``en`` high ~70% of cycles."""

from __future__ import annotations

import random

import torch

from pezo.config import Config, EngineConfig
from pezo.gaussian.icdf import params_of
from pezo.sim.trace import Trace, delayed
from pezo.sw.golden.gaussian.icdf import Sampler


def edge_magnitudes(e: EngineConfig) -> list[int]:
    """Magnitudes at the ends of every octave and segment, plus all-zeros and all-ones."""
    p = params_of(e)
    m, s = p.mag_bits, p.seg_bits
    ks = {0, (1 << m) - 1}
    for z in range(min(p.octaves + 2, m + 1)):
        lo = 1 << (m - 1 - z) if z < m else 0             # v = 2k + 1 has its leading one at m - z
        for j in range(1 << s):
            start = lo + (j << max(m - 1 - z - s, 0))
            ks.update(x for x in (start - 1, start, start + 1) if 0 <= x < 1 << m)
    return sorted(ks)


def trace(cfg: Config, cycles: int, seed: int, p_en: float = 0.7) -> Trace:
    """Stimulus and expected ``values`` of the unit; ``values`` is don't-care until the
    pipeline has been filled after reset."""
    e = cfg.engine
    p = params_of(e)
    m = p.mag_bits
    rng = random.Random(seed)
    edges = edge_magnitudes(e)
    bits, en = [], []
    for _ in range(cycles):
        k = rng.choice(edges) if rng.random() < 0.25 else rng.getrandbits(m)
        bits.append(k | (rng.getrandbits(1) << m))
        en.append(int(rng.random() < p_en))
    t = torch.tensor(bits, dtype=torch.int64)
    codes = Sampler(e.params)([t & ((1 << m) - 1), t >> m])[:, 0].tolist()
    pattern = [c & ((1 << p.value_bits) - 1) for c in codes]
    return Trace(inputs={"bits": bits, "en": en}, outputs={"values": delayed(pattern, en, p.latency)})
