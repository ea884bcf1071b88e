"""The board top's RTL as a serial device: a transport for :class:`pezo.host.Device` whose bytes go
through the UART, the link's decoder and the update system in a simulator (cocotb; Icarus, or
Verilator where installed), cycle by cycle, as they would through the board.

The simulator runs in its own process (no torch in it): :mod:`pezo.sim.tb_bridge` connects back
to a socket here and moves bytes between it and the UART's pins.
"""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path

from pezo.errors import PezoError
from pezo.files import write_atomic
from pezo.link import LinkParams
from pezo.sim.runner import cosimulate
from pezo.uart import UartParams

TOP = "pezo_board_core"


class SimTransport:
    """Start the simulation of ``BoardCore(link, uart)`` and connect to it.

    Parameters
    ----------
    link, uart : LinkParams, UartParams
        The device, as the board would be built (``pezo.app.board.link_params``).
    build_dir : Path
        Where the Verilog and the simulator's build go.
    simulator : str
        ``"icarus"`` or ``"verilator"``.
    """

    def __init__(self, link: LinkParams, uart: UartParams, build_dir: Path, simulator: str = "icarus",
                 connect_timeout: float = 120.0):
        from amaranth.back import verilog

        from pezo.hw.board import BoardCore

        self.name = f"the simulated board ({simulator}, {uart.baud} baud)"
        build_dir = Path(build_dir).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        vfile = build_dir / f"{TOP}.v"
        write_atomic(vfile, verilog.convert(BoardCore(link, uart), name=TOP, emit_src=False))
        self._server = socket.create_server(("127.0.0.1", 0))
        port = self._server.getsockname()[1]
        self.result, self.error = None, None

        def run():
            try:
                self.result = cosimulate(vfile, TOP, None, build_dir=build_dir / "sim", simulator=simulator,
                                         test_module="pezo.sim.tb_bridge",
                                         extra_env={"PEZO_BRIDGE": f"127.0.0.1:{port}",
                                                    "PEZO_DIVISOR": str(uart.divisor)})
            except Exception as exc:                 # reported by read/close, in this thread's stead
                self.error = exc
            finally:
                self._server.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._server.settimeout(1.0)
        waited = 0.0
        while True:
            try:
                self.sock, _ = self._server.accept()
                break
            except (socket.timeout, OSError):
                waited += 1.0
                if self.error is not None or not self._thread.is_alive():
                    raise PezoError(f"the simulation of the board did not start: {self.error}") from None
                if waited >= connect_timeout:
                    raise PezoError(f"the simulation of the board did not connect within {connect_timeout:g} s")
        self.sock.setblocking(False)

    def write(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            if self.error is not None:
                raise PezoError(f"the simulation of the board stopped: {self.error}")
            return b""
        try:
            return self.sock.recv(1 << 16)
        except BlockingIOError:
            return b""

    def close(self) -> dict | None:
        """End the simulation; its report (cycles simulated, bytes each way)."""
        self.sock.close()
        self._thread.join(timeout=60)
        if self.error is not None:
            raise PezoError(f"the simulation of the board failed: {self.error}")
        return self.result.report if self.result is not None else None
