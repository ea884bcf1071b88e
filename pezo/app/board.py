"""``pezo board build`` and ``pezo board program``: the board top (``pezo.hw.board``) through a
board's ``amaranth-boards`` platform with the pinned YoWASP tools (DESIGN.md 4.6).

The build runs in a fresh folder beside ``out/board/<board>/`` and replaces it only when the
bitstream, the utilisation and the timing are all there, so a failed build (the design does not
fit, it misses the board's clock) leaves the last good bitstream where it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pezo import __version__, tools
from pezo.config import Config
from pezo.errors import PezoError
from pezo.files import check_dir, locked, staged_dir, write_atomic
from pezo.link import LinkParams
from pezo.uart import UartParams
from pezo.update_rules import UpdateRules

NAME = "pezo_board"
#: Seconds without a byte after which the device drops a frame being received (docs/link.md).
LINK_TIMEOUT_S = 0.05
DEFAULT_BAUD = 115_200


@dataclass(frozen=True)
class Board:
    name: str
    platform: object            # "amaranth_boards module:Class", or the class
    target: str                 # pezo's synthesis target of the same part
    bitstream: str              # the file the programmer takes
    programmer: tuple[str, ...]  # the command, the bitstream's path appended

    def make_platform(self):
        import importlib

        if isinstance(self.platform, str):
            module, cls = self.platform.split(":")
            base = getattr(importlib.import_module(module), cls)
        else:
            base = self.platform

        class Platform(base):
            # the build never programs: a programmer is needed by `pezo board program` only
            @property
            def required_tools(self):
                return [t for t in super().required_tools if t not in ("iceprog", "openFPGALoader")]

        return Platform()


BOARDS = {
    "icebreaker": Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform", "ice40-up5k",
                        f"{NAME}.bin", ("iceprog",)),
    "ulx3s-25f": Board("ulx3s-25f", "amaranth_boards.ulx3s:ULX3S_25F_Platform", "ecp5-25k",
                       f"{NAME}.bit", ("openFPGALoader", "--board", "ulx3s")),
}

#: Amaranth's environment variable for each tool of the build, and pezo's name for it.
_TOOL_ENV = {"YOSYS": "yosys", "NEXTPNR_ICE40": "nextpnr-ice40", "ICEPACK": "icepack",
             "NEXTPNR_ECP5": "nextpnr-ecp5", "ECPPACK": "ecppack"}


def get(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise PezoError(f"unknown board {name!r}; known: {', '.join(BOARDS)}") from None


def link_params(cfg: Config, clk_hz: int) -> LinkParams:
    return LinkParams(UpdateRules.from_config(cfg), cfg.digest("engine", "update"), __version__,
                      timeout=max(1, round(clk_hz * LINK_TIMEOUT_S)))


def _tool_env() -> dict[str, str]:
    env = {}
    for var, tool in _TOOL_ENV.items():
        exe = tools.find(tool)
        if exe is None:
            raise PezoError(f"{tool} not found; {tools.install_hint(tool)}")
        env[var] = exe
    return env


def build(board: Board, cfg: Config, baud: int, out_dir: Path,
          progress: Callable[[str], None] = lambda _m: None) -> dict:
    """Build the bitstream into ``out_dir`` (replaced when complete); returns the report."""
    from pezo.build.parse import fit_error, parse_pnr_report
    from pezo.build.targets import TARGETS
    from pezo.hw.board import BoardTop

    platform = board.make_platform()
    clk_hz = int(platform.default_clk_frequency)
    uart = UartParams(clk_hz, baud)                     # bad baud rates stop here, before the build
    link = link_params(cfg, clk_hz)
    top = BoardTop(link, uart)
    env = _tool_env()
    t0 = time.perf_counter()
    failed_log = out_dir.parent / f"{out_dir.name}.failed.log"
    with locked(out_dir), staged_dir(out_dir) as work:
        progress(f"building the {board.name} bitstream (yosys, nextpnr, pack: about a minute)")
        plan = platform.build(top, name=NAME, do_build=False, nextpnr_opts=f"--report {NAME}.report.json")
        plan.extract(str(work))
        with open(work / "build.log", "w") as log:
            done = subprocess.run(["sh", f"build_{NAME}.sh"], cwd=work, env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            # the logs of the failed build survive it, beside the last good one
            text = "".join((work / n).read_text(errors="replace") for n in ("build.log", f"{NAME}.tim")
                           if (work / n).is_file())
            write_atomic(failed_log, text)
            misfit = fit_error(work / f"{NAME}.tim", "nextpnr", TARGETS[board.target], f"board {board.name}")
            if misfit is not None:
                raise PezoError(f"{str(misfit).split('; see ')[0]}; log: {failed_log}") from None
            line = tools.first_error(work / "build.log")
            if "FAIL at" in line:
                raise PezoError(f"{board.name}: the design misses the board's clock ({line}); log: {failed_log}")
            raise PezoError(f"{board.name} build failed: {line or 'see the log'}; log: {failed_log}")
        fmax, per_clock, util = parse_pnr_report(work / f"{NAME}.report.json", "nextpnr", work / f"{NAME}.tim")
        if not (work / board.bitstream).is_file():
            raise PezoError(f"{board.name} build produced no {board.bitstream}")
        f_mhz = clk_hz / 1e6
        report = {
            "board": board.name, "target": board.target, "clock_mhz": f_mhz, "fmax_mhz": round(fmax, 2),
            "slack_ns": round(1000 / f_mhz - 1000 / fmax, 2), "utilisation": util,
            "baud": baud, "uart_divisor": uart.divisor, "uart_rate_error": round(uart.rate_error, 5),
            "config_digest": link.digest, "pezo_version": __version__, "bitstream": board.bitstream,
            "build_seconds": round(time.perf_counter() - t0, 1), "tools": tools.flow_versions(),
        }
        if fmax < f_mhz:
            raise PezoError(f"{board.name}: the design reaches {fmax:.1f} MHz, below the board's "
                            f"{f_mhz:g} MHz clock (slack {report['slack_ns']} ns)")
        write_atomic(work / "report.json", json.dumps(report, indent=1) + "\n")
        write_atomic(work / "report.md", markdown(report))
    return report


def markdown(rep: dict) -> str:
    rows = "\n".join(f"| {bel} | {u['used']} | {u['available']} |" for bel, u in rep["utilisation"].items()
                     if u["used"])
    return (f"# {rep['board']}: the pezo board top\n\n"
            f"Configuration digest {rep['config_digest']} (engine and update sections), pezo {rep['pezo_version']}; "
            f"UART {rep['baud']} baud ({rep['uart_divisor']} cycles a bit, {100 * rep['uart_rate_error']:+.2f}%).\n\n"
            f"Timing at the board's {rep['clock_mhz']:g} MHz clock: Fmax {rep['fmax_mhz']} MHz, slack "
            f"{rep['slack_ns']} ns. Bitstream `{rep['bitstream']}`, built in {rep['build_seconds']} s.\n\n"
            f"| resource | used | available |\n|---|---:|---:|\n{rows}\n\n"
            f"Tools: {', '.join(f'{k} {v}' for k, v in rep['tools'].items())}.\n")


def program_command(board: Board, out_dir: Path) -> tuple[list[str], bool]:
    """The command that loads the bitstream, and whether its tool is installed."""
    bitstream = out_dir / board.bitstream
    if not bitstream.is_file():
        raise PezoError(f"no bitstream at {bitstream}; run `pezo board build --board {board.name}` first")
    exe = shutil.which(board.programmer[0])
    return [exe or board.programmer[0], *board.programmer[1:], str(bitstream)], exe is not None


#: The simulated device: the iCEBreaker's design (12 MHz) at 3 Mbaud, 4 cycles a bit.
SIM_CLOCK_HZ, SIM_BAUD = 12_000_000, 3_000_000


def open_device(where: str, cfg: Config, baud: int | None, sim_dir: Path,
                progress: Callable[[str], None] = lambda _m: None):
    """The device ``where`` names: ``"sim"`` (the board top's RTL in a simulator, Verilator if
    installed, else Icarus) or a serial port; identified and checked against ``cfg``."""
    from pezo.host import Device, SerialTransport

    if where == "sim":
        from pezo.sim.bridge import SimTransport
        from pezo.sim.runner import available_simulators

        uart = UartParams(SIM_CLOCK_HZ, baud or SIM_BAUD)
        link = link_params(cfg, SIM_CLOCK_HZ)
        simulator = "verilator" if available_simulators().get("verilator", "missing") != "missing" else "icarus"
        progress(f"starting the board's RTL in {simulator} ({uart.baud} baud)")
        transport = SimTransport(link, uart, check_dir(sim_dir, parents=True), simulator=simulator)
        device = Device(transport, link, timeout=120.0, where=transport.name)
    else:
        link = link_params(cfg, 12_000_000)             # the link's frames do not depend on the clock
        transport = SerialTransport(where, baud or DEFAULT_BAUD)
        device = Device(transport, link, timeout=2.0, where=where)
    try:
        info = device.identify()
    except PezoError:
        device.close()
        raise
    progress(f"{device.where}: pezo {info.version}, configuration {info.digest}, {info.lanes} lanes, "
             f"{info.depth} parameters")
    return device
