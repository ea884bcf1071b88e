"""Side-by-side comparison of configurations: resources, Fmax, estimated power, fresh bits.

:func:`evaluate` runs (or takes from the cache) the synthesis flow and the power estimate of one
configuration; :func:`compare` does it for several and writes one report directory:

``compare.md``, ``compare.csv``, ``compare.json``
    One row per configuration: LUT, FF, carry, BRAM, DSP, Fmax (median over seeds), estimated
    dynamic power at :data:`pezo.build.power.REF_MHZ` with the measured toggles per cycle beside
    it, fresh random bits per cycle, and the reduction in percent against the baseline.
``compare.png``
    Bar charts of the same (matplotlib, Agg backend).

The directory is assembled in a temporary sibling and renamed into place, so a failed run
leaves either the previous complete report or none, never a partial one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pezo.errors import PezoError
from pezo.files import write_atomic

from . import power
from .cache import Cache, digest
from .flow import NETLIST_JSON, NETLIST_V, TARGETS, synthesize

__all__ = ["COLUMNS", "compare", "digest", "evaluate", "load_report", "markdown_table", "power_of",
           "row", "show"]

#: Table columns: (key, heading). Reductions are added per baseline.
COLUMNS = [
    ("name", "Configuration"), ("source", "Source"), ("strategy", "Reuse"), ("scale", "Scale"),
    ("lanes_x_bits", "Lanes x bits"), ("LUT", "LUT"), ("FF", "FF"), ("carry", "Carry"),
    ("BRAM", "BRAM"), ("DSP", "DSP"), ("fmax_mhz", "Fmax MHz"),
    ("dynamic_uw", "Dyn. power uW (est.)"), ("toggles_per_cycle", "Toggles/cycle"),
    ("total_uw", "Total uW (est.)"), ("fresh_bits_per_cycle", "Fresh bits/cycle"),
]
#: Figures compared against the baseline (lower is better).
REDUCED = [("LUT", "LUT"), ("FF", "FF"), ("dynamic_uw", "dyn. power")]


def power_of(design, cfg, target: str, synth_dir: Path, *, cache: Cache | None,
             progress: Callable[[str], None]) -> dict[str, Any]:
    """Estimated power of the netlist in ``synth_dir`` under the design's standard stimulus.

    The activity (toggle counts) is cached under (method version, design, target, SHA-256 of
    the mapped netlist, the configuration digest with a SHA-256 of the code that builds the
    stimulus, SHA-256 of the cell models, simulator fingerprint); the coefficients are applied
    afterwards, so changing one does not need a new simulation.
    """
    if design.stimulus is None:
        raise PezoError(f"power: design {design.name!r} has no standard stimulus "
                        "(pezo.designs.Design.stimulus), so it has no power estimate")
    netlist_v, netlist_json = synth_dir / NETLIST_V, synth_dir / NETLIST_JSON
    try:
        netlist_text = netlist_v.read_text()
    except OSError as exc:
        raise PezoError(f"power: cannot read the mapped netlist {netlist_v}: {exc.strerror}") \
            from None
    work = synth_dir / "power"
    work.mkdir(parents=True, exist_ok=True)
    libs = power.cell_library(target, work)
    # The stimulus is a function of the configuration and of the code that builds it (golden
    # model, sim glue, spine): keying on those avoids running the golden model on a cache hit.
    key = {"method": power.METHOD_VERSION, "design": design.name, "target": target,
           "netlist": digest(netlist_text), "config_digest": design.digest(cfg),
           "stimulus_code": _code_digest(), "cells": digest("".join(p.read_text() for p in libs)),
           "simulator": power.simulator_fingerprint()}
    hit = cache.get("power", key) if cache else None
    if hit is not None:
        act, state = hit["activity"], "hit"
    else:
        trace = design.stimulus(cfg)
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
_NOT_STIMULUS = {"cli.py", "demo.py", "doctor.py"}


def _code_digest() -> str:
    """SHA-256 over the sources that produce a stimulus, found without importing them: the
    spine (``pezo/*.py`` and its tables, not the command line), the sim glue (``pezo.sim``)
    and the golden models (``pezo.sw.golden``)."""
    import importlib.util

    texts = []
    for pkg in ("pezo", "pezo.sim", "pezo.sw.golden"):
        spec = importlib.util.find_spec(pkg)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for f in sorted(Path(root).iterdir()):
                if f.suffix in (".py", ".json") and f.name not in _NOT_STIMULUS:
                    texts.append(f"{pkg}/{f.name}\0{f.read_text()}")
    return digest("\0".join(texts))


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
                     progress=progress, extra=design.extras(cfg), cache=cache)
    rep["power"] = power_of(design, cfg, target, Path(work_dir), cache=cache, progress=progress)
    # The configuration's own report.json then holds its power estimate too.
    write_atomic(Path(work_dir) / "report.json", json.dumps(rep, indent=2) + "\n")
    return rep


def fresh_bits_per_cycle(extra: dict[str, Any]) -> float | None:
    """Fresh random bits the design consumes per cycle while streaming (from its report extras)."""
    for key in ("fresh_bits_per_beat", "fresh_bits_per_cycle"):
        if key in extra:
            return extra[key]
    return None


#: Designs whose rows describe the perturbation engine (the update system contains one).
_HAS_ENGINE = ("engine", "update")


def row(name: str, cfg, rep: dict[str, Any]) -> dict[str, Any]:
    """One table row from an :func:`evaluate` report."""
    e = cfg.engine
    res, pw, extra = rep["resources"], rep["power"], rep.get("extra") or {}
    return {
        "name": name, "design": rep["design"], "target": rep["target"],
        "source": e.source if rep["design"] != "lfsr" else "lfsr",
        "strategy": e.reuse.strategy if rep["design"] in _HAS_ENGINE else "-",
        "scale": e.scale.mode if rep["design"] in _HAS_ENGINE else "-",
        "lanes_x_bits": f"{e.lanes}x{e.value_bits}" if rep["design"] in _HAS_ENGINE
        else f"{e.lfsr.lanes}x{e.lfsr.k}",
        **{k: res[k] for k in ("LUT", "FF", "carry", "BRAM", "SPRAM", "DSP", "DPRAM")},
        "fmax_mhz": round(rep["fmax_mhz"], 1),
        "fmax_mhz_per_seed": rep["fmax_mhz_per_seed"],
        "seeds": rep["seeds"],
        "dynamic_uw": pw["dynamic_uw"], "total_uw": pw["total_uw"],
        "energy_pj_per_cycle": pw["energy_pj_per_cycle"],
        "toggles_per_cycle": pw["toggles_per_cycle"],
        "fresh_bits_per_cycle": fresh_bits_per_cycle(extra),
        "config_digest": rep["config_digest"], "verilog_sha256": rep["verilog_sha256"],
        "power": pw, "tools": rep["tools"],
    }


def _reduction(base: float | None, x: float | None) -> float | None:
    if base in (None, 0) or x is None:
        return None
    return round(100.0 * (base - x) / base, 1)


def add_reductions(rows: list[dict[str, Any]], baseline: dict[str, Any]) -> None:
    """``reduction_<key>`` (percent, positive = less than the baseline) in every row."""
    for r in rows:
        for key, _label in REDUCED:
            r[f"reduction_{key}"] = _reduction(baseline.get(key), r.get(key))


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:g}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]], baseline_name: str) -> str:
    """The comparison table: the columns of :data:`COLUMNS` plus one reduction column each, and
    an SPRAM column after BRAM when some row uses SPRAM (the update system's ``spram`` memory)."""
    columns = COLUMNS
    if any(r.get("SPRAM") for r in rows):
        at = [k for k, _h in COLUMNS].index("BRAM") + 1
        columns = [*COLUMNS[:at], ("SPRAM", "SPRAM"), *COLUMNS[at:]]
    heads = [h for _k, h in columns] + [f"{label} vs {baseline_name}" for _k, label in REDUCED]
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "|".join("---" if i < 5 else "---:" for i in range(len(heads))) + "|"]
    for r in rows:
        cells = [_fmt(r.get(k)) for k, _h in columns]
        cells += [("n/a" if r.get(f"reduction_{k}") is None else f"{r[f'reduction_{k}']:+.1f}%")
                  for k, _l in REDUCED]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _csv(rows: list[dict[str, Any]]) -> str:
    keys = [k for k, _h in COLUMNS] + ["SPRAM", "DPRAM", "energy_pj_per_cycle"] + \
        [f"reduction_{k}" for k, _l in REDUCED] + ["fmax_mhz_per_seed", "config_digest"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow([" ".join(map(str, r[k])) if isinstance(r.get(k), list) else
                    ("" if r.get(k) is None else r[k]) for k in keys])
    return buf.getvalue()


def _plot(rows: list[dict[str, Any]], baseline_name: str, target: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("LUT", "LUT"), ("FF", "FF"), ("dynamic_uw", f"dyn. power uW @ {power.REF_MHZ:g} MHz"),
              ("fmax_mhz", "Fmax MHz (median)")]
    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(max(8, 1.1 * len(rows) + 4), 7))
    for ax, (key, title) in zip(axes.flat, panels):
        vals = [r.get(key) or 0 for r in rows]
        colors = ["#888888" if n == baseline_name else "#2b7bba" for n in names]
        ax.bar(range(len(rows)), vals, color=colors)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    fig.suptitle(f"{target}: estimates and resources (grey = baseline {baseline_name})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report_dir(out: Path, files: dict[str, str | Callable[[Path], None]]) -> None:
    """Create ``out`` with ``files`` (name -> text, or a writer taking the path) atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    old = None
    try:
        for name, content in files.items():
            if callable(content):
                content(tmp / name)
            else:
                (tmp / name).write_text(content)
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def compare(configs: Sequence[tuple[str, Path | None, Any]], *, design, target: str,
            baseline: int = 0, seeds: Sequence[int] = (1, 2, 3), out: Path,
            work_root: Path, cache: Cache | None,
            progress: Callable[[str], None]) -> dict[str, Any]:
    """Evaluate configurations and write the comparison report directory ``out``.

    Parameters
    ----------
    configs : sequence of (name, path or None, Config)
        The configurations, in table order.
    design : pezo.designs.Design
    target : str
    baseline : int
        Index in ``configs`` of the baseline.
    seeds : sequence of int
        nextpnr seeds (Fmax is the median).
    out : Path
        Report directory (replaced as a whole on success).
    work_root : Path
        Where each configuration's flow runs (``<work_root>/<design>/<target>/<digest>``).
    cache : Cache or None
    progress : callable

    Raises
    ------
    PezoError
        Naming the configuration file (or name) and the step that failed; ``out`` is untouched.
    """
    if target not in TARGETS:
        raise PezoError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    t0 = time.perf_counter()
    rows = []
    for i, (name, path, cfg) in enumerate(configs, start=1):
        where = str(path) if path is not None else name
        progress(f"[{i}/{len(configs)}] {name} on {target}")
        try:
            rep = evaluate(design, cfg, target=target, seeds=seeds,
                           work_dir=Path(work_root) / design.name / target / design.digest(cfg),
                           cache=cache, progress=progress)
        except PezoError as exc:
            raise PezoError(f"{where}: {exc}") from None
        rows.append(row(name, cfg, rep))
    base = rows[baseline]
    add_reductions(rows, base)
    doc = {
        "format": "pezo-compare", "version": 1, "design": design.name, "target": target,
        "baseline": base["name"], "seeds": list(seeds), "ref_mhz": power.REF_MHZ,
        "configs": [{"name": n, "path": str(p) if p else None, "digest": c.digest()}
                    for n, p, c in configs],
        "tools": rows[0]["tools"], "rows": rows,
        "time_s": round(time.perf_counter() - t0, 2),
    }
    md = render_markdown(doc)
    write_report_dir(Path(out), {
        "compare.json": json.dumps(doc, indent=2) + "\n",
        "compare.md": md,
        "compare.csv": _csv(rows),
        "compare.png": lambda p: _plot(rows, base["name"], target, p),
    })
    return doc


def render_markdown(doc: dict[str, Any]) -> str:
    """The Markdown page of a comparison document (as written to ``compare.md``)."""
    rows = doc["rows"]
    tools = ", ".join(f"{k} {v}" for k, v in doc["tools"].items())
    notes = [
        f"# {doc['design']} on {doc['target']}: comparison against {doc['baseline']}",
        "",
        markdown_table(rows, doc["baseline"]),
        f"LUT/FF/carry/BRAM/DSP: yosys on the core alone. Fmax: median over nextpnr seeds "
        f"{', '.join(map(str, doc['seeds']))}. Power is an **estimate** at {doc['ref_mhz']:g} MHz "
        "from the toggles of the gate-level netlist under the design's standard stimulus "
        "(docs/power.md); 'Dyn.' is the design's share, 'Total' adds the device's static and "
        "clock-network power where a cited figure exists. Reductions are percent less than the "
        "baseline (positive = smaller). Block RAM and DSP are counted in their own columns.",
        "",
        "Energy per cycle by part (pJ): " + "; ".join(
            f"{r['name']}: " + ", ".join(f"{k} {v:g}" for k, v in
                                        r["power"]["energy_pj_per_cycle_by_part"].items())
            for r in rows),
        "",
        f"Tools: {tools}.",
        "",
    ]
    return "\n".join(notes)


def load_report(path: Path | str) -> dict[str, Any]:
    """Read a ``compare.json`` or a synthesis ``report.json``; one-line error naming the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise PezoError(f"report {path}: no such file") from None
    except OSError as exc:
        raise PezoError(f"report {path}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PezoError(f"report {path}: not valid JSON (corrupt or truncated)") from None
    if not isinstance(doc, dict):
        raise PezoError(f"report {path}: not a pezo report")
    if doc.get("format") == "pezo-compare":
        try:
            render_markdown(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise PezoError(f"report {path}: comparison report with missing fields") from None
        return doc
    if {"design", "target", "resources", "fmax_mhz"} <= set(doc):
        return doc
    raise PezoError(f"report {path}: not a pezo report (neither compare.json nor report.json)")


def show(doc: dict[str, Any]) -> str:
    """Markdown text of a loaded report."""
    if doc.get("format") == "pezo-compare":
        return render_markdown(doc)
    res = doc["resources"]
    text = (f"{doc['design']} on {doc['target']}: " +
            ", ".join(f"{res[k]} {k}" for k in ("LUT", "FF", "carry", "BRAM", "DSP") if k in res) +
            f", Fmax {doc['fmax_mhz']:.1f} MHz")
    if doc.get("power"):
        p = doc["power"]
        text += (f", est. dynamic power {p['dynamic_uw']:g} uW at {p['f_mhz']:g} MHz "
                 f"({p['toggles_per_cycle']:g} toggles/cycle)")
    return text + "\n"
