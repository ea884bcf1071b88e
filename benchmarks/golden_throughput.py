"""Golden LFSR bank throughput: output bits per second of the vectorised ``run``.

    .venv/bin/python benchmarks/golden_throughput.py
"""

from __future__ import annotations

import time

import torch

from pezo.bench.common import write
from pezo.config import Config
from pezo.lfsr import BankParams
from pezo.sw.golden.lfsr_stream import LfsrStream

CASES = [
    ("default (1 x galois 31, k=8)", {}),
    ("1 x galois 63, k=63", {"engine.lfsr.width": 63, "engine.lfsr.k": 63}),
    ("2 x galois 32, k=32", {"engine.lfsr.width": 32, "engine.lfsr.k": 32, "engine.lfsr.lanes": 2}),
    ("1 x fibonacci 64, k=64", {"engine.lfsr.width": 64, "engine.lfsr.k": 64, "engine.lfsr.lanes": 1,
                                "engine.lfsr.structure": "fibonacci"}),
    ("8 x galois 16, k=8", {"engine.lfsr.width": 16, "engine.lfsr.k": 8, "engine.lfsr.lanes": 8}),
    ("4 x galois 31, k=1", {"engine.lfsr.k": 1, "engine.lfsr.lanes": 4}),
]


def main() -> None:
    torch.set_num_threads(2)
    rows = []
    for name, changes in CASES:
        lf = Config().replace(**changes).engine.lfsr
        cycles = 2_000_000
        model = LfsrStream(BankParams.from_config(lf))
        model.run(1000)                                  # warm the matrix-power caches
        best = float("inf")
        for _ in range(3):
            model.reset()
            t0 = time.perf_counter()
            model.run(cycles)
            best = min(best, time.perf_counter() - t0)
        bits = cycles * lf.lanes * lf.k
        rows.append({"bank": name, "cycles": cycles, "bits": bits, "seconds": round(best, 3),
                     "Mbit/s": round(bits / best / 1e6, 1), "Mcycle/s": round(cycles / best / 1e6, 2)})
    write("golden_throughput", rows, ["bank", "cycles", "seconds", "Mbit/s", "Mcycle/s"],
          "Golden LFSR bank run() throughput (best of 3)")


if __name__ == "__main__":
    main()
