"""The headline benchmark: every perturbation engine variant against the Gaussian sources at
equal lanes (values per cycle), and the whole update system at 8 lanes.

    .venv/bin/python benchmarks/hardware.py [--seeds N] [--lanes 1,8,16]
        [--targets ice40-up5k,ecp5-25k] [--variants NAME,...] [--systems NAME,...]
        [--cache DIR] [--doc PATH]

A variant is a configuration file, ``configs/<name>.toml``, which is exactly the 8-lane design
the benchmark reports (its own value bits and bank). At other lane counts only
``engine.lanes`` changes and the bank is resized by :func:`bank_rule`. Value bits are part of
each design's choice (2 for Rademacher, 8 for the others), so designs are compared at equal
lanes, not equal bits.

Every row is synthesised, placed and routed (median Fmax over nextpnr seeds) and its power
estimated, through the result cache (``out/cache``; a rerun is instant). A variant the current
code rejects is a ``skipped: <reason>`` row and a design larger than the device a
``does not fit: N/M <bel>`` row; neither stops the benchmark. Every row is compared with the
best Gaussian source (fewest LUTs) of the same lanes and target.

The system rows are ``pezo_update`` (engine + ZO update datapath + controller, 4096 Q4.12
parameters in block RAM) at 8 lanes with the variant's engine; their reference is the same
system with ``gaussian-clt``.

Writes out/bench/hardware.{json,md} and the page docs/results/hardware.md (with the command,
tool versions and wall time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pezo.bench.common import OUT, machine
from pezo import config
from pezo.app import designs
from pezo.build import power
from pezo.build.cache import Cache
from pezo.build.executor import Executor, Job
from pezo.build.flow import DoesNotFit
from pezo.tools import flow_versions
from pezo.build.report import evaluate, fresh_bits_per_cycle
from pezo.errors import PezoError
from pezo.engine_params import fit_bank
from pezo.files import write_atomic

CONFIGS = Path("configs")
LANES = [1, 8, 16]
TARGETS = ["ice40-up5k", "ecp5-25k"]
#: name (= configs/<name>.toml) -> family
VARIANTS = {
    "rademacher": "rademacher",
    "pool-sign": "pezo",
    "pool-sign-fixed": "pezo",
    "pool-index": "pezo",
    "pool-shift": "pezo",
    "pre-generation": "pezo",
    "on-the-fly": "pezo",
    "pool": "pezo",
    "uniform-fresh": "uniform",
    "gaussian-clt": "gaussian",
    "gaussian-icdf": "gaussian",
    "gaussian-boxmuller": "gaussian",
}
#: Engines of the whole-system rows (8 lanes): MeZO-style Gaussian CLT, PeZO as first
#: recommended, pool-sign with fixed scale, the paper's two strategies, Rademacher.
SYSTEMS = ["gaussian-clt", "pool-sign", "pool-sign-fixed", "pre-generation", "on-the-fly", "rademacher"]
SYSTEM_LANES = 8
SYSTEM_REFERENCE = "gaussian-clt"
#: Goals of the issue: percent less than the best Gaussian source at 8 and 16 lanes.
GOALS = {"LUT": 90.0, "FF": 90.0, "dynamic_uw": 93.0}
FMAX_GOALS = {"ice40-up5k": 100.0, "ecp5-25k": 250.0}
SYSTEM_GOALS = {"LUT": 60.0}
SYSTEM_FMAX_GOAL = {"ice40-up5k": 60.0}
BANK_GOAL = 1.25            # LUT and FF per fresh bit per cycle, with replay
DOC = Path("docs/results/hardware.md")


def bank_rule(cfg: config.Config) -> config.Config:
    """The bank rule of :func:`pezo.engine_params.fit_bank` (one 31-bit LFSR, else the fewest
    63-bit ones)."""
    return fit_bank(cfg)


def variant_config(name: str, lanes: int) -> config.Config:
    """``configs/<name>.toml`` at ``lanes`` lanes with the bank :func:`bank_rule` sizes."""
    return bank_rule(config.load(CONFIGS / f"{name}.toml").replace(**{"engine.lanes": lanes}))


def system_config(name: str) -> config.Config:
    """The update system at :data:`SYSTEM_LANES` lanes with the engine of ``name``.

    Lane multipliers: as many in DSP blocks as the UP5K's 8 leave after the engine (an
    adaptive engine uses one for its scale); none for +-1 codes, which need no multiplier.
    """
    cfg = variant_config(name, SYSTEM_LANES)
    adaptive = cfg.engine.scale.mode == "adaptive"
    return cfg.replace(**{"update.dsp_lanes": SYSTEM_LANES - int(adaptive)})


def recommended() -> str | None:
    """The variant whose 8-lane design is ``configs/default.toml`` (same engine digest)."""
    want = config.load(CONFIGS / "default.toml").digest("engine")
    return next((v for v in VARIANTS if variant_config(v, 8).digest("engine") == want), None)


def row_job(design_name: str, name: str, cfg_dict: dict, target: str, seeds: list[int], cache_root: str,
            out_root: str) -> dict:
    """One row, as a job on a worker (silent: progress lines come from the client), with the
    worker's cache hits and misses for the page's header."""
    cache = Cache(Path(cache_root))
    row = run_one(design_name, name, config.from_dict(cfg_dict), target, seeds, cache, lambda _m: None,
                  Path(out_root))
    return {**row, "cache_hits": cache.hits, "cache_misses": cache.misses}


def run_one(design_name: str, name: str, cfg, target: str, seeds: list[int], cache: Cache, say,
            out_root: Path = OUT) -> dict:
    row = {"design": design_name, "lanes": cfg.engine.lanes, "target": target, "variant": name,
           "family": VARIANTS[name], "value_bits": cfg.engine.value_bits}
    try:
        design = designs.get(design_name)
        probe = design.component(cfg)       # the current code may reject the configuration
        probe._MustUse__used = True         # built only to ask; no "never elaborated" warning
    except PezoError as exc:
        return {**row, "status": f"skipped: {exc}"}
    lf = cfg.engine.lfsr
    row["bank"] = f"{lf.lanes}x{lf.width}/{lf.k}"
    try:
        rep = evaluate(design, cfg, target=target, seeds=seeds,
                       work_dir=out_root / "hardware" / design_name / target / design.digest(cfg), cache=cache,
                       progress=say)
    except DoesNotFit as exc:
        what = ", ".join(f"{u}/{a} {bel}" for bel, u, a in exc.over) or "no BELs remaining"
        return {**row, "status": f"does not fit: {what}"}
    except PezoError as exc:
        return {**row, "status": f"failed: {exc}"}
    res, pw = rep["resources"], rep["power"]
    return {**row, "status": "ok", "LUT": res["LUT"], "FF": res["FF"], "carry": res["carry"],
            "BRAM": res["BRAM"], "DSP": res["DSP"], "fmax_mhz": round(rep["fmax_mhz"], 1),
            "fmax_mhz_per_seed": rep["fmax_mhz_per_seed"], "dynamic_uw": pw["dynamic_uw"],
            "total_uw": pw["total_uw"], "toggles_per_cycle": pw["toggles_per_cycle"],
            "energy_pj_by_part": pw["energy_pj_per_cycle_by_part"],
            "fresh_bits_per_cycle": fresh_bits_per_cycle(rep["extra"]),
            "abc9_fallback": rep.get("abc9_fallback", False),
            "config_digest": design.digest(cfg), "tools": rep["tools"]}


def _pct(base, x):
    return None if not base or x is None else round(100.0 * (base - x) / base, 1)


def add_comparisons(rows: list[dict]) -> None:
    """Reductions of every row against its reference: the best Gaussian row (fewest LUTs) of
    its design, lanes and target, or for system rows the system with :data:`SYSTEM_REFERENCE`."""
    for r in rows:
        group = [g for g in rows if g["design"] == r["design"] and g["lanes"] == r["lanes"]
                 and g["target"] == r["target"] and g["status"] == "ok"]
        if r["design"] == "update":
            ref = next((g for g in group if g["variant"] == SYSTEM_REFERENCE), None)
        else:
            gauss = [g for g in group if g["family"] == "gaussian"]
            ref = min(gauss, key=lambda g: g["LUT"]) if gauss else None
        r["reference"] = ref["variant"] if ref else None
        for key in ("LUT", "FF", "dynamic_uw"):
            r[f"vs_ref_{key}"] = _pct(ref[key], r.get(key)) if ref and r["status"] == "ok" else None


def _cell(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _fewer(v: float | None) -> str:
    """A reduction in percent as words: positive is fewer than the reference."""
    return "n/a" if v is None else f"{abs(v):.1f}% {'fewer' if v >= 0 else 'more'}"


def table(rows: list[dict], default: str | None) -> str:
    cols = ["lanes", "target", "variant", "status", "bank", "value_bits", "LUT", "FF", "carry", "BRAM", "DSP",
            "fmax_mhz", "fmax_spread", "dynamic_uw", "toggles_per_cycle", "fresh_bits_per_cycle",
            "vs_ref_LUT", "vs_ref_FF", "vs_ref_dynamic_uw"]
    heads = ["Lanes", "Target", "Variant", "Status", "Bank", "Bits", "LUT", "FF", "Carry", "BRAM", "DSP",
             "Fmax MHz", "Fmax seeds", "Dyn. µW (est.)", "Toggles/cycle", "Fresh bits/cycle",
             "LUT vs ref.", "FF vs ref.", "Dyn. power vs ref."]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * 5 + "---:|" * (len(heads) - 5)]
    for r in rows:
        r = dict(r)
        if r["variant"] == default:
            r["variant"] = f"**{r['variant']}** (default)"
        seeds = r.get("fmax_mhz_per_seed")
        r["fmax_spread"] = f"{min(seeds):.1f}-{max(seeds):.1f}" if seeds else None
        for k in ("vs_ref_LUT", "vs_ref_FF", "vs_ref_dynamic_uw"):
            r[k] = _fewer(r[k]) if r.get(k) is not None else None
        if r["status"] != "ok":
            r = {k: r.get(k) for k in ("lanes", "target", "variant", "status", "bank", "value_bits")}
        lines.append("| " + " | ".join(_cell(r.get(c)) if c in r else "" for c in cols) + " |")
    return "\n".join(lines) + "\n"


def seed_spread(rows: list[dict]) -> str:
    """Which figures moved between nextpnr seeds (only Fmax can: the rest is pre-placement)."""
    ok = [r for r in rows if r["status"] == "ok" and len(r["fmax_mhz_per_seed"]) > 1]
    if not ok:
        return "No row has more than one seed.\n"
    spreads = sorted((((max(r["fmax_mhz_per_seed"]) - min(r["fmax_mhz_per_seed"])) /
                       r["fmax_mhz"] * 100, r) for r in ok), key=lambda sr: sr[0])
    pct, worst = spreads[-1]
    median = spreads[len(spreads) // 2][0]
    return (f"Only Fmax depends on the nextpnr seed: LUT/FF/BRAM/DSP come from yosys and the power "
            f"estimate from the pre-placement netlist, so they are identical for every seed. "
            f"Fmax spread (max - min over seeds, relative to the median): median {median:.1f}%, "
            f"largest {pct:.1f}% ({worst['design']} {worst['lanes']} lanes {worst['target']} "
            f"{worst['variant']}: {', '.join(f'{f:.1f}' for f in worst['fmax_mhz_per_seed'])} MHz).\n")


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def goals(rows: list[dict], variant: str) -> str:
    """The issue's goals for ``variant`` (the recommended engine), one line per check."""
    out = []
    for r in rows:
        if r["variant"] != variant or r["design"] != "engine":
            continue
        head = f"* engine, {r['lanes']} lanes, {r['target']}: "
        if r["status"] != "ok":
            out.append(head + r["status"])
            continue
        parts = []
        if r["lanes"] == 1:
            clt = next((g for g in rows if g["design"] == "engine" and g["lanes"] == 1 and g["target"] == r["target"]
                        and g["variant"] == "gaussian-clt" and g["status"] == "ok"), None)
            if clt:
                smaller = r["LUT"] < clt["LUT"] and r["FF"] < clt["FF"]
                parts.append(f"{r['LUT']} LUT / {r['FF']} FF against gaussian-clt's {clt['LUT']} / {clt['FF']} "
                             f"(goal: smaller; {_met(smaller)})")
        elif r["reference"] is None:
            parts.append("no Gaussian source ran here, so the reductions cannot be evaluated")
        else:
            for k, g in GOALS.items():
                v = r[f"vs_ref_{k}"]
                parts.append(f"{k} {_fewer(v)} than {r['reference']} (goal: {g:g}% fewer; "
                             f"{_met(v is not None and v >= g)})")
            parts.append(f"DSP {r['DSP']} (goal: none; {_met(r['DSP'] == 0)}), BRAM {r['BRAM']}")
        goal = FMAX_GOALS.get(r["target"])
        if goal:
            parts.append(f"Fmax {r['fmax_mhz']:.1f} MHz (goal: {goal:g}; {_met(r['fmax_mhz'] >= goal)})")
        out.append(head + "; ".join(parts))
    for r in rows:
        if r["variant"] != variant or r["design"] != "update":
            continue
        head = f"* update system, {r['lanes']} lanes, {r['target']}: "
        if r["status"] != "ok":
            out.append(head + r["status"])
            continue
        v = r["vs_ref_LUT"]
        parts = [f"LUT {_fewer(v)} than the same system with {r['reference']} "
                 f"(goal: {SYSTEM_GOALS['LUT']:g}% fewer; {_met(v is not None and v >= SYSTEM_GOALS['LUT'])})",
                 f"DSP {r['DSP']} (goal: none; {_met(r['DSP'] == 0)})"]
        goal = SYSTEM_FMAX_GOAL.get(r["target"])
        parts.append(f"Fmax {r['fmax_mhz']:.1f} MHz" + (f" (goal: {goal:g}; {_met(r['fmax_mhz'] >= goal)})"
                                                       if goal else ""))
        out.append(head + "; ".join(parts))
    return "\n".join(out) + "\n" if out else "(the recommended variant did not run)\n"


def bank_rows(name: str, targets: list[str], seeds: list[int], cache: Cache, say) -> list[dict]:
    """The recommended engine's LFSR bank alone (``pezo synth lfsr``), with replay."""
    cfg = variant_config(name, 8)
    design = designs.get("lfsr")
    out = []
    for target in targets:
        rep = evaluate(design, cfg, target=target, seeds=seeds,
                       work_dir=OUT / "hardware" / "lfsr" / target / design.digest(cfg), cache=cache, progress=say)
        bits = cfg.engine.lfsr.bits_per_cycle
        res = rep["resources"]
        out.append({"target": target, "bank": f"{cfg.engine.lfsr.lanes}x{cfg.engine.lfsr.width}/{cfg.engine.lfsr.k}",
                    "bits": bits, "LUT": res["LUT"], "FF": res["FF"], "fmax_mhz": round(rep["fmax_mhz"], 1),
                    "lut_per_bit": round(res["LUT"] / bits, 2), "ff_per_bit": round(res["FF"] / bits, 2)})
    return out


def bank_text(rows: list[dict]) -> str:
    lines = ["| Target | Bank | Fresh bits/cycle | LUT | FF | LUT/bit | FF/bit | Fmax MHz | Goal (<= 1.25 + 1.25) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = r["lut_per_bit"] <= BANK_GOAL and r["ff_per_bit"] <= BANK_GOAL
        lines.append(f"| {r['target']} | {r['bank']} | {r['bits']} | {r['LUT']} | {r['FF']} | {r['lut_per_bit']} | "
                     f"{r['ff_per_bit']} | {r['fmax_mhz']} | {_met(ok)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--lanes", default=",".join(map(str, LANES)))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="engines of the update-system rows ('' for none)")
    ap.add_argument("--cache", default=None, help="cache directory (default $PEZO_CACHE or out/cache)")
    ap.add_argument("--doc", default=str(DOC), help="results page to write ('' for none)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask cluster (default: a local one)")
    ap.add_argument("--workers", type=int, help="workers of the local cluster (default: one per CPU)")
    args = ap.parse_args()
    try:
        lanes_list = [int(x) for x in args.lanes.split(",")]
    except ValueError:
        ap.error(f"--lanes: expected N,N,..., got {args.lanes!r}")
    targets = args.targets.split(",")
    variants = args.variants.split(",")
    systems = [s for s in args.systems.split(",") if s]
    for v in variants + systems:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")
    seeds = list(range(1, args.seeds + 1))
    cache = Cache(args.cache)
    default = recommended()
    t0 = time.perf_counter()
    plan = [("engine", v, lanes, t) for lanes in lanes_list for t in targets for v in variants]
    plan += [("update", v, SYSTEM_LANES, t) for t in targets for v in systems]
    rows: list[dict | None] = [None] * len(plan)
    jobs = []
    for n, (design_name, name, lanes, target) in enumerate(plan):
        try:
            cfg = system_config(name) if design_name == "update" else variant_config(name, lanes)
        except PezoError as exc:
            rows[n] = {"design": design_name, "lanes": lanes, "target": target, "variant": name,
                       "family": VARIANTS[name], "status": f"skipped: {exc}"}
            continue
        jobs.append(Job(f"hw-{n}", f"{design_name} {lanes} lanes {target} {name}", row_job,
                        (design_name, name, cfg.to_dict(), target, seeds, str(cache.root.resolve()), str(OUT.resolve()))))
    # every row a job on the Dask executor; a finished row stays in the flow's cache, so an
    # interrupted run resumes from there
    with Executor(args.scheduler, args.workers) as ex:
        print(f"{len(jobs)} rows on {ex.describe()}", flush=True)
        for k, done in enumerate(ex.run(jobs), 1):
            n = int(done.job.key.split("-")[1])
            d, name, lanes, target = plan[n]
            row = done.result if done.ok else {"design": d, "lanes": lanes, "target": target, "variant": name,
                                               "family": VARIANTS[name], "status": f"failed: {done.error}"}
            rows[n] = row
            print(f"[{k}/{len(jobs)} {time.perf_counter() - t0:5.0f} s] {done.job.label} -> {row['status']}" + (
                f": {row['LUT']} LUT, {row['FF']} FF, {row['BRAM']} BRAM, {row['DSP']} DSP, "
                f"{row['fmax_mhz']} MHz, {row['dynamic_uw']} uW" if row["status"] == "ok" else ""), flush=True)
    rows = [r for r in rows if r is not None]
    add_comparisons(rows)
    banks = bank_rows(default, targets, seeds, cache, lambda m: print(f"    .. {m}", flush=True)) if default else []
    wall = time.perf_counter() - t0
    hits = cache.hits + sum(r.pop("cache_hits", 0) for r in rows)
    misses = cache.misses + sum(r.pop("cache_misses", 0) for r in rows)
    versions = flow_versions()
    cmd = "make bench-hw" if len(sys.argv) == 1 else \
        ".venv/bin/python benchmarks/hardware.py " + " ".join(sys.argv[1:])
    engine_rows = [r for r in rows if r["design"] == "engine"]
    system_rows = [r for r in rows if r["design"] == "update"]
    page = "\n".join([
        "# Hardware cost: perturbation engines against Gaussian sources",
        "",
        f"Produced by `{cmd}` in {wall:.0f} s wall time ({hits} cache hits, "
        f"{misses} misses; machine {machine()}).",
        "",
        f"Tools: {', '.join(f'{k} {v}' for k, v in versions.items())}; {power.simulator_version()}.",
        "",
        "Each variant is the file `configs/<variant>.toml`, exactly the 8-lane row; at 1 and 16 lanes "
        "only `engine.lanes` changes and the bank is resized (one 31-bit LFSR where it gives the bits a "
        "cycle the engine needs, else the fewest 63-bit ones; k rounded up to a power of two). Rows "
        "compare equal lanes (values per cycle); value bits are each design's own (Bits column). "
        f"The default design (`configs/default.toml`) is {'`' + default + '`' if default else 'none of them'}.",
        "",
        "LUT/FF/carry/BRAM/DSP: yosys on the core alone; BRAM and DSP are counted in their own columns, "
        f"never folded into LUTs. Fmax: median over nextpnr seeds {', '.join(map(str, seeds))} (the spread "
        f"is the per-seed min-max). Power: **estimate** of the design's dynamic power at {power.REF_MHZ:g} MHz "
        "from the toggles of the gate-level netlist under the design's standard stimulus (engine: one ZO "
        "step, fill and scale and a pass of 4096 values at full rate; update system: load 4096 parameters "
        "and one whole ZO step), method and error in docs/power.md. 'vs ref.': fewer (or more) than the "
        "Gaussian source with the fewest LUTs at the same lanes and target; for the system rows, than the "
        "same system with gaussian-clt.",
        "",
        "## Engines",
        "",
        table(engine_rows, default),
        "## The whole update system at 8 lanes",
        "",
        "`pezo_update`: the engine, the ZO update datapath (4096 Q4.12 parameters in block RAM, "
        "+eps/-2eps/restore/update in fixed point, 8 lanes) and its controller. Lane multipliers in DSP "
        "blocks as many as the UP5K's 8 leave after the engine (7 beside an adaptive engine), the rest in "
        "logic; Rademacher's datapath has none (z = +-1: a conditional negation).",
        "",
        table(system_rows, default) if system_rows else "(not run)\n",
        f"## Against the goals (the recommended design: {default or 'none'})",
        "",
        goals(rows, default) if default else "(configs/default.toml is none of the variants)\n",
        "## The recommended engine's LFSR bank alone",
        "",
        "`pezo synth lfsr` of the default bank (with its replay shadow), per fresh bit per cycle.",
        "",
        bank_text(banks) if banks else "(not run)\n",
        "## Seed variation",
        "",
        seed_spread(rows),
    ])
    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "hardware.json", json.dumps(
        {"machine": machine(), "command": cmd, "wall_s": round(wall, 1), "tools": versions,
         "default": default, "rows": rows, "banks": banks}, indent=2) + "\n")
    write_atomic(OUT / "hardware.md", page)
    if args.doc:
        write_atomic(Path(args.doc), page)
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
