"""The ``pezo`` command line.

Exit status: 0 success; 1 a user-caused error, reported as one line on stderr (a bad
configuration, an output that cannot be written, another run writing the same destination, a
failed tool, a mismatch); 2 a usage error (argparse); 130 interrupted (Ctrl-C); 141 the reader
of the output went away (a closed pipe, quietly). A traceback means a bug in pezo.

Outputs follow one rule (:mod:`pezo.files`): every destination is checked before the work
starts, written atomically with the umask's permissions, report folders replaced only when the
new one is complete, and a destination is written by one run at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pezo import __version__
from pezo.errors import PezoError
from pezo.files import check_dir, check_file, locked, staged_dir, write_atomic

OUT = Path("out")


def _progress(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def _load(path: str | None):
    from pezo import config

    return config.load(path)


# --- config ------------------------------------------------------------------------------


def _digests(cfg) -> str:
    """Both digests a configuration has, each labelled with what it covers."""
    from .designs import DESIGNS

    per = {}
    for d in DESIGNS.values():
        per.setdefault(d.digest(cfg), []).append(d.name)
    designs = "; ".join(f"{'/'.join(names)} {dig}" for dig, names in per.items())
    return f"configuration digest {cfg.digest()} (every field); design digests (the sections a design is " \
           f"built from: the cache and report key) {designs}"


def cmd_config_show(args) -> int:
    cfg = _load(args.file)
    lf = cfg.engine.lfsr
    print(f"# effective configuration ({args.file or 'defaults'})")
    print(f"# {_digests(cfg)}")
    print(f"# engine: {cfg.engine.params.describe()}; engine.lfsr: taps {list(lf.params.taps)}, "
          f"lane seeds {[hex(s) for s in lf.seeds]}")
    print(cfg.to_toml(), end="")
    return 0


def cmd_config_check(args) -> int:
    from pezo.config import ConfigError

    cfg = _load(args.file)
    print(f"{args.file}: ok ({_digests(cfg)})")
    try:
        cfg.engine.check_bank()
    except ConfigError as e:
        print(f"note: fine for the LFSR bank alone, but the engine cannot be built from it: {e}")
    try:
        cfg.update.check_engine(cfg.engine)
    except ConfigError as e:
        print(f"note: the update datapath cannot be built from it: {e}")
    return 0


# --- generate / sim / synth --------------------------------------------------------------


def cmd_generate(args) -> int:
    from . import designs

    design = designs.get(args.design)
    cfg = _load(args.config)
    out = check_file(args.output) if args.output else \
        check_file(OUT / design.name / f"{design.toplevel}.v", parents=True)
    text = design.verilog(cfg)
    write_atomic(out, text)
    print(f"wrote {out} ({len(text.splitlines())} lines, top module {design.toplevel})")
    return 0


def cmd_sim(args) -> int:
    from pezo.sim.runner import cosimulate

    from . import designs

    design = designs.get(args.design)
    cfg = _load(args.config)
    if args.cycles < 1:
        raise PezoError(f"--cycles must be at least 1, got {args.cycles}")
    build_dir = check_dir(args.out) if args.out else \
        check_dir(OUT / design.name / "sim" / design.digest(cfg), parents=True)
    with locked(build_dir):
        _progress(f"golden model: {args.cycles} cycles (stimulus seed {args.seed})")
        t0 = time.perf_counter()
        trace = design.trace(cfg, args.cycles, args.seed)
        t_golden = time.perf_counter() - t0
        vfile = build_dir / f"{design.toplevel}.v"
        write_atomic(vfile, design.verilog(cfg))
        _progress(f"{args.simulator}: building and simulating {vfile}")
        result = cosimulate(vfile, design.toplevel, trace, build_dir=build_dir,
                            simulator=args.simulator, waves=args.waves)
        # the report, with what it is of (pezo report show reads it)
        write_atomic(build_dir / "report.json", json.dumps(
            {"format": "pezo-sim", "version": 1, "design": design.name, "toplevel": design.toplevel,
             "simulator": args.simulator, "design_digest": design.digest(cfg), "config_digest": cfg.digest(),
             "stimulus_seed": args.seed, **result.report}, indent=1) + "\n")
    print(f"{design.name}: {result.cycles} cycles match the golden model "
          f"({args.simulator}, {result.cycles_per_second:,.0f} cycles/s; golden {t_golden:.2f} s)")
    if result.waveform:
        print(f"waveform: {result.waveform}")
    return 0


def _external(args):
    """The external core of ``--verilog FILE... --top NAME`` (its ports read by yosys), or None."""
    if not args.verilog:
        for opt in ("top", "stimulus"):
            if getattr(args, opt):
                raise PezoError(f"--{opt} describes an external core: give its files with --verilog")
        return None
    if not args.top:
        raise PezoError("--verilog needs --top NAME, the module to synthesise")
    from pezo.build import external

    name = args.name or args.top
    return external.load(name, [Path(f) for f in args.verilog], args.top,
                         check_dir(OUT / "external" / name, parents=True), clock=args.clock, reset=args.reset,
                         stimulus=Path(args.stimulus) if args.stimulus else None)


def cmd_synth(args) -> int:
    from pezo.build.cache import Cache
    from pezo.build.evaluate import evaluate
    from pezo.build.flow import synthesize

    from . import designs

    if args.seeds < 1:
        raise PezoError(f"--seeds must be at least 1, got {args.seeds}")
    if args.verilog and (args.design or args.config):
        raise PezoError("give either a DESIGN (with --config) or --verilog FILE... --top NAME, not both")
    if not args.verilog and not args.design:
        raise PezoError(f"give a DESIGN ({', '.join(sorted(designs.DESIGNS))}) or --verilog FILE... --top NAME")
    design = designs.get(args.design) if args.design else None
    cfg = _load(args.config) if design else None
    out_dir = check_dir(args.out) if args.out else \
        check_dir(OUT / (design.name if design else f"external/{args.name or args.top or 'core'}") / args.target,
                  parents=True)
    cache = None if args.no_cache else Cache(_cache_dir(args.cache))
    ext = _external(args)
    seeds = list(range(1, args.seeds + 1))
    # built in a fresh folder beside out_dir, swapped in when complete: the previous report
    # stays until then, and no log of an earlier run survives beside the new one
    with locked(out_dir), staged_dir(out_dir) as work:
        if ext is not None:
            report = evaluate(ext, None, target=args.target, seeds=seeds, work_dir=work, cache=cache,
                              progress=_progress)
        else:
            report = synthesize(lambda: design.component(cfg), design=design.name, target=args.target,
                                seeds=seeds, out_dir=work, config_digest=design.digest(cfg), progress=_progress,
                                extra=design.extras(cfg), cache=cache)
    print(_synth_summary(report))
    if ext is not None:
        pw = report["power"]
        print(f"power: {pw['dynamic_uw']:g} µW dynamic at {pw['f_mhz']:g} MHz (estimate, "
              f"{pw['toggles_per_cycle']:g} toggles/cycle)" if "dynamic_uw" in pw else f"power: {pw['none']}")
    print(f"report: {out_dir / 'report.md'} and {out_dir / 'report.json'}")
    return 0


def _cache_dir(path: str | None) -> Path:
    """The result cache's folder, checked before any work (it is written during the run)."""
    import os

    from pezo.build.cache import DEFAULT_ROOT

    given = path or os.environ.get("PEZO_CACHE")
    return check_dir(given) if given else check_dir(DEFAULT_ROOT, parents=True)


def _synth_summary(r: dict) -> str:
    res = r["resources"]
    bits = r.get("extra", {}).get("fresh_bits_per_cycle")
    spram = f"{res['SPRAM']} SPRAM, " if res.get("SPRAM") else ""
    line = (f"{r['design']} on {r['target']}: {res['LUT']} LUT, {res['FF']} FF, {res['BRAM']} BRAM, "
            f"{spram}{res['DSP']} DSP, Fmax {r['fmax_mhz']:.1f} MHz (median of {len(r['seeds'])} seeds)")
    if bits:
        line += f"; per fresh bit: {res['LUT'] / bits:.2f} LUT, {res['FF'] / bits:.2f} FF"
    extra = r.get("extra", {})
    if "strategy" in extra:
        line += (f"; {extra['strategy']}: {extra['fresh_bits_per_param_stream']:g} fresh bits per parameter "
                 f"+ {extra['fill_bits_per_step']} per step")
    return line


# --- report ------------------------------------------------------------------------------


def cmd_report_compare(args) -> int:
    from pezo import config
    from pezo.build import report
    from pezo.build.cache import Cache

    from . import designs

    design = designs.get(args.design)
    if args.seeds < 1:
        raise PezoError(f"--seeds must be at least 1, got {args.seeds}")
    if not args.configs and not args.verilog:
        raise PezoError("give at least one CONFIG (or an external core with --verilog FILE... --top NAME)")
    paths = [Path(p) for p in args.configs]
    baseline = 0
    if args.baseline:
        b = Path(args.baseline)
        matches = [i for i, p in enumerate(paths) if p.resolve() == b.resolve()]
        if matches:
            baseline = matches[0]
        else:
            paths.insert(0, b)
    configs = [(p.stem, p, config.load(p)) for p in paths]
    names = [n for n, _p, _c in configs]
    if len(set(names)) != len(names):
        configs = [(str(p), p, c) for _n, p, c in configs]
    ext = _external(args)
    if ext is not None:
        if ext.name in [n for n, _p, _c in configs]:
            raise PezoError(f"--name {ext.name} is already the name of a CONFIG; choose another")
        configs.append((ext.name, None, None, ext))
    tag = "-".join(dict.fromkeys(p.stem if p else n for n, p, *_ in configs))
    if len(tag) > 60:
        tag = f"{len(configs)}configs-" + report.digest([c.digest() if c else n for n, _p, c, *_ in configs])[:10]
    out = check_dir(args.out) if args.out else \
        check_dir(OUT / "report" / f"{design.name}-{args.target}-{tag}", parents=True)
    work_root = check_dir(OUT / "flows", parents=True)
    cache = Cache(_cache_dir(args.cache)) if not args.no_cache else None
    with locked(out):
        doc = report.compare(configs, design=design, target=args.target, baseline=baseline,
                             seeds=list(range(1, args.seeds + 1)), out=out, work_root=work_root,
                             cache=cache, progress=_progress)
    print(report.markdown_table(doc["rows"], doc["baseline"]), end="")
    print(f"report: {out}/compare.md (.csv, .json, .png, .svg, .pdf); {doc['time_s']:.1f} s")
    return 0


def cmd_report_show(args) -> int:
    from pezo.build import report

    print(report.show(report.load_report(args.file)), end="")
    return 0


# --- explore -----------------------------------------------------------------------------


def cmd_explore(args) -> int:
    from .explore import explore, load_space

    space = load_space(args.space)
    if args.workers is not None and args.workers < 1:
        raise PezoError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise PezoError("--workers sizes the local cluster; a cluster given with --scheduler has its own")
    out = check_dir(args.out) if args.out else check_dir(OUT / "explore" / space.name, parents=True)
    cache_dir = None if args.no_cache else _cache_dir(args.cache)
    work = check_dir(OUT / "explore-work", parents=True).resolve()
    with locked(out):
        doc = explore(space, out=out, cache_dir=cache_dir, scheduler=args.scheduler, workers=args.workers,
                      work=work, say=_progress)
    for target, name in doc["recommended"].items():
        print(f"{target}: recommended {name}; front (LUT vs accuracy): {', '.join(doc['fronts'][f'{target}/LUT'])}")
    if doc["failed"]:
        print(f"{len(doc['failed'])} job(s) failed: " + "; ".join(f"{k}: {v}" for k, v in doc["failed"].items()))
    print(f"rule: {doc['rule']}")
    print(f"report: {out}/front.md (points.csv, points.json, front-<target>-lut/power.png/.svg); "
          f"{doc['meta']['seconds']:.0f} s")
    return 1 if doc["failed"] else 0


# --- doctor / demo -----------------------------------------------------------------------


def cmd_doctor(args) -> int:
    from .doctor import report

    text, ok = report()
    print(text)
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from .demo import run

    return run(config_path=args.config, seeds=args.seeds, cycles=args.cycles, cache_dir=args.cache)


# --- train -------------------------------------------------------------------------------


def cmd_train(args) -> int:
    from pezo.sw.zo.train import train

    if (args.task is None) == (args.hf_model is None):
        raise PezoError("choose a built-in --task or a Hugging Face checkpoint with --hf-model PATH --data FILE.csv")
    if args.hf_model is None and (args.data or args.label_column or args.text_column):
        raise PezoError("--data, --label-column and --text-column go with --hf-model")
    if args.hf_model is not None and not args.data:
        raise PezoError("--hf-model needs --data FILE.csv (a text column and a label column)")
    out_root = check_dir(args.out) if args.out else check_dir(OUT / "train", parents=True)
    device, torch_device = None, "cpu"
    if args.device in ("cpu", "cuda") or (args.device or "").startswith("cuda:"):
        torch_device = args.device
        if args.baud is not None:
            raise PezoError("--baud sets the link of a board --device (sim or a serial port)")
    elif args.device:
        from .board import open_device

        cfg = _load(args.config)
        device = lambda: open_device(args.device, cfg, args.baud, OUT / "board" / "sim", _progress)  # noqa: E731
    elif args.baud is not None:
        raise PezoError("--baud sets the link of a --device")
    task = args.task
    if args.hf_model is not None:
        from pezo.sw.zo.hf import hf_task
        from pezo.sw.zo.train import check_steps, check_torch_device

        check_steps(args.lr, args.eps, args.weight_decay)
        check_torch_device(torch_device)
        task = hf_task(args.hf_model, args.data, args.label_column or "label", args.text_column)
    s = train(task, args.optimizer, args.config, steps=args.steps, budget=args.budget, seeds=args.seeds,
              out_root=out_root, device=device, lr=args.lr, eps=args.eps, weight_decay=args.weight_decay,
              torch_device=torch_device)
    spread = f" +- {s['final_std']:.2f}" if s["seeds"] > 1 else ""
    print(f"{s['task']}/{s['label']}: test {s['metric']} {s['final_mean']:.2f}{spread} % "
          f"over {s['seeds']} seed(s)")
    print(f"logs: {s['out']}/seed*.csv, run.json; curves: {s['out']}/curves.png")
    return 0


# --- board -------------------------------------------------------------------------------


def cmd_board_build(args) -> int:
    from . import board

    b = board.get(args.board)
    cfg = _load(args.config)
    out_dir = check_dir(args.out) if args.out else check_dir(OUT / "board" / b.name, parents=True)
    rep = board.build(b, cfg, args.baud, out_dir, progress=_progress)
    used = ", ".join(f"{u['used']}/{u['available']} {bel}" for bel, u in rep["utilisation"].items()
                     if u["used"] and not bel.endswith("IO"))
    print(f"{b.name}: {used}; Fmax {rep['fmax_mhz']} MHz at a {rep['clock_mhz']:g} MHz clock "
          f"(slack {rep['slack_ns']} ns); built in {rep['build_seconds']} s")
    print(f"bitstream: {out_dir / b.bitstream}; report: {out_dir / 'report.md'}")
    return 0


def cmd_board_program(args) -> int:
    import subprocess

    from . import board

    b = board.get(args.board)
    out_dir = Path(args.out) if args.out else OUT / "board" / b.name
    cmd, present = board.program_command(b, out_dir)
    shown = " ".join(cmd)
    if not present or args.dry_run:
        print(shown)
        if not present:
            print(f"pezo: {cmd[0]} is not installed; install it and run the command above", file=sys.stderr)
        return 0 if args.dry_run else 1
    print(f"  .. {shown}", file=sys.stderr)
    return subprocess.run(cmd).returncode


# --- parser ------------------------------------------------------------------------------


def _flow_args(p: argparse.ArgumentParser) -> None:
    """Options of every command that runs the synthesis flow."""
    p.add_argument("--target", required=True, choices=["ice40-up5k", "ecp5-25k"])
    p.add_argument("--seeds", type=int, default=3, help="nextpnr seeds (Fmax is the median)")
    p.add_argument("--cache", metavar="DIR", help="result cache (default $PEZO_CACHE or out/cache)")
    p.add_argument("--no-cache", action="store_true", help="run every tool, store nothing")


def _external_args(p: argparse.ArgumentParser) -> None:
    """Options naming an external Verilog core (pezo.build.external)."""
    p.add_argument("--verilog", nargs="+", metavar="FILE", help="an external core: its Verilog files")
    p.add_argument("--top", metavar="NAME", help="the external core's top module")
    p.add_argument("--name", metavar="NAME", help="its name in reports and file names (default: --top)")
    p.add_argument("--clock", default="clk", metavar="PORT", help="its clock port (default clk)")
    p.add_argument("--reset", default="rst", metavar="PORT",
                   help="its synchronous active-high reset port, if it has one (default rst)")
    p.add_argument("--stimulus", metavar="TRACE.json",
                   help="per-cycle port values for its power estimate (co-simulation trace format); "
                        "without one, power is not estimated")


def build_parser() -> argparse.ArgumentParser:
    from .designs import DESIGNS

    p = argparse.ArgumentParser(prog="pezo", description="Perturbation-efficient ZO training hardware.")
    p.add_argument("--version", action="version", version=f"pezo {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("config", help="show or check a configuration")
    csub = c.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = csub.add_parser("show", help="print the effective configuration")
    s.add_argument("file", nargs="?")
    s.set_defaults(func=cmd_config_show)
    s = csub.add_parser("check", help="validate a configuration file")
    s.add_argument("file")
    s.set_defaults(func=cmd_config_check)

    names = sorted(DESIGNS)
    g = sub.add_parser("generate", help="write a design's Verilog")
    g.add_argument("design", choices=names)
    g.add_argument("--config", metavar="FILE")
    g.add_argument("-o", "--output", metavar="OUT.v",
                   help="the Verilog file (default out/<design>/pezo_<design>.v); its folder must exist, "
                        "or only its last level is created")
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("sim", help="co-simulate a design against its golden model")
    s.add_argument("design", choices=names)
    s.add_argument("--config", metavar="FILE")
    s.add_argument("--simulator", choices=["icarus", "verilator"], default="icarus")
    s.add_argument("--cycles", type=int, default=10000)
    s.add_argument("--seed", type=int, default=1, help="stimulus seed (random stalls)")
    s.add_argument("--waves", action="store_true", help="dump a waveform")
    s.add_argument("--out", metavar="DIR", help="build directory (default out/<design>/sim/<design digest>); "
                                                "only its last level is created")
    s.set_defaults(func=cmd_sim)

    s = sub.add_parser("synth", help="synthesise and place-and-route a design, or your own Verilog core")
    s.add_argument("design", choices=names, nargs="?")
    s.add_argument("--config", metavar="FILE")
    _flow_args(s)
    _external_args(s)
    s.add_argument("--out", metavar="DIR", help="report directory (default out/<design>/<target>), replaced "
                                                "as a whole when the run completes; only its last level is "
                                                "created")
    s.set_defaults(func=cmd_synth)

    r = sub.add_parser("report", help="compare configurations: resources, Fmax, estimated power")
    rsub = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = rsub.add_parser("compare", help="side-by-side tables (md, csv, json) and plots")
    c.add_argument("configs", nargs="*", metavar="CONFIG")
    _flow_args(c)
    _external_args(c)
    c.add_argument("--baseline", metavar="CONFIG", help="reference for the reductions (default: the first CONFIG)")
    c.add_argument("--design", choices=names, default="engine")
    c.add_argument("--out", metavar="DIR", help="report directory (default out/report/<design>-<target>-"
                                                "<configs>), replaced as a whole when the run completes; only "
                                                "its last level is created")
    c.set_defaults(func=cmd_report_compare)
    c = rsub.add_parser("show", help="print a report pezo wrote: compare.json, synth or sim report.json, "
                                     "train run.json")
    c.add_argument("file", metavar="REPORT.json")
    c.set_defaults(func=cmd_report_show)

    from pezo.sw.zo import OPTIMIZERS, TASK_NAMES

    t = sub.add_parser("train", help="ZO training with the hardware stream (MeZO, PeZO, DiZO, PseuZO) or first order")
    t.add_argument("--task", choices=TASK_NAMES, help="a built-in task (or --hf-model)")
    t.add_argument("--optimizer", required=True, choices=OPTIMIZERS)
    t.add_argument("--config", metavar="FILE", help="engine configuration (pezo, dizo, pseuzo, pseuzo-ema)")
    t.add_argument("--steps", type=int, help="optimizer steps (default: the task's forward-pass budget)")
    t.add_argument("--budget", type=int, help="forward passes to spend")
    t.add_argument("--seeds", type=int, default=1, help="runs with seeds 0..K-1")
    t.add_argument("--lr", type=float, help="step size (default: the task's)")
    t.add_argument("--eps", type=float, help="ZO perturbation size (default: the task's)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="MeZO-style weight decay (biases and "
                                                                   "normalisation layers skipped; default 0)")
    t.add_argument("--hf-model", metavar="PATH", help="a local Hugging Face checkpoint to fine-tune for sequence "
                                                       "classification (pip install -e '.[hf]')")
    t.add_argument("--data", metavar="FILE.csv", help="--hf-model's data: a text column and a label column")
    t.add_argument("--label-column", metavar="NAME", help="the CSV's label column (default: label)")
    t.add_argument("--text-column", metavar="NAME", help="the CSV's text column (default: text, sentence, "
                                                          "or the only other column)")
    t.add_argument("--device", metavar="cpu|cuda|sim|PORT",
                   help="where the model runs: cpu (default) or cuda (torch); or the parameters live on a board "
                        "(its serial port, e.g. /dev/ttyUSB1) or on its RTL in a simulator (sim; --optimizer pezo)")
    t.add_argument("--baud", type=int, help="the device's UART (default 115200; sim: 3000000)")
    t.add_argument("--out", metavar="DIR", help="log root (default out/train); the run's folder "
                                                "<root>/<task>/<label> is replaced when the run completes")
    t.set_defaults(func=cmd_train)

    x = sub.add_parser("explore", help="the Pareto front of hardware cost against accuracy over a space of "
                                       "configurations, on Dask (docs/explore.md)")
    x.add_argument("space", metavar="SPACE.toml")
    x.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask cluster (tcp://HOST:8786); "
                                                          "default: a local cluster")
    x.add_argument("--workers", type=int, help="workers of the local cluster (default: one per CPU)")
    x.add_argument("--out", metavar="DIR", help="report folder (default out/explore/<name>), replaced as a whole "
                                                "when the exploration completes; only its last level is created")
    x.add_argument("--cache", metavar="DIR", help="result cache (default $PEZO_CACHE or out/cache)")
    x.add_argument("--no-cache", action="store_true", help="run every job, file nothing")
    x.set_defaults(func=cmd_explore)

    b = sub.add_parser("board", help="the update system with a UART host link on a real board")
    bsub = b.add_subparsers(dest="board_cmd", required=True)
    c = bsub.add_parser("build", help="bitstream, utilisation and timing at the board's clock (out/board/BOARD)")
    c.add_argument("--board", required=True, help="icebreaker (iCE40 UP5K) or ulx3s-25f (ECP5)")
    c.add_argument("--config", metavar="FILE")
    c.add_argument("--baud", type=int, default=115_200, help="UART baud rate (default 115200)")
    c.add_argument("--out", metavar="DIR", help="default out/board/BOARD")
    c.set_defaults(func=cmd_board_build)
    c = bsub.add_parser("program", help="load the bitstream (iceprog / openFPGALoader), or print the command")
    c.add_argument("--board", required=True)
    c.add_argument("--out", metavar="DIR", help="where the build put it (default out/board/BOARD)")
    c.add_argument("--dry-run", action="store_true", help="print the command only")
    c.set_defaults(func=cmd_board_program)

    d = sub.add_parser("doctor", help="versions of the tools pezo uses, and how to install missing ones")
    d.set_defaults(func=cmd_doctor)

    d = sub.add_parser("demo", help="the default engine end to end: Verilog, co-simulation, synthesis and "
                                    "power beside a Gaussian source and PeZO, training against MeZO")
    d.add_argument("--config", metavar="FILE")
    d.add_argument("--seeds", type=int, default=3, help="nextpnr seeds (Fmax is the median)")
    d.add_argument("--cycles", type=int, default=20000, help="co-simulation cycles")
    d.add_argument("--cache", metavar="DIR", help="result cache (default $PEZO_CACHE or out/cache)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PezoError as e:
        print(f"pezo: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pezo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) has gone: stop quietly; later writes to the closed pipe
        # (at interpreter exit) go to /dev/null instead of raising again
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
