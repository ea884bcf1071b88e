"""Resources of the engine with each Gaussian source (issue 4's table), both targets.

    .venv/bin/python benchmarks/gaussian_synth.py [--seeds N] [--points 1x16,8x8]

Each point is lanes x value_bits with strategy none, fixed scale and a bank of ceil(bits / 63)
63-bit LFSRs sized to what the units draw (configs/gaussian-<source>.toml otherwise). The
uniform source with the recommended reuse (configs/default.toml at the same point) is measured
beside them for reference.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pezo.bench.common import OUT, write
from pezo import config
from pezo.app import designs
from pezo.build.flow import synthesize
from pezo.tools import flow_versions

SOURCES = ["gaussian-clt", "gaussian-icdf", "gaussian-boxmuller"]


def point_config(name: str, lanes: int, bits: int) -> config.Config:
    path = Path("configs") / f"{name}.toml"
    cfg = config.load(path).replace(**{"engine.lanes": lanes, "engine.value_bits": bits})
    return cfg.replace(**{"engine.lfsr.lanes": max(1, cfg.engine.params.bank_lanes_needed)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--points", default="1x16,8x8")
    ap.add_argument("--targets", default="ice40-up5k,ecp5-25k")
    ap.add_argument("--sources", default=",".join(SOURCES + ["default"]))
    args = ap.parse_args()
    design = designs.get("engine")
    rows = []
    for point in args.points.split(","):
        lanes, bits = (int(x) for x in point.split("x"))
        for name in args.sources.split(","):
            cfg = point_config(name, lanes, bits)
            for target in args.targets.split(","):
                print(f"{name} {point} {target}", flush=True)
                rep = synthesize(lambda: design.component(cfg), design="engine", target=target,
                                 seeds=list(range(1, args.seeds + 1)),
                                 out_dir=OUT / "gaussian_synth" / f"{name}-{point}-{target}",
                                 config_digest=design.digest(cfg), extra=design.extras(cfg))
                res = rep["resources"]
                e = cfg.engine
                rows.append({"source": e.source if name != "default" else "uniform (PeZO default)",
                             "point": point, "target": target, "LUT": res["LUT"], "FF": res["FF"],
                             "BRAM": res["BRAM"], "DSP": res["DSP"], "Fmax MHz": round(rep["fmax_mhz"], 1),
                             "LUT/sample": round(res["LUT"] / lanes, 1), "FF/sample": round(res["FF"] / lanes, 1),
                             "bank bits/cycle": e.lfsr.bits_per_cycle,
                             "fresh bits/sample": e.params.stream_bits_per_beat / lanes})
    cols = ["source", "point", "target", "LUT", "FF", "BRAM", "DSP", "Fmax MHz", "LUT/sample",
            "FF/sample", "bank bits/cycle", "fresh bits/sample"]
    write("gaussian_synth-" + args.sources.replace(",", "-"), rows, cols,
          f"Engine with each source, median Fmax over {args.seeds} seeds; tools {flow_versions()}")


if __name__ == "__main__":
    main()
