"""ZO training through the update system's RTL: loss before/after, cycles, golden agreement.

    .venv/bin/python benchmarks/update_train.py [--steps 200]

Least squares, d = 16 parameters, 64 samples, lr = 0.8/(d+2), theta0 = 0, random stalls in 20% of
cycles. The cocotb testbench is the host (reads theta+ and theta-, computes the losses in numpy,
loads lr*g); the golden model then replays the recorded scalars, and separately closes the loop on
its own losses. Configurations: the default with depth 64 (8 lanes of Rademacher +-1, the
multiplier-free datapath), configs/pool-sign.toml (8 lanes, PeZO pool-sign, adaptive scale) with
depth 64, configs/update-small.toml (4 lanes, pool-index, fixed scale) and
configs/update-spram.toml (4 lanes of Rademacher, the parameters in SPRAM: half rate).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from pezo.bench.common import write
from pezo import config
from pezo.config import Config
from pezo.sim.update_train import problem, train_golden, train_rtl

CONFIGS = {
    "default, depth 64": lambda: Config().replace(**{"update.depth": 64}),
    "configs/pool-sign.toml, depth 64": lambda: config.load("configs/pool-sign.toml").replace(**{"update.depth": 64}),
    "configs/update-small.toml": lambda: config.load("configs/update-small.toml"),
    "configs/update-spram.toml": lambda: config.load("configs/update-spram.toml"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    rows = []
    for name, make in CONFIGS.items():
        cfg = make()
        prob = problem(cfg, d=16)
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            rec = train_rtl(cfg, prob, steps=args.steps, build_dir=Path(tmp))
        replay = train_golden(cfg, prob, scalars=rec["scalars"])
        closed = train_golden(cfg, prob, steps=args.steps)
        rows.append({
            "config": name, "lanes": cfg.engine.lanes, "scale": cfg.engine.scale.mode,
            "memory": cfg.update.memory, "d": prob.d,
            "steps": args.steps, "loss0": f"{rec['loss_initial']:.4g}", "loss_final": f"{rec['loss_final']:.4g}",
            "fall": f"{rec['loss_initial'] / rec['loss_final']:.0f}x",
            "theta == golden replay": replay["theta_final"] == rec["theta_final"],
            "scalars == golden closed loop": closed["scalars"] == rec["scalars"],
            "ovf": rec["ovf"], "sim cycles": rec["cycles"],
            "median cycles/step (with read-back, 20% stalls)": statistics.median(rec["step_cycles"]),
        })
    write("update_train", rows, list(rows[0]), "ZO training through the pezo_update RTL (cocotb host)")


if __name__ == "__main__":
    main()
