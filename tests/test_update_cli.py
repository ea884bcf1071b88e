"""`pezo generate|sim|synth update` as a user runs them."""

import json
import subprocess
import sys

import pytest

PEZO = [sys.executable, "-m", "pezo.cli"]


def _pezo(*args, cwd=None):
    return subprocess.run([*PEZO, *args], capture_output=True, text=True, cwd=cwd)


def test_generate_update_default(tmp_path):
    out = tmp_path / "u.v"
    r = _pezo("generate", "update", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "module pezo_update" in text and "module \\pezo_update.engine" in text
    assert "top module pezo_update" in r.stdout


def test_update_depth_that_does_not_suit_the_engine_is_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[update]\ndepth = 100\n")
    check = _pezo("config", "check", str(cfg))
    assert check.returncode == 0 and "the update datapath cannot be built from it" in check.stdout
    r = _pezo("generate", "update", "--config", str(cfg), "-o", str(tmp_path / "u.v"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "update.depth = 100: must be a multiple of engine.lanes = 8" in r.stderr
    assert not (tmp_path / "u.v").exists()


@pytest.mark.cosim
def test_sim_update_as_a_user(tmp_path):
    r = _pezo("sim", "update", "--config", "configs/update-small.toml", "--cycles", "1500",
              "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert "update: 1500 cycles match the golden model" in r.stdout


@pytest.mark.synth
def test_synth_update_small(tmp_path):
    r = _pezo("synth", "update", "--config", "configs/update-small.toml", "--target", "ice40-up5k",
              "--seeds", "1", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "s/report.json").read_text())
    res = report["resources"]
    assert report["extra"]["depth"] == 64 and report["extra"]["dsp_lanes"] == 2
    assert res["DSP"] == 2                      # fixed scale: only the two DSP lanes
    assert res["BRAM"] >= 4 + 1                 # pool replicas (one per lane) + the parameter memory
    assert report["fmax_mhz"] > 0
