"""Synthesis flow: core resources from yosys, Fmax and utilisation from nextpnr, one report.

Steps, all run with ``cwd=out_dir`` and relative file names (YoWASP remaps ``/tmp``):

1. ``pezo_<design>.v``: the core's Verilog (memories meant for SPRAM without initial contents:
   :func:`spram_ready`).
2. ``yosys_core``: ``synth_ice40``/``synth_ecp5`` on the core alone, ``stat.json``. These cell
   counts are the design's cost. The mapped netlist (``core_netlist.v``/``.json``) feeds the
   power estimate (:mod:`pezo.build.power`).
3. ``yosys_harness``: the core inside :class:`pezo.build.harness.ScanHarness` (five pins), to a
   JSON netlist. The harness exists only so that place-and-route fits the package's IOs. If
   yosys stops on its ABC9 re-import assertion, the harness is synthesised again with ``-dff``
   (explicit fallback, logged and recorded in the report; see
   :func:`pezo.build.run.synth_harness`).
4. ``nextpnr`` once per seed on the harness: Fmax of the clock and utilisation per bel type.
5. ``report.json`` and ``report.md``, each written atomically.

This module sequences the steps and caches them; the targets are :mod:`pezo.build.targets`,
running the tools :mod:`pezo.build.run`, reading their output :mod:`pezo.build.parse`, the
Markdown page :mod:`pezo.build.synth_report`.

With a :class:`pezo.build.cache.Cache`, steps 2-3 and each seed of step 4 are taken from the
cache when nothing they depend on changed.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from amaranth.lib import wiring

from pezo import tools
from pezo.errors import PezoError
from pezo.files import write_atomic

from . import run
from .cache import Cache, digest
from .harness import ScanHarness
from .parse import DoesNotFit
from .synth_report import markdown
from .targets import NETLIST_JSON, NETLIST_V, RESOURCE_KEYS, TARGETS, Target, spram_ready

__all__ = ["FLOW_VERSION", "NETLIST_JSON", "NETLIST_V", "RESOURCE_KEYS", "TARGETS", "DoesNotFit", "Target",
           "core_netlist", "spram_ready", "synthesize"]

#: Version of the flow's scripts; part of every cache key, bump when a script changes.
FLOW_VERSION = "2"

#: nextpnr target frequency (MHz); only steers timing-driven placement, Fmax is measured.
FREQ_MHZ = 100

_DESIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_args(design: str, target: str, seeds: Iterable[int], extra: dict[str, Any] | None
                ) -> tuple[Target, list[int], dict[str, Any]]:
    if target not in TARGETS:
        raise PezoError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    if not _DESIGN_RE.fullmatch(design):
        raise PezoError(f"design name {design!r} must be a Verilog identifier "
                        "(letters, digits, underscore)")
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                            for s in seeds):
        raise PezoError(f"seeds must be a non-empty list of non-negative integers, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise PezoError(f"seeds must be distinct, got {seeds}")
    extra = dict(extra or {})
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as exc:
        raise PezoError(f"extra must be JSON-serialisable: {exc}") from None
    return TARGETS[target], seeds, extra


def _verilog(make_component: Callable[[], wiring.Component], top: str, top_h: str, target: str,
             out: Path) -> tuple[str, str, ScanHarness]:
    """The core's and the harness's Verilog, written into ``out``."""
    core = make_component()
    if not isinstance(core, wiring.Component):
        raise PezoError(f"make_component() returned {type(core).__name__}, "
                        "expected an amaranth.lib.wiring.Component")
    core_v = spram_ready(verilog.convert(core, name=top, emit_src=False), target)
    (out / f"{top}.v").write_text(core_v)
    harness = ScanHarness(make_component)
    harness_v = spram_ready(verilog.convert(harness, name=top_h, emit_src=False), target)
    (out / f"{top_h}.v").write_text(harness_v)
    return core_v, harness_v, harness


def _copy_sources(sources: Sequence[Path], out: Path) -> tuple[tuple[str, ...], str]:
    """A design's own Verilog files (an external core) copied into ``out``, where yosys reads them
    by relative name; their names and their text (for the cache key)."""
    names, texts = [], []
    for i, src in enumerate(sources):
        try:
            text = Path(src).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise PezoError(f"cannot read Verilog {src}: {getattr(exc, 'strerror', None) or exc}") from None
        name = f"src{i}_{Path(src).name}"
        (out / name).write_text(text)
        names.append(name)
        texts.append(f"{name}\0{text}")
    return tuple(names), "\0".join(texts)


def _synth(design: str, tgt: Target, top: str, top_h: str, out: Path, synth_key: dict, cache: Cache | None,
           times: dict[str, float], say: Callable[[str], None], sources: tuple[str, ...]) -> tuple[dict, bool]:
    """Both yosys runs, or their cached result: resources, commands used, tool versions, and
    whether it came from the cache."""
    cached = cache.get("synth", synth_key, files_to=out) if cache else None
    if cached is not None and "failed" in cached:
        raise PezoError(f"{cached['failed']} (cached result of the same tool on the same input)")
    if cached is not None:
        say(f"yosys: core and harness of {design} from cache")
        return {"resources": cached["resources"], "harness_resources": cached["harness_resources"],
                "harness_synth": cached.get("harness_synth", tgt.synth),
                "core_synth": cached.get("core_synth", tgt.synth), "tools": cached["tools"]}, True
    try:
        (resources, c_synth), (h_resources, h_synth) = run.synth_design(design, tgt, top, top_h, out, times, say,
                                                                        sources)
    except PezoError as exc:
        # A crash of the WebAssembly build is deterministic for this input and tool build
        # (both in the key), so it is cached like a result; other failures are not.
        if cache and tools.ABORTED in str(exc):
            cache.put("synth", synth_key, {"failed": str(exc)})
        raise
    result = {"resources": resources, "harness_resources": h_resources, "harness_synth": h_synth,
              "core_synth": c_synth, "tools": tools.flow_versions()}
    if cache:
        cache.put("synth", synth_key, result,
                  files={name: out / name for name in (NETLIST_V, NETLIST_JSON, f"{top_h}.json")})
    return result, False


def _place(tgt: Target, top_h: str, seed: int, label: str, out: Path, synth_key: dict, fit_note: str,
           cache: Cache | None, times: dict[str, float], say: Callable[[str], None]) -> tuple[tuple, bool]:
    """One nextpnr seed, or its cached result: (Fmax, Fmax per clock, utilisation), from cache."""
    pnr_key = {"synth": digest(synth_key), "seed": seed, "freq": FREQ_MHZ, "args": list(tgt.nextpnr_args),
               "nextpnr": tools.fingerprint(tools.find(tgt.nextpnr))}
    hit = cache.get("pnr", pnr_key) if cache else None
    if hit is not None:
        if "does_not_fit" in hit:
            raise DoesNotFit(hit["does_not_fit"], hit["over"])
        say(f"nextpnr seed {label}: {hit['fmax']:.1f} MHz (cached)")
        return (hit["fmax"], hit["per_clock"], hit["utilisation"]), True
    say(f"nextpnr seed {label} (--seed {seed}) on {tgt.device}-{tgt.package}")
    t0 = time.perf_counter()
    try:
        f, per_clock, util = run.place(tgt, top_h, seed, FREQ_MHZ, out, fit_note)
    except DoesNotFit as fit:
        # a property of the netlist, so cached like a result
        if cache:
            cache.put("pnr", pnr_key, {"does_not_fit": str(fit), "over": fit.over})
        raise
    times[f"nextpnr_seed{seed}"] = time.perf_counter() - t0
    f = round(f, 2)
    if cache:
        cache.put("pnr", pnr_key, {"fmax": f, "per_clock": per_clock, "utilisation": util,
                                   "tools": tools.flow_versions()})
    say(f"nextpnr seed {label}: {f:.1f} MHz")
    return (f, per_clock, util), False


def synthesize(
    make_component: Callable[[], wiring.Component],
    *,
    design: str,
    target: str,
    seeds: Iterable[int],
    out_dir: Path | str,
    config_digest: str,
    progress: Callable[[str], None] | None = None,
    extra: dict[str, Any] | None = None,
    cache: Cache | None = None,
    sources: Sequence[Path] = (),
) -> dict[str, Any]:
    """Synthesise a core, place and route it in a scan harness and write its report.

    Parameters
    ----------
    make_component : callable
        Zero-argument callable returning a fresh Component (``sync`` domain with clock and
        synchronous active-high reset). Called twice: once for the core, once for the harness.
    design : str
        Short name (a Verilog identifier) used in file and module names.
    target : str
        A key of :data:`TARGETS`.
    seeds : iterable of int
        nextpnr placement seeds, at least one, no duplicates.
    out_dir : path-like
        Output directory (created). Verilog, netlists, tool logs and reports go here.
    config_digest : str
        Opaque string recorded in the report.
    progress : callable, optional
        Receives one-line progress messages.
    extra : dict, optional
        JSON-serialisable data copied into the report unchanged.
    cache : Cache, optional
        Reuse and store results (:mod:`pezo.build.cache`): the two yosys runs keyed by
        (flow version, design, target, config digest, SHA-256 of the core and harness Verilog,
        synthesis command, yosys fingerprint), and each nextpnr seed keyed by (that key, seed,
        frequency, device arguments, nextpnr fingerprint), so adding a seed runs only that
        seed and a fully cached run calls no tool. "Does not fit" and a crash of the
        WebAssembly build are cached too (deterministic for the same input and tool).
    sources : sequence of Path, optional
        Verilog files the component instantiates (an external core, :mod:`pezo.build.external`):
        copied into ``out_dir``, read by both yosys runs, and part of the cache key.

    Returns
    -------
    dict
        The report, as written to ``out_dir/report.json``. Core cost is under ``"resources"``
        (LUT, FF, carry, BRAM, SPRAM, DSP, DPRAM and the raw ``cells`` histogram); Fmax under
        ``"fmax_mhz"`` (median) and ``"fmax_mhz_per_seed"`` (aligned with ``"seeds"``). The mapped
        core netlist is in ``out_dir`` (``files.netlist_verilog``, ``files.netlist_json``).

    Raises
    ------
    PezoError
        Unknown target, bad arguments, a missing or failing tool, a design that does not fit
        (:class:`DoesNotFit`), or an unreadable tool output. Any previous
        ``report.json``/``report.md`` in ``out_dir`` is removed first, so a failed run leaves
        no report.
    """
    t_start = time.perf_counter()
    say = progress or (lambda _msg: None)
    tgt, seeds, extra = _check_args(design, target, seeds, extra)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_json, report_md = out / "report.json", out / "report.md"
    # A stale report next to fresh logs of a failed run would be misleading.
    report_json.unlink(missing_ok=True)
    report_md.unlink(missing_ok=True)

    times: dict[str, float] = {}
    top = f"pezo_{design}"
    top_h = f"{top}_harness"
    t0 = time.perf_counter()
    core_v, harness_v, harness = _verilog(make_component, top, top_h, target, out)
    src_names, src_text = _copy_sources(sources, out)
    times["verilog"] = time.perf_counter() - t0

    # The Verilog hashes see code changes in hw/ that the configuration digest cannot.
    synth_key = {"flow": FLOW_VERSION, "design": design, "target": target,
                 "config_digest": config_digest, "verilog": digest(core_v),
                 "harness": digest(harness_v), "synth": tgt.synth,
                 "yosys": tools.fingerprint(tools.find("yosys"))}
    if src_names:
        synth_key["sources"] = digest(src_text)
    syn, synth_hit = _synth(design, tgt, top, top_h, out, synth_key, cache, times, say, src_names)
    resources, h_resources = syn["resources"], syn["harness_resources"]
    c_synth, h_synth = syn["core_synth"], syn["harness_synth"]
    overhead = {k: h_resources[k] - resources[k] for k in ("LUT", "FF")}
    # Wide cores can fit alone but not with their scan harness; say how much the harness adds.
    fit_note = f"the scan harness adds {overhead['LUT']} LUT and {overhead['FF']} FF"

    fmax: list[float] = []
    fmax_clocks: list[dict[str, float]] = []
    utilisation: dict[str, dict[str, int]] = {}
    pnr_cache: dict[int, str] = {}
    for i, seed in enumerate(seeds, start=1):
        (f, per_clock, util), hit = _place(tgt, top_h, seed, f"{i}/{len(seeds)}", out, synth_key, fit_note,
                                           cache, times, say)
        pnr_cache[seed] = "hit" if hit else "miss"
        fmax.append(f)
        fmax_clocks.append(per_clock)
        # Placement does not change what is packed, so the first seed's utilisation stands.
        utilisation = utilisation or util

    times["total"] = time.perf_counter() - t_start
    report: dict[str, Any] = {
        "design": design,
        "target": target,
        "device": tgt.device,
        "package": tgt.package,
        "config_digest": config_digest,
        "synth_command": f"{c_synth} -top {top}",
        "abc9_fallback": c_synth != tgt.synth,
        "resources": resources,
        "fmax_mhz": statistics.median(fmax),
        "fmax_mhz_per_seed": fmax,
        "fmax_mhz_per_clock": fmax_clocks,
        "seeds": seeds,
        "freq_target_mhz": FREQ_MHZ,
        "harness": {
            "in_bits": harness.in_bits,
            "out_bits": harness.out_bits,
            "resources": h_resources,
            "synth_command": f"{h_synth} -top {top_h}",
            "abc9_fallback": h_synth != tgt.synth,
            "overhead": overhead,
            "utilisation": utilisation,
        },
        "tools": syn["tools"],
        "files": {
            "verilog": f"{top}.v",
            **({"sources": list(src_names)} if src_names else {}),
            "harness_verilog": f"{top_h}.v",
            "harness_netlist": f"{top_h}.json",
            "netlist_verilog": NETLIST_V,
            "netlist_json": NETLIST_JSON,
            "logs": ["yosys_core.log", *(["yosys_core_fallback.log"] if c_synth != tgt.synth else []),
                     "yosys_harness.log",
                     *(["yosys_harness_fallback.log"] if h_synth != tgt.synth else []),
                     *(f"nextpnr_seed{s}.log" for s in seeds)],
        },
        "verilog_sha256": synth_key["verilog"],
        "cache": {"synth": "hit" if synth_hit else "miss", "pnr": pnr_cache} if cache else None,
        "time_s": {step: round(t, 3) for step, t in times.items()},
        "extra": extra,
    }
    write_atomic(report_json, json.dumps(report, indent=2) + "\n")
    write_atomic(report_md, markdown(report, tgt))
    return report


def core_netlist(make_component: Callable[[], wiring.Component], *, design: str, target: str,
                 out_dir: Path | str, synth: str | None = None) -> dict[str, Any]:
    """Only the core step of :func:`synthesize`: Verilog, yosys, resources and mapped netlist.

    For designs that need no Fmax (the power calibration, tests). ``synth`` overrides the
    target's synthesis command (e.g. without ``-dsp``). Returns the resources dict; the
    netlist is ``out_dir/core_netlist.v`` and ``.json``. No cache.
    """
    if target not in TARGETS:
        raise PezoError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top = f"pezo_{design}"
    (out / f"{top}.v").write_text(spram_ready(verilog.convert(make_component(), name=top,
                                                              emit_src=False), target))
    return run.synth_core(design, TARGETS[target], synth or TARGETS[target].synth, top, out, {},
                          lambda _m: None)
