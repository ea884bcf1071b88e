"""Perturbation sources for ZO training: the torch Gaussian (MeZO's seed replay) and the golden
engine's hardware stream, bit for bit.

A source hands out one *key* per ZO step (:meth:`next`) and regenerates that step's
perturbation ``z`` (float32 [d], standard deviation ~1) from the key as often as asked
(:meth:`z`, or :meth:`chunks`: the same values in consecutive pieces, so that a large model's z
never exists whole): z is never kept by the optimizer, only its key. The parameter vector of d
values is the flattened concatenation of a module's parameters in ``module.parameters()`` order.

The engine's codes are turned into ``z`` by :func:`code_scale`, the one place that knows the
code format of each engine configuration.
"""

from __future__ import annotations

import copy
from typing import Iterator

import torch

from pezo.config import Config
from pezo.errors import PezoError
from pezo.sw.golden.engine_stream import EngineStream

__all__ = ["code_scale", "codes_to_z", "seeded", "GaussianSource", "RademacherSource", "EngineSource"]

# Largest block of engine codes (steps x d values) computed at once.
_BLOCK_VALUES = 1 << 22
# From this many parameters on, an EngineSource streams each pass in chunks instead.
STREAM_VALUES = 1 << 16
# Offset of a derived source's seed from its parent's.
DERIVED_SALT = 0x5EED


def code_scale(cfg: Config) -> float:
    """Factor from an engine code to z (standard deviation ~1): ``z = code_scale(cfg) * code``.

    :attr:`pezo.engine_params.EngineParams.z_per_code`: codes have ``code_frac`` fraction bits
    (Q3.(B-3), or +-1 for Rademacher), and the uniform source with ``fixed`` scale has the
    constant ``c`` that the hardware folds into eps and lr (docs/engine.md "Scale"); software
    applies it here.
    """
    return cfg.engine.params.z_per_code


def seeded(cfg: Config, seed: int, pinned: bool = False) -> Config:
    """The configuration whose stream run seed ``seed`` uses: ``engine.lfsr.seed = seed + 1``
    (wrapped into the bank's non-zero states), unless the configuration ``pinned`` its own
    seed. Seed 0 is the default LFSR seed 1, so results over seeds vary the stream."""
    if pinned:
        return cfg
    w = cfg.engine.lfsr.width
    return cfg.replace(**{"engine.lfsr.seed": seed % ((1 << w) - 1) + 1})


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
        self.d, self.seed = d, seed
        self._seeds = torch.Generator().manual_seed(seed)

    def derived(self, n: int) -> "GaussianSource":
        """A second source of this kind, n values per step, its own stream (DiZO's projection)."""
        return type(self)(n, self.seed + DERIVED_SALT)

    def next(self) -> int:
        return int(torch.randint(0, 1 << 62, (1,), generator=self._seeds))

    def z(self, key: int) -> torch.Tensor:
        return torch.randn(self.d, generator=torch.Generator().manual_seed(key))

    def chunks(self, key: int) -> Iterator[torch.Tensor]:
        """:meth:`z` in one piece (``torch.randn`` draws the whole vector)."""
        yield self.z(key)


class RademacherSource(GaussianSource):
    """Torch-drawn Rademacher perturbations (z = +-1, equally likely) with MeZO's seed replay:
    the software reference that separates the +-1 distribution from the engine's LFSR stream."""

    name = "torch-rademacher"

    def z(self, key: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(key)
        return torch.randint(0, 2, (self.d,), generator=g).to(torch.float32).mul_(2).sub_(1)


def _copy_engine(engine: EngineStream) -> EngineStream:
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
    stream : bool, optional
        Stream passes in chunks (default: when ``d >= STREAM_VALUES``).

    Notes
    -----
    One engine advances step by step as the hardware would. Keys are step indices 0, 1, 2, ...

    Streaming (large d): :meth:`next` runs the step's begin and fill
    (:meth:`EngineStream.start <pezo.sw.golden.engine_stream.EngineStream.start>`) and keeps its
    :class:`~pezo.sw.golden.engine_stream.Pass` (pool, offset, bank snapshot: what a hardware replay
    reads); every use regenerates the values from it chunk by chunk
    (:meth:`EngineStream.values <pezo.sw.golden.engine_stream.EngineStream.values>`), converted to z through the
    pool rather than value by value, so neither the codes nor z of a whole pass are ever held.

    Blocks (small d): consecutive steps are computed together (``EngineStream.passes(n, d)`` equals
    n single steps bit for bit), kept as the narrowest integer codes. A step of the current
    block is served from it; an older step is regenerated from the engine registers saved at
    its block's start.
    """

    name = "engine"

    def __init__(self, cfg: Config, d: int, keep: int = 1, stream: bool | None = None):
        if cfg.engine.max_params < d:
            cfg = cfg.replace(**{"engine.max_params": d})
        self.cfg, self.d, self.keep = cfg, d, keep
        self.stream = d >= STREAM_VALUES if stream is None else stream
        self.engine = EngineStream(cfg.engine.params)
        self.block = max(1, min(64, _BLOCK_VALUES // max(d, 1)))
        self._dtype = self.engine.code_dtype
        self._t = -1
        self._passes: dict = {}               # streaming: step -> its Pass
        self._start = 0                       # first step of the current block
        self._codes = torch.empty(0, d, dtype=self._dtype)
        self._snaps: dict[int, EngineStream] = {}   # block start -> registers before it
        self._old: tuple[int, torch.Tensor] | None = None

    def derived(self, n: int) -> "EngineSource":
        """A second engine of this configuration, n values per step, with an LFSR seed of its
        own (DiZO's projection)."""
        return EngineSource(seeded(self.cfg, self.cfg.engine.lfsr.seed - 1 + DERIVED_SALT), n)

    def next(self) -> int:
        self._t += 1
        if self.stream:
            self._passes[self._t] = self.engine.start(self.d)
            for t in [t for t in self._passes if t <= self._t - self.keep]:
                del self._passes[t]
            return self._t
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

    def _check(self, key: int) -> None:
        if not 0 <= key <= self._t:
            raise PezoError(f"step {key} has not been drawn (last step {self._t})")
        if self.stream and key not in self._passes:
            raise PezoError(f"step {key} is older than the {self.keep} steps this source keeps")

    def _convert(self, codes: torch.Tensor) -> torch.Tensor:
        return codes_to_z(codes, self.cfg)

    def codes(self, key: int) -> torch.Tensor:
        """Engine codes of step ``key`` (the pass values as the hardware streams them)."""
        self._check(key)
        if self.stream:
            return self._join(self.engine.values(self._passes[key]), self._dtype)
        if key >= self._start:
            return self._codes[key - self._start]
        start = max((s for s in self._snaps if s <= key), default=None)
        if start is None:
            raise PezoError(f"step {key} is older than the {self.keep} steps this source keeps")
        if self._old is None or self._old[0] != start:
            # regenerate the older block from the registers saved at its start
            self._old = (start, _copy_engine(self._snaps[start]).passes(self.block, self.d).to(self._dtype))
        return self._old[1][key - start]

    def _join(self, chunks: Iterator[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        out, off = torch.empty(self.d, dtype=dtype), 0
        for c in chunks:                      # each chunk is valid until the next: copy it now
            out[off:off + len(c)] = c
            off += len(c)
        return out

    def z(self, key: int) -> torch.Tensor:
        if self.stream:
            self._check(key)
            return self._join(self.chunks(key), torch.float32)
        return codes_to_z(self.codes(key), self.cfg)

    def chunks(self, key: int) -> Iterator[torch.Tensor]:
        """:meth:`z` in consecutive pieces; each is valid only until the next is requested."""
        self._check(key)
        if self.stream:
            yield from self.engine.values(self._passes[key], self._convert)
        else:
            yield self.z(key)
