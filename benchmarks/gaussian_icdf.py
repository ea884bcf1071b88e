"""gaussian-icdf: quality figures and histograms, exhaustive error, and unit-level synthesis.

    .venv/bin/python benchmarks/gaussian_icdf.py quality       # figures, docs/img/gaussian-icdf-*.png
    .venv/bin/python benchmarks/gaussian_icdf.py synth [--seeds 3]

``quality`` runs the golden stream (``pezo.sw.golden.gaussian.stream.stream``, n = 2**20 values) at
lanes 1 x 16 bits and lanes 8 x 8 bits, and the exhaustive error of every magnitude against the
exact ``Phi^-1``. ``synth`` places and routes 1 unit (1 x 16) and 8 units (8 x 8) on both targets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from pezo.bench.common import OUT, write
from pezo.config import Config
from pezo.gaussian import reference_pmf, spec
from pezo.gaussian.icdf import exact, params_of, tables
from pezo.build.flow import synthesize
from pezo.tools import flow_versions
from pezo.hw.gaussian import Lanes
from pezo.sw.golden.gaussian.stream import stream
from pezo.sw.golden.gaussian.icdf import Sampler
from pezo.sw.golden.stats import gaussian_quality

CASES = [(1, 16), (8, 8)]          # (lanes, value_bits)
IMG = Path("docs/img")


def config(lanes: int, bits: int) -> Config:
    cfg = Config().replace(**{"engine.source": "gaussian-icdf", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                              "engine.reuse.strategy": "none",
                              "engine.scale.mode": "fixed", "engine.value_bits": bits,
                              "engine.lanes": lanes})
    return cfg.replace(**{"engine.lfsr.lanes": cfg.engine.params.bank_lanes_needed})


def exhaustive_error(bits: int) -> dict:
    """|code - round(exact)| over every magnitude (the sign only negates)."""
    e = config(1, bits).engine
    p = params_of(e)
    k = torch.arange(1 << p.mag_bits)
    code = Sampler(e.params).codes(k, torch.zeros_like(k)).numpy()
    x = exact(p, k.numpy())
    ideal = np.minimum(np.floor(x + 0.5), p.limit)
    d = np.abs(code - ideal)
    return {"inputs": int(k.numel()), "max_err_lsb": int(d.max()), "frac_off_by_1": float((d > 0).mean()),
            "max_err_vs_real_lsb": float(np.abs(code - np.minimum(x, p.limit)).max())}


def quality() -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    rows = []
    for lanes, bits in CASES:
        cfg = config(lanes, bits)
        q = gaussian_quality(stream(cfg, (1 << 20) // lanes), bits)
        err = exhaustive_error(bits)
        p = params_of(cfg.engine)
        w = tables(p).widths
        rows.append({"lanes x bits": f"{lanes} x {bits}", "n": q["n"],
                     "mean": f"{q['mean']:.5f} ({q['mean_ref']:.5f})", "var": f"{q['var']:.5f} ({q['var_ref']:.5f})",
                     "skew": f"{q['skew']:.5f} ({q['skew_ref']:.5f})", "kurt": f"{q['kurt']:.4f} ({q['kurt_ref']:.4f})",
                     "tail2": f"{q['tail2']:.5f} ({q['tail2_ref']:.5f})", "tail3": f"{q['tail3']:.5f} ({q['tail3_ref']:.5f})",
                     "tail4": f"{q['tail4']:.2e} ({q['tail4_ref']:.2e})",
                     "chi2/dof (p)": f"{q['chi2']:.0f}/{q['chi2_dof']} ({q['chi2_p']:.3f})",
                     "coarse chi2/dof (p)": f"{q['chi2_coarse']:.0f}/{q['chi2_coarse_dof']} ({q['chi2_coarse_p']:.3f})",
                     "max err LSB": err["max_err_lsb"], "inputs off by 1": f"{err['frac_off_by_1']:.2e}",
                     "params": f"deg {p.degree}, S {p.seg_bits}, M {p.mag_bits}, F {p.arg_bits}, G {p.guard}, "
                               f"NO {p.octaves}, ROM {p.depth}x{sum(w)}",
                     "raw": q | err})
        v = stream(cfg, (1 << 20) // lanes).reshape(-1).numpy()
        lim, t = p.limit, 1 << (bits - 3)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = max(1, t // 16)
        edges = np.arange(-lim, lim + 2, width) - 0.5
        ax.hist(v, bins=edges, density=False, histtype="step", label=f"gaussian-icdf, n = {v.size}")
        ref = np.array(reference_pmf(bits)) * v.size
        refb = np.add.reduceat(ref, np.arange(0, ref.size, width))
        ax.step(edges[:-1] + width / 2, refb[:len(edges) - 1], where="mid", label="quantised N(0,1)", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel(f"code (sigma = {t})")
        ax.set_title(f"gaussian-icdf, {lanes} lane(s) x {bits} bits")
        ax.legend()
        fig.tight_layout()
        fig.savefig(IMG / f"gaussian-icdf-{lanes}x{bits}.png", dpi=90)
        plt.close(fig)
    cols = [c for c in rows[0] if c != "raw"]
    write("gaussian_icdf_quality", rows, cols, "gaussian-icdf quality at n = 2**20 (reference in parentheses)")


def synth(seeds: int) -> None:
    rows = []
    for lanes, bits in CASES:
        cfg = config(lanes, bits)
        e = cfg.engine
        for target in ("ice40-up5k", "ecp5-25k"):
            print(f"{lanes} x {bits} / {target}", flush=True)
            rep = synthesize(lambda: Lanes(e.params), design=f"icdf_{lanes}x{bits}", target=target,
                             seeds=list(range(1, seeds + 1)), out_dir=OUT / "gaussian_icdf" / f"{lanes}x{bits}-{target}",
                             config_digest=cfg.digest())
            r = rep["resources"]
            rows.append({"lanes x bits": f"{lanes} x {bits}", "target": target, "LUT": r["LUT"], "FF": r["FF"],
                         "BRAM": r["BRAM"], "DSP": r["DSP"], "Fmax MHz": round(rep["fmax_mhz"], 1),
                         "Fmax per seed": "/".join(f"{f:.1f}" for f in rep["fmax_mhz_per_seed"]),
                         "LFSR bits/sample": spec(e).bits})
    write("gaussian_icdf_synth", rows, list(rows[0]),
          f"gaussian-icdf units, median Fmax over {seeds} seeds; tools {json.dumps(flow_versions())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["quality", "synth"])
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    quality() if a.what == "quality" else synth(a.seeds)


if __name__ == "__main__":
    main()
