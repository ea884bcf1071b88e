"""The perturbation engine's fast stream: whole ZO steps at once, for training, the statistics
and the update system's whole passes.

(Over 400 lines because each read pattern of the engine, pool, sign, index, table and whole
words, has its own fast path; the reference, sw/golden/engine.py, stays short.)

:class:`EngineStream` is the reference :class:`pezo.sw.golden.engine.Engine` (whose
:meth:`~pezo.sw.golden.engine.Engine.step` it keeps) plus vectorised passes that leave every
register as ``step`` would; the tests prove them equal to stepping the reference cycle by cycle.

* :meth:`EngineStream.passes`: whole ZO steps at once (start, fill/scale, one pass). The values
  of a pass do not depend on back-pressure, so ``passes`` gives exactly what ``step`` would.
* :meth:`EngineStream.start` and :meth:`EngineStream.values`: one step (or replay) at a time for
  long passes: ``start`` runs the step's start, fill and scale and moves the bank past the pass
  in O(1) (matrix powers), returning a :class:`Pass` (pool, offset, bank snapshot); ``values``
  regenerates the pass from it in chunks, computing only the bank bits the strategy reads (by
  the bank's recurrence, :mod:`pezo.sw.golden.lfsr_stream`) and mapping codes to the output
  (e.g. z) through the pool rather than value by value. ``passes``/``replay`` use them from
  ``STREAM_BEATS`` beats on; PeZO uses them directly so that no whole pass is ever held.
* :meth:`EngineStream.replay`: a replay recomputed, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from pezo import scale
from pezo.engine_params import EngineParams, Offset, Source
from pezo.errors import PezoError
from pezo.scale import odd_code
from pezo.sw.golden.engine import IDLE, STATE_NAMES, Engine
from pezo.sw.golden.fields import FieldReader
from pezo.sw.golden.lfsr_stream import LfsrStream

__all__ = ["EngineStream", "Pass", "STREAM_BEATS", "CHUNK_BEATS"]

# Largest bank tensor (cycles x LFSR lanes) one vectorised run may hold.
_CHUNK_ELEMS = 1 << 22
# Passes of at least this many beats go through start()/values() (a pass at a time, in chunks);
# shorter ones batch many steps into one bank run.
STREAM_BEATS = 1 << 12
# Beats per chunk of values(): a few MB of output, which stays in the caches.
CHUNK_BEATS = 1 << 16


@dataclass(frozen=True)
class Pass:
    """What a pass reads, as the hardware holds it: enough to regenerate its values.

    Attributes
    ----------
    d, nb : int
        Pass length and beats.
    state : torch.Tensor
        The bank's state during the first beat (its snapshot; priming cycles first with a
        Gaussian source).
    pool : torch.Tensor
        The pool's codes (int64 [P]); unused by strategy ``none``.
    offset : int
        The read offset of the step (sequential strategies).
    """

    d: int
    nb: int
    state: torch.Tensor
    pool: torch.Tensor
    offset: int


def _int64(words: np.ndarray) -> torch.Tensor:
    """Unsigned bank words as the int64 raw patterns the model's field readers take."""
    return torch.from_numpy(words.view(np.int64) if words.dtype == np.uint64 else words.astype(np.int64))


def _rescale_tensor(v: torch.Tensor, rom_v: int, sa: int, value_bits: int) -> torch.Tensor:
    """:func:`pezo.scale.rescale` on an int64 tensor of codes."""
    lim = 1 << (value_bits - 2)
    return ((v * rom_v) >> sa).clamp_(-lim, lim - 1).mul_(2).add_(1)


class EngineStream(Engine):
    """The golden engine with vectorised whole steps (see the module docstring).

    Parameters
    ----------
    params : EngineParams
        As for :class:`~pezo.sw.golden.engine.Engine`.
    """

    bank_type = LfsrStream

    def __init__(self, params: EngineParams):
        super().__init__(params)
        self._reader = FieldReader(self.k)

    # -- whole steps, vectorised ------------------------------------------------------------

    def _fields(self, words: torch.Tensor, starts: tuple[int, ...], width: int) -> torch.Tensor:
        """Bit fields ``rnd[s +: width]`` for each start ``s``: [rows, len(starts)]."""
        return self._reader(words, starts, width)

    def _start_registers(self, d: int) -> int:
        """The IDLE ``start`` edge of a pooled engine: the registers it sets (the carried
        offset of ``pre-generation``); returns the fill size of the step."""
        if self.traits.offset is Offset.CARRY:
            if self.filled:
                self.offset = (self.offset + self.dprev) % self.P
            self.dprev = d % self.P
        return self.params.fill_size(bool(self.filled)) if self.traits.pool else 0

    def _pass_advances(self, nb: int) -> int:
        """Bank cycles of a pass: priming and beats, when the stream reads the bank."""
        return self.prime_cycles + nb if self.params.stream_reads_bank else 0

    def _fill_batch(self, words: torch.Tensor) -> None:
        """FILL (and SCALE) of one step from its fill cycles' bank words."""
        n = words.shape[0]
        B, P = self.B, self.P
        v = odd_code(self._fields(words, (0,), B - 1)[:, 0], B)
        idx = (self.wptr + torch.arange(n)) % P
        self.pool[idx] = v
        self.wptr = (self.wptr + n) % P
        self.acc = sum(x * x for x in v.tolist())          # exact: overflows int64 for B >= 29
        if self.traits.offset is Offset.RANDOM:
            self.offset = int(self._fields(words[-1:], (B - 1,), self.p)[0, 0])
        self.filled, self.cnt, self.batch = 1, 0, n
        if self.adaptive:
            self.rom_v, self.sa = scale.scale_params(self.acc, B, n.bit_length() - 1)
            self.pool[idx] = _rescale_tensor(v, self.rom_v, self.sa, B)

    def _beats(self, words: torch.Tensor | None, pool: torch.Tensor, offset: int, first: int = 0,
               nb: int | None = None) -> torch.Tensor:
        """Values [nb, L] of the beats ``first, first + 1, ...`` loaded from the bank words
        [nb, lanes] (``None`` where the strategy reads no bank bits; then ``nb`` says how
        many), reading ``pool`` and ``offset``."""
        nb = words.shape[0] if words is not None else nb
        L, B, p, t = self.L, self.B, self.p, self.traits
        if self.params.source is Source.RADEMACHER:
            return self._fields(words, tuple(range(L)), 1).mul_(-2).add_(1)
        if not t.pool:
            return odd_code(self._fields(words, tuple(l * (B - 1) for l in range(L)), B - 1), B)
        if t.index:
            idx = self._fields(words, tuple(l * p for l in range(L)), p)
            return torch.from_numpy(pool.numpy().take(idx.numpy()))   # numpy's take: faster than index_select
        i = torch.arange(first * L, (first + nb) * L)
        vals = pool[self.params.pool_address(i, offset)].view(nb, L)
        if t.sign:
            # negation is z ^ (2**B - 2); on sign-extended codes that is z ^ -2
            flip = self._fields(words, tuple(range(L)), 1).mul_(-2)
            vals = vals.bitwise_xor(flip)
        return vals

    # -- one pass at a time, values in chunks -------------------------------------------------

    @property
    def code_dtype(self) -> torch.dtype:
        """The narrowest signed integer dtype holding a B-bit code."""
        return next(t for t in (torch.int8, torch.int16, torch.int32, torch.int64)
                    if torch.iinfo(t).bits >= self.B)

    def _end_pass(self, d: int, nb: int) -> None:
        """Registers as a pass of ``nb`` beats leaves them (back in IDLE)."""
        if nb:
            self.olast = 1
            if self.params.direct:
                self.rem = d - nb * self.L
        self.nbeats, self.beat, self.ovalid, self.fsm, self.prime = nb, nb, 0, IDLE, 0

    def start(self, d: int, replay: bool = False) -> Pass:
        """``start`` (or with ``replay``, ``replay``) from IDLE and the whole step back to IDLE,
        leaving every register as :meth:`step` would, without computing the pass's values.

        Returns the :class:`Pass` that :meth:`values` regenerates them from. Costs the fill
        (at most P bank cycles) and a few matrix powers, whatever ``d``.
        """
        if self.fsm != IDLE or self.ovalid:
            raise PezoError(f"start() needs the engine in IDLE, it is in {STATE_NAMES[self.fsm]}")
        nb = self._nb(d)
        if replay:
            self.bank.step({"restore": 1})
        elif not self.params.direct:
            n = self._start_registers(int(d))
            if n:
                en = torch.ones(n + 1, dtype=torch.int64)
                en[0] = 0                               # the start cycle (IDLE) does not advance the bank
                self._fill_batch(self.bank.run(n + 1, {"en": en})["out"][:n])
        pr, adv = self.prime_cycles, self._pass_advances(nb)
        if self.params.direct:
            adv = nb
        state = self.bank.stream(adv)                   # snapshot, then priming cycles and beats
        if self.gaussian:
            # only the last latency words decide the pipeline registers
            tail = max(0, nb - 1)
            self._advance_units(self.gaussian(self.bank.words(state, tail, pr + nb - tail)))
        elif nb and not self.params.direct:
            words = self.bank.words(state, nb - 1, 1) if self.params.stream_reads_bank else None
            self.ovalues = self._beats(words, self.pool, self.offset, nb - 1, nb=1)[0]
        self._end_pass(int(d), nb)
        return Pass(int(d), nb, state, self.pool.clone(), self.offset)

    def values(self, pass_: Pass, convert: Callable[[torch.Tensor], torch.Tensor] | None = None,
               beats: int = CHUNK_BEATS) -> Iterator[torch.Tensor]:
        """The values of ``pass_`` regenerated from its registers, as the hardware streams them:
        1-D chunks of at most ``beats * L`` values, in order, ``d`` in all.

        ``convert`` maps int64 codes to the output dtype element by element (default: the
        codes as :attr:`code_dtype`). With the uniform and Rademacher sources it is applied to
        the few codes a pass can show (the pool and its negation, the odd codes, +-1), not per
        value. A chunk is valid only until the next one is requested (buffers are reused).
        Only the bank bits the strategy reads are computed; sequential strategies without
        signs read none.
        """
        convert = convert or (lambda c: c.to(self.code_dtype))
        beats = max(1, beats)
        t = self.traits
        if self.gaussian is not None:
            yield from self._word_values(pass_, convert, beats)
        elif t.pool and not t.index and not t.sign:
            yield from self._pool_values(pass_, convert, beats)
        elif t.sign and self.L <= self.k and (self.L <= 8 or self.L % 8 == 0):
            yield from self._sign_values(pass_, convert, beats)
        elif t.index or self.params.source is Source.RADEMACHER or (not t.pool and self.B <= 17):
            yield from self._table_values(pass_, convert, beats)
        else:
            yield from self._word_values(pass_, convert, beats)

    def _cut(self, pass_: Pass, done: int, rows: int) -> int:
        """Values to show from a chunk of ``rows`` beats starting at beat ``done``."""
        return min(rows * self.L, pass_.d - done * self.L)

    def _rolled(self, pass_: Pass) -> torch.Tensor:
        return torch.roll(pass_.pool, -(pass_.offset % self.P))

    def _pool_values(self, pass_: Pass, convert, beats: int) -> Iterator[torch.Tensor]:
        # the read pattern repeats every pool_period values: one pattern serves every chunk
        period = self.params.pool_period
        while beats * self.L % period:
            beats += 1
        pattern = convert(pass_.pool[self.params.pool_address(torch.arange(period), pass_.offset)])
        pattern = pattern.repeat(beats * self.L // period)
        for done in range(0, pass_.nb, beats):
            yield pattern[:self._cut(pass_, done, min(beats, pass_.nb - done))]

    def _sign_values(self, pass_: Pass, convert, beats: int) -> Iterator[torch.Tensor]:
        # value = pool value, or its negation where the lane's bit r[l] is set: as raw bits,
        # pattern ^ (flip ? diff : 0) with diff = pos ^ neg, one table row per byte of r
        L, P = self.L, self.P
        while beats * L % P:
            beats += 1
        rolled = self._rolled(pass_)
        pos, neg = convert(rolled).numpy(), convert(rolled.bitwise_xor(-2)).numpy()
        u = np.dtype(f"u{pos.dtype.itemsize}")
        diff = pos.view(u) ^ neg.view(u)
        if (diff != diff[0]).any():                     # not a pure bit flip: the general path
            yield from self._word_values(pass_, convert, beats)
            return
        g = min(L, 8)
        table = np.where((np.arange(1 << g)[:, None] >> np.arange(g)) & 1, diff[0], 0).astype(u)
        pattern = np.tile(pos.view(u), beats * L // P).reshape(beats, L)
        buf = np.empty((beats, L), dtype=u)
        done = 0
        for r in self.bank.out_bits(pass_.state, pass_.nb, L, 1, beats):
            rows, x = len(r), r[:, 0]
            for m in range(L // g):
                part = buf[:rows, m * g:(m + 1) * g]
                idx = x if L == g else (x >> (m * g)) & ((1 << g) - 1)
                np.take(table, idx, axis=0, out=part, mode="wrap")   # "raise" would buffer the output
            np.bitwise_xor(buf[:rows], pattern[:rows], out=buf[:rows])
            yield torch.from_numpy(buf[:rows].reshape(-1)[:self._cut(pass_, done, rows)].view(pos.dtype))
            done += rows

    def _table_values(self, pass_: Pass, convert, beats: int) -> Iterator[torch.Tensor]:
        # Rademacher: 1 - 2r of a 1-bit field; uniform without a pool: odd(u) of a (B-1)-bit
        # field; pool-index/-shift: pool[r[l*p +: p]]: a lookup of the converted table by
        # each lane's field
        L, B, p = self.L, self.B, self.p
        if self.params.source is Source.RADEMACHER:
            width, table = 1, convert(torch.tensor([1, -1], dtype=torch.int64)).numpy()
        elif not self.traits.pool:
            width, table = B - 1, convert(odd_code(torch.arange(1 << (B - 1)), B)).numpy()
        else:
            width, table = p, convert(pass_.pool).numpy()
        # g neighbouring lanes read one joint field of g*width bits (a table of g-value rows,
        # at most 2**14 of them) when all fields lie in LFSR lane 0
        g = max((g for g in range(1, L + 1) if L % g == 0 and g * width <= 14), default=1)
        if L * width > self.k or g == 1:
            yield from self._field_values(pass_, table, width, beats)
            return
        joint = np.arange(1 << (g * width))
        rows_ = np.stack([table[(joint >> (j * width)) & ((1 << width) - 1)] for j in range(g)], axis=1)
        size = g * table.itemsize                      # a row as one integer where one fits: numpy's take is fastest there
        packed = np.ascontiguousarray(rows_).view(np.dtype(f"u{size}" if size in (1, 2, 4, 8) else f"V{size}"))[:, 0]
        buf = np.empty((beats, L // g), dtype=packed.dtype)
        idx = np.empty((beats, L // g), dtype=np.int64)
        done = 0
        for r in self.bank.out_bits(pass_.state, pass_.nb, L * width, 1, beats):
            rows, x = len(r), _int64(r).numpy()[:, 0]
            for j in range(L // g):                    # column by column: numpy broadcasts slowly here
                np.right_shift(x, j * g * width, out=idx[:rows, j])
            np.bitwise_and(idx[:rows], (1 << (g * width)) - 1, out=idx[:rows])
            np.take(packed, idx[:rows], out=buf[:rows], mode="wrap")   # "raise" would buffer the output
            yield torch.from_numpy(buf[:rows].view(table.dtype).reshape(-1)[:self._cut(pass_, done, rows)])
            done += rows

    def _field_values(self, pass_: Pass, table: np.ndarray, width: int, beats: int) -> Iterator[torch.Tensor]:
        starts = tuple(l * width for l in range(self.L))
        buf = np.empty((beats, self.L), dtype=table.dtype)
        done = 0
        for r in self.bank.out_bits(pass_.state, pass_.nb, self.k, self.bank_lanes, beats):
            rows = len(r)
            np.take(table, self._fields(_int64(r), starts, width).numpy(), out=buf[:rows], mode="wrap")
            yield torch.from_numpy(buf[:rows].reshape(-1)[:self._cut(pass_, done, rows)])
            done += rows

    def _word_values(self, pass_: Pass, convert, beats: int) -> Iterator[torch.Tensor]:
        # the general path: whole bank words, the model's own value rules, then convert
        done = 0
        for r in self.bank.out_bits(pass_.state, pass_.nb, self.k, self.bank_lanes, beats):
            words, rows = _int64(r), len(r)
            vals = self.gaussian(words) if self.gaussian else self._beats(words, pass_.pool, pass_.offset, done)
            yield convert(vals).reshape(-1)[:self._cut(pass_, done, rows)]
            done += rows

    def _collect(self, pass_: Pass, out: torch.Tensor) -> torch.Tensor:
        """All values of ``pass_`` into ``out`` [d]."""
        off = 0
        for chunk in self.values(pass_):
            out[off:off + len(chunk)] = chunk
            off += len(chunk)
        return out

    def passes(self, steps: int, d: int, replays: int = 0) -> torch.Tensor:
        """Values of ``steps`` consecutive ZO steps of ``d`` parameters: [steps, d] int64 codes.

        Each step is ``start`` (from IDLE), its FILL/SCALE, and one pass; the model ends in
        IDLE exactly as :meth:`step` would leave it. ``replays`` replays after each pass
        change no register (a replay restores the bank to the pass's snapshot and loads the
        same beats again), so they are accepted for symmetry and cost nothing.
        """
        if self.fsm != IDLE or self.ovalid:
            raise PezoError(f"passes() needs the engine in IDLE, it is in {STATE_NAMES[self.fsm]}")
        if steps < 0 or replays < 0:
            raise PezoError(f"steps = {steps} and replays = {replays} must be >= 0")
        nb = self._nb(d)
        out = torch.empty(steps, d, dtype=torch.int64)
        if nb >= STREAM_BEATS:
            for t in range(steps):
                self._collect(self.start(d), out[t])
            return out
        if self.params.direct:
            return self._direct_passes(steps, d, nb, out)
        pr, adv = self.prime_cycles, self._pass_advances(nb)
        span = max(adv, 1)              # bank cycles of a pass: its snapshot, priming and beats
        t = 0
        while t < steps:
            # Fill sizes of the steps in this chunk (the first pool-shift step fills all P,
            # pre-generation only its first).
            sizes, filled, cycles = [], self.filled, 0
            while t + len(sizes) < steps and (
                    not sizes or (cycles + self.P + span) * self.bank_lanes <= _CHUNK_ELEMS):
                n = self.params.fill_size(bool(filled)) if self.traits.pool else 0
                filled = filled or n > 0
                sizes.append(n)
                cycles += n + span
            # Bank control over the cycles that touch it: the first start's IDLE cycle (en 0,
            # which also keeps every snapshot inside the range run() computes), then per step
            # its fill cycles (en) and its pass: snapshot on the first cycle, en on each
            # priming cycle and beat (a pass with neither only snapshots).
            en = torch.ones(cycles + 1, dtype=torch.int64)
            snap = torch.zeros(cycles + 1, dtype=torch.int64)
            en[0], c = 0, 1
            for n in sizes:
                snap[c + n] = 1
                if adv == 0:
                    en[c + n] = 0
                c += n + span
            # row c of run() is the out port after edge c, i.e. rnd during cycle c + 1
            words = self.bank.run(cycles + 1, {"en": en, "snapshot": snap})["out"][:-1]
            c = 0
            for n in sizes:
                self._start_registers(d)
                if n:
                    self._fill_batch(words[c:c + n])
                    c += n
                if self.gaussian:
                    # beat j is the value that entered the units with the pass's j-th word
                    vals = self.gaussian(words[c:c + pr + nb])
                    out[t] = vals[:nb].reshape(-1)[:d]
                    self._advance_units(vals)
                elif nb:
                    vals = self._beats(words[c:c + nb] if adv else None, self.pool, self.offset, nb=nb)
                    out[t] = vals.view(-1)[:d]
                    self.ovalues = vals[-1].clone()
                self._end_pass(d, nb)
                c += span
                t += 1
        return out

    def _direct_passes(self, steps: int, d: int, nb: int, out: torch.Tensor) -> torch.Tensor:
        """:meth:`passes` of the direct stream: step after step, ``nb`` consecutive bank words,
        each step's first one snapshotted at its ``start``."""
        t = 0
        per = max(1, _CHUNK_ELEMS // max(nb * self.bank_lanes, 1))
        while t < steps:
            m = min(per, steps - t)
            first = self.bank.state.clone()
            if nb:
                vals = self._beats(self.bank.words(first, 0, m * nb), self.pool, self.offset)
                out[t:t + m] = vals.view(m, nb * self.L)[:, :d]
            for _ in range(m):
                self.bank.stream(nb)
                self._end_pass(d, nb)
            t += m
        return out

    def replay(self, d: int) -> torch.Tensor:
        """Replay the last pass, vectorised: the values [d] (int64 codes) of ``replay`` from
        IDLE (the bank restores the pass's snapshot and loads the same beats again), leaving
        every register as :meth:`step` would. Equal to the last pass of :meth:`passes` for the
        same ``d``; this is the hardware replay recomputed, not a stored copy."""
        if self.fsm != IDLE or self.ovalid:
            raise PezoError(f"replay() needs the engine in IDLE, it is in {STATE_NAMES[self.fsm]}")
        nb = self._nb(d)
        if nb >= STREAM_BEATS:
            return self._collect(self.start(d, replay=True), torch.empty(d, dtype=torch.int64))
        if self.params.direct:
            self.bank.step({"restore": 1})
            first = self.bank.stream(nb)
            self._end_pass(d, nb)
            if not nb:
                return torch.empty(0, dtype=torch.int64)
            return self._beats(self.bank.words(first, 0, nb), self.pool, self.offset).view(-1)[:d]
        pr, adv = self.prime_cycles, self._pass_advances(nb)
        # edge 0: restore; edge 1: snapshot (first STREAM cycle) and the first en (a priming
        # cycle with a Gaussian source, else the first beat); then the other priming cycles and
        # beats. Row c of run() is rnd during the pass's c-th cycle.
        n = max(adv, 1) + 1
        en = torch.ones(n, dtype=torch.int64)
        en[0] = 0
        if adv == 0:
            en[1] = 0
        snap = torch.zeros(n, dtype=torch.int64)
        snap[1] = 1
        rest = torch.zeros(n, dtype=torch.int64)
        rest[0] = 1
        words = self.bank.run(n, {"en": en, "snapshot": snap, "restore": rest})["out"][:pr + nb]
        self._end_pass(d, nb)
        if self.gaussian:
            vals = self.gaussian(words)
            self._advance_units(vals)
            return vals[:nb].reshape(-1)[:d]
        if not nb:
            return torch.empty(0, dtype=torch.int64)
        vals = self._beats(words if adv else None, self.pool, self.offset, nb=nb)
        self.ovalues = vals[-1].clone()
        return vals.view(-1)[:d]                       # vals is this call's own tensor: no copy
