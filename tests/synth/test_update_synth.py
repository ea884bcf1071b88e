"""The update system's parameter memory in synthesis: block RAM or the UP5K's SPRAM."""

import pytest

from pezo import config

from pezo.app import designs
from pezo.build.flow import core_netlist, spram_ready
from pezo.errors import PezoError


def _small(memory: str):
    return config.load("configs/update-small.toml").replace(**{"update.memory": memory})


def _resources(tmp_path, design: str, cfg) -> dict:
    d = designs.get(design)
    return core_netlist(lambda: d.component(cfg), design=design, target="ice40-up5k",
                        out_dir=tmp_path / f"{design}-{cfg.update.memory}")


@pytest.mark.synth
def test_spram_holds_the_parameters_on_the_up5k(tmp_path):
    spram, bram = _small("spram"), _small("bram")
    engine = _resources(tmp_path, "engine", spram)      # the engine's own block RAMs (its pool)
    with_spram = _resources(tmp_path, "update", spram)
    with_bram = _resources(tmp_path, "update", bram)
    assert with_spram["SPRAM"] == spram.update.sprams_needed(spram.engine) == 4
    assert with_spram["BRAM"] == engine["BRAM"] > 0        # no block RAM for the parameters
    assert with_bram["SPRAM"] == 0 and with_bram["BRAM"] > engine["BRAM"]


def test_spram_ready_drops_only_the_spram_contents():
    verilog = designs.get("update").verilog(_small("spram"))
    assert '(* ram_style = "huge" *)' in verilog and "spram[0] = " in verilog
    ready = spram_ready(verilog, "ice40-up5k")
    assert "spram[0] = " not in ready and '(* ram_style = "huge" *)' in ready
    # the engine's memories keep their initial contents
    others = verilog.count("initial begin")
    assert 0 < ready.count("initial begin") == others - 1
    bram = designs.get("update").verilog(_small("bram"))
    assert spram_ready(bram, "ice40-up5k") == bram
    with pytest.raises(PezoError, match="asks for SPRAM.*LFE5U-25F has none"):
        spram_ready(verilog, "ecp5-25k")
