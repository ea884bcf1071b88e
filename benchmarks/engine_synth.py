"""Resources of the perturbation engine per reuse strategy, lanes 8 x value_bits 8, both targets.

    .venv/bin/python benchmarks/engine_synth.py [--seeds N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pezo.bench.common import OUT, write
from pezo import config
from pezo.app import designs
from pezo.build.flow import synthesize
from pezo.tools import flow_versions

CONFIGS = ["rademacher", "uniform-fresh", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation",
           "on-the-fly"]
MODES = ["fixed", "adaptive"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    design = designs.get("engine")
    rows = []
    for name in CONFIGS:
        for mode in MODES:
            if name in ("rademacher", "uniform-fresh") and mode == "adaptive":
                continue                                  # no pool to normalise
            cfg = config.load(Path("configs") / f"{name}.toml").replace(**{"engine.scale.mode": mode})
            for target in ("ice40-up5k", "ecp5-25k"):
                print(f"{name} / {mode} / {target}", flush=True)
                rep = synthesize(lambda: design.component(cfg), design="engine", target=target,
                                 seeds=list(range(1, args.seeds + 1)),
                                 out_dir=OUT / "engine_synth" / f"{name}-{mode}-{target}",
                                 config_digest=design.digest(cfg), extra=design.extras(cfg))
                res, ex = rep["resources"], rep["extra"]
                rows.append({"strategy": name, "scale": mode, "target": target, "LUT": res["LUT"],
                             "FF": res["FF"], "BRAM": res["BRAM"], "DSP": res["DSP"],
                             "Fmax MHz": round(rep["fmax_mhz"], 1),
                             "bank": f"{cfg.engine.lfsr.width}/{cfg.engine.lfsr.k}",
                             "fresh bits/param": ex["fresh_bits_per_param_stream"],
                             "fill bits/step": ex["fill_bits_per_step"]})
    cols = ["strategy", "scale", "target", "LUT", "FF", "BRAM", "DSP", "Fmax MHz", "bank",
            "fresh bits/param", "fill bits/step"]
    write("engine_synth", rows, cols,
          f"Engine resources, lanes 8 x 8 bits, median Fmax over {args.seeds} seeds; tools {flow_versions()}")


if __name__ == "__main__":
    main()
