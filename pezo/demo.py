"""``pezo demo`` (``make demo``): the main job on one configuration, end to end.

Generates the LFSR bank's Verilog, co-simulates it cycle by cycle against the golden model with
Icarus, synthesises and places it for the iCE40 UP5K, and prints a summary table.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import config, designs
from .build.flow import synthesize
from .sim.runner import cosimulate

OUT = Path("out/demo")


def _say(step: str, msg: str) -> None:
    print(f"[{step}] {msg}", file=sys.stderr, flush=True)


def run(config_path: str | None = None, seeds: int = 3, cycles: int = 20000) -> int:
    cfg = config.load(config_path)
    design = designs.get("lfsr")
    lf = cfg.engine.lfsr
    t_start = time.perf_counter()
    _say("1/3", f"generate: LFSR bank, {lf.lanes} x {lf.structure} width {lf.width}, k={lf.k}, "
                f"taps {list(lf.params.taps)}")
    OUT.mkdir(parents=True, exist_ok=True)
    vfile = OUT / f"{design.toplevel}.v"
    vfile.write_text(design.verilog(cfg))

    _say("2/3", f"co-simulate: {cycles} cycles with random stalls, every cycle against the golden model")
    t0 = time.perf_counter()
    trace = design.trace(cfg, cycles, 1)
    sim = cosimulate(vfile, design.toplevel, trace, build_dir=OUT / "sim", simulator="icarus")
    t_sim = time.perf_counter() - t0

    _say("3/3", f"synthesise: yosys + nextpnr for ice40-up5k, {seeds} seeds")
    t0 = time.perf_counter()
    rep = synthesize(lambda: design.component(cfg), design=design.name, target="ice40-up5k",
                     seeds=list(range(1, seeds + 1)), out_dir=OUT / "ice40-up5k",
                     config_digest=design.digest(cfg), progress=lambda m: _say("3/3", m),
                     extra=design.extras(cfg))
    t_syn = time.perf_counter() - t0
    res = rep["resources"]
    bits = lf.bits_per_cycle
    rows = [
        ("Verilog", str(vfile)),
        ("co-simulation", f"{sim.cycles} cycles, 0 mismatches, {sim.cycles_per_second:,.0f} cycles/s ({t_sim:.1f} s)"),
        ("fresh bits / cycle", f"{bits} ({lf.lanes} lanes x k={lf.k})"),
        ("LUT4", f"{res['LUT']} ({res['LUT'] / bits:.2f} per fresh bit)"),
        ("FF", f"{res['FF']} ({res['FF'] / bits:.2f} per fresh bit; "
               f"{lf.lanes * lf.width} state + {lf.lanes * lf.width if lf.replay else 0} replay shadow)"),
        ("BRAM / DSP", f"{res['BRAM']} / {res['DSP']}"),
        ("Fmax (median)", f"{rep['fmax_mhz']:.1f} MHz over seeds {rep['seeds']}"),
        ("synthesis report", str(OUT / "ice40-up5k" / "report.md") + f" ({t_syn:.0f} s)"),
    ]
    w = max(len(a) for a, _ in rows)
    print(f"\npezo demo: default LFSR bank on ice40-up5k (config digest {cfg.digest()})")
    print(f"| {'':<{w}} | result |\n|{'-' * (w + 2)}|--------|")
    for a, b in rows:
        print(f"| {a:<{w}} | {b} |")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0
