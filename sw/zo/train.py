"""``pezo train``: run a task with an optimizer over seeds; CSV/JSON logs and a PNG of the curves.

A run stops after ``steps`` optimizer steps or when it has spent ``budget`` forward passes
(ZO step: 2; DiZO adds 2 per projection iteration; first-order: 1 forward + its backward).
Files go to ``out/train/<task>/<label>/``: ``seed<k>.csv`` (one row per evaluation),
``run.json`` (settings, every row, final metric per seed, mean and std) and ``curves.png``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from pathlib import Path

import torch

from pezo.config import Config
from pezo.errors import PezoError
from pezo.files import check_dir, locked, staged_dir, write_atomic
from pezo.sw.zo import OPTIMIZERS, tasks
from pezo.sw.zo.optim import DiZO, FirstOrder, MeZO, PeZO, PseuZO
from pezo.sw.zo.source import EngineSource, seeded

__all__ = ["OPTIMIZERS", "make_optimizer", "run", "train"]

EVALS = 20          # evaluations of the test metric per run


def check_combination(name: str, cfg: Config | None, task: tasks.Task | None = None) -> None:
    """The optimizer exists, takes a configuration if one is given, and suits the task
    (checked before any work)."""
    if name not in OPTIMIZERS:
        raise PezoError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if cfg is not None and name.startswith("fo-"):
        raise PezoError(f"--config sets the perturbation stream; {name} has none")
    if cfg is not None and name == "mezo":
        raise PezoError("--config sets the engine stream: use --optimizer pezo (mezo is the torch Gaussian)")
    if name == "dizo" and task is not None and not task.pretrained:
        raise PezoError(f"dizo projects the displacement from a pre-trained model; task {task.name} trains from "
                        f"scratch (use a fine-tuning task: {', '.join(n for n, t in tasks.TASKS.items() if t.pretrained)})")


def make_optimizer(name: str, model: torch.nn.Module, task: tasks.Task, cfg: Config | None = None,
                   seed: int = 0, lr: float | None = None, eps: float | None = None, pinned: bool = False,
                   weight_decay: float = 0.0, total_steps: int | None = None):
    """The optimizer ``name`` with the task's default step sizes. ``cfg`` selects the engine
    stream for ``pezo`` (default: the default configuration), ``dizo`` and ``pseuzo``
    (default: the torch Gaussian); its LFSR seed is derived from ``seed``
    (:func:`pezo.sw.zo.source.seeded`) unless ``pinned``. ``total_steps`` (PseuZO's schedule):
    the run's steps."""
    check_combination(name, cfg, task)
    if name.startswith("fo-"):
        return FirstOrder(model, task.loss_fn, lr=lr or task.hparams[name]["lr"], kind=name[3:])
    lr = lr or task.hparams["zo"]["lr"]
    eps = eps or task.hparams["zo"]["eps"]
    wd = {"weight_decay": weight_decay}
    if name == "mezo":
        return MeZO(model, task.loss_fn, lr=lr, eps=eps, seed=seed, **wd)
    if name == "pezo":
        cfg = seeded(cfg if cfg is not None else Config().validate(), seed, pinned)
        return PeZO(model, task.loss_fn, cfg, lr=lr, eps=eps, **wd)
    d = sum(p.numel() for p in model.parameters() if p.requires_grad)
    source = EngineSource(seeded(cfg, seed, pinned), d) if cfg is not None else None
    if name == "dizo":
        return DiZO(model, task.loss_fn, lr=lr, eps=eps, source=source, seed=seed, **wd)
    if name == "pseuzo":
        # every task trains full-batch: an epoch of PseuZO's schedule is one step
        return PseuZO(model, task.loss_fn, lr=lr, eps=eps, source=source, seed=seed, total_steps=total_steps, **wd)
    return PseuZO(model, task.loss_fn, lr=lr, eps=eps, source=source, seed=seed, momentum=0.9, normalise=True, **wd)


def run(task: tasks.Task, optimizer: str, cfg: Config | None = None, seed: int = 0, steps: int | None = None,
        budget: int | None = None, progress=None, lr: float | None = None, pinned: bool = False,
        device=None, eps: float | None = None, weight_decay: float = 0.0, validation: bool = False,
        torch_device: str = "cpu") -> dict:
    """One training run; returns its evaluation rows and final metric.

    ``seed`` seeds the model and the perturbation stream (the engine's LFSR seed unless
    ``pinned``). ``progress(step, forwards, loss)`` is called after every step. With ``device``
    (a :class:`pezo.host.Device`), the device holds and updates the parameters
    (:class:`pezo.sw.zo.device.DeviceZO`; optimizer ``pezo``, configuration ``cfg``). With
    ``validation`` the run trains on the training set less its validation part and reports the
    validation metric (:meth:`Task.splits`: choosing step sizes never sees the test set).
    ``torch_device`` holds the model and data (the engine's stream is computed on the host,
    so it is the same bit for bit on every device).
    """
    if steps is None and budget is None:
        budget = task.hparams["budget"]
    if (steps is not None and steps < 1) or (budget is not None and budget < 1):
        raise PezoError(f"--steps and --budget must be at least 1 (got {steps}, {budget})")
    xtr, ytr, xte, yte = (t.to(torch_device) for t in task.splits(validation))
    model = task.model(seed).to(torch_device)
    if device is not None:
        from pezo.sw.zo.device import DeviceZO
        from pezo.update_rules import UpdateRules

        cfg = cfg if cfg is not None else Config().validate()
        opt = DeviceZO(model, task.loss_fn, device, UpdateRules.from_config(cfg), cfg.engine.params.fold,
                       lr or task.hparams["zo"]["lr"])
    else:
        opt = make_optimizer(optimizer, model, task, cfg, seed, lr=lr, eps=eps, pinned=pinned,
                             weight_decay=weight_decay, total_steps=steps if steps is not None else budget // 2)
    sync = getattr(opt, "sync", lambda: None)          # a device's parameters, before an evaluation
    with torch.no_grad():
        rows = [{"step": 0, "forwards": 0, "train_loss": float(task.loss_fn(model(xtr), ytr)),
                 "test_metric": task.evaluate(model, xte, yte)}]
    every = (budget / EVALS) if budget is not None else steps / EVALS
    next_eval, step, t0 = every, 0, time.perf_counter()
    while (steps is None or step < steps) and (budget is None or opt.forwards < budget):
        loss = opt.step(xtr, ytr)
        step += 1
        if not math.isfinite(loss):
            raise PezoError(f"{task.name}/{optimizer} seed {seed}: training loss is {loss} at step {step} "
                            f"(step size too large)")
        done = (steps is not None and step >= steps) or (budget is not None and opt.forwards >= budget)
        if done or (opt.forwards if budget is not None else step) >= next_eval:
            sync()
            rows.append({"step": step, "forwards": opt.forwards, "train_loss": loss,
                         "test_metric": task.evaluate(model, xte, yte)})
            next_eval += every
        if progress:
            progress(step, opt.forwards, loss)
    out = {"seed": seed, "rows": rows, "final": rows[-1]["test_metric"], "steps": step,
           "forwards": opt.forwards, "seconds": time.perf_counter() - t0, "d": opt.d,
           "z_regenerations": getattr(opt, "regenerations", 0)}
    source = getattr(opt, "source", None)
    if isinstance(source, EngineSource):
        out["lfsr_seed"] = source.cfg.engine.lfsr.seed
    if device is not None:
        out["theta_codes"] = opt.sync()
        out["overflow_steps"] = opt.overflows
    return out


def _bar(label: str, total: int, unit: str, show: bool):
    """A progress bar on stderr (tqdm: redrawn in place on a terminal, not drawn into a log)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, disable=None if show else True,
                leave=True, dynamic_ncols=True, mininterval=0.2)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _plot(path: Path, results: list[dict], title: str, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for r in results:
        f = [row["forwards"] for row in r["rows"]]
        a.plot(f, [row["train_loss"] for row in r["rows"]], label=f"seed {r['seed']}")
        b.plot(f, [row["test_metric"] for row in r["rows"]], label=f"seed {r['seed']}")
    a.set(xlabel="forward passes", ylabel="training loss", yscale="log")
    b.set(xlabel="forward passes", ylabel=f"test {metric} (%)")
    b.legend()
    fig.suptitle(title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=150)
    finally:
        plt.close(fig)


def _stream_seed(optimizer: str, cfg: Config | None, pinned: bool, device: bool = False) -> str:
    """What seeded the perturbation stream, for run.json."""
    if device:
        return "the device's engine: engine.lfsr.seed of the configuration it was built from, one stream across seeds"
    if optimizer.startswith("fo-"):
        return "none (first order)"
    if optimizer != "pezo" and cfg is None:
        return "torch Gaussian, generator seeded with the run seed"
    if pinned:
        return "engine.lfsr.seed pinned by the configuration (the same stream for every run seed)"
    return "engine.lfsr.seed = run seed + 1 (the configuration sets none)"


def train(task_name: str | tasks.Task, optimizer: str, config_path: str | None = None, steps: int | None = None,
          budget: int | None = None, seeds: int = 1, out_root: Path = Path("out/train"),
          show_progress: bool = True, device=None, lr: float | None = None, eps: float | None = None,
          weight_decay: float = 0.0, torch_device: str = "cpu") -> dict:
    """Run seeds 0..seeds-1 and write the logs and the plot; returns the summary. ``task_name``:
    a built-in task or a :class:`~pezo.sw.zo.tasks.Task` (a Hugging Face one). ``device``: a
    callable that opens the :class:`pezo.host.Device` (after every argument is checked), closed
    at the end."""
    from pezo import config

    task = tasks.get(task_name) if isinstance(task_name, str) else task_name
    task_name = task.name
    if seeds < 1:
        raise PezoError(f"--seeds must be at least 1, got {seeds}")
    if (steps is not None and steps < 1) or (budget is not None and budget < 1):
        raise PezoError(f"--steps and --budget must be at least 1 (got {steps}, {budget})")
    check_steps(lr, eps, weight_decay)
    check_torch_device(torch_device)
    cfg = config.load(config_path) if config_path else None
    check_combination(optimizer, cfg, task)
    if cfg is not None:
        cfg.engine.check_bank()
    pinned = config.sets(config_path, "engine.lfsr.seed")
    if device is not None:
        if optimizer != "pezo":
            raise PezoError(f"--device runs the hardware's own ZO step: use --optimizer pezo, not {optimizer}")
        _check_depth(task, cfg if cfg is not None else Config().validate())
    label = optimizer + (f"-{Path(config_path).stem}" if config_path else "") + ("-device" if device else "")
    out = check_dir(Path(out_root) / task_name / label, parents=True)
    if steps is None and budget is None:
        budget = task.hparams["budget"]
    opts = {"lr": lr, "eps": eps, "weight_decay": weight_decay, "torch_device": torch_device}
    with locked(out):
        dev = device() if device is not None else None
        try:
            results = _seeds(task, task_name, label, optimizer, cfg, seeds, steps, budget, pinned, show_progress,
                             dev, opts)
        finally:
            if dev is not None:
                dev.close()
        finals = torch.tensor([r["final"] for r in results], dtype=torch.float64)
        summary = {"task": task_name, "optimizer": optimizer, "config": config_path, "label": label,
                   "metric": task.metric, "steps": steps, "budget": budget, "seeds": seeds,
                   "hparams": task.hparams, "overrides": {k: v for k, v in opts.items() if v},
                   **({"pseuzo_split": task.split_point} if optimizer.startswith("pseuzo") else {}),
                   "stream_seed": _stream_seed(optimizer, cfg, pinned, dev is not None),
                   "device": getattr(dev, "where", None),
                   "final_mean": float(finals.mean()),
                   "final_std": float(finals.std()) if seeds > 1 else 0.0, "runs": results}
        # the run's folder is replaced as a whole: no seed file of an earlier run with more
        # seeds survives beside this one's
        with staged_dir(out) as tmp:
            for r in results:
                write_atomic(tmp / f"seed{r['seed']}.csv", _csv(r["rows"]))
            write_atomic(tmp / "run.json", json.dumps({"format": "pezo-train", "version": 1, **summary},
                                                      indent=1) + "\n")
            _plot(tmp / "curves.png", results, f"{task_name}: {label}", task.metric)
    summary["out"] = str(out)
    return summary


def check_steps(lr: float | None, eps: float | None, weight_decay: float) -> None:
    """Step sizes given on the command line are positive (weight decay non-negative) numbers."""
    for flag, v in (("--lr", lr), ("--eps", eps)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise PezoError(f"{flag} must be a positive number, got {v}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise PezoError(f"--weight-decay must be >= 0, got {weight_decay}")


def check_torch_device(name: str) -> None:
    """``cpu``, or ``cuda`` where torch sees a GPU."""
    if name == "cpu":
        return
    if name != "cuda" and not name.startswith("cuda:"):
        raise PezoError(f"torch device {name!r}: expected cpu or cuda")
    if not torch.cuda.is_available():
        raise PezoError("--device cuda: torch sees no GPU on this machine (use --device cpu)")


def _check_depth(task: tasks.Task, cfg: Config) -> None:
    """A model larger than the board's parameter memory is refused before the board is opened."""
    from pezo.update_rules import UpdateRules

    d = sum(p.numel() for p in task.model(0).parameters() if p.requires_grad)
    depth = UpdateRules.from_config(cfg).depth
    if d > depth:
        raise PezoError(f"the {task.name} model has {d} parameters; the device holds {depth} (update.depth)")


def _seeds(task, task_name, label, optimizer, cfg, seeds, steps, budget, pinned, show_progress, dev,
           opts) -> list[dict]:
    results = []
    for seed in range(seeds):
        total, unit = (budget, "forwards") if budget else (steps, "steps")
        with _bar(f"{task_name}/{label} seed {seed + 1}/{seeds}", total, unit, show_progress) as bar:
            def progress(step, forwards, loss, bar=bar, unit=unit):
                bar.update((forwards if unit == "forwards" else step) - bar.n)
                bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

            r = run(task, optimizer, cfg, seed, steps, budget, progress=progress, pinned=pinned, device=dev, **opts)
        if bar.disable and show_progress:      # not a terminal: one line per seed, no bar
            print(f"{task_name}/{label} seed {seed + 1}/{seeds}: {r['steps']} steps, {r['forwards']} forwards, "
                  f"test {task.metric} {r['final']:.2f}", file=sys.stderr, flush=True)
        results.append(r)
    return results
