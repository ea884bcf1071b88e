"""Statistics of the golden perturbation stream for every strategy x scale (8 lanes x 8 bits) and
for the Rademacher source (8 lanes of +-1).

    .venv/bin/python benchmarks/engine_stats.py

Runs :func:`pezo.sw.golden.stats.engine_stats` (pool_size 64, refresh 8, the default bank) on
STEPS consecutive ZO steps of D parameters from a dense seed (the steady state), and a short run
from the default seed 0x1 (the start-up training actually sees). Prints the tables and writes
them with ``common.write`` (out/bench/engine_stats.{md,json}), the page ``docs/engine-stats.md``
and one histogram per scale mode, ``docs/img/engine-hist-<mode>.png``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from pezo.bench.common import machine, write  # noqa: E402
from pezo.config import Config  # noqa: E402
from pezo.files import write_atomic  # noqa: E402
from pezo.lfsr import BankParams  # noqa: E402
from pezo.sw.golden.lfsr_stream import LfsrStream  # noqa: E402
from pezo.sw.golden.stats import engine_stats  # noqa: E402

STEPS, D = 64, 65536                 # 4,194,304 values per combination
START_STEPS = 4                      # start-up run from the default seed
DENSE_SEED = 0x2545F4914F6CDD1D % (2**63 - 1) + 1
STRATEGIES = ("none", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation", "on-the-fly")
COMBOS = [(s, m) for s in STRATEGIES for m in ("fixed", "adaptive") if not (s == "none" and m == "adaptive")]
COMBOS.append(("rademacher", "fixed"))
ROOT = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python benchmarks/engine_stats.py"


def _cfg(strategy: str, mode: str, seed: int | None) -> Config:
    """Strategy ``rademacher`` is ``engine.source = "rademacher"`` (+-1, 2-bit codes)."""
    source, bits = "uniform", 8
    if strategy == "rademacher":
        source, strategy, bits = "rademacher", "none", 2
    changes = {"engine.source": source, "engine.reuse.strategy": strategy, "engine.scale.mode": mode,
               "engine.lanes": 8, "engine.value_bits": bits, "engine.reuse.pool_size": 64,
               "engine.reuse.refresh": 8, "engine.lfsr.width": 63,
               "engine.lfsr.k": 63}       # one bank (63 bits a cycle) feeds every strategy
    if seed is not None:
        changes["engine.lfsr.seed"] = seed
    return Config().replace(**changes)


def _f(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 1e5):
            return f"{v:.1e}"
        return f"{v:.{digits}f}"
    return str(v)


def _p(v) -> str:
    return "-" if v is None else (f"{v:.2g}" if v >= 1e-3 else f"{v:.1e}")


def _row(s: dict, seconds: float) -> dict:
    gf2 = "-" if s["gf2_lag1_cols"] is None else f"{s['gf2_lag1_rank']}/{s['gf2_lag1_cols']}"
    return {
        "strategy": "rademacher" if s["source"] == "rademacher" else s["strategy"], "scale": s["scale"],
        "mean (z)": f"{_f(s['mean'])} ({s['mean_z']:+.1f})",
        "var / target (z)": f"{_f(s['var'])} / {_f(s['var_target'])} ({s['var_z']:+.1f})",
        "c2 var": _f(s["var_folded"]),
        "lane p": _p(s["lane_uniform_p"]), "fill p": _p(s["fill_uniform_p"]),
        "fill serial p": _p(s["fill_serial_p"]),
        "lane max r (z)": f"{_f(s['lane_corr_max'])} ({s['lane_corr_z']:.1f})",
        "lag-1 max r (z)": f"{_f(s['serial_corr_max'])} ({s['serial_corr_z']:.1f})",
        "serial p (chi2/dof)": "-" if s["serial_p"] is None else f"{_p(s['serial_p'])} ({s['serial_chi2_dof']:.2f})",
        "triple p": _p(s["serial3_p"]), "GF(2) rank": gf2,
        "shared (model)": f"{_f(s['shared_corr'])} ({_f(s['shared_expected'])})",
        "step (model)": f"{_f(s['step_corr'])} ({_f(s['step_expected'])})",
        "rank / max": f"{s['rank']}/{s['rank_max']}", "eff dim": f"{s['eff_dim']:.1f}",
        "fold rank": s["fold_rank_min"], "s": f"{seconds:.1f}",
    }


COLUMNS = ["strategy", "scale", "mean (z)", "var / target (z)", "c2 var", "lane p", "fill p", "fill serial p",
           "lane max r (z)", "lag-1 max r (z)", "serial p (chi2/dof)", "triple p", "GF(2) rank",
           "shared (model)", "step (model)", "rank / max", "eff dim", "fold rank", "s"]
START_COLUMNS = ["strategy", "scale", "mean (z)", "var / target (z)", "lane p", "serial p (chi2/dof)", "triple p"]


HIST_GROUP = 4                       # odd codes per histogram bin (bin width 8 codes = 0.25 for B = 8)
STYLES = {"none": ("k", "-"), "pool": ("tab:blue", "-"), "pool-sign": ("tab:orange", "-"),
          "pool-index": ("tab:green", ":"), "pool-shift": ("tab:red", "-"),
          "pre-generation": ("tab:purple", "--"), "on-the-fly": ("tab:brown", "-.")}


def _histogram(mode: str, stats: list[dict], path: Path) -> None:
    """Density of the values per strategy, bins of HIST_GROUP odd codes, against the model."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    B = stats[0]["value_bits"]
    T = 2.0 ** (B - 3)
    half = 1 << (B - 1)
    width = 2 * HIST_GROUP / T                      # bin width in real units
    for s in stats:
        counts = s["code_counts"]
        total = sum(counts)
        odd = [counts[c + half] for c in range(-half + 1, half, 2)]        # 2**(B-1) odd codes
        dens = [sum(odd[j:j + HIST_GROUP]) / total / width for j in range(0, len(odd), HIST_GROUP)]
        edges = [(-half + 2 * j * HIST_GROUP) / T for j in range(len(dens) + 1)]
        color, ls = STYLES[s["strategy"]]
        ax.stairs(dens, edges, color=color, ls=ls, lw=1.6 if ls == ":" else 1.1, label=s["strategy"])
    if mode == "fixed":
        lim = half / T
        label = f"uniform on +-{lim:g} (the odd code)"
    else:
        lim = math.sqrt(3)
        label = "uniform of variance 1 (+-sqrt(3))"
    ax.plot([-lim, -lim, lim, lim], [0, 1 / (2 * lim), 1 / (2 * lim), 0], color="0.4", ls="--", lw=1, label=label)
    ax.set_xlabel("value (code / 2**(B-3))")
    ax.set_ylabel(f"density (bins of {HIST_GROUP} odd codes)")
    ax.set_title(f"Engine values, scale {mode}, 8 lanes x 8 bits, {STEPS} steps x {D} parameters")
    ax.legend(fontsize=8, loc="lower center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _maxabs(s: dict) -> float:
    half = 1 << (s["value_bits"] - 1)
    used = [c - half for c, n in enumerate(s["code_counts"]) if n]
    return max(abs(c) for c in used) / 2.0 ** (s["value_bits"] - 3)


def _popcounts(cfg: Config, windows=(0, 4, 8, 12, 16)) -> list[tuple[int, int, float]]:
    """Mean popcount of the bank's words over cycles [2**a, 2**(a+1)) (and [0, 16) for a = 0)."""
    width = cfg.engine.lfsr.width
    words = LfsrStream(BankParams.from_config(cfg)).run(1 << (max(windows) + 1))["out"]
    out = []
    for a in windows:
        lo, hi = (0, 16) if a == 0 else (1 << a, 1 << (a + 1))
        w = words[lo:hi].flatten().tolist()
        out.append((lo, hi, sum(bin(v & ((1 << width) - 1)).count("1") for v in w) / len(w)))
    return out


def _table(rows: list[dict], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return lines


def main() -> None:
    # One thread: on a shared 2-core machine a busy second core stalls every 2-thread torch op
    # (see benchmarks/golden_engine.py); the figures do not depend on it, only the seconds.
    torch.set_num_threads(1)
    rows, start_rows, stats_by_mode = [], [], {"fixed": [], "adaptive": []}
    t_all = time.perf_counter()
    for strategy, mode in COMBOS:
        t0 = time.perf_counter()
        s = engine_stats(_cfg(strategy, mode, DENSE_SEED), STEPS, D, histogram=True)
        dt = time.perf_counter() - t0
        rows.append(_row(s, dt))
        if s["source"] == "uniform":                # the histograms are of 8-bit odd codes
            stats_by_mode[mode].append(s)
        print(f"{strategy}/{mode}: {dt:.1f} s", file=sys.stderr)
    for strategy, mode in COMBOS:
        t0 = time.perf_counter()
        s = engine_stats(_cfg(strategy, mode, None), START_STEPS, D, rank_steps=4, rank_d=64)
        start_rows.append(_row(s, time.perf_counter() - t0))
    pops = _popcounts(_cfg("none", "fixed", None))
    total = time.perf_counter() - t_all
    first = stats_by_mode["fixed"][0]
    taps, state_bits = first["taps"], first["state_bits"]
    title = (f"Golden engine stream statistics, 8 lanes x 8 bits, P = 64, R = 8, {STEPS} steps x {D} "
             f"parameters, taps {taps}, dense seed")
    write("engine_stats", rows, COLUMNS, title)
    write("engine_stats_startup", start_rows, START_COLUMNS,
          f"Start-up from the default seed 0x1: first {START_STEPS} steps x {D} parameters, taps {taps}")

    img = ROOT / "docs" / "img"
    for mode, stats in stats_by_mode.items():
        _histogram(mode, stats, img / f"engine-hist-{mode}.png")

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    page = [
        "# Perturbation engine: statistics of the golden stream",
        "",
        "Generated by `benchmarks/engine_stats.py` with the exact command",
        "",
        "```",
        COMMAND,
        "```",
        "",
        f"(machine {machine()}, 1 torch thread, load average {load}, {total:.0f} s in all). It runs "
        "`pezo.sw.golden.stats.engine_stats` (the definitions, models and standard errors of "
        "every figure are in its docstring) on the stream training uses, `EngineStream(cfg.engine.params).passes(steps, d)`, "
        f"for every strategy x scale at 8 lanes x 8 bits, pool_size 64, refresh 8, and for the "
        f"Rademacher source (8 lanes of +-1), all from one 63-bit bank (taps {taps}, {state_bits} "
        "state bits, k = 63). Values are read as real numbers, code / 2**C (Q3.(B-3); +-1 for "
        "Rademacher). The unit tests `tests/unit/test_engine_stats.py` assert the same "
        "figures on smaller samples (32 steps x 16384).",
        "",
        f"## Steady state: {STEPS} steps x {D} parameters from a dense seed",
        "",
        f"The bank starts from the seed `{DENSE_SEED:#x}` (see the start-up section for the "
        "default seed). z is (measured - model) / standard error, about N(0, 1) when healthy; "
        "p are chi-square p-values, Bonferroni-adjusted over lanes.",
        "",
        *_table(rows, COLUMNS),
        "",
        "Columns: *mean (z)*, *var / target (z)*: moments against the healthy model (fixed: the "
        "odd-code uniform, (4**7 - 1)/3 / 32**2 = 5.333; adaptive and Rademacher: 1); *c2 var*: the "
        "variance times c**2 (c = EngineParams.fold: 32 / sqrt((4**7 - 1)/3) for fixed, the constant "
        "folded into eps and lr; 1 otherwise), target 1. *lane p*: per-lane uniformity (none: codes "
        "vs the uniform odd code; Rademacher: the sign vs 1/2; "
        "pool-index/pool-shift: codes vs the step's pool composition; pool-sign: sign flips vs 1/2; "
        "pool, pre-generation, on-the-fly: deterministic, none). *fill p*: freshly filled pool "
        "entries vs the uniform odd code "
        "(fixed only); *fill serial p*: consecutive fill entries, pairs on a 4 x 4 grid (fixed only). *lane max r*: largest |Pearson| between two lanes within beats (step-centred). "
        "*lag-1 max r*: largest |Pearson| between beats b and b+1 of a lane. *serial p*: chi-square "
        "of (beat b, beat b+1) pairs of a lane on an 8-bin grid (signs for pool-sign). *triple p*: "
        "(lane l-1 at b, lane l at b, lane l at b+1) on 2 bins. *GF(2) rank*: rank of the fresh "
        f"bits of two consecutive beats over GF(2) (none, Rademacher, pool-sign); the bank's port "
        f"shows the top bits of its state, so the rank is at most {state_bits}, plus one where the "
        "figure reads the bits through an affine map (none's and Rademacher's category inverts one "
        "bit). *shared (model)*: mean of x_i * x_(i+64) / mean square, with its model "
        "value (pool and pre-generation 1, pool-sign and on-the-fly 0, pool-index/pool-shift the "
        "pool mean squared). *step (model)*: the same for a parameter in steps t and t+1 "
        "(pre-generation: 1, every step the same vector when 64 divides d). *rank / max*: numerical "
        "rank of 128 steps x 1024 parameters (a separate run from reset): pool, pre-generation and "
        "on-the-fly stay at or below P = 64 (docs/engine.md); *eff dim*: participation ratio of its "
        "singular values; *fold rank*: smallest rank of one vector folded to [d/64, 64]. *s*: "
        "seconds for the row.",
        "",
        "## Histograms",
        "",
        "![fixed](img/engine-hist-fixed.png)",
        "",
        "`docs/img/engine-hist-fixed.png`: the density of the values with fixed scale, in bins of "
        f"{HIST_GROUP} odd codes, one line per strategy, against the exact odd-code uniform on +-4 "
        "(dashed). `none` follows it within its sampling noise; `pool`, `pool-sign`, `on-the-fly` "
        "and `pool-index` (on top of `pool`: the same seed gives the same fills) scatter more "
        f"because all their values come from {STEPS} x 64 = {STEPS * 64} pool entries; `pool-shift` "
        f"scatters more, its values coming from 64 + {STEPS - 1} x 8 = {64 + (STEPS - 1) * 8} "
        "entries that each live 8 steps, and `pre-generation` most: all its values are the 64 "
        "entries of its single pool.",
        "",
        "![adaptive](img/engine-hist-adaptive.png)",
        "",
        "`docs/img/engine-hist-adaptive.png`: the same with adaptive scale, against the uniform law "
        "of variance 1 on +-sqrt(3) (dashed). Every batch is rescaled by its own RMS, so the bulk "
        "matches the dashed law; the tails pass +-sqrt(3) because a batch's RMS fluctuates (about "
        "+-6% for a batch of 64 uniform entries, +-16% for 8) and a batch of small entries is "
        "stretched, plus the ROM's scale error (at most 2.5%). Largest |value| per strategy: "
        + ", ".join(f"{s['strategy']} {_maxabs(s):.3f}" for s in stats_by_mode["adaptive"])
        + " (`pool-shift` rescales batches of R = 8, so it reaches furthest).",
        "",
        f"## Start-up: the default seed 0x1, first {START_STEPS} steps x {D} parameters",
        "",
        *_table(start_rows, START_COLUMNS),
        "",
        "This is what training sees from reset with the default seed. The seed is scrambled "
        "(splitmix64) into a dense start state: a sparse state such as 0x1 would run through "
        "low-weight states for tens of thousands of cycles and bias the first steps; "
        "`test_default_seed_start_up` asserts the healthy behaviour. Mean popcount of the "
        f"bank's {state_bits}-bit words from the seed 0x1 "
        f"(an ideal word has {state_bits / 2:.1f}): "
        + ", ".join(f"cycles {lo}..{hi - 1}: {pc:.2f}" for lo, hi, pc in pops) + ".",
        "",
    ]
    write_atomic(ROOT / "docs" / "engine-stats.md", "\n".join(page))
    print(f"wrote docs/engine-stats.md and docs/img/engine-hist-{{fixed,adaptive}}.png in {total:.0f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
