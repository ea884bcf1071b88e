"""Resources of the gaussian-boxmuller source at lanes 1 x 16 bits and 8 x 8 bits, both targets.

    .venv/bin/python benchmarks/gaussian_boxmuller_synth.py [--seeds N] [--only 1x16|8x8]

The design is ``ceil(L / 2)`` units side by side, exposing only the ``L`` values the engine uses
(so at L = 1 the synthesiser removes the cosine path, as it would in the engine), without the
LFSR bank that feeds them (see ``lfsr bits/cycle``).
"""

from __future__ import annotations

import argparse

from pezo.bench.common import OUT, write
from pezo.build.flow import synthesize
from pezo.tools import flow_versions
from pezo.config import Config
from pezo.gaussian import spec, units
from pezo.hw.gaussian import Lanes

CONFIGS = {"1x16": (1, 16), "8x8": (8, 8)}


def cfg_for(lanes: int, value_bits: int) -> Config:
    return Config().replace(**{"engine.source": "gaussian-boxmuller", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                               "engine.lanes": lanes,
                               "engine.value_bits": value_bits, "engine.reuse.strategy": "none",
                               "engine.scale.mode": "fixed"})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", choices=sorted(CONFIGS))
    args = ap.parse_args()
    rows = []
    for name, (lanes, bits) in CONFIGS.items():
        if args.only and name != args.only:
            continue
        cfg = cfg_for(lanes, bits)
        for target in ("ice40-up5k", "ecp5-25k"):
            print(f"{name} / {target}", flush=True)
            rep = synthesize(lambda: Lanes(cfg.engine.params), design=f"boxmuller_{name}", target=target,
                             seeds=list(range(1, args.seeds + 1)),
                             out_dir=OUT / "gaussian_boxmuller_synth" / f"{name}-{target}",
                             config_digest=cfg.digest())
            res = rep["resources"]
            rows.append({"config": name, "target": target, "units": units(cfg.engine),
                         "LUT": res["LUT"], "FF": res["FF"], "carry": res["carry"], "BRAM": res["BRAM"],
                         "DSP": res["DSP"], "Fmax MHz": round(rep["fmax_mhz"], 1),
                         "Fmax per seed": [round(f, 1) for f in rep["fmax_mhz_per_seed"]],
                         "lfsr bits/cycle": units(cfg.engine) * spec(cfg.engine).bits,
                         "LUT/sample": round(res["LUT"] / lanes, 1)})
    write("gaussian_boxmuller_synth", rows,
          ["config", "target", "units", "LUT", "FF", "carry", "BRAM", "DSP", "Fmax MHz", "Fmax per seed",
           "lfsr bits/cycle", "LUT/sample"],
          f"gaussian-boxmuller units, median Fmax over {args.seeds} seeds; tools {flow_versions()}")


if __name__ == "__main__":
    main()
