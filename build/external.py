"""A user's own Verilog core through pezo's flow and reports (``pezo synth --verilog``,
``report compare --verilog``, an exploration's baselines).

:func:`load` asks yosys for the top module's ports and returns an :class:`ExternalDesign`, which
the flow, :func:`pezo.build.evaluate.evaluate` and the comparison reports take like one of pezo's
designs: its component is an Amaranth wrapper that instantiates the top module (its clock and
reset ports on the ``sync`` domain's), so the same scan harness places it and the same report
describes it. Resources and Fmax always; estimated power only with a stimulus (a trace file in
the co-simulation format, :mod:`pezo.sim.trace`, whose inputs drive the module's ports and whose
outputs, if given, are checked), otherwise the report says there is none.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.errors import PezoError

from . import run
from .cache import digest

__all__ = ["ExternalDesign", "Stimulus", "load", "read_stimulus"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Names a wrapper's port may not have (attributes of an Amaranth component).
_RESERVED = {"signature", "elaborate", "metadata"}


@dataclass(frozen=True)
class Stimulus:
    """Per-cycle port values for the power estimate (the shape of a co-simulation trace)."""

    inputs: dict[str, list[int]]
    outputs: dict[str, list[int | None]]

    @property
    def cycles(self) -> int:
        return max((len(v) for v in (*self.inputs.values(), *self.outputs.values())), default=0)

    def to_json(self) -> str:
        return json.dumps({"inputs": self.inputs, "outputs": self.outputs}, sort_keys=True)


def _decode(name: str, values: list, allow_none: bool) -> list:
    out = []
    for v in values:
        if v is None and allow_none:
            out.append(None)
        elif isinstance(v, bool) or not isinstance(v, (int, str)):
            raise PezoError(f"stimulus port {name!r}: values must be integers or hex strings, got {v!r}")
        else:
            try:
                out.append(int(v, 16) if isinstance(v, str) else v)
            except ValueError:
                raise PezoError(f"stimulus port {name!r}: {v!r} is not a hex number") from None
    return out


def read_stimulus(path: Path) -> Stimulus:
    """A trace file (``{"inputs": {...}, "outputs": {...}}``, values as ints or hex strings)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise PezoError(f"cannot read stimulus {path}: {reason}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), dict):
        raise PezoError(f"stimulus {path}: needs an \"inputs\" object of port -> values per cycle")
    outputs = doc.get("outputs") or {}
    if not isinstance(outputs, dict):
        raise PezoError(f"stimulus {path}: \"outputs\" must be an object of port -> values per cycle")
    stim = Stimulus({k: _decode(k, v, False) for k, v in doc["inputs"].items()},
                    {k: _decode(k, v, True) for k, v in outputs.items()})
    lengths = {len(v) for v in (*stim.inputs.values(), *stim.outputs.values())}
    if len(lengths) != 1 or 0 in lengths:
        raise PezoError(f"stimulus {path}: every port needs the same, non-zero number of cycles "
                        f"(got {sorted(lengths)})")
    return stim


class ExternalCore(wiring.Component):
    """An Amaranth wrapper around the external module ``top``: one port per module port, the
    clock and reset tied to the ``sync`` domain."""

    def __init__(self, top: str, ports: tuple[tuple[str, str, int], ...], clock: str, reset: str):
        self._top, self._ports, self._clock, self._reset = top, ports, clock, reset
        super().__init__({name: (In if d == "input" else Out)(width) for name, d, width in ports
                          if name not in (clock, reset)})

    def elaborate(self, platform):
        m = Module()
        conn: dict[str, Any] = {}
        for name, d, _width in self._ports:
            if name == self._clock:
                conn[f"i_{name}"] = ClockSignal()
            elif name == self._reset:
                conn[f"i_{name}"] = ResetSignal()
            else:
                conn[("i_" if d == "input" else "o_") + name] = getattr(self, name)
        m.submodules.core = Instance(self._top, **conn)
        return m


@dataclass(frozen=True)
class ExternalDesign:
    """An external core as a design: what :func:`pezo.build.evaluate.evaluate` needs of one."""

    name: str
    top: str
    sources: tuple[Path, ...]
    ports: tuple[tuple[str, str, int], ...]
    clock: str
    reset: str
    source_digest: str
    stimulus_data: Stimulus | None = None
    summary: str = "external Verilog"
    sections: tuple[str, ...] = field(default=())

    @property
    def toplevel(self) -> str:
        return f"pezo_{self.name}"

    def component(self, _cfg=None) -> wiring.Component:
        return ExternalCore(self.top, self.ports, self.clock, self.reset)

    def digest(self, _cfg=None) -> str:
        return digest({"top": self.top, "sources": self.source_digest, "clock": self.clock, "reset": self.reset})

    def extras(self, _cfg=None) -> dict:
        return {"external": {"top": self.top, "files": [str(p) for p in self.sources],
                             "sources_sha256": self.source_digest, "clock": self.clock, "reset": self.reset}}

    @property
    def stimulus(self):
        return None if self.stimulus_data is None else (lambda _cfg=None: self.stimulus_data)


def load(name: str, files: list[Path], top: str, work: Path, *, clock: str = "clk", reset: str = "rst",
         stimulus: Path | None = None) -> ExternalDesign:
    """The external core ``top`` of ``files``, its ports read by yosys (in ``work``).

    Raises PezoError (one line) for a missing file, a file yosys cannot read (with yosys' own
    message), no module ``top``, an inout port, or a port name the wrapper cannot carry.
    """
    if not _IDENT.fullmatch(name):
        raise PezoError(f"name {name!r} must be a Verilog identifier (letters, digits, underscore)")
    if not _IDENT.fullmatch(top):
        raise PezoError(f"--top {top!r} must be a Verilog module name")
    if not files:
        raise PezoError("--verilog needs at least one file")
    texts = []
    for f in files:
        try:
            texts.append(Path(f).read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise PezoError(f"cannot read Verilog {f}: {getattr(exc, 'strerror', None) or exc}") from None
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    names = []
    for i, (f, text) in enumerate(zip(files, texts)):
        names.append(f"src{i}_{Path(f).name}")
        (work / names[-1]).write_text(text)
    script = ("".join(f"read_verilog -sv {n}\n" for n in names)
              + f"hierarchy -check -top {top}\nproc\nwrite_json ports.json\n")
    (work / "ports.ys").write_text(script)
    try:
        run.run_tool(f"yosys (reading {', '.join(str(f) for f in files)})", "yosys", ["-s", "ports.ys"], work,
                     "yosys_ports.log")
    except PezoError as exc:
        message = str(exc)
        for n, f in zip(names, files):          # yosys saw the copies: name the user's files
            message = message.replace(n, str(f))
        raise PezoError(message) from None
    try:
        module = json.loads((work / "ports.json").read_text())["modules"][top]
    except (OSError, json.JSONDecodeError, KeyError):
        raise PezoError(f"yosys found no module {top!r} in {', '.join(str(f) for f in files)}; "
                        f"see {work / 'yosys_ports.log'}") from None
    ports = []
    for pname, p in module["ports"].items():
        if p["direction"] not in ("input", "output"):
            raise PezoError(f"{top}: port {pname} is {p['direction']}; only input and output ports can be wrapped")
        if not _IDENT.fullmatch(pname) or pname in _RESERVED:
            raise PezoError(f"{top}: port name {pname!r} cannot be a port of the wrapper")
        ports.append((pname, p["direction"], len(p["bits"])))
    for pname, what in ((clock, "clock"), (reset, "reset")):
        if any(n == pname and d != "input" for n, d, _w in ports):
            raise PezoError(f"{top}: the {what} port {pname} must be an input")
    stim = read_stimulus(stimulus) if stimulus is not None else None
    if stim is not None:
        known = {n for n, _d, _w in ports if n not in (clock, reset)}
        unknown = sorted(p for p in set(stim.inputs) | set(stim.outputs) if p not in known)
        if unknown:
            raise PezoError(f"stimulus {stimulus}: {top} has no port {', '.join(unknown)}")
    return ExternalDesign(name, top, tuple(Path(f).resolve() for f in files), tuple(ports), clock, reset,
                          digest("\0".join(texts)), stim)
