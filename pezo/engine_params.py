"""The perturbation engine's parameters object (DESIGN.md 4.0, the ``amaranth.lib.crc`` pattern).

:class:`EngineParams` is built once from the configuration and holds every rule of the engine
that more than one place needs: the source and the reuse strategy as enums with their traits,
the pool's refill sizes, the fresh bits each part draws, the cycles a pass primes, the layout of
a beat on the stream, and the scale that turns a code into the perturbation ``z``. The hardware
(:mod:`pezo.hw.engine`), the golden model (:mod:`pezo.sw.golden.engine`), the co-simulation
traces, the training sources, the statistics and the tests read it; none of them compares a
strategy's name or re-derives a width. docs/engine.md is the register-level contract.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from functools import cached_property

from amaranth.hdl import signed
from amaranth.lib import data

from .config import Config, ConfigError, EngineConfig, LfsrConfig
from .lfsr import BankParams
from .scale import odd_code

__all__ = ["Source", "Strategy", "Offset", "Refill", "EngineParams", "odd_code", "beat_fields"]


class Source(enum.Enum):
    """Where a value comes from (``engine.source``)."""

    UNIFORM = "uniform"                      # odd codes of B-1 uniform bits (PeZO)
    RADEMACHER = "rademacher"                # +-1 from one bit (classic SPSA, FZOO)
    GAUSSIAN_CLT = "gaussian-clt"
    GAUSSIAN_ICDF = "gaussian-icdf"
    GAUSSIAN_BOXMULLER = "gaussian-boxmuller"

    @property
    def gaussian(self) -> bool:
        return self.value.startswith("gaussian-")


class Offset(enum.Enum):
    """Where a sequential strategy starts reading the pool in a step."""

    NONE = "none"          # at a fresh random index per value, or at entry 0
    RANDOM = "random"      # p fresh bits drawn with the last fill entry (pool, pool-sign)
    CARRY = "carry"        # where the previous step stopped: (offset + d) mod P (pre-generation)


class Refill(enum.Enum):
    """Which entries a step's ``begin`` redraws."""

    NEVER = "never"        # no pool
    EVERY = "every"        # all P entries every step
    SHIFT = "shift"        # all P at the first step, then the R oldest (ring buffer)
    ONCE = "once"          # all P at the first step only (pre-generated)


@dataclass(frozen=True)
class _Traits:
    pool: bool
    offset: Offset
    sign: bool          # one fresh bit per value flips its sign
    index: bool         # p fresh bits per value pick the entry
    rotate: bool        # the read position moves one more entry after every P values
    refill: Refill


class Strategy(enum.Enum):
    """PeZO reuse strategies (``engine.reuse.strategy``, docs/engine.md "Strategies")."""

    NONE = "none"
    POOL = "pool"
    POOL_SIGN = "pool-sign"
    POOL_INDEX = "pool-index"
    POOL_SHIFT = "pool-shift"
    PRE_GENERATION = "pre-generation"
    ON_THE_FLY = "on-the-fly"

    @property
    def traits(self) -> _Traits:
        return _TRAITS[self]

    @property
    def sequential(self) -> bool:
        """Reads the pool at consecutive positions (an offset, no per-value index)."""
        return self.traits.pool and not self.traits.index


_TRAITS = {
    Strategy.NONE: _Traits(False, Offset.NONE, False, False, False, Refill.NEVER),
    Strategy.POOL: _Traits(True, Offset.RANDOM, False, False, False, Refill.EVERY),
    Strategy.POOL_SIGN: _Traits(True, Offset.RANDOM, True, False, False, Refill.EVERY),
    Strategy.POOL_INDEX: _Traits(True, Offset.NONE, False, True, False, Refill.EVERY),
    Strategy.POOL_SHIFT: _Traits(True, Offset.NONE, False, True, False, Refill.SHIFT),
    Strategy.PRE_GENERATION: _Traits(True, Offset.CARRY, False, False, False, Refill.ONCE),
    Strategy.ON_THE_FLY: _Traits(True, Offset.NONE, False, False, True, Refill.EVERY),
}


def beat_fields(layout: data.Layout) -> list[tuple[str, int, int]]:
    """The leaves of a beat layout as ``(name, offset, width)``: ``values[l]`` then ``last``."""
    out = []
    values = layout["values"]
    for lane in range(values.shape.length):
        out.append((f"values[{lane}]", values.offset + lane * values.shape.elem_shape.width,
                    values.shape.elem_shape.width))
    out.append(("last", layout["last"].offset, layout["last"].width))
    return out


@dataclass(frozen=True)
class EngineParams:
    """Every derived rule of one engine configuration.

    Build it with :meth:`from_config`; the hardware, the golden model, the Gaussian units, the
    co-simulation traces, training and the statistics take it.

    Attributes
    ----------
    lanes, value_bits, pool_size, refresh, max_params : int
        L, B, P, R, D (docs/engine.md "Symbols").
    source : Source
    strategy : Strategy
    adaptive : bool
        ``engine.scale.mode == "adaptive"``.
    bank : LfsrConfig
        The LFSR bank that feeds the engine, as configured (see :attr:`engine_bank` for the
        one the engine builds).
    engine : EngineConfig
        The configuration it was built from (the Gaussian tables read it).
    """

    lanes: int
    value_bits: int
    source: Source
    strategy: Strategy
    pool_size: int
    refresh: int
    adaptive: bool
    max_params: int
    bank: LfsrConfig
    engine: EngineConfig

    @classmethod
    def from_config(cls, cfg: Config | EngineConfig) -> "EngineParams":
        e = cfg.engine if isinstance(cfg, Config) else cfg
        return cls(e.lanes, e.value_bits, Source(e.source), Strategy(e.reuse.strategy), e.reuse.pool_size,
                   e.reuse.refresh, e.scale.mode == "adaptive", e.max_params, e.lfsr, e)

    # -- the strategy ---------------------------------------------------------------------

    @property
    def traits(self) -> _Traits:
        return self.strategy.traits

    @property
    def pooled(self) -> bool:
        return self.traits.pool

    @property
    def index_bits(self) -> int:
        """p = log2(P): bits of a pool index or offset."""
        return self.pool_size.bit_length() - 1

    @property
    def direct(self) -> bool:
        """No pool and no pipeline: a beat's values are wiring from the bank's register, which
        advances when the beat is taken (docs/engine.md "Direct stream")."""
        return not self.pooled and not self.source.gaussian

    @property
    def stream_reads_bank(self) -> bool:
        """The bank advances with every beat (and priming cycle) of a pass: the strategy or the
        source reads fresh bits while streaming. ``pool``, ``pre-generation`` and ``on-the-fly``
        read none, so their bank holds still during a pass."""
        return self.stream_bits_per_beat > 0

    @property
    def pool_period(self) -> int:
        """Values after which a sequential strategy's read pattern repeats (P, or P**2 when
        the position rotates once per round)."""
        return self.pool_size ** 2 if self.traits.rotate else self.pool_size

    def pool_address(self, i, offset: int = 0):
        """The pool entry parameter ``i`` of a pass reads (sequential strategies; ints or
        tensors): ``(offset + i) mod P``, or with the per-round rotation of ``on-the-fly``
        ``(i + floor(i / P)) mod P``."""
        P = self.pool_size
        if self.traits.rotate:
            return (i + i // P) % P
        return (offset + i) % P

    def fill_size(self, filled: bool) -> int:
        """Entries a ``begin`` writes into the pool, given whether it was filled before."""
        r = self.traits.refill
        if r is Refill.NEVER or (r is Refill.ONCE and filled):
            return 0
        return self.refresh if r is Refill.SHIFT and filled else self.pool_size

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """Every non-zero fill size a step can have (the adaptive scale is tabulated for each)."""
        return tuple(sorted({n for n in (self.fill_size(False), self.fill_size(True)) if n}))

    # -- timing ---------------------------------------------------------------------------

    @cached_property
    def prime_cycles(self) -> int:
        """Cycles a pass spends filling a Gaussian unit's pipeline before its first beat."""
        if not self.source.gaussian:
            return 0
        from .gaussian import spec

        return spec(self.engine).latency - 1

    def fill_cycles(self, filled: bool) -> int:
        """FILL (+ SCALE) cycles after a ``begin``."""
        from .scale import SCALE_LATENCY

        n = self.fill_size(filled)
        return 0 if n == 0 else 2 * n + SCALE_LATENCY if self.adaptive else n

    # -- fresh random bits ----------------------------------------------------------------

    @cached_property
    def stream_bits_per_beat(self) -> int:
        """Fresh bits a beat of L values draws from the bank while streaming."""
        if self.source.gaussian:
            from .gaussian import spec, units

            return units(self.engine) * spec(self.engine).bits
        if self.source is Source.RADEMACHER:
            return self.lanes
        t = self.traits
        if not t.pool:
            return self.lanes * (self.value_bits - 1)
        return self.lanes * (int(t.sign) + (self.index_bits if t.index else 0))

    @property
    def offset_bits(self) -> int:
        """Fresh bits of the per-step offset (drawn with the last fill entry)."""
        return self.index_bits if self.traits.offset is Offset.RANDOM else 0

    def fill_bits_per_step(self, first: bool = False) -> int:
        """Fresh bits a step's fill draws (``first``: the first step after reset)."""
        n = self.fill_size(not first)
        return n * (self.value_bits - 1) + (self.offset_bits if n else 0)

    def fresh_bits_per_param(self, d: int) -> float:
        """Fresh bits per parameter for steady-state passes of ``d`` parameters (fill amortised)."""
        return self.stream_bits_per_beat / self.lanes + self.fill_bits_per_step() / d

    @property
    def bank_bits_needed(self) -> int:
        """Fresh bits per cycle the bank must give: a beat's, or with a pool one fill entry and
        the offset, whichever is more."""
        need = self.stream_bits_per_beat
        if self.pooled:
            need = max(need, self.value_bits - 1 + self.offset_bits)
        return need

    @property
    def bank_lanes_needed(self) -> int:
        """The fewest LFSRs of ``bank.k`` bits per cycle that feed the engine."""
        return -(-self.bank_bits_needed // self.bank.k)

    @cached_property
    def engine_bank(self) -> BankParams:
        """The bank the engine builds: ``bank`` with a replay shadow only where a pass reads
        it. ``pool``, ``pre-generation`` and ``on-the-fly`` replay from the pool alone, so
        their bank needs no snapshot (docs/results/engine-options.md)."""
        return BankParams.from_config(dataclasses.replace(self.bank, replay=self.stream_reads_bank))

    def check_bank(self, path: str = "engine") -> None:
        """The bank must feed the engine and replay its passes (checked when an engine is
        built, not at load, so that a configuration for the LFSR bank alone stays valid)."""
        if not self.bank.replay and self.stream_reads_bank:
            raise ConfigError(f"{path}.lfsr.replay", False,
                              "the engine replays passes that read the bank: must be true")
        need = self.bank_bits_needed
        if self.bank.bits_per_cycle < need:
            raise ConfigError(f"{path}.lfsr.lanes", self.bank.lanes,
                              f"the bank gives {self.bank.lanes} x {self.bank.k} = {self.bank.bits_per_cycle} "
                              f"fresh bits per cycle; {self.lanes} lanes of {self.source.value} values with "
                              f"reuse {self.strategy.value!r} need {need}")

    # -- values and scale -----------------------------------------------------------------

    @property
    def code_frac(self) -> int:
        """Fraction bits of a code: Q3.(B-3) for uniform and Gaussian codes, Q2.0 for +-1."""
        return 0 if self.source is Source.RADEMACHER else self.value_bits - 3

    @property
    def code_limit(self) -> int:
        """Largest code magnitude."""
        return 1 if self.source is Source.RADEMACHER else (1 << (self.value_bits - 1)) - 1

    @property
    def fold(self) -> float:
        """``c``: the standard deviation of ``z = c * code / 2**code_frac`` is 1.

        Uniform odd codes with ``fixed`` scale have standard deviation
        ``sqrt((4**(B-1) - 1) / 3) / 2**(B-3)`` (about ``4/sqrt(3)``), and the hardware folds
        ``c`` into eps and lr instead of multiplying every value (docs/engine.md "Scale");
        adaptive pools are rescaled to RMS 1, Gaussian codes have sigma 1 and +-1 has variance
        exactly 1, so there ``c = 1``.
        """
        if self.source is Source.UNIFORM and not self.adaptive:
            b = self.value_bits
            return (1 << (b - 3)) / math.sqrt(((1 << (2 * b - 2)) - 1) / 3)
        return 1.0

    @property
    def z_per_code(self) -> float:
        """``z = z_per_code * code`` (standard deviation ~1)."""
        return self.fold / (1 << self.code_frac)

    # -- the stream -----------------------------------------------------------------------

    @cached_property
    def beat_layout(self) -> data.StructLayout:
        """Payload of the engine's ``o`` stream: ``values[L]`` (signed B-bit codes) and ``last``."""
        return data.StructLayout({"values": data.ArrayLayout(signed(self.value_bits), self.lanes), "last": 1})

    @cached_property
    def _fields(self) -> list[tuple[str, int, int]]:
        return beat_fields(self.beat_layout)

    def pack_beat(self, values, last: int) -> int:
        """A beat's payload bit pattern (the layout's, as the ``o__payload`` port shows it)."""
        word = 0
        for (_name, off, width), v in zip(self._fields, [*values, last]):
            word |= (int(v) & ((1 << width) - 1)) << off
        return word

    def unpack_beat(self, word: int) -> tuple[list[int], int]:
        """``(values, last)`` of a payload bit pattern (values signed)."""
        vals = []
        for _name, off, width in self._fields[:-1]:
            v = (word >> off) & ((1 << width) - 1)
            vals.append(v - (1 << width) if v >> (width - 1) else v)
        _n, off, width = self._fields[-1]
        return vals, (word >> off) & ((1 << width) - 1)

    def describe(self) -> str:
        """One line for reports and progress messages."""
        if self.source is not Source.UNIFORM:
            return f"{self.lanes} x {self.source.value} ({self.value_bits}-bit codes)"
        return (f"{self.lanes} x {self.value_bits}-bit uniform, reuse {self.strategy.value}"
                + (f" (P = {self.pool_size})" if self.pooled else "")
                + f", {'adaptive' if self.adaptive else 'fixed'} scale")


def fit_bank(cfg: Config) -> Config:
    """``cfg`` with the bank that feeds its engine with the fewest state bits: one 31-bit LFSR
    when it gives the bits a cycle the engine needs, else the fewest 63-bit ones; ``k`` is the
    bits each must give rounded up to a power of two (the golden model's fast recurrence), at
    most the width. The rule of the headline benchmark and of ``pezo explore`` (``bank = "fit"``),
    so that designs of other lanes or value bits are compared with a bank sized alike."""
    need = cfg.replace(**{"engine.lfsr.width": 63, "engine.lfsr.k": 63,
                          "engine.lfsr.lanes": 1}).engine.params.bank_bits_needed
    width, n = (31, 1) if need <= 31 else (63, -(-need // 63))
    if n > 64:
        raise ConfigError("engine.lanes", cfg.engine.lanes, f"no bank of up to 64 LFSRs gives the {need} bits a cycle "
                          "it needs")
    k = min(width, 1 << max(0, (-(-need // n) - 1).bit_length()))
    cfg = cfg.replace(**{"engine.lfsr.width": width, "engine.lfsr.k": k, "engine.lfsr.lanes": n,
                         "engine.lfsr.taps": []})
    cfg.engine.check_bank()
    return cfg
