"""Perturbation engine RTL against its golden model, every cycle, with random back-pressure."""

import pytest

from pezo.app import designs
from pezo.config import Config
from pezo.sim import engine as sim_engine
from pezo.sim.runner import cosimulate

pytestmark = pytest.mark.cosim

STRATEGIES = ("none", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation", "on-the-fly")
COMBOS = [(s, m) for s in STRATEGIES for m in ("fixed", "adaptive") if not (s == "none" and m == "adaptive")]
CASES = [(s, m, lanes, bits) for s, m in COMBOS for lanes in (1, 8) for bits in (4, 8)]
CASES += [("pool-sign", "adaptive", 12, 8), ("pool-index", "fixed", 12, 4)]   # two pool replicas
CASES += [("on-the-fly", "fixed", 32, 4)]                                      # a round of 16 within a beat
CASES += [("rademacher", "fixed", lanes, 2) for lanes in (1, 8, 13)]          # 13: not a power of two


def _cfg(strategy, mode, lanes, bits, pool=16, refresh=4) -> Config:
    """Strategy ``rademacher`` stands for ``engine.source = "rademacher"`` (2-bit +-1 codes)."""
    if strategy == "rademacher":
        return Config().replace(**{"engine.lanes": lanes, "engine.max_params": 1000, "engine.lfsr.k": 16})
    return Config().replace(**{"engine.source": "uniform", "engine.reuse.strategy": strategy,
                               "engine.scale.mode": mode, "engine.lanes": lanes, "engine.value_bits": bits,
                               "engine.reuse.pool_size": pool, "engine.reuse.refresh": refresh,
                               "engine.max_params": 1000, "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                               "engine.lfsr.lanes": 2 if lanes * bits > 126 else 1})


def _passes(trace, cfg):
    """The values of every pass, as the consumer received them (valid & ready transfers),
    unpacked with the beat layout of the engine's parameters."""
    ep = cfg.engine.params
    passes, cur = [], []
    for c, payload in enumerate(trace.outputs["o__payload"]):
        # a transfer happens at edge c+1 when valid (after edge c) and ready (cycle c+1)
        if c + 1 < len(trace.inputs["o__ready"]) and payload is not None and trace.inputs["o__ready"][c + 1]:
            values, last = ep.unpack_beat(payload)
            cur.append(tuple(values))
            if last:
                passes.append(cur)
                cur = []
    return passes


def _run(cfg, tmp_path, name, cycles=1500):
    design = designs.get("engine")
    vfile = tmp_path / f"{name}.v"
    vfile.write_text(design.verilog(cfg))
    trace = sim_engine.trace(cfg, cycles, 11)
    result = cosimulate(vfile, design.toplevel, trace, build_dir=tmp_path / name)
    return trace, result


@pytest.mark.parametrize("strategy,mode,lanes,bits", CASES, ids=[f"{s}-{m}-l{n}-b{b}" for s, m, n, b in CASES])
def test_rtl_matches_golden_every_cycle(tmp_path, strategy, mode, lanes, bits):
    cfg = _cfg(strategy, mode, lanes, bits)
    trace, result = _run(cfg, tmp_path, "dut")
    assert result.cycles == 1500
    passes = _passes(trace, cfg)
    assert len(passes) >= 8, "the schedule must complete several steps"
    # each step is a start followed by 3 replays: replays equal their step's first pass
    steps = [passes[i:i + 4] for i in range(0, len(passes) - 3, 4)]
    for step in steps:
        assert step[1] == step[0] and step[2] == step[0] and step[3] == step[0]
    distinct = {tuple(s[0]) for s in steps}
    assert len(distinct) > 1 or len(steps) < 2
    if strategy == "rademacher":
        assert {v for s in steps for beat in s[0] for v in beat} == {1, -1}


def test_default_engine(tmp_path):
    trace, result = _run(Config(), tmp_path, "default", cycles=3000)
    assert result.cycles == 3000


@pytest.mark.parametrize("strategy,mode", [("none", "fixed"), ("pool-sign", "adaptive"), ("pool-shift", "adaptive"),
                                           ("on-the-fly", "adaptive"), ("pre-generation", "fixed"),
                                           ("rademacher", "fixed")])
def test_verilog_is_deterministic_and_icarus_clean(tmp_path, strategy, mode):
    import subprocess

    design = designs.get("engine")
    cfg = _cfg(strategy, mode, 8, 8, pool=64, refresh=8)
    text = design.verilog(cfg)
    assert text == design.verilog(cfg) and "/work/" not in text and "/tmp/" not in text
    (tmp_path / "e.v").write_text(text)
    r = subprocess.run(["iverilog", "-Wall", "-o", str(tmp_path / "e.vvp"), str(tmp_path / "e.v")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == ""


@pytest.mark.parametrize("lanes", [1, 3])
def test_gaussian_unit_priming_and_replay_in_rtl(tmp_path, fake_gaussian, lanes):
    """The engine's use of a Gaussian unit (priming its pipeline, lanes, dropped surplus
    outputs, replay) with the fake latency-4 source of conftest.py."""
    cfg = Config().replace(**{"engine.source": fake_gaussian, "engine.lanes": lanes, "engine.value_bits": 8,
                              "engine.max_params": 1000, "engine.lfsr.width": 63, "engine.lfsr.k": 63})
    trace, result = _run(cfg, tmp_path, "fake", cycles=1500)
    passes = _passes(trace, cfg)
    steps = [passes[i:i + 4] for i in range(0, len(passes) - 3, 4)]
    assert len(steps) >= 4
    for step in steps:
        assert step[1] == step[0] and step[2] == step[0] and step[3] == step[0]


GAUSSIAN = [(s, lanes, bits) for s in ("gaussian-clt", "gaussian-icdf", "gaussian-boxmuller") for lanes in (1, 8) for bits in (8, 16)]


@pytest.mark.parametrize("source,lanes,bits", GAUSSIAN, ids=[f"{s}-l{n}-b{b}" for s, n, b in GAUSSIAN])
def test_gaussian_source_engine_matches_golden_every_cycle(tmp_path, source, lanes, bits):
    """Each Gaussian source inside the engine: every cycle, random back-pressure, replays equal."""
    cfg = Config().replace(**{"engine.source": source, "engine.lanes": lanes, "engine.value_bits": bits,
                              "engine.max_params": 1000, "engine.lfsr.width": 63, "engine.lfsr.k": 63})
    cfg = cfg.replace(**{"engine.lfsr.lanes": cfg.engine.params.bank_lanes_needed})
    trace, result = _run(cfg, tmp_path, "dut", cycles=1200)
    passes = _passes(trace, cfg)
    steps = [passes[i:i + 4] for i in range(0, len(passes) - 3, 4)]
    assert len(steps) >= 3
    for step in steps:
        assert step[1] == step[0] and step[2] == step[0] and step[3] == step[0]
    assert len({tuple(s[0]) for s in steps}) > 1
