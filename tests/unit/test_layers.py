"""The layers of docs/architecture.md, checked on every import statement (function-level ones
included): hw and sw never import each other, the spine imports nothing above it, nothing below
the application imports it, and a golden reference never imports its fast stream."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Folder -> the package it is installed as (pyproject.toml package-dir).
FOLDERS = {"pezo": "pezo", "hw": "pezo.hw", "sw": "pezo.sw", "sim": "pezo.sim", "build": "pezo.build",
           "benchmarks": "pezo.bench"}

#: What each layer may import (besides itself and third-party packages).
ALLOWED = {
    "spine": {"spine"},
    "hw": {"spine"},
    "sw": {"spine"},
    "sim": {"spine", "hw", "sw"},
    "build": {"spine"},
    "app": {"spine", "hw", "sw", "sim", "build"},
    "bench": {"spine", "hw", "sw", "sim", "build", "app"},
}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT)
    pkg = FOLDERS[rel.parts[0]]
    parts = list(rel.with_suffix("").parts[1:])
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([pkg, *parts])


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "pezo":
        return None
    if len(parts) == 1:
        return "spine"
    return {"hw": "hw", "sw": "sw", "sim": "sim", "build": "build", "app": "app", "bench": "bench"}.get(parts[1], "spine")


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)   # `from pezo import tools`
    return out


def _known(name: str) -> bool:
    """``name`` is a pezo module (not an attribute imported from one)."""
    parts = name.split(".")
    # the longest package first: pezo.sw.golden is in sw/, not in pezo/sw/
    for folder, pkg in sorted(FOLDERS.items(), key=lambda fp: -len(fp[1])):
        head = pkg.split(".")
        if parts[:len(head)] == head:
            rest = parts[len(head):]
            base = ROOT / folder / Path(*rest) if rest else ROOT / folder
            return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
    return False


GRAPH = {_module(p): {m for m in _imports(p) if m.startswith("pezo") and _known(m)} for p in _sources()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_follow_the_layers(module):
    layer = _layer(module)
    bad = sorted(m for m in GRAPH[module] if _layer(m) not in ALLOWED[layer] | {layer})
    assert not bad, f"{module} ({layer}) imports {bad}"


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += GRAPH.get(m, ())
    return seen


@pytest.mark.parametrize("reference", ["pezo.sw.golden.lfsr", "pezo.sw.golden.engine", "pezo.sw.golden.update"])
def test_a_reference_never_imports_a_fast_path(reference):
    fast = sorted(m for m in _closure(reference) if m.endswith("_stream") or m.endswith(".stream"))
    assert not fast, f"{reference} reaches {fast}"


def test_the_checker_sees_violations():
    """The graph is real: it holds known edges, and the rule flags a made-up bad one."""
    assert "pezo.sw.golden.engine" in GRAPH["pezo.sw.golden.engine_stream"]
    assert "pezo.sw.golden.lfsr_stream" in _closure("pezo.sw.golden.engine_stream")
    assert "pezo.hw.lfsr" in GRAPH["pezo.hw.engine"]
    assert "pezo.app.designs" in GRAPH["pezo.app.cli"]
    assert "pezo.tools" in GRAPH["pezo.build.run"]            # `from pezo import tools`
    assert "pezo.sw" not in ALLOWED[_layer("pezo.hw.engine")]
    assert _layer("pezo.config") == "spine" and _layer("pezo.gaussian.clt") == "spine"
    assert _layer("pezo.bench.hardware") == "bench"
