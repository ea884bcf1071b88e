"""Training tasks on the CPU from data that ships inside scikit-learn (no downloads).

* ``digits``: an MLP 64-32-10 trained from scratch on the 8x8 digits (1797 images).
* ``digits-shift``: fine-tuning. The same MLP is first trained with first-order SGD on the
  digits, then fine-tuned on a shifted distribution: every image moved one pixel to the right
  (the pre-trained model drops from 97% to 44% test accuracy). The pre-trained model is DiZO's anchor.
* ``vit-shift``: fine-tuning a transformer. :class:`TinyViT` (each image row a token of 8
  pixels, one attention block) pre-trained first-order on the digits, fine-tuned on the shifted
  digits: the task on which ZO methods act on attention layers (DiZO projects its k/v weights).
* ``diabetes``: regression, an MLP 10-16-1 on the diabetes data set (442 patients), MSE on a
  standardised target; the metric is the test R^2.

Splits are fixed (``random_state=0``, 25% test, stratified for the digits; a validation split
cut from the training split for tuning, :meth:`Task.splits`); the seed of a run only changes
the model initialisation and the perturbations. Training is full-batch: the
training sets are small, and PseuZO pairs output changes sample by sample across steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import torch
from torch import nn

from pezo.errors import PezoError
from pezo.sw.zo import TASK_NAMES

__all__ = ["Task", "TASKS", "get"]

SPLIT_SEED = 0
VALIDATION = 0.2
PRETRAIN_STEPS = 300
PRETRAIN_LR = 0.5
VIT_DIM = 16
VIT_PRETRAIN_STEPS = 300
VIT_PRETRAIN_LR = 1e-2


@dataclass
class Task:
    """A model, its data and the metric.

    Parameters
    ----------
    name : str
    metric : str
        ``"accuracy"`` (percent of the test set) or ``"r2"`` (coefficient of determination x 100).
    loss_fn : callable
    data : callable
        ``data() -> (x_train, y_train, x_test, y_test)``.
    model : callable
        ``model(seed) -> nn.Module``, the model a run starts from (pre-trained for fine-tuning).
    hparams : dict
        Default ``lr``/``eps`` per optimizer name and the default forward-pass budget.
    pretrained : bool
        The model a run starts from is pre-trained (a fine-tuning task: DiZO's setting).
    split_point : str
        What PseuZO differentiates the loss at (its h; recorded in run.json, docs/training.md): the
        model output on every task here.
    """

    name: str
    metric: str
    loss_fn: Callable
    data: Callable
    model: Callable
    hparams: dict = field(default_factory=dict)
    pretrained: bool = False
    split_point: str = "model output"

    def splits(self, validation: bool = False):
        """``(x_train, y_train, x_eval, y_eval)``: the training and test sets, or with
        ``validation`` the training set split once more (20% held out, stratified for
        classification, ``random_state=0``) for choosing step sizes; the test set is then unused."""
        xtr, ytr, xte, yte = self.data()
        if not validation:
            return xtr, ytr, xte, yte
        from sklearn.model_selection import train_test_split

        idx = torch.arange(len(ytr))
        strat = ytr.numpy() if self.metric == "accuracy" else None
        a, b = train_test_split(idx.numpy(), test_size=VALIDATION, random_state=SPLIT_SEED, stratify=strat)
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        return xtr[a], ytr[a], xtr[b], ytr[b]

    def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            out = model(x)
        if self.metric == "accuracy":
            return 100.0 * float((out.argmax(1) == y).float().mean())
        return 100.0 * (1.0 - float(((out.squeeze(1) - y) ** 2).mean() / ((y - y.mean()) ** 2).mean()))


def _split(x, y, stratify: bool):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.25, random_state=SPLIT_SEED, stratify=y if stratify else None)


@lru_cache(maxsize=None)
def _digits_arrays():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images / 16.0, d.target


@lru_cache(maxsize=None)
def _digits_data():
    img, target = _digits_arrays()
    xtr, xte, ytr, yte = _split(img.reshape(len(img), -1), target, True)
    return (torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr), torch.tensor(xte, dtype=torch.float32),
            torch.tensor(yte))


def _shift(img):
    """The fine-tuning distribution: every image one pixel to the right."""
    import numpy as np

    out = np.zeros_like(img)
    out[:, :, 1:] = img[:, :, :-1]
    return out


@lru_cache(maxsize=None)
def _digits_shift_data():
    img, target = _digits_arrays()
    img = _shift(img)
    xtr, xte, ytr, yte = _split(img.reshape(len(img), -1), target, True)
    return (torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr), torch.tensor(xte, dtype=torch.float32),
            torch.tensor(yte))


def _mlp(sizes: list[int], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _digits_model(seed: int) -> nn.Module:
    return _mlp([64, 32, 10], seed)


def _pretrained_digits(seed: int) -> nn.Module:
    """The MLP trained with first-order full-batch SGD on the original digits."""
    model = _digits_model(seed)
    return _fit_digits(model, torch.optim.SGD(model.parameters(), lr=PRETRAIN_LR, momentum=0.9), PRETRAIN_STEPS)


def _fit_digits(model: nn.Module, opt: torch.optim.Optimizer, steps: int) -> nn.Module:
    """First-order full-batch training on the original digits (the fine-tuning tasks' pre-training)."""
    xtr, ytr, _, _ = _digits_data()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xtr), ytr).backward()
        opt.step()
    return model


class Attention(nn.Module):
    """Multi-head self-attention with separate q/k/v/out projections (the layout of OPT and
    Llama, so that DiZO's projection finds ``k_proj`` and ``v_proj`` by name)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (f(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for f in (self.q_proj, self.k_proj, self.v_proj))
        att = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.out_proj(att.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.layer_norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.layer_norm2 = nn.LayerNorm(dim)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.layer_norm1(x))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.layer_norm2(x))))


class TinyViT(nn.Module):
    """A vision transformer for the 8x8 digits: each image row is a token of 8 pixels, a
    linear embedding plus a learned position, ``depth`` blocks, the mean token classified."""

    def __init__(self, dim: int = VIT_DIM, heads: int = 2, depth: int = 1, hidden: int = 2 * VIT_DIM,
                 classes: int = 10):
        super().__init__()
        self.embed = nn.Linear(8, dim)
        self.pos = nn.Parameter(0.02 * torch.randn(8, dim))
        self.blocks = nn.Sequential(*(Block(dim, heads, hidden) for _ in range(depth)))
        self.layer_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        h = self.blocks(self.embed(x.view(-1, 8, 8)) + self.pos)
        return self.head(self.layer_norm(h).mean(1))


@lru_cache(maxsize=8)
def _pretrained_vit_state(seed: int) -> dict:
    torch.manual_seed(seed)
    model = TinyViT()
    _fit_digits(model, torch.optim.Adam(model.parameters(), lr=VIT_PRETRAIN_LR), VIT_PRETRAIN_STEPS)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _pretrained_vit(seed: int) -> nn.Module:
    """The ViT trained first-order (full-batch Adam) on the original digits (cached per seed)."""
    model = TinyViT()
    model.load_state_dict(_pretrained_vit_state(seed))
    return model


@lru_cache(maxsize=None)
def _diabetes_data():
    import numpy as np
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    xtr, xte, ytr, yte = _split(d.data, d.target, False)
    mx, sx = xtr.mean(0), xtr.std(0)
    my, sy = ytr.mean(), ytr.std()
    f = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return f((xtr - mx) / sx), f((ytr - my) / sy), f((xte - mx) / sx), f((yte - my) / sy)


def _mse(out, y):
    return nn.functional.mse_loss(out.squeeze(1), y)


# Default step sizes (the centre of the benchmark's tuning grid, docs/training.md "Tuning") and forward-pass budgets.
TASKS: dict[str, Task] = {
    "digits": Task("digits", "accuracy", nn.functional.cross_entropy, _digits_data, _digits_model,
                   {"budget": 6000, "fo-sgd": {"lr": 0.5}, "fo-adam": {"lr": 0.01},
                    "zo": {"lr": 1e-2, "eps": 1e-3}}),
    "digits-shift": Task("digits-shift", "accuracy", nn.functional.cross_entropy, _digits_shift_data,
                         _pretrained_digits,
                         {"budget": 2000, "fo-sgd": {"lr": 0.1}, "fo-adam": {"lr": 0.01},
                          "zo": {"lr": 1e-2, "eps": 1e-3}}, pretrained=True),
    "vit-shift": Task("vit-shift", "accuracy", nn.functional.cross_entropy, _digits_shift_data, _pretrained_vit,
                      {"budget": 2000, "fo-sgd": {"lr": 0.1}, "fo-adam": {"lr": 3e-3},
                       "zo": {"lr": 1e-3, "eps": 1e-3}}, pretrained=True),
    "diabetes": Task("diabetes", "r2", _mse, _diabetes_data, lambda seed: _mlp([10, 16, 1], seed),
                     {"budget": 2000, "fo-sgd": {"lr": 0.01}, "fo-adam": {"lr": 1e-3},
                      "zo": {"lr": 3e-3, "eps": 1e-3}}),
}
assert tuple(TASKS) == TASK_NAMES


def get(name: str) -> Task:
    if name not in TASKS:
        raise PezoError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]
