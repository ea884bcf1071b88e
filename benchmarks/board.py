"""The board top on both boards, and the link's speed (issue: on the board).

    .venv/bin/python benchmarks/board.py [--config FILE] [--d 4096] [--no-build]

A. ``pezo board build`` of the configuration for the iCEBreaker and the ULX3S-25F: resources,
   Fmax and slack at the board's clock, build time.
B. One ZO step of ``d`` parameters through the board top's RTL (UART, decoder, update system) in
   the simulator at 3 Mbaud (12 MHz, 4 cycles a bit): the cycles of each request, from its first
   byte on the line to its reply's last stop bit, cycle-accurate. The same at 115200 baud follows
   from the bytes on the line (10 bits each) and the device's own cycles (measured at 3 Mbaud:
   the step's cycles minus its bytes' line time), since only the line's speed changes.

Writes out/bench/board.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from pezo.app import board
from pezo.bench.common import OUT, machine
from pezo.config import load
from pezo.files import write_atomic
from pezo.host import Device
from pezo.link import Command, encode
from pezo.sim.bridge import SimTransport
from pezo.uart import UartParams
from pezo.update_rules import Op

CLK, FAST, SLOW = 12_000_000, 3_000_000, 115_200


def builds(cfg) -> list[dict]:
    rows = []
    for name in board.BOARDS:
        rep = board.build(board.get(name), cfg, board.DEFAULT_BAUD, OUT / "board-bench" / name,
                          progress=lambda m: print(f"  .. {m}", flush=True))
        rows.append(rep)
        print(f"{name}: {rep['fmax_mhz']} MHz, slack {rep['slack_ns']} ns, {rep['build_seconds']} s", flush=True)
    return rows


def step(cfg, d: int) -> dict:
    link = board.link_params(cfg, CLK)
    transport = SimTransport(link, UartParams(CLK, FAST), OUT / "board-bench" / "sim")
    dev = Device(transport, link, timeout=600, where="sim")
    rng = random.Random(1)
    dev.identify()
    dev.load([rng.randrange(-2000, 2000) for _ in range(d)])
    dev.run_pass(Op.PLUS, d, readback=True)
    dev.run_pass(Op.MINUS2, d, readback=True)
    dev.run_pass(Op.RESTORE, d)
    dev.scalar(-123)
    dev.run_pass(Op.UPDATE, d)
    rep = transport.close()
    per = rep["transactions"][-5:]
    bpw = link.bytes_per_word
    words = -(-d // link.rules.lanes)
    # (request, reply) bytes of the step's five requests
    sizes = [(len(encode(0, Command.PASS, bytes(6))), 8 + words * bpw)] * 2 + \
        [(len(encode(0, Command.PASS, bytes(6))), 8)] + [(len(encode(0, Command.SCALAR, bytes(link.scalar_bytes))), 7)] + \
        [(len(encode(0, Command.PASS, bytes(6))), 8)]
    line_bytes = sum(a + b for a, b in sizes)
    cycles = sum(per)
    device_cycles = cycles - line_bytes * 10 * (CLK // FAST)
    slow_cycles = device_cycles + line_bytes * 10 * round(CLK / SLOW)
    return {"d": d, "requests": ["PLUS+read-back", "MINUS2+read-back", "RESTORE", "SCALAR", "UPDATE"],
            "cycles_per_request": per, "line_bytes": line_bytes, "cycles_3M": cycles,
            "ms_3M": 1000 * cycles / CLK, "device_cycles": device_cycles, "cycles_115200": slow_cycles,
            "ms_115200": 1000 * slow_cycles / CLK,
            "throughput_3M_kBps": line_bytes / (cycles / CLK) / 1000,
            "throughput_115200_kBps": line_bytes / (slow_cycles / CLK) / 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None)
    ap.add_argument("--d", type=int, default=4096)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    cfg = load(args.config)
    t0 = time.perf_counter()
    rows = [] if args.no_build else builds(cfg)
    s = step(cfg, args.d)
    md = ["# The board top and its link", ""]
    if rows:
        md += ["| board | clock MHz | Fmax MHz | slack ns | logic (iCE40 LC: LUT+FF; ECP5 LUT4) | FF | BRAM | DSP | build s |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            u = r["utilisation"]
            get = lambda *k: next((u[x]["used"] for x in k if x in u), 0)    # noqa: E731
            md.append(f"| {r['board']} | {r['clock_mhz']:g} | {r['fmax_mhz']} | {r['slack_ns']} | "
                      f"{get('ICESTORM_LC', 'TRELLIS_COMB')} | {get('TRELLIS_FF') or '(in LC)'} | "
                      f"{get('ICESTORM_RAM', 'DP16KD')} | {get('ICESTORM_DSP', 'MULT18X18D')} | {r['build_seconds']} |")
        md.append("")
    md += [f"One ZO step of d = {s['d']} (PLUS and MINUS2 with read-back, RESTORE, SCALAR, UPDATE): "
           f"{s['line_bytes']} bytes on the line.", "",
           "| baud | cycles at 12 MHz | ms | line kB/s |", "|---:|---:|---:|---:|",
           f"| 3000000 (simulated) | {s['cycles_3M']} | {s['ms_3M']:.1f} | {s['throughput_3M_kBps']:.1f} |",
           f"| 115200 (derived) | {s['cycles_115200']} | {s['ms_115200']:.1f} | {s['throughput_115200_kBps']:.2f} |",
           "", f"Per request at 3 Mbaud (cycles): {dict(zip(s['requests'], s['cycles_per_request']))}; "
           f"the device's own cycles in the step: {s['device_cycles']}.", "",
           f"Machine {machine()}; {time.perf_counter() - t0:.0f} s."]
    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "board.json", json.dumps({"builds": rows, "step": s, "machine": machine()}, indent=1))
    write_atomic(OUT / "board.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
