"""The update system's fast path: whole passes at once, with the engine's fast stream.

:class:`UpdateStream` is the reference :class:`pezo.sw.golden.update.Update` (whose ``step`` it
keeps) plus :meth:`~UpdateStream.run_pass` and :meth:`~UpdateStream.zo_step`: whole passes,
vectorised, with the values from :meth:`pezo.sw.golden.engine_stream.EngineStream.passes`; the
memory, the sticky flag and the engine end as stepping the reference leaves them (the pass's
values do not depend on stalls; tested).
"""

from __future__ import annotations

import torch

from pezo.update_rules import Op
from pezo.sw.golden.engine_stream import EngineStream
from pezo.sw.golden.update import Update

__all__ = ["UpdateStream"]


class UpdateStream(Update):
    """The golden update system with whole passes (see the module docstring)."""

    engine_type = EngineStream

    def reset(self) -> None:
        super().reset()
        self._z = torch.zeros(0, dtype=torch.int64)     # values of the current step

    # -- whole passes, vectorised -----------------------------------------------------------

    def run_pass(self, op: int, d: int) -> torch.Tensor:
        """Run one ``PASS`` to completion, as the hardware would; returns the new theta[:d]."""
        if self.running:
            raise RuntimeError("run_pass() needs the system idle")
        r = self.r
        d = r.d_eff(d)
        if op == Op.PLUS:
            self._z = self.engine.passes(1, d)[0]
        elif self._z.numel() != d:
            raise ValueError(f"pass {Op(op).name} of d = {d} does not replay a PLUS pass of d = {self._z.numel()}")
        theta = self.theta
        new, over = r.apply(theta[:d].clone(), op, self._z, self.scalar)
        nb = -(-d // r.lanes)
        if nb:
            self.rdata, self.rdata_known = self.mem[nb - 1].tolist(), 1   # the last word read
        theta[:d] = new
        self.ovf |= int(bool(over.any()))
        self.ptr, self.rem, self.mode, self.done, self.over_r = nb, 0, op, 0, 0
        return theta[:d].clone()

    def load_scalar(self, code: int) -> None:
        self.scalar = int(code)

    def zo_step(self, d: int, scalar: int) -> torch.Tensor:
        """The four passes of a ZO step with a scalar code known in advance; returns theta[:d]."""
        for op in (Op.PLUS, Op.MINUS2, Op.RESTORE):
            self.run_pass(op, d)
        self.load_scalar(scalar)
        return self.run_pass(Op.UPDATE, d)

