"""Wall time of ``pezo explore`` cold (an empty result cache: every synthesis, gate-level
simulation and training run from scratch) and warm (the same cache again), with a given number
of local Dask workers; ``--docs`` writes docs/results/explore.md from the run's front.

    .venv/bin/python benchmarks/explore.py [--space configs/explore/strategies.toml]
        [--workers 2] [--docs]

Each run is recorded in out/bench/explore.json (keyed by space and workers, so the 1- and
2-worker runs of a space can be made separately) and printed; the results page lists every
recorded run of the space.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pezo.bench.common import OUT, machine

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "results" / "explore.md"


def _explore(space: Path, workers: int, out: Path, cache: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pezo.app.cli", "explore", str(space), "--workers", str(workers),
                        "--out", str(out), "--cache", str(cache)], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"pezo explore failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0, r.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="configs/explore/strategies.toml")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--docs", action="store_true", help="write docs/results/explore.md")
    args = ap.parse_args()
    space = (ROOT / args.space).resolve()
    tag = f"{space.stem}-w{args.workers}"
    cache, out = OUT / f"explore-cache-{tag}", OUT / f"explore-{tag}"
    shutil.rmtree(cache, ignore_errors=True)
    cold, log = _explore(space, args.workers, out, cache)
    warm, _ = _explore(space, args.workers, out, cache)
    jobs = next(line for line in log.splitlines() if " jobs: " in line).split(".. ")[-1]
    record = {"space": args.space, "workers": args.workers, "cold_s": round(cold, 1), "warm_s": round(warm, 1),
              "jobs": jobs, "machine": machine(), "date": time.strftime("%Y-%m-%d")}
    path = OUT / "explore.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    runs = [r for r in runs if (r["space"], r["workers"]) != (args.space, args.workers)] + [record]
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs, indent=1) + "\n")
    print(f"{args.space}, {args.workers} workers: cold {cold:.0f} s, warm {warm:.1f} s ({jobs})")
    if args.docs:
        _docs(args.space, runs, out)


def _docs(space: str, runs: list[dict], out: Path) -> None:
    from pezo.files import write_atomic

    mine = sorted(runs, key=lambda r: (r["space"] != space, r["space"], r["workers"]))
    figures = DOC.parent / "explore"
    figures.mkdir(parents=True, exist_ok=True)
    for png in sorted(out.glob("front-*-lut.png")) + sorted(out.glob("front-*-power.png")):
        shutil.copyfile(png, figures / png.name)
    front = (out / "front.md").read_text().replace("# Exploration", "## Exploration", 1)
    lines = ["# Design-space exploration: hardware cost against accuracy", "",
             f"`pezo explore {space}` (docs/explore.md); regenerate with "
             f"`.venv/bin/python benchmarks/explore.py --space {space} --workers N --docs`.", "",
             "| space | workers (local cluster) | cold (empty cache) | warm (all cached) | jobs |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| `{r['space']}` | {r['workers']} | {r['cold_s'] / 60:.1f} min | {r['warm_s']:.1f} s | {r['jobs']} |"
              for r in mine]
    for sp in dict.fromkeys(r["space"] for r in mine):
        by = {r["workers"]: r for r in mine if r["space"] == sp}
        if 1 in by and len(by) > 1:
            w = max(by)
            lines += ["", f"`{sp}` cold: {w} workers {by[1]['cold_s'] / by[w]['cold_s']:.2f}x as fast as 1."]
    lines += ["", f"Machine: {mine[0]['machine']} (shared), {mine[0]['date']}.", "",
              *[f"![{p.stem}](explore/{p.name})" for p in sorted(figures.glob("front-*-lut.png"))], "", front]
    write_atomic(DOC, "\n".join(lines))


if __name__ == "__main__":
    main()
