"""The FPGA targets of the synthesis flow: parts, synthesis commands, nextpnr arguments, which
cells count as which resource; and the Verilog a target's yosys reads (:func:`spram_ready`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pezo.errors import PezoError

__all__ = ["NETLIST_JSON", "NETLIST_V", "RESOURCE_KEYS", "TARGETS", "Target", "spram_ready"]


#: Resource classes reported for the core, in table order.
RESOURCE_KEYS = ("LUT", "FF", "carry", "BRAM", "SPRAM", "DSP", "DPRAM")


@dataclass(frozen=True)
class Target:
    """One FPGA target: how to synthesise for it and how to read its cells.

    Attributes
    ----------
    name : str
        Target name as given to :func:`synthesize`.
    device, package : str
        Part and package, for the report.
    synth : str
        yosys synthesis command (without ``-top``/``-json``).
    nextpnr : str
        Short tool name of the place-and-route tool (a key of :data:`TOOLS`).
    nextpnr_args : tuple of str
        Device, package and IO-constraint arguments for nextpnr.
    cells : dict
        Resource class -> tuple of cell-type prefixes counted in that class.
    """

    name: str
    device: str
    package: str
    synth: str
    nextpnr: str
    nextpnr_args: tuple[str, ...]
    cells: dict[str, tuple[str, ...]]


#: Supported targets by name.
TARGETS: dict[str, Target] = {
    "ice40-up5k": Target(
        name="ice40-up5k",
        device="iCE40UP5K",
        package="sg48",
        # UltraPlus timing model for abc9; the UP5K has DSPs and SPRAMs, so let yosys use them.
        synth="synth_ice40 -device u -dsp -spram",
        nextpnr="nextpnr-ice40",
        nextpnr_args=("--up5k", "--package", "sg48", "--pcf-allow-unconstrained"),
        cells={
            "LUT": ("SB_LUT4",),
            "FF": ("SB_DFF",),
            "carry": ("SB_CARRY",),
            "BRAM": ("SB_RAM40_4K",),
            "SPRAM": ("SB_SPRAM256KA",),
            "DSP": ("SB_MAC16",),
            "DPRAM": (),
        },
    ),
    "ecp5-25k": Target(
        name="ecp5-25k",
        device="LFE5U-25F",
        package="CABGA256",
        synth="synth_ecp5",
        nextpnr="nextpnr-ecp5",
        nextpnr_args=("--25k", "--package", "CABGA256", "--lpf-allow-unconstrained"),
        cells={
            "LUT": ("LUT4",),
            "FF": ("TRELLIS_FF",),
            "carry": ("CCU2C",),
            "BRAM": ("DP16KD", "PDPW16KD"),
            "SPRAM": (),
            "DSP": ("MULT18X18D", "ALU54B"),
            "DPRAM": ("TRELLIS_DPR16X4",),
        },
    ),
}


#: The mapped core netlist written by the core yosys run (input of the power estimate).
NETLIST_V = "core_netlist.v"


NETLIST_JSON = "core_netlist.json"


# A memory that asks for SPRAM in Amaranth's Verilog, with the initial block that follows it.
_HUGE_RE = re.compile(r'(\(\* ram_style = "huge" \*\)\s*'
                      r'reg \[[^\]]*\] ([A-Za-z_]\w*) \[[^\]]*\];\n)'
                      r'\s*initial begin\n(?:\s*\2\[\d+\] = [^;]+;\n)*\s*end\n')


def spram_ready(text: str, target: str) -> str:
    """The Verilog yosys reads: memories that ask for SPRAM lose their initial contents.

    A memory with ``ram_style = "huge"`` (``update.memory = "spram"``) is meant for the UP5K's
    SB_SPRAM256KA, which has no initial contents, while Amaranth gives every memory one (zeros,
    an ``initial`` block of one line per word), with which yosys finds "no valid mapping" (and
    its Verilog frontend takes minutes on 16Ki lines). So the flow deletes exactly those
    blocks; every other memory keeps its contents. On a target without SPRAM it is an error.
    """
    names = [m[2] for m in _HUGE_RE.finditer(text)]
    if names and not TARGETS[target].cells["SPRAM"]:
        raise PezoError(f"the design asks for SPRAM (ram_style \"huge\": {', '.join(names)}) and "
                        f"{TARGETS[target].device} has none; SPRAM is an iCE40 UP5K resource "
                        "(update.memory = \"spram\")")
    return _HUGE_RE.sub(r"\1", text)
