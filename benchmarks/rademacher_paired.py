"""Rademacher against the Gaussian, seed by seed: is a gap on one task the +-1 distribution, the
engine's LFSR stream, or noise?

    .venv/bin/python benchmarks/rademacher_paired.py [--task vit-shift] [--seeds 20] [--lr X]
                                                     [--workers N | --scheduler ADDRESS] [--docs]

MeZO with the torch Gaussian, the engine's Rademacher stream (configs/default.toml) and a
torch-drawn Rademacher (:class:`pezo.sw.zo.source.RademacherSource`), and DiZO and PseuZO as
published on the Gaussian and on the stream, each at the step size benchmarks/training.py chose
for it on the validation split (read from out/bench/training.json; ``--lr`` sets one for all).
Seed k initialises (or, for a fine-tuning task, pre-trains) the model identically in every row,
so the rows are compared with MeZO seed by seed: the mean and standard deviation of the paired
differences, and their standard error. Jobs run on the
Dask executor. Saves out/bench/rademacher_paired.json; ``--docs`` writes
docs/results/rademacher-paired.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path

from pezo.bench.common import OUT, machine
from pezo.build.executor import Executor, Job

ROOT = Path(__file__).resolve().parent.parent
# row -> the training benchmark's row whose tuned step size it uses
ROWS = {"MeZO (torch Gaussian)": "MeZO (torch Gaussian)",
        "rademacher = default.toml (engine stream)": "rademacher = default.toml",
        "torch Rademacher": "MeZO (torch Gaussian)",
        "DiZO (torch Gaussian)": "DiZO (torch Gaussian)",
        "DiZO (rademacher stream)": "DiZO (rademacher stream)",
        "PseuZO (rademacher stream)": "PseuZO (rademacher stream)"}
MEZO = "MeZO (torch Gaussian)"


def one_run(task_name: str, row: str, seed: int, lr: float) -> float:
    import torch

    from pezo.config import load
    from pezo.sw.zo import tasks
    from pezo.sw.zo.optim import MeZO
    from pezo.sw.zo.source import RademacherSource
    from pezo.sw.zo.train import run

    torch.set_num_threads(1)
    task = tasks.get(task_name)
    if row != "torch Rademacher":
        optimizer = "mezo" if row == MEZO else "pezo" if row.startswith("rademacher") else row.split()[0].lower()
        cfg = (load(ROOT / "configs/default.toml") if optimizer == "pezo"
               else load(ROOT / "configs/rademacher.toml") if "rademacher" in row else None)
        return run(task, optimizer, cfg, seed, lr=lr)["final"]
    # the one row pezo train has no name for: MeZO with a torch-drawn Rademacher source
    xtr, ytr, xte, yte = task.splits()
    model = task.model(seed)
    source = RademacherSource(sum(p.numel() for p in model.parameters()), seed)
    opt = MeZO(model, task.loss_fn, lr=lr, eps=task.hparams["zo"]["eps"], source=source)
    while opt.forwards < task.hparams["budget"]:
        opt.step(xtr, ytr)
    return task.evaluate(model, xte, yte)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="vit-shift")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--lr", type=float, help="one step size for every row (default: each row's tuned one, "
                                             "from out/bench/training.json)")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--scheduler", metavar="ADDRESS")
    ap.add_argument("--docs", action="store_true")
    args = ap.parse_args()
    lrs = {row: args.lr for row in ROWS}
    if args.lr is None:
        try:
            chosen = json.loads((OUT / "training.json").read_text())["chosen"]
            lrs = {row: chosen[tuned][args.task] for row, tuned in ROWS.items()}
        except (OSError, KeyError, ValueError):
            raise SystemExit("no --lr and no tuned step sizes for this task in out/bench/training.json "
                             "(run benchmarks/training.py first)") from None
    jobs = [(row, seed) for seed in range(args.seeds) for row in ROWS]
    res: dict = {row: {} for row in ROWS}
    with Executor(args.scheduler, args.workers) as ex:
        where = ex.describe()
        for fin in ex.run(Job(f"paired-{i}", f"{args.task} / {row} / seed {seed}", one_run,
                              (args.task, row, seed, lrs[row]))
                          for i, (row, seed) in enumerate(jobs)):
            row, seed = jobs[int(fin.job.key.split("-")[1])]
            if not fin.ok:
                raise SystemExit(f"{fin.job.label} failed: {fin.error}")
            res[row][seed] = fin.result
            print(f"{args.task} / {row} / seed {seed}: {fin.result:.2f}", flush=True)
    seeds = list(range(args.seeds))
    lines = ["| row | lr | mean +- std | paired difference from MeZO: mean +- std | standard error | t | "
             "below MeZO on |", "|---|---|---|---|---|---|---|"]
    summary = {}
    for row in ROWS:
        v = [res[row][s] for s in seeds]
        cell = f"{lrs[row]:.3g} | {statistics.mean(v):.2f} +- {statistics.stdev(v):.2f}"
        if row == MEZO:
            lines.append(f"| {row} | {cell} | | | | |")
            continue
        d = [res[row][s] - res[MEZO][s] for s in seeds]
        m, sd = statistics.mean(d), statistics.stdev(d)
        se = sd / math.sqrt(len(d))
        summary[row] = {"mean": m, "sd": sd, "se": se}
        lines.append(f"| {row} | {cell} | {m:+.2f} +- {sd:.2f} | {se:.2f} | {m / se:+.2f} | "
                     f"{sum(x < 0 for x in d)} of {len(d)} seeds |")
    text = "\n".join(lines)
    print(text)
    raw = {"machine": machine(), "task": args.task, "lr": lrs, "seeds": args.seeds, "executor": where,
           "results": {row: [res[row][s] for s in seeds] for row in ROWS}, "paired": summary}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "rademacher_paired.json").write_text(json.dumps(raw, indent=1) + "\n")
    if args.docs:
        from pezo.files import write_atomic

        per_seed = ["| seed | " + " | ".join(ROWS) + " |", "|---|" + "---|" * len(ROWS)]
        per_seed += [f"| {s} | " + " | ".join(f"{res[r][s]:.2f}" for r in ROWS) + " |" for s in seeds]
        md = [f"# Rademacher against the Gaussian, seed by seed ({args.task})", "",
              "MeZO with three perturbation sources, and DiZO and PseuZO as published on the Gaussian and on "
              "the engine's Rademacher stream, each at its tuned step size (docs/results/training.md), "
              f"{args.seeds} seeds; seed k starts every row from the same model. The paired difference removes "
              "the spread between seeds that the model start causes.", "", *lines, "",
              "<details><summary>every seed</summary>", "", *per_seed, "", "</details>", "",
              "```sh", f".venv/bin/python benchmarks/rademacher_paired.py {' '.join(sys.argv[1:])}".rstrip(), "```",
              "", f"Run on {where}; Python {raw['machine']['python']}.", ""]
        write_atomic(ROOT / "docs/results/rademacher-paired.md", "\n".join(md))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
