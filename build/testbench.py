"""The gate-level testbench of the power estimate (step 2 of :mod:`pezo.build.power`): a
Verilog bench that drives a stimulus, one word per cycle, into the mapped netlist and prints its
outputs, and the check of those outputs against the golden model's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pezo.errors import PezoError

__all__ = ["PERIOD_NS", "check_outputs", "stimulus_words", "testbench"]


PERIOD_NS = 10  # simulation clock; only the cycle count matters


def testbench(top: str, ports: dict[str, dict], inputs: Mapping[str, Sequence[int]],
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


def stimulus_words(inputs: Mapping[str, Sequence[int]], slices: list[tuple[str, int, int]], cycles: int) -> list[str]:
    """The stimulus as the bench reads it (``$readmemh``): one hex word per cycle, each input at
    its slice; inputs not given are 0."""
    words = []
    for c in range(cycles):
        word = 0
        for name, lo, width in slices:
            if name in inputs:
                word |= (int(inputs[name][c]) & ((1 << width) - 1)) << lo
        words.append(f"{word:x}")
    return words


def _vname(name: str) -> str:
    """``.name`` for a port connection; escaped when the name is not a plain identifier."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) and name not in _KEYWORDS:
        return "." + name
    return ".\\" + name + " "


_KEYWORDS = {"begin", "end", "input", "output", "reg", "wire", "module", "case", "default", "if",
             "else", "for", "always", "initial", "assign", "function", "task", "event", "integer"}


def check_outputs(path: Path, order: list[str], widths: dict[str, int],
                  expected: Mapping[str, Sequence[int | None]], cycles: int, top: str,
                  target: str) -> None:
    """Compare the outputs the bench printed (one line per cycle) with the expected ones."""
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
