"""The one configuration object every part of pezo takes.

(One file of ~500 lines on purpose: the whole TOML vocabulary, its defaults and its validation
are the project's single source of truth, DESIGN.md section 2, and read best in one place.)

A tree of frozen dataclasses, loaded from TOML (or the defaults) and validated at load time:
an invalid value is rejected with its dotted path, the value and what is allowed. Derived
quantities (lane seeds, the selected polynomial, bits per cycle) are computed here or in
:mod:`pezo.lfsr` from this object, never re-derived elsewhere.

Example::

    [engine]
    lanes = 8
    value_bits = 8

    [engine.lfsr]
    width = 63
    structure = "galois"
    seed = 0x1
    lanes = 1          # LFSRs in the bank, each with its own start state
    k = 63             # fresh bits per LFSR per cycle (leap-forward)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from . import gf2
from .errors import PezoError
from .lfsr import MAX_WIDTH, MIN_WIDTH, STRUCTURES, LfsrParams, lane_seeds, scramble, select_taps

SOURCES = ("uniform", "rademacher", "gaussian-clt", "gaussian-icdf", "gaussian-boxmuller")
STRATEGIES = ("none", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation", "on-the-fly")
SCALE_MODES = ("fixed", "adaptive")
#: ``engine.value_bits = 0`` means this width for the source (8 for the others).
NATURAL_BITS = {"rademacher": 2}


class ConfigError(PezoError):
    """An invalid configuration: names the field's dotted path, the value and what is allowed."""

    def __init__(self, path: str, value: Any, allowed: str):
        self.path, self.value, self.allowed = path, value, allowed
        super().__init__(f"{path} = {_show(value)}: {allowed}")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


@dataclass(frozen=True)
class LfsrConfig:
    """The bank of uniform generators every source draws from (DESIGN.md 4.1)."""

    width: int = 31
    structure: str = "galois"
    seed: int = 0x1
    lanes: int = 1
    k: int = 8
    taps: tuple[int, ...] = ()
    replay: bool = True

    def validate(self, path: str) -> None:
        _in_range(f"{path}.width", self.width, MIN_WIDTH, MAX_WIDTH)
        _one_of(f"{path}.structure", self.structure, STRUCTURES)
        if not 1 <= self.seed < 1 << self.width:
            raise ConfigError(f"{path}.seed", self.seed,
                              f"must be in 1..2**{self.width}-1 (the all-zero state locks an LFSR)")
        _in_range(f"{path}.k", self.k, 1, self.width, "(fresh bits per cycle cannot exceed the state width)")
        _in_range(f"{path}.lanes", self.lanes, 1, 64)
        if self.lanes > 2**self.width - 1:
            raise ConfigError(f"{path}.lanes", self.lanes,
                              f"a width-{self.width} LFSR has only {2**self.width - 1} distinct non-zero states")
        if self.taps:
            if max(self.taps) != self.width or min(self.taps) < 1 or len(set(self.taps)) != len(self.taps):
                raise ConfigError(f"{path}.taps", list(self.taps),
                                  f"distinct exponents in 1..{self.width} including {self.width}")
            if not gf2.is_primitive(gf2.taps_to_poly(self.taps)):
                raise ConfigError(f"{path}.taps", list(self.taps),
                                  "not a primitive polynomial: the LFSR would not have maximal period")

    @property
    def params(self) -> LfsrParams:
        """The polynomial in use: ``taps`` if given, else the table's choice for (width, k)."""
        taps = self.taps or select_taps(self.width, self.k, self.structure)
        return LfsrParams(self.width, tuple(taps), self.structure, self.k)

    @property
    def seeds(self) -> list[int]:
        """Start state of each LFSR in the bank: lane 0 at ``scramble(seed)``, the others evenly
        spaced after it on the sequence (see :func:`pezo.lfsr.lane_seeds`)."""
        return lane_seeds(self.params, scramble(self.seed, self.width), self.lanes)

    @property
    def bits_per_cycle(self) -> int:
        return self.lanes * self.k


@dataclass(frozen=True)
class ReuseConfig:
    """PeZO reuse strategy (DESIGN.md 4.2)."""

    strategy: str = "none"
    pool_size: int = 64
    refresh: int = 8

    def validate(self, path: str) -> None:
        _one_of(f"{path}.strategy", self.strategy, STRATEGIES)
        if not (2 <= self.pool_size <= 256 and _pow2(self.pool_size)):
            raise ConfigError(f"{path}.pool_size", self.pool_size,
                              "must be a power of two in 2..256 (the largest pool the engine is built for)")
        if not (1 <= self.refresh <= self.pool_size and _pow2(self.refresh)):
            raise ConfigError(f"{path}.refresh", self.refresh,
                              f"must be a power of two in 1..{self.pool_size} (entries replaced per step)")

    @property
    def index_bits(self) -> int:
        """p = log2(pool_size): bits of a pool index or offset."""
        return self.pool_size.bit_length() - 1


@dataclass(frozen=True)
class ScaleConfig:
    """Uniform-to-scaled mapping (DESIGN.md 4.3)."""

    mode: str = "fixed"

    def validate(self, path: str) -> None:
        _one_of(f"{path}.mode", self.mode, SCALE_MODES)


@dataclass(frozen=True)
class GaussianConfig:
    """Parameters of the Gaussian baseline sources (DESIGN.md 4.4), used when
    ``engine.source`` is one of them. Table generation is in :mod:`pezo.gaussian`."""

    clt_terms: int = 4
    icdf_degree: int = 0            # 0: 1 for value_bits <= 10, else 2
    icdf_segment_bits: int = 0      # 0: 4 for degree 1, 3 for degree 2
    icdf_uniform_bits: int = 0      # 0: value_bits + 10 (<= 10 bits) or + 6
    icdf_arg_bits: int = 0          # 0: 10 (<= 10 bits) or 16; capped at uniform bits - segment bits
    icdf_multiplier: str = "dsp"    # "dsp": inferred multipliers; "lut": shift-add trees, no DSP

    def validate(self, path: str) -> None:
        _in_range(f"{path}.clt_terms", self.clt_terms, 2, 16, "(uniforms summed per gaussian-clt value)")
        _in_range(f"{path}.icdf_degree", self.icdf_degree, 0, 2, "(gaussian-icdf polynomial degree; 0 = by value_bits)")
        _in_range(f"{path}.icdf_segment_bits", self.icdf_segment_bits, 0, 6,
                  "(gaussian-icdf: 2**bits segments per octave; 0 = by degree)")
        if self.icdf_uniform_bits:
            _in_range(f"{path}.icdf_uniform_bits", self.icdf_uniform_bits, 18, 40,
                      "(gaussian-icdf magnitude bits per value; 0 = by value_bits)")
        _in_range(f"{path}.icdf_arg_bits", self.icdf_arg_bits, 0, 16,
                  "(gaussian-icdf polynomial argument bits; 0 = by value_bits)")
        _one_of(f"{path}.icdf_multiplier", self.icdf_multiplier, ("dsp", "lut"))


@dataclass(frozen=True)
class EngineConfig:
    """The perturbation engine: ``lanes`` signed ``value_bits`` values per cycle.

    The default is the design chosen by measurement (docs/results/hardware.md and
    training.md): 8 lanes of Rademacher +-1 values from one 31-bit LFSR. ``value_bits = 0``
    (the default) is the source's own width: 2 for ``rademacher``, 8 for the others.
    """

    lanes: int = 8
    value_bits: int = 0
    source: str = "rademacher"
    max_params: int = 1 << 20
    lfsr: LfsrConfig = field(default_factory=LfsrConfig)
    reuse: ReuseConfig = field(default_factory=ReuseConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    gaussian: GaussianConfig = field(default_factory=GaussianConfig)

    def __post_init__(self) -> None:
        if self.value_bits == 0:
            object.__setattr__(self, "value_bits", NATURAL_BITS.get(self.source, 8))

    def validate(self, path: str) -> None:
        _in_range(f"{path}.lanes", self.lanes, 1, 64)
        _in_range(f"{path}.value_bits", self.value_bits, 2, 32, "(0: the source's own width)")
        _one_of(f"{path}.source", self.source, SOURCES)
        _in_range(f"{path}.max_params", self.max_params, 1, 1 << 30, "(largest pass length d)")
        self.lfsr.validate(f"{path}.lfsr")
        self.reuse.validate(f"{path}.reuse")
        self.scale.validate(f"{path}.scale")
        self.gaussian.validate(f"{path}.gaussian")
        strategy, scale = self.reuse.strategy, self.scale.mode
        if self.source == "rademacher":
            # +-1 from one fresh bit: nothing to reuse, nothing to rescale, two levels
            if self.value_bits != 2:
                raise ConfigError(f"{path}.value_bits", self.value_bits,
                                  'engine.source = "rademacher" streams +-1 as 2-bit codes: must be 2')
            if strategy != "none":
                raise ConfigError(f"{path}.reuse.strategy", strategy,
                                  'engine.source = "rademacher" draws one fresh bit per value: use "none" '
                                  '(a reuse pool needs engine.source = "uniform")')
            if scale != "fixed":
                raise ConfigError(f"{path}.scale.mode", scale,
                                  'engine.source = "rademacher" is exactly +-1 (variance 1): use "fixed"')
        elif self.source != "uniform":
            # A Gaussian baseline is MeZO's generator: every value fresh, already sigma 1.
            if strategy != "none":
                raise ConfigError(f"{path}.reuse.strategy", strategy,
                                  f'engine.source = "{self.source}" draws every value fresh: use "none"')
            if scale != "fixed":
                raise ConfigError(f"{path}.scale.mode", scale,
                                  f'engine.source = "{self.source}" is already sigma 1: use "fixed"')
            _in_range(f"{path}.value_bits", self.value_bits, 4, 16,
                      f'(the {self.source} tables are built for 4..16-bit values)')
        elif self.value_bits < 3:
            raise ConfigError(f"{path}.value_bits", self.value_bits,
                              'uniform codes need 3..32 bits; for +-1 values use engine.source = "rademacher"')
        if strategy == "none" and scale == "adaptive":
            raise ConfigError(f"{path}.scale.mode", scale,
                              'needs a pool to normalise; with engine.reuse.strategy = "none" use "fixed"')
        if strategy == "on-the-fly":
            # a round of P generator outputs must start on a beat boundary (docs/engine.md)
            p = self.reuse.pool_size
            if p % self.lanes and self.lanes % p:
                raise ConfigError(f"{path}.reuse.pool_size", p,
                                  f'"on-the-fly" concatenates rounds of pool_size generator outputs, so '
                                  f'pool_size and engine.lanes = {self.lanes} must divide one another')

    def check_bank(self, path: str = "engine") -> None:
        """The bank must feed the engine; checked when an engine is built, not at load, so
        that a configuration for the LFSR bank alone stays valid (see
        :meth:`pezo.engine_params.EngineParams.check_bank`)."""
        from .engine_params import EngineParams

        EngineParams.from_config(self).check_bank(path)

    @functools.cached_property
    def params(self) -> "EngineParams":
        """The engine's parameters object (:class:`pezo.engine_params.EngineParams`)."""
        from .engine_params import EngineParams

        return EngineParams.from_config(self)


@dataclass(frozen=True)
class UpdateConfig:
    """The fixed-point ZO update datapath (DESIGN.md 4.5, docs/update.md).

    ``param`` and ``scalar`` are signed Q-formats (the parameters, the host's ``lr*g``);
    ``depth`` is the number of parameters the on-chip memory holds; ``dsp_lanes`` is how many
    lanes build their ``scalar x z`` product as a ``*`` that yosys maps to a DSP block, the
    others in LUTs (radix-4 Booth; default 7: the UP5K has 8 DSPs and the adaptive engine
    uses one; a value above ``engine.lanes`` means every lane). ``memory`` is where the
    parameters live: ``"bram"`` (a read and a write port: full rate) or ``"spram"`` (the iCE40
    UP5K's single-ported SB_SPRAM256KA: half rate, see docs/update.md).
    """

    param: str = "Q4.12"
    eps_shift: int = 6
    depth: int = 4096
    scalar: str = "Q2.14"
    dsp_lanes: int = 7
    memory: str = "bram"

    def validate(self, path: str) -> None:
        frac = _signed_q(f"{path}.param", self.param)[1]
        _in_range(f"{path}.eps_shift", self.eps_shift, 0, frac, f"(eps = 2**-eps_shift within the {frac} fraction bits)")
        _in_range(f"{path}.depth", self.depth, 1, 1 << 20, "(parameters held in on-chip memory)")
        _signed_q(f"{path}.scalar", self.scalar)
        _in_range(f"{path}.dsp_lanes", self.dsp_lanes, 0, 64, "(lanes whose product uses a DSP block)")
        _one_of(f"{path}.memory", self.memory, MEMORIES)

    def check_engine(self, engine: "EngineConfig", path: str = "update") -> None:
        """The memory must suit the engine that feeds it; checked when the datapath is built."""
        if self.depth % engine.lanes:
            raise ConfigError(f"{path}.depth", self.depth,
                              f"must be a multiple of engine.lanes = {engine.lanes} (one memory word per beat)")
        if self.depth > engine.max_params:
            raise ConfigError(f"{path}.depth", self.depth,
                              f"exceeds engine.max_params = {engine.max_params}: the engine could not "
                              "stream a pass over the whole memory")
        if self.memory == "spram":
            n = self.sprams_needed(engine)
            if n > SPRAM_COUNT:
                w = engine.lanes * sum(self.param_format)
                raise ConfigError(f"{path}.memory", self.memory,
                                  f"needs {n} SB_SPRAM256KA ({w}-bit words of engine.lanes = {engine.lanes} "
                                  f"parameters, {SPRAM_BITS} bits and {SPRAM_WORDS} words per SPRAM) and the "
                                  f"iCE40 UP5K has {SPRAM_COUNT}; use fewer lanes or a smaller depth, or \"bram\"")

    def sprams_needed(self, engine: "EngineConfig") -> int:
        """SB_SPRAM256KA (16Ki x 16 bit) blocks a parameter memory of one word per beat needs."""
        wide = -(-engine.lanes * sum(self.param_format) // SPRAM_BITS)
        deep = -(-(self.depth // engine.lanes) // SPRAM_WORDS)
        return wide * deep

    @property
    def param_format(self) -> tuple[int, int]:
        """(integer bits incl. sign, fraction bits) of a parameter."""
        return _signed_q("update.param", self.param)

    @property
    def scalar_format(self) -> tuple[int, int]:
        """(integer bits incl. sign, fraction bits) of the ``lr*g`` scalar."""
        return _signed_q("update.scalar", self.scalar)


#: Parameter memories (``update.memory``).
MEMORIES = ("bram", "spram")
#: The iCE40 UP5K's single-port RAMs: count, width (bits) and depth (words) of each.
SPRAM_COUNT, SPRAM_BITS, SPRAM_WORDS = 4, 16, 16384


def _signed_q(path: str, text: str) -> tuple[int, int]:
    m = re.fullmatch(r"Q(\d+)(?:\.(\d+))?", text)
    if not m:
        raise ConfigError(path, text, 'a Q-format such as "Q4.12" (signed: parameters and lr*g have a sign)')
    ints, frac = int(m.group(1)), int(m.group(2) or 0)
    if ints < 1 or not 2 <= ints + frac <= 32:
        raise ConfigError(path, text, "needs >= 1 integer bit (the sign) and a total width of 2..32 bits")
    return ints, frac


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``Config()`` is the default design."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)

    def validate(self) -> "Config":
        self.engine.validate("engine")
        self.update.validate("update")
        return self

    def to_dict(self) -> dict:
        return _to_dict(self)

    def to_toml(self) -> str:
        """The effective configuration as TOML (every field, defaults included)."""
        lines: list[str] = []
        _emit_toml(self.to_dict(), [], lines)
        return "\n".join(lines).lstrip("\n") + "\n"

    def digest(self, *sections: str) -> str:
        """Stable hash of every field, or of the top-level ``sections`` named (a design's
        cache key covers only the sections it is built from): keys caches and names reports."""
        data = self.to_dict()
        if sections:
            data = {name: data[name] for name in sections}
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> "Config":
        """A copy with dotted-path changes, validated: ``cfg.replace(**{"engine.lfsr.k": 8})``.

        A new ``engine.source`` without an ``engine.value_bits`` takes the source's own width
        (``value_bits = 0``), as a file that sets only the source would."""
        data = self.to_dict()
        if "engine.source" in changes and "engine.value_bits" not in changes:
            changes = {**changes, "engine.value_bits": 0}
        for dotted, value in changes.items():
            node = data
            *parents, leaf = dotted.split(".")
            for p in parents:
                if not isinstance(node.get(p), dict):
                    raise ConfigError(dotted, value, "unknown key")
                node = node[p]
            node[leaf] = list(value) if isinstance(value, tuple) else value
        return from_dict(data)


def _to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return list(obj)
    return obj


def _emit_toml(d: dict, path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
    if path:
        lines += ["", f"[{'.'.join(path)}]"]
    for k, v in scalars.items():
        if isinstance(v, bool):
            text = "true" if v else "false"
        elif k == "seed":
            text = hex(v)
        else:
            text = json.dumps(v)
        lines.append(f"{k} = {text}")
    for k, v in d.items():
        if isinstance(v, dict):
            _emit_toml(v, [*path, k], lines)


def _pow2(v: int) -> bool:
    return v > 0 and v & (v - 1) == 0


def _in_range(path: str, value: int, lo: int, hi: int, why: str = "") -> None:
    if not lo <= value <= hi:
        raise ConfigError(path, value, f"must be in {lo}..{hi}" + (f" {why}" if why else ""))


def _one_of(path: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(path, value, "must be one of " + ", ".join(json.dumps(a) for a in allowed))


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(path or "<root>", data, "must be a table")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, data[key], "unknown key; allowed here: " + ", ".join(names))
    kwargs = {}
    for name in names:
        if name not in data:
            continue
        where = f"{path}.{name}" if path else name
        kwargs[name] = _coerce(hints[name], data[name], where)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, value, "must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, value, "must be an integer")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, value, "must be a string")
        return value
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ConfigError(path, value, "must be a list of integers")
        return tuple(value)
    raise TypeError(f"unsupported field type {hint} at {path}")  # a bug in this module, not input


def from_dict(data: dict) -> Config:
    """Build and validate a :class:`Config` from nested dicts (as parsed from TOML)."""
    return _build(Config, data, "").validate()


def load(path: str | Path | None = None) -> Config:
    """Load and validate a TOML configuration; ``None`` gives the defaults."""
    if path is None:
        return Config().validate()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise PezoError(f"cannot read configuration {path}: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PezoError(f"{path}: invalid TOML: {e}") from None
    try:
        return from_dict(data)
    except ConfigError as e:
        raise ConfigError(e.path, e.value, f"{e.allowed} (in {path})") from None



def sets(path: str | Path | None, dotted: str) -> bool:
    """Whether the TOML file at ``path`` sets the key ``dotted`` itself (``None``: the defaults
    set nothing). ``pezo train`` derives the LFSR seed from the run seed unless the file pins
    ``engine.lfsr.seed``."""
    if path is None:
        return False
    try:
        node: Any = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False                      # load() reports the file's problem
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
