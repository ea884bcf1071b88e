"""Power estimate from switching activity of the synthesised netlist (DESIGN.md section 7).

No open tool reports FPGA power, so pezo estimates it (the method, every coefficient with its
source and the expected error are in ``docs/power.md``):

1. The synthesis flow writes the core's mapped netlist (``synth_ice40``/``synth_ecp5``, then
   ``rename -enumerate`` so every net has a plain name) as Verilog and as JSON.
2. :func:`simulate` runs Icarus on the Verilog netlist with the family's Yosys cell models under
   the design's *standard stimulus* (one per design, :attr:`pezo.app.designs.Design.stimulus`), and
   checks every output every cycle against the golden model's expected values, so a wrong cell
   model cannot give plausible toggle counts. ``$dumpvars(1, dut)`` dumps the netlist's own nets
   (not the cells' insides) from the first cycle after reset.
3. :func:`activity` reads the VCD: 0<->1 transitions per net bit (zero-delay simulation: no
   glitches), clock edges with each block-RAM port enabled, and transitions on DSP inputs.
   Each net is classed by what drives it (LUT, FF, carry, BRAM, DSP, input port).
4. :func:`estimate` turns activity into energy per cycle with per-class coefficients
   (:data:`COEFFICIENTS`) and adds static and clock-network power at a reference frequency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pezo.errors import PezoError

from .activity import activity
from .netlist_sim import cell_library, simulate, simulator_fingerprint, simulator_version

__all__ = ["COEFFICIENTS", "METHOD_VERSION", "REF_MHZ", "Coefficients", "activity", "cell_library",
           "estimate", "simulate", "simulator_fingerprint", "simulator_version"]


#: Version of the simulation + activity method; part of the cache key of a power result.
METHOD_VERSION = "2"


#: Reference clock for the power figures (MHz): below the Fmax of the engines measured so far
#: on both targets, so designs of equal lanes x bits compare at equal throughput. A design
#: whose Fmax is lower could not run there; compare its Fmax column before its power.
REF_MHZ = 25.0


@dataclass(frozen=True)
class Coefficients:
    """Energy per event of one FPGA family (femtojoules) and its fixed power (microwatts).

    Attributes
    ----------
    net : float
        One 0<->1 transition of a routed net with one sink (LUT, FF, BRAM, DSP or port driven).
    fanout : float
        Added per transition for each sink beyond the first (longer routing, more loads).
    carry : float
        One transition on the dedicated carry chain (``SB_CARRY.CO``, ``CCU2C.COUT``).
    ff_clock : float
        One flip-flop's clock pin for one cycle, whether or not its output changes.
    bram_access : float
        One block-RAM port enabled at a clock edge (read or write).
    dsp_input : float
        One transition on an input of a DSP block (the multiplier array behind it switches).
    static_uw : float or None
        Static power of the device (None: no cited figure).
    clock_base_uw_per_mhz : float or None
        Global clock network, independent of the design (None: no cited figure).
    vcc : float
        Core voltage the figures refer to.
    """

    net: float
    fanout: float
    carry: float
    ff_clock: float
    bram_access: float
    dsp_input: float
    static_uw: float | None
    clock_base_uw_per_mhz: float | None
    vcc: float


# Every figure and its source: docs/power.md ("Coefficients"). iCE40: calibrated by
# benchmarks/power_calibration.py on current measurements of a UP5K
# (tinyvision-ai-inc/ice40_power); fanout, carry and block-RAM ratios are stated assumptions.
# ECP5 (also 40 nm): the iCE40 energies scaled by (1.1 V / 1.219 V)^2; no cited static or
# clock-network figure, so its total power is not estimated.
_ECP5_SCALE = (1.1 / 1.219) ** 2


COEFFICIENTS: dict[str, Coefficients] = {
    "ice40-up5k": Coefficients(net=260.0, fanout=130.0, carry=65.0, ff_clock=14.4,
                               bram_access=2080.0, dsp_input=2530.0, static_uw=104.3,
                               clock_base_uw_per_mhz=53.6, vcc=1.219),
    "ecp5-25k": Coefficients(net=round(260.0 * _ECP5_SCALE, 1), fanout=round(130.0 * _ECP5_SCALE, 1),
                             carry=round(65.0 * _ECP5_SCALE, 1), ff_clock=round(14.4 * _ECP5_SCALE, 1),
                             bram_access=round(2080.0 * _ECP5_SCALE), dsp_input=round(2530.0 * _ECP5_SCALE),
                             static_uw=None, clock_base_uw_per_mhz=None, vcc=1.1),
}


def estimate(act: Mapping[str, Any], target: str, f_mhz: float = REF_MHZ) -> dict[str, Any]:
    """Energy per cycle and power at ``f_mhz`` from :func:`activity` output.

    ``E = sum over transitions of (net + fanout*(fanout-1))`` (carry transitions: ``carry``)
    ``+ ff * ff_clock + bram_accesses * bram_access + dsp_input_toggles * dsp_input``, divided by
    the cycle count. ``dynamic_uw`` is the design's share; ``total_uw`` adds the device's static
    and clock-network power where a cited figure exists (else None).
    """
    if target not in COEFFICIENTS:
        raise PezoError(f"power: no coefficients for target {target!r}")
    k = COEFFICIENTS[target]
    n = max(int(act["cycles"]), 1)
    # The clock is charged through ff_clock (and the device's clock network), never as a net.
    tog = {c: t for c, t in act["toggles"].items() if c != "clock"}
    fan = {c: t for c, t in act["fanout_extra"].items() if c != "clock"}
    parts_fj = {
        "logic": sum(tog.get(c, 0) for c in ("LUT", "FF", "BRAM", "DSP", "port", "other")) * k.net
                 + sum(fan.get(c, 0) for c in fan if c != "carry") * k.fanout,
        "carry": tog.get("carry", 0) * k.carry,
        "ff_clock": act["ff"] * n * k.ff_clock,
        "bram": act["bram_accesses"] * k.bram_access,
        "dsp": act["dsp_input_toggles"] * k.dsp_input,
    }
    per_cycle_fj = {name: v / n for name, v in parts_fj.items()}
    e_fj = sum(per_cycle_fj.values())
    dynamic_uw = e_fj * f_mhz * 1e-3          # fJ x MHz = 1e-9 W
    fixed = None
    if k.static_uw is not None and k.clock_base_uw_per_mhz is not None:
        fixed = k.static_uw + k.clock_base_uw_per_mhz * f_mhz
    toggles_per_cycle = sum(tog.values()) / n
    return {
        "f_mhz": f_mhz,
        "energy_pj_per_cycle": round(e_fj / 1000, 4),
        "energy_pj_per_cycle_by_part": {p: round(v / 1000, 4) for p, v in per_cycle_fj.items()},
        "dynamic_uw": round(dynamic_uw, 3),
        "static_uw": k.static_uw,
        "clock_base_uw": None if k.clock_base_uw_per_mhz is None
        else round(k.clock_base_uw_per_mhz * f_mhz, 3),
        "total_uw": None if fixed is None else round(fixed + dynamic_uw, 3),
        "toggles_per_cycle": round(toggles_per_cycle, 4),
        "toggles_per_cycle_by_class": {c: round(t / n, 4) for c, t in tog.items()},
        "ff": act["ff"],
        "bram_accesses_per_cycle": round(act["bram_accesses"] / n, 4),
        "dsp_input_toggles_per_cycle": round(act["dsp_input_toggles"] / n, 4),
        "coefficients": dataclasses.asdict(k),
        "method_version": METHOD_VERSION,
    }
