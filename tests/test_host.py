"""pezo.host over the golden model (fault injection on the link: the host retries or fails in one
line, and no bad frame changes a parameter), and ZO training with the device holding the
parameters: `pezo train --device sim` through the board top's RTL (UART included) ends with
parameters bit-identical to the same loop on the golden model."""

import json
import struct

import pytest
import torch

from pezo.app.board import link_params
from pezo.app.cli import main
from pezo.config import Config
from pezo.errors import PezoError
from pezo.host import Device
from pezo.link import Command, LinkParams
from pezo.sim.link import ModelTransport
from pezo.sw.golden.update_stream import UpdateStream
from pezo.sw.zo import tasks
from pezo.sw.zo.device import DeviceZO
from pezo.update_rules import Op

CFG = Config()
P = LinkParams(link_params(CFG, 12_000_000).rules, CFG.digest("engine", "update"), "0.1.0", timeout=300)


def device(**kw) -> Device:
    return Device(ModelTransport(P, **kw), P, timeout=0.02, retries=3)


def test_identify_and_a_device_with_another_configuration():
    info = device().identify()
    assert (info.lanes, info.depth, info.digest, info.version) == (8, 4096, P.digest[:16], "0.1.0")
    other = Config().replace(**{"update.eps_shift": 5})
    q = LinkParams(P.rules, other.digest("engine", "update"), "0.1.0", timeout=300)
    with pytest.raises(PezoError, match="runs configuration .* expects") as exc:
        Device(ModelTransport(q), P, timeout=0.02).identify()
    assert "\n" not in str(exc.value)


def test_load_and_read_round_trip():
    dev = device()
    codes = [(-1) ** i * (i * 97 % 30000) for i in range(1000)]
    dev.load(codes)
    assert dev.read(1000) == codes
    assert dev.read(8, at=992) == codes[992:]


def _flip(n, data):
    return data[:6] + bytes([data[6] ^ 0x20]) + data[7:] if n == 2 else data


@pytest.mark.parametrize("fault,counter,resent", [
    (_flip, "crc_errors", 1),                                            # a bit flipped on the way
    (lambda n, d: d[:len(d) // 2] if n == 2 else d, "timeouts", 1),      # the frame cut short
    (lambda n, d: b"" if n == 2 else d, None, 1),                        # the frame lost
    (lambda n, d: b"\x00\xff\x13" + d if n == 2 else d, None, 0),        # garbage before it: skipped
], ids=["flipped", "truncated", "lost", "garbage"])
def test_a_damaged_request_is_resent_and_changes_nothing_on_the_way(fault, counter, resent):
    dev = device(fault=fault)
    dev.load([7] * 8)
    dev.load([5] * 16)                          # write 2: damaged; the host sends it again
    assert dev.read(16) == [5] * 16
    assert dev.resent == resent
    st = dev.status()
    for name in ("crc_errors", "timeouts", "framing_errors", "bad_frames"):
        assert st[name] == (1 if name == counter else 0)


def test_a_lost_reply_to_a_pass_does_not_run_the_pass_twice():
    dev = device(lose=lambda n: n == 1)         # the PLUS pass runs; its reply is lost
    _, plus = dev.run_pass(Op.PLUS, 64, readback=True)
    assert dev.resent == 1
    ref = UpdateStream(P.rules)
    ref.run_pass(Op.PLUS, 64)
    assert plus == ref.theta[:64].tolist() == dev.read(64)


def test_a_device_that_does_not_answer_is_one_line():
    dev = Device(ModelTransport(P, answer=False), P, timeout=0.01, retries=2, where="/dev/ttyUSB7")
    with pytest.raises(PezoError, match=r"/dev/ttyUSB7 did not answer IDENTIFY after 3 tries"):
        dev.identify()


def test_a_refused_request_is_one_line():
    with pytest.raises(PezoError, match="refused READ: error RANGE"):
        device().request(Command.READ, struct.pack("<HH", 600, 1))


def test_a_zo_step_through_the_device_is_the_update_model():
    task = tasks.get("diabetes")
    x, y, _, _ = task.data()
    model = task.model(0)
    opt = DeviceZO(model, task.loss_fn, device(), P.rules, CFG.engine.params.fold, 0.003)
    start = opt.sync()
    opt.step(x, y)
    ref, d = UpdateStream(P.rules), len(start)
    ref.theta[:d] = torch.tensor(start)
    losses = []
    for op in (Op.PLUS, Op.MINUS2):
        opt._set(ref.run_pass(op, d).tolist())
        with torch.no_grad():
            losses.append(float(task.loss_fn(model(x), y)))
    ref.run_pass(Op.RESTORE, d)
    assert opt.last_scalar == opt.scalar_code(*losses) != 0
    ref.load_scalar(opt.last_scalar)
    ref.run_pass(Op.UPDATE, d)
    assert opt.sync() == ref.theta[:d].tolist() != start


@pytest.mark.cosim
def test_train_on_the_simulated_board_ends_bit_identical_to_the_golden_model(tmp_path, capsys):
    assert main(["train", "--task", "diabetes", "--optimizer", "pezo", "--device", "sim", "--steps", "3",
                 "--out", str(tmp_path)]) == 0
    run = json.loads((tmp_path / "diabetes" / "pezo-device" / "run.json").read_text())
    assert "simulated board" in run["device"]
    task = tasks.get("diabetes")
    x, y, _, _ = task.data()
    golden = DeviceZO(task.model(0), task.loss_fn, device(), P.rules, CFG.engine.params.fold,
                      task.hparams["zo"]["lr"])
    for _ in range(3):
        golden.step(x, y)
    assert run["runs"][0]["theta_codes"] == golden.sync()


@pytest.mark.parametrize("argv,words", [
    (["--optimizer", "mezo", "--device", "sim"], "use --optimizer pezo"),
    (["--optimizer", "pezo", "--device", "/dev/pezo-no-such-port"], "cannot open the serial port /dev/pezo-no-such-port"),
    (["--optimizer", "pezo", "--baud", "9600"], "--baud sets the link of a --device"),
])
def test_train_device_bad_input_is_one_line(tmp_path, capsys, argv, words):
    assert main(["train", "--task", "diabetes", "--steps", "1", "--out", str(tmp_path), *argv]) == 1
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_dropped_byte_in_the_middle_is_a_timeout_and_a_resend():
    dev = device(fault=lambda n, d: d[:9] + d[10:] if n == 2 else d)
    dev.load([3] * 8)
    dev.load([4] * 8)
    assert dev.read(8) == [4] * 8 and dev.resent == 1 and dev.status()["timeouts"] == 1


def test_train_over_a_serial_port(tmp_path, capsys):
    """`pezo train --device PORT` through pyserial: a pseudo-terminal whose other end is the
    golden model (the bytes as a board would get them, whole frames at a time)."""
    import os
    import threading

    master, slave = os.openpty()
    port = os.ttyname(slave)
    model = ModelTransport(link_params(CFG, 12_000_000))
    stop = threading.Event()

    def serve():
        buf = bytearray()
        while not stop.is_set():
            try:
                buf += os.read(master, 4096)
            except OSError:
                return
            while len(buf) >= 3 and len(buf) >= 7 + (buf[1] | buf[2] << 8):
                n = 7 + (buf[1] | buf[2] << 8)
                model.write(bytes(buf[:n]))
                del buf[:n]
                os.write(master, model.read(0))

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert main(["train", "--task", "diabetes", "--optimizer", "pezo", "--device", port, "--steps", "2",
                     "--out", str(tmp_path)]) == 0
    finally:
        stop.set()
        os.close(slave)
    run = json.loads((tmp_path / "diabetes" / "pezo-device" / "run.json").read_text())
    assert run["device"] == port and len(run["runs"][0]["theta_codes"]) == 193
    assert model.golden.counters["frames"] > 10 and model.golden.counters["crc_errors"] == 0
