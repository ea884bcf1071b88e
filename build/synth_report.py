"""The Markdown page of one synthesis report (``report.md`` beside ``report.json``)."""

from __future__ import annotations

from typing import Any

from .targets import RESOURCE_KEYS, Target

__all__ = ["markdown"]


def fmt_fmax(x: float) -> str:
    return f"{x:.1f}"


def markdown(report: dict[str, Any], target: Target) -> str:
    res = report["resources"]
    keys = [k for k in RESOURCE_KEYS if target.cells[k]]
    head = ["Design", "Device"] + keys + ["Fmax (MHz)"]
    row = ([report["design"], f"{target.device}-{target.package}"]
           + [str(res[k]) for k in keys] + [fmt_fmax(report["fmax_mhz"])])
    per_seed = ", ".join(f"{s}: {fmt_fmax(f)}" for s, f in
                         zip(report["seeds"], report["fmax_mhz_per_seed"]))
    used = ", ".join(f"{bel} {u['used']}/{u['available']}"
                     for bel, u in report["harness"]["utilisation"].items() if u["used"])
    lines = [
        f"# {report['design']} on {report['target']}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|",
        "| " + " | ".join(row) + " |",
        "",
        f"Resources: yosys `{report['synth_command']}` on the core alone. "
        f"Fmax: median over nextpnr seeds (MHz per seed: {per_seed}), placed and routed in a "
        f"{report['harness']['in_bits']}-in/{report['harness']['out_bits']}-out scan harness "
        f"(harness utilisation: {used}).",
        *(["", f"The core was synthesised with `{report['synth_command']}`: yosys stopped on its "
               "ABC9 re-import assertion with the plain command (fallback; resources then come from "
               "a mapping that also sees the flip-flops)."]
          if report.get("abc9_fallback") else []),
        *(["", f"The harness was synthesised with `{report['harness']['synth_command']}`: "
               "yosys stopped on its ABC9 re-import assertion with the plain command "
               "(fallback, docs/results/update-synth.md)."]
          if report["harness"].get("abc9_fallback") else []),
        "",
        "| Tool | Version |",
        "|---|---|",
        *(f"| {tool} | {ver} |" for tool, ver in report["tools"].items()),
        "",
        f"Seeds: {', '.join(map(str, report['seeds']))}. "
        f"Config digest: `{report['config_digest']}`. "
        f"Wall time: {report['time_s']['total']:.1f} s.",
        "",
    ]
    return "\n".join(lines)
