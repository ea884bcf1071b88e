"""Generated Verilog integrates by hand: no top-level port is named after a Verilog or
SystemVerilog keyword (the engine's old `begin` port needed `.\\begin (b)` to instantiate)."""

import re

import pytest

from pezo.app import designs
from pezo.config import Config

#: The reserved words of IEEE 1800-2017 (SystemVerilog, Annex B), which include every Verilog-2005
#: keyword.
KEYWORDS = set("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before
begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class
clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign
default defparam design disable dist do edge else end endcase endchecker endclass endclocking
endconfig endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive endprogram
endproperty endspecify endsequence endtable endtask enum event eventually expect export extends
extern final first_match for force foreach forever fork forkjoin function generate genvar global
highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir include
initial inout input inside instance int integer interconnect interface intersect join join_any
join_none large let liblist library local localparam logic longint macromodule matches medium
modport module nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or
output package packed parameter pmos posedge primitive priority program property protected pull0
pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence
rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint shortreal
showcancelled signed small soft solve specify specparam static string strong strong0 strong1 struct
super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time
timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union
unique unique0 unsigned until until_with untyped use uwire var vectored virtual void wait wait_order
wand weak weak0 weak1 while wildcard wire with within wor xnor xor
""".split())

CONFIGS = {
    "default": {},
    "pool-sign": {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
                  "engine.lfsr.width": 63, "engine.lfsr.k": 16},
    "gaussian-clt": {"engine.source": "gaussian-clt", "engine.lfsr.width": 63, "engine.lfsr.k": 63,
                     "engine.lfsr.lanes": 4},
}


def _ports(text: str, top: str) -> list[str]:
    header = re.search(rf"module {top}\s*\((.*?)\);", text, re.S)
    assert header, f"no module {top}"
    return [p.strip().lstrip("\\").split()[0] for p in header.group(1).split(",") if p.strip()]


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("design", list(designs.DESIGNS))
def test_no_port_is_a_keyword(design, name):
    d = designs.get(design)
    cfg = Config().replace(**{"update.depth": 64, **CONFIGS[name]})
    ports = _ports(d.verilog(cfg), d.toplevel)
    assert "clk" in ports and "rst" in ports
    assert [p for p in ports if p in KEYWORDS] == []
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in ports)     # no escaped identifier


def test_the_engine_ports_are_the_documented_ones():
    d = designs.get("engine")
    assert set(_ports(d.verilog(Config()), d.toplevel)) == {
        "clk", "rst", "start", "replay", "d", "idle", "o__valid", "o__ready", "o__payload"}
