"""``pezo explore`` on a 2-worker local Dask cluster, the executor, and external Verilog cores
(DESIGN.md 7.1): end to end, reruns from the cache, a killed worker, an interrupted run, bad input."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pezo.app.cli import main
from pezo.build.executor import Executor, Job
from pezo.errors import PezoError

ROOT = Path(__file__).resolve().parents[1]
PEZO = [sys.executable, "-m", "pezo.app.cli"]
XORSHIFT = ROOT / "tests" / "data" / "xorshift.v"

pytestmark = pytest.mark.xdist_group("explore")      # one local cluster at a time on CI's 2 cores

SPACE = """\
[explore]
name = "four"
base = "{root}/configs/default.toml"
design = "engine"
targets = ["ice40-up5k"]
seeds = [1]
tasks = ["digits"]
train_seeds = [0, 1]
budget = 60

[explore.axes]
"engine.lanes" = [1, 2]
"engine.source" = ["rademacher", "uniform"]
"""


def _space(tmp_path, text=SPACE, name="space.toml") -> Path:
    p = tmp_path / name
    p.write_text(text.format(root=ROOT))
    return p


def _run(*args, cwd=ROOT):
    return subprocess.run([*PEZO, "explore", *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("explore-cache")


@pytest.mark.synth
def test_a_four_point_space_end_to_end_and_again_from_the_cache(tmp_path, cache):
    space, out = _space(tmp_path), tmp_path / "out"
    r = _run(space, "--workers", 2, "--out", out, "--cache", cache)
    assert r.returncode == 0, r.stderr
    assert "2 workers on a local cluster" in r.stderr and "[1/" in r.stderr
    assert "ice40-up5k: recommended" in r.stdout
    rows = json.loads((out / "points.json").read_text())["rows"]
    points = [row for row in rows if row["kind"] == "point"]
    assert len(points) == 4 and all(row["status"] == "ok" and row["LUT"] > 0 for row in points)
    assert all(row["digits_runs"] == 2 and row["accuracy"] is not None for row in points)
    assert sorted(p.name for p in out.iterdir()) == [
        "front-ice40-up5k-lut.png", "front-ice40-up5k-lut.svg", "front-ice40-up5k-power.png",
        "front-ice40-up5k-power.svg", "front.md", "points.csv", "points.json"]
    md = (out / "front.md").read_text()
    assert "**Recommended:" in md and "rule: fewest LUT" in md and "MeZO with the torch Gaussian" in md
    # the same space again: every job from the cache, identical tables, no cluster started
    csv, table = (out / "points.csv").read_text(), md.split("Jobs:")[0]
    again = _run(space, "--out", out, "--cache", cache)
    assert again.returncode == 0 and "0 to run" in again.stderr and "local cluster" not in again.stderr
    assert (out / "points.csv").read_text() == csv and (out / "front.md").read_text().split("Jobs:")[0] == table


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The local cluster's worker processes (spawned by the nannies, which run in pezo's process)."""
    found = []
    for child in psutil.Process(proc.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def _lines_until(proc: subprocess.Popen, want: str, timeout: float = 240) -> list[str]:
    lines, t0 = [], time.time()
    while time.time() - t0 < timeout:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if want in line:
            return lines
    raise AssertionError(f"no {want!r} in {lines}")


TRAINING = SPACE.replace('train_seeds = [0, 1]\nbudget = 60', 'train_seeds = [0, 1, 2, 3]\nbudget = 600')


@pytest.mark.synth
def test_a_killed_worker_loses_nothing_and_an_interrupted_run_resumes(tmp_path, cache):
    space, out = _space(tmp_path, TRAINING), tmp_path / "out"
    proc = subprocess.Popen([*PEZO, "explore", str(space), "--workers", "2", "--out", str(out), "--cache",
                             str(cache)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    _lines_until(proc, "[2/")
    workers = _workers(proc)
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)         # mid-run: its job runs again elsewhere
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    rows = json.loads((out / "points.json").read_text())["rows"]
    assert all(row["digits_runs"] == 4 for row in rows if row["kind"] == "point")
    again = _run(space, "--out", out, "--cache", cache)
    assert again.returncode == 0 and "0 to run" in again.stderr

    # interrupted: what finished before the interrupt is not run again
    space2 = _space(tmp_path, TRAINING.replace("[0, 1, 2, 3]", "[6, 7, 8, 9]"), "space2.toml")
    proc = subprocess.Popen([*PEZO, "explore", str(space2), "--workers", "2", "--out", str(out), "--cache",
                             str(cache)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    seen = _lines_until(proc, "[3/")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    finished = sum(line.strip().startswith(".. [") for line in seen)
    resumed = _run(space2, "--workers", 2, "--out", out, "--cache", cache)
    assert resumed.returncode == 0, resumed.stderr
    line = next(x for x in resumed.stderr.splitlines() if " jobs: " in x)
    assert int(line.split(": ")[1].split(" from")[0]) >= finished >= 3


def test_the_executor_reports_a_job_that_kills_its_workers_and_finishes_the_rest():
    with Executor(workers=1) as ex:
        done = {d.job.key: d for d in ex.run([Job("dies", "dies", os._exit, (3,)),
                                              Job("ok", "ok", math.sqrt, (16.0,))])}
    assert done["ok"].ok and done["ok"].result == 4.0
    assert not done["dies"].ok and "worker died" in done["dies"].error
    with Executor(workers=1) as ex:
        (bad,) = ex.run([Job("raises", "raises", math.sqrt, (-1.0,))])
    assert bad.error == "ValueError: math domain error"


def test_executor_bad_arguments():
    with pytest.raises(PezoError, match="--workers must be at least 1"):
        Executor(workers=0)
    with pytest.raises(PezoError, match="has its own"):
        Executor("tcp://127.0.0.1:8786", workers=2)


BAD = [
    ('"engine.source"', '"engine.sourc"', "unknown configuration key 'engine.sourc'"),
    ('"engine.lanes" = [1, 2]', '"engine.lanes" = [1, 100]', "engine.lanes = 100 is rejected on every point"),
    ('budget = 60', 'budget = 60\nfoo = 1', "unknown key explore.foo"),
    ('targets = ["ice40-up5k"]', 'targets = ["ice40"]', "explore.targets: must be a non-empty list"),
    ('tasks = ["digits"]', 'tasks = []', "explore.tasks: must be a non-empty list"),
]


@pytest.mark.parametrize("old,new,message", BAD, ids=[m.split(":")[0][:30] for _o, _n, m in BAD])
def test_bad_spaces_are_one_line_errors_before_any_work(tmp_path, capsys, old, new, message):
    space = _space(tmp_path, SPACE.replace(old, new))
    assert main(["explore", str(space), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("pezo: error: ")
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    space = _space(tmp_path, SPACE.replace('"engine.lanes" = [1, 2]\n', ""))
    assert main(["explore", str(space), "--scheduler", "tcp://127.0.0.1:9", "--no-cache",
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pezo: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "out").exists()


# -- external Verilog ---------------------------------------------------------------------------

@pytest.mark.synth
def test_external_verilog_through_synth_and_compare(tmp_path):
    stim = tmp_path / "stim.json"
    stim.write_text(json.dumps({"inputs": {"en": [1] * 100}}))
    r = subprocess.run([*PEZO, "synth", "--verilog", str(XORSHIFT), "--top", "xorshift", "--target", "ice40-up5k",
                        "--seeds", "1", "--out", str(tmp_path / "s"), "--cache", str(tmp_path / "c")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "xorshift on ice40-up5k: 3" in r.stdout and "power: no stimulus given" in r.stdout
    rep = json.loads((tmp_path / "s" / "report.json").read_text())
    assert rep["resources"]["FF"] == 32 and rep["extra"]["external"]["top"] == "xorshift"
    r = subprocess.run([*PEZO, "report", "compare", "configs/rademacher.toml", "--verilog", str(XORSHIFT), "--top",
                        "xorshift", "--stimulus", str(stim), "--target", "ice40-up5k", "--seeds", "1",
                        "--out", str(tmp_path / "cmp"), "--cache", str(tmp_path / "c")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"]
    assert [row["name"] for row in rows] == ["rademacher", "xorshift"]
    assert rows[1]["source"] == "external (xorshift)" and rows[1]["dynamic_uw"] > 0


@pytest.mark.parametrize("text,args,message", [
    ("module broken (input clk, output x);\n  assign x = ;\nendmodule\n", ["--top", "broken"],
     "broken.v:2: ERROR: syntax error"),
    (None, ["--top", "nosuch"], "Module `nosuch' not found"),
    (None, [], "--verilog needs --top NAME"),
])
def test_bad_external_verilog_is_one_line(tmp_path, capsys, text, args, message):
    src = XORSHIFT
    if text is not None:
        src = tmp_path / "broken.v"
        src.write_text(text)
    out = tmp_path / "s"
    assert main(["synth", "--verilog", str(src), *args, "--target", "ice40-up5k", "--seeds", "1",
                 "--out", str(out), "--no-cache"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_external_stimulus_must_fit_the_ports(tmp_path, capsys):
    stim = tmp_path / "stim.json"
    stim.write_text(json.dumps({"inputs": {"enable": [1, 1]}}))
    assert main(["synth", "--verilog", str(XORSHIFT), "--top", "xorshift", "--stimulus", str(stim), "--target",
                 "ice40-up5k", "--out", str(tmp_path / "s"), "--no-cache"]) == 1
    assert "xorshift has no port enable" in capsys.readouterr().err


def test_pareto_and_the_recommendation_rule():
    from pezo.app.explore import pareto, recommend

    rows = [{"name": "a", "LUT": 100, "dynamic_uw": 9.0, "accuracy": 90.0},
            {"name": "b", "LUT": 200, "dynamic_uw": 5.0, "accuracy": 93.0},
            {"name": "c", "LUT": 150, "dynamic_uw": 8.0, "accuracy": 89.0},     # dominated by a
            {"name": "d", "LUT": 300, "dynamic_uw": 7.0, "accuracy": 93.5},
            {"name": "e", "LUT": 100, "dynamic_uw": 9.5, "accuracy": 90.0},     # ties a: neither dominates
            {"name": "f", "LUT": 50, "dynamic_uw": None, "accuracy": None}]     # no accuracy: off the front
    assert [r["name"] for r in pareto(rows, "LUT")] == ["a", "b", "d", "e"]
    assert [r["name"] for r in pareto(rows, "dynamic_uw")] == ["b", "d"]
    pick, rule = recommend(rows, 1.0)
    assert pick["name"] == "b" and "within 1 points of the best (93.50)" in rule
    assert recommend(rows, 5.0)[0]["name"] == "a"                           # a and e tie on LUT: less power
    assert recommend(rows, 0.0)[0]["name"] == "d"
    assert recommend([], 1.0)[0] is None
