"""Quality of the gaussian-clt golden stream: figures against the quantised normal and against
the source's own exact law, the plan (u, shift-add digits, error bound), and histogram PNGs.

    .venv/bin/python benchmarks/gaussian_clt.py [--log2n 22] [--terms 4 3 12]

Writes out/bench/gaussian_clt.{md,json} and docs/img/gaussian-clt-{8,16}.png.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pezo.bench.common import write  # noqa: E402
from pezo.config import Config  # noqa: E402
from pezo.gaussian import code_limit, reference_pmf, spec  # noqa: E402
from pezo.sw.golden.gaussian.stream import stream  # noqa: E402
from pezo.sw.golden.gaussian.clt import Sampler  # noqa: E402
from pezo.sw.golden.stats import _chi2, _merge_bins, gaussian_quality  # noqa: E402

IMG = Path("docs/img")
DENSE_SEED = 0x2545F4914F6CDD1E & ((1 << 63) - 1)
SHAPES = [(1, 16), (8, 8)]


def config(lanes: int, value_bits: int, terms: int) -> Config:
    """The source alone on a bank of one 63-bit LFSR per unit (at least the bits it needs), from
    a dense seed (the default seed 0x1 starts in low-weight states, docs/engine-stats.md)."""
    cfg = Config().replace(**{"engine.source": "gaussian-clt", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                              "engine.reuse.strategy": "none",
                              "engine.scale.mode": "fixed", "engine.lanes": lanes,
                              "engine.value_bits": value_bits, "engine.gaussian.clt_terms": terms})
    need = max(cfg.engine.params.stream_bits_per_beat, lanes * cfg.engine.lfsr.k)
    return cfg.replace(**{"engine.lfsr.lanes": -(-need // cfg.engine.lfsr.k), "engine.lfsr.seed": DENSE_SEED})


def law_moments(law: np.ndarray, t: int) -> tuple[float, float]:
    lim = (law.size - 1) // 2
    x = np.arange(-lim, lim + 1) / t
    v = float((law * x * x).sum())
    return v, float((law * x ** 4).sum()) / v ** 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log2n", type=int, default=22)
    ap.add_argument("--terms", type=int, nargs="+", default=[4, 3, 12])
    args = ap.parse_args()
    n = 1 << args.log2n
    rows, laws = [], {}
    for k in args.terms:
        for lanes, b in SHAPES:
            t0 = time.perf_counter()
            cfg = config(lanes, b, k)
            s = Sampler(cfg.engine.params)
            p, t = s.plan, 1 << (b - 3)
            codes = stream(cfg, n // lanes)
            q = gaussian_quality(codes, b)
            law = s.law()
            laws[(k, b)] = (law, np.bincount((codes.reshape(-1) + code_limit(b)).numpy(), minlength=law.size))
            o, e = _merge_bins(laws[(k, b)][1].astype(np.float64), law * n, 20.0)
            chi2, dof = _chi2(o, e)
            lvar, lkurt = law_moments(law, t)
            digits = " ".join(f"{'+' if sg > 0 else '-'}2^{kk - p.frac}" for sg, kk in p.digits)
            rows.append({
                "K": k, "lanes x bits": f"{lanes}x{b}", "u": p.u, "bits/sample": spec(cfg.engine).bits,
                "c'": digits, "c'/c-1": f"{sum(sg * 2.0 ** (kk - p.frac) for sg, kk in p.digits) / p.scale - 1:.1e}",
                "max err LSB": round(p.max_error_lsb, 3), "sums/code": round(p.sums_per_code, 2),
                "n": q["n"], "mean": f"{q['mean']:.5f}", "var": f"{q['var']:.5f} ({q['var_ref']:.5f})",
                "skew": f"{q['skew']:.4f}", "kurt": f"{q['kurt']:.4f} ({q['kurt_ref']:.4f})",
                "law kurt": f"{lkurt:.4f}", "3-6/(5K)": f"{3 - 6 / (5 * k):.4f}",
                "tail2": f"{q['tail2']:.5f} ({q['tail2_ref']:.5f})",
                "tail3": f"{q['tail3']:.2e} ({q['tail3_ref']:.2e})",
                "tail4": f"{q['tail4']:.2e} ({q['tail4_ref']:.2e})",
                "max |x|": round(q["max_abs_code"] / t, 3), "sqrt(3K)": round(math.sqrt(3 * k), 3),
                "chi2 p vs normal": f"{q['chi2_p']:.1e}", "chi2 p coarse": f"{q['chi2_coarse_p']:.1e}",
                "chi2/dof vs own law": f"{chi2:.0f}/{dof}", "s": round(time.perf_counter() - t0, 1)})
    cols = list(rows[0])
    write("gaussian_clt", rows, cols, f"gaussian-clt golden stream, {n} values per row; "
          "figures (reference: the quantised normal)")
    plot(laws, args.terms, n)


def plot(laws: dict, terms: list[int], n: int) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    for b in (8, 16):
        t, lim = 1 << (b - 3), code_limit(b)
        ref = np.array(reference_pmf(b))
        w = max(1, t // 32)         # every code at 8 bits (the comb shows), T/32 at 16 bits
        nb = (2 * lim + 1) // w
        skip = (2 * lim + 1 - nb * w) // 2      # centre the bins: the plot stays symmetric
        x = (np.arange(nb) * w + skip - lim + (w - 1) / 2) / t

        def binned(v):
            return v[skip:skip + nb * w].reshape(nb, w).sum(1) * t / w      # density per sigma

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        for ax, log in ((ax1, False), (ax2, True)):
            ax.plot(x, binned(ref), "k--", lw=1, label="quantised N(0,1)")
            for k in terms:
                if (k, b) not in laws:
                    continue
                law, obs = laws[(k, b)]
                ax.plot(x, binned(obs / n), lw=1, label=f"K={k} stream")
                ax.plot(x, binned(law), ":", lw=1, color=ax.lines[-1].get_color())
            if log:
                ax.set_yscale("log")
                ax.set_ylim(1e-7, 1)
            ax.set_xlabel("x = code / 2**(B-3) (sigma)")
            ax.set_ylabel("density")
        ax1.legend(fontsize=8)
        fig.suptitle(f"gaussian-clt, {b}-bit codes, {n} values (dotted: exact law of the source)")
        fig.tight_layout()
        fig.savefig(IMG / f"gaussian-clt-{b}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main()
