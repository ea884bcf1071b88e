"""Shared fixtures."""

import sys
import types

import pytest


def _fake_modules():
    """A deliberately simple source for testing how the engine uses a Gaussian unit (priming,
    lane mapping, dropped surplus outputs, replay), independent of any real source: fields
    (3, 5), two outputs ``(a - 4, b - 16)``, latency 4."""
    from amaranth.hdl import Module, Signal, signed
    from amaranth.lib import data, wiring
    from amaranth.lib.wiring import In, Out

    from pezo.gaussian import SourceSpec

    spine = types.ModuleType("pezo.gaussian.fake")
    spine.spec = lambda e: SourceSpec(fields=(3, 5), outputs=2, latency=4)

    class Unit(wiring.Component):
        def __init__(self, params):
            self.B = params.value_bits
            super().__init__({"bits": In(8), "en": In(1),
                              "values": Out(data.ArrayLayout(signed(params.value_bits), 2))})

        def elaborate(self, platform):
            m = Module()
            s1 = Signal(8)
            s2 = Signal(8)
            s3 = Signal(8)
            with m.If(self.en):
                m.d.sync += [s1.eq(self.bits), s2.eq(s1), s3.eq(s2),
                             self.values[0].eq(s3[:3] - 4), self.values[1].eq(s3[3:] - 16)]
            return m

    hw = types.ModuleType("pezo.hw.gaussian.fake")
    hw.Unit = Unit

    class Sampler:
        def __init__(self, params):
            pass

        def __call__(self, fields):
            import torch

            return torch.stack([fields[0] - 4, fields[1] - 16], dim=1)

    golden = types.ModuleType("pezo.sw.golden.gaussian.fake")
    golden.Sampler = Sampler
    return {"pezo.gaussian.fake": spine, "pezo.hw.gaussian.fake": hw, "pezo.sw.golden.gaussian.fake": golden}


@pytest.fixture
def fake_gaussian(monkeypatch):
    """Make ``engine.source = "gaussian-clt"`` use the fake source above for this test."""
    from pezo import gaussian

    for name, mod in _fake_modules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setitem(gaussian.MODULES, "gaussian-clt", "fake")
    return "gaussian-clt"
