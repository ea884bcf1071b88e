"""``pezo demo`` (``make demo``): the point of pezo on the default design, end to end.

1. the default engine's Verilog (Amaranth);
2. its co-simulation, every cycle against the golden model (Icarus);
3. its synthesis and estimated power on the iCE40 UP5K beside the smallest Gaussian source
   (``configs/gaussian-clt.toml``, MeZO's generator in hardware) and PeZO's own choice
   (``configs/pool-sign.toml``: reused pool, sign flips, adaptive scale), with the reductions;
4. a short training run of the default engine's stream against MeZO's torch Gaussian;
5. one summary table (printed, and ``summary.md``/``summary.json``) and one figure
   (``summary.png`` and ``summary.svg``) in ``out/demo/``.

Every synthesis and power result goes through the result cache (``out/cache``), so a second run
takes seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pezo import config
from pezo.errors import PezoError
from pezo.files import check_dir, locked, write_atomic

from . import designs

OUT = Path("out/demo")
TARGET = "ice40-up5k"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: The comparison of step 3: (label, configuration file or None for the one demonstrated).
COMPARED = [("default", None), ("gaussian-clt", CONFIGS / "gaussian-clt.toml"),
            ("pool-sign (PeZO)", CONFIGS / "pool-sign.toml")]
TASK, BUDGET = "digits", 6000


def _say(step: str, msg: str) -> None:
    print(f"[{step}] {msg}", file=sys.stderr, flush=True)


def _fewer(base: float, x: float) -> str:
    pct = 100.0 * (base - x) / base
    return f"{abs(pct):.1f}% {'fewer' if pct >= 0 else 'more'}"


def run(config_path: str | None = None, seeds: int = 3, cycles: int = 20000, cache_dir: str | None = None) -> int:
    if cycles < 1:
        raise PezoError(f"--cycles must be at least 1, got {cycles}")
    if seeds < 1:
        raise PezoError(f"--seeds must be at least 1, got {seeds}")

    cfg = config.load(config_path)
    compared = [(label, config.load(path) if path else cfg) for label, path in COMPARED]
    check_dir(OUT, parents=True)
    with locked(OUT):
        return _run(cfg, compared, config_path, seeds, cycles, cache_dir)


def _run(cfg, compared, config_path, seeds: int, cycles: int, cache_dir: str | None) -> int:
    from pezo.build.cache import Cache
    from pezo.build.report import evaluate
    from pezo.sim.runner import cosimulate
    from pezo.sw.zo import tasks
    from pezo.sw.zo.train import run as train_run

    ep = cfg.engine.params
    design = designs.get("engine")
    cache = Cache(cache_dir)
    t_start = time.perf_counter()

    _say("1/5", f"generate: the engine, {ep.describe()}")
    vfile = OUT / f"{design.toplevel}.v"
    text = design.verilog(cfg)
    write_atomic(vfile, text)

    _say("2/5", f"co-simulate: {cycles} cycles with random back-pressure, every cycle against the golden model")
    t0 = time.perf_counter()
    trace = design.trace(cfg, cycles, 1)
    sim = cosimulate(vfile, design.toplevel, trace, build_dir=OUT / "sim", simulator="icarus")
    t_sim = time.perf_counter() - t0

    _say("3/5", f"synthesise on {TARGET} ({seeds} nextpnr seeds) and estimate power: "
                + ", ".join(label for label, _ in compared))
    t0 = time.perf_counter()
    hw = []
    for label, c in compared:
        rep = evaluate(design, c, target=TARGET, seeds=list(range(1, seeds + 1)),
                       work_dir=OUT / "synth" / design.digest(c), cache=cache,
                       progress=lambda m, label=label: _say("3/5", f"{label}: {m}"))
        res = rep["resources"]
        hw.append({"label": label, "engine": c.engine.params.describe(), "LUT": res["LUT"], "FF": res["FF"],
                   "BRAM": res["BRAM"], "DSP": res["DSP"], "fmax_mhz": round(rep["fmax_mhz"], 1),
                   "dynamic_uw": round(rep["power"]["dynamic_uw"], 1)})
    t_syn = time.perf_counter() - t0

    _say("4/5", f"train: {TASK}, {BUDGET} forward passes, the default engine's stream against MeZO")
    t0 = time.perf_counter()
    task = tasks.get(TASK)
    curves = {"MeZO (torch Gaussian)": train_run(task, "mezo", None, 0, budget=BUDGET),
              "default engine stream": train_run(task, "pezo", cfg, 0, budget=BUDGET,
                                                 pinned=config.sets(config_path, "engine.lfsr.seed"))}
    t_train = time.perf_counter() - t0

    _say("5/5", f"summary in {OUT}/summary.md and summary.png")
    ref = next(h for h in hw if h["label"] == "gaussian-clt")
    rows = [("Verilog", f"{vfile} ({len(text.splitlines())} lines)"),
            ("co-simulation", f"{sim.cycles} cycles, 0 mismatches ({sim.cycles_per_second:,.0f} cycles/s, "
                              f"{t_sim:.1f} s)")]
    for h in hw:
        vs = "" if h is ref else (f"; {_fewer(ref['LUT'], h['LUT'])} LUT, {_fewer(ref['FF'], h['FF'])} FF, "
                                  f"{_fewer(ref['dynamic_uw'], h['dynamic_uw'])} power than gaussian-clt")
        rows.append((f"{h['label']} on {TARGET}",
                     f"{h['LUT']} LUT, {h['FF']} FF, {h['BRAM']} BRAM, {h['DSP']} DSP, {h['fmax_mhz']} MHz, "
                     f"{h['dynamic_uw']} µW (est.){vs}"))
    for name, r in curves.items():
        rows.append((f"{TASK}: {name}", f"test accuracy {r['final']:.2f}% after {r['forwards']} forward passes"))
    rows.append(("time", f"synthesis {t_syn:.0f} s, training {t_train:.0f} s, "
                         f"total {time.perf_counter() - t_start:.0f} s"))
    w = max(len(a) for a, _ in rows)
    table = [f"| {'':<{w}} | result |", f"|{'-' * (w + 2)}|--------|"] + [f"| {a:<{w}} | {b} |" for a, b in rows]
    head = (f"pezo demo: {ep.describe()} (configuration digest {cfg.digest()}; engine design "
            f"digest {design.digest(cfg)})")
    write_atomic(OUT / "summary.md", "\n".join([f"# {head}", "", *table, ""]))
    write_atomic(OUT / "summary.json", json.dumps(
        {"config_digest": cfg.digest(), "engine": ep.describe(), "hardware": hw, "target": TARGET,
         "cosim_cycles": sim.cycles,
         "training": {k: {"final": v["final"], "rows": v["rows"]} for k, v in curves.items()}}, indent=1) + "\n")
    _figure(hw, curves, ref)
    print(f"\n{head}\n" + "\n".join(table))
    print(f"\nfigure: {OUT}/summary.png (and .svg)")
    return 0


def _figure(hw: list[dict], curves: dict, ref: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    keys = [("LUT", "LUT"), ("FF", "FF"), ("dynamic_uw", "dyn. power (est.)")]
    width = 0.8 / len(hw)
    for j, h in enumerate(hw):
        vals = [100.0 * h[k] / ref[k] for k, _ in keys]
        bars = a.bar([i + j * width for i in range(len(keys))], vals, width, label=h["label"])
        a.bar_label(bars, labels=[f"{h[k]:g}" for k, _ in keys], fontsize=7, padding=1)
    a.set_xticks([i + width * (len(hw) - 1) / 2 for i in range(len(keys))], [t for _, t in keys])
    a.set_ylabel("% of gaussian-clt (labels: absolute)")
    a.set_title(f"Perturbation engine, 8 lanes, {TARGET}")
    a.legend(fontsize=8)
    for name, r in curves.items():
        b.plot([row["forwards"] for row in r["rows"]], [row["test_metric"] for row in r["rows"]], label=name)
    b.set(xlabel="forward passes", ylabel="test accuracy (%)", title=f"ZO training, {TASK}")
    b.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = OUT / f"summary.{ext}"
        tmp = path.with_name(f".{path.name}.tmp.{ext}")
        fig.savefig(tmp, dpi=150)
        tmp.replace(path)
    plt.close(fig)
