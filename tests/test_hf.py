"""`pezo train --hf-model PATH --data FILE.csv` on a tiny checkpoint built here (random weights,
no download) and a CSV written here; its bad inputs; the engine stream on a GPU where one exists."""

import json
import random
from pathlib import Path

import pytest
import torch

from pezo.app.cli import main
from pezo.config import load
from pezo.sw.zo.hf import hf_task
from pezo.sw.zo.optim import DiZO, MeZO
from pezo.sw.zo.source import EngineSource

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
WORDS = "good bad great awful fine poor nice terrible movie film plot was very the a".split()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A one-layer BERT of hidden size 16 with a word-level vocabulary, saved like a hub model."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    out = tmp_path_factory.mktemp("hf") / "tiny-bert"
    out.mkdir()
    (out / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(out / "vocab.txt")).save_pretrained(out)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    BertForSequenceClassification(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def data(checkpoint) -> Path:
    rnd = random.Random(0)
    rows = ["text,label"]
    for i in range(40):
        pos = i % 2 == 0
        w = rnd.choice(["good", "great", "fine", "nice"] if pos else ["bad", "awful", "poor", "terrible"])
        rows.append(f"the {rnd.choice(['movie', 'film', 'plot'])} was very {w},{'pos' if pos else 'neg'}")
    path = checkpoint.parent / "reviews.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_hf_model_trains_with_the_engine_stream(tmp_path, checkpoint, data, capsys):
    before = hf_task(checkpoint, data).model(0).state_dict()
    assert main(["train", "--hf-model", str(checkpoint), "--data", str(data), "--optimizer", "pezo",
                 "--lr", "1e-3", "--steps", "5", "--out", str(tmp_path)]) == 0
    assert "hf-tiny-bert/pezo: test accuracy" in capsys.readouterr().out
    summary = json.loads((tmp_path / "hf-tiny-bert/pezo/run.json").read_text())
    r = summary["runs"][0]
    assert r["steps"] == 5 and r["forwards"] == 10 and r["d"] == sum(v.numel() for v in before.values())
    assert r["lfsr_seed"] == 1 and summary["hparams"]["classes"] == ["neg", "pos"]
    assert summary["overrides"]["lr"] == 1e-3


@pytest.mark.parametrize("optimizer", ["mezo", "dizo", "pseuzo", "pseuzo-ema", "fo-adam"])
def test_hf_model_with_every_optimizer(tmp_path, checkpoint, data, optimizer):
    assert main(["train", "--hf-model", str(checkpoint), "--data", str(data), "--optimizer", optimizer,
                 "--lr", "1e-3", "--budget", "8", "--weight-decay", "0.01", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / f"hf-tiny-bert/{optimizer}/run.json").read_text())
    assert summary["runs"][0]["forwards"] >= 8
    assert summary.get("pseuzo_split") == ("model output" if optimizer.startswith("pseuzo") else None)


def test_hf_model_parameters_move_and_dizo_projects_key_and_value(checkpoint, data):
    task = hf_task(checkpoint, data)
    model = task.model(0)
    xtr, ytr, _, _ = task.splits()
    opt = DiZO(model, task.loss_fn, lr=1e-3, interval=2, inner=1)
    assert opt.targets == ["hf.bert.encoder.layer.0.attention.self.key.weight",
                           "hf.bert.encoder.layer.0.attention.self.value.weight"]
    start = [p.detach().clone() for p in opt.params]
    for _ in range(2):
        opt.step(xtr, ytr)
    assert all(not torch.equal(a, p) for a, p in zip(start, opt.params))
    assert opt.last_scales is not None and len(opt.last_scales) == 2


def test_hf_bad_inputs_are_one_line_before_training(tmp_path, checkpoint, data, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes(b"\xff\xfe\x00binary\x00")
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\na,x\nb,x\n")
    base = ["train", "--optimizer", "mezo"]
    cases = [
        (["--hf-model", str(tmp_path / "nowhere"), "--data", str(data)], "not a Hugging Face checkpoint"),
        (["--hf-model", str(broken), "--data", str(data)], "cannot load it"),
        (["--hf-model", str(checkpoint), "--data", str(tmp_path / "none.csv")], "no such file"),
        (["--hf-model", str(checkpoint), "--data", str(garbled)], "--data"),
        (["--hf-model", str(checkpoint), "--data", str(data), "--label-column", "sentiment"],
         "no label column 'sentiment'"),
        (["--hf-model", str(checkpoint), "--data", str(data), "--text-column", "review"], "no text column"),
        (["--hf-model", str(checkpoint), "--data", str(one_class)], "fewer than 2 classes"),
        (["--hf-model", str(checkpoint)], "needs --data"),
        (["--task", "digits", "--hf-model", str(checkpoint), "--data", str(data)], "choose a built-in --task or"),
        (["--task", "digits", "--data", str(data)], "go with --hf-model"),
        (["--hf-model", str(checkpoint), "--data", str(data), "--lr", "-1"], "--lr must be a positive"),
        (["--hf-model", str(checkpoint), "--data", str(data), "--device", "/dev/ttyX"], "use --optimizer pezo"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--hf-model", str(checkpoint), "--data", str(data), "--device", "cuda"], "no GPU"))
    for args, msg in cases:
        assert main([*base, *args]) == 1, args
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (tmp_path / "out" / "train").exists() or not any((tmp_path / "out" / "train").iterdir())


def test_a_model_larger_than_the_board_is_refused_before_the_board_opens(tmp_path, checkpoint, data, capsys,
                                                                        monkeypatch):
    from pezo.app import board

    monkeypatch.setattr(board, "open_device", lambda *a, **k: pytest.fail("the board was opened"))
    assert main(["train", "--hf-model", str(checkpoint), "--data", str(data), "--optimizer", "pezo",
                 "--config", str(CONFIGS / "update-small.toml"), "--device", "sim", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "parameters; the device holds 64 (update.depth)" in err and len(err.strip().splitlines()) == 1


def _stream_on(device: str, d: int) -> torch.Tensor:
    """The engine's first perturbation as PeZO adds it to parameters that live on ``device``."""
    model = torch.nn.Linear(d - 1, 1, bias=True).to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    opt = MeZO(model, lambda o, y: o.sum(), lr=0.0, source=EngineSource(load(CONFIGS / "gaussian-clt.toml"), d))
    opt._perturb(opt.source.next(), 1.0)
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).cpu()


def test_engine_stream_on_the_cpu_torch_device_is_the_source_itself():
    src = EngineSource(load(CONFIGS / "gaussian-clt.toml"), 300)
    assert torch.equal(_stream_on("cpu", 300), src.z(src.next()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (runs where one exists)")
def test_engine_stream_on_the_gpu_is_bit_identical_to_the_cpu():
    assert torch.equal(_stream_on("cuda", 300), _stream_on("cpu", 300))


def test_hf_unwritable_output_is_one_line_before_the_model_loads(checkpoint, data, capsys, monkeypatch):
    import pezo.sw.zo.hf as hf

    monkeypatch.setattr(hf, "hf_task", lambda *a, **k: pytest.fail("the checkpoint was loaded"))
    assert main(["train", "--hf-model", str(checkpoint), "--data", str(data), "--optimizer", "mezo",
                 "--out", "/proc/pezo-out"]) == 1
    err = capsys.readouterr().err
    assert "cannot" in err and len(err.strip().splitlines()) == 1


def test_hf_interrupt_keeps_the_earlier_run(tmp_path, checkpoint, data):
    import os
    import signal
    import subprocess
    import sys
    import time

    argv = [sys.executable, "-m", "pezo.app.cli", "train", "--hf-model", str(checkpoint), "--data", str(data),
            "--optimizer", "mezo", "--out", str(tmp_path)]
    assert subprocess.run([*argv, "--steps", "2"], capture_output=True).returncode == 0
    run_dir = tmp_path / "hf-tiny-bert" / "mezo"
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    p = subprocess.Popen([*argv, "--steps", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    time.sleep(8)                                            # past loading: training under way
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "pezo: interrupted" and "Traceback" not in err
    assert {q.name: q.read_bytes() for q in run_dir.iterdir()} == before
    assert not [q for q in (tmp_path / "hf-tiny-bert").iterdir() if q.name.endswith(".new")]
