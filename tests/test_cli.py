"""The commands as a user runs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pezo.app.cli import main

PEZO = [sys.executable, "-m", "pezo.app.cli"]


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
    assert "transformers" in r.stdout            # the hf extra: make test installs it
    assert r.returncode == 0, r.stdout


def test_doctor_names_the_install_command_for_a_missing_tool(tmp_path):
    # An environment whose PATH and venv hold no Icarus: doctor must say how to install it.
    env = dict(os.environ, PATH=str(tmp_path))
    r = subprocess.run([*PEZO, "doctor"], capture_output=True, text=True, env=env)
    assert "apt-get install -y iverilog" in r.stdout
    assert r.returncode == 1


def test_generate_engine_for_every_strategy_config(tmp_path):
    for name in ("default", "rademacher", "uniform-fresh", "pool", "pool-sign", "pool-sign-fixed", "pool-index",
                 "pool-shift", "pre-generation", "on-the-fly"):
        out = tmp_path / f"{name}.v"
        r = _pezo("generate", "engine", "--config", f"configs/{name}.toml", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert "module pezo_engine" in out.read_text()


def test_engine_that_the_bank_cannot_feed_is_a_clear_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[engine]\nsource = "uniform"\n[engine.lfsr]\nwidth = 16\nk = 8\n[engine.reuse]\nstrategy = "pool-index"\n')
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
    import json

    r = _pezo("demo", "--cycles", "300", "--seeds", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "300 cycles, 0 mismatches" in r.stdout
    for label in ("default on ice40-up5k", "gaussian-clt on ice40-up5k", "pool-sign (PeZO) on ice40-up5k",
                  "digits: MeZO", "digits: default engine stream"):
        assert label in r.stdout
    assert "fewer LUT" in r.stdout and "power than gaussian-clt" in r.stdout
    assert "[1/5] generate" in r.stderr and "[4/5] train" in r.stderr      # progress shown
    summary = json.loads((tmp_path / "out/demo/summary.json").read_text())
    rad, clt = summary["hardware"][0], summary["hardware"][1]
    assert rad["DSP"] == 0 and rad["LUT"] < clt["LUT"] and rad["dynamic_uw"] < clt["dynamic_uw"]
    for ext in ("png", "svg", "md"):
        assert (tmp_path / f"out/demo/summary.{ext}").stat().st_size > 0


def test_demo_rejects_bad_counts_before_any_work(tmp_path):
    for flag in ("--cycles", "--seeds"):
        r = _pezo("demo", flag, "0", cwd=tmp_path)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and f"{flag} must be at least 1" in r.stderr
        assert not (tmp_path / "out").exists()


@pytest.mark.synth
def test_report_compare_as_a_user(tmp_path):
    import json

    wide = tmp_path / "wide.toml"
    wide.write_text(Path("configs/lfsr-small.toml").read_text().replace("lanes = 2", "lanes = 3"))
    out, cache = tmp_path / "rep", tmp_path / "cache"
    args = ["report", "compare", "configs/lfsr-small.toml", str(wide), "--design", "lfsr",
            "--target", "ice40-up5k", "--seeds", "1", "--out", str(out), "--cache", str(cache)]
    r = _pezo(*args)
    assert r.returncode == 0, r.stderr
    assert "| lfsr-small |" in r.stdout and "| wide |" in r.stdout and "50.0% more" in r.stdout
    assert "[1/2] lfsr-small" in r.stderr and "power: gate-level simulation" in r.stderr
    for name in ("compare.md", "compare.csv", "compare.json", "compare.png"):
        assert (out / name).stat().st_size > 0
    doc = json.loads((out / "compare.json").read_text())
    assert [row["toggles_per_cycle"] > 0 for row in doc["rows"]] == [True, True]
    # The rerun takes everything from the cache and prints the same table.
    again = _pezo(*args)
    assert again.returncode == 0 and again.stdout.split("report:")[0] == r.stdout.split("report:")[0]
    assert "(cached)" in again.stderr and "power: gate-level" not in again.stderr
    shown = _pezo("report", "show", str(out / "compare.json"))
    assert shown.returncode == 0 and "| wide |" in shown.stdout


def test_report_bad_inputs_are_one_line_errors(tmp_path):
    out = tmp_path / "rep"
    r = _pezo("report", "compare", str(tmp_path / "missing.toml"), "--target", "ice40-up5k",
              "--out", str(out))
    assert r.returncode == 1 and "missing.toml" in r.stderr and len(r.stderr.splitlines()) == 1
    assert not out.exists()
    corrupt = tmp_path / "compare.json"
    corrupt.write_text('{"format": "pezo-compare", "rows": [')
    for path, why in [(corrupt, "not valid JSON (corrupt or truncated)"),
                      (tmp_path / "none.json", "no such file")]:
        r = _pezo("report", "show", str(path))
        assert r.returncode == 1 and r.stderr == f"pezo: error: report {path}: {why}\n"
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text('{"format": "pezo-compare", "rows": []}')
    r = _pezo("report", "show", str(incomplete))
    assert r.returncode == 1 and "compare report with a missing or malformed field (design is missing)" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    # a synthesis report whose Fmax is a string, a comparison row without LUT, and a document
    # that is no pezo report: one line each, exit 1, never a crash or a silent "n/a"
    bad_synth = tmp_path / "synth.json"
    bad_synth.write_text('{"design": "engine", "target": "ecp5-25k", "fmax_mhz": "fast", '
                         '"resources": {"LUT": 1, "FF": 2, "BRAM": 0, "DSP": 0}}')
    no_lut = tmp_path / "nolut.json"
    no_lut.write_text('{"format": "pezo-compare", "design": "engine", "target": "t", "baseline": "a", "seeds": [1], '
                      '"tools": {}, "ref_mhz": 25, "rows": [{"name": "a", "FF": 1, "BRAM": 0, "DSP": 0, '
                      '"fmax_mhz": 1.0, "dynamic_uw": 1.0}]}')
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    for path, why in [(bad_synth, "fmax_mhz = 'fast' is not a number"), (no_lut, "rows[0].LUT is missing"),
                      (other, "not a pezo report; pezo report show reads compare.json")]:
        r = _pezo("report", "show", str(path))
        assert r.returncode == 1 and why in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


@pytest.mark.synth
def test_report_of_a_design_that_does_not_fit(tmp_path, monkeypatch, capsys):
    from pezo import tools

    fake = tmp_path / "fake-nextpnr"
    fake.write_text("#!/bin/sh\nprintf 'Info: Device utilisation:\\nInfo: \\t   ICESTORM_LC:  9090/"
                    "  5280   172%%\\n'; exit 1\n")
    fake.chmod(0o755)
    real = tools.find
    monkeypatch.setattr(tools, "find", lambda name: real(name) if name == "yosys" else str(fake))
    out = tmp_path / "rep"
    code = main(["report", "compare", "configs/lfsr-small.toml", "--design", "lfsr", "--target",
                 "ice40-up5k", "--seeds", "1", "--out", str(out), "--no-cache"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1 and not out.exists()
    assert err[-1].startswith("pezo: error: configs/lfsr-small.toml: nextpnr seed 1: design does "
                              "not fit iCE40UP5K-sg48 (ICESTORM_LC 9090/5280")
