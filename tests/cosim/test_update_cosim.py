"""Update system RTL against its golden model: whole ZO steps, every cycle, random stalls; and a
training loop with the RTL as the device."""

import pytest

from pezo import config

from pezo.app import designs
from pezo.config import Config
from pezo.sim import update as sim_update
from pezo.sim.runner import cosimulate
from pezo.sim.update_train import problem, train_golden, train_rtl
from pezo.update_rules import Cmd, Op

pytestmark = pytest.mark.cosim

#: A uniform PeZO engine with a 63-bit bank (the default engine is Rademacher).
PEZO = {"engine.source": "uniform", "engine.lfsr.width": 63, "engine.lfsr.k": 63}
CASES = {
    "rademacher-l8": ({}, 3000),
    "rademacher-l3-q2.10": ({"engine.lanes": 3, "update.depth": 510, "update.param": "Q2.10",
                             "update.eps_shift": 10, "update.scalar": "Q3.9"}, 6000),
    "pool-index-adaptive-l8": ({**PEZO, "engine.reuse.strategy": "pool-index", "engine.scale.mode": "adaptive"}, 3500),
    "pool-index-adaptive-l1": ({**PEZO, "engine.reuse.strategy": "pool-index", "engine.scale.mode": "adaptive",
                                "engine.lanes": 1}, 6000),
    "pool-sign-fixed-l8-dsp3": ({**PEZO, "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "fixed",
                                "engine.lfsr.width": 31, "engine.lfsr.k": 16, "update.dsp_lanes": 3}, 3000),
    "none-fixed-l1-q2.10": ({**PEZO, "engine.lanes": 1, "update.param": "Q2.10", "update.eps_shift": 9,
                             "update.scalar": "Q3.9", "update.dsp_lanes": 0}, 6500),
    "on-the-fly-adaptive-l8": ({**PEZO, "engine.reuse.strategy": "on-the-fly", "engine.scale.mode": "adaptive",
                                "engine.reuse.pool_size": 16}, 3500),
    "pre-generation-fixed-l8": ({**PEZO, "engine.reuse.strategy": "pre-generation", "engine.reuse.pool_size": 16}, 3000),
    # the UP5K's single-ported SPRAM: beats at half rate, read and write share the address
    "spram-pool-sign-adaptive-l4": ({**PEZO, "update.memory": "spram", "engine.lanes": 4, "update.dsp_lanes": 4,
                                     "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive"}, 3500),
    "spram-rademacher-l4": ({"update.memory": "spram", "engine.lanes": 4}, 3500),
}


def _cfg(changes) -> Config:
    return Config().replace(**{"update.depth": 512, **changes})


@pytest.mark.parametrize("name", list(CASES))
def test_rtl_matches_golden_every_cycle_over_whole_zo_steps(tmp_path, name):
    changes, cycles = CASES[name]
    cfg = _cfg(changes)
    design = designs.get("update")
    vfile = tmp_path / "u.v"
    vfile.write_text(design.verilog(cfg))
    trace = sim_update.trace(cfg, cycles, seed=7)
    result = cosimulate(vfile, design.toplevel, trace, build_dir=tmp_path / "b")
    assert result.cycles == cycles
    passes = [(c, trace.inputs["op"][c]) for c in range(cycles) if trace.inputs["cmd"][c] == Cmd.PASS
              and (c == 0 or not trace.outputs["busy"][c - 1])]
    ops = [op for _, op in passes]
    steps = sum(1 for i in range(len(ops) - 3) if ops[i:i + 4] == [Op.PLUS, Op.MINUS2, Op.RESTORE, Op.UPDATE])
    assert steps >= 2 and sum(trace.outputs["done"]) >= 8, "two whole ZO steps of a few hundred parameters"
    assert any(trace.inputs["stall"][c] and trace.outputs["busy"][c] for c in range(cycles))
    assert any(trace.outputs["ovf"]), "the schedule saturates some parameters"


@pytest.mark.parametrize("cfg_name", ["default", "pool-sign", "update-small"])
def test_training_loop_through_the_rtl(tmp_path, cfg_name):
    if cfg_name == "default":                         # Rademacher: the multiplier-free datapath
        cfg = Config().replace(**{"update.depth": 64})
    else:
        cfg = config.load(f"configs/{cfg_name}.toml")
        if cfg.update.depth > 64:
            cfg = cfg.replace(**{"update.depth": 64})
    prob = problem(cfg, d=16)
    rec = train_rtl(cfg, prob, steps=200, build_dir=tmp_path / "t", stall=0.2)
    assert len(rec["scalars"]) == 200
    assert rec["loss_final"] * 10 <= rec["loss_initial"], (rec["loss_initial"], rec["loss_final"])
    # the golden model fed the scalars the testbench loaded ends with the same parameters
    replay = train_golden(cfg, prob, scalars=rec["scalars"])
    assert replay["theta_final"] == rec["theta_final"]
    assert replay["loss_plus"] == rec["loss_plus"] and replay["loss_minus"] == rec["loss_minus"]
    # and, closing the loop itself, computes the very same scalars from its own losses
    closed = train_golden(cfg, prob, steps=200)
    assert closed["scalars"] == rec["scalars"]
    assert rec["ovf"] == replay["ovf"] == 0
