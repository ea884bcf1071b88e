"""Perturbation sources for ZO training: the torch Gaussian (MeZO's seed replay) and the golden
engine's hardware stream, bit for bit.

A source hands out one *key* per ZO step (:meth:`next`) and regenerates that step's
perturbation ``z`` (float32 [d], standard deviation ~1) from the key as often as asked
(:meth:`z`): z is never kept by the optimizer, only its key. The parameter vector of d values is
the flattened concatenation of a module's parameters in ``module.parameters()`` order.

The engine's codes are turned into ``z`` by :func:`code_scale`, the one place that knows the
code format of each engine configuration.
"""

from __future__ import annotations

import copy
import math

import torch

from pezo.config import Config
from pezo.errors import PezoError
from pezo.sw.golden.engine import Engine

__all__ = ["code_scale", "codes_to_z", "GaussianSource", "EngineSource"]

# Largest block of engine codes (steps x d values) computed at once.
_BLOCK_VALUES = 1 << 22


def code_scale(cfg: Config) -> float:
    """Factor from an engine code to z (standard deviation ~1): ``z = code_scale(cfg) * code``.

    Codes are read as Q3.(B-3) (``code / 2**(B-3)``). The uniform source with ``fixed`` scale
    streams odd codes of standard deviation ``4/sqrt(3)``, whose constant ``c = sqrt(3)/4`` the
    hardware folds into eps and lr (docs/engine.md "Scale"); software applies it here. With
    ``adaptive`` scale (pools rescaled to RMS 1) and with the Gaussian sources
    (``gaussian-*``, standard deviation 1) ``c = 1``.
    """
    e = cfg.engine
    c = math.sqrt(3) / 4 if e.source == "uniform" and e.scale.mode == "fixed" else 1.0
    return c / (1 << (e.value_bits - 3))


def codes_to_z(codes: torch.Tensor, cfg: Config) -> torch.Tensor:
    """Engine codes (any integer dtype) as float32 z."""
    return codes.to(torch.float32).mul_(code_scale(cfg))


class GaussianSource:
    """Torch Gaussian perturbations with MeZO's seed replay.

    Parameters
    ----------
    d : int
        Perturbation length (parameters).
    seed : int
        Seeds the generator of the per-step seeds.

    Notes
    -----
    The key of a step is a 62-bit seed; :meth:`z` regenerates ``torch.randn(d)`` from it, so
    the same key always gives the same tensor and nothing of size d is stored.
    """

    name = "gaussian"

    def __init__(self, d: int, seed: int = 0):
        self.d = d
        self._seeds = torch.Generator().manual_seed(seed)

    def next(self) -> int:
        return int(torch.randint(0, 1 << 62, (1,), generator=self._seeds))

    def z(self, key: int) -> torch.Tensor:
        return torch.randn(self.d, generator=torch.Generator().manual_seed(key))


def _copy_engine(engine: Engine) -> Engine:
    """A copy of every register of the engine (and its bank); tables and caches are shared."""
    new = copy.copy(engine)
    new.pool, new.ovalues = engine.pool.clone(), engine.ovalues.clone()
    new.bank = copy.copy(engine.bank)
    new.bank.state, new.bank.shadow = engine.bank.state.clone(), engine.bank.shadow.clone()
    return new


class EngineSource:
    """The golden engine's stream: step ``t``'s z is the engine's pass ``t`` of d values.

    Parameters
    ----------
    cfg : Config
        The engine configuration (any reuse strategy, scale mode and source).
    d : int
        Parameters per pass; ``engine.max_params`` is raised to ``d`` if smaller.
    keep : int
        How many of the latest steps :meth:`z` must serve (1 for MeZO; the window for PseuZO).

    Notes
    -----
    One engine advances step by step as the hardware would; consecutive steps are computed in
    blocks (``Engine.passes(n, d)`` equals n single steps bit for bit), kept as the narrowest
    integer codes. A step of the current block is served from it (the hardware replays the
    pass); an older step is regenerated from the engine registers saved at its block's start
    (bank state, pool, offset: what a hardware replay of an older step would have to keep).
    Keys are step indices 0, 1, 2, ...
    """

    name = "engine"

    def __init__(self, cfg: Config, d: int, keep: int = 1):
        if cfg.engine.max_params < d:
            cfg = cfg.replace(**{"engine.max_params": d})
        self.cfg, self.d, self.keep = cfg, d, keep
        self.engine = Engine(cfg)
        self.block = max(1, min(64, _BLOCK_VALUES // max(d, 1)))
        self._dtype = next(t for t in (torch.int8, torch.int16, torch.int32, torch.int64)
                           if torch.iinfo(t).bits >= cfg.engine.value_bits)
        self._t = -1
        self._start = 0                       # first step of the current block
        self._codes = torch.empty(0, d, dtype=self._dtype)
        self._snaps: dict[int, Engine] = {}   # block start -> registers before it
        self._old: tuple[int, torch.Tensor] | None = None

    def next(self) -> int:
        self._t += 1
        if self._t >= self._start + len(self._codes):
            self._start = self._t
            self._snaps[self._t] = _copy_engine(self.engine)
            self._codes = self.engine.passes(self.block, self.d).to(self._dtype)
            # keep the snapshots of blocks that may still hold one of the last `keep` steps
            oldest = self._t - self.keep + 1
            for s in sorted(self._snaps):
                if s + self.block <= oldest:
                    del self._snaps[s]
        return self._t

    def codes(self, key: int) -> torch.Tensor:
        """Engine codes of step ``key`` (the pass values as the hardware streams them)."""
        if not 0 <= key <= self._t:
            raise PezoError(f"step {key} has not been drawn (last step {self._t})")
        if key >= self._start:
            return self._codes[key - self._start]
        start = max((s for s in self._snaps if s <= key), default=None)
        if start is None:
            raise PezoError(f"step {key} is older than the {self.keep} steps this source keeps")
        if self._old is None or self._old[0] != start:
            # regenerate the older block from the registers saved at its start
            self._old = (start, _copy_engine(self._snaps[start]).passes(self.block, self.d).to(self._dtype))
        return self._old[1][key - start]

    def z(self, key: int) -> torch.Tensor:
        return codes_to_z(self.codes(key), self.cfg)
