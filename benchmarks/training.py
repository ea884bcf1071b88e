"""Training benchmark: final test metric (mean and std over seeds) of every optimizer and every
PeZO engine configuration, at equal forward-pass budgets, on the three tasks.

    .venv/bin/python benchmarks/training.py [--seeds 5] [--tasks digits,digits-shift,diabetes]
                                            [--workers N | --scheduler ADDRESS] [--docs] [--resume]

Rows: first-order SGD and Adam (reference), MeZO (torch Gaussian), the hardware stream of every
engine variant the hardware benchmark reports (the configs/ file of its name: Rademacher, the
uniform engine without reuse, each PeZO reuse strategy including the paper's two, the Gaussian
sources), the pooled ones also with the other scale mode, and DiZO and PseuZO with the torch
Gaussian and with the Rademacher stream. Every run's seed seeds the model and the stream (the
LFSR seed is ``seed + 1`` unless the file pins ``engine.lfsr.seed``). Every run is a job on the
Dask executor (:mod:`pezo.build.executor`: a local cluster, or ``--scheduler``). Saves
out/bench/training.json and .md; ``--docs`` also writes docs/results/training.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from pezo.bench.common import OUT, machine
from pezo.build.executor import Executor, Job

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
RECOMMENDED = "default.toml"

# (label, optimizer, config file or None, scale-mode override or None)
ENTRIES = [
    ("FO SGD", "fo-sgd", None, None),
    ("FO Adam", "fo-adam", None, None),
    ("MeZO (torch Gaussian)", "mezo", None, None),
    ("rademacher", "pezo", "rademacher.toml", None),
    ("uniform-fresh", "pezo", "uniform-fresh.toml", None),
    ("pool (naive) / fixed", "pezo", "pool.toml", None),
    ("pool-sign / adaptive", "pezo", "pool-sign.toml", None),
    ("pool-sign-fixed", "pezo", "pool-sign-fixed.toml", None),
    ("pool-index / adaptive", "pezo", "pool-index.toml", None),
    ("pool-index / fixed", "pezo", "pool-index.toml", "fixed"),
    ("pool-shift / adaptive", "pezo", "pool-shift.toml", None),
    ("pool-shift / fixed", "pezo", "pool-shift.toml", "fixed"),
    ("pre-generation / adaptive", "pezo", "pre-generation.toml", None),
    ("pre-generation / fixed", "pezo", "pre-generation.toml", "fixed"),
    ("on-the-fly / adaptive", "pezo", "on-the-fly.toml", None),
    ("on-the-fly / fixed", "pezo", "on-the-fly.toml", "fixed"),
    ("gaussian-clt", "pezo", "gaussian-clt.toml", None),
    ("gaussian-icdf", "pezo", "gaussian-icdf.toml", None),
    ("gaussian-boxmuller", "pezo", "gaussian-boxmuller.toml", None),
    ("default.toml", "pezo", RECOMMENDED, None),
    ("DiZO (torch Gaussian)", "dizo", None, None),
    ("DiZO (rademacher stream)", "dizo", "rademacher.toml", None),
    ("PseuZO (torch Gaussian)", "pseuzo", None, None),
    ("PseuZO (rademacher stream)", "pseuzo", "rademacher.toml", None),
]


def one_run(task_name: str, optimizer: str, config: str | None, scale: str | None, seed: int) -> dict:
    """One training run, as a job on a worker."""
    import torch

    from pezo.config import load, sets
    from pezo.sw.zo import tasks
    from pezo.sw.zo.train import run

    torch.set_num_threads(1)
    cfg, pinned = None, False
    if config:
        cfg = load(CONFIGS / config)
        pinned = sets(CONFIGS / config, "engine.lfsr.seed")
        if scale:
            cfg = cfg.replace(**{"engine.scale.mode": scale})
    r = run(tasks.get(task_name), optimizer, cfg, seed, pinned=pinned)
    return {"final": r["final"], "forwards": r["forwards"], "steps": r["steps"], "seconds": r["seconds"],
            "lfsr_seed": r.get("lfsr_seed")}


def _cost(task_name: str) -> int:
    """Cheapest tasks first, so that an interrupted run has finished whole tasks."""
    from pezo.sw.zo import tasks

    t = tasks.get(task_name)
    return t.hparams["budget"] * int(t.data()[0].numel())


def _table(results: dict, task_names: list[str], metrics: dict, raw_seeds: int) -> list[str]:
    head = "| optimizer | " + " | ".join(f"{t} ({metrics[t]} %)" for t in task_names) + " |"
    lines = [head, "|---|" + "---|" * len(task_names)]
    for label, *_ in ENTRIES:
        if label not in results:
            continue
        cells = []
        for t in task_names:
            v = results[label].get(t)
            cells.append(f"{statistics.mean(v):.2f} +- {statistics.stdev(v) if len(v) > 1 else 0:.2f}"
                         + ("" if len(v) == raw_seeds else f" ({len(v)} seeds)") if v else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--tasks", default="digits,digits-shift,diabetes")
    ap.add_argument("--workers", type=int, help="workers of the local cluster (default: one per CPU)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask cluster (default: a local one)")
    ap.add_argument("--docs", action="store_true", help="write docs/results/training.md")
    ap.add_argument("--resume", action="store_true", help="keep the finished runs of an interrupted benchmark")
    args = ap.parse_args()

    import sklearn
    import torch

    from pezo.sw.zo import tasks

    task_names = args.tasks.split(",")
    for t in task_names:
        tasks.get(t)
    entries, skipped = [], []
    for label, opt, config, scale in ENTRIES:
        if config and not (CONFIGS / config).exists():
            print(f"skip {label}: configs/{config} does not exist yet", flush=True)
            skipped.append(f"{label} (configs/{config} does not exist yet)")
            continue
        entries.append((label, opt, config, scale))
    jobs = [(label, t, opt, config, scale, seed) for t in sorted(task_names, key=_cost) for label, opt, config, scale in entries
            for seed in range(args.seeds)]
    # Finished runs are appended to a partial log as they complete; --resume skips them.
    partial = OUT / "training.partial.jsonl"
    done: dict = {}
    if args.resume and partial.exists():
        for line in partial.read_text().splitlines():
            r = json.loads(line)
            done[(r["label"], r["task"], r["seed"])] = r
    elif partial.exists():
        partial.unlink()
    print(f"{len(jobs)} runs ({len(entries)} optimizers x {len(task_names)} tasks x {args.seeds} seeds), "
          f"{len(done)} already done", flush=True)
    results: dict = {}
    budgets: dict = {}
    for (label, t, seed), r in done.items():
        results.setdefault(label, {}).setdefault(t, []).append(r["final"])
        budgets.setdefault(label, {})[t] = {"forwards": r["forwards"], "steps": r["steps"]}
    jobs = [j for j in jobs if (j[0], j[1], j[5]) not in done]
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter() - (json.loads(partial.read_text().splitlines()[-1])["elapsed"] if done else 0)
    with Executor(args.scheduler, args.workers) as ex:
        where = ex.describe()
        print(f"running on {where}", flush=True)
        runs = [Job(f"train-{i}", f"{t} / {label} / seed {seed}", one_run, (t, opt, config, scale, seed))
                for i, (label, t, opt, config, scale, seed) in enumerate(jobs)]
        for n, fin in enumerate(ex.run(runs), 1):
            label, t, _opt, _config, _scale, seed = jobs[int(fin.job.key.split("-")[1])]
            if not fin.ok:
                raise SystemExit(f"{fin.job.label} failed: {fin.error}")
            r = fin.result
            results.setdefault(label, {}).setdefault(t, []).append(r["final"])
            budgets.setdefault(label, {})[t] = {"forwards": r["forwards"], "steps": r["steps"]}
            with partial.open("a") as f:
                f.write(json.dumps({"label": label, "task": t, "seed": seed, **r,
                                    "elapsed": time.perf_counter() - t0}) + "\n")
            print(f"[{n}/{len(jobs)} {time.perf_counter() - t0:6.0f} s] {t} / {label} / seed {seed}: "
                  f"{r['final']:.2f} % ({r['steps']} steps, {r['forwards']} forwards, {r['seconds']:.1f} s)",
                  flush=True)
    wall = time.perf_counter() - t0
    metrics = {t: ("accuracy" if tasks.get(t).metric == "accuracy" else "R^2") for t in task_names}
    table = _table(results, task_names, metrics, args.seeds)
    text = "\n".join(table)
    print(text)
    print(f"wall time {wall:.0f} s")
    raw = {"machine": machine(), "wall_seconds": wall, "executor": where, "seeds": args.seeds, "tasks": task_names,
           "budgets": {t: tasks.get(t).hparams["budget"] for t in task_names}, "hparams":
           {t: tasks.get(t).hparams for t in task_names}, "results": results, "runs": budgets,
           "torch": torch.__version__, "sklearn": sklearn.__version__, "skipped": skipped}
    (OUT / "training.json").write_text(json.dumps(raw, indent=1) + "\n")
    (OUT / "training.md").write_text(text + "\n")
    if args.docs:
        _docs(table, raw, " ".join(sys.argv[1:]))


def _against_mezo(raw: dict) -> list[str]:
    """The default configuration's difference from MeZO per task (the default's criterion)."""
    res = raw["results"]
    if "default.toml" not in res or "MeZO (torch Gaussian)" not in res:
        return []
    diffs = {t: statistics.mean(res["default.toml"][t]) - statistics.mean(res["MeZO (torch Gaussian)"][t])
             for t in raw["tasks"] if t in res["default.toml"] and t in res["MeZO (torch Gaussian)"]}
    worst = min(diffs.values())
    return ["The default configuration (`configs/default.toml`) against MeZO, difference of the means: "
            + ", ".join(f"{t} {d:+.2f}" for t, d in diffs.items())
            + f" points (criterion: no task more than 0.5 below; {'met' if worst >= -0.5 else 'missed'}).", ""]


def _docs(table: list[str], raw: dict, argv: str) -> None:
    from pezo.files import write_atomic

    b = raw["budgets"]
    budgets = ", ".join(f"{t}: {b[t]:,}" for t in raw["tasks"])
    md = ["# Training: PeZO's hardware stream against Gaussian ZO and first order", "",
          "Final test metric, mean +- standard deviation over "
          f"{raw['seeds']} seeds (model initialisation and perturbation seed; fixed data split).",
          "", *table, "",
          *_against_mezo(raw),
          *([f"Not run: {', '.join(raw['skipped'])}.", ""] if raw["skipped"] else []),
          "## How it was measured", "",
          "```sh", f".venv/bin/python benchmarks/training.py {argv}".rstrip(), "```", "",
          f"* Equal forward-pass budgets per task ({budgets} forward passes). A ZO step (MeZO, PeZO, "
          "PseuZO) costs 2 forward passes, a DiZO projection 2 per inner iteration (so DiZO makes fewer "
          "MeZO steps), a first-order step 1 forward pass (its backward pass is not counted: first order "
          "is the reference a ZO method gives up, not a competitor at equal compute).",
          "* Full-batch training on the fixed training split; the metric is the test accuracy (digits) or "
          "the test R^2 x 100 (diabetes) after the last step. Step sizes are the task defaults in "
          "`sw/zo/tasks.py` (the same for every ZO row: eps = 1e-3).",
          "* PeZO rows run the golden engine bit for bit (`pezo.sw.zo.source.EngineSource`); "
          "`z = code_scale(cfg) * code`. The scale-mode override of a configs/ file is "
          "`engine.scale.mode`; everything else is the file.",
          f"* Wall time of the whole benchmark: {raw['wall_seconds'] / 60:.1f} min on {raw['executor']} "
          f"(Dask, 1 torch thread per worker) on a shared 2-core machine; torch {raw['torch']}, scikit-learn "
          f"{raw['sklearn']}, Python {raw['machine']['python']}.", ""]
    write_atomic(ROOT / "docs/results/training.md", "\n".join(md))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
