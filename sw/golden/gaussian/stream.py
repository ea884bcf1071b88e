"""A free-running bank through a Gaussian source's units, for statistics (the fast stream)."""

from __future__ import annotations

import torch

from pezo.config import Config
from pezo.lfsr import BankParams
from pezo.sw.golden.gaussian import BeatValues
from pezo.sw.golden.lfsr_stream import LfsrStream


def stream(cfg: Config, beats: int) -> torch.Tensor:
    """Values [beats, L] of a bank advancing every cycle from reset (no engine around it)."""
    e = cfg.engine
    e.check_bank()
    # row c of run() is the state after edge c; en is low in cycle 0, so row c is the word the
    # bank shows during cycle c of a free run
    en = torch.ones(beats, dtype=torch.int64)
    en[0] = 0
    return BeatValues(e.params)(LfsrStream(BankParams.from_config(e.lfsr)).run(beats, {"en": en})["out"])
