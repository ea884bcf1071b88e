"""The designs pezo can generate, simulate and synthesise, by name.

Like the CLI this module sits above hw, sw, sim and build, and ties one configuration to each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.back import verilog
from amaranth.lib import wiring

from pezo.config import Config
from pezo.errors import PezoError


@dataclass(frozen=True)
class Design:
    """One generatable block: its component, its co-simulation trace and report extras.

    ``stimulus`` (optional) gives the standard stimulus of the power estimate, a
    :class:`pezo.sim.runner.Trace` with the golden model's outputs (the same workload for every
    configuration of the design); a design without one has no power estimate.
    """

    name: str
    summary: str
    component: Callable[[Config], wiring.Component]
    trace: Callable[[Config, int, int], "object"]
    extras: Callable[[Config], dict]
    stimulus: Callable[[Config], "object"] | None = None
    #: Top-level configuration sections the design is built from: its cache key and work
    #: directory cover these only, so a new ``update.*`` field does not invalidate engine results.
    sections: tuple[str, ...] = ("engine",)

    def digest(self, cfg: Config) -> str:
        return cfg.digest(*self.sections)

    @property
    def toplevel(self) -> str:
        return f"pezo_{self.name}"

    def verilog(self, cfg: Config) -> str:
        """Deterministic Verilog: no source locations, so no absolute paths."""
        return verilog.convert(self.component(cfg), name=self.toplevel, emit_src=False)


def _lfsr_component(cfg: Config) -> wiring.Component:
    from pezo.hw.lfsr import LfsrBank
    from pezo.lfsr import BankParams

    return LfsrBank(BankParams.from_config(cfg))


def _lfsr_trace(cfg: Config, cycles: int, seed: int):
    from pezo.sim import lfsr

    return lfsr.trace(cfg, cycles, seed)


def _lfsr_extras(cfg: Config) -> dict:
    lf = cfg.engine.lfsr
    p = lf.params
    return {
        "fresh_bits_per_cycle": lf.bits_per_cycle,
        "state_bits": lf.lanes * lf.width,
        "shadow_bits": lf.lanes * lf.width if lf.replay else 0,
        "polynomial_taps": list(p.taps),
        "structure": lf.structure,
        "width": lf.width,
        "k": lf.k,
        "lanes": lf.lanes,
    }


def _lfsr_stimulus(cfg: Config):
    from pezo.sim import lfsr

    return lfsr.standard_stimulus(cfg)


def _engine_component(cfg: Config) -> wiring.Component:
    from pezo.hw.engine import Engine

    return Engine(cfg.engine.params)


def _engine_trace(cfg: Config, cycles: int, seed: int):
    from pezo.sim import engine

    return engine.trace(cfg, cycles, seed)


def _engine_stimulus(cfg: Config):
    from pezo.sim import engine

    return engine.standard_stimulus(cfg)


def _engine_extras(cfg: Config) -> dict:
    ep = cfg.engine.params
    e = cfg.engine
    extra = {}
    if ep.source.gaussian:
        from pezo.gaussian import spec, units

        sp = spec(e)
        extra = {"units": units(e), "bits_per_evaluation": sp.bits, "outputs_per_evaluation": sp.outputs,
                 "latency": sp.latency}
    return {
        "source": ep.source.value,
        **extra,
        "lanes": ep.lanes,
        "value_bits": ep.value_bits,
        "strategy": ep.strategy.value,
        "pool_size": ep.pool_size,
        "refresh": ep.refresh,
        "scale": e.scale.mode,
        "bank": f"{e.lfsr.lanes}x{e.lfsr.width}/{e.lfsr.k}",
        "bank_bits_per_cycle": e.lfsr.bits_per_cycle,
        "fresh_bits_per_beat": ep.stream_bits_per_beat,
        "fresh_bits_per_param_stream": ep.stream_bits_per_beat / ep.lanes,
        "fill_bits_per_step": ep.fill_bits_per_step(),
        "fresh_bits_per_param_d1e6": round(ep.fresh_bits_per_param(10**6), 6),
    }


def _update_component(cfg: Config) -> wiring.Component:
    from pezo.hw.update import UpdateSystem
    from pezo.update_rules import UpdateRules

    return UpdateSystem(UpdateRules.from_config(cfg))


def _update_trace(cfg: Config, cycles: int, seed: int):
    from pezo.sim import update

    return update.trace(cfg, cycles, seed)


def _update_stimulus(cfg: Config):
    from pezo.sim import update

    return update.standard_stimulus(cfg)


def _update_extras(cfg: Config) -> dict:
    from pezo.update_rules import UpdateRules

    r = UpdateRules.from_config(cfg)
    return {
        **_engine_extras(cfg),
        "param": cfg.update.param,
        "scalar": cfg.update.scalar,
        "eps_shift": cfg.update.eps_shift,
        "depth": r.depth,
        "memory_bits": r.depth * r.W,
        "dsp_lanes": r.dsp_lanes,
        "memory": cfg.update.memory,
    }


DESIGNS: dict[str, Design] = {
    "lfsr": Design("lfsr", "LFSR bank (engine.lfsr)", _lfsr_component, _lfsr_trace, _lfsr_extras,
                   stimulus=_lfsr_stimulus),
    "engine": Design("engine", "perturbation engine (engine.*)", _engine_component, _engine_trace, _engine_extras,
                     stimulus=_engine_stimulus),
    "update": Design("update", "engine + ZO update datapath + controller (engine.*, update.*)",
                     _update_component, _update_trace, _update_extras, stimulus=_update_stimulus,
                     sections=("engine", "update")),
}


def get(name: str) -> Design:
    try:
        return DESIGNS[name]
    except KeyError:
        raise PezoError(f"unknown design {name!r}; available: {', '.join(DESIGNS)}") from None
