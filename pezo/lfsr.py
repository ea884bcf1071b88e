"""LFSR algorithm parameters: the polynomial table, state-transition matrices, lane seeds.

This is the ``amaranth.lib.crc.Parameters`` of pezo's LFSR bank: the hardware (``pezo.hw.lfsr``)
and the golden model (``pezo.sw.golden.lfsr``) are both built from a :class:`BankParams` (one
:class:`LfsrParams` polynomial, the lanes' start states, replay) and never from each other.

Conventions
-----------
A feedback polynomial is ``p(x) = 1 + sum(x**t for t in taps)`` with ``max(taps) == width``
(the notation of Xilinx XAPP052). The state is a ``width``-bit int, bit ``i`` = state bit ``i``.

* ``fibonacci``: the state holds ``width`` consecutive bits of the m-sequence
  ``s[t+n] = sum(s[t+e] for e in exponents of p below n)``; bit ``i`` is ``s[t+i]``, so one step
  shifts right and the new bit enters at the top.
* ``galois``: the state is a polynomial ``S(x)``; one step is ``S <- x*S mod p``.

Both have ``p`` as characteristic polynomial, so both have period ``2**width - 1`` when ``p``
is primitive. One clock cycle advances ``k`` steps (leap-forward: the state is multiplied by
the GF(2) matrix ``T**k``), and the ``k`` fresh bits of the cycle are the top ``k`` state bits
(``state >> (width - k)``), taken straight from the flip-flops. For Fibonacci these are exactly
the ``k`` newest sequence bits; for Galois they are an invertible linear mix of ``k``
consecutive sequence bits, so successive outputs never overlap either.

Polynomial choice
-----------------
The cost of leap-forward is the XOR fan-in of ``T**k``: each next-state bit is the XOR of the
state bits in one row. The table in ``pezo/lfsr_taps.json`` (made by
``scripts/gen_lfsr_taps.py``) records, for every width 3..64, every ``k`` in 1..width and both
structures, the maximal-length polynomial whose ``T**k`` needs the fewest 4-input LUTs, among
all primitive trinomials and pentanomials of that width and the XAPP052 entry, with its LUT
estimate, maximum and total fan-in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np

from . import gf2
from .errors import PezoError

STRUCTURES = ("galois", "fibonacci")
MIN_WIDTH, MAX_WIDTH = 3, 64

#: Maximal-length taps from P. Alfke, "Efficient Shift Registers, LFSR Counters, and Long
#: Pseudo-Random Sequence Generators", Xilinx XAPP052 v1.1 (1996), Table 3, widths 3..64.
#: Every entry is re-checked for primitivity by the tests.
XAPP052: dict[int, tuple[int, ...]] = {
    3: (3, 2), 4: (4, 3), 5: (5, 3), 6: (6, 5), 7: (7, 6), 8: (8, 6, 5, 4), 9: (9, 5),
    10: (10, 7), 11: (11, 9), 12: (12, 6, 4, 1), 13: (13, 4, 3, 1), 14: (14, 5, 3, 1),
    15: (15, 14), 16: (16, 15, 13, 4), 17: (17, 14), 18: (18, 11), 19: (19, 6, 2, 1),
    20: (20, 17), 21: (21, 19), 22: (22, 21), 23: (23, 18), 24: (24, 23, 22, 17),
    25: (25, 22), 26: (26, 6, 2, 1), 27: (27, 5, 2, 1), 28: (28, 25), 29: (29, 27),
    30: (30, 6, 4, 1), 31: (31, 28), 32: (32, 22, 2, 1), 33: (33, 20), 34: (34, 27, 2, 1),
    35: (35, 33), 36: (36, 25), 37: (37, 5, 4, 3, 2, 1), 38: (38, 6, 5, 1), 39: (39, 35),
    40: (40, 38, 21, 19), 41: (41, 38), 42: (42, 41, 20, 19), 43: (43, 42, 38, 37),
    44: (44, 43, 18, 17), 45: (45, 44, 42, 41), 46: (46, 45, 26, 25), 47: (47, 42),
    48: (48, 47, 21, 20), 49: (49, 40), 50: (50, 49, 24, 23), 51: (51, 50, 36, 35),
    52: (52, 49), 53: (53, 52, 38, 37), 54: (54, 53, 18, 17), 55: (55, 31),
    56: (56, 55, 35, 34), 57: (57, 50), 58: (58, 39), 59: (59, 58, 38, 37), 60: (60, 59),
    61: (61, 60, 46, 45), 62: (62, 61, 6, 5), 63: (63, 62), 64: (64, 63, 61, 60),
}


def lut4_cost(fanin: int) -> int:
    """4-input LUTs for an XOR of ``fanin`` inputs (a tree; a single input is a wire)."""
    return 0 if fanin <= 1 else math.ceil((fanin - 1) / 3)


def step_rows(width: int, taps: tuple[int, ...], structure: str) -> list[int]:
    """One-step transition matrix ``T`` in row-mask form (see :mod:`pezo.gf2`)."""
    low = gf2.taps_to_poly(taps) & ((1 << width) - 1)  # exponents below the leading term
    if structure == "fibonacci":
        return [1 << (j + 1) for j in range(width - 1)] + [low]
    return [((1 << (j - 1)) if j else 0) | (((low >> j) & 1) << (width - 1)) for j in range(width)]


def fanin_stats(rows: list[int]) -> tuple[int, int, int]:
    """(LUT4 estimate, max fan-in, total fan-in) of a matrix in row-mask form."""
    f = [bin(r).count("1") for r in rows]
    return sum(lut4_cost(x) for x in f), max(f), sum(f)


@cache
def _table() -> dict:
    text = resources.files("pezo").joinpath("lfsr_taps.json").read_text()
    return json.loads(text)


def select_taps(width: int, k: int, structure: str) -> tuple[int, ...]:
    """The table's polynomial for ``width``, ``k`` fresh bits per cycle and ``structure``."""
    entry = _table()["selected"][structure][str(width)][k - 1]
    return tuple(entry["taps"])


def table_entry(width: int, k: int, structure: str) -> dict:
    """The table record: taps, lut4, max_fanin, total_fanin."""
    return dict(_table()["selected"][structure][str(width)][k - 1])


@dataclass(frozen=True)
class LfsrParams:
    """One LFSR: polynomial, structure and leap-forward step.

    Parameters
    ----------
    width : int
        State bits, 3..64.
    taps : tuple of int
        Exponents of the feedback polynomial besides the constant term; ``max(taps) == width``.
    structure : str
        ``"galois"`` or ``"fibonacci"``.
    k : int
        Steps per clock cycle = fresh bits per cycle, 1..width.
    """

    width: int
    taps: tuple[int, ...]
    structure: str
    k: int

    def __post_init__(self) -> None:
        if not MIN_WIDTH <= self.width <= MAX_WIDTH:
            raise PezoError(f"LFSR width {self.width} outside {MIN_WIDTH}..{MAX_WIDTH}")
        if self.structure not in STRUCTURES:
            raise PezoError(f"LFSR structure {self.structure!r} not one of {STRUCTURES}")
        if not 1 <= self.k <= self.width:
            raise PezoError(f"LFSR k={self.k} outside 1..width={self.width}")
        if max(self.taps) != self.width or min(self.taps) < 1:
            raise PezoError(f"LFSR taps {list(self.taps)} must lie in 1..{self.width} and include {self.width}")

    @property
    def poly(self) -> int:
        return gf2.taps_to_poly(self.taps)

    @property
    def period(self) -> int:
        return 2**self.width - 1

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    @cached_property
    def step_rows(self) -> list[int]:
        return step_rows(self.width, self.taps, self.structure)

    @cached_property
    def leap_rows(self) -> list[int]:
        """``T**k``: the next state of one clock cycle, row by row."""
        return gf2.from_array(gf2.mat_pow(gf2.to_array(self.step_rows, self.width), self.k))

    def jump_rows(self, steps: int) -> list[int]:
        """``T**steps`` for any number of single steps (jump-ahead)."""
        return gf2.from_array(gf2.mat_pow(gf2.to_array(self.step_rows, self.width), steps))

    def output(self, state: int) -> int:
        """The ``k`` fresh bits visible while the register holds ``state``."""
        return state >> (self.width - self.k)

    def next_state(self, state: int) -> int:
        return gf2.mat_vec(self.leap_rows, state)

    def compute(self, seed: int, cycles: int) -> list[int]:
        """Bit-serial reference: outputs of ``cycles`` cycles from ``seed``, one LFSR step at a
        time (no matrices), for checking the leap-forward hardware and golden model."""
        low = self.poly & self.mask
        top = self.width - 1
        s, out = seed, []
        for _ in range(cycles):
            for _ in range(self.k):
                if self.structure == "fibonacci":
                    s = (s >> 1) | ((bin(s & low).count("1") & 1) << top)
                else:
                    s = ((s << 1) & self.mask) ^ (low if s >> top & 1 else 0)
            out.append(self.output(s))
        return out


def scramble(seed: int, width: int) -> int:
    """A dense start state from a user seed: the splitmix64 finaliser, masked to ``width``.

    A sparse state such as 1 is legal but an LFSR started there emits mostly zeros for tens of
    thousands of cycles (the weight of its words climbs slowly toward width/2), which biases
    the first steps of training. Never returns 0.
    """
    z = (seed + 0x9E3779B97F4A7C15) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    z ^= z >> 31
    return (z & ((1 << width) - 1)) or 1


def lane_jump(params: LfsrParams, lanes: int) -> int:
    """Steps from one lane's start to the next: ``period // lanes`` less a fixed pseudo-random
    amount below half of it.

    Lane ``i+1``'s state is lane ``i``'s times ``x**jump``. An even split is a trap: for
    ``lanes = 2**j``, ``x**(period // lanes)`` is a ``2**j``-th root of a small power of x,
    which the Frobenius map makes sparse (for x^63+x^31+1 every bit of lane i+1 was the XOR of
    about 2 bits of lane i, and fields straddling two lanes were skewed). A pseudo-random
    exponent gives a dense map; lanes still do not overlap for ``period // (2 * lanes)`` steps.
    """
    even = params.period // lanes
    return even - scramble(lanes, 64) % max(1, even // 2)


def lane_seeds(params: LfsrParams, seed: int, lanes: int) -> list[int]:
    """Start states of a bank of ``lanes`` LFSRs sharing one polynomial.

    Lane ``i`` starts ``i * lane_jump(params, lanes)`` steps after ``seed`` on the one
    m-sequence, so the lanes are distinct and no two lanes overlap for ``period // (2 * lanes)``
    steps.
    """
    if not 1 <= seed <= params.mask:
        raise PezoError(f"LFSR seed {seed:#x} outside 1..{params.mask:#x}")
    if lanes > params.period:
        raise PezoError(f"{lanes} lanes need distinct seeds, a width-{params.width} LFSR has {params.period}")
    jump = params.jump_rows(lane_jump(params, lanes))
    seeds = [seed]
    for _ in range(lanes - 1):
        seeds.append(gf2.mat_vec(jump, seeds[-1]))
    return seeds


@dataclass(frozen=True)
class BankParams:
    """The LFSR bank's parameters object (DESIGN.md 4.0): what its hardware and its golden model
    are built from.

    Parameters
    ----------
    lfsr : LfsrParams
        The polynomial, structure and leap of every lane.
    seeds : tuple of int
        Start (reset) state of each lane; their number is the number of lanes.
    replay : bool
        The bank has a shadow register per lane (``snapshot``/``restore``).
    """

    lfsr: LfsrParams
    seeds: tuple[int, ...]
    replay: bool

    @classmethod
    def from_config(cls, cfg) -> "BankParams":
        """From a :class:`pezo.config.LfsrConfig`, or a Config's ``engine.lfsr`` (the bank as
        configured: the ``lfsr`` design; the engine builds
        :attr:`pezo.engine_params.EngineParams.engine_bank`)."""
        cfg = cfg.engine.lfsr if hasattr(cfg, "engine") else cfg
        return cls(cfg.params, tuple(cfg.seeds), cfg.replay)

    @property
    def lanes(self) -> int:
        return len(self.seeds)

    @property
    def width(self) -> int:
        return self.lfsr.width

    @property
    def k(self) -> int:
        return self.lfsr.k

    @property
    def bits_per_cycle(self) -> int:
        return self.lanes * self.k


def leap_array(params: LfsrParams) -> np.ndarray:
    """``T**k`` as a dense 0/1 array (for vectorised models)."""
    return gf2.to_array(params.leap_rows, params.width)
