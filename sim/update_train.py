"""ZO training through the ``pezo_update`` RTL, and the golden model replaying the same loop.

:func:`train_rtl` builds the system's Verilog and runs the host testbench
:mod:`pezo.sim.tb_update_train` (a least-squares problem, :class:`LeastSquares`); it returns the
testbench's record (losses, scalar codes loaded, final theta). :func:`train_golden` runs the same
host loop on the golden model (vectorised passes): fed with the recorded scalars it must end with
the same parameters bit for bit, and recomputing the losses from its own theta+ and theta- it must
arrive at the same scalars.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from pezo.config import Config
from pezo.files import write_atomic
from pezo.sim.runner import cosimulate
from pezo.sim.train_problem import LeastSquares
from pezo.sw.golden.update_stream import UpdateStream
from pezo.update_rules import Op, UpdateRules


def problem(cfg: Config, d: int = 16, n: int = 64, seed: int = 1, lr: float | None = None) -> LeastSquares:
    """The default problem for a configuration: ``lr = 0.8 / (d + 2)`` (SPSA's stable range for a
    unit-Hessian quadratic is ``lr < 2 / (d + 2)``)."""
    r = UpdateRules.from_config(cfg)
    c = cfg.engine.params.fold
    return LeastSquares(d=d, n=n, seed=seed, F=r.F, S=r.S, Fs=r.Fs, eps_eff=2.0 ** -r.eps_shift / c,
                        lr=0.8 / (d + 2) if lr is None else lr, c=c)


def train_rtl(cfg: Config, prob: LeastSquares, steps: int, build_dir: Path, stall: float = 0.2,
              seed: int = 1, simulator: str = "icarus") -> dict:
    """Run the training loop with the RTL as the device; the testbench's record."""
    from amaranth.back import verilog

    from pezo.hw.update import UpdateSystem

    r = UpdateRules.from_config(cfg)
    top = "pezo_update"
    build_dir = Path(build_dir).resolve()        # the simulator runs in a subdirectory
    vfile = build_dir / f"{top}.v"
    write_atomic(vfile, verilog.convert(UpdateSystem(r), name=top, emit_src=False))
    args = {"lanes": r.lanes, "W": r.W, "S": r.S, "d": prob.d, "steps": steps, "stall": stall,
            "seed": seed, "theta0": [0] * prob.d, "problem": asdict(prob)}
    args_file = build_dir / "train_args.json"
    write_atomic(args_file, json.dumps(args))
    result = cosimulate(vfile, top, None, build_dir=build_dir, simulator=simulator,
                        test_module="pezo.sim.tb_update_train", extra_env={"PEZO_ARGS": str(args_file)})
    return result.report


def train_golden(cfg: Config, prob: LeastSquares, scalars: list[int] | None = None, steps: int = 0) -> dict:
    """The same loop on the golden model. With ``scalars`` it loads those codes (the RTL's
    record); without, it computes them from its own losses for ``steps`` steps."""
    g = UpdateStream(UpdateRules.from_config(cfg))
    steps = len(scalars) if scalars is not None else steps
    rec: dict[str, list] = {"loss_plus": [], "loss_minus": [], "scalars": []}
    for t in range(steps):
        lp = prob.loss(g.run_pass(Op.PLUS, prob.d).tolist())
        lm = prob.loss(g.run_pass(Op.MINUS2, prob.d).tolist())
        g.run_pass(Op.RESTORE, prob.d)
        s = prob.scalar_code(lp, lm) if scalars is None else int(scalars[t])
        g.load_scalar(s)
        g.run_pass(Op.UPDATE, prob.d)
        rec["loss_plus"].append(lp)
        rec["loss_minus"].append(lm)
        rec["scalars"].append(s)
    theta = g.theta[:prob.d].tolist()
    return {"theta_final": theta, "loss_final": prob.loss(theta), "ovf": g.ovf, **rec}
