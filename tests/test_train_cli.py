"""`pezo train` as a user runs it."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pezo.app.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PEZO = [sys.executable, "-m", "pezo.app.cli"]


def _pezo(*args, cwd=None):
    return subprocess.run([*PEZO, *args], capture_output=True, text=True, cwd=cwd)


def test_train_writes_csv_json_png(tmp_path):
    r = _pezo("train", "--task", "diabetes", "--optimizer", "pezo", "--config", str(CONFIGS / "pool-sign.toml"),
              "--steps", "30", "--seeds", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out/train/diabetes/pezo-pool-sign"
    assert "test r2" in r.stdout and "over 2 seed(s)" in r.stdout and str(out.relative_to(tmp_path)) in r.stdout
    # stderr is not a terminal here: no bar drawn into the log, one line per seed instead
    assert "\r" not in r.stderr and "diabetes/pezo-pool-sign seed 2/2: 30 steps, 60 forwards" in r.stderr
    for seed in (0, 1):
        rows = list(csv.DictReader((out / f"seed{seed}.csv").open()))
        assert list(rows[0]) == ["step", "forwards", "train_loss", "test_metric"]
        assert rows[0]["step"] == "0" and rows[-1]["step"] == "30" and rows[-1]["forwards"] == "60"
    summary = json.loads((out / "run.json").read_text())
    assert summary["optimizer"] == "pezo" and len(summary["runs"]) == 2 and summary["steps"] == 30
    finals = [run["final"] for run in summary["runs"]]
    assert abs(summary["final_mean"] - sum(finals) / 2) < 1e-9
    assert finals[0] != finals[1]                       # seeds differ (initialisation and stream)
    assert [run["lfsr_seed"] for run in summary["runs"]] == [1, 2] and "run seed + 1" in summary["stream_seed"]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_default_budget_and_first_order(tmp_path, capsys):
    assert main(["train", "--task", "digits-shift", "--optimizer", "fo-sgd", "--budget", "20",
                 "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "digits-shift/fo-sgd/run.json").read_text())
    assert summary["runs"][0]["forwards"] == 20 and summary["runs"][0]["steps"] == 20


def test_train_fine_tunes_the_vision_transformer_with_dizo_on_the_hardware_stream(tmp_path):
    assert main(["train", "--task", "vit-shift", "--optimizer", "dizo", "--config", str(CONFIGS / "rademacher.toml"),
                 "--steps", "50", "--lr", "3e-3", "--weight-decay", "1e-4", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "vit-shift/dizo-rademacher/run.json").read_text())
    r = summary["runs"][0]
    assert r["steps"] == 50 and r["forwards"] == 100 + 20 and r["d"] == 2698 and r["lfsr_seed"] == 1
    assert summary["overrides"] == {"lr": 3e-3, "weight_decay": 1e-4, "torch_device": "cpu"}
    assert r["rows"][-1]["train_loss"] < 0.8 * r["rows"][0]["train_loss"]    # the shifted digits' loss falls


def test_train_user_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args, msg in [
        (["--optimizer", "mezo", "--config", str(CONFIGS / "pool.toml")], "use --optimizer pezo"),
        (["--optimizer", "pezo", "--config", str(tmp_path / "missing.toml")], "cannot read configuration"),
        (["--optimizer", "mezo", "--seeds", "0"], "--seeds must be at least 1"),
        (["--optimizer", "mezo", "--steps", "0"], "must be at least 1"),
        (["--optimizer", "dizo"], "task diabetes trains from scratch"),
        (["--optimizer", "mezo", "--eps", "0"], "--eps must be a positive number"),
        (["--optimizer", "mezo", "--weight-decay", "-0.1"], "--weight-decay must be >= 0"),
        (["--optimizer", "mezo", "--device", "cuda:7"] if not __import__("torch").cuda.is_available()
         else ["--optimizer", "mezo", "--lr", "nan"], "no GPU" if not __import__("torch").cuda.is_available()
         else "--lr must be"),
    ]:
        assert main(["train", "--task", "diabetes", *args]) == 1
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as e:
        main(["train", "--task", "mnist", "--optimizer", "mezo"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.toml")))
def test_every_shipped_configuration_trains_or_is_refused_in_one_line(tmp_path, capsys, name):
    # `pezo config check` accepts every file in configs/; `pezo train` never ends in a traceback
    assert main(["config", "check", str(CONFIGS / name)]) == 0
    code = main(["train", "--task", "diabetes", "--optimizer", "pezo", "--config", str(CONFIGS / name),
                 "--steps", "2", "--out", str(tmp_path)])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("pezo: ")]
    assert code == 0 or (code == 1 and len(err) == 1), err
    if code == 0:
        assert (tmp_path / "diabetes" / f"pezo-{Path(name).stem}" / "run.json").is_file()
