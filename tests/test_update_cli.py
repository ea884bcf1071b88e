"""`pezo generate|sim|synth update` as a user runs them."""

import json
import subprocess
import sys

import pytest

PEZO = [sys.executable, "-m", "pezo.app.cli"]


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


@pytest.mark.synth
def test_report_compare_update_as_a_user(tmp_path):
    """Power of the update system: the gate-level netlist runs the standard stimulus (load the
    parameters, one whole ZO step) and matches the golden model every cycle."""
    from pezo import config
    from pezo.sim.update import standard_stimulus

    out = tmp_path / "rep"
    r = _pezo("report", "compare", "configs/update-small.toml", "--design", "update", "--target",
              "ice40-up5k", "--seeds", "1", "--out", str(out), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    cycles = standard_stimulus(config.load("configs/update-small.toml")).cycles
    assert f"power: gate-level simulation of pezo_update on ice40-up5k ({cycles} cycles)" in r.stderr
    assert "| update-small | uniform | pool-index | fixed | 4x8 |" in r.stdout
    doc = json.loads((out / "compare.json").read_text())
    (row,) = doc["rows"]
    assert row["design"] == "update" and row["toggles_per_cycle"] > 0 and row["dynamic_uw"] > 0
    assert row["power"]["activity"]["cycles"] == cycles


def test_spram_that_does_not_fit_or_has_no_target_is_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[update]\nmemory = "spram"\n')            # 8 lanes x 16 bits: 8 SPRAMs
    r = _pezo("generate", "update", "--config", str(cfg), "-o", str(tmp_path / "u.v"))
    assert r.returncode == 1 and not (tmp_path / "u.v").exists()
    assert r.stderr.strip().splitlines() == [
        'pezo: error: update.memory = "spram": needs 8 SB_SPRAM256KA (128-bit words of engine.lanes '
        '= 8 parameters, 16 bits and 16384 words per SPRAM) and the iCE40 UP5K has 4; use fewer '
        'lanes or a smaller depth, or "bram"']
    r = _pezo("synth", "update", "--config", "configs/update-spram.toml", "--target", "ecp5-25k",
              "--seeds", "1", "--out", str(tmp_path / "s"))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "asks for SPRAM" in r.stderr and "LFE5U-25F has none" in r.stderr
    assert not (tmp_path / "s/report.json").exists()
