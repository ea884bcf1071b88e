"""One configuration through the synthesis flow and the power estimate, each step from the
cache where nothing it depends on changed (:func:`evaluate`); :mod:`pezo.build.report` compares
several."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pezo.errors import PezoError
from pezo.files import write_atomic

from . import power
from .cache import Cache, digest
from .flow import NETLIST_JSON, NETLIST_V, synthesize

__all__ = ["evaluate", "power_of", "stimulus_sources"]


def power_of(design, cfg, target: str, synth_dir: Path, *, cache: Cache | None,
             progress: Callable[[str], None]) -> dict[str, Any]:
    """Estimated power of the netlist in ``synth_dir`` under the design's standard stimulus.

    The activity (toggle counts) is cached under (method version, design, target, SHA-256 of
    the mapped netlist, SHA-256 of the stimulus trace, SHA-256 of the cell models, simulator
    fingerprint); the coefficients are applied afterwards, so changing one does not need a new
    simulation. The stimulus's digest is itself cached under the configuration digest and a
    SHA-256 of the code that builds it (golden models, sim glue, spine), so a fully cached run
    does not run the golden model, and an edit of that code that leaves the stimulus as it was
    (a refactor) keeps every activity.
    """
    if design.stimulus is None:
        raise PezoError(f"power: design {design.name!r} has no standard stimulus "
                        "(pezo.app.designs.Design.stimulus), so it has no power estimate")
    netlist_v, netlist_json = synth_dir / NETLIST_V, synth_dir / NETLIST_JSON
    try:
        netlist_text = netlist_v.read_text()
    except OSError as exc:
        raise PezoError(f"power: cannot read the mapped netlist {netlist_v}: {exc.strerror}") \
            from None
    work = synth_dir / "power"
    work.mkdir(parents=True, exist_ok=True)
    libs = power.cell_library(target, work)
    trace = None
    code_key = {"design": design.name, "config_digest": design.digest(cfg), "stimulus_code": _code_digest()}
    known = cache.get("stimulus", code_key) if cache else None
    if known is None:
        trace = design.stimulus(cfg)
        known = {"digest": digest(trace.to_json())}
        if cache:
            cache.put("stimulus", code_key, known)
    key = {"method": power.METHOD_VERSION, "design": design.name, "target": target,
           "netlist": digest(netlist_text), "stimulus": known["digest"],
           "cells": digest("".join(p.read_text() for p in libs)), "simulator": power.simulator_fingerprint()}
    hit = cache.get("power", key) if cache else None
    if hit is not None:
        act, state = hit["activity"], "hit"
    else:
        trace = trace or design.stimulus(cfg)
        progress(f"power: gate-level simulation of {design.toplevel} on {target} "
                 f"({trace.cycles} cycles)")
        act = power.simulate(netlist_v, netlist_json, design.toplevel, target, trace.inputs,
                             trace.outputs, work)
        state = "miss"
        if cache:
            cache.put("power", key, {"activity": act})
    est = power.estimate(act, target)
    est["activity"] = {k: v for k, v in act.items() if k != "ports"}
    est["port_toggles_per_cycle"] = {
        name: round(sum(bits) / max(act["cycles"], 1), 4) for name, bits in act["ports"].items()}
    est["cache"] = state if cache else None
    return est


#: Spine files that do not take part in building a stimulus (editing them keeps the cache).
_NOT_STIMULUS = {"files.py", "tools.py"}


def stimulus_sources() -> list[tuple[str, Path]]:
    """``(name, file)`` of every source that produces a stimulus, found without importing them:
    the spine (``pezo/`` with its subpackages and tables), the registry of designs (which
    stimulus a design has; not the rest of the application), the sim glue (``pezo.sim``) and
    the golden models (``pezo.sw.golden`` with its subpackages), at any depth (an edit under
    ``pezo/gaussian/`` changes a Gaussian stimulus)."""
    import importlib.util

    out = []
    for pkg in ("pezo", "pezo.sim", "pezo.sw.golden"):
        spec = importlib.util.find_spec(pkg)
        for root in (spec.submodule_search_locations or []) if spec else []:
            root = Path(root)
            for f in sorted(root.rglob("*")):
                rel = f.relative_to(root)
                if rel.parts[0] == "app" and rel.as_posix() != "app/designs.py":
                    continue
                if f.suffix in (".py", ".json") and f.name not in _NOT_STIMULUS and "__pycache__" not in f.parts:
                    out.append((f"{pkg}/{rel.as_posix()}", f))
    return out


def _code_digest(sources: list[tuple[str, Path]] | None = None) -> str:
    """SHA-256 over :func:`stimulus_sources` (names and contents)."""
    return digest("\0".join(f"{name}\0{f.read_text()}" for name, f in (sources or stimulus_sources())))


def evaluate(design, cfg, *, target: str, seeds: Sequence[int], work_dir: Path,
             cache: Cache | None, progress: Callable[[str], None]) -> dict[str, Any]:
    """Synthesis report (with ``"power"`` added) of one configuration, from cache where possible.

    Raises
    ------
    PezoError
        From the flow or the power estimate (including
        :class:`pezo.build.flow.DoesNotFit`), unchanged.
    """
    rep = synthesize(lambda: design.component(cfg), design=design.name, target=target,
                     seeds=list(seeds), out_dir=work_dir, config_digest=design.digest(cfg),
                     progress=progress, extra=design.extras(cfg), cache=cache,
                     sources=getattr(design, "sources", ()))
    if design.stimulus is None:
        # an external core without a stimulus: no estimate, and the report says why
        rep["power"] = {"none": "no stimulus given (--stimulus): power not estimated"}
    else:
        rep["power"] = power_of(design, cfg, target, Path(work_dir), cache=cache, progress=progress)
    # The configuration's own report.json then holds its power estimate too.
    write_atomic(Path(work_dir) / "report.json", json.dumps(rep, indent=2) + "\n")
    return rep
