"""Golden model of the perturbation engine (:mod:`pezo.hw.engine`): the reference, one clock
edge at a time, bit-exact and cycle-accurate.

Read it against ``docs/engine.md`` register by register. :meth:`Engine.step` is one rising edge
with the ports ``start``, ``replay``, ``d``, ``ready``; the co-simulation calls it every cycle.
The fast stream that training, the statistics and the update system's whole passes use
(:class:`pezo.sw.golden.engine_stream.EngineStream`: whole ZO steps at once, vectorised) is
proven equal to it by the tests; this module never imports it.

``rnd`` is the bank's ``out`` flattened: LFSR lane ``j`` holds bits ``[j*k, (j+1)*k)``. The
odd code, ROM, scale and rescale rules come from :mod:`pezo.scale`, every other rule (strategy
traits, fill sizes, addresses, priming) from :class:`pezo.engine_params.EngineParams`.
"""

from __future__ import annotations

import torch

from pezo import scale
from pezo.engine_params import EngineParams, Offset, Source
from pezo.errors import PezoError
from pezo.scale import odd_code
from pezo.sw.golden.gaussian import BeatValues
from pezo.sw.golden.lfsr import LfsrBank

__all__ = ["Engine", "adaptive_rom", "negate_code", "odd_code", "IDLE", "FILL", "SCALE", "STREAM"]

IDLE, FILL, SCALE, STREAM = range(4)
STATE_NAMES = ("IDLE", "FILL", "SCALE", "STREAM")


def negate_code(z: int, value_bits: int) -> int:
    """The hardware sign flip ``z ^ (2**B - 2)`` read back as a signed B-bit code.

    Equals ``-z`` for every odd code; a 0 (the reset pool) becomes -2.
    """
    mask = (1 << value_bits) - 1
    y = (z ^ (mask - 1)) & mask
    return y - (1 << value_bits) if y >> (value_bits - 1) else y


def adaptive_rom(value_bits: int) -> list[list[int]]:
    """The 2 x 16 table ``rom[q][idx] = round(64 * g(f_mid))``, ``f_mid = 1 + (idx + 0.5)/16``,
    ``g = 1/sqrt(f)`` (``q = 0``) or ``1/sqrt(2f)`` (``q = 1``).

    The page keeps the scale rules in :mod:`pezo.scale`, shared with the hardware; this is its
    ROM. It does not depend on ``value_bits`` (accepted so callers can pass the engine's B).
    """
    return scale.adaptive_rom()


class Engine:
    """Golden perturbation engine, the reference.

    Parameters
    ----------
    params : EngineParams
        The parameters the hardware is built from (``EngineParams.from_config(cfg)``;
        ``check_bank()`` must pass: the bank gives enough bits per cycle and has replay).

    Notes
    -----
    Ports: inputs ``start``, ``replay``, ``d``, ``ready`` (absent = 0); outputs ``idle``,
    ``valid``, ``values`` (int64 [L], signed codes) and ``last``.

    Timing: ``step(inputs)`` is one rising edge; ``adv = ~ovalid | ready`` and the bank's
    ``en``/``snapshot``/``restore`` are combinational in the registers and the inputs of that
    cycle, and the returned outputs are the registers after the edge. A pooled strategy spends
    ``params.fill_cycles(filled)`` FILL/SCALE cycles after ``start``, then ``nb(d) + 1``
    STREAM cycles with ``ready`` high, ``nb(d) = ceil(d / L)``; ``replay`` goes from IDLE
    straight to STREAM. The direct stream (no pool, no Gaussian unit) shows its first beat in
    the cycle after ``start``/``replay``. A beat is transferred on a cycle with ``valid``
    (registered) and ``ready``.
    """

    #: The bank model; the fast stream swaps in its vectorised one.
    bank_type = LfsrBank

    def __init__(self, params: EngineParams):
        ep = params
        ep.check_bank()                                 # the bank feeds every field, and has replay
        self.params = ep
        self.L, self.B, self.D = ep.lanes, ep.value_bits, ep.max_params
        self.P, self.p, self.R = ep.pool_size, ep.index_bits, ep.refresh
        self.traits = ep.traits
        self.adaptive = ep.adaptive
        self.k, self.bank_lanes = ep.bank.k, ep.bank.lanes
        self.bank = self.bank_type(ep.engine_bank)
        # A Gaussian source is a pipeline of `latency` stages, the last being the output
        # registers: a pass primes the other latency - 1 first (docs/engine.md).
        self.gaussian = BeatValues(ep) if ep.source.gaussian else None
        self.prime_cycles = ep.prime_cycles
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """All registers to their reset values; the bank to its seeds."""
        self.fsm = IDLE
        self.pool = torch.zeros(self.P, dtype=torch.int64)
        self.wptr = self.filled = self.cnt = self.acc = self.offset = self.dprev = 0
        self.rem = 0                                   # direct stream: values left, shown beat included
        self.rom_v = self.sa = 0                       # no reset value on the page; only read after SCALE latches
        self.nbeats = self.beat = 0
        self.ovalid = self.olast = 0
        self.ovalues = torch.zeros(self.L, dtype=torch.int64)
        self.prime = 0
        self.pipe: list[torch.Tensor] = []             # values inside a Gaussian unit's pipeline
        # N of the batch being filled/scaled. Fixed at start, because `filled` already reads 1
        # during the first step's SCALE.
        self.batch = self.P
        self.bank.reset()

    def outputs(self) -> dict:
        """What the ports show now. ``values`` and ``last`` are defined only while ``valid``
        (the page: in hardware they are the pool's read registers, also used by SCALE, or the
        bank's register); compare them only when ``valid`` is 1."""
        if self.params.direct:
            return {"idle": int(not self.ovalid), "valid": self.ovalid,
                    "values": self._direct_values(self._rnd()), "last": self.olast}
        return {"idle": int(self.fsm == IDLE), "valid": self.ovalid, "values": self.ovalues.clone(),
                "last": self.olast}

    def registers(self) -> dict:
        """Every register (and the bank's state and shadow), for comparisons and debugging."""
        return {"fsm": STATE_NAMES[self.fsm], "pool": self.pool.tolist(), "wptr": self.wptr,
                "filled": self.filled, "cnt": self.cnt, "acc": self.acc, "offset": self.offset,
                "dprev": self.dprev, "rem": self.rem,
                "rom_v": self.rom_v, "sa": self.sa, "nbeats": self.nbeats, "beat": self.beat,
                "ovalid": self.ovalid, "ovalues": self.ovalues.tolist(), "olast": self.olast,
                "batch": self.batch, "prime": self.prime, "pipe": [v.tolist() for v in self.pipe],
                "bank_state": self.bank.state.tolist(),
                "bank_shadow": self.bank.shadow.tolist()}

    # -- one cycle --------------------------------------------------------------------------

    def _nb(self, d: int) -> int:
        d = int(d)
        if not 0 <= d <= self.D:
            raise PezoError(f"pass length d = {d} outside 0..{self.D} (engine.max_params)")
        return -(-d // self.L)

    def _rnd(self) -> int:
        """The bank's out port as one W-bit int."""
        kmask = (1 << self.k) - 1
        return sum((v & kmask) << (j * self.k) for j, v in enumerate(self.bank.outputs()["out"].tolist()))

    def _direct_values(self, rnd: int) -> torch.Tensor:
        """The values the direct stream shows while the bank's port is ``rnd``."""
        B = self.B
        if self.params.source is Source.RADEMACHER:
            return torch.tensor([1 - 2 * ((rnd >> lane) & 1) for lane in range(self.L)], dtype=torch.int64)
        return torch.tensor([odd_code((rnd >> (lane * (B - 1))) & ((1 << (B - 1)) - 1), B) for lane in range(self.L)],
                            dtype=torch.int64)

    def _value(self, i: int, lane: int, rnd: int) -> int:
        """Value of parameter ``i`` (on lane ``lane``) loaded with ``r = rnd`` (pooled)."""
        t = self.traits
        if t.index:
            return int(self.pool[(rnd >> (lane * self.p)) & (self.P - 1)])
        v = int(self.pool[self.params.pool_address(i, self.offset)])
        if t.sign and (rnd >> lane) & 1:
            v = negate_code(v, self.B)
        return v

    def _push_unit(self) -> None:
        """One enabled cycle of the Gaussian units: the bank word enters, the oldest leaves."""
        words = torch.tensor([self.bank.outputs()["out"].tolist()], dtype=torch.int64)
        self._advance_units(self.gaussian(words))

    def _advance_units(self, entering: torch.Tensor) -> None:
        """Rows of ``entering`` [m, L] enter the units' pipeline in order; the output
        registers show the value that entered ``latency - 1`` enabled cycles before the last."""
        flow = self.pipe + list(entering)
        keep = self.prime_cycles
        if len(flow) > keep:
            self.ovalues = flow[len(flow) - keep - 1].clone()
        self.pipe = flow[max(0, len(flow) - keep):] if keep else []

    def step(self, inputs: dict | None = None) -> dict:
        """One rising edge; returns :meth:`outputs` after it."""
        inputs = inputs or {}
        start, replay, ready = (int(bool(inputs.get(name, 0))) for name in ("start", "replay", "ready"))
        ctl = {"en": 0, "snapshot": 0, "restore": 0}
        if self.params.direct:
            self._step_direct(start, replay, ready, inputs, ctl)
        else:
            self._step_pooled(start, replay, ready, inputs, ctl)
        self.bank.step(ctl)
        return self.outputs()

    def _step_direct(self, start: int, replay: int, ready: int, inputs: dict, ctl: dict) -> None:
        L = self.L
        if not self.ovalid:
            if start:
                ctl["snapshot"] = 1                      # the state that shows beat 0
            elif replay:
                ctl["restore"] = 1
            if start or replay:
                d = int(inputs.get("d", 0))
                self.nbeats, self.beat = self._nb(d), 0
                if d:
                    self.ovalid, self.olast, self.rem = 1, int(d <= L), d
        elif ready:
            ctl["en"] = 1
            self.beat += 1
            if self.olast:
                self.ovalid = 0
            self.olast = int(self.rem <= 2 * L)
            self.rem -= L

    def _step_pooled(self, start: int, replay: int, ready: int, inputs: dict, ctl: dict) -> None:
        B, P = self.B, self.P
        ep, t = self.params, self.traits
        if self.fsm == IDLE:
            if start or replay:
                self.prime = self.prime_cycles
            if start:
                d = int(inputs.get("d", 0))
                self.nbeats, self.beat = self._nb(d), 0
                if t.offset is Offset.CARRY:
                    if self.filled:
                        self.offset = (self.offset + self.dprev) % P
                    self.dprev = d % P
                n = ep.fill_size(bool(self.filled)) if t.pool else 0
                if n == 0:
                    self.fsm = STREAM
                else:
                    self.batch = n
                    self.cnt, self.acc, self.fsm = n, 0, FILL
            elif replay:
                ctl["restore"] = 1
                self.nbeats, self.beat, self.fsm = self._nb(inputs.get("d", 0)), 0, STREAM
        elif self.fsm == FILL:
            ctl["en"] = 1
            rnd = self._rnd()
            v = odd_code(rnd & ((1 << (B - 1)) - 1), B)
            self.pool[self.wptr] = v
            self.wptr = (self.wptr + 1) % P
            self.acc += v * v
            last = self.cnt == 1
            self.cnt -= 1
            if last:
                if t.offset is Offset.RANDOM:
                    self.offset = (rnd >> (B - 1)) & (P - 1)
                self.filled = 1
                if self.adaptive:
                    self.fsm, self.cnt = SCALE, self.batch + scale.SCALE_LATENCY
                else:
                    self.fsm = STREAM
        elif self.fsm == SCALE:
            if self.cnt == self.batch + scale.ROM_AT:
                self.rom_v, self.sa = scale.scale_params(self.acc, B, self.batch.bit_length() - 1)
            elif self.cnt <= self.batch:                 # the cycles before compute the scale
                j = (self.wptr - self.cnt) % P
                self.pool[j] = scale.rescale(int(self.pool[j]), self.rom_v, self.sa, B)
            if self.cnt == 1:
                self.fsm = STREAM
            self.cnt -= 1
        else:  # STREAM
            adv = not self.ovalid or ready
            if self.beat == 0 and not self.ovalid and self.prime == self.prime_cycles:
                ctl["snapshot"] = 1                      # a replay restores the state that produced beat 0
            if self.prime:
                self._push_unit()
                self.prime -= 1
                ctl["en"] = 1
            elif adv and self.beat < self.nbeats:
                if self.gaussian:
                    self._push_unit()
                else:
                    rnd = self._rnd()
                    base = self.beat * self.L
                    self.ovalues = torch.tensor([self._value(base + l, l, rnd) for l in range(self.L)],
                                                dtype=torch.int64)
                self.olast = int(self.beat == self.nbeats - 1)
                self.ovalid = 1
                self.beat += 1
                ctl["en"] = int(ep.stream_reads_bank)
            elif adv:
                self.ovalid, self.fsm = 0, IDLE
