"""Co-simulation speed: cycles per second of the LFSR bank under Icarus (and Verilator).

    .venv/bin/python benchmarks/cosim_speed.py
"""

from __future__ import annotations

import time
from pathlib import Path

from pezo.bench.common import OUT, write
from pezo.app import designs
from pezo.config import Config
from pezo.errors import PezoError
from pezo.sim.runner import cosimulate


def main() -> None:
    design = designs.get("lfsr")
    cfg = Config()
    cycles = 50_000
    t0 = time.perf_counter()
    trace = design.trace(cfg, cycles, 1)
    t_golden = time.perf_counter() - t0
    rows = []
    for sim in ("icarus", "verilator"):
        build = OUT / "cosim" / sim
        build.mkdir(parents=True, exist_ok=True)
        vfile = build / "pezo_lfsr.v"
        vfile.write_text(design.verilog(cfg))
        try:
            t0 = time.perf_counter()
            r = cosimulate(vfile, design.toplevel, trace, build_dir=Path(build), simulator=sim)
            wall = time.perf_counter() - t0
        except PezoError as e:
            rows.append({"simulator": sim, "note": str(e)})
            continue
        rows.append({"simulator": sim, "cycles": r.cycles, "sim seconds": round(r.seconds, 2),
                     "cycles/s": round(r.cycles_per_second), "wall incl. build (s)": round(wall, 1),
                     "golden trace (s)": round(t_golden, 2)})
    write("cosim_speed", rows, ["simulator", "cycles", "sim seconds", "cycles/s", "wall incl. build (s)",
                                "golden trace (s)", "note"], "Co-simulation speed, default LFSR bank")


if __name__ == "__main__":
    main()
