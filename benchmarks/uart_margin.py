"""Baud-rate tolerance of the UART receiver (docs/uart.md): the golden model, equal to the RTL
every cycle, against an ideal sender that is faster or slower by a growing rate error.

    .venv/bin/python benchmarks/uart_margin.py

Writes out/bench/uart_margin.{md,json}.
"""

from __future__ import annotations

import json

from pezo.bench.common import OUT, machine
from pezo.files import write_atomic
from pezo.sim.uart import rx_line
from pezo.sw.golden.uart import Uart
from pezo.uart import UartParams

POINTS = [(12_000_000, 3_000_000), (12_000_000, 1_500_000), (12_000_000, 115_200), (25_000_000, 115_200)]
SEEDS, BYTES, STEP = 30, 20, 0.0025


def works(params: UartParams, rate_error: float) -> bool:
    for seed in range(SEEDS):
        levels, want = rx_line(params, BYTES, seed, rate_error)
        if Uart(params).receive(levels) != (want, 1):
            return False
    return True


def margin(params: UartParams, sign: int) -> float:
    n = 0
    while works(params, sign * (n + 1) * STEP):
        n += 1
    return n * STEP


def main() -> None:
    rows = []
    for clk, baud in POINTS:
        p = UartParams(clk, baud)
        rows.append({"clk_hz": clk, "baud": baud, "divisor": p.divisor,
                     "faster": margin(p, 1), "slower": margin(p, -1)})
        print(rows[-1], flush=True)
    md = ["| clock / baud | div | sender faster | sender slower |", "|---|---:|---:|---:|"]
    md += [f"| {r['clk_hz'] / 1e6:g} MHz / {r['baud']} | {r['divisor']} | {100 * r['faster']:.2f}% | "
           f"{100 * r['slower']:.2f}% |" for r in rows]
    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "uart_margin.json", json.dumps({"rows": rows, "machine": machine()}, indent=1))
    write_atomic(OUT / "uart_margin.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
