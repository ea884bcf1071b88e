"""ZO training with the device holding the parameters (docs/link.md): ``pezo train --device``.

The model's parameters live on the device as fixed-point codes (``update.param``); each step the
device runs the four passes of docs/update.md and streams theta+ and theta- back, the host runs
the forward passes on them and loads the scalar ``c * lr * g`` (``g = (L+ - L-) / (2 eps_g)``,
``eps_g = 2**-eps_shift / c``), exactly the loop of ``pezo.sim.update_train`` (docs/update.md,
"The host's scalar"). The step size ``eps`` is the hardware's, not the task's.
"""

from __future__ import annotations

import torch

from pezo import fixed
from pezo.errors import PezoError
from pezo.update_rules import Op, UpdateRules, scalar_code


class DeviceZO:
    """SPSA with a device (:class:`pezo.host.Device`, or anything with its ``load``, ``read``,
    ``run_pass`` and ``scalar``) doing the perturbations and the update."""

    def __init__(self, model: torch.nn.Module, loss_fn, device, rules: UpdateRules, fold: float, lr: float):
        self.model, self.loss_fn, self.dev, self.r = model, loss_fn, device, rules
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.d = sum(p.numel() for p in self.params)
        if self.d > rules.depth:
            raise PezoError(f"the model has {self.d} parameters; the device holds {rules.depth} (update.depth)")
        self.c, self.lr = fold, lr
        self.eps_g = 2.0 ** -rules.eps_shift / fold
        self.pfmt = fixed.QFormat(rules.W - rules.F, rules.F)
        self.forwards = 0
        self.overflows = 0
        self.last_scalar = 0
        flat = torch.cat([p.detach().reshape(-1).double() for p in self.params])
        self.dev.load(fixed.from_float(flat, self.pfmt).tolist())
        self.sync()

    def _set(self, codes) -> None:
        flat = fixed.to_float(torch.tensor(codes, dtype=torch.int64), self.pfmt)
        with torch.no_grad():
            i = 0
            for p in self.params:
                p.copy_(flat[i:i + p.numel()].view_as(p).to(p.dtype))
                i += p.numel()

    def _loss(self, x, y) -> float:
        with torch.no_grad():
            return float(self.loss_fn(self.model(x), y))

    def scalar_code(self, loss_plus: float, loss_minus: float) -> int:
        r = self.r
        return scalar_code(loss_plus, loss_minus, self.eps_g, self.c, self.lr, r.S, r.Fs)

    def step(self, x, y) -> float:
        _, plus = self.dev.run_pass(Op.PLUS, self.d, readback=True)
        self._set(plus)
        lp = self._loss(x, y)
        _, minus = self.dev.run_pass(Op.MINUS2, self.d, readback=True)
        self._set(minus)
        lm = self._loss(x, y)
        self.dev.run_pass(Op.RESTORE, self.d)
        self.last_scalar = self.scalar_code(lp, lm)
        self.dev.scalar(self.last_scalar)
        ovf, _ = self.dev.run_pass(Op.UPDATE, self.d)
        self.overflows += int(ovf)
        self.forwards += 2
        return (lp + lm) / 2

    def sync(self) -> list[int]:
        """The model's parameters from the device (before an evaluation, and at the end)."""
        codes = self.dev.read(self.d)
        self._set(codes)
        return codes
