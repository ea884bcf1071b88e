"""Cycles per ZO step of the update system as a function of d and lanes, for both parameter
memories: formula vs measured.

    .venv/bin/python benchmarks/update_cycles.py

Measured: the golden model (equal to the RTL every cycle, see tests/cosim/test_update_cosim.py)
run cycle by cycle with a host that issues each command in the cycle after ``busy`` falls and
no stalls; the second of two ZO steps (PLUS, MINUS2, RESTORE, SCALAR, UPDATE) is counted.
Formula (docs/update.md): ``E + 4*nb + 21`` with ``nb = ceil(d/L)`` and ``E`` the engine's
fill/scale cycles (``2P + 3`` adaptive, ``P`` fixed, pool size P = 64); with the parameters in
SPRAM (``update.memory = "spram"``, half rate) ``8*floor((nb-1)/2)`` more. The training host
also reads theta back after PLUS and MINUS2: ``+ 2*nb`` cycles.

Block RAM rows use the default memory (4096 parameters); SPRAM rows a memory of 65536
parameters (what the UP5K's four SPRAMs hold at L <= 4; more lanes do not fit, see
``UpdateConfig.sprams_needed``).
"""

from __future__ import annotations

from pezo.bench.common import write
from pezo.config import Config
from pezo.sw.golden.update import Update
from pezo.update_rules import Cmd, Op, UpdateRules

LANES = (1, 2, 4, 8, 16)
DS = (64, 512, 4096)
SPRAM_DEPTH = 65536


def measure(g: Update, d: int) -> int:
    n = 0
    for op in Op:
        if op == Op.UPDATE:
            g.step({"cmd": Cmd.SCALAR, "wdata": 3})
            n += 1
        out = g.step({"cmd": Cmd.PASS, "op": op, "d": d})
        n += 1
        while out["busy"]:
            out = g.step({})
            n += 1
    return n


def main() -> None:
    rows = []
    for memory in ("bram", "spram"):
        depth = {"bram": {}, "spram": {"update.depth": SPRAM_DEPTH, "update.memory": "spram"}}[memory]
        for mode in ("rademacher", "adaptive", "fixed"):
            for lanes in LANES:
                engine = {"engine.lfsr.k": 16} if mode == "rademacher" else {
                    "engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": mode,
                    "engine.lfsr.width": 63, "engine.lfsr.k": 16, "engine.lfsr.lanes": 2 if lanes > 8 else 1}
                cfg = Config().replace(**{"engine.lanes": lanes, **engine, **depth})
                if cfg.update.sprams_needed(cfg.engine) > 4 and memory == "spram":
                    continue                                   # does not fit the UP5K
                for d in DS + ((SPRAM_DEPTH,) if memory == "spram" else ()):
                    g = Update(UpdateRules.from_config(cfg))
                    measure(g, d)
                    got = measure(g, d)
                    e = g.engine_fill_cycles()
                    nb = -(-d // lanes)
                    t = 0 if g.engine.params.direct else 1     # the pooled engine's last STREAM cycle
                    formula = e + 4 * nb + 4 * t + 25 + (12 * ((nb - 1) // 3) if memory == "spram" else 0)
                    rows.append({"memory": memory, "scale": mode, "lanes": lanes, "d": d, "E": e,
                                 "measured": got, "formula": formula, "match": got == formula,
                                 "cycles/param": round(got / d, 3), "with read-back": got + 2 * nb})
    write("update_cycles", rows, ["memory", "scale", "lanes", "d", "E", "measured", "formula", "match",
                                  "cycles/param", "with read-back"],
          "Update system: cycles per ZO step (4 passes), golden model = RTL")


if __name__ == "__main__":
    main()
