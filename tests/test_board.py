"""`pezo board build` / `pezo board program` as a user runs them: bitstreams for both boards
(a small configuration), a design that does not fit or misses the clock (one line, the last
good bitstream kept), bad boards, baud rates and missing bitstreams."""

import json

import pytest
from amaranth.build import Attrs, Clock, Pins, Resource
from amaranth_boards.icebreaker import ICEBreakerPlatform

from pezo.app import board
from pezo.app.cli import main
from pezo.config import Config
from pezo.errors import PezoError

SMALL = "[update]\ndepth = 64\n"


def _small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return str(path)


@pytest.mark.synth
@pytest.mark.parametrize("name,bitstream,part", [("icebreaker", "pezo_board.bin", "ICESTORM_LC"),
                                                  ("ulx3s-25f", "pezo_board.bit", "TRELLIS_COMB")])
def test_build_writes_bitstream_utilisation_and_timing(tmp_path, capsys, name, bitstream, part):
    out = tmp_path / name
    assert main(["board", "build", "--board", name, "--config", _small(tmp_path), "--out", str(out)]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert (out / bitstream).stat().st_size > 10_000
    assert rep["slack_ns"] > 0 and rep["fmax_mhz"] > rep["clock_mhz"]
    assert rep["utilisation"][part]["used"] > 100
    assert rep["config_digest"] == Config().replace(**{"update.depth": 64}).digest("engine", "update")
    assert "slack" in capsys.readouterr().out


@pytest.mark.synth
def test_a_design_that_does_not_fit_keeps_the_last_good_bitstream(tmp_path, capsys):
    out = tmp_path / "ice"
    out.mkdir()
    (out / "pezo_board.bin").write_bytes(b"the last good one")
    (out / "report.json").write_text("{}")
    big = tmp_path / "big.toml"
    big.write_text("[update]\ndepth = 16384\n[engine]\nmax_params = 16384\n")
    assert main(["board", "build", "--board", "icebreaker", "--config", str(big), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "does not fit" in err and "ICESTORM_RAM" in err and "failed.log" in err
    assert (out / "pezo_board.bin").read_bytes() == b"the last good one"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == \
        ["big.toml", "ice", "ice.failed.log"]           # no half-built folder left


class _Fast(ICEBreakerPlatform):
    resources = [Resource("clk12", 0, Pins("35", dir="i"), Clock(200e6), Attrs(GLOBAL=True, IO_STANDARD="SB_LVCMOS"))
                 if r.name == "clk12" else r for r in ICEBreakerPlatform.resources]


@pytest.mark.synth
def test_missing_the_board_clock_is_one_line(tmp_path):
    fast = board.Board("fast", _Fast, "ice40-up5k", "pezo_board.bin", ("iceprog",))
    with pytest.raises(PezoError, match="misses the board's clock") as exc:
        board.build(fast, Config().replace(**{"update.depth": 64}), 2_000_000, tmp_path / "fast")
    assert "\n" not in str(exc.value) and not (tmp_path / "fast" / "pezo_board.bin").exists()


@pytest.mark.parametrize("argv,words", [
    (["board", "build", "--board", "nope"], "unknown board 'nope'; known: icebreaker, ulx3s-25f"),
    (["board", "build", "--board", "icebreaker", "--baud", "4000000"], "too fast for a 12 MHz clock"),
    (["board", "build", "--board", "ulx3s-25f", "--baud", "3000000"], "off by +4.17%"),
    (["board", "program", "--board", "ulx3s-25f", "--out", "/nonexistent"], "no bitstream at /nonexistent"),
])
def test_bad_input_is_one_line_before_any_work(capsys, argv, words):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_program_prints_the_command_when_the_tool_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))          # neither iceprog nor openFPGALoader
    (tmp_path / "pezo_board.bin").write_bytes(b"x")
    assert main(["board", "program", "--board", "icebreaker", "--out", str(tmp_path)]) == 1
    cap = capsys.readouterr()
    assert cap.out.strip() == f"iceprog {tmp_path / 'pezo_board.bin'}"
    assert "iceprog is not installed" in cap.err
    assert main(["board", "program", "--board", "icebreaker", "--out", str(tmp_path), "--dry-run"]) == 0


def test_program_runs_the_programmer_when_present(tmp_path, capsys, monkeypatch):
    (tmp_path / "pezo_board.bit").write_bytes(b"x")
    fake = tmp_path / "openFPGALoader"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'called'}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["board", "program", "--board", "ulx3s-25f", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "called").read_text().split() == ["--board", "ulx3s", str(tmp_path / "pezo_board.bit")]
