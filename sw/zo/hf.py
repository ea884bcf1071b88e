"""Fine-tuning a local Hugging Face checkpoint for sequence classification (``pezo train --hf-model``).

The checkpoint is a folder that ``transformers`` loads offline (``config.json`` and weights, a
tokenizer beside them); the data a CSV file with a text column and a label column. Everything is
checked and tokenised before any training starts, and every problem is one
:class:`~pezo.errors.PezoError` line. The result is an ordinary :class:`~pezo.sw.zo.tasks.Task`:
every optimizer and perturbation source of ``pezo train`` applies to it unchanged.

Needs the optional extra: ``pip install -e '.[hf]'``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from torch import nn

from pezo.errors import PezoError
from pezo.sw.zo.tasks import SPLIT_SEED, Task

__all__ = ["HFClassifier", "hf_task", "read_csv"]

MAX_TOKENS = 128
TEXT_COLUMNS = ("text", "sentence", "sentence1")


def _transformers():
    try:
        import transformers
    except ImportError:
        raise PezoError("--hf-model needs the transformers package: pip install -e '.[hf]'") from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()      # pezo's own progress bar is the run's
    return transformers


class HFClassifier(nn.Module):
    """A ``transformers`` sequence classifier behind pezo's ``model(x) -> logits`` interface.

    ``x`` is one integer tensor ``[n, 2, L]`` (token ids, attention mask), so that a task's
    splits index it like any other input.
    """

    def __init__(self, hf: nn.Module):
        super().__init__()
        self.hf = hf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=x[:, 0], attention_mask=x[:, 1]).logits


def read_csv(path: Path, label_column: str, text_column: str | None) -> tuple[list[str], list[str], str]:
    """Texts and labels of a CSV file; ``text_column`` defaults to the first of
    :data:`TEXT_COLUMNS` present, else the only column besides the label."""
    path = Path(path)
    if not path.is_file():
        raise PezoError(f"--data {path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise PezoError(f"--data {path}: not a readable CSV file ({e})") from None
    if not rows:
        raise PezoError(f"--data {path}: no rows (a header line and one row per example expected)")
    cols = [c for c in rows[0] if c is not None]
    if label_column not in cols:
        raise PezoError(f"--data {path}: no label column {label_column!r} (columns: {', '.join(cols)}); "
                        f"choose one with --label-column")
    if text_column is None:
        rest = [c for c in cols if c != label_column]
        text_column = next((c for c in TEXT_COLUMNS if c in cols), rest[0] if len(rest) == 1 else None)
        if text_column is None:
            raise PezoError(f"--data {path}: which column is the text? (columns: {', '.join(cols)}); "
                            f"choose one with --text-column")
    elif text_column not in cols:
        raise PezoError(f"--data {path}: no text column {text_column!r} (columns: {', '.join(cols)})")
    texts, labels = [], []
    for i, r in enumerate(rows, 2):
        if r.get(text_column) is None or r.get(label_column) in (None, ""):
            raise PezoError(f"--data {path}: line {i} has no {text_column!r} or {label_column!r} value")
        texts.append(r[text_column])
        labels.append(r[label_column])
    if len(set(labels)) < 2:
        raise PezoError(f"--data {path}: the label column {label_column!r} has fewer than 2 classes")
    return texts, labels, text_column


def hf_task(model_path: str | Path, data_path: str | Path, label_column: str = "label",
            text_column: str | None = None, budget: int = 1000, lr: float = 1e-5, eps: float = 1e-3) -> Task:
    """The fine-tuning task of a local checkpoint on a CSV file (checked and tokenised now).

    The CSV is split 75/25 (stratified, ``random_state=0``) like the built-in tasks; training is
    full-batch over the training part (PseuZO pairs outputs sample by sample across steps), so
    the file is meant to be a few-shot set (MeZO's k-shot runs use 16 to 512 examples per class).
    The classification head gets one output per label found in the file (labels sorted).
    """
    tf = _transformers()
    model_path = Path(model_path)
    if not (model_path / "config.json").is_file():
        raise PezoError(f"--hf-model {model_path}: not a Hugging Face checkpoint folder (no config.json)")
    texts, labels, _ = read_csv(Path(data_path), label_column, text_column)
    classes = sorted(set(labels))
    try:
        config = tf.AutoConfig.from_pretrained(model_path, num_labels=len(classes), local_files_only=True)
        tokenizer = tf.AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        tf.AutoModelForSequenceClassification.from_pretrained(model_path, config=config, local_files_only=True)
    except Exception as e:  # transformers raises OSError, ValueError, KeyError, json errors...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PezoError(f"--hf-model {model_path}: cannot load it for sequence classification ({first})") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    config.pad_token_id = tokenizer.pad_token_id
    enc = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    x = torch.stack([enc["input_ids"], enc["attention_mask"]], 1)
    y = torch.tensor([classes.index(v) for v in labels])

    from sklearn.model_selection import train_test_split

    counts = torch.bincount(y)
    strat = y.numpy() if int(counts.min()) >= 2 and len(y) * 0.25 >= len(classes) else None
    try:
        a, b = train_test_split(torch.arange(len(y)).numpy(), test_size=0.25, random_state=SPLIT_SEED, stratify=strat)
    except ValueError as e:
        raise PezoError(f"--data {data_path}: too few rows to split into training and test ({e})") from None
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    data = (x[a], y[a], x[b], y[b])

    def model(seed: int) -> nn.Module:
        torch.manual_seed(seed)          # the new classification head's initialisation
        hf = tf.AutoModelForSequenceClassification.from_pretrained(model_path, config=config, local_files_only=True)
        return HFClassifier(hf).eval()   # no dropout: ZO compares two forward passes

    return Task(f"hf-{model_path.resolve().name}", "accuracy", nn.functional.cross_entropy, lambda: data, model,
                {"budget": budget, "fo-sgd": {"lr": lr}, "fo-adam": {"lr": lr}, "zo": {"lr": lr, "eps": eps},
                 "classes": classes}, pretrained=True)
