"""Bit fields of the LFSR bank's ``out`` port, vectorised over cycles (shared by the engine's
reference, its fast stream and the Gaussian units' golden models)."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["FieldReader"]


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
