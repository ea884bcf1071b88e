"""The fault matrix: every command that writes, with every bad destination, an interrupt, a
concurrent run and a full disk. Each must end in one line and a documented exit status (1 for a
user error, 130 interrupted, 141 closed pipe), before any work where the destination is bad, and
leave an earlier good output byte-identical (pezo/files.py, pezo/app/cli.py's docstring)."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pezo.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
PEZO = [sys.executable, "-m", "pezo.app.cli"]
SMALL = ROOT / "configs" / "lfsr-small.toml"

#: command -> (argv before the destination, the option that names it, kind of destination)
COMMANDS = {
    "generate": (["generate", "lfsr", "--config", str(SMALL)], "-o", "file"),
    "sim": (["sim", "lfsr", "--config", str(SMALL), "--cycles", "200"], "--out", "dir"),
    "synth": (["synth", "lfsr", "--config", str(SMALL), "--target", "ice40-up5k", "--seeds", "1", "--no-cache"],
              "--out", "dir"),
    "synth-cache": (["synth", "lfsr", "--config", str(SMALL), "--target", "ice40-up5k", "--seeds", "1"],
                    "--cache", "dir"),
    "compare": (["report", "compare", str(SMALL), "--target", "ice40-up5k", "--seeds", "1", "--no-cache"],
                "--out", "dir"),
    "compare-cache": (["report", "compare", str(SMALL), "--target", "ice40-up5k", "--seeds", "1"], "--cache", "dir"),
    "train": (["train", "--task", "diabetes", "--optimizer", "mezo", "--steps", "5"], "--out", "dir"),
    "explore": (["explore", str(ROOT / "tests" / "data" / "explore-one.toml"), "--workers", "1", "--no-cache"],
                "--out", "dir"),
    "explore-cache": (["explore", str(ROOT / "tests" / "data" / "explore-one.toml"), "--workers", "1"],
                      "--cache", "dir"),
    "synth-verilog": (["synth", "--verilog", str(ROOT / "tests" / "data" / "xorshift.v"), "--top", "xorshift",
                       "--target", "ice40-up5k", "--seeds", "1", "--no-cache"], "--out", "dir"),
    "board": (["board", "build", "--board", "icebreaker", "--config", str(SMALL)], "--out", "dir"),
}


def _pezo(*args, cwd=None, **kw):
    return subprocess.run([*PEZO, *args], capture_output=True, text=True, cwd=cwd, **kw)


def _one_line_error(r, status=1, where=None) -> str:
    assert r.returncode == status, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("  ..")]
    assert len(lines) == 1 and lines[0].startswith("pezo: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def _bad_destinations(tmp_path: Path, kind: str) -> dict[str, tuple[Path, str]]:
    """case -> (destination, a fragment of the expected message)."""
    a_file = tmp_path / "file.toml"
    a_file.write_text("x = 1\n")
    a_dir = tmp_path / "somedir"
    a_dir.mkdir()
    name = "x.v" if kind == "file" else "out"
    return {
        "unwritable": (Path("/proc") / f"pezo-{name}", "cannot"),
        "parent is a file": (a_file / name, "is a file, not a directory"),
        "missing parents": (tmp_path / "no" / "such" / name, "does not exist"),
        "wrong kind": ((a_dir, "it is a directory") if kind == "file" else (a_file, "it is a file, not a directory")),
    }


CASES = ["unwritable", "parent is a file", "missing parents", "wrong kind"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_destination_is_one_line_before_any_work(tmp_path, command, case):
    argv, option, kind = COMMANDS[command]
    dest, fragment = _bad_destinations(tmp_path, kind)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    t0 = time.perf_counter()
    r = _pezo(*argv, option, str(dest), cwd=tmp_path)
    line = _one_line_error(r)
    assert fragment in line and str(dest) in line
    assert time.perf_counter() - t0 < 20                       # refused before the work (synth: minutes)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created, not even out/
    assert not (tmp_path / "no").exists()


def test_only_the_last_directory_level_is_created(tmp_path):
    r = _pezo(*COMMANDS["generate"][0], "-o", str(tmp_path / "new" / "x.v"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "new" / "x.v").is_file()


def test_defaults_under_out_are_created(tmp_path):
    r = _pezo(*COMMANDS["generate"][0], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "lfsr" / "pezo_lfsr.v").is_file()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_follow_the_umask(tmp_path, mask):
    env = dict(os.environ)
    out = tmp_path / "t"
    r = subprocess.run(["sh", "-c", f"umask {mask:03o} && exec \"$@\"", "sh", *PEZO, *COMMANDS["train"][0],
                        "--out", str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    run_dir = out / "diabetes" / "mezo"
    assert stat.S_IMODE((run_dir / "run.json").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((run_dir / "curves.png").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o777 & ~mask


# -- an earlier good output survives -------------------------------------------------------------

def _previous(dest: Path, kind: str) -> dict[str, bytes]:
    """An earlier good output at ``dest``; returns its files' contents."""
    if kind == "file":
        dest.write_bytes(b"// an earlier good file\n")
        return {dest.name: dest.read_bytes()}
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "report.json").write_text('{"earlier": "good"}\n')
    return {"report.json": (dest / "report.json").read_bytes()}


def _same(dest: Path, kind: str, before: dict[str, bytes]) -> bool:
    if kind == "file":
        return dest.read_bytes() == before[dest.name]
    return all((dest / name).read_bytes() == data for name, data in before.items())


@pytest.mark.parametrize("command", ["generate", "sim", "synth", "compare", "train", "explore"])
def test_concurrent_run_is_refused_in_one_line(tmp_path, command):
    from filelock import FileLock

    argv, option, kind = COMMANDS[command]
    dest = tmp_path / ("x.v" if kind == "file" else "out")
    before = _previous(dest, kind)
    if command == "train":
        dest = dest / "diabetes" / "mezo"              # the run's own folder is what is locked
    with FileLock(dest.parent / f".{dest.name}.lock"):      # another run holds the destination
        r = _pezo(*argv, option, str(tmp_path / ("x.v" if kind == "file" else "out")))
    if command == "generate":
        # a single file is replaced atomically: both runs succeed, no lock needed
        assert r.returncode == 0, r.stderr
        return
    line = _one_line_error(r)
    assert "another pezo run is writing" in line
    assert _same(tmp_path / "out", kind, before)


@pytest.mark.parametrize("command", ["sim", "synth", "compare", "train", "explore", "board"])
def test_interrupt_keeps_the_earlier_output(tmp_path, command):
    argv, option, kind = COMMANDS[command]
    dest = tmp_path / "out"
    before = _previous(dest, kind)
    if command == "train":
        argv = [a if a != "5" else "100000" for a in argv]      # long enough to interrupt
        before_run = _previous(dest / "diabetes" / "mezo", kind)
    if command == "sim":
        argv = [a if a != "200" else "2000000" for a in argv]
    p = subprocess.Popen([*PEZO, *argv, option, str(dest)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path, start_new_session=True)
    time.sleep(4 if command != "train" else 3)             # mid-run: tools or training under way
    os.killpg(p.pid, signal.SIGINT)                          # Ctrl-C reaches the whole process group
    out, err = p.communicate(timeout=120)
    if p.returncode == 0:
        pytest.skip(f"{command} finished before the interrupt")
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "pezo: interrupted" and "Traceback" not in err
    assert _same(dest, kind, before)
    if command == "train":
        assert _same(dest / "diabetes" / "mezo", kind, before_run)
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".out.") and p.name.endswith(".new")]


def test_full_disk_keeps_the_earlier_file(tmp_path, capsys, monkeypatch):
    import pezo.files

    dest = tmp_path / "x.v"
    before = _previous(dest, "file")

    def enospc(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pezo.files.os, "replace", enospc)
    assert main([*COMMANDS["generate"][0], "-o", str(dest)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"pezo: error: cannot write {dest}: No space left on device"
    assert _same(dest, "file", before) and [p.name for p in tmp_path.iterdir()] == ["x.v"]


def test_full_disk_in_a_report_folder_keeps_the_earlier_one(tmp_path, capsys, monkeypatch):
    import pezo.files

    dest = tmp_path / "out"
    before = _previous(dest, "dir")
    real = pezo.files.os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, _data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pezo.files.os, "fdopen", lambda fd, mode: Full(real(fd, mode)))
    assert main([*COMMANDS["train"][0], "--out", str(dest)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pezo: error: cannot write") and err[-1].endswith("No space left on device")
    assert _same(dest, "dir", before)
    assert not (dest / "diabetes" / "mezo").exists()


def test_stale_files_of_an_earlier_run_are_gone(tmp_path):
    out = tmp_path / "t"
    argv = [a if a != "5" else "3" for a in COMMANDS["train"][0]]
    assert _pezo(*argv, "--seeds", "3", "--out", str(out)).returncode == 0
    assert _pezo(*argv, "--seeds", "1", "--out", str(out)).returncode == 0
    assert sorted(p.name for p in (out / "diabetes" / "mezo").iterdir()) == ["curves.png", "run.json", "seed0.csv"]


@pytest.mark.parametrize("argv", [["config", "show"], ["doctor"], ["report", "show", "RUN"]])
def test_closed_pipe_ends_quietly(tmp_path, argv):
    if "RUN" in argv:
        assert _pezo(*COMMANDS["train"][0], "--out", str(tmp_path)).returncode == 0
        argv = ["report", "show", str(tmp_path / "diabetes" / "mezo" / "run.json")]
    p = subprocess.Popen([*PEZO, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()                                   # `| head -1`
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert p.returncode in (0, 1, 141)                  # doctor exits 1 when a tool is missing


def test_demo_destination_checked_before_any_work(tmp_path):
    (tmp_path / "out").write_text("a file where the demo's folder goes\n")
    r = _pezo("demo", "--seeds", "1", "--cycles", "10", cwd=tmp_path)
    assert "out is a file, not a directory" in _one_line_error(r)
    (tmp_path / "out").unlink()
    from filelock import FileLock

    (tmp_path / "out").mkdir()
    with FileLock(tmp_path / "out" / ".demo.lock"):
        r = _pezo("demo", "--seeds", "1", "--cycles", "10", cwd=tmp_path)
    assert "another pezo run is writing out/demo" in _one_line_error(r)
