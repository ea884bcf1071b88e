"""The commands as a user runs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pezo.cli import main

PEZO = [sys.executable, "-m", "pezo.cli"]


def _pezo(*args, cwd=None):
    return subprocess.run([*PEZO, *args], capture_output=True, text=True, cwd=cwd)


def test_generate_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.v", tmp_path / "b.v"
    for f in (a, b):
        r = _pezo("generate", "lfsr", "-o", str(f))
        assert r.returncode == 0, r.stderr
        assert "wrote" in r.stdout
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert "module pezo_lfsr" in text and str(Path.cwd()) not in text


def test_generate_default_output_under_out(tmp_path):
    assert _pezo("generate", "lfsr", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out/lfsr/pezo_lfsr.v").exists()


def test_generate_with_bad_config_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[engine.lfsr]\nseed = 0\n")
    target = tmp_path / "keep.v"
    target.write_text("previous")
    r = _pezo("generate", "lfsr", "--config", str(bad), "-o", str(target))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert target.read_text() == "previous"


def test_unknown_design_is_a_usage_error():
    r = _pezo("generate", "nosuch")
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.cosim
def test_sim_as_a_user(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[engine.lfsr]\nwidth = 16\nk = 4\nlanes = 3\n")
    r = _pezo("sim", "lfsr", "--config", str(cfg), "--cycles", "500", "--waves", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert "500 cycles match the golden model" in r.stdout
    wave = r.stdout.split("waveform: ")[1].strip()
    assert Path(wave).exists()


def test_sim_rejects_bad_cycles(capsys):
    assert main(["sim", "lfsr", "--cycles", "0"]) == 1
    assert "--cycles must be at least 1" in capsys.readouterr().err


def test_doctor_lists_tools():
    r = _pezo("doctor")
    assert "yosys" in r.stdout and "nextpnr-ice40" in r.stdout and "icarus" in r.stdout and "torch" in r.stdout
    assert r.returncode == 0, r.stdout


def test_doctor_names_the_install_command_for_a_missing_tool(tmp_path):
    # An environment whose PATH and venv hold no Icarus: doctor must say how to install it.
    env = dict(os.environ, PATH=str(tmp_path))
    r = subprocess.run([*PEZO, "doctor"], capture_output=True, text=True, env=env)
    assert "apt-get install -y iverilog" in r.stdout
    assert r.returncode == 1


def test_generate_engine_for_every_strategy_config(tmp_path):
    for name in ("default", "none", "pool", "pool-sign", "pool-index", "pool-shift"):
        out = tmp_path / f"{name}.v"
        r = _pezo("generate", "engine", "--config", f"configs/{name}.toml", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert "module pezo_engine" in out.read_text()


def test_engine_that_the_bank_cannot_feed_is_a_clear_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[engine.lfsr]\nwidth = 16\nk = 8\n[engine.reuse]\nstrategy = "pool-index"\n')
    check = _pezo("config", "check", str(cfg))
    assert check.returncode == 0 and "the engine cannot be built from it" in check.stdout
    r = _pezo("generate", "engine", "--config", str(cfg), "-o", str(tmp_path / "e.v"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "engine.lfsr.lanes = 1: the bank gives 1 x 8 = 8 fresh bits" in r.stderr
    assert not (tmp_path / "e.v").exists()


@pytest.mark.cosim
def test_sim_engine_as_a_user(tmp_path):
    r = _pezo("sim", "engine", "--config", "configs/pool-sign.toml", "--cycles", "800", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert "engine: 800 cycles match the golden model" in r.stdout


@pytest.mark.synth
def test_synth_engine_reports_fresh_bits(tmp_path):
    import json

    r = _pezo("synth", "engine", "--config", "configs/pool-sign.toml", "--target", "ice40-up5k",
              "--seeds", "1", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "s/report.json").read_text())
    assert report["extra"]["strategy"] == "pool-sign"
    assert report["extra"]["fresh_bits_per_beat"] == 8
    assert report["resources"]["BRAM"] == 8          # one pool replica per read port


@pytest.mark.cosim
@pytest.mark.synth
def test_demo_as_a_user(tmp_path):
    r = _pezo("demo", "--cycles", "300", "--seeds", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "300 cycles, 0 mismatches" in r.stdout and "Fmax (median)" in r.stdout
    assert "[1/3] generate" in r.stderr and "[3/3] synthesise" in r.stderr      # progress shown
    assert (tmp_path / "out/demo/ice40-up5k/report.json").exists()
