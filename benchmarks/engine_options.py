"""Design options of the engine that the current code can still compare side by side.

    .venv/bin/python benchmarks/engine_options.py [--seeds N]

A. The LFSR bank's register: holding ``state ^ seed`` (reset 0, an inverter-free power-up on
   the iCE40; pezo's bank until this round, rebuilt here as a small ablation) against holding
   the state itself with the seed as reset value (the bank now). Core resources only (yosys).
B. The default engine's pass-length counter: ``engine.max_params`` sets its width; LUT, FF and
   median Fmax of the Rademacher engine for 64 .. 2**20.

Writes out/bench/engine_options.{md,json}. The other options of docs/results/engine-options.md
changed the design itself and are measured there against the commit before them.
"""

from __future__ import annotations

import argparse
import json

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pezo.bench.common import OUT, machine
from pezo import config, gf2
from pezo.app import designs
from pezo.build.flow import core_netlist, synthesize
from pezo.config import LfsrConfig
from pezo.lfsr import BankParams
from pezo.files import write_atomic
from pezo.hw.lfsr import LfsrBank

TARGETS = ("ice40-up5k", "ecp5-25k")
BANKS = [(31, 8), (31, 16), (63, 16), (63, 62)]
MAX_PARAMS = [64, 4096, 1 << 16, 1 << 20]


class XorBank(wiring.Component):
    """The bank as it was: the register holds ``state ^ seed`` and resets to 0; the port
    shows the top k bits of the state (the XOR undone at the output)."""

    def __init__(self, params: BankParams):
        self._p, self._seeds = params.lfsr, params.seeds
        super().__init__({"en": In(1), "out": Out(params.bits_per_cycle), "snapshot": In(1), "restore": In(1)})

    def elaborate(self, platform):
        m, p = Module(), self._p
        for lane, seed in enumerate(self._seeds):
            reg, shadow = Signal(p.width), Signal(p.width)
            const = gf2.mat_vec(p.leap_rows, seed) ^ seed
            nxt = Cat(*(Cat(*(reg[i] for i in range(p.width) if row >> i & 1)).xor() ^ (const >> j & 1)
                        for j, row in enumerate(p.leap_rows)))
            with m.If(self.snapshot):
                m.d.sync += shadow.eq(reg)
            with m.If(self.restore):
                m.d.sync += reg.eq(shadow)
            with m.Elif(self.en):
                m.d.sync += reg.eq(nxt)
            m.d.comb += self.out[lane * p.k:(lane + 1) * p.k].eq(reg[p.width - p.k:] ^ (seed >> (p.width - p.k)))
        return m


def bank_rows() -> list[dict]:
    rows = []
    for width, k in BANKS:
        lf = BankParams.from_config(LfsrConfig(width=width, k=k))
        for target in TARGETS:
            row = {"bank": f"{width}/{k}", "target": target}
            for name, make in (("xor", lambda: XorBank(lf)), ("state", lambda: LfsrBank(lf))):
                res = core_netlist(make, design="lfsr", target=target,
                                   out_dir=OUT / "engine_options" / f"{name}-{width}-{k}-{target}")
                row[f"{name} LUT"], row[f"{name} FF"] = res["LUT"], res["FF"]
            rows.append(row)
            print(row, flush=True)
    return rows


def counter_rows(seeds: int) -> list[dict]:
    design = designs.get("engine")
    rows = []
    for mp in MAX_PARAMS:
        cfg = config.Config().replace(**{"engine.max_params": mp})
        for target in TARGETS:
            rep = synthesize(lambda: design.component(cfg), design="engine", target=target,
                             seeds=list(range(1, seeds + 1)), out_dir=OUT / "engine_options" / f"count-{mp}-{target}",
                             config_digest=design.digest(cfg), extra=design.extras(cfg))
            res = rep["resources"]
            rows.append({"max_params": mp, "d bits": len(bin(mp)) - 2, "target": target, "LUT": res["LUT"],
                         "FF": res["FF"], "Fmax MHz": round(rep["fmax_mhz"], 1)})
            print(rows[-1], flush=True)
    return rows


def _md(rows: list[dict]) -> list[str]:
    cols = list(rows[0])
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
            *("| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    banks, counters = bank_rows(), counter_rows(args.seeds)
    text = "\n".join(["# Engine design options", "", "## A. The LFSR bank's register (yosys, core only)", "",
                      *_md(banks), "", "## B. The default engine's pass-length counter (engine.max_params)", "",
                      *_md(counters), "", f"machine: {machine()}", ""])
    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "engine_options.md", text)
    write_atomic(OUT / "engine_options.json", json.dumps({"machine": machine(), "banks": banks,
                                                           "counters": counters}, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
