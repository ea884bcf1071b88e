"""The LFSR bank's fast stream: whole runs of cycles at once, for training and the statistics.

(Over 400 lines: three ways to generate long runs, recurrence, shift form and doubling, each
the fastest for some polynomials; the reference, sw/golden/lfsr.py, is 80 lines.)

:class:`LfsrStream` is the reference :class:`pezo.sw.golden.lfsr.LfsrBank` plus vectorised runs;
tests prove :meth:`LfsrStream.run` equal to cycle-by-cycle :meth:`~pezo.sw.golden.lfsr.LfsrBank.step`.

States are int64 tensors holding the raw ``width``-bit pattern (a width-64 state with its top
bit set is negative; only the bit pattern matters). A GF(2) matrix is applied to a tensor of
states by byte tables: ``M x = XOR_b table_b[byte_b(x)]``, eight lookups for 64 bits.

``run`` tracks the position of the bank on its sequences and fills all the states it needs at
once by doubling (``S[p + B .. p + 2B) = T**(kB) S[p .. p + B)``), so it costs O(log n) tensor operations.

When ``A = T**k`` has a sparse annihilating polynomial (Cayley-Hamilton: ``sum_i c_i A**i = 0``,
found by Berlekamp-Massey and checked on the matrix), long runs of states use it instead: with
``c_0 = 1``, ``s_t = XOR_i c_i s_(t - i)`` word-wise, and squaring over GF(2) gives
``s_t = XOR_i c_i s_(t - i * 2**j)`` for every ``j``, so whole blocks of ``lag_min * 2**j`` states
are a few XORs of earlier slices. The relation holds bit by bit, so it also runs on any bit
field of the states alone (:meth:`LfsrStream.out_bits`). For ``x^63 + x^31 + 1`` and ``k`` a power
of two the lags are (32, 63). ``k = 63`` gives a dense polynomial (63 terms); there ``T**63``
itself is four shifted masks (:func:`leap_diagonals`), so a long run takes every 16th state by
doubling and the others from their predecessor by shifts and masks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from pezo import gf2
from pezo.lfsr import BankParams, LfsrParams
from pezo.sw.golden.lfsr import LfsrBank, signed64

__all__ = ["LfsrStream", "recurrence_lags", "leap_diagonals"]

# Inputs from this many states up use the 16-bit tables.
_WIDE_MIN = 1 << 12


class _Gf2Map:
    """A GF(2) matrix applied to int64 tensors of states via byte tables."""

    def __init__(self, rows: list[int], width: int):
        cols = [sum(((r >> i) & 1) << j for j, r in enumerate(rows)) for i in range(width)]
        tables = []
        for b in range(0, width, 8):
            t = np.zeros(256, dtype=object)
            for bit in range(8):
                if b + bit < width:
                    idx = np.arange(256)
                    t = np.where(idx >> bit & 1, t ^ cols[b + bit], t)
            tables.append([signed64(int(v)) for v in t])
        self.tables = np.array(tables, dtype=np.int64)          # [bytes, 256]
        self._wide: np.ndarray | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # numpy's take on a 256-entry table is several times faster than torch indexing; on
        # long inputs half as many lookups in 65536-entry tables (built on first use) win
        xn = x.numpy()
        if xn.size >= _WIDE_MIN:
            if self._wide is None:
                lo, hi = np.arange(1 << 16) & 0xFF, np.arange(1 << 16) >> 8
                t = list(self.tables) + [np.zeros(256, dtype=np.int64)] * (len(self.tables) % 2)
                self._wide = np.stack([t[b].take(lo) ^ t[b + 1].take(hi) for b in range(0, len(t), 2)])
            tables, bits = self._wide, 16
        else:
            tables, bits = self.tables, 8
        y = np.zeros(xn.shape, dtype=np.int64)
        part = np.empty(xn.shape, dtype=np.int64)
        for b, table in enumerate(tables):
            np.right_shift(xn, bits * b, out=part)
            part &= (1 << bits) - 1
            y ^= table.take(part)
        return torch.from_numpy(y)


@lru_cache(maxsize=512)
def _power_map(params: LfsrParams, cycles: int) -> _Gf2Map:
    m = gf2.mat_pow(gf2.to_array(params.leap_rows, params.width), cycles)
    return _Gf2Map(gf2.from_array(m), params.width)


# Largest number of terms (besides s_t) a recurrence may have to be used: the doubling costs
# eight table lookups per state.
_MAX_LAGS = 6


def _berlekamp_massey(bits: list[int]) -> int:
    """Shortest connection polynomial ``C`` (bit i = c_i, c_0 = 1) of a GF(2) sequence:
    ``XOR_i c_i bits[n - i] = 0`` for every n >= deg C."""
    c, b, length, m = 1, 1, 0, 1
    for n in range(len(bits)):
        d = bits[n]
        for i in range(1, length + 1):
            d ^= (c >> i) & bits[n - i]
        if not d:
            m += 1
        elif 2 * length <= n:
            c, b, length, m = c ^ (b << m), c, n + 1 - length, 1
        else:
            c ^= b << m
            m += 1
    return c


@lru_cache(maxsize=64)
def recurrence_lags(params: LfsrParams) -> tuple[int, ...] | None:
    """Lags ``l`` (ascending) with ``s_t = XOR_l s_(t - l)`` for the cycle-to-cycle states
    ``s_(t+1) = T**k s_t``, when that polynomial has at most ``_MAX_LAGS`` of them; else None.

    The candidate comes from Berlekamp-Massey on one state bit and is kept only if it
    annihilates the matrix itself (then the relation holds for every start state)."""
    n = params.width
    s, bits = 1, []
    for _ in range(2 * n + 2):
        bits.append(s & 1)
        s = params.next_state(s)
    c = _berlekamp_massey(bits)
    lags = tuple(i for i in range(1, c.bit_length()) if c >> i & 1)
    if not lags or len(lags) > _MAX_LAGS:
        return None
    a = gf2.to_array(params.leap_rows, n).astype(np.int64)
    power, acc = np.eye(n, dtype=np.int64), np.zeros((n, n), dtype=np.int64)
    for i in range(lags[-1] + 1):        # sum_i c_(deg - i) A**i, the polynomial C reversed
        if c >> (lags[-1] - i) & 1:
            acc ^= power
        power = power @ a % 2
    return lags if not acc.any() else None


# Largest number of shift diagonals for which T**k is applied as shifts and masks.
_MAX_DIAGONALS = 8
# Without a sparse recurrence, every _COLUMNS-th state of a long run comes from a matrix power
# and the ones between from the shift form of T**k (when it has few diagonals).
_COLUMNS = 16


@lru_cache(maxsize=64)
def leap_diagonals(params: LfsrParams) -> tuple[tuple[int, int], ...] | None:
    """``T**k`` as ``XOR_s shift(x & mask_s, s)`` (left by ``s``, right by ``-s``): (s, mask_s)
    for each diagonal ``s = out bit - in bit`` that has a nonzero entry, when there are at most
    ``_MAX_DIAGONALS`` of them (4 for ``x^63 + x^31 + 1`` with ``k = 63``); else None."""
    diag: dict[int, int] = {}
    for j, row in enumerate(params.leap_rows):
        for i in range(params.width):
            if row >> i & 1:
                diag[j - i] = diag.get(j - i, 0) | 1 << i
    return tuple(sorted(diag.items())) if len(diag) <= _MAX_DIAGONALS else None


def _apply_diagonals(x: np.ndarray, diagonals: tuple[tuple[int, int], ...], out: np.ndarray) -> None:
    """``out = T**k x`` for uint64 states, from :func:`leap_diagonals`."""
    part = np.empty_like(x)
    for n, (s, mask) in enumerate(diagonals):
        dst = part if n else out                   # the first term initialises out
        np.bitwise_and(x, np.uint64(mask), out=dst)
        if s > 0:
            np.left_shift(dst, np.uint64(s), out=dst)
        elif s < 0:
            np.right_shift(dst, np.uint64(-s), out=dst)
        if n:
            out ^= part


def _grow(buf: np.ndarray, have: int, target: int, lags: tuple[int, ...]) -> None:
    """Extend the sequence ``buf[:have]`` (rows obey the recurrence) in place to ``buf[:target]``;
    needs ``have >= lags[-1]``."""
    while have < target:
        j = (have // lags[-1]).bit_length() - 1      # largest j with lags[-1] * 2**j <= have
        blk = min(lags[0] << j, target - have)
        dst = buf[have:have + blk]
        np.copyto(dst, buf[have - (lags[0] << j):have - (lags[0] << j) + blk])
        for lag in lags[1:]:
            dst ^= buf[have - (lag << j):have - (lag << j) + blk]
        have += blk


class LfsrStream(LfsrBank):
    """The golden LFSR bank with vectorised runs.

    Parameters
    ----------
    params : BankParams
        As for :class:`~pezo.sw.golden.lfsr.LfsrBank`.

    Notes
    -----
    :meth:`run` takes the inputs of ``n`` cycles as tensors (``en`` defaults to 1 there: a
    free-running bank) and returns every cycle's outputs [n, lanes]. The bank also tracks its
    position on the lanes' sequences (``pos``: enabled cycles since reset, the state being
    ``T**(k*pos)`` times the seeds), which lets a run start from any known state.
    """

    def __init__(self, params: BankParams):
        self._leap_map = _power_map(params.lfsr, 1)
        super().__init__(params)

    def reset(self) -> None:
        super().reset()
        self.pos = 0            # cycles advanced since reset (the state is T**(k*pos) seeds)
        self.shadow_pos = 0

    def _leap(self, state: torch.Tensor) -> torch.Tensor:
        return self._leap_map(state)

    def step(self, inputs: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
        inputs = inputs or {}
        snap = self.replay and int(inputs.get("snapshot", 0))
        rest = self.replay and int(inputs.get("restore", 0))
        shadow_pos = self.pos if snap else self.shadow_pos
        if rest:
            self.pos = self.shadow_pos
        elif int(inputs.get("en", 0)):
            self.pos += 1
        self.shadow_pos = shadow_pos
        return super().step(inputs)

    def run(self, n: int, inputs: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """``n`` cycles at once; equal to ``n`` calls of :meth:`step`.

        Returns ``out`` and ``state`` of shape [n, lanes]: row ``c`` is what the ports show
        after edge ``c``.
        """
        inputs = inputs or {}
        en = torch.as_tensor(inputs.get("en", torch.ones(n, dtype=torch.int64)), dtype=torch.int64)
        zero = torch.zeros(n, dtype=torch.int64)
        snap = torch.as_tensor(inputs.get("snapshot", zero), dtype=torch.int64) if self.replay else zero
        rest = torch.as_tensor(inputs.get("restore", zero), dtype=torch.int64) if self.replay else zero
        if n == 0:
            empty = torch.empty(0, len(self.seeds), dtype=torch.int64)
            return {"out": empty, "state": empty}
        # States already known before the run: a step from one of them is a short, cached
        # matrix power, where T**(k*lo) from the seeds would be a new matrix power every call.
        known = [(self.pos, self.state), (self.shadow_pos, self.shadow)]
        pos = self._positions(en != 0, snap != 0, rest != 0)
        lo, hi = int(pos.min()), int(pos.max())
        states = self.states_between(lo, hi, known)    # [hi - lo + 1, lanes]
        state = states[pos - lo]
        self.state = state[-1].clone()
        self.shadow = states[self.shadow_pos - lo].clone() if lo <= self.shadow_pos <= hi \
            else self._state_at(self.shadow_pos, known)
        return {"out": self._out(state), "state": state}

    def _state_at(self, pos: int, known: list[tuple[int, torch.Tensor]]) -> torch.Tensor:
        """The state at sequence position ``pos``, advanced from the nearest known state at or
        before it (the seeds are at position 0)."""
        start, state = max(((p, s) for p, s in [*known, (0, self.seeds)] if p <= pos), key=lambda ps: ps[0])
        return state.clone() if start == pos else _power_map(self.params, pos - start)(state)

    def _positions(self, en: torch.Tensor, snap: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """Sequence position after each edge; events (snapshot/restore) are handled in order."""
        n = len(en)
        pos = torch.empty(n, dtype=torch.int64)
        events = torch.nonzero(snap | rest).flatten().tolist()
        start = 0
        for e in [*events, n]:
            if e > start:
                seg = torch.cumsum(en[start:e].to(torch.int64), 0) + self.pos
                pos[start:e] = seg
                self.pos = int(seg[-1])
            if e == n:
                break
            new_shadow = self.pos if snap[e] else self.shadow_pos
            if rest[e]:
                self.pos = self.shadow_pos
            elif en[e]:
                self.pos += 1
            self.shadow_pos = new_shadow
            pos[e] = self.pos
            start = e + 1
        return pos

    def states_between(self, lo: int, hi: int, known: list[tuple[int, torch.Tensor]] = ()) -> torch.Tensor:
        """States at sequence positions ``lo..hi`` (inclusive), shape [hi - lo + 1, lanes].
        ``known``: (position, state) pairs to start from instead of the seeds."""
        return self.states_from(self._state_at(lo, list(known)), hi - lo + 1)

    def states_from(self, state: torch.Tensor, count: int) -> torch.Tensor:
        """The states of ``count`` consecutive enabled cycles from ``state`` (row 0 is
        ``state``): [count, lanes]."""
        out = torch.empty(count, len(self.seeds), dtype=torch.int64)
        if not count:
            return out
        out[0] = state
        lags = recurrence_lags(self.params)
        diagonals = None if lags else leap_diagonals(self.params)
        if diagonals and count >= 4 * _COLUMNS:
            self._columns(out.numpy(), diagonals)
            return out
        first = min(count, lags[-1]) if lags else count
        have = 1
        while have < first:
            take = min(have, first - have)
            out[have:have + take] = _power_map(self.params, have)(out[:take])
            have += take
        if first < count:
            _grow(out.numpy(), first, count, lags)
        return out

    def _state_chunks(self, state: torch.Tensor, n: int, chunk: int):
        """The states of ``n`` cycles from ``state`` in chunks of ``chunk`` rows (numpy int64).
        With the shift form, each chunk's every ``_COLUMNS``-th state comes from the previous
        chunk's by one matrix power instead of a new doubling."""
        diagonals = leap_diagonals(self.params)
        if not diagonals or chunk % _COLUMNS or chunk < 4 * _COLUMNS:
            cur, done = state, 0
            while done < n:
                rows = min(chunk, n - done)
                states = self.states_from(cur, rows)
                cur = self._leap_map(states[-1:])[0]
                done += rows
                yield states.numpy()
            return
        out = np.empty((chunk, len(self.seeds)), dtype=np.int64)
        cols = np.empty((_COLUMNS, chunk // _COLUMNS, len(self.seeds)), dtype=np.int64)
        out[0] = state.numpy()
        first, done = None, 0
        while done < n:
            rows = min(chunk, n - done)
            first = self._columns(out[:rows], diagonals, first, cols)
            yield out[:rows]
            done += rows
            if done < n:
                first = _power_map(self.params, chunk)(torch.from_numpy(first)).numpy()

    def _columns(self, out: np.ndarray, diagonals, first: np.ndarray | None = None,
                 buf: np.ndarray | None = None) -> np.ndarray:
        """Fill ``out`` [count, lanes] (row 0 given, or ``first``: every ``_COLUMNS``-th
        state) without a sparse recurrence: every ``_COLUMNS``-th state by doubling, the ones
        between by the cheap shift form of T**k, a whole column of them per step. Returns
        those every ``_COLUMNS``-th states. ``buf``: room for the columns, reused."""
        m, count = _COLUMNS, len(out)
        rows = -(-count // m)
        if buf is None or buf.shape[1] < rows:
            buf = np.empty((m, rows, out.shape[1]), dtype=np.int64)
        cols = buf[:, :rows]                                           # cols[j, i] = state i*m + j
        if first is not None and len(first) >= rows:
            cols[0] = first[:rows]
        else:
            cols[0, 0] = out[0]
            have = 1
            while have < rows:
                take = min(have, rows - have)
                cols[0, have:have + take] = _power_map(self.params, m * have)(torch.from_numpy(cols[0, :take])).numpy()
                have += take
        u = cols.view(np.uint64)
        for j in range(1, m):
            _apply_diagonals(u[j - 1], diagonals, u[j])
        if count == rows * m:
            np.copyto(out.reshape(rows, m, -1), cols.transpose(1, 0, 2))
        else:
            out[:] = cols.transpose(1, 0, 2).reshape(rows * m, -1)[:count]
        return cols[0]

    def jump(self, state: torch.Tensor, cycles: int) -> torch.Tensor:
        """``state`` advanced by ``cycles`` enabled cycles."""
        return state.clone() if cycles == 0 else _power_map(self.params, cycles)(state)

    def words(self, state: torch.Tensor, start: int, count: int) -> torch.Tensor:
        """The out port [count, lanes] during the enabled cycles ``start .. start + count - 1``
        counted from ``state`` (cycle 0 shows ``state``)."""
        return self._out(self.states_from(self.jump(state, start), count))

    def stream(self, n: int) -> torch.Tensor:
        """``n`` edges with ``en`` high and ``snapshot`` on the first (a pass; ``n = 0``: the
        snapshot alone), in O(1): the registers end as :meth:`run` would leave them. Returns
        the state the out port shows during the first of those cycles."""
        start = self.state.clone()
        if self.replay:
            self.shadow, self.shadow_pos = start.clone(), self.pos
        self.state, self.pos = self.jump(self.state, n), self.pos + n
        return start

    def out_bits(self, state: torch.Tensor, n: int, bits: int, lanes: int, chunk: int):
        """The low ``bits`` bits of the out word of LFSR lanes ``0 .. lanes - 1`` during ``n``
        consecutive enabled cycles from ``state``, in chunks of at most ``chunk`` rows.

        Yields numpy arrays [rows, lanes] of the narrowest unsigned type holding ``bits``. A
        chunk is only valid until the next one is requested (the buffer is reused). With a
        sparse recurrence only these bits are ever computed, after the first ``lags[-1]``
        states; else each chunk's full states come first (:meth:`_state_chunks`).
        """
        dt = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= bits)
        shift, mask = self._shift, signed64((1 << bits) - 1)

        def narrow(states: np.ndarray) -> np.ndarray:
            return ((states[:, :lanes] >> shift) & mask).astype(dt)

        lags = recurrence_lags(self.params)
        if not lags:
            # into reused buffers: fresh ones per chunk cost page faults comparable to the work
            out = np.empty((chunk, lanes), dtype=dt)
            wide = out.view(np.int64) if dt == np.uint64 else np.empty((chunk, lanes), dtype=np.int64)
            for states in self._state_chunks(state, n, chunk):
                rows = len(states)
                np.right_shift(states[:, :lanes], shift, out=wide[:rows])
                wide[:rows] &= mask
                if wide.base is not out:
                    np.copyto(out[:rows], wide[:rows], casting="unsafe")
                yield out[:rows]
            return
        # history (a multiple of lags[-1] so each growth step uses the largest blocks) + chunk
        hist = lags[-1] << max(0, (chunk // lags[-1]).bit_length())
        buf = np.empty((hist + chunk, lanes), dtype=dt)
        out = np.empty((chunk, lanes), dtype=dt)
        first = min(n, lags[-1])
        buf[:first] = narrow(self.states_from(state, first).numpy())
        base, have, done = 0, first, 0                # buf[i] is cycle base + i
        while done < n:
            rows = min(chunk, n - done)
            if done + rows > base + len(buf):         # keep the last `hist` rows as history
                buf[:hist] = buf[have - hist:have]
                base, have = base + have - hist, hist
            _grow(buf, have, done + rows - base, lags)
            have = max(have, done + rows - base)
            np.copyto(out[:rows], buf[done - base:done - base + rows])
            done += rows
            yield out[:rows]


