"""Golden model of the LFSR bank (:class:`pezo.hw.lfsr.LfsrBank`): the reference, one clock edge
at a time, bit-exact and cycle-accurate.

Read it against ``pezo/lfsr.py`` (the conventions) and ``hw/lfsr.py``: every lane's register
holds its state, reset to its seed; an enabled edge multiplies it by ``T**k`` (each next-state
bit is the parity of the state bits in one row of ``T**k``); ``out`` shows the top ``k`` bits;
with replay, ``snapshot`` copies the state into a shadow register and ``restore`` loads it back
(before ``en``). The fast stream that training and the statistics use, equal to this model cycle
for cycle (tested), is :mod:`pezo.sw.golden.lfsr_stream`; this module never imports it.

States are int64 tensors holding the raw ``width``-bit pattern (a width-64 state with its top
bit set is negative; only the bit pattern matters).
"""

from __future__ import annotations

import torch

from pezo import gf2
from pezo.lfsr import BankParams

__all__ = ["LfsrBank", "signed64"]


def signed64(v: int) -> int:
    """A 64-bit pattern as the int64 that holds it."""
    return v - (1 << 64) if v >> 63 else v


class LfsrBank:
    """Golden LFSR bank, the reference.

    Parameters
    ----------
    params : BankParams
        The parameters the hardware is built from (``BankParams.from_config(cfg)``).

    Notes
    -----
    Inputs of :meth:`step`: ``en``, and with replay ``snapshot`` and ``restore`` (absent = 0).
    Outputs: ``out`` [lanes] (``k`` bits per lane, raw pattern: the top ``k`` bits of the state)
    and ``state`` [lanes].
    """

    def __init__(self, params: BankParams):
        self.bank = params
        self.params = params.lfsr
        self.replay = params.replay
        self.seeds = torch.tensor([signed64(s) for s in params.seeds], dtype=torch.int64)
        self._shift = self.params.width - self.params.k
        self._kmask = signed64((1 << self.params.k) - 1)
        self.reset()

    def reset(self) -> None:
        """Every lane at its seed, the shadow too."""
        self.state = self.seeds.clone()
        self.shadow = self.seeds.clone()

    def _out(self, state: torch.Tensor) -> torch.Tensor:
        return (state >> self._shift) & self._kmask

    def outputs(self) -> dict[str, torch.Tensor]:
        """What the ports show now."""
        return {"out": self._out(self.state), "state": self.state.clone()}

    def _leap(self, state: torch.Tensor) -> torch.Tensor:
        """Every lane's next state, ``T**k`` times its state."""
        mask = self.params.mask
        return torch.tensor([signed64(gf2.mat_vec(self.params.leap_rows, s & mask)) for s in state.tolist()],
                            dtype=torch.int64)

    def step(self, inputs: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
        """One rising edge; returns the outputs visible after it."""
        inputs = inputs or {}
        snap = self.replay and int(inputs.get("snapshot", 0))
        rest = self.replay and int(inputs.get("restore", 0))
        shadow = self.state.clone() if snap else self.shadow
        if rest:
            self.state = self.shadow.clone()
        elif int(inputs.get("en", 0)):
            self.state = self._leap(self.state)
        self.shadow = shadow
        return self.outputs()
