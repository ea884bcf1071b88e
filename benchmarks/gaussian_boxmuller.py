"""Quality and error of the gaussian-boxmuller golden stream; histograms for the docs.

    .venv/bin/python benchmarks/gaussian_boxmuller.py

For value_bits 8 and 16, lanes 1 and 8 (n = 2**20 values from the bank, as the tests use):
every figure of :func:`pezo.sw.golden.stats.gaussian_quality`; the error against the exact
transform (exhaustive for f and sin, 2**20 random pairs for the codes). Prints the tables,
saves them with ``common.write`` (out/bench/gaussian_boxmuller.{md,json}) and writes
``docs/img/gaussian-boxmuller-hist-<B>.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pezo.bench.common import write  # noqa: E402
from pezo.config import Config  # noqa: E402
from pezo.gaussian import boxmuller as bm  # noqa: E402
from pezo.gaussian import code_limit, reference_pmf  # noqa: E402
from pezo.sw.golden.gaussian.stream import stream  # noqa: E402
from pezo.sw.golden.gaussian.boxmuller import Sampler  # noqa: E402
from pezo.sw.golden.stats import gaussian_quality  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N = 1 << 20
BANK = {1: {}, 8: {"engine.lfsr.k": 31, "engine.lfsr.lanes": 6}}


def cfg_for(value_bits: int, lanes: int) -> Config:
    return Config().replace(**{"engine.source": "gaussian-boxmuller", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                               "engine.value_bits": value_bits,
                               "engine.lanes": lanes, "engine.reuse.strategy": "none",
                               "engine.scale.mode": "fixed", **BANK[lanes]})


def errors(b: int) -> dict:
    p = bm.params(b)
    s = Sampler(cfg_for(b, 1).engine.params)
    lsb = 2 ** (b - 3)
    u0 = torch.arange(1 << p.u0_bits)
    u = (u0.double() + 0.5) / 2 ** p.u0_bits
    fe = torch.sqrt(-2 * torch.where(u < 0.5, torch.log(u), torch.log1p(u - 1)))
    ef = (s.f(u0).double() / 2 ** p.f_point - fe) * lsb
    ph = torch.arange(1 << (p.u1_bits - 2))
    ge = torch.sin(math.pi / 2 * (ph.double() + 0.5) / 2 ** (p.u1_bits - 2))
    eg = (s.g(ph).double() / 2 ** p.g_point - ge) * 4 * lsb
    g = torch.Generator().manual_seed(b)
    a = torch.randint(0, 1 << p.u0_bits, (N,), generator=g)
    c = torch.randint(0, 1 << p.u1_bits, (N,), generator=g)
    codes = s([a, c]).numpy()
    x = np.stack(bm.exact(b, a.numpy(), c.numpy()), 1) * lsb
    lim = code_limit(b)
    d = np.abs(codes - np.clip(np.round(x), -lim, lim))
    return {"B": b, "f max err LSB": round(float(ef.abs().max()), 3), "f mean err LSB": round(float(ef.mean()), 4),
            "4*sin max err LSB": round(float(eg.abs().max()), 3),
            "code max err LSB": int(d.max()), "codes != exact rounding": f"{(d > 0).mean():.2%}",
            "pre-rounding max err LSB": round(float(np.abs(codes - np.clip(x, -lim, lim)).max()), 3)}


def main() -> None:
    rows, hists = [], {}
    for b in (8, 16):
        for lanes in (1, 8):
            v = stream(cfg_for(b, lanes), N // lanes)
            q = gaussian_quality(v, b)
            hists.setdefault(b, v.reshape(-1).numpy())
            rows.append({"B": b, "L": lanes, **{k: (f"{q[k]:.5g}" if isinstance(q[k], float) else q[k])
                         for k in ("mean", "var", "var_ref", "skew", "kurt", "kurt_ref", "tail2", "tail2_ref",
                                   "tail3", "tail3_ref", "tail4", "tail4_ref", "chi2_p", "chi2_coarse_p")}})
    write("gaussian_boxmuller", rows, list(rows[0]), f"gaussian-boxmuller golden stream quality, n = {N}")
    err = [errors(8), errors(16)]
    write("gaussian_boxmuller_error", err, list(err[0]),
          "gaussian-boxmuller error against the exact transform (same midpoint uniforms)")
    for b, v in hists.items():
        lim, t = code_limit(b), 2 ** (b - 3)
        w = max(1, t // 8)                                     # bins of an eighth of a sigma at B=16
        edges = np.arange(-lim, lim + 2, w) - 0.5
        ref = np.add.reduceat(np.array(reference_pmf(b)), np.arange(0, 2 * lim + 1, w)) * v.size
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.hist(v, bins=edges, color="tab:blue", alpha=0.6, label=f"gaussian-boxmuller, n = {v.size}")
        ax.step(edges[:-1] + w / 2, ref[:len(edges) - 1], where="mid", color="k", lw=0.8,
                label="quantised N(0,1)")
        ax.set_yscale("log")
        ax.set_xlabel(f"code (sigma = {t})")
        ax.set_title(f"gaussian-boxmuller, value_bits = {b}, lanes = 1")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out = ROOT / "docs" / "img" / f"gaussian-boxmuller-hist-{b}.png"
        fig.savefig(out, dpi=90)
        plt.close(fig)
        print("wrote", out)


if __name__ == "__main__":
    main()
