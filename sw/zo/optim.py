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

__all__ = ["Optimizer", "MeZO", "PeZO", "DiZO", "PseuZO", "FirstOrder", "cyclic_hyperbola", "decayed",
           "dizo_targets"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def decayed(model: torch.nn.Module) -> dict[str, bool]:
    """MeZO's weight-decay rule per trainable parameter name: decay everything except biases
    and normalisation layers (MeZO skips names with "bias", "layer_norm", "layernorm"; a module
    whose class name has "Norm" in it, such as LayerNorm or Llama's RMSNorm, counts as one)."""
    norm = {id(p) for m in model.modules() if "norm" in type(m).__name__.lower() for p in m.parameters(recurse=False)}
    return {n: not ("bias" in n or "layer_norm" in n or "layernorm" in n or id(p) in norm)
            for n, p in model.named_parameters() if p.requires_grad}


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
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise PezoError("the model has no trainable parameters")
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.d = sum(p.numel() for p in self.params)
        self.forwards = 0
        self.regenerations = 0          # full-length z regenerations (the perturbation demand)

    @torch.no_grad()
    def _forward(self, x) -> torch.Tensor:
        self.forwards += 1
        return self.model(x)

    def _loss(self, x, y) -> float:
        return float(self.loss_fn(self._forward(x), y))

    def step(self, x, y) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class MeZO(Optimizer):
    """SPSA with in-place perturbation and seed replay (Malladi et al., MeZO).

    One step: ``theta += eps z``, L+; ``theta -= 2 eps z``, L-; ``theta += eps z``;
    ``g = (L+ - L-) / (2 eps)``; ``theta -= lr (g z + wd theta)`` (the decay only on the
    parameters :func:`decayed` selects, as MeZO's ``zo_update``). ``z`` is regenerated from the
    step's key for each of the 4 uses and never stored. Two forward passes per step.

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
    weight_decay : float
        MeZO's weight decay (0).
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0,
                 weight_decay: float = 0.0):
        super().__init__(model, loss_fn)
        if weight_decay < 0:
            raise PezoError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.source = source if source is not None else GaussianSource(self.d, seed)
        if self.source.d != self.d:
            raise PezoError(f"the perturbation source gives {self.source.d} values, the model has {self.d}")
        dec = decayed(model)
        self._decayed = [p for n, p in zip(self.names, self.params) if dec[n]]

    @torch.no_grad()
    def _perturb(self, key, alpha: float) -> None:
        """``theta += alpha * z(key)``, z mapped onto the parameters in order, piece by piece
        as the source hands it out (``source.chunks``): a whole z is never needed."""
        self.regenerations += 1
        params = iter(self.params)
        p, flat, off = None, None, 0
        for z in self.source.chunks(key):
            z = z.to(self.params[0].device)
            pos = 0
            while pos < len(z):
                if p is None:
                    p, off = next(params), 0
                    # a non-contiguous parameter is updated through a flat copy
                    flat = p.view(-1) if p.is_contiguous() else p.reshape(-1).clone()
                n = min(len(z) - pos, flat.numel() - off)
                flat[off:off + n].add_(z[pos:pos + n].to(flat.dtype), alpha=alpha)
                pos, off = pos + n, off + n
                if off == flat.numel():
                    if not p.is_contiguous():
                        p.copy_(flat.view_as(p))
                    p = None

    @torch.no_grad()
    def _update(self, key, coeff: float) -> None:
        """``theta -= lr (coeff z(key) + wd theta)``."""
        if self.weight_decay:
            for p in self._decayed:
                p.mul_(1 - self.lr * self.weight_decay)
        self._perturb(key, -self.lr * coeff)

    def step(self, x, y) -> float:
        key = self.source.next()
        self._perturb(key, self.eps)
        lp = self._loss(x, y)
        self._perturb(key, -2 * self.eps)
        lm = self._loss(x, y)
        self._perturb(key, self.eps)
        self._update(key, (lp - lm) / (2 * self.eps))
        return (lp + lm) / 2


class PeZO(MeZO):
    """MeZO driven by the hardware stream: the golden engine of ``cfg`` (reuse strategy,
    scale mode, source), bit for bit; z = :func:`pezo.sw.zo.source.code_scale` x code.

    Parameters
    ----------
    model, loss_fn, lr, eps, weight_decay
        As :class:`MeZO`.
    cfg : Config
        The engine configuration.
    """

    def __init__(self, model, loss_fn, cfg: Config, lr: float, eps: float = 1e-3, weight_decay: float = 0.0):
        d = sum(p.numel() for p in model.parameters() if p.requires_grad)
        super().__init__(model, loss_fn, lr, eps, source=EngineSource(cfg, d), weight_decay=weight_decay)


# Attention key/value weights by the names the model families give them (OPT/Llama/our ViT:
# k_proj/v_proj; BERT/RoBERTa: attention.self.key/value).
_KV = ("k_proj.weight", "v_proj.weight", "attention.self.key.weight", "attention.self.value.weight")


def dizo_targets(names: list[str], params: list[torch.Tensor]) -> list[str]:
    """The tensors DiZO projects: the attention key and value weights where the model has
    them (the reference's choice for full fine-tuning of OPT), otherwise every weight matrix
    (2 or more dimensions; biases and normalisation vectors never, as in the reference)."""
    kv = [n for n in names if n.endswith(_KV)]
    return kv or [n for n, p in zip(names, params) if p.dim() >= 2]


class DiZO(MeZO):
    """MeZO plus DiZO's layer-wise projection of the displacement from the pre-trained anchor,
    as the reference implements it (Skilteee/DiZO ``large_models/trainer.py``, ``zo_forward``).

    After every ``interval``-th MeZO step, for each projected tensor ``l`` with displacement
    ``D_l = theta_l - a_l`` and norm ``ts_l = |D_l|``, a target norm ``gamma_l`` starts at
    ``ts_l`` and is learned by SPSA over ``inner`` iterations: ``z_l`` (one value per tensor,
    from the run's source) clipped to ``+-(tau / eps_p) ts_l``; L+ at ``gamma + eps_p z``, L- at
    ``gamma - eps_p z`` with ``theta_l = a_l + D_l gamma_l / ts_l``;
    ``gamma <- clip(gamma - proj_lr ts g z, (1 - tau) ts, (1 + tau) ts)`` with
    ``g = (L+ - L-) / (2 eps_p)``. Then ``theta_l = a_l + D_l gamma_l / ts_l`` is written back.
    The anchor is the model at construction; 2 forward passes per inner iteration.

    Parameters
    ----------
    model, loss_fn, lr, eps, source, seed, weight_decay
        As :class:`MeZO`.
    interval : int
        MeZO steps between projections (50).
    inner : int
        SPSA iterations of one projection (10).
    tau : float
        Clip range (0.2).
    eps_p, proj_lr : float
        Perturbation (0.1) and step (2.0) of the projection's SPSA.
    targets : list of str, optional
        Names of the projected parameters (default :func:`dizo_targets`).
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0,
                 interval: int = 50, inner: int = 10, tau: float = 0.2, eps_p: float = 0.1,
                 proj_lr: float = 2.0, targets: list[str] | None = None, weight_decay: float = 0.0):
        super().__init__(model, loss_fn, lr, eps, source, seed, weight_decay)
        if interval < 1 or inner < 0 or not 0 <= tau < 1 or eps_p <= 0:
            raise PezoError(f"DiZO needs interval >= 1, inner >= 0, 0 <= tau < 1, eps_p > 0 "
                            f"(got {interval}, {inner}, {tau}, {eps_p})")
        self.interval, self.inner, self.tau, self.eps_p, self.proj_lr = interval, inner, tau, eps_p, proj_lr
        targets = dizo_targets(self.names, self.params) if targets is None else targets
        unknown = sorted(set(targets) - set(self.names))
        if unknown or not targets:
            raise PezoError(f"DiZO projection targets {unknown or 'none'}: not trainable parameters of the model")
        self.targets = [n for n in self.names if n in targets]
        self._proj = [p for n, p in zip(self.names, self.params) if n in targets]
        self.anchor = [p.detach().clone() for p in self._proj]
        # the projection's z comes from a source of the run's kind (torch Gaussian or the
        # engine stream), one value per projected tensor
        self.proj_source = self.source.derived(len(self._proj))
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
        """One projection; writes ``theta`` back and returns the scales ``gamma / ts``."""
        disp = [p - a for p, a in zip(self._proj, self.anchor)]
        ts = torch.stack([dl.norm() for dl in disp]).double().cpu()

        def place(gamma: torch.Tensor) -> None:
            for p, a, dl, r in zip(self._proj, self.anchor, disp, (gamma / (ts + 1e-8)).tolist()):
                torch.add(a, dl, alpha=r, out=p)

        gamma, bound = ts.clone(), self.tau / self.eps_p * ts
        for _ in range(self.inner):
            key = self.proj_source.next()
            z = self.proj_source.z(key).double().cpu()
            z = torch.maximum(torch.minimum(z, bound), -bound)
            place(gamma + self.eps_p * z)
            lp = self._loss(x, y)
            place(gamma - self.eps_p * z)
            lm = self._loss(x, y)
            g = (lp - lm) / (2 * self.eps_p)
            gamma = torch.maximum(torch.minimum(gamma - self.proj_lr * ts * g * z, (1 + self.tau) * ts),
                                  (1 - self.tau) * ts)
        place(gamma)
        self.last_scales = gamma / (ts + 1e-8)
        return self.last_scales


def cyclic_hyperbola(t: int, epochs: int, k: int = 2, m_max: float = 1.0, m_min: float = 0.0) -> float:
    """PseuZO's momentum schedule (YangBigMn/PseuZO ``pzo_trainer.py``): the run's ``epochs``
    fall into ``k`` cycles; epoch ``t`` of a cycle has momentum ``m_max / (1 + 10 t)`` for
    t <= 10, ``m_min`` after (plain MeZO steps), and so do the epochs after the last whole cycle."""
    cyc = epochs // k
    if t >= cyc * k:
        return m_min
    t %= cyc
    return m_max / (1 + 10 * t) if t <= 10 else m_min


class PseuZO(MeZO):
    """Pseudo-zeroth-order (PseuZO): a Jacobian estimate of the model output over a window.

    One step (two forward passes): ``h = f(theta)``, ``e = dLoss/dh`` (autograd through the
    loss only, never through the model), ``dh = f(theta + eps z) - h``. The (key, dh) pair
    joins a sliding window of the last ``window`` steps; the update is
    ``theta -= lr sum_k (c_k z_k + wd theta)`` with ``c_k = m**age_k <dh_k, e> / eps`` over the
    window, each ``z_k`` regenerated from its key (weight decay once per entry, as the
    reference's ``pzo_update``). ``<dh_k, e>`` pairs outputs sample by sample, so every step
    must see the same batch (the tasks train on the full training set).

    The published form (``momentum="schedule"``, ``normalise=False``) is the reference's: the
    coefficients are not normalised (they sum to 14 at m = 1) and the momentum follows
    :func:`cyclic_hyperbola` over the run's epochs, an epoch being ``epoch_steps`` steps; an
    epoch of momentum 1 starts with an empty window, and an epoch of momentum 0 makes plain
    MeZO steps. The variant ``pseuzo-ema`` (this project's earlier form) keeps a fixed
    momentum and normalises the weights to sum to 1.

    Parameters
    ----------
    model, loss_fn, lr, eps, source, seed, weight_decay
        As :class:`MeZO`.
    window : int
        Sliding window length (14).
    momentum : "schedule" or float
        The reference's schedule, or a fixed momentum in [0, 1).
    normalise : bool
        Scale the window's weights to sum to 1 (the variant).
    total_steps : int
        Steps of the run (the schedule needs the number of epochs); required with the schedule.
    epoch_steps : int
        Steps per epoch (1: the tasks are full-batch, so every step is a pass over the data).
    """

    def __init__(self, model, loss_fn, lr: float, eps: float = 1e-3, source=None, seed: int = 0,
                 window: int = 14, momentum: str | float = "schedule", normalise: bool = False,
                 total_steps: int | None = None, epoch_steps: int = 1, weight_decay: float = 0.0):
        if source is None:
            source = GaussianSource(sum(p.numel() for p in model.parameters() if p.requires_grad), seed)
        if isinstance(source, EngineSource):
            source.keep = max(source.keep, window)
        super().__init__(model, loss_fn, lr, eps, source, seed, weight_decay)
        if window < 1:
            raise PezoError(f"PseuZO needs window >= 1 (got {window})")
        if momentum == "schedule":
            if not total_steps or total_steps < 1 or epoch_steps < 1:
                raise PezoError("PseuZO's momentum schedule needs the run's total steps and epoch_steps >= 1")
        elif not 0 <= momentum < 1:
            raise PezoError(f"PseuZO's fixed momentum must be in [0, 1) (got {momentum})")
        self.window, self.momentum, self.normalise = window, momentum, normalise
        self.epochs = -(-total_steps // epoch_steps) if momentum == "schedule" else 0
        self.epoch_steps = epoch_steps
        self.m = momentum if momentum != "schedule" else None
        self.steps = 0
        self.mezo_steps = 0
        self._hist: deque = deque(maxlen=window)

    def _new_epoch(self) -> None:
        m = cyclic_hyperbola(self.steps // self.epoch_steps, self.epochs)
        if m == 1.0:
            self._hist.clear()
        self.m = m

    def step(self, x, y) -> float:
        if self.momentum == "schedule" and self.steps % self.epoch_steps == 0:
            self._new_epoch()
        self.steps += 1
        if self.momentum == "schedule" and self.m == 0.0:
            self.mezo_steps += 1
            return super().step(x, y)
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
        w = self.m ** torch.arange(len(self._hist) - 1, -1, -1, dtype=torch.float64)
        if self.normalise:
            w /= w.sum()
        for (k, dhk), a in zip(self._hist, w.tolist()):
            self._update(k, a * float((dhk * e).sum()) / self.eps)
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
