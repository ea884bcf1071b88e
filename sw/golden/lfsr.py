"""Golden model of the LFSR bank (:class:`pezo.hw.lfsr.LfsrBank`), bit-exact and cycle-accurate.

States are int64 tensors holding the raw ``width``-bit pattern (a width-64 state with its top
bit set is negative; only the bit pattern matters). A GF(2) matrix is applied to a tensor of
states by byte tables: ``M x = XOR_b table_b[byte_b(x)]``, eight lookups for 64 bits.

``step`` advances a state tensor with the one-cycle matrix ``T**k``. ``run`` instead tracks the
position of the bank on its sequences and fills all the states it needs at once by doubling
(``S[p + B .. p + 2B) = T**(kB) S[p .. p + B)``), so it costs O(log n) tensor operations.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from pezo import gf2
from pezo.config import LfsrConfig
from pezo.lfsr import LfsrParams


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


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
            tables.append([_signed64(int(v)) for v in t])
        self.tables = np.array(tables, dtype=np.int64)          # [bytes, 256]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # numpy's take on a 256-entry table is several times faster than torch indexing
        xn = x.numpy()
        y = np.zeros(xn.shape, dtype=np.int64)
        for b, table in enumerate(self.tables):
            y ^= table.take((xn >> (8 * b)) & 0xFF)
        return torch.from_numpy(y)


@lru_cache(maxsize=512)
def _power_map(params: LfsrParams, cycles: int) -> _Gf2Map:
    m = gf2.mat_pow(gf2.to_array(params.leap_rows, params.width), cycles)
    return _Gf2Map(gf2.from_array(m), params.width)


class LfsrBank:
    """Golden LFSR bank.

    Parameters
    ----------
    cfg : LfsrConfig
        The same configuration the hardware is built from.

    Inputs (``step``/``run``): ``en``, and with replay ``snapshot`` and ``restore``; absent
    inputs are 0, except ``en`` which defaults to 1 in ``run`` (a free-running bank).
    Outputs: ``out`` [lanes] (``k`` bits per lane, raw pattern: the top ``k`` bits of
    ``state ^ seed``, as the hardware register holds them) and ``state`` [lanes].
    """

    def __init__(self, cfg: LfsrConfig):
        self.params = cfg.params
        self.replay = cfg.replay
        self.seeds = torch.tensor([_signed64(s) for s in cfg.seeds], dtype=torch.int64)
        self._leap = _power_map(self.params, 1)
        n, k = self.params.width, self.params.k
        self._shift = n - k
        self._kmask = _signed64((1 << k) - 1) if k == 64 else (1 << k) - 1
        self.reset()

    def reset(self) -> None:
        """Back to the reset state: every lane at its seed, shadow = seeds."""
        self.state = self.seeds.clone()
        self.shadow = self.seeds.clone()
        self.pos = 0            # cycles advanced since reset (the state is T**(k*pos) seeds)
        self.shadow_pos = 0

    def _out(self, state: torch.Tensor) -> torch.Tensor:
        # the hardware register holds state ^ seed (it resets to 0 on every FPGA family)
        return ((state ^ self.seeds) >> self._shift) & self._kmask

    def outputs(self) -> dict[str, torch.Tensor]:
        """What the ports show now."""
        return {"out": self._out(self.state), "state": self.state.clone()}

    def step(self, inputs: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
        """One rising edge; returns the outputs visible after it."""
        inputs = inputs or {}
        en = int(inputs.get("en", 0))
        snap = self.replay and int(inputs.get("snapshot", 0))
        rest = self.replay and int(inputs.get("restore", 0))
        new_shadow = (self.state.clone(), self.pos) if snap else (self.shadow, self.shadow_pos)
        if rest:
            self.state, self.pos = self.shadow.clone(), self.shadow_pos
        elif en:
            self.state, self.pos = self._leap(self.state), self.pos + 1
        self.shadow, self.shadow_pos = new_shadow
        return self.outputs()

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
        count = hi - lo + 1
        out = torch.empty(count, len(self.seeds), dtype=torch.int64)
        out[0] = self._state_at(lo, list(known))
        have = 1
        while have < count:
            take = min(have, count - have)
            out[have:have + take] = _power_map(self.params, have)(out[:take])
            have += take
        return out


class FieldReader:
    """Bit fields of the bank's ``out`` port, vectorised over cycles.

    ``reader(words, starts, width)`` returns ``rnd[s +: width]`` for each start ``s`` as int64
    [rows, len(starts)], where ``words`` [rows, lanes] are the bank's out words (``k`` bits each,
    raw pattern) and ``rnd`` is their concatenation, LFSR lane ``j`` at bits ``[j*k, (j+1)*k)``.
    """

    def __init__(self, k: int):
        self.k = k
        self._plans: dict[tuple, list] = {}

    def _plan(self, starts: tuple[int, ...], width: int) -> list:
        # Split each field into its pieces within one LFSR lane: (lane, shift, bits, dst).
        pieces = []
        for s in starts:
            parts, pos = [], s
            while pos < s + width:
                j, sh = divmod(pos, self.k)
                take = min(self.k - sh, s + width - pos)
                parts.append((j, sh, take, pos - s))
                pos += take
            pieces.append(parts)
        plan = []
        for m in range(max(len(p) for p in pieces)):
            cols = [p[m] if m < len(p) else (0, 0, 0, 0) for p in pieces]
            lanes = [c[0] for c in cols]
            plan.append((lanes[0] if len(set(lanes)) == 1 else np.array(lanes),
                         np.array([c[1] for c in cols]), np.array([(1 << c[2]) - 1 for c in cols]),
                         np.array([c[3] for c in cols]), any(c[3] for c in cols)))
        return plan

    def __call__(self, words: torch.Tensor, starts: tuple[int, ...], width: int) -> torch.Tensor:
        key = (starts, width)
        if key not in self._plans:
            self._plans[key] = self._plan(starts, width)
        # numpy: its int64 shifts and masks run several times faster than torch's here
        w, out = words.numpy(), None
        for lane, shift, mask, dst, shifted in self._plans[key]:
            part = (w[:, lane:lane + 1] if isinstance(lane, int) else w[:, lane]) >> shift
            part &= mask
            if shifted:
                part <<= dst
            if out is None:
                out = part
            else:
                out |= part
        return torch.from_numpy(np.ascontiguousarray(out))   # fancy indexing may leave it column-major
