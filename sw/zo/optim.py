"""Zeroth-order optimizers (MeZO, PeZO, DiZO, PseuZO) and the first-order reference.

Every optimizer works on any ``torch.nn.Module`` with the same interface::

    opt = MeZO(model, loss_fn, lr=1e-3, eps=1e-3)
    loss = opt.step(x, y)          # one step on a batch; returns the step's training loss
    opt.forwards                   # forward passes spent so far (the budget unit)

``loss_fn(output, target)`` returns a scalar tensor. The ZO optimizers never call backward
through the model; they perturb the parameters in place with ``z`` regenerated from a
per-step key by their perturbation source (:mod:`pezo.sw.zo.source`).
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import torch

from pezo.config import Config
from pezo.errors import PezoError
from pezo.sw.zo.source import EngineSource, GaussianSource

__all__ = ["Optimizer", "MeZO", "PeZO", "DiZO", "PseuZO", "FirstOrder"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Optimizer:
    """Common part: the model's trainable parameters, the loss, the forward-pass counter.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    loss_fn : callable
        ``loss_fn(model(x), y)`` -> scalar tensor.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn):
        self.model, self.loss_fn = model, loss_fn
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise PezoError("the model has no trainable parameters")
        self.d = sum(p.numel() for p in self.params)
        self.forwards = 0

    @torch.no_grad()
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forwards += 1
        return self.model(x)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float(self.loss_fn(self._forward(x), y))

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class MeZO(Optimizer):
    """SPSA with in-place perturbation and seed replay (Malladi et al., MeZO).

    One step: ``theta += eps z``, L+; ``theta -= 2 eps z``, L-; ``theta += eps z``;
    ``g = (L+ - L-) / (2 eps)``; ``theta -= lr g z``. ``z`` is regenerated from the step's key
    for each of the four uses and never stored. Two forward passes per step.

    Parameters
    ----------
    model, loss_fn
        As :class:`Optimizer`.
    lr, eps : float
        Step size and perturbation size.
    source : GaussianSource or EngineSource, optional
        Default: a torch Gaussian seeded with ``seed``.
    seed : int
        Seed of the default source.
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0):
        super().__init__(model, loss_fn)
        self.lr, self.eps = lr, eps
        self.source = source if source is not None else GaussianSource(self.d, seed)
        if self.source.d != self.d:
            raise PezoError(f"the perturbation source gives {self.source.d} values, the model has {self.d}")

    @torch.no_grad()
    def _perturb(self, key, alpha: float) -> None:
        """``theta += alpha * z(key)``, z mapped onto the parameters in order, piece by piece
        as the source hands it out (``source.chunks``): a whole z is never needed."""
        params = iter(self.params)
        p, flat, off = None, None, 0
        for z in self.source.chunks(key):
            pos = 0
            while pos < len(z):
                if p is None:
                    p, off = next(params), 0
                    # a non-contiguous parameter is updated through a flat copy
                    flat = p.view(-1) if p.is_contiguous() else p.reshape(-1).clone()
                n = min(len(z) - pos, flat.numel() - off)
                flat[off:off + n].add_(z[pos:pos + n], alpha=alpha)
                pos, off = pos + n, off + n
                if off == flat.numel():
                    if not p.is_contiguous():
                        p.copy_(flat.view_as(p))
                    p = None

    def step(self, x, y) -> float:
        key = self.source.next()
        self._perturb(key, self.eps)
        lp = self._loss(x, y)
        self._perturb(key, -2 * self.eps)
        lm = self._loss(x, y)
        self._perturb(key, self.eps)
        self._perturb(key, -self.lr * (lp - lm) / (2 * self.eps))
        return (lp + lm) / 2


class PeZO(MeZO):
    """MeZO driven by the hardware stream: the golden engine of ``cfg`` (reuse strategy,
    scale mode, source), bit for bit; z = :func:`pezo.sw.zo.source.code_scale` x code.

    Parameters
    ----------
    model, loss_fn, lr, eps
        As :class:`MeZO`.
    cfg : Config
        The engine configuration.
    """

    def __init__(self, model, loss_fn, cfg: Config, lr: float, eps: float = 1e-3):
        d = sum(p.numel() for p in model.parameters() if p.requires_grad)
        super().__init__(model, loss_fn, lr, eps, source=EngineSource(cfg, d))


class DiZO(MeZO):
    """MeZO plus a layer-wise projection of the displacement from the pre-trained anchor (DiZO).

    Every ``interval`` steps each parameter tensor ``l`` with displacement
    ``D_l = theta_l - anchor_l`` is set to ``anchor_l + (1 + s_l) D_l``: its displacement norm
    becomes ``gamma_l = (1 + s_l) |D_l|`` with ``s_l`` clipped to ``[-tau, tau]``. The vector
    ``s`` (one entry per tensor) starts at 0 and is learned by SPSA over ``inner`` iterations
    (Gaussian ``u``, perturbation ``eps_p``, step ``proj_lr``; 2 forward passes each), then the
    projection is written back. The anchor is the model at construction.

    Parameters
    ----------
    model, loss_fn, lr, eps, source, seed
        As :class:`MeZO`.
    interval : int
        MeZO steps between projections (50).
    inner : int
        SPSA iterations of one projection (10).
    tau : float
        Clip of ``gamma_l`` to ``[1 - tau, 1 + tau] |D_l|`` (0.2).
    eps_p, proj_lr : float
        Perturbation (0.1) and step (2.0) of the projection's SPSA.
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0,
                 interval: int = 50, inner: int = 10, tau: float = 0.2, eps_p: float = 0.1,
                 proj_lr: float = 2.0):
        super().__init__(model, loss_fn, lr, eps, source, seed)
        if interval < 1 or inner < 0 or tau < 0:
            raise PezoError(f"DiZO needs interval >= 1, inner >= 0, tau >= 0 (got {interval}, {inner}, {tau})")
        self.interval, self.inner, self.tau, self.eps_p, self.proj_lr = interval, inner, tau, eps_p, proj_lr
        self.anchor = [p.detach().clone() for p in self.params]
        self._gen = torch.Generator().manual_seed(seed + 0x5EED)
        self.steps = 0
        self.last_scales: torch.Tensor | None = None

    def step(self, x, y) -> float:
        loss = super().step(x, y)
        self.steps += 1
        if self.steps % self.interval == 0 and self.inner:
            self.project(x, y)
        return loss

    @torch.no_grad()
    def project(self, x, y) -> torch.Tensor:
        """Learn and write back the per-tensor scales ``1 + s``; returns them."""
        disp = [p - a for p, a in zip(self.params, self.anchor)]

        def place(s: torch.Tensor) -> None:
            for p, a, dl, sl in zip(self.params, self.anchor, disp, s.tolist()):
                torch.add(a, dl, alpha=1 + sl, out=p)

        s = torch.zeros(len(self.params))
        for _ in range(self.inner):
            u = torch.randn(len(s), generator=self._gen)
            place(s + self.eps_p * u)
            lp = self._loss(x, y)
            place(s - self.eps_p * u)
            lm = self._loss(x, y)
            s = (s - self.proj_lr * (lp - lm) / (2 * self.eps_p) * u).clamp_(-self.tau, self.tau)
        place(s)
        self.last_scales = 1 + s
        return self.last_scales


class PseuZO(MeZO):
    """Pseudo-zeroth-order: a Jacobian estimate of the model output with an EMA over a window.

    One step (two forward passes): ``h = f(theta)``, ``e = dLoss/dh`` (autograd through the
    loss only, never through the model), ``dh = f(theta + eps z) - h``. The (key, dh) pair
    joins a sliding window of the last ``window`` steps; the update is
    ``theta -= lr * sum_k a_k <dh_k, e>/eps z_k`` over the window, with EMA weights
    ``a_k ~ beta**age`` normalised to sum 1 and each ``z_k`` regenerated from its key.
    ``<dh_k, e>`` pairs outputs sample by sample, so every step must see the same batch
    (the tasks train on the full training set).

    Parameters
    ----------
    model, loss_fn, lr, eps, source, seed
        As :class:`MeZO`.
    window : int
        Sliding window length w (14).
    beta : float
        EMA decay (0.9).
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0,
                 window: int = 14, beta: float = 0.9):
        if source is None:
            source = GaussianSource(sum(p.numel() for p in model.parameters() if p.requires_grad), seed)
        if isinstance(source, EngineSource):
            source.keep = max(source.keep, window)
        super().__init__(model, loss_fn, lr, eps, source, seed)
        if window < 1 or not 0 <= beta < 1:
            raise PezoError(f"PseuZO needs window >= 1 and 0 <= beta < 1 (got {window}, {beta})")
        self.window, self.beta = window, beta
        self._hist: deque = deque(maxlen=window)

    def step(self, x, y) -> float:
        key = self.source.next()
        h = self._forward(x)
        with torch.enable_grad():
            hr = h.detach().requires_grad_(True)
            loss = self.loss_fn(hr, y)
            (e,) = torch.autograd.grad(loss, hr)
        self._perturb(key, self.eps)
        dh = self._forward(x) - h
        self._perturb(key, -self.eps)
        self._hist.append((key, dh))
        w = self.beta ** torch.arange(len(self._hist) - 1, -1, -1, dtype=torch.float64)
        w /= w.sum()
        for (k, dhk), a in zip(self._hist, w.tolist()):
            self._perturb(k, -self.lr * a * float((dhk * e).sum()) / self.eps)
        return float(loss.detach())


class FirstOrder(Optimizer):
    """First-order reference: ``torch.optim.SGD`` or ``Adam`` with backpropagation.

    Counts one forward pass per step (its backward is not counted; see docs/training.md).

    Parameters
    ----------
    model, loss_fn
        As :class:`Optimizer`.
    lr : float
    kind : {"sgd", "adam"}
    momentum : float
        SGD momentum (0).
    """

    def __init__(self, model, loss_fn, lr: float, kind: str = "sgd", momentum: float = 0.0):
        super().__init__(model, loss_fn)
        if kind == "sgd":
            self.opt = torch.optim.SGD(self.params, lr=lr, momentum=momentum)
        elif kind == "adam":
            self.opt = torch.optim.Adam(self.params, lr=lr)
        else:
            raise PezoError(f"first-order kind {kind!r}: expected 'sgd' or 'adam'")

    def step(self, x, y) -> float:
        self.opt.zero_grad(set_to_none=True)
        self.forwards += 1
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return float(loss.detach())
