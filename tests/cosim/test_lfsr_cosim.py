"""LFSR bank RTL against its golden model, every cycle, across the parameter space."""

import subprocess

import pytest
import torch

from pezo.app import designs
from pezo.config import Config
from pezo.sim import lfsr as sim_lfsr
from pezo.sim.runner import CosimMismatch, cosimulate
from pezo.lfsr import BankParams
from pezo.sw.golden.lfsr import LfsrBank

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}

pytestmark = pytest.mark.cosim

CASES = [(s, w, k, lanes) for s in ("galois", "fibonacci") for w in (3, 16, 32, 64)
         for k in (1, 8) for lanes in (1, 4) if k <= w]


def _cfg(structure, width, k, lanes, replay=True) -> Config:
    return Config().replace(**{**W63, "engine.lfsr.width": width, "engine.lfsr.k": k, "engine.lfsr.lanes": lanes,
                               "engine.lfsr.structure": structure, "engine.lfsr.replay": replay,
                               "engine.lfsr.seed": 0x5 if width == 3 else 0xACE1})


def _run(cfg: Config, tmp_path, name: str, cycles: int = 1500, trace=None, waves=False):
    design = designs.get("lfsr")
    vfile = tmp_path / f"{name}.v"
    vfile.write_text(design.verilog(cfg))
    trace = trace or design.trace(cfg, cycles, 7)
    return cosimulate(vfile, design.toplevel, trace, build_dir=tmp_path / name, waves=waves)


@pytest.mark.parametrize("structure,width,k,lanes", CASES, ids=[f"{s[:3]}-w{w}-k{k}-l{n}" for s, w, k, n in CASES])
def test_rtl_matches_golden_every_cycle(tmp_path, structure, width, k, lanes):
    result = _run(_cfg(structure, width, k, lanes), tmp_path, "dut")
    assert result.cycles == 1500


def test_without_replay(tmp_path):
    result = _run(_cfg("galois", 32, 32, 2, replay=False), tmp_path, "noreplay")
    assert result.cycles == 1500


class _WrongGolden(LfsrBank):
    """A golden model with a bug: lane 0 bit 0 flipped after the 50th step."""

    steps = 0

    def step(self, inputs=None):
        out = super().step(inputs)
        self.steps += 1
        if self.steps == 51:
            out = dict(out, out=out["out"] ^ torch.tensor([1] + [0] * (len(out["out"]) - 1)))
        return out


def test_checker_catches_a_wrong_golden_model(tmp_path):
    cfg = _cfg("galois", 16, 8, 2)
    trace = sim_lfsr.trace(cfg, 200, 7, golden=_WrongGolden(BankParams.from_config(cfg)))
    with pytest.raises(CosimMismatch) as exc:
        _run(cfg, tmp_path, "wrong", trace=trace, waves=True)
    e = exc.value
    assert e.cycle == 50 and e.signal == "out"
    assert e.expected ^ e.got == 1
    assert "cycle 50" in str(e) and "signal out" in str(e)
    assert "waveform" in str(e)


def test_verilog_is_deterministic_and_icarus_clean(tmp_path):
    design = designs.get("lfsr")
    cfg = _cfg("fibonacci", 64, 8, 4)
    a, b = design.verilog(cfg), design.verilog(cfg)
    assert a == b
    assert "/work/" not in a and "/tmp/" not in a and "/home/" not in a
    (tmp_path / "x.v").write_text(a)
    r = subprocess.run(["iverilog", "-Wall", "-o", str(tmp_path / "x.vvp"), str(tmp_path / "x.v")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == ""
