"""Switching activity of a gate-level simulation (step 3 of :mod:`pezo.build.power`): 0<->1
transitions per net bit from the VCD (zero-delay simulation: no glitches), clock edges with each
block-RAM port enabled, and transitions on DSP inputs; each net classed by what drives it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pezo.errors import PezoError

__all__ = ["activity"]


#: (cell type, output port prefix) -> activity class, per family. The first match wins.
_DRIVERS: dict[str, list[tuple[str, str, str]]] = {
    "ice40-up5k": [("SB_CARRY", "", "carry"), ("SB_LUT4", "", "LUT"), ("SB_DFF", "", "FF"),
                   ("SB_RAM40_4K", "", "BRAM"), ("SB_SPRAM256KA", "", "BRAM"),
                   ("SB_MAC16", "", "DSP")],
    "ecp5-25k": [("CCU2C", "COUT", "carry"), ("CCU2C", "", "LUT"), ("LUT4", "", "LUT"),
                 ("PFUMX", "", "LUT"), ("L6MUX21", "", "LUT"), ("TRELLIS_DPR16X4", "", "LUT"),
                 ("TRELLIS_FF", "", "FF"), ("DP16KD", "", "BRAM"), ("PDPW16KD", "", "BRAM"),
                 ("MULT18X18D", "", "DSP"), ("ALU54B", "", "DSP")],
}


# Block-RAM ports: (cell type, [(port name, enable pins that must all be 1)]).
_BRAM_PORTS = {
    "SB_RAM40_4K": [("read", ("RE", "RCLKE")), ("write", ("WE", "WCLKE"))],
    "SB_SPRAM256KA": [("access", ("CHIPSELECT",))],
    "DP16KD": [("A", ("CEA",)), ("B", ("CEB",))],
    "PDPW16KD": [("read", ("CER",)), ("write", ("CEW",))],
}


_FF_PREFIX = {"ice40-up5k": "SB_DFF", "ecp5-25k": "TRELLIS_FF"}


@dataclass
class _Net:
    cls: str = "other"
    fanout: int = 0


def _classify_nets(module: dict, target: str) -> tuple[dict[int, _Net], dict[str, int]]:
    """Driver class and fanout of every net bit; cell counts per class."""
    nets: dict[int, _Net] = {}
    for name, port in module["ports"].items():
        for bit in port["bits"]:
            if isinstance(bit, int):
                net = nets.setdefault(bit, _Net())
                if port["direction"] == "input":
                    net.cls = "clock" if name == "clk" else "port"
                else:
                    net.fanout += 1
    counts: dict[str, int] = {}
    rules = _DRIVERS[target]
    for cell in module["cells"].values():
        ctype = cell["type"]
        dirs = cell.get("port_directions", {})
        for pin, bits in cell["connections"].items():
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                net = nets.setdefault(bit, _Net())
                if dirs.get(pin) == "output":
                    net.cls = next((cls for t, p, cls in rules
                                    if ctype.startswith(t) and pin.startswith(p)), "other")
                else:
                    net.fanout += 1
        if ctype.startswith(_FF_PREFIX[target]):
            counts["FF"] = counts.get("FF", 0) + 1
    return nets, counts


_VAR_RE = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+\[(\d+)(?::(\d+))?\])?\s+\$end")


def activity(vcd: Path, netlist: dict, top: str, target: str, cycles: int) -> dict[str, Any]:
    """Toggle counts and block activity from a VCD of the netlist's top-level nets.

    Returns
    -------
    dict
        ``cycles`` and ``clock_edges`` (equal); ``toggles`` per driver class (LUT, FF, carry,
        BRAM, DSP, port, other: 0<->1 transitions of the nets each class drives, summed over
        the run); ``fanout_extra`` per class (the sum over transitions of ``fanout - 1``);
        ``ff`` (flip-flop count); ``bram_ports`` and ``bram_accesses`` (port enabled at an
        edge); ``dsp`` and ``dsp_input_toggles``; ``ports`` (each named net of the netlist, the
        core's ports among them -> transitions per bit, LSB first).
    """
    module = netlist["modules"][top]
    nets, counts = _classify_nets(module, target)
    name_bits: dict[str, tuple[list, int]] = {
        name: (info["bits"], int(info.get("offset", 0))) for name, info in module["netnames"].items()}

    # Block pins whose values matter at clock edges (BRAM enables) or whose transitions are
    # charged to the block (DSP inputs).
    enables: list[list[list[int | str]]] = []   # per BRAM port: the enable pins' bits
    dsp_inputs: list[set[int]] = []
    for cell in module["cells"].values():
        ctype = cell["type"]
        conns = cell["connections"]
        for _port, pins in _BRAM_PORTS.get(ctype, []):
            enables.append([conns.get(p, ["1"])[0] for p in pins])
        if any(ctype.startswith(t) for t, _p, cls in _DRIVERS[target] if cls == "DSP"):
            dirs = cell.get("port_directions", {})
            dsp_inputs.append({b for pin, bits in conns.items() if dirs.get(pin) == "input"
                               for b in bits if isinstance(b, int)})

    codes: dict[str, list[tuple[int, list[int]]]] = {}  # id code -> [(width, bit ids MSB first)]
    watched: set[int] = {b for port in enables for b in port if isinstance(b, int)}
    clk_code = None
    toggles: dict[int, int] = {}
    value: dict[str, str] = {}
    bit_value: dict[int, str] = {}
    bram_accesses = 0
    edges = 0

    with Path(vcd).open() as f:
        for line in f:
            if line.startswith("$enddefinitions"):
                break
            m = _VAR_RE.search(line)
            if not m:
                continue
            width, code, name = int(m[1]), m[2], m[3].lstrip("\\")
            msb = int(m[4]) if m[4] is not None else 0
            lsb = int(m[5]) if m[5] is not None else msb
            if name not in name_bits:
                continue
            bits, offset = name_bits[name]
            step = -1 if msb >= lsb else 1
            ids = []
            for i in range(msb, lsb + step, step):
                j = i - offset
                ids.append(bits[j] if 0 <= j < len(bits) and isinstance(bits[j], int) else -1)
            if name == "clk":
                clk_code = code
            codes.setdefault(code, []).append((width, ids))
        snapshot: dict[int, str] = {}
        in_dump = False
        for line in f:
            ch = line[:1]
            if ch == "#":
                snapshot = {b: bit_value.get(b, "x") for b in watched} if watched else {}
                continue
            if ch == "$":
                in_dump = line.startswith("$dumpvars")
                continue
            if ch in "bB":
                val, code = line[1:].split()
            elif ch in "01xXzZ":
                val, code = ch, line[1:].strip()
            else:
                continue
            entries = codes.get(code)
            if entries is None:
                continue
            width = entries[0][0]
            if len(val) < width:
                val = (val[0] if val[0] in "xXzZ" else "0") * (width - len(val)) + val
            old = value.get(code)
            value[code] = val
            if code == clk_code:
                if old == "0" and val == "1" and not in_dump:
                    edges += 1
                    for port in enables:
                        if all((snapshot.get(b, "x") == "1") if isinstance(b, int) else b == "1"
                               for b in port):
                            bram_accesses += 1
                continue
            for _w, ids in entries[:1]:
                for k, bit in enumerate(ids):
                    if bit < 0:
                        continue
                    new = val[k]
                    prev = bit_value.get(bit)
                    bit_value[bit] = new
                    if not in_dump and prev is not None and prev != new and prev in "01" \
                            and new in "01":
                        toggles[bit] = toggles.get(bit, 0) + 1
    if clk_code is None:
        raise PezoError(f"power: no clk net in the activity dump of {top}")
    # The clock reaches block RAMs and DSPs through alias nets; it is charged per flip-flop
    # (and by the device's clock network), never as a net or a DSP input.
    toggles = {b: t for b, t in toggles.items() if nets.get(b, _Net()).cls != "clock"}

    per_class: dict[str, int] = {}
    fanout_extra: dict[str, int] = {}
    for bit, t in toggles.items():
        net = nets.get(bit, _Net())
        per_class[net.cls] = per_class.get(net.cls, 0) + t
        fanout_extra[net.cls] = fanout_extra.get(net.cls, 0) + t * max(net.fanout - 1, 0)
    named = {}
    for name, (bits, _off) in name_bits.items():
        if not name.startswith("_"):
            named[name] = [toggles.get(b, 0) if isinstance(b, int) else 0 for b in bits]
    return {
        "cycles": cycles,
        "clock_edges": edges,
        "toggles": dict(sorted(per_class.items())),
        "fanout_extra": dict(sorted(fanout_extra.items())),
        "ff": counts.get("FF", 0),
        "bram_ports": len(enables),
        "bram_accesses": bram_accesses,
        "dsp": len(dsp_inputs),
        "dsp_input_toggles": sum(toggles.get(b, 0) for ins in dsp_inputs for b in ins),
        "ports": named,
    }
