"""The engine through yosys on the ECP5 with more pool read ports than one memory may have."""

import json

import pytest

from pezo.app import designs
from pezo.build.flow import core_netlist
from pezo.config import Config
from pezo.hw import engine


@pytest.mark.synth
def test_wide_pool_maps_on_ecp5(tmp_path):
    # 16 lanes read a 64 x 16 pool (and SCALE one more port): one memory with 17 read ports
    # makes yosys 0.70 abort in memory_libmap; the engine splits it into replicas of at most
    # POOL_READ_PORTS ports.
    assert 16 > engine.POOL_READ_PORTS
    cfg = Config().replace(**{"engine.source": "uniform", "engine.reuse.strategy": "pool-sign",
                              "engine.scale.mode": "adaptive", "engine.lanes": 16, "engine.value_bits": 16,
                              "engine.lfsr.width": 63, "engine.lfsr.k": 32})
    d = designs.get("engine")
    core_netlist(lambda: d.component(cfg), design="engine", target="ecp5-25k", out_dir=tmp_path)
    cells = json.loads((tmp_path / "core_netlist.json").read_text())["modules"]["pezo_engine"]["cells"]
    assert sum(c["type"] == "DP16KD" for c in cells.values()) == 16     # one read port per copy
