"""cocotb test: the host of a ZO training loop, driving the ``pezo_update`` RTL directly.

Runs inside the simulator process (started by :func:`pezo.sim.update_train.train_rtl` through
:func:`pezo.sim.runner.cosimulate`); imports cocotb, numpy and the torch-free spine only.

Per step the host runs PLUS, reads theta+ back and computes L+, runs MINUS2, reads theta- and
computes L-, runs RESTORE, loads the scalar code of ``c * lr * (L+ - L-) / (2 eps_eff)`` and
runs UPDATE. A background coroutine raises ``stall`` in a seeded random fraction of cycles.

Environment: ``PEZO_ARGS`` (JSON written by the pytest side: formats, d, steps, problem, theta0,
stall) and ``PEZO_REPORT`` (this test's results: losses, scalars, final theta, cycles).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from pezo.sim.train_problem import LeastSquares
from pezo.update_rules import Cmd, Op


class Host:
    """One command per cycle, inputs driven at falling edges (the trace timing convention)."""

    def __init__(self, dut: Any, args: dict):
        self.dut, self.a = dut, args
        self.lanes, self.W, self.d = args["lanes"], args["W"], args["d"]
        self.nwords = -(-self.d // self.lanes)
        self.fall = FallingEdge(dut.clk)
        self.cycles = 0

    async def tick(self, cmd: int = Cmd.NOP, op: int = 0, addr: int = 0, wdata: int = 0) -> None:
        dut = self.dut
        dut.cmd.value, dut.op.value, dut.addr.value, dut.wdata.value = int(cmd), int(op), addr, wdata
        dut.d.value = self.d
        await self.fall
        self.cycles += 1

    async def run(self, op: int) -> None:
        await self.tick(Cmd.PASS, op)
        while int(self.dut.busy.value):
            await self.tick()

    def _codes(self, word: int) -> list[int]:
        out, mask = [], (1 << self.W) - 1
        for lane in range(self.lanes):
            v = (word >> (lane * self.W)) & mask
            out.append(v - (1 << self.W) if v >> (self.W - 1) else v)
        return out

    async def read_theta(self) -> list[int]:
        codes: list[int] = []
        for w in range(self.nwords):
            await self.tick(Cmd.READ, addr=w)
            codes += self._codes(self.dut.rdata.value.to_unsigned())
        return codes[:self.d]

    async def write_theta(self, codes: list[int]) -> None:
        mask = (1 << self.W) - 1
        padded = list(codes) + [0] * (self.nwords * self.lanes - len(codes))
        for w in range(self.nwords):
            word = sum((c & mask) << (lane * self.W) for lane, c in enumerate(padded[w * self.lanes:(w + 1) * self.lanes]))
            await self.tick(Cmd.WRITE, addr=w, wdata=word)


async def _stalls(dut: Any, fraction: float, seed: int) -> None:
    rng = random.Random(seed)
    fall = FallingEdge(dut.clk)
    while True:
        dut.stall.value = int(rng.random() < fraction)
        await fall


@cocotb.test()
async def train(dut: Any) -> None:
    """ZO training of a least-squares problem with the RTL as the training device."""
    a = json.loads(Path(os.environ["PEZO_ARGS"]).read_text())
    report_path = Path(os.environ["PEZO_REPORT"])
    prob = LeastSquares(**a["problem"])
    host = Host(dut, a)

    dut.rst.value = 1
    for name in ("cmd", "op", "addr", "wdata", "d", "stall"):
        getattr(dut, name).value = 0
    Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 2)
    await host.fall
    dut.rst.value = 0
    cocotb.start_soon(_stalls(dut, a["stall"], a["seed"]))

    await host.write_theta(a["theta0"])
    theta = await host.read_theta()
    if theta != a["theta0"]:
        report_path.write_text(json.dumps({"status": "error", "message": "theta0 did not read back"}))
        raise AssertionError("theta0 did not read back")
    rec: dict[str, list] = {"loss_plus": [], "loss_minus": [], "scalars": [], "step_cycles": [], "pass_cycles": []}
    loss_initial = prob.loss(theta)
    for _ in range(a["steps"]):
        start = host.cycles
        passes = 0
        before = host.cycles
        await host.run(Op.PLUS)
        passes += host.cycles - before
        lp = prob.loss(await host.read_theta())
        before = host.cycles
        await host.run(Op.MINUS2)
        passes += host.cycles - before
        lm = prob.loss(await host.read_theta())
        before = host.cycles
        await host.run(Op.RESTORE)
        passes += host.cycles - before
        s = prob.scalar_code(lp, lm)
        await host.tick(Cmd.SCALAR, wdata=s & ((1 << a["S"]) - 1))
        before = host.cycles
        await host.run(Op.UPDATE)
        passes += host.cycles - before
        rec["loss_plus"].append(lp)
        rec["loss_minus"].append(lm)
        rec["scalars"].append(s)
        rec["step_cycles"].append(host.cycles - start)
        rec["pass_cycles"].append(passes)
    theta = await host.read_theta()
    report = {"status": "pass", "cycles": host.cycles, "loss_initial": loss_initial,
              "loss_final": prob.loss(theta), "theta_final": theta, "ovf": int(dut.ovf.value), **rec}
    report_path.write_text(json.dumps(report))
