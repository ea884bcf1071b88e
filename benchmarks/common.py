"""Shared by the benchmark scripts: machine facts and writing JSON + Markdown results."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

OUT = Path("out/bench")


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}


def write(name: str, rows: list[dict], columns: list[str], title: str) -> None:
    """Print a Markdown table and save it with the raw rows under out/bench/."""
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    text = "\n".join(lines) + f"\n\nmachine: {machine()}\n"
    (OUT / f"{name}.md").write_text(text)
    (OUT / f"{name}.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    print(text)
