"""UART parameters and golden model against the 8N1 definition (the RTL against the model:
tests/cosim/test_uart_cosim.py)."""

import re

import pytest

from pezo.errors import PezoError
from pezo.sim.uart import rx_line
from pezo.sw.golden.uart import Uart, frame_bits, line
from pezo.uart import UartParams

FAST = UartParams(12_000_000, 3_000_000)        # iCEBreaker at 3 Mbaud: 4 cycles a bit
SLOW = UartParams(12_000_000, 115_200)          # 104 cycles a bit, 0.16% fast


def test_divisor_and_rate_error():
    assert (FAST.divisor, FAST.rate_error) == (4, 0.0)
    assert SLOW.divisor == 104 and SLOW.rate_error == pytest.approx(12e6 / 104 / 115200 - 1)
    assert UartParams(25_000_000, 115_200).divisor == 217
    assert FAST.frame_cycles == 40 and FAST.half == 2


@pytest.mark.parametrize("clk,baud,words", [
    (12_000_000, 4_000_000, "at least 4"),        # 3 cycles a bit
    (25_000_000, 3_000_000, "off by +4.17%"),    # 8.33 cycles a bit, rounded to 8
    (0, 115_200, "must be positive"),
    (12_000_000, -1, "must be positive"),
])
def test_bad_parameters_are_one_line(clk, baud, words):
    with pytest.raises(PezoError, match=re.escape(words)) as exc:
        UartParams(clk, baud)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("params", [FAST, SLOW], ids=["div4", "div104"])
def test_transmitter_sends_each_frame_bit_for_divisor_cycles_then_is_ready(params):
    u, div = Uart(params), params.divisor
    out = u.step({"tx_data": 0xA5, "tx_valid": 1})
    tx = [out["tx"]]
    ready = [out["tx_ready"]]
    for _ in range(10 * div + 3):
        out = u.step({"tx_data": 0x00, "tx_valid": 0})
        tx.append(out["tx"])
        ready.append(out["tx_ready"])
    assert tx[:10 * div] == [b for b in frame_bits(0xA5) for _ in range(div)]
    assert ready[:10 * div] == [0] * (10 * div) and ready[10 * div] == 1
    assert tx[10 * div:] == [1] * 4


def test_loopback_delivers_every_byte_sent_back_to_back():
    data = [0x00, 0xFF, 0x55, 0xAA, 0x01, 0x80, 0x7E]
    tx, rx = Uart(SLOW), Uart(SLOW)
    got, queue, ready, level = [], list(data), 1, 1
    for _ in range(12 * SLOW.frame_cycles):
        valid = int(bool(queue))
        out = tx.step({"tx_data": queue[0] if queue else 0, "tx_valid": valid})
        if valid and ready:                 # taken at this edge: ready was high before it
            queue.pop(0)
        ready = out["tx_ready"]
        r = rx.step({"rx": level})
        level = out["tx"]
        if r["rx_valid"]:
            got.append(r["rx_data"])
    assert got == data
    assert rx.state == "IDLE"


@pytest.mark.parametrize("params", [FAST, SLOW], ids=["div4", "div104"])
@pytest.mark.parametrize("rate_error", [-0.02, 0.0, 0.02])
def test_receiver_takes_a_two_percent_baud_mismatch(params, rate_error):
    for seed in range(10):
        levels, want = rx_line(params, 20, seed, rate_error)
        got, errors = Uart(params).receive(levels)
        assert got == want, f"seed {seed}"
        assert errors == 1                      # the break, and nothing else


def test_receiver_fails_past_its_margin():
    # the sample of the stop bit drifts past the bit's end: the check above is not vacuous
    failures = sum(Uart(FAST).receive(lv) != (want, 1)
                   for lv, want in (rx_line(FAST, 20, s, 0.06) for s in range(10)))
    assert failures == 10


def test_glitch_is_not_a_start_bit_and_a_break_is_one_error():
    div = SLOW.divisor
    levels = [1] * div + [0] * (div // 4) + [1] * (2 * div)       # shorter than half a bit
    levels += [0] * (40 * div) + [1] * (2 * div)                   # a break
    levels += line([0x3C], div)
    got, errors = Uart(SLOW).receive(levels)
    assert (got, errors) == ([0x3C], 1)


def test_line_is_an_8n1_waveform():
    assert line([0x01], 2) == [0, 0, 1, 1] + [0] * 14 + [1, 1, 1, 1]
    assert line([], 3, idle=2) == [1] * 5
