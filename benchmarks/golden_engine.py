"""Golden perturbation engine throughput: values per second of the vectorised ``passes``.

    .venv/bin/python benchmarks/golden_engine.py

d = 1,000,000 parameters per pass, 8 lanes x 8-bit values, default configuration otherwise
(adaptive scale, except ``none`` which only allows fixed). Each row is the best of several
single-step calls and the mean over one call of 8 steps; the run is repeated with 1 thread
because on a shared 2-core machine a busy second core stalls every 2-thread torch op.
"""

from __future__ import annotations

import os
import time

import torch

from pezo.bench.common import write
from pezo.config import Config
from pezo.sw.golden.engine_stream import EngineStream

D = 1_000_000
STRATEGIES = ("rademacher", "none", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation", "on-the-fly")


def main() -> None:
    rows = []
    for threads in (2, 1):
        torch.set_num_threads(threads)
        for strategy in STRATEGIES:
            if strategy == "rademacher":                 # the default engine
                cfg = Config().replace(**{"engine.max_params": D})
            else:
                cfg = Config().replace(**{"engine.source": "uniform", "engine.lanes": 8, "engine.value_bits": 8,
                                          "engine.max_params": D, "engine.reuse.strategy": strategy,
                                          "engine.scale.mode": "fixed" if strategy == "none" else "adaptive",
                                          "engine.lfsr.width": 63, "engine.lfsr.k": 63})
            engine = EngineStream(cfg.engine.params)
            engine.passes(2, D)                       # warm the bank's matrix-power caches
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                engine.passes(1, D)
                best = min(best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.passes(8, D)
            batch = (time.perf_counter() - t0) / 8
            rows.append({"strategy": strategy, "scale": cfg.engine.scale.mode, "threads": threads,
                         "ms/pass (1 step)": round(best * 1e3, 1), "Mvalues/s (1 step)": round(D / best / 1e6, 1),
                         "ms/pass (8 steps)": round(batch * 1e3, 1), "Mvalues/s (8 steps)": round(D / batch / 1e6, 1)})
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    write("golden_engine", rows,
          ["strategy", "scale", "threads", "ms/pass (1 step)", "Mvalues/s (1 step)", "ms/pass (8 steps)",
           "Mvalues/s (8 steps)"],
          f"Golden engine passes() throughput, d = {D:,}, 8 lanes x 8 bits (load average {load})")


if __name__ == "__main__":
    main()
