"""Training benchmark: every optimizer and hardware stream, each at its own tuned step size,
at equal forward-pass budgets, on the four tasks.

    .venv/bin/python benchmarks/training.py [--seeds 5] [--tasks digits,digits-shift,vit-shift,diabetes]
                                            [--workers N | --scheduler ADDRESS] [--docs] [--resume]

Protocol (docs/training.md "Tuning"): for every row and task, the step size is chosen from the
grid ``GRID`` x the task's default on the validation split (the training split less 20%, the mean
over ``TUNE_SEEDS``, never test seeds), at the task's forward-pass budget; where the best is at the
grid's edge the grid is extended that way (``EXTEND``, a step at a time); then ``--seeds`` runs at
the chosen step size train on the whole training split and report the test metric. eps = 1e-3
throughout (MeZO's grid fixes it too). A run whose loss becomes NaN counts as diverged.

Rows: first-order SGD and Adam (reference), MeZO (torch Gaussian), the hardware streams
(Rademacher = the default configuration, the uniform engine without reuse, PeZO's pool-sign, the
CLT Gaussian; on the MLP tasks also every other engine variant of the hardware benchmark), DiZO
and PseuZO as published with the torch Gaussian and the Rademacher stream, and the PseuZO
variant with fixed momentum and normalised weights. DiZO runs only on the fine-tuning tasks (it
projects the displacement from a pre-trained model). Every run's seed seeds the model and the
stream (the LFSR seed is ``seed + 1`` unless the file pins ``engine.lfsr.seed``). Every run is a
job on the Dask executor (:mod:`pezo.build.executor`). Saves out/bench/training.json and .md;
``--docs`` also writes docs/results/training.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from pezo.bench.common import OUT, machine
from pezo.build.executor import Executor, Job

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
RECOMMENDED = "rademacher = default.toml"
MEZO = "MeZO (torch Gaussian)"
GRID = (0.1, 1 / 3, 1.0, 3.0, 10.0)      # x the task's default step size
# where the best of the grid is at its edge, the grid is extended in that direction, a step at a time
EXTEND = {"low": (0.03, 0.01), "high": (30.0, 100.0)}
TUNE_SEEDS = (100, 101)

# (label, optimizer, config file or None, scale-mode override or None, on every task (else MLP tasks only))
ENTRIES = [
    ("FO SGD", "fo-sgd", None, None, True),
    ("FO Adam", "fo-adam", None, None, True),
    (MEZO, "mezo", None, None, True),
    (RECOMMENDED, "pezo", "default.toml", None, True),
    ("uniform-fresh", "pezo", "uniform-fresh.toml", None, True),
    ("pool-sign / adaptive (PeZO)", "pezo", "pool-sign.toml", None, True),
    ("gaussian-clt", "pezo", "gaussian-clt.toml", None, True),
    ("DiZO (torch Gaussian)", "dizo", None, None, True),
    ("DiZO (rademacher stream)", "dizo", "rademacher.toml", None, True),
    ("PseuZO (torch Gaussian)", "pseuzo", None, None, True),
    ("PseuZO (rademacher stream)", "pseuzo", "rademacher.toml", None, True),
    ("PseuZO-ema variant (torch Gaussian)", "pseuzo-ema", None, None, True),
    ("PseuZO-ema variant (rademacher stream)", "pseuzo-ema", "rademacher.toml", None, False),
    ("pool (naive) / fixed", "pezo", "pool.toml", None, False),
    ("pool-sign-fixed", "pezo", "pool-sign-fixed.toml", None, False),
    ("pool-index / adaptive", "pezo", "pool-index.toml", None, False),
    ("pool-index / fixed", "pezo", "pool-index.toml", "fixed", False),
    ("pool-shift / adaptive", "pezo", "pool-shift.toml", None, False),
    ("pool-shift / fixed", "pezo", "pool-shift.toml", "fixed", False),
    ("pre-generation / adaptive", "pezo", "pre-generation.toml", None, False),
    ("pre-generation / fixed", "pezo", "pre-generation.toml", "fixed", False),
    ("on-the-fly / adaptive", "pezo", "on-the-fly.toml", None, False),
    ("on-the-fly / fixed", "pezo", "on-the-fly.toml", "fixed", False),
    ("gaussian-icdf", "pezo", "gaussian-icdf.toml", None, False),
    ("gaussian-boxmuller", "pezo", "gaussian-boxmuller.toml", None, False),
]
MLP_TASKS = ("digits", "digits-shift", "diabetes")


def one_run(task_name: str, optimizer: str, config: str | None, scale: str | None, seed: int, lr: float,
            validation: bool) -> dict:
    """One training run, as a job on a worker; a run whose loss turns NaN is reported as diverged."""
    import torch

    from pezo.config import load, sets
    from pezo.errors import PezoError
    from pezo.sw.zo import tasks
    from pezo.sw.zo.train import run

    torch.set_num_threads(1)
    cfg, pinned = None, False
    if config:
        cfg = load(CONFIGS / config)
        pinned = sets(CONFIGS / config, "engine.lfsr.seed")
        if scale:
            cfg = cfg.replace(**{"engine.scale.mode": scale})
    try:
        r = run(tasks.get(task_name), optimizer, cfg, seed, lr=lr, pinned=pinned, validation=validation)
    except PezoError as e:
        if "training loss is" not in str(e):
            raise
        return {"final": None, "diverged": str(e)}
    return {"final": r["final"], "forwards": r["forwards"], "steps": r["steps"], "seconds": r["seconds"],
            "lfsr_seed": r.get("lfsr_seed"), "z_per_step": r["z_regenerations"] / max(r["steps"], 1)}


def _default_lr(task_name: str, optimizer: str) -> float:
    from pezo.sw.zo import tasks

    h = tasks.get(task_name).hparams
    return h[optimizer]["lr"] if optimizer.startswith("fo-") else h["zo"]["lr"]


def _cost(task_name: str) -> int:
    """Cheapest tasks first, so that an interrupted run has finished whole tasks."""
    from pezo.sw.zo import tasks

    t = tasks.get(task_name)
    return t.hparams["budget"] * int(t.data()[0].numel()) * (8 if t.name == "vit-shift" else 1)


def _cell(v: list, chosen: float | None, raw_seeds: int) -> str:
    ok = [x for x in v if x is not None]
    if not ok:
        return f"diverged (lr {chosen:.3g})" if chosen else ""
    s = f"{statistics.mean(ok):.2f} +- {statistics.stdev(ok) if len(ok) > 1 else 0:.2f}"
    if len(ok) != raw_seeds:
        s += f" ({raw_seeds - len(ok)} diverged)" if len(v) == raw_seeds else f" ({len(ok)} seeds)"
    return s + (f" @ {chosen:.3g}" if chosen else "")


def _table(results: dict, chosen: dict, task_names: list[str], metrics: dict, raw_seeds: int) -> list[str]:
    head = "| optimizer | " + " | ".join(f"{t} ({metrics[t]} %) @ lr" for t in task_names) + " |"
    lines = [head, "|---|" + "---|" * len(task_names)]
    for label, *_ in ENTRIES:
        if label not in results:
            continue
        cells = [_cell(results[label].get(t, []), chosen.get(label, {}).get(t), raw_seeds)
                 if t in results[label] else "not run" for t in task_names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _score(finals: list) -> float:
    """Mean validation metric over the tuning seeds; a diverged seed makes the step size the worst."""
    return -math.inf if not finals or any(f is None for f in finals) else statistics.mean(finals)


def _best(runs: dict) -> float:
    """The tried step size (key of ``runs``: lr -> validation finals) with the best score."""
    return max(runs, key=lambda lr: _score(runs[lr]))


def _choose(tuning: dict) -> dict:
    """label -> task -> the tried step size with the best mean validation metric."""
    out: dict = {}
    for (label, t), runs in tuning.items():
        out.setdefault(label, {})[t] = _best(runs)
    return out


def _extensions(tuning: dict, pairs: list, default: dict) -> list:
    """(pair, factor) for every pair whose best step size is the largest (smallest) tried and
    did not diverge: the next factor beyond it, if the extension has one left."""
    out = []
    for e, t in pairs:
        runs = tuning.get((e[0], t), {})
        if not runs:
            continue
        best = _best(runs)
        if _score(runs[best]) == -math.inf:
            continue
        base = default[(e[1], t)]
        for side, edge in (("low", min(runs)), ("high", max(runs))):
            nxt = [f for f in EXTEND[side] if (f * base < edge if side == "low" else f * base > edge)]
            if best == edge and nxt:
                out.append(((e, t), nxt[0]))
    return out


def _plan(task_names: list[str]) -> tuple[list, list]:
    """The (entry, task) pairs to run, and the rows left out with the reason."""
    from pezo.sw.zo import tasks

    pairs, skipped = [], []
    for label, opt, config, scale, everywhere in ENTRIES:
        if config and not (CONFIGS / config).exists():
            skipped.append(f"{label} (configs/{config} does not exist)")
            continue
        for t in task_names:
            if not everywhere and t not in MLP_TASKS:
                continue
            if opt == "dizo" and not tasks.get(t).pretrained:
                continue                     # not DiZO's setting: no pre-trained anchor
            pairs.append(((label, opt, config, scale), t))
    return pairs, skipped


def _run_phase(ex, jobs: list, partial: Path, t0: float, phase: str, record, round_: int = 0) -> None:
    runs = [Job(f"{phase}{round_}-{i}", f"{phase} {t} / {e[0]} / seed {seed} / lr {lr:.3g}", one_run,
                (t, e[1], e[2], e[3], seed, lr, phase == "tune"))
            for i, (e, t, seed, lr) in enumerate(jobs)]
    for n, fin in enumerate(ex.run(runs), 1):
        e, t, seed, lr = jobs[int(fin.job.key.rsplit("-", 1)[1])]
        if not fin.ok:
            raise SystemExit(f"{fin.job.label} failed: {fin.error}")
        r = {"phase": phase, "label": e[0], "task": t, "seed": seed, "lr": lr, **fin.result,
             "elapsed": time.perf_counter() - t0}
        record(r)
        with partial.open("a") as f:
            f.write(json.dumps(r) + "\n")
        res = "diverged" if r["final"] is None else f"{r['final']:.2f} %"
        print(f"[{phase} {n}/{len(jobs)} {time.perf_counter() - t0:6.0f} s] {t} / {e[0]} / seed {seed} / "
              f"lr {lr:.3g}: {res}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--tasks", default="digits,digits-shift,vit-shift,diabetes")
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
    pairs, skipped = _plan(task_names)
    pairs.sort(key=lambda p: _cost(p[1]))
    # Finished runs are appended to a partial log as they complete; --resume skips them.
    partial = OUT / "training.partial.jsonl"
    done: list = []
    if args.resume and partial.exists():
        done = [json.loads(line) for line in partial.read_text().splitlines()]
    elif partial.exists():
        partial.unlink()
    tuning: dict = {}
    results: dict = {}
    runs: dict = {}

    def record(r: dict) -> None:
        if r["phase"] == "tune":
            tuning.setdefault((r["label"], r["task"]), {}).setdefault(r["lr"], []).append(r["final"])
        else:
            results.setdefault(r["label"], {}).setdefault(r["task"], []).append(r["final"])
            if r["final"] is not None:
                runs.setdefault(r["label"], {})[r["task"]] = {k: r[k] for k in ("forwards", "steps", "z_per_step")}

    for r in done:
        record(r)
    have = {(r["phase"], r["label"], r["task"], r["seed"], r["lr"]) for r in done}
    default = {(e[1], t): _default_lr(t, e[1]) for e, t in pairs}

    def todo(js: list) -> list:
        return [j for j in js if ("tune", j[0][0], j[1], j[2], j[3]) not in have]

    tune_jobs = todo([(e, t, seed, g * default[(e[1], t)]) for e, t in pairs for g in GRID for seed in TUNE_SEEDS])
    print(f"{len(pairs)} rows x tasks; tuning {len(pairs) * len(GRID) * len(TUNE_SEEDS)} runs (more where the best "
          f"step size is at the grid's edge), then {len(pairs) * args.seeds} runs at the chosen step sizes; "
          f"{len(done)} already done", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter() - (done[-1]["elapsed"] if done else 0)
    with Executor(args.scheduler, args.workers) as ex:
        where = ex.describe()
        print(f"running on {where}", flush=True)
        _run_phase(ex, tune_jobs, partial, t0, "tune", record)
        for round_ in range(1, 1 + max(len(v) for v in EXTEND.values())):
            ext = _extensions(tuning, pairs, default)
            if not ext:
                break
            print(f"extending the grid for {len(ext)} rows x tasks", flush=True)
            _run_phase(ex, todo([(e, t, seed, f * default[(e[1], t)]) for (e, t), f in ext for seed in TUNE_SEEDS]),
                       partial, t0, "tune", record, round_)
        chosen = _choose(tuning)
        final_jobs = [(e, t, seed, chosen[e[0]][t]) for e, t in pairs for seed in range(args.seeds)]
        final_jobs = [j for j in final_jobs if ("test", j[0][0], j[1], j[2], j[3]) not in have]
        _run_phase(ex, final_jobs, partial, t0, "test", record)
    wall = time.perf_counter() - t0
    metrics = {t: ("accuracy" if tasks.get(t).metric == "accuracy" else "R^2") for t in task_names}
    table = _table(results, chosen, task_names, metrics, args.seeds)
    text = "\n".join(table)
    print(text)
    print(f"wall time {wall:.0f} s")
    raw = {"machine": machine(), "wall_seconds": wall, "executor": where, "seeds": args.seeds, "tasks": task_names,
           "budgets": {t: tasks.get(t).hparams["budget"] for t in task_names}, "hparams":
           {t: tasks.get(t).hparams for t in task_names}, "grid": GRID, "extend": EXTEND, "tune_seeds": TUNE_SEEDS,
           "defaults": {f"{e[0]} | {t}": default[(e[1], t)] for e, t in pairs},
           "tuning": {f"{label} | {t}": v for (label, t), v in tuning.items()}, "chosen": chosen,
           "results": results, "runs": runs, "torch": torch.__version__, "sklearn": sklearn.__version__,
           "skipped": skipped}
    (OUT / "training.json").write_text(json.dumps(raw, indent=1) + "\n")
    (OUT / "training.md").write_text(text + "\n")
    if args.docs:
        _docs(table, raw, " ".join(sys.argv[1:]))


def _stats(v: list) -> tuple[float, float, int] | None:
    ok = [x for x in v if x is not None]
    if len(ok) < 2 or len(ok) < len(v):
        return None
    return statistics.mean(ok), statistics.stdev(ok), len(ok)


def _against_mezo(raw: dict) -> list[str]:
    """Each row against MeZO per task, both at their tuned step sizes and equal forward passes:
    the difference of the means and whether it exceeds twice its standard error."""
    res = raw["results"]
    if MEZO not in res:
        return []
    lines = ["| row | " + " | ".join(raw["tasks"]) + " |", "|---|" + "---|" * len(raw["tasks"])]
    verdicts: dict = {}
    for label, *_ in ENTRIES:
        if label == MEZO or label not in res:
            continue
        cells = []
        for t in raw["tasks"]:
            a, m = _stats(res[label].get(t, [])), _stats(res[MEZO].get(t, []))
            if a is None or m is None:
                cells.append("diverged" if t in res[label] else "")
                continue
            d, se = a[0] - m[0], math.sqrt(a[1] ** 2 / a[2] + m[1] ** 2 / m[2])
            word = "beats" if d > 2 * se else "below" if d < -2 * se else "tie"
            verdicts.setdefault(label, {})[t] = (d, word)
            cells.append(f"{d:+.2f} ({word})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    out = ["## Against MeZO at equal forward passes", "",
           "Difference of the test means from MeZO's (both at their tuned step sizes); *beats* / *below*: "
           f"the difference exceeds twice its standard error ({raw['seeds']} seeds each), else *tie*.", "", *lines, ""]
    for label in (RECOMMENDED, "DiZO (rademacher stream)", "PseuZO (rademacher stream)"):
        v = verdicts.get(label)
        if v:
            worst = min(d for d, _ in v.values())
            out.append(f"* **{label}** against MeZO: " + ", ".join(f"{t} {d:+.2f}" for t, (d, _) in v.items())
                       + f" (goal: none more than 0.5 below: {'met' if worst >= -0.5 else 'missed'}).")
    for method in ("DiZO", "PseuZO"):
        r = _stats_pair(res, f"{method} (torch Gaussian)", f"{method} (rademacher stream)", raw["tasks"])
        if r:
            out.append(f"* {method} on the Rademacher stream against {method} on the torch Gaussian: "
                       + ", ".join(f"{t} {d:+.2f}" for t, d in r.items()) + ".")
    return out + [""]


def _stats_pair(res: dict, a: str, b: str, task_names: list[str]) -> dict:
    """task -> mean of row b minus mean of row a, where both have whole results."""
    diffs = {}
    for t in task_names:
        x, y = _stats(res.get(a, {}).get(t, [])), _stats(res.get(b, {}).get(t, []))
        if x and y:
            diffs[t] = y[0] - x[0]
    return diffs


def _tuning_table(raw: dict) -> list[str]:
    seeds = " and ".join(str(x) for x in raw["tune_seeds"])
    out = ["## Step-size tuning", "",
           f"Validation metric (training split less 20%; mean of seeds {seeds}) at each step size tried: the grid "
           f"x {', '.join(f'{g:.3g}' for g in raw['grid'])} the task default, extended a step at a time "
           f"(x {', '.join(f'{g:.3g}' for g in raw['extend']['low'])} below, "
           f"x {', '.join(f'{g:.3g}' for g in raw['extend']['high'])} above) where the best was at an edge. "
           "The chosen one in bold; *div.*: the loss became NaN on a tuning seed.", ""]
    factors = sorted({*raw["grid"], *raw["extend"]["low"], *raw["extend"]["high"]})
    for t in raw["tasks"]:
        rows = {k.split(" | ")[0]: {float(lr): f for lr, f in v.items()}
                for k, v in raw["tuning"].items() if k.split(" | ")[1] == t}
        if not rows:
            continue
        used = sorted({min(factors, key=lambda f: abs(math.log(lr / raw["defaults"][f"{label} | {t}"] / f)))
                       for label, v in rows.items() for lr in v})
        out += [f"**{t}**", "", "| row | default lr | " + " | ".join(f"x {f:.3g}" for f in used) + " |",
                "|---|---|" + "---|" * len(used)]
        for label, *_ in ENTRIES:
            v = rows.get(label)
            if v is None:
                continue
            base, ch = raw["defaults"][f"{label} | {t}"], raw["chosen"][label][t]
            cells = []
            for f in used:
                lr = next((lr for lr in v if math.isclose(lr / base, f, rel_tol=1e-6)), None)
                sc = _score(v[lr]) if lr is not None else None
                cell = "" if lr is None else "div." if sc == -math.inf else f"{sc:.2f}"
                cells.append(f"**{cell}**" if lr == ch else cell)
            out.append(f"| {label} | {base:.3g} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def _docs(table: list[str], raw: dict, argv: str) -> None:
    from pezo.files import write_atomic

    b = raw["budgets"]
    budgets = ", ".join(f"{t}: {b[t]:,}" for t in raw["tasks"])
    demand = {label: {t: v["z_per_step"] for t, v in r.items()} for label, r in raw["runs"].items()}
    md = ["# Training: the hardware streams against MeZO, DiZO, PseuZO and first order", "",
          "Final test metric, mean +- standard deviation over "
          f"{raw['seeds']} seeds (model initialisation and perturbation stream; fixed data split), each row "
          "at its own step size chosen on a validation split (`@ lr`; grid below). Rows marked *not run*: "
          "DiZO needs a pre-trained anchor (`digits` and `diabetes` train from scratch); the engine variants "
          "beyond the main four run on the MLP tasks only.", "",
          *table, "",
          *_against_mezo(raw),
          "Seed by seed over more seeds, Rademacher against the Gaussian on the transformer task: "
          "[rademacher-paired.md](rademacher-paired.md) (`benchmarks/rademacher_paired.py`).", "",
          *([f"Not run: {', '.join(raw['skipped'])}.", ""] if raw["skipped"] else []),
          "## Perturbation demand (measured in these runs)", "",
          "Full-length z regenerations per optimizer step, averaged over the chosen runs (MeZO: 4 = +eps, "
          "-2 eps, +eps, update). Details: [perturbation-cost.md](perturbation-cost.md).", "",
          "| row | " + " | ".join(raw["tasks"]) + " |", "|---|" + "---|" * len(raw["tasks"]),
          *[f"| {label} | " + " | ".join(f"{demand[label][t]:.2f}" if t in demand[label] else ""
                                        for t in raw["tasks"]) + " |"
            for label, *_ in ENTRIES if label in demand and not label.startswith("FO")], "",
          *_tuning_table(raw),
          "## How it was measured", "",
          "```sh", f".venv/bin/python benchmarks/training.py {argv}".rstrip(), "```", "",
          f"* Equal forward-pass budgets per task ({budgets} forward passes), for tuning and test runs. A ZO "
          "step (MeZO, PeZO, PseuZO) costs 2 forward passes, a DiZO projection 2 per inner iteration (so DiZO "
          "makes fewer MeZO steps), a first-order step 1 forward pass (its backward pass is not counted: first "
          "order is the reference a ZO method gives up, not a competitor at equal compute).",
          "* Full-batch training; the metric is the accuracy (digits tasks) or R^2 x 100 (diabetes) after "
          "the last step. Step sizes: chosen per row and task on the validation split (docs/training.md "
          "\"Tuning\"); eps = 1e-3 for every ZO row; no weight decay.",
          "* PeZO rows run the golden engine bit for bit (`pezo.sw.zo.source.EngineSource`); "
          "`z = code_scale(cfg) * code`. The scale-mode override of a configs/ file is "
          "`engine.scale.mode`; everything else is the file.",
          f"* Wall time of the whole benchmark (tuning included): {raw['wall_seconds'] / 60:.1f} min on "
          f"{raw['executor']} (Dask, 1 torch thread per worker) on a 2-core machine; torch {raw['torch']}, "
          f"scikit-learn {raw['sklearn']}, Python {raw['machine']['python']}.", ""]
    write_atomic(ROOT / "docs/results/training.md", "\n".join(md))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
