"""Co-simulation trace of one ``gaussian-boxmuller`` unit: random bits and enables, golden values."""

from __future__ import annotations

import random

import torch

from pezo.config import Config
from pezo.gaussian.boxmuller import spec
from pezo.sim.trace import Trace, delayed, pack_lanes
from pezo.sw.golden.gaussian.boxmuller import Sampler


def trace(cfg: Config, cycles: int, seed: int, p_en: float = 0.7) -> Trace:
    """Random ``bits`` every cycle (a fifth with ``u0`` at a segment edge) and ``en`` high with
    probability ``p_en``. ``values`` after
    a cycle is the model's value of the bits of the en-cycle ``latency`` en-cycles back (this
    one included), don't-care until that many en-cycles have passed since reset."""
    e = cfg.engine
    s = spec(e)
    rng = random.Random(seed)
    w0 = s.fields[0]
    # a fifth of the cycles take u0 at a segment edge (exact segment 0, octave boundaries, ends),
    # which uniform bits would almost never reach
    edges = [x for b in range(w0 - 1) for x in ((1 << b) - 1, 1 << b, (1 << b) + 1)]
    edges += [(1 << w0) - 1 - x for x in edges]
    bits = [rng.getrandbits(s.bits) for _ in range(cycles)]
    bits = [(b >> w0 << w0) | rng.choice(edges) if rng.random() < 0.2 else b for b in bits]
    en = [int(rng.random() < p_en) for _ in range(cycles)]
    t = torch.tensor(bits, dtype=torch.int64)
    vals = Sampler(e.params)([t & ((1 << w0) - 1), t >> w0]).tolist()
    packed = [pack_lanes(v, e.value_bits) for v in vals]
    return Trace(inputs={"bits": bits, "en": en}, outputs={"values": delayed(packed, en, s.latency)})
