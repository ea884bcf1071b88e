"""Side-by-side comparison of configurations: resources, Fmax, estimated power, fresh bits.

:func:`compare` evaluates several configurations (:func:`pezo.build.evaluate.evaluate`: the
synthesis flow and the power estimate, cached) and writes one report directory:

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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pezo.errors import PezoError
from pezo.files import staged_dir, write_atomic

from . import power
from .cache import Cache, digest
from .evaluate import evaluate, power_of
from .flow import TARGETS

__all__ = ["COLUMNS", "compare", "digest", "evaluate", "load_report", "markdown_table", "power_of",
           "row", "show"]

#: Table columns: (key, heading). Reductions are added per baseline.
COLUMNS = [
    ("name", "Configuration"), ("source", "Source"), ("strategy", "Reuse"), ("scale", "Scale"),
    ("lanes_x_bits", "Lanes x bits"), ("LUT", "LUT"), ("FF", "FF"), ("carry", "Carry"),
    ("BRAM", "BRAM"), ("DSP", "DSP"), ("fmax_mhz", "Fmax MHz"),
    ("dynamic_uw", "Dyn. power µW (est.)"), ("toggles_per_cycle", "Toggles/cycle"),
    ("total_uw", "Total µW (est.)"), ("fresh_bits_per_cycle", "Fresh bits/cycle"),
]
#: Figures compared against the baseline (lower is better).
REDUCED = [("LUT", "LUT"), ("FF", "FF"), ("dynamic_uw", "dyn. power")]


def fresh_bits_per_cycle(extra: dict[str, Any]) -> float | None:
    """Fresh random bits the design consumes per cycle while streaming (from its report extras)."""
    for key in ("fresh_bits_per_beat", "fresh_bits_per_cycle"):
        if key in extra:
            return extra[key]
    return None


#: Designs whose rows describe the perturbation engine (the update system contains one).
_HAS_ENGINE = ("engine", "update")


def row(name: str, cfg, rep: dict[str, Any]) -> dict[str, Any]:
    """One table row from an :func:`evaluate` report (``cfg`` None: an external core)."""
    res, pw, extra = rep["resources"], rep["power"], rep.get("extra") or {}
    if cfg is None:
        ext = extra.get("external", {})
        about = {"source": f"external ({ext.get('top', '?')})", "strategy": "-", "scale": "-", "lanes_x_bits": "-"}
    else:
        e = cfg.engine
        about = {"source": e.source if rep["design"] != "lfsr" else "lfsr",
                 "strategy": e.reuse.strategy if rep["design"] in _HAS_ENGINE else "-",
                 "scale": e.scale.mode if rep["design"] in _HAS_ENGINE else "-",
                 "lanes_x_bits": f"{e.lanes}x{e.value_bits}" if rep["design"] in _HAS_ENGINE
                 else f"{e.lfsr.lanes}x{e.lfsr.k}"}
    return {
        "name": name, "design": rep["design"], "target": rep["target"], **about,
        **{k: res[k] for k in ("LUT", "FF", "carry", "BRAM", "SPRAM", "DSP", "DPRAM")},
        "fmax_mhz": round(rep["fmax_mhz"], 1),
        "fmax_mhz_per_seed": rep["fmax_mhz_per_seed"],
        "seeds": rep["seeds"],
        "dynamic_uw": pw.get("dynamic_uw"), "total_uw": pw.get("total_uw"),
        "energy_pj_per_cycle": pw.get("energy_pj_per_cycle"),
        "toggles_per_cycle": pw.get("toggles_per_cycle"),
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


def _fewer(v: float | None) -> str:
    """A reduction in percent as words: positive is fewer than the baseline."""
    if v is None:
        return "n/a"
    return f"{abs(v):.1f}% {'fewer' if v >= 0 else 'more'}" if v else "same"


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
        cells += [_fewer(r.get(f"reduction_{k}")) for k, _l in REDUCED]
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


#: Panels of the comparison figure: every resource and estimate of the table.
PANELS = [("LUT", "LUT"), ("FF", "FF"), ("BRAM", "block RAM"), ("DSP", "DSP"),
          ("dynamic_uw", f"dyn. power (est.), µW @ {power.REF_MHZ:g} MHz"), ("fmax_mhz", "Fmax, MHz (median)")]
#: The figure is written in each of these formats.
FIGURE_FORMATS = ("png", "svg", "pdf")


def _plot(rows: list[dict[str, Any]], baseline_name: str, design: str, target: str, paths: Sequence[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(2, 3, figsize=(max(10, 1.3 * len(rows) + 6), 7))
    for ax, (key, title) in zip(axes.flat, PANELS):
        vals = [r.get(key) or 0 for r in rows]
        colors = ["#888888" if n == baseline_name else "#2b7bba" for n in names]
        bars = ax.bar(range(len(rows)), vals, color=colors)
        ax.bar_label(bars, labels=[_fmt(r.get(key)) for r in rows], fontsize=7, padding=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        ax.margins(y=0.15)
    fig.suptitle(f"{design} on {target}: resources and estimates (grey = baseline {baseline_name})",
                 fontsize=11)
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=200)
    plt.close(fig)


def write_report_dir(out: Path, files: dict[str, str | Callable[[Path], None]]) -> None:
    """Create ``out`` with ``files`` (name -> text, or a writer taking the path) as a whole:
    built in a temporary sibling and swapped in when complete (:func:`pezo.files.staged_dir`)."""
    with staged_dir(out) as tmp:
        for name, content in files.items():
            if callable(content):
                content(tmp / name)
            else:
                write_atomic(tmp / name, content)


def compare(configs: Sequence[tuple[str, Path | None, Any]], *, design, target: str,
            baseline: int = 0, seeds: Sequence[int] = (1, 2, 3), out: Path,
            work_root: Path, cache: Cache | None,
            progress: Callable[[str], None]) -> dict[str, Any]:
    """Evaluate configurations and write the comparison report directory ``out``.

    Parameters
    ----------
    configs : sequence of (name, path or None, Config or None[, design])
        The configurations, in table order; an entry with its own design (an external core,
        :class:`pezo.build.external.ExternalDesign`, whose Config is None) is evaluated as that.
    design : pezo.app.designs.Design
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
    entries = [(name, path, cfg, own[0] if own else design) for name, path, cfg, *own in configs]
    for i, (name, path, cfg, d) in enumerate(entries, start=1):
        where = str(path) if path is not None else name
        progress(f"[{i}/{len(configs)}] {name} on {target}")
        try:
            rep = evaluate(d, cfg, target=target, seeds=seeds,
                           work_dir=Path(work_root) / d.name / target / d.digest(cfg),
                           cache=cache, progress=progress)
        except PezoError as exc:
            raise PezoError(f"{where}: {exc}") from None
        rows.append(row(name, cfg, rep))
    base = rows[baseline]
    add_reductions(rows, base)
    doc = {
        "format": "pezo-compare", "version": 1, "design": design.name, "target": target,
        "baseline": base["name"], "seeds": list(seeds), "ref_mhz": power.REF_MHZ,
        # two digests, each labelled: the whole configuration, and the sections the design is
        # built from (which keys the cache and names the flow's folder)
        "configs": [{"name": n, "path": str(p) if p else None, "config_digest": c.digest() if c else None,
                     "design_digest": d.digest(c)} for n, p, c, d in entries],
        "tools": rows[0]["tools"], "rows": rows,
        "time_s": round(time.perf_counter() - t0, 2),
    }
    md = render_markdown(doc)
    write_report_dir(Path(out), {
        "compare.json": json.dumps(doc, indent=2) + "\n",
        "compare.md": md,
        "compare.csv": _csv(rows),
        "compare.png": lambda p: _plot(rows, base["name"], design.name, target,
                                       [p.with_suffix(f".{ext}") for ext in FIGURE_FORMATS]),
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
        "clock-network power where a cited figure exists. 'vs' columns: percent fewer (or more) than "
        "the baseline. Block RAM and DSP are counted in their own columns.",
        "",
        "Energy per cycle by part (pJ): " + "; ".join(
            f"{r['name']}: " + (", ".join(f"{k} {v:g}" for k, v in r["power"]["energy_pj_per_cycle_by_part"].items())
                                if "energy_pj_per_cycle_by_part" in r["power"] else r["power"].get("none", "n/a"))
            for r in rows),
        "",
        f"Tools: {tools}.",
        "",
    ]
    return "\n".join(notes)


#: What ``pezo report show`` reads.
KINDS = ("compare.json (pezo report compare)", "report.json (pezo synth)", "report.json (pezo sim)",
         "run.json (pezo train)")


def report_kind(doc: Any) -> str | None:
    """``compare``, ``synth``, ``sim``, ``train`` or None for a JSON document."""
    if not isinstance(doc, dict):
        return None
    fmt = doc.get("format")
    if fmt == "pezo-compare":
        return "compare"
    if fmt == "pezo-train" or {"task", "optimizer", "runs"} <= set(doc):
        return "train"
    if fmt == "pezo-sim" or ({"status", "cycles"} <= set(doc) and "resources" not in doc):
        return "sim"
    if {"design", "target", "resources", "fmax_mhz"} <= set(doc):
        return "synth"
    return None


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} = {value!r} is not a number")
    return value


def _check(kind: str, doc: dict[str, Any]) -> None:
    """Raise ValueError naming the first missing or malformed field a report needs."""
    def need(obj: Any, key: str, where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise ValueError(f"{where}{key} is missing")
        return obj[key]

    if kind == "compare":
        for i, r in enumerate(need(doc, "rows", "")):
            for key in ("LUT", "FF", "BRAM", "DSP", "fmax_mhz", "dynamic_uw"):
                _number(f"rows[{i}].{key}", need(r, key, f"rows[{i}]."))
            need(r, "name", f"rows[{i}].")
        for key in ("design", "target", "baseline", "seeds", "tools", "ref_mhz"):
            need(doc, key, "")
    elif kind == "synth":
        for key in ("LUT", "FF", "BRAM", "DSP"):
            _number(f"resources.{key}", need(need(doc, "resources", ""), key, "resources."))
        _number("fmax_mhz", doc["fmax_mhz"])
        if doc.get("power"):
            for key in ("dynamic_uw", "f_mhz", "toggles_per_cycle"):
                _number(f"power.{key}", need(doc["power"], key, "power."))
    elif kind == "sim":
        _number("cycles", doc["cycles"])
    elif kind == "train":
        _number("final_mean", need(doc, "final_mean", ""))
        for i, r in enumerate(doc["runs"]):
            _number(f"runs[{i}].final", need(r, "final", f"runs[{i}]."))


def load_report(path: Path | str) -> dict[str, Any]:
    """Read any report pezo writes (:data:`KINDS`); one-line error naming the file otherwise."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise PezoError(f"report {path}: no such file") from None
    except IsADirectoryError:
        raise PezoError(f"report {path}: a directory; give the JSON file in it") from None
    except OSError as exc:
        raise PezoError(f"report {path}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PezoError(f"report {path}: not valid JSON (corrupt or truncated)") from None
    kind = report_kind(doc)
    if kind is None:
        raise PezoError(f"report {path}: not a pezo report; pezo report show reads {', '.join(KINDS)}")
    try:
        _check(kind, doc)
        show(doc)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise PezoError(f"report {path}: {kind} report with a missing or malformed field ({exc})") from None
    return doc


def show(doc: dict[str, Any]) -> str:
    """Markdown text of a loaded report."""
    kind = report_kind(doc)
    if kind == "compare":
        return render_markdown(doc)
    if kind == "train":
        runs = ", ".join(f"seed {r['seed']}: {r['final']:.2f}" for r in doc["runs"])
        spread = f" +- {doc['final_std']:.2f}" if len(doc["runs"]) > 1 else ""
        return (f"train {doc['task']} / {doc.get('label', doc['optimizer'])}: test {doc.get('metric', 'metric')} "
                f"{doc['final_mean']:.2f}{spread} over {len(doc['runs'])} seed(s) ({runs}); "
                f"stream: {doc.get('stream_seed', 'n/a')}\n")
    if kind == "sim":
        what = f"{doc['design']} " if "design" in doc else ""
        return (f"co-simulation {what}({doc.get('simulator', 'simulator n/a')}): {doc['status']}, "
                f"{doc['cycles']} cycles against the golden model\n")
    res = doc["resources"]
    text = (f"{doc['design']} on {doc['target']}: " +
            ", ".join(f"{res[k]} {k}" for k in ("LUT", "FF", "carry", "BRAM", "DSP") if k in res) +
            f", Fmax {doc['fmax_mhz']:.1f} MHz")
    if doc.get("power"):
        p = doc["power"]
        text += (f", est. dynamic power {p['dynamic_uw']:g} µW at {p['f_mhz']:g} MHz "
                 f"({p['toggles_per_cycle']:g} toggles/cycle)")
    return text + "\n"
