"""``pezo explore SPACE.toml``: the Pareto front of hardware cost against accuracy.

A *space* (docs/explore.md) is a base configuration, fixed changes and axes (dotted configuration
keys with lists of values), the targets and nextpnr seeds, the training tasks and seeds, and
baselines (configuration files, or external Verilog cores for the hardware tables). Every point
of the product of the axes is synthesised on every target (resources, median Fmax, estimated
power: :func:`pezo.build.evaluate.evaluate`) and trained on every task and seed (the golden
engine's stream, :func:`pezo.sw.zo.train.run`). Each synthesis and each training run is one job
on the Dask executor (:mod:`pezo.build.executor`); a finished job is filed in the result cache
at once, under its inputs and a digest of pezo's code, so a rerun, an interrupted exploration or
a second user takes it from there (the flow's own cache keeps each tool step too).

A point the configuration (or the design built from it) rejects is skipped with its reason; an
axis value that every point rejects is an error before any work. Outputs (one report folder,
replaced as a whole): ``points.csv``/``points.json`` (every point and baseline, skipped ones with
their reason), ``front.md`` (per target: the front, the recommended point and the rule that
picked it, every point), and per target the plots of LUT and of estimated power against
accuracy, PNG and SVG, the front labelled and the dominated points faint.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pezo import config
from pezo.config import Config, ConfigError
from pezo.engine_params import fit_bank
from pezo.errors import PezoError

__all__ = ["Space", "explore", "load_space", "pareto", "plan", "recommend"]

_KEYS = {"name", "base", "design", "targets", "seeds", "tasks", "train_seeds", "budget", "bank", "tolerance",
         "set", "axes", "baselines", "reference"}
_DESIGNS = ("update", "engine")
_TARGETS = ("ice40-up5k", "ecp5-25k")
#: Version of the job functions' results; part of every job key.
JOB_VERSION = "1"


@dataclass(frozen=True)
class Baseline:
    name: str
    config: Path | None = None
    verilog: tuple[Path, ...] = ()
    top: str | None = None
    clock: str = "clk"
    reset: str = "rst"
    stimulus: Path | None = None


@dataclass(frozen=True)
class Space:
    """A parsed, checked space file (see the module docstring)."""

    name: str
    path: Path
    base: Config
    fixed: dict[str, Any]
    axes: dict[str, list]
    design: str = "update"
    targets: tuple[str, ...] = _TARGETS
    seeds: tuple[int, ...] = (1,)
    tasks: tuple[str, ...] = ("digits",)
    train_seeds: tuple[int, ...] = (0, 1, 2)
    budget: int | None = None
    bank: str = "fit"
    tolerance: float = 1.0
    reference: bool = True
    baselines: tuple[Baseline, ...] = field(default=())


def _ints(where: str, v: Any, lo: int = 0) -> tuple[int, ...]:
    if not isinstance(v, list) or not v or any(isinstance(x, bool) or not isinstance(x, int) or x < lo for x in v):
        raise PezoError(f"{where}: must be a non-empty list of integers >= {lo}, got {v!r}")
    if len(set(v)) != len(v):
        raise PezoError(f"{where}: values must be distinct, got {v!r}")
    return tuple(v)


def _strs(where: str, v: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or any(x not in allowed for x in v) or len(set(v)) != len(v):
        raise PezoError(f"{where}: must be a non-empty list of distinct values from {', '.join(allowed)}, got {v!r}")
    return tuple(v)


def load_space(path: Path | str) -> Space:
    """Read and check a space file; every problem is one PezoError line naming the file."""
    from pezo.sw.zo import TASK_NAMES

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        raise PezoError(f"cannot read space {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PezoError(f"{path}: invalid TOML: {exc}") from None
    ex = doc.get("explore")
    if set(doc) != {"explore"} or not isinstance(ex, dict):
        raise PezoError(f"{path}: a space file has one table, [explore] (found {', '.join(doc) or 'nothing'})")
    unknown = sorted(set(ex) - _KEYS)
    if unknown:
        raise PezoError(f"{path}: unknown key explore.{unknown[0]}; allowed: {', '.join(sorted(_KEYS))}")
    here = path.parent
    try:
        base_path = here / ex["base"] if "base" in ex else None
        base = config.load(base_path)
        fixed = ex.get("set", {})
        axes = ex.get("axes", {})
        if not isinstance(fixed, dict) or not isinstance(axes, dict):
            raise PezoError("explore.set and explore.axes must be tables of dotted keys")
        for key, values in axes.items():
            if not isinstance(values, list) or not values:
                raise PezoError(f"axis {key!r}: needs a non-empty list of values")
            if len(set(map(json.dumps, values))) != len(values):
                raise PezoError(f"axis {key!r}: values must be distinct")
        for key, value in [*fixed.items(), *((k, v[0]) for k, v in axes.items())]:
            _check_key(base, key, value)
        design = ex.get("design", "update")
        if design not in _DESIGNS:
            raise PezoError(f"explore.design = {design!r}: must be one of {', '.join(_DESIGNS)}")
        bank = ex.get("bank", "fit")
        if bank not in ("fit", "as-is"):
            raise PezoError(f"explore.bank = {bank!r}: must be \"fit\" (size the bank to each point) or \"as-is\"")
        tol = ex.get("tolerance", 1.0)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol <= 100:
            raise PezoError(f"explore.tolerance = {tol!r}: accuracy points (0..100)")
        budget = ex.get("budget")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 2):
            raise PezoError(f"explore.budget = {budget!r}: forward passes, an integer >= 2")
        return Space(
            name=str(ex.get("name", path.stem)), path=path, base=base, fixed=dict(fixed), axes=dict(axes),
            design=design, targets=_strs("explore.targets", ex.get("targets", list(_TARGETS)), _TARGETS),
            seeds=_ints("explore.seeds", ex.get("seeds", [1])),
            tasks=_strs("explore.tasks", ex.get("tasks", ["digits"]), TASK_NAMES),
            train_seeds=_ints("explore.train_seeds", ex.get("train_seeds", [0, 1, 2])), budget=budget, bank=bank,
            tolerance=float(tol), reference=bool(ex.get("reference", True)),
            baselines=tuple(_baseline(here, i, b) for i, b in enumerate(ex.get("baselines", []))))
    except PezoError as exc:
        raise PezoError(f"{path}: {exc}") from None


def _check_key(base: Config, key: str, value: Any) -> None:
    """An unknown key is an error of the space; a value rejected here may be fine on other points."""
    try:
        base.replace(**{key: value})
    except ConfigError as exc:
        if exc.allowed.startswith("unknown key"):
            raise PezoError(f"unknown configuration key {key!r}") from None


def _baseline(here: Path, i: int, b: Any) -> Baseline:
    if not isinstance(b, dict) or not ({"config"} <= set(b) or {"verilog", "top"} <= set(b)):
        raise PezoError(f"explore.baselines[{i}]: needs config = FILE, or verilog = [FILES] and top = NAME")
    unknown = sorted(set(b) - {"name", "config", "verilog", "top", "clock", "reset", "stimulus"})
    if unknown:
        raise PezoError(f"explore.baselines[{i}]: unknown key {unknown[0]}")
    if "config" in b:
        p = here / b["config"]
        return Baseline(str(b.get("name", p.stem)), config=p)
    files = b["verilog"] if isinstance(b["verilog"], list) else [b["verilog"]]
    return Baseline(str(b.get("name", b["top"])), verilog=tuple(here / f for f in files), top=str(b["top"]),
                    clock=str(b.get("clock", "clk")), reset=str(b.get("reset", "rst")),
                    stimulus=here / b["stimulus"] if "stimulus" in b else None)


# -- points and jobs ---------------------------------------------------------------------------

@dataclass
class Point:
    name: str
    changes: dict[str, Any]
    cfg: Config | None
    kind: str = "point"            # point, baseline, external
    skipped: str | None = None
    design: Any = None             # an external core's design


def _label(changes: dict[str, Any]) -> str:
    return " ".join(f"{k.split('.')[-1]}={v}" for k, v in changes.items()) or "base"


def plan(space: Space, work: Path) -> list[Point]:
    """Every point and baseline, each with its configuration or the reason it is skipped.

    Raises PezoError before any work when an axis value is rejected on every point."""
    from . import designs

    design = designs.get(space.design)
    points = []
    for combo in itertools.product(*space.axes.values()):
        changes = dict(zip(space.axes, combo))
        points.append(_point(_label(changes), {**space.fixed, **changes}, space, design))
    for key, values in space.axes.items():
        for v in values:
            with_v = [p for p in points if p.changes[key] == v]
            if with_v and all(p.skipped for p in with_v):
                raise PezoError(f"{space.path}: {key} = {json.dumps(v)} is rejected on every point: "
                                f"{with_v[0].skipped}")
    for b in space.baselines:
        if b.config is not None:
            cfg = config.load(b.config)
            points.append(_point(b.name, {}, space, design, base=cfg, kind="baseline"))
        else:
            from pezo.build import external

            ext = external.load(b.name, list(b.verilog), b.top, work / "external" / b.name, clock=b.clock,
                                reset=b.reset, stimulus=b.stimulus)
            points.append(Point(b.name, {}, None, kind="external", design=ext))
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise PezoError(f"{space.path}: two points or baselines are named {next(n for n in names if names.count(n) > 1)!r}")
    return points


def _point(name: str, changes: dict, space: Space, design, base: Config | None = None, kind: str = "point") -> Point:
    try:
        cfg = (base or space.base).replace(**changes) if changes else (base or space.base)
        if space.bank == "fit":
            cfg = fit_bank(cfg)
        probe = design.component(cfg)       # the design may reject what the configuration accepts
        probe._MustUse__used = True         # built only to ask; no "never elaborated" warning
        return Point(name, changes, cfg, kind)
    except PezoError as exc:
        return Point(name, changes, None, kind, skipped=str(exc))


def code_digest() -> str:
    """SHA-256 of every source file of pezo (spine, hw, sw, sim, build): part of every job key,
    so a finished job is reused only by the code that made it."""
    import importlib.util

    from pezo.build.cache import digest

    parts = []
    for pkg in ("pezo", "pezo.hw", "pezo.sw", "pezo.sim", "pezo.build"):
        for root in importlib.util.find_spec(pkg).submodule_search_locations:
            for f in sorted(Path(root).rglob("*")):
                rel = f.relative_to(root)
                if f.suffix in (".py", ".json") and "__pycache__" not in f.parts and rel.parts[0] != "app":
                    parts.append(f"{pkg}/{rel.as_posix()}\0{f.read_text()}")
    return digest("\0".join(parts))


def synth_job(design_name: str | None, cfg_dict: dict | None, external, target: str, seeds: list[int],
              work: str, cache_dir: str | None) -> dict:
    """One point on one target (runs on a worker): resources, Fmax, estimated power."""
    from pezo.build.cache import Cache
    from pezo.build.evaluate import evaluate
    from pezo.build.flow import DoesNotFit

    from . import designs

    design = external if external is not None else designs.get(design_name)
    cfg = config.from_dict(cfg_dict) if cfg_dict is not None else None
    cache = Cache(Path(cache_dir)) if cache_dir else None
    try:
        rep = evaluate(design, cfg, target=target, seeds=seeds,
                       work_dir=Path(work) / design.name / target / design.digest(cfg), cache=cache,
                       progress=lambda _m: None)
    except DoesNotFit as exc:
        what = ", ".join(f"{u}/{a} {bel}" for bel, u, a in exc.over) or "no BELs remaining"
        return {"status": f"does not fit: {what}"}
    res, pw = rep["resources"], rep["power"]
    return {"status": "ok", **{k: res[k] for k in ("LUT", "FF", "carry", "BRAM", "SPRAM", "DSP")},
            "fmax_mhz": round(rep["fmax_mhz"], 2), "fmax_mhz_per_seed": rep["fmax_mhz_per_seed"],
            "dynamic_uw": pw.get("dynamic_uw"), "total_uw": pw.get("total_uw"),
            "toggles_per_cycle": pw.get("toggles_per_cycle")}


def train_job(task: str, optimizer: str, cfg_dict: dict | None, seed: int, budget: int | None) -> dict:
    """One training run (runs on a worker, one torch thread): the final test metric."""
    import torch

    from pezo.sw.zo import tasks
    from pezo.sw.zo.train import run

    torch.set_num_threads(1)
    cfg = config.from_dict(cfg_dict) if cfg_dict is not None else None
    r = run(tasks.get(task), optimizer, cfg, seed, budget=budget)
    return {"final": r["final"], "steps": r["steps"], "forwards": r["forwards"], "seconds": round(r["seconds"], 2)}


@dataclass(frozen=True)
class _Spec:
    kind: str          # synth, train
    key: str
    label: str
    args: tuple


def jobs_of(space: Space, points: list[Point], work: Path, cache_dir: Path | None
            ) -> tuple[dict[str, _Spec], dict[tuple, str]]:
    """Every job (key -> spec), each once (points that share a design or an engine share jobs),
    and the index (kind, point, target or task[, seed]) -> key."""
    from pezo.build.cache import digest

    from . import designs

    code = code_digest()
    design = designs.get(space.design)
    out: dict[str, _Spec] = {}
    index: dict[tuple, str] = {}
    for p in points:
        if p.skipped:
            continue
        for target in space.targets:
            d = p.design or design
            key = "synth-" + digest({"v": JOB_VERSION, "code": code, "design": d.name, "digest": d.digest(p.cfg),
                                     "target": target, "seeds": list(space.seeds)})[:24]
            index[("synth", p.name, target)] = key
            out.setdefault(key, _Spec("synth", key, f"synth {p.name} on {target}",
                                      (None if p.design else space.design, p.cfg.to_dict() if p.cfg else None,
                                       p.design, target, list(space.seeds), str(work / "flows"),
                                       str(Path(cache_dir).resolve()) if cache_dir else None)))
        if p.cfg is None:
            continue
        for task in space.tasks:
            for seed in space.train_seeds:
                key, spec = _train_spec(code, task, "pezo", p.cfg, seed, space.budget, p.name)
                index[("train", p.name, task, seed)] = key
                out.setdefault(key, spec)
    if space.reference:
        for task in space.tasks:
            for seed in space.train_seeds:
                key, spec = _train_spec(code, task, "mezo", None, seed, space.budget, "MeZO")
                index[("reference", task, seed)] = key
                out.setdefault(key, spec)
    return out, index


def _train_spec(code: str, task: str, optimizer: str, cfg: Config | None, seed: int, budget: int | None,
                name: str) -> tuple[str, _Spec]:
    from pezo.build.cache import digest

    key = "train-" + digest({"v": JOB_VERSION, "code": code, "task": task, "opt": optimizer,
                             "engine": cfg.digest("engine") if cfg else None, "seed": seed, "budget": budget})[:24]
    return key, _Spec("train", key, f"train {name} on {task} seed {seed}",
                      (task, optimizer, cfg.to_dict() if cfg else None, seed, budget))


# -- the front ---------------------------------------------------------------------------------

def pareto(rows: list[dict], cost: str, value: str = "accuracy") -> list[dict]:
    """The rows no other row dominates (no more ``cost`` and no less ``value``, one strictly)."""
    ok = [r for r in rows if r.get(cost) is not None and r.get(value) is not None]
    return [r for r in ok if not any(
        o[cost] <= r[cost] and o[value] >= r[value] and (o[cost] < r[cost] or o[value] > r[value]) for o in ok)]


def recommend(rows: list[dict], tolerance: float) -> tuple[dict | None, str]:
    """The point to build, and the rule that picked it: the fewest LUTs (then the least
    estimated power) among the points whose mean accuracy is within ``tolerance`` points of the
    best point's."""
    ok = [r for r in rows if r.get("accuracy") is not None and r.get("LUT") is not None]
    if not ok:
        return None, "no point has both a synthesis and an accuracy"
    best = max(r["accuracy"] for r in ok)
    near = [r for r in ok if r["accuracy"] >= best - tolerance]
    pick = min(near, key=lambda r: (r["LUT"], r["dynamic_uw"] if r.get("dynamic_uw") is not None else math.inf,
                                    r["name"]))
    rule = (f"fewest LUT (then least estimated power) among the points whose mean accuracy is within "
            f"{tolerance:g} points of the best ({best:.2f})")
    return pick, rule


def _rows(space: Space, points: list[Point], results: dict[str, dict], index: dict[tuple, str]) -> list[dict]:
    """One row per point and target, with its hardware figures and accuracy."""
    def result(*what):
        return results.get(index.get(what))

    rows = []
    for p in points:
        for target in space.targets:
            row: dict[str, Any] = {"name": p.name, "kind": p.kind, "target": target, **{
                k: v for k, v in p.changes.items()}}
            if p.skipped:
                rows.append({**row, "status": f"skipped: {p.skipped}"})
                continue
            hw = result("synth", p.name, target)
            if hw is None:
                row["status"] = "synthesis failed or not run"
            else:
                row.update(hw)
            for t in space.tasks:
                vals = [r["final"] for s in space.train_seeds if (r := result("train", p.name, t, s)) is not None]
                row[f"{t}_mean"] = round(statistics.mean(vals), 3) if vals else None
                row[f"{t}_std"] = round(statistics.stdev(vals), 3) if len(vals) > 1 else (0.0 if vals else None)
                row[f"{t}_runs"] = len(vals)
            row["accuracy"] = row.get(f"{space.tasks[0]}_mean")
            rows.append(row)
    return rows


def _reference(space: Space, results: dict[str, dict], index: dict[tuple, str]) -> dict[str, float]:
    out = {}
    for t in space.tasks:
        vals = [results[k]["final"] for s in space.train_seeds if (k := index.get(("reference", t, s))) in results]
        if vals:
            out[t] = round(statistics.mean(vals), 3)
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _markdown(space: Space, rows: list[dict], fronts: dict, picks: dict, rule: str, reference: dict,
              meta: dict) -> str:
    task = space.tasks[0]
    lines = [f"# Exploration {space.name}: hardware cost against accuracy", "",
             f"Space `{space.path}`: {meta['points']} points ({meta['skipped']} skipped) x "
             f"{len(space.targets)} targets; design `{space.design}` ({'whole update system' if space.design == 'update' else 'engine alone'}), "
             f"nextpnr seeds {', '.join(map(str, space.seeds))} (Fmax median); accuracy: {task}, mean over training "
             f"seeds {', '.join(map(str, space.train_seeds))}"
             + (f"; MeZO with the torch Gaussian: {reference[task]:.2f}" if task in reference else "") + ".", ""]
    axes = list(space.axes)
    for target in space.targets:
        trs = [r for r in rows if r["target"] == target]
        pick = picks.get(target)
        lines += [f"## {target}", "",
                  f"**Recommended: {pick['name']}** ({pick['LUT']} LUT, "
                  f"{_fmt(pick.get('dynamic_uw'))} µW est., {task} {pick['accuracy']:.2f}); rule: {rule}." if pick
                  else "No recommendation: no point has both figures.", ""]
        for cost, label in (("LUT", "LUT"), ("dynamic_uw", "estimated dynamic power")):
            front = fronts[(target, cost)]
            lines.append(f"Front of {label} against accuracy: " + (", ".join(
                f"{r['name']} ({_fmt(r[cost])}, {r['accuracy']:.2f})" for r in sorted(front, key=lambda r: r[cost]))
                or "empty") + ".")
        lines += ["", "| point | " + " | ".join(axes) + " | LUT | FF | BRAM | DSP | Fmax MHz | dyn. µW (est.) | "
                  + " | ".join(f"{t} mean +- std" for t in space.tasks) + " | front |",
                  "|---|" + "---|" * len(axes) + "---:|" * 6 + "---:|" * len(space.tasks) + "---|"]
        on_front = {r["name"] for cost in ("LUT", "dynamic_uw") for r in fronts[(target, cost)]}
        for r in sorted(trs, key=lambda r: (r.get("LUT") is None, r.get("LUT") or 0, r["name"])):
            if "LUT" not in r:
                lines.append(f"| {r['name']} | " + " | ".join(_fmt(r.get(a)) for a in axes) + f" | {r['status']} |")
                continue
            accs = [f"{r[f'{t}_mean']:.2f} +- {r[f'{t}_std']:.2f}" if r.get(f"{t}_mean") is not None else "n/a"
                    for t in space.tasks]
            lines.append(f"| {r['name']} | " + " | ".join(_fmt(r.get(a)) for a in axes)
                         + f" | {r['LUT']} | {r['FF']} | {r['BRAM']} | {r['DSP']} | {_fmt(r['fmax_mhz'])} | "
                         + f"{_fmt(r.get('dynamic_uw'))} | " + " | ".join(accs)
                         + f" | {'yes' if r['name'] in on_front else ''} |")
        lines.append("")
    lines += ["Power is an **estimate** (docs/power.md) at 25 MHz under each design's standard stimulus. "
              "A point is on the front when no other point has no more of the cost and no less accuracy, "
              "one of them strictly.", "",
              f"Jobs: {meta['jobs']} ({meta['from_cache']} from the cache, {meta['failed']} failed); wall time "
              f"{meta['seconds']:.0f} s on {meta['where']}.", ""]
    return "\n".join(lines)


def _plot(space: Space, rows: list[dict], fronts: dict, picks: dict, reference: dict, target: str, cost: str,
          paths: list[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = space.tasks[0]
    trs = [r for r in rows if r["target"] == target and r.get(cost) is not None and r.get("accuracy") is not None]
    front = fronts[(target, cost)]
    names = {r["name"] for r in front}
    f = sorted(front, key=lambda r: r[cost])
    # front points are numbered on the plot and named in a key under it: names of neighbouring
    # points would overlap
    fig, ax = plt.subplots(figsize=(7, 4.5 + 0.16 * len(f)))
    dom = [r for r in trs if r["name"] not in names]
    ax.scatter([r[cost] for r in dom], [r["accuracy"] for r in dom], color="#2b7bba", alpha=0.25, s=18,
               label="dominated")
    ax.step([r[cost] for r in f], [r["accuracy"] for r in f], "-o", where="post", color="#d95f02", ms=5,
            label="Pareto front")
    for k, r in enumerate(f, 1):
        ax.annotate(str(k), (r[cost], r["accuracy"]), fontsize=7, xytext=(3, 4 if k % 2 else -10),
                    textcoords="offset points", color="#d95f02")
    pick = picks.get(target)
    if pick is not None and pick.get(cost) is not None:
        ax.scatter([pick[cost]], [pick["accuracy"]], s=120, facecolors="none", edgecolors="black",
                   label="recommended")
    if task in reference:
        ax.axhline(reference[task], color="grey", ls="--", lw=1, label="MeZO (torch Gaussian)")
    ax.set_xlabel("LUT (whole design)" if cost == "LUT" else "estimated dynamic power at 25 MHz (µW)")
    ax.set_ylabel(f"{task} test accuracy (%)")
    ax.set_title(f"{space.name}: {space.design} on {target}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    unit = "LUT" if cost == "LUT" else "µW"
    key = "\n".join(f"{k}: {r['name']} ({r[cost]:g} {unit}, {r['accuracy']:.2f}%)" for k, r in enumerate(f, 1))
    fig.tight_layout(rect=(0, 0.16 * len(f) / (4.5 + 0.16 * len(f)) + 0.02, 1, 1))
    fig.text(0.02, 0.01, "Pareto front:\n" + key, fontsize=7, va="bottom", family="monospace")
    for p in paths:
        fig.savefig(p, dpi=200)
    plt.close(fig)


def _csv(rows: list[dict]) -> str:
    import csv
    import io

    keys = list(dict.fromkeys(k for r in rows for k in r if k != "fmax_mhz_per_seed"))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k) for k in keys})
    return buf.getvalue()


def explore(space: Space, *, out: Path, cache_dir: Path | None, scheduler: str | None, workers: int | None,
            work: Path, say) -> dict:
    """Run (or take from the cache) every job of ``space`` and write the report folder ``out``."""
    from pezo.build.cache import Cache
    from pezo.build.executor import Executor, Job
    from pezo.build.report import write_report_dir

    t0 = time.perf_counter()
    points = plan(space, work)
    skipped = [p for p in points if p.skipped]
    for p in skipped:
        say(f"skipped {p.name}: {p.skipped}")
    specs, index = jobs_of(space, points, work, cache_dir)
    cache = Cache(cache_dir) if cache_dir else None
    results: dict[str, dict] = {}
    for key in specs:
        hit = cache.get("explore-job", {"key": key}) if cache else None
        if hit is not None:
            results[key] = hit
    todo = [s for k, s in specs.items() if k not in results]
    say(f"{len(specs)} jobs: {len(results)} from the cache, {len(todo)} to run")
    failed: dict[str, str] = {}
    where = "this machine (all cached)"
    if todo:
        fns = {"synth": synth_job, "train": train_job}
        # synthesis first: the longest jobs start early, training fills the gaps
        todo.sort(key=lambda s: s.kind != "synth")
        with Executor(scheduler, workers) as ex:
            where = ex.describe()
            say(f"running on {where}")
            for n, done in enumerate(ex.run(Job(s.key, s.label, fns[s.kind], s.args) for s in todo), 1):
                if done.ok:
                    results[done.job.key] = done.result
                    if cache:               # filed at once: an interrupted exploration keeps it
                        cache.put("explore-job", {"key": done.job.key}, done.result)
                    what = _brief(done.result)
                else:
                    failed[done.job.key] = done.error
                    what = f"FAILED: {done.error}"
                running = [specs[k].label for k in ex.running() if k in specs]
                say(f"[{n}/{len(todo)}] {done.job.label}: {what}"
                    + (f" | running: {'; '.join(running)}" if running else ""))
    rows = _rows(space, points, results, index)
    ok_rows = [r for r in rows if "LUT" in r]
    fronts = {(t, c): pareto([r for r in ok_rows if r["target"] == t], c) for t in space.targets
              for c in ("LUT", "dynamic_uw")}
    picks, rule = {}, ""
    for t in space.targets:
        picks[t], rule = recommend([r for r in ok_rows if r["target"] == t and r["kind"] != "external"],
                                   space.tolerance)
    reference = _reference(space, results, index)
    meta = {"points": sum(p.kind == "point" for p in points), "skipped": len(skipped), "jobs": len(specs),
            "from_cache": len(specs) - len(todo), "failed": len(failed), "seconds": time.perf_counter() - t0,
            "where": where}
    doc = {"format": "pezo-explore", "version": 1, "space": str(space.path), "name": space.name,
           "design": space.design, "targets": list(space.targets), "tasks": list(space.tasks),
           "rule": rule, "recommended": {t: (p["name"] if p else None) for t, p in picks.items()},
           "fronts": {f"{t}/{c}": [r["name"] for r in v] for (t, c), v in fronts.items()},
           "reference": reference, "rows": rows,
           "failed": {specs[k].label: e for k, e in failed.items()}}
    files: dict[str, Any] = {"points.json": json.dumps(doc, indent=1, sort_keys=True) + "\n",
                             "points.csv": _csv(rows),
                             "front.md": _markdown(space, rows, fronts, picks, rule, reference, meta)}
    for t in space.targets:
        for cost, tag in (("LUT", "lut"), ("dynamic_uw", "power")):
            files[f"front-{t}-{tag}.png"] = (lambda p, t=t, cost=cost: _plot(
                space, rows, fronts, picks, reference, t, cost, [p, p.with_suffix(".svg")]))
    write_report_dir(out, files)
    doc["meta"] = meta
    return doc


def _brief(result: dict) -> str:
    if "final" in result:
        return f"{result['final']:.2f}"
    if result.get("status") != "ok":
        return result.get("status", "?")
    return f"{result['LUT']} LUT, {result['fmax_mhz']:.1f} MHz"
