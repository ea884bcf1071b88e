"""Perturbation cost of one ZO step (all four uses of z) for d = 10 million parameters, and the
peak memory of each optimizer against first order.

    .venv/bin/python benchmarks/perturbation_cost.py [--d 10000000] [--repeats 3] [--docs]

Time: the torch Gaussian regenerates ``torch.randn(d)`` from the step's seed four times (MeZO);
the golden engine runs one step (``Engine.start(d)``: begin, fill, scale) and three hardware
replays (``start(d, replay=True)``: the bank restored from its snapshot), and each of the four
recomputes the pass's values chunk by chunk (``Engine.values``) as PeZO consumes them, for
each engine variant's configs/<variant>.toml, the recommended configuration (default.toml:
Rademacher, one 31-bit Galois LFSR with k = 8) among them. "codes" are the engine's codes
(int8); "z" are the float32 perturbations training adds (``codes_to_z``, applied through the
pool). Best of ``repeats``.

Memory: each optimizer in a fresh process trains an MLP of ~10M parameters (1000-3000-2000-10,
batch 64) for 3 steps; the figure is the peak resident memory during those steps (VmHWM after
resetting it) minus the resident memory before the optimizer was built; DiZO projects in
every measured step there (interval 1, one inner iteration).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pezo.bench.common import OUT, machine

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("rademacher", "pool-index", "pool-sign", "pool-sign-fixed", "pool", "pool-shift", "pre-generation",
              "on-the-fly", "uniform-fresh")
OPTIMIZERS = ("fo-sgd", "fo-adam", "mezo", "pezo", "dizo", "pseuzo", "pseuzo-ema")
ZO = ("mezo", "pezo", "dizo", "pseuzo", "pseuzo-ema")
RECOMMENDED = "recommended: default.toml (Rademacher, 31-bit LFSR k=8)"


def _configs(d: int):
    """(label, config) of every timed engine configuration."""
    from pezo.config import load

    for strategy in STRATEGIES:
        yield strategy, load(ROOT / "configs" / f"{strategy}.toml").replace(**{"engine.max_params": d})
    yield RECOMMENDED, load(ROOT / "configs" / "default.toml").replace(**{"engine.max_params": d})


def _one_step(engine, d: int, convert=None) -> None:
    """A step and three replays, each streaming the whole pass."""
    for replay in (False, True, True, True):
        for _ in engine.values(engine.start(d, replay=replay), convert):
            pass


def _best(f, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def timing(d: int, repeats: int) -> list[dict]:
    import torch

    from pezo.sw.golden.engine_stream import EngineStream
    from pezo.sw.zo.source import codes_to_z

    seed = 1234

    def gauss():
        for _ in range(4):
            torch.randn(d, generator=torch.Generator().manual_seed(seed))

    t_gauss = _best(gauss, repeats)
    rows = [{"source": "torch Gaussian (randn x 4)", "s/step": round(t_gauss, 3), "ratio vs Gaussian": 1.0}]
    for label, cfg in _configs(d):
        engine = EngineStream(cfg.engine.params)
        _one_step(engine, d)                     # warm caches (matrix powers, tables)
        for what, convert in (("codes", None), ("z", lambda c, cfg=cfg: codes_to_z(c, cfg))):
            t = _best(lambda: _one_step(engine, d, convert), repeats)
            rows.append({"source": f"engine {label} / {cfg.engine.scale.mode} ({what})", "s/step": round(t, 4),
                         "ratio vs Gaussian": round(t_gauss / t, 2)})
        print(rows[-2], rows[-1], flush=True)
    return rows


def profile(d: int, which: str) -> list[dict]:
    """Where one engine step + 3 replays (z, as training consumes them) spends its time:
    cProfile's functions by own time."""
    import cProfile
    import pstats

    from pezo.sw.golden.engine_stream import EngineStream
    from pezo.sw.zo.source import codes_to_z

    cfg = dict(_configs(d))[which]
    engine = EngineStream(cfg.engine.params)
    _one_step(engine, d)
    prof = cProfile.Profile()
    prof.enable()
    _one_step(engine, d, lambda c: codes_to_z(c, cfg))
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    rows = []
    for (file, line, fn), (_, _, tt, _, _) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:8]:
        where = f"{Path(file).name}:{fn}" if line else fn
        rows.append({"function": where, "own s": round(tt, 4), "share": f"{100 * tt / total:.0f}%"})
    return rows


_MEM_CHILD = r"""
import json, resource, sys, torch
from torch import nn
from pezo.sw.zo.train import make_optimizer
from pezo.sw.zo import tasks
torch.set_num_threads(1)
name = sys.argv[1]
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1000, 3000), nn.ReLU(), nn.Linear(3000, 2000), nn.ReLU(), nn.Linear(2000, 10))
x, y = torch.randn(64, 1000), torch.randint(0, 10, (64,))
task = tasks.Task("mem", "accuracy", nn.functional.cross_entropy, None, None,
                  {"fo-sgd": {"lr": 1e-3}, "fo-adam": {"lr": 1e-3}, "zo": {"lr": 1e-6, "eps": 1e-3}},
                  pretrained=True)
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
base = rss("VmRSS")
open("/proc/self/clear_refs", "w").write("5")     # reset the peak (VmHWM) to the current RSS
opt = make_optimizer(name, model, task, total_steps=3)
if name == "dizo":
    opt.interval, opt.inner = 1, 1     # a projection in every measured step
for _ in range(3):
    opt.step(x, y)
print(json.dumps({"optimizer": name, "d": opt.d, "peak_extra_bytes": rss("VmHWM") - base}))
"""


def memory() -> list[dict]:
    rows = []
    for name in OPTIMIZERS:
        r = subprocess.run([sys.executable, "-c", _MEM_CHILD, name], capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            raise SystemExit(f"memory run of {name} failed:\n{r.stderr}")
        m = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append({"optimizer": name, "parameters": m["d"], "peak extra MB": round(m["peak_extra_bytes"] / 2**20, 1),
                     "x model size": round(m["peak_extra_bytes"] / (4 * m["d"]), 2)})
        print(rows[-1], flush=True)
    return rows


def demand(task_names=("digits-shift", "vit-shift")) -> list[dict]:
    """What each ZO optimizer asks of the perturbation source per step, counted in a whole run
    at the task's budget: full-length z regenerations (each one engine pass over d values on
    the hardware), forward passes, and PseuZO's window (keys and output differences kept)."""
    from pezo.sw.zo import tasks
    from pezo.sw.zo.optim import PseuZO
    from pezo.sw.zo.train import make_optimizer

    rows = []
    for t in task_names:
        task = tasks.get(t)
        xtr, ytr, _, _ = task.splits()
        steps = task.hparams["budget"] // 2
        for name in ZO:
            opt = make_optimizer(name, task.model(0), task, total_steps=steps)
            peak = 0
            for _ in range(steps):
                opt.step(xtr, ytr)
                if isinstance(opt, PseuZO):
                    peak = max(peak, sum(8 + dh.numel() * dh.element_size() for _, dh in opt._hist))
            pz = isinstance(opt, PseuZO)
            rows.append({"task": t, "optimizer": name, "d": opt.d, "steps": steps,
                         "z per step": round(opt.regenerations / steps, 2), "forwards per step": round(opt.forwards / steps, 2),
                         "pseuzo steps": steps - opt.mezo_steps if pz else 0,
                         "window entries": len(opt._hist) if pz else 0, "window KB": round(peak / 1024, 1),
                         "window as d": round(peak / (4 * opt.d), 1)})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--docs", action="store_true", help="write docs/results/perturbation-cost.md")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    load0 = os.getloadavg()[0]
    t_rows = timing(args.d, args.repeats)
    profiled = ("pool-index", RECOMMENDED)
    p_rows = {which: profile(args.d, which) for which in profiled}
    m_rows = memory()
    d_rows = demand()
    OUT.mkdir(parents=True, exist_ok=True)
    raw = {"machine": machine(), "d": args.d, "threads": 1, "load_average": load0, "timing": t_rows,
           "profile": p_rows, "memory": m_rows, "demand": d_rows, "torch": torch.__version__}
    (OUT / "perturbation_cost.json").write_text(json.dumps(raw, indent=1) + "\n")
    lines = ["| source | s per step (4 uses) | Gaussian time / this |", "|---|---|---|"]
    lines += [f"| {r['source']} | {r['s/step']} | {r['ratio vs Gaussian']} |" for r in t_rows]
    mem = ["| optimizer | parameters | peak extra memory (MB) | x model size (fp32) |", "|---|---|---|---|"]
    mem += [f"| {r['optimizer']} | {r['parameters']:,} | {r['peak extra MB']} | {r['x model size']} |" for r in m_rows]
    prof = []
    for which, rows in p_rows.items():
        prof += [f"| function (engine {which}: step + 3 replays, z) | own time (s) | share |", "|---|---|---|"]
        prof += [f"| `{r['function']}` | {r['own s']} | {r['share']} |" for r in rows]
        prof.append("")
    text = "\n".join(lines) + "\n\n" + "\n".join(prof) + "\n" + "\n".join(mem) + "\n"
    print(text)
    (OUT / "perturbation_cost.md").write_text(text)
    if args.docs:
        from pezo.files import write_atomic

        md = ["# Perturbation cost and optimizer memory", "",
              f"One ZO step's perturbations (all four uses) for d = {args.d:,} parameters, 1 torch thread, "
              f"load average {load0:.1f} at the start on a shared 2-core machine (torch {torch.__version__}, "
              f"Python {raw['machine']['python']}). The engine rows stream each pass in chunks "
              "(`Engine.start` + `Engine.values`), as PeZO consumes it; the recommended configuration is "
              "configs/default.toml.",
              "", *lines, "",
              "`pool`, `pre-generation` and `on-the-fly` rows: every chunk of a pass holds the same "
              "values (the pool's read pattern repeated), so the engine builds one chunk per pass and "
              "hands it out again; those rows measure that, not a per-value cost. Every other row "
              "computes each value from the bank's bits.", "",
              "Where the engine's time goes (cProfile, own time of the top functions):", "", *prof,
              "Peak memory above the resident memory before the optimizer is built, 3 steps of an MLP "
              "1000-3000-2000-10 (batch 64):", "", *mem, "",
              "## Perturbation demand per optimizer step", "",
              "What each ZO method asks of the perturbation source, counted over a whole run at the task's "
              "budget (seed 0, default step sizes): full-length z regenerations per step (each is one engine "
              "pass over all d parameters in hardware, the unit the engine's time and energy scale with), "
              "forward passes per step, and PseuZO's window at its largest (an 8-byte key and the output "
              "difference of the full training batch per entry; on a device that memory sits beside the "
              "parameters). PseuZO as published follows its momentum schedule over the run's epochs (one "
              "step each on these full-batch tasks), so most of its steps are plain MeZO steps (4 z); its "
              "own steps cost 2 + (window length) z, up to 16. The `pseuzo-ema` variant makes a PseuZO step "
              "every step.", "",
              "| task | optimizer | d | z per step | forwards per step | PseuZO steps | window entries | "
              "window (KB) | window / (4 d bytes) |", "|---|---|---|---|---|---|---|---|---|",
              *[f"| {r['task']} | {r['optimizer']} | {r['d']:,} | {r['z per step']} | {r['forwards per step']} | "
                f"{r['pseuzo steps']} of {r['steps']} | {r['window entries']} | {r['window KB']} | {r['window as d']} |"
                for r in d_rows], "",
              "```sh", f".venv/bin/python benchmarks/perturbation_cost.py {' '.join(sys.argv[1:])}".rstrip(), "```", ""]
        write_atomic(ROOT / "docs/results/perturbation-cost.md", "\n".join(md))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
