"""Resources of the gaussian-clt source at unit level: 1 lane x 16 bits and 8 lanes x 8 bits
(8 units side by side), both targets, LUT/FF/BRAM/DSP and median Fmax over nextpnr seeds.

    .venv/bin/python benchmarks/gaussian_clt_synth.py [--seeds N] [--terms K ...]

The LFSR bank that feeds the units is not included; its size is the "bits/sample" column
(~1 LUT + 1-2 FF per fresh bit, docs/results/engine-synth.md).
"""

from __future__ import annotations

import argparse

from pezo.bench.common import OUT, write
from pezo.build.flow import synthesize
from pezo.tools import flow_versions
from pezo.config import Config
from pezo.gaussian import spec
from pezo.hw.gaussian import Lanes


def config(lanes: int, value_bits: int, terms: int) -> Config:
    return Config().replace(**{"engine.source": "gaussian-clt", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                               "engine.reuse.strategy": "none",
                               "engine.scale.mode": "fixed", "engine.lanes": lanes,
                               "engine.value_bits": value_bits, "engine.gaussian.clt_terms": terms})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--terms", type=int, nargs="+", default=[4])
    ap.add_argument("--targets", nargs="+", default=["ice40-up5k", "ecp5-25k"])
    args = ap.parse_args()
    rows = []
    for k in args.terms:
        for lanes, b in ((1, 16), (8, 8)):
            cfg = config(lanes, b, k)
            e = cfg.engine
            for target in args.targets:
                print(f"K={k} {lanes}x{b} {target}", flush=True)
                rep = synthesize(lambda: Lanes(e.params), design="clt", target=target,
                                 seeds=list(range(1, args.seeds + 1)),
                                 out_dir=OUT / "gaussian_clt_synth" / f"k{k}-{lanes}x{b}-{target}",
                                 config_digest=cfg.digest())
                res = rep["resources"]
                rows.append({"K": k, "lanes x bits": f"{lanes}x{b}", "target": target,
                             "LUT": res["LUT"], "FF": res["FF"], "carry": res.get("carry", ""),
                             "BRAM": res["BRAM"], "DSP": res["DSP"],
                             "Fmax MHz": round(rep["fmax_mhz"], 1),
                             "LUT/sample": round(res["LUT"] / lanes, 1),
                             "bits/sample": spec(e).bits, "latency": spec(e).latency})
    cols = ["K", "lanes x bits", "target", "LUT", "FF", "carry", "BRAM", "DSP", "Fmax MHz",
            "LUT/sample", "bits/sample", "latency"]
    write("gaussian_clt_synth", rows, cols,
          f"gaussian-clt units (no LFSR bank), median Fmax over {args.seeds} seeds; tools {flow_versions()}")


if __name__ == "__main__":
    main()
