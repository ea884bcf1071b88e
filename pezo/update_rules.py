"""Fixed-point rules of the ZO update datapath, shared by its hardware and its golden model.

Symbols (docs/update.md): parameters are signed ``Q(W-F).F`` codes (``update.param``), engine
values are signed B-bit codes with ``C`` fraction bits (``engine.value_bits``; ``C = B-3``, or 0
for the +-1 codes of ``engine.source = "rademacher"``:
:attr:`pezo.engine_params.EngineParams.code_frac`), the host's ``lr*g`` scalar is a signed
``Q(S-Fs).Fs`` code (``update.scalar``), ``eps = 2**-e`` (``update.eps_shift``).

* **delta** (perturbation, once per value): ``z * eps`` in the parameter format,
  ``z * 2**ds`` with ``ds = F - C - e``; exact when ``ds >= 0``, else rounded to nearest,
  ties to even (symmetric: ``delta(-z) = -delta(z)``, so the perturbation keeps zero mean).
* **product** (update): ``s * z`` (exact, ``S + B`` bits) in the parameter format, shifted
  right by ``ps = Fs + C - F`` rounding to nearest, ties to even (left, exact, if ``ps < 0``).
  With +-1 codes (``unit``) the rounding is symmetric, so ``product(s, z) = z * product(s, 1)``:
  the hardware rounds the scalar once per pass and negates it per lane, with no multiplier.
* **ops** (the term added to theta): ``PLUS`` and ``RESTORE`` ``+delta``, ``MINUS2``
  ``-(delta << 1)``, ``UPDATE`` ``-product``; the sum saturates to the parameter range and
  raises the sticky overflow flag. Without saturation PLUS, MINUS2, RESTORE return theta
  bit-exactly.

Every function takes Python ints or torch int64 tensors (through :mod:`pezo.fixed`), so the
hardware and the model cannot disagree about a rounding; this module never imports torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import IntEnum

from pezo import fixed
from pezo.config import Config
from pezo.engine_params import EngineParams, Source
from pezo.errors import PezoError

__all__ = ["Op", "Cmd", "UpdateRules", "PIPELINE_DEPTH", "scalar_code", "system_engine"]

#: Cycles from a beat's transfer to its write: read issued, term registered, sum registered,
#: saturated and written.
PIPELINE_DEPTH = 3


class Op(IntEnum):
    """The four passes of a ZO step, in order; PLUS starts a new engine step (``begin``)."""

    PLUS = 0      # theta + eps*z
    MINUS2 = 1    # theta - 2*eps*z
    RESTORE = 2   # theta + eps*z (back to theta)
    UPDATE = 3    # theta - (lr*g)*z


class Cmd(IntEnum):
    """Host commands of the ``pezo_update`` system (acted on only while ``busy`` is low)."""

    NOP = 0
    WRITE = 1     # mem[addr] <- wdata (one word: lanes parameters)
    READ = 2      # rdata <- mem[addr], visible after the next edge
    SCALAR = 3    # scalar <- wdata[0:S] (the lr*g code)
    PASS = 4      # run pass `op` over d parameters
    CLEAR = 5     # clear the sticky overflow flag


@dataclass(frozen=True)
class UpdateRules:
    """Widths and rounding of the datapath for one configuration.

    Parameters
    ----------
    W, F : int
        Parameter width and fraction bits.
    S, Fs : int
        Scalar width and fraction bits.
    B : int
        Engine value bits.
    eps_shift : int
        ``eps = 2**-eps_shift``.
    lanes, depth : int
        Parameters per word and per memory.
    C : int
        Fraction bits of an engine code (``B-3``; 0 for +-1).
    unit : bool
        Every code is +1 or -1 (``engine.source = "rademacher"``): the datapath has no
        multiplier.
    spram : bool
        The parameters live in the UP5K's single-ported SPRAM (``update.memory = "spram"``).
    dsp_lanes : int
        Lanes whose ``s * z`` is a DSP multiplier (0 with ``unit``), the rest in logic.
    engine : EngineParams or None
        The engine inside the update system (:func:`system_engine`); None for rules built by
        hand (the datapath's arithmetic alone).
    """

    W: int
    F: int
    S: int
    Fs: int
    B: int
    eps_shift: int
    lanes: int
    depth: int
    C: int
    unit: bool = False
    spram: bool = False
    dsp_lanes: int = 0
    engine: EngineParams | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def from_config(cls, cfg: Config) -> "UpdateRules":
        u, e = cfg.update, cfg.engine
        u.check_engine(e)
        ep = EngineParams.from_config(e)
        pi, pf = u.param_format
        si, sf = u.scalar_format
        unit = ep.source is Source.RADEMACHER
        return cls(pi + pf, pf, si + sf, sf, e.value_bits, u.eps_shift, e.lanes, u.depth, ep.code_frac,
                   unit, u.memory == "spram", 0 if unit else min(u.dsp_lanes, e.lanes), system_engine(cfg))

    @property
    def words(self) -> int:
        """Memory words (one word = ``lanes`` parameters)."""
        return self.depth // self.lanes

    @property
    def delta_shift(self) -> int:
        return self.F - self.C - self.eps_shift

    @property
    def product_shift(self) -> int:
        return self.Fs + self.C - self.F

    @property
    def lo(self) -> int:
        return -(1 << (self.W - 1))

    @property
    def hi(self) -> int:
        return (1 << (self.W - 1)) - 1

    def _shift(self, x, k: int):
        return x * (1 << k) if k >= 0 else fixed.shift_right(x, -k, fixed.Rounding.NEAREST_EVEN)

    def delta(self, z):
        """``z * eps`` as a parameter code (see the module docstring)."""
        return self._shift(z, self.delta_shift)

    def product(self, s, z):
        """``s * z`` as a parameter code."""
        return self._shift(s * z, -self.product_shift)

    def term(self, op: int, z, s=0):
        """What the pass ``op`` adds to theta."""
        if op in (Op.PLUS, Op.RESTORE):
            return self.delta(z)
        if op == Op.MINUS2:
            return -2 * self.delta(z)
        return -self.product(s, z)

    def apply(self, theta, op: int, z, s=0):
        """``(new theta, overflowed)``: theta + term, saturated to the parameter range."""
        raw = theta + self.term(op, z, s)
        return fixed.saturate_flag(raw, fixed.QFormat(self.W - self.F, self.F))

    def d_eff(self, d: int) -> int:
        """The pass length the controller uses: ``min(d, depth)``."""
        return min(int(d), self.depth)


def system_engine(cfg: Config) -> EngineParams:
    """The engine inside the update system: ``cfg.engine`` with passes no longer than the
    memory (``max_params = update.depth``), since the controller clamps ``d`` to the depth;
    its pass-length counter is that much narrower. Hardware and golden model both use it."""
    return dataclasses.replace(EngineParams.from_config(cfg), max_params=cfg.update.depth)


def scalar_code(loss_plus: float, loss_minus: float, eps_eff: float, c: float, lr: float, S: int, Fs: int) -> int:
    """The host's scalar (docs/update.md "The host's scalar"): the code of ``c * lr * g``,
    ``g = (L+ - L-) / (2 eps_eff)``, rounded to nearest (ties to even) and saturated to the
    ``S``-bit scalar with ``Fs`` fraction bits. Pure Python: the simulator's host uses it too."""
    x = c * lr * ((loss_plus - loss_minus) / (2 * eps_eff)) * 2.0 ** Fs
    if math.isnan(x):
        raise PezoError(f"the losses are not numbers (L+ = {loss_plus}, L- = {loss_minus}): training diverged")
    lim = 1 << (S - 1)
    if math.isinf(x):
        return lim - 1 if x > 0 else -lim
    return min(max(round(x), -lim), lim - 1)
