"""Golden model of the ``pezo_update`` system (:mod:`pezo.hw.update`), bit-exact and cycle-accurate.

Follows ``docs/update.md`` register by register: the engine (:class:`pezo.sw.golden.engine.Engine`),
the datapath's memory and three-stage read-modify-write pipeline, the controller and the host
registers. :meth:`Update.step` is one rising edge with the ports ``cmd``, ``op``, ``addr``,
``wdata``, ``d``, ``stall``, for the every-cycle co-simulation: the reference. Whole passes at
once (:class:`pezo.sw.golden.update_stream.UpdateStream`) are the fast path, proven equal to it
by the tests; this module never imports it.

:class:`FloatReference` is the same algorithm in float64, with the error bound of the fixed-point
datapath against it (:meth:`FloatReference.bound`).
"""

from __future__ import annotations

import torch

from pezo import fixed
from pezo.update_rules import PIPELINE_DEPTH, Cmd, Op, UpdateRules
from pezo.sw.golden.engine import Engine

__all__ = ["Update", "FloatReference", "Cmd", "Op", "pack_word", "unpack_word"]


#: A memory word's bit pattern from its lane codes, and back (the spine's, one for every layer).
pack_word, unpack_word = fixed.pack_lanes, fixed.unpack_lanes


class Update:
    """Golden update system: engine + datapath + controller + host registers.

    Parameters
    ----------
    rules : UpdateRules
        The parameters the hardware is built from (``UpdateRules.from_config(cfg)``).

    Notes
    -----
    Ports: inputs ``cmd``, ``op``, ``addr``, ``wdata`` (bit pattern), ``d``, ``stall``
    (absent = 0); outputs ``rdata`` (bit pattern), ``busy``, ``done``, ``ovf``. ``rdata`` is the
    memory's read register, which has no reset value: defined once ``rdata_known`` is 1.
    A ``PASS`` of ``d >= 1`` parameters with no stall takes ``E + nb + t + 6`` cycles from the
    command's edge to ``busy`` low (``d = 0``: ``E + t + 3``), ``nb = ceil(d/L)``, ``E`` the
    engine's fill/scale cycles (``PLUS`` only) and ``t`` 1 for a pooled or Gaussian engine, 0
    for the direct stream (see :meth:`pass_cycles`); with ``update.memory = "spram"`` (half
    rate) ``3 * floor((nb - 1) / 3)`` more.
    """

    #: The engine model; the fast path swaps in its vectorised one.
    engine_type = Engine

    def __init__(self, rules: UpdateRules):
        if rules.engine is None:
            raise ValueError("the update system needs rules with an engine (UpdateRules.from_config)")
        self.r = rules
        self.spram = rules.spram
        self.engine = self.engine_type(rules.engine)
        self.reset()

    def reset(self) -> None:
        """Registers to their reset values; memory to zero (the bitstream's initial contents)."""
        r = self.r
        self.engine.reset()
        self.mem = torch.zeros(r.words, r.lanes, dtype=torch.int64)
        self.rdata = [0] * r.lanes
        self.rdata_known = 0        # the read register has no reset value: X until its first read
        self.running = self.done = self.ovf = self.over_r = self.scalar = 0
        # the pass as engine and datapath receive it, one cycle after the PASS command
        self.go = {"start": 0, "replay": 0, "d": 0, "op": 0}
        self.ptr = self.rem = self.mode = 0
        self.v1 = self.v2 = self.v3 = self.a1 = self.a2 = self.a3 = 0
        self.s3 = [0] * r.lanes
        self.z1 = [0] * r.lanes
        self.m1 = self.m2 = [0] * r.lanes
        self.th2 = self.t2 = [0] * r.lanes
        self._fmt = fixed.QFormat(r.W - r.F, r.F)

    def outputs(self) -> dict:
        return {"rdata": pack_word(self.rdata, self.r.W), "busy": self.running, "done": self.done,
                "ovf": self.ovf}

    @property
    def theta(self) -> torch.Tensor:
        """All parameter codes, flattened (parameter ``i`` = word ``i // L``, lane ``i % L``)."""
        return self.mem.view(-1)

    # -- one cycle --------------------------------------------------------------------------

    def step(self, inputs: dict | None = None) -> dict:
        """One rising edge; returns :meth:`outputs` after it."""
        inputs = inputs or {}
        r = self.r
        get = lambda name: int(inputs.get(name, 0))          # noqa: E731
        cmd = Cmd.NOP if self.running else get("cmd")
        op, addr, wdata, stall = get("op"), get("addr"), get("wdata"), get("stall")
        d_eff = r.d_eff(get("d"))
        is_pass = cmd == Cmd.PASS

        run_now = bool(self.running)
        # SPRAM's single port: no beat while this edge writes (v3).
        ready = run_now and not stall and not (self.spram and self.v3)
        eo = self.engine.outputs()
        accept = bool(eo["valid"]) and ready
        go = self.go
        finish = self.running and eo["idle"] and not (self.v1 or self.v2 or self.v3 or go["start"] or go["replay"])

        # Memory: the read register reads before this edge's write (no transparency).
        if accept:
            read = self.mem[self.ptr].tolist()
        elif cmd == Cmd.READ:
            read = self.mem[addr].tolist()
        else:
            read = None
        over = 0
        if self.v3:
            word = []
            for total in self.s3:
                v, sat = fixed.saturate_flag(total, self._fmt)
                word.append(v)
                over |= int(sat)
            self.mem[self.a3] = torch.tensor(word, dtype=torch.int64)
        elif cmd == Cmd.WRITE:
            self.mem[addr] = torch.tensor(unpack_word(wdata, r.lanes, r.W), dtype=torch.int64)
        # the lanes' saturation is registered (over_r) before it reaches the sticky flag
        self.ovf = 0 if cmd == Cmd.CLEAR else self.ovf | self.over_r
        self.over_r = over

        # Pipeline: stage 3 takes the sums of stage 2 (masked lanes keep theta), stage 2 takes
        # stage 1 and the read register, stage 1 takes the beat.
        self.v3, self.a3 = self.v2, self.a2
        self.s3 = [th + t if m else th for th, t, m in zip(self.th2, self.t2, self.m2)]
        self.v2, self.a2, self.m2, self.th2 = self.v1, self.a1, self.m1, self.rdata
        if self.v1:
            # The hardware registers x2 every cycle (only these values are ever read) and
            # multiplies one stage earlier (p1); `scalar` and `mode` cannot change in a pass.
            self.t2 = [r.term(self.mode, z, self.scalar) for z in self.z1]
        self.v1 = int(accept)
        if accept:
            self.a1, self.z1 = self.ptr, eo["values"].tolist()
            self.m1 = [int(self.rem > lane) for lane in range(r.lanes)]
            self.ptr, self.rem = self.ptr + 1, max(self.rem - r.lanes, 0)
        if read is not None:
            self.rdata, self.rdata_known = read, 1
        if go["start"] or go["replay"]:
            self.ptr, self.rem, self.mode = 0, go["d"], go["op"]

        if cmd == Cmd.SCALAR:
            self.scalar = fixed.from_unsigned(wdata, fixed.QFormat(r.S, 0))
        self.done = int(finish)
        if is_pass:
            self.running = 1
        elif finish:
            self.running = 0

        self.engine.step({"start": go["start"], "replay": go["replay"], "d": go["d"], "ready": int(ready)})
        self.go = {"start": int(is_pass and op == Op.PLUS), "replay": int(is_pass and op != Op.PLUS), "d": d_eff,
                   "op": op}
        return self.outputs()

    def pass_cycles(self, op: int, d: int) -> int:
        """Cycles from a ``PASS`` command's edge until ``busy`` is low, without stalls."""
        # the command's edge, fill/scale, nb beats + the engine's last STREAM cycle (a pooled
        # or Gaussian engine; the direct stream is idle after its last beat), the pipeline,
        # and the edge that sees engine idle and pipeline empty
        nb = -(-self.r.d_eff(d) // self.r.lanes)
        fill = self.engine_fill_cycles() if op == Op.PLUS else 0
        # SPRAM: no beat in a cycle that writes (three cycles after a beat): three on, three
        # off, so the last of nb beats comes 3*floor((nb-1)/3) later
        gaps = 3 * ((nb - 1) // 3) if self.spram and nb else 0
        tail = 0 if self.engine.params.direct else 1
        # + 1: the engine receives the pass one cycle after the command
        return 2 + fill + nb + gaps + tail + (PIPELINE_DEPTH if nb else 0) + 1

    def engine_fill_cycles(self) -> int:
        """FILL (+ SCALE) cycles of the engine's next step (docs/engine.md)."""
        return self.engine.params.fill_cycles(bool(self.engine.filled))


class FloatReference:
    """The update datapath's algorithm in float64, for its error bound.

    Parameters
    ----------
    rules : UpdateRules
        Formats and eps.

    Notes
    -----
    Fixed point against this reference, with the same engine codes ``z`` and the same scalar
    values, and no saturation: PLUS/MINUS2/RESTORE return theta exactly in fixed point and in
    float, and each UPDATE adds at most half a parameter LSB of rounding, so after T steps
    ``|theta_fixed - theta_float| <= T * 2**-(F+1)``. Inside a step the perturbed theta differ
    by at most ``2**-(F+1)`` more (rounding of delta; 0 when delta is exact). When the
    reference uses the unquantised ``lr*g``, each step adds ``max|z| * 2**-(Fs+1)``,
    ``max|z| < 4``.
    """

    def __init__(self, rules: UpdateRules):
        self.r = r = rules
        self.eps = 2.0 ** -r.eps_shift
        self.zscale = 2.0 ** -r.C

    def apply(self, theta: torch.Tensor, op: int, z: torch.Tensor, s: float = 0.0) -> torch.Tensor:
        zf = z.double() * self.zscale
        c = {Op.PLUS: 1.0, Op.MINUS2: -2.0, Op.RESTORE: 1.0}
        if op in c:
            return theta + c[op] * self.eps * zf
        return theta - s * zf

    def bound(self, steps: int, quantised_scalar: bool = True) -> float:
        """Largest ``|theta_fixed - theta_float|`` after ``steps`` ZO steps (between steps)."""
        r = self.r
        per = 2.0 ** -(r.F + 1)
        if not quantised_scalar:
            per += 4 * 2.0 ** -(r.Fs + 1)
        return steps * per
