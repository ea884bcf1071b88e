"""Gaussian baseline sources (DESIGN.md 4.4): the shared contract and the reference law.

Each source (``engine.source``) is a *unit*: a pipelined function from uniform bits to
``outputs`` signed ``value_bits`` codes, read as Q3.(B-3) like every engine value (code
``T = 2**(B-3)`` is sigma 1, so the codes span about +-4 sigma). The engine instantiates
``units(e) = ceil(lanes / outputs)`` units; unit ``j`` reads the bank's ``out`` port bits
``[j*S, (j+1)*S)``, ``S = spec(e).bits``, split into ``spec(e).fields`` (field 0 at the low bits),
and serves lanes ``[j*outputs, (j+1)*outputs)`` (a last unit's surplus outputs are dropped).

Per source there are three modules that never import each other:

* ``pezo/gaussian/<name>.py`` (spine): ``spec(e)`` and the tables, generated at run time from
  the configuration, which the hardware and the golden model both take from here;
* ``hw/gaussian/<name>.py``: ``Unit(e)``, an Amaranth component with ports ``bits`` (In, S),
  ``en`` (In, 1) and ``values`` (Out, ``ArrayLayout(signed(B), outputs)``). Every register of the
  unit (block-RAM read ports included) advances only on a cycle with ``en`` high; ``values``
  after the edge of the ``latency``-th ``en`` cycle, counting the cycle that presented ``bits``
  as the first, is ``f(bits)``. What ``values`` shows before is unspecified;
* ``sw/golden/gaussian/<name>.py``: ``Sampler(e)``, whose call maps the fields (a list of int64
  tensors [n], one per field) to ``f`` as int64 codes [n, outputs], vectorised and bit-exact.

The names map to modules through :data:`MODULES`. The engine's use of a unit (priming the
pipeline, replay) is in docs/engine.md; each source's exact algorithm is docs/gaussian.md.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pezo.config import EngineConfig

MODULES = {"gaussian-clt": "clt", "gaussian-icdf": "icdf", "gaussian-boxmuller": "boxmuller"}


@dataclass(frozen=True)
class SourceSpec:
    """What one unit of a source consumes and produces.

    Attributes
    ----------
    fields : tuple of int
        Widths of the uniform bit fields one evaluation reads, low bits first (each <= 62).
    outputs : int
        Values per evaluation (2 for Box-Muller).
    latency : int
        ``en`` cycles from ``bits`` to ``values`` (>= 1: ``values`` is registered).
    """

    fields: tuple[int, ...]
    outputs: int
    latency: int

    @property
    def bits(self) -> int:
        return sum(self.fields)


def _module(source: str):
    try:
        return importlib.import_module(f"pezo.gaussian.{MODULES[source]}")
    except KeyError:
        raise ValueError(f"{source!r} is not a Gaussian source") from None


def spec(e: "EngineConfig") -> SourceSpec:
    """The unit of ``e.source`` for this configuration."""
    return _module(e.source).spec(e)


def units(e: "EngineConfig") -> int:
    """Units the engine instantiates: ``ceil(lanes / outputs)``."""
    return -(-e.lanes // spec(e).outputs)


def code_limit(value_bits: int) -> int:
    """Largest code magnitude: codes are symmetric, ``[-(2**(B-1) - 1), 2**(B-1) - 1]``."""
    return (1 << (value_bits - 1)) - 1


@lru_cache(maxsize=32)
def reference_pmf(value_bits: int) -> tuple[float, ...]:
    """The law every source approximates: ``x ~ N(0, 1)`` rounded to the nearest code of
    Q3.(B-3) and saturated at +-``code_limit``. Probabilities of codes ``-lim .. lim``."""
    t, lim = 1 << (value_bits - 3), code_limit(value_bits)
    cdf = [0.5 * math.erfc(-((c + 0.5) / t) / math.sqrt(2)) for c in range(-lim, lim)]
    edges = [0.0] + cdf + [1.0]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:]))
