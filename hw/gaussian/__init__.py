"""Gaussian baseline units (DESIGN.md 4.4); the contract is in :mod:`pezo.gaussian`."""

from __future__ import annotations

import importlib

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pezo.engine_params import EngineParams
from pezo.gaussian import MODULES, spec, units


def unit(params: EngineParams) -> wiring.Component:
    """A unit of the engine's Gaussian source (ports ``bits``, ``en``, ``values``)."""
    return importlib.import_module(f"pezo.hw.gaussian.{MODULES[params.engine.source]}").Unit(params)


class Lanes(wiring.Component):
    """The ``units(e)`` units of ``lanes x value_bits`` as the engine holds them: unit ``j``
    reads ``bits[j*S, (j+1)*S)`` and serves lanes ``[j*outputs, (j+1)*outputs)``; a last
    unit's surplus outputs are dropped. Also the top for unit-level synthesis (a bare unit as
    the top module has made the pinned yosys' ABC9 crash; as a submodule it synthesises).
    """

    def __init__(self, params: EngineParams):
        e = params.engine
        self._p, self._e, self._n, self._spec = params, e, units(e), spec(e)
        super().__init__({"bits": In(self._n * self._spec.bits), "en": In(1),
                          "values": Out(data.ArrayLayout(signed(e.value_bits), e.lanes))})

    def elaborate(self, platform):
        m = Module()
        s, lanes = self._spec, self._e.lanes
        for j in range(self._n):
            u = m.submodules[f"u{j}"] = unit(self._p)
            m.d.comb += [u.bits.eq(self.bits[j * s.bits:(j + 1) * s.bits]), u.en.eq(self.en)]
            for k in range(s.outputs):
                if j * s.outputs + k < lanes:
                    m.d.comb += self.values[j * s.outputs + k].eq(u.values[k])
        return m
