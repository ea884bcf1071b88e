"""Calibrate the iCE40 power coefficients on published current measurements of a UP5K.

    .venv/bin/python benchmarks/power_calibration.py

Source of the measurements: tinyvision-ai-inc/ice40_power (README, "Results": core-rail
current of an iCE40UP5K-SG48 on the Lattice breakout board, Joulescope JS110, icestorm flow;
design power_test/rgb_blink.v). The designs measured are rebuilt here in Amaranth and run
through pezo's own power flow (yosys -> gate-level Icarus -> toggle counts), then:

* ``ff_clock``: the counter-length sweep at an external 12 MHz clock (28, 56, 112, 224-bit
  counters: 613.5 -> 641.3 uA for 196 more flip-flops whose high bits almost never toggle)
  gives the energy of one clocked flip-flop per cycle.
* ``net``: the "Math (no DSP)" design (two 8-bit counters stepping by 3 and 5 and their 16-bit
  product, AND-reduced to a pin) against the counter-only design at 12 MHz (996 - 645 uA),
  minus its flip-flops' clock energy, divided by its fanout-weighted toggles per cycle.
* ``dsp_input``: the same with the multiplier in one SB_MAC16 (882 - 645 uA), minus the
  logic around it (with the ``net`` just found), divided by the DSP's input toggles per cycle.

Ratios that the measurements cannot separate are assumptions (docs/power.md):
``fanout = net / 2`` per extra sink, ``carry = net / 4``, ``bram_access = 8 * net``.
Prints the coefficients and writes out/bench/power_calibration.json.
"""


import json

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from pezo.bench.common import OUT
from pezo.build import power
from pezo.build.flow import core_netlist

VCC = 1.219          # core rail voltage during the measurements (README table header)
F_MHZ = 12.0
CYCLES = 4096
# Core-rail currents (uA) from the README.
I_BLANK = 85.6
I_EXT12_COUNTER28 = 613.5
I_EXT12_COUNTER224 = 641.3
I_HF12_COUNTER = 645.0
I_HF12_MATH_LUT = 996.0
I_HF12_MATH_DSP = 882.0


class Math(wiring.Component):
    """rgb_blink.v with MATH: ctr1 += 3, ctr2 += 5, result = ctr1 * ctr2.

    The original AND-reduces the product to one pin; 8-bit operands never make it all-ones,
    and yosys 0.70 removes most of the multiplier for that (the measured build kept 180 LCs).
    Here the product is a port, so the multiplier stays, as in the measured design.
    """

    out: Out(16)

    def elaborate(self, platform):
        m = Module()
        c1, c2 = Signal(8), Signal(8)
        m.d.sync += [c1.eq(c1 + 3), c2.eq(c2 + 5)]
        m.d.comb += self.out.eq(c1 * c2)
        return m


def run(name: str, synth: str) -> dict:
    work = OUT / "power_calibration" / name
    res = core_netlist(Math, design="math", target="ice40-up5k", out_dir=work, synth=synth)
    print(f"{name}: {res['LUT']} LUT, {res['carry']} carry, {res['FF']} FF, {res['DSP']} DSP")
    return power.simulate(work / "core_netlist.v", work / "core_netlist.json", "pezo_math",
                          "ice40-up5k", {}, None, work / "sim", cycles=CYCLES)


def energy_pj(current_ua: float) -> float:
    return current_ua * 1e-6 * VCC / (F_MHZ * 1e6) * 1e12


def main() -> None:
    ff_clock_fj = energy_pj(I_EXT12_COUNTER224 - I_EXT12_COUNTER28) * 1000 / (224 - 28)
    lut = run("lut", "synth_ice40 -device u")
    n = lut["cycles"]
    routed = sum(t for c, t in lut["toggles"].items() if c != "carry") / n
    fan = sum(t for c, t in lut["fanout_extra"].items() if c != "carry") / n
    carry = lut["toggles"].get("carry", 0) / n
    e_lut = energy_pj(I_HF12_MATH_LUT - I_HF12_COUNTER) * 1000
    net_fj = (e_lut - lut["ff"] * ff_clock_fj) / (routed + 0.5 * fan + 0.25 * carry)

    dsp = run("dsp", "synth_ice40 -device u -dsp")
    n = dsp["cycles"]
    routed_d = sum(t for c, t in dsp["toggles"].items() if c != "carry") / n
    fan_d = sum(t for c, t in dsp["fanout_extra"].items() if c != "carry") / n
    carry_d = dsp["toggles"].get("carry", 0) / n
    rest = dsp["ff"] * ff_clock_fj + net_fj * (routed_d + 0.5 * fan_d + 0.25 * carry_d)
    e_dsp = energy_pj(I_HF12_MATH_DSP - I_HF12_COUNTER) * 1000
    dsp_input_fj = (e_dsp - rest) / (dsp["dsp_input_toggles"] / n)

    result = {
        "ff_clock_fj": round(ff_clock_fj, 2),
        "net_fj": round(net_fj, 1),
        "fanout_fj": round(net_fj / 2, 1),
        "carry_fj": round(net_fj / 4, 1),
        "bram_access_fj": round(8 * net_fj, 0),
        "dsp_input_fj": round(dsp_input_fj, 0),
        "static_uw": round(I_BLANK * VCC, 1),
        "clock_base_uw_per_mhz": round((I_EXT12_COUNTER28 - I_BLANK) * VCC / F_MHZ, 1),
        "math_lut": {"ff": lut["ff"], "routed_toggles_per_cycle": round(routed, 2),
                     "fanout_extra_per_cycle": round(fan, 2), "carry_toggles_per_cycle": round(carry, 2),
                     "measured_pj_per_cycle": round(e_lut / 1000, 2)},
        "math_dsp": {"ff": dsp["ff"], "routed_toggles_per_cycle": round(routed_d, 2),
                     "dsp_input_toggles_per_cycle": round(dsp["dsp_input_toggles"] / n, 2),
                     "measured_pj_per_cycle": round(e_dsp / 1000, 2)},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "power_calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
