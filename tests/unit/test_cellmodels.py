"""The ECP5 cell models pezo writes for the power estimate, checked directly in Icarus."""

import random
import shutil
import subprocess

import pytest

from pezo.build.cellmodels import ECP5_EXTRA


def _bits(name: str) -> str:
    return ", ".join(f".{name}{i}({name.lower()}[{i}])" for i in range(18))


@pytest.mark.cosim
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog is not installed")
def test_mult18x18d_products_for_every_signedness(tmp_path):
    rng = random.Random(1)
    cases = [(rng.getrandbits(18), rng.getrandbits(18), sa, sb) for sa in (0, 1) for sb in (0, 1)
             for _ in range(50)]
    cases += [(1 << 17, 1 << 17, 1, 1), ((1 << 18) - 1, (1 << 18) - 1, 1, 0)]
    checks = "\n".join(f"    a = 18'd{a}; b = 18'd{b}; sga = {sa}; sgb = {sb}; #1 $display(\"%0d\", p);"
                       for a, b, sa, sb in cases)
    tb = f"""
module tb;
  reg [17:0] a, b; reg sga, sgb; wire [35:0] p;
  MULT18X18D m({_bits("A")}, {_bits("B")}, .SIGNEDA(sga), .SIGNEDB(sgb),
               {", ".join(f".P{i}(p[{i}])" for i in range(36))});
  initial begin
{checks}
  end
endmodule
"""
    (tmp_path / "cells.v").write_text(ECP5_EXTRA)
    (tmp_path / "tb.v").write_text(tb)
    subprocess.run(["iverilog", "-o", "tb.vvp", "cells.v", "tb.v"], cwd=tmp_path, check=True)
    out = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, check=True, capture_output=True,
                         text=True).stdout.split()
    for (a, b, sa, sb), got in zip(cases, out, strict=True):
        va = a - (1 << 18) if sa and a >> 17 else a
        vb = b - (1 << 18) if sb and b >> 17 else b
        assert int(got) == (va * vb) % (1 << 36), (a, b, sa, sb)
