"""What a co-simulation compares: the per-cycle stimulus and the golden model's outputs.

:class:`Recorder` is the one loop that steps a golden model once per cycle and records its ports;
:func:`delayed` is "the value that entered ``n`` enabled cycles ago" of a pipeline whose stages
all advance with one enable (the Gaussian units). Timing convention: :mod:`pezo.sim.runner`.

Trace file format
-----------------
The trace travels to the simulator process as compact JSON (``trace.json`` in the build
directory, path in the environment variable ``PEZO_TRACE``)::

    {"format": "pezo-trace", "version": 1, "cycles": N,
     "inputs":  {"en": [1, 0, ...], ...},
     "outputs": {"count": [1, 1, null, ...], ...},
     "initial": {"count": 0}}

Each list holds one value per cycle. Values are integers holding the port's bit pattern
(negative values are taken as two's complement). A port whose values reach 2**63 is stored as a
list of hex strings without prefix (``"1f3a..."``, ``"-1"``) instead, so values of any width survive and
parse fast. ``null`` in an output list means "don't care" for that cycle.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pezo.fixed import pack_lanes

__all__ = ["Recorder", "Trace", "delayed", "pack_lanes"]

_WIDE = 1 << 63  # ports with values from here on are stored as hex strings


@dataclass
class Trace:
    """Per-cycle stimulus and expected outputs for one co-simulation run.

    Parameters
    ----------
    inputs : dict of str to sequence of int
        Port name -> value driven in each cycle (the port's bit pattern).
    outputs : dict of str to sequence of int or None
        Port name -> expected value after each cycle's rising edge; ``None`` = don't care.
    initial : dict of str to int
        Expected outputs right after reset, before the first counted edge.

    Notes
    -----
    All lists must have the same length, the number of cycles. ``clk`` and ``rst`` are driven
    by the testbench and must not appear in ``inputs``. DUT inputs missing from ``inputs`` are
    not driven at all (X in Icarus), so list every input.
    """

    inputs: Mapping[str, Sequence[int]]
    outputs: Mapping[str, Sequence[int | None]]
    initial: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lengths = {len(v) for v in (*self.inputs.values(), *self.outputs.values())}
        if len(lengths) > 1:
            sizes = {name: len(v) for name, v in (*self.inputs.items(), *self.outputs.items())}
            raise ValueError(f"trace ports have different lengths: {sizes}")
        for reserved in ("clk", "rst"):
            if reserved in self.inputs:
                raise ValueError(f"{reserved!r} is driven by the testbench; remove it from the trace inputs")

    def __len__(self) -> int:
        for values in (*self.inputs.values(), *self.outputs.values()):
            return len(values)
        return 0

    @property
    def cycles(self) -> int:
        """Number of cycles in the trace."""
        return len(self)

    def to_json(self) -> str:
        """Serialize to the trace file format described in :mod:`pezo.sim.runner`.

        Returns
        -------
        str
            Compact JSON text.
        """
        doc = {
            "format": "pezo-trace",
            "version": 1,
            "cycles": len(self),
            "inputs": {name: _encode_port(name, v, allow_none=False) for name, v in self.inputs.items()},
            "outputs": {name: _encode_port(name, v, allow_none=True) for name, v in self.outputs.items()},
            "initial": {name: _encode_port(name, [v], allow_none=False)[0] for name, v in self.initial.items()},
        }
        return json.dumps(doc, separators=(",", ":"))

    def write(self, path: Path) -> None:
        """Write the trace file to *path*.

        Parameters
        ----------
        path : Path
            Destination file.
        """
        Path(path).write_text(self.to_json())


def _encode_port(name: str, values: Sequence[int | None], allow_none: bool) -> list[int | str | None]:
    # operator.index accepts int, bool, numpy and 0-d torch integers and rejects floats.
    try:
        ints = [None if v is None and allow_none else operator.index(v) for v in values]
    except TypeError as exc:
        raise ValueError(f"trace port {name!r}: values must be integers ({exc})") from None
    present = [v for v in ints if v is not None]
    if present and max(max(present), -min(present)) >= _WIDE:
        return [None if v is None else format(v, "x") for v in ints]
    return ints


class Recorder:
    """Steps a golden model once per cycle and records the trace of the RTL's ports.

    Parameters
    ----------
    step : callable
        The model's ``step(inputs) -> outputs`` (one rising edge; model port names).
    ports : mapping of str to str
        RTL input port -> the model's name for it; every cycle records each one (absent = 0).
    probe : callable
        ``probe(outputs) -> {RTL output port: value or None}``: what the RTL must show after
        the edge (None: don't care this cycle).

    Notes
    -----
    :meth:`cycle` takes the model's inputs of one cycle and returns its outputs, so a stimulus
    can react to the model (a host waiting for ``idle``). :meth:`trace` returns the
    :class:`Trace`; ``initial`` there is the probe of the model's outputs right after reset,
    its don't-cares left out.
    """

    def __init__(self, step: Callable[[dict], dict], ports: Mapping[str, str],
                 probe: Callable[[dict], dict[str, Any]]):
        self._step, self._ports, self._probe = step, dict(ports), probe
        self.inputs: dict[str, list[int]] = {rtl: [] for rtl in self._ports}
        self.outputs: dict[str, list[int | None]] = {}

    def initial(self, outputs: dict) -> dict[str, int]:
        """The reset-state check: the probe of ``outputs`` without its don't-cares."""
        return {k: v for k, v in self._probe(outputs).items() if v is not None}

    def cycle(self, inputs: Mapping[str, int]) -> dict:
        """Drive ``inputs`` (model names) for one cycle; record and return the model's outputs."""
        for rtl, name in self._ports.items():
            self.inputs[rtl].append(int(inputs.get(name, 0)))
        out = self._step(dict(inputs))
        for port, value in self._probe(out).items():
            self.outputs.setdefault(port, []).append(value)
        return out

    def trace(self, initial: Mapping[str, int] | None = None) -> Trace:
        return Trace(inputs=self.inputs, outputs=self.outputs, initial=dict(initial or {}))


def delayed(values: Sequence, en: Sequence[int], n: int) -> list:
    """Per cycle, ``values[c']`` of the cycle ``c'`` whose input entered ``n`` enabled cycles ago,
    this cycle included: what the last register of an ``n``-stage pipeline that advances with
    ``en`` shows after the edge. None until ``n`` enabled cycles have passed."""
    taken: list[int] = []
    out = []
    for c, x in enumerate(en):
        if x:
            taken.append(c)
        out.append(values[taken[-n]] if len(taken) >= n else None)
    return out
