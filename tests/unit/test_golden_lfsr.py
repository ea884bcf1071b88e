"""The LFSR golden model: the reference bit-exact against the bit-serial reference; the fast
stream (LfsrStream.run, states_from, out_bits, stream) equal to stepping the reference."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pezo.config import Config
from pezo.lfsr import BankParams
from pezo.sw.golden import lfsr_stream
from pezo.sw.golden.lfsr import LfsrBank as _Ref
from pezo.sw.golden.lfsr_stream import LfsrStream as _Fast
from pezo.sw.golden.lfsr_stream import recurrence_lags

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}


def _cfg(width=16, k=8, lanes=2, structure="galois", replay=True, seed=0x1234):
    seed = seed % (2**width - 1) + 1
    return Config().replace(**{**W63, "engine.lfsr.width": width, "engine.lfsr.k": k, "engine.lfsr.lanes": lanes,
                               "engine.lfsr.structure": structure, "engine.lfsr.replay": replay,
                               "engine.lfsr.seed": seed, "engine.reuse.strategy": "pool-index"}).engine.lfsr


def Ref(lf):
    """The reference model (one edge at a time)."""
    return _Ref(BankParams.from_config(lf))


def Fast(lf):
    """The fast stream."""
    return _Fast(BankParams.from_config(lf))


def _unsigned(t: torch.Tensor, bits: int) -> list[int]:
    return [int(v) & ((1 << bits) - 1) for v in t.tolist()]


def _reference(lf, seed: int, cycles: int) -> list[int]:
    """The bit-serial reference as the port shows it: the top k bits of the state."""
    return lf.params.compute(seed, cycles)


@pytest.mark.parametrize("structure", ["galois", "fibonacci"])
@pytest.mark.parametrize("width,k", [(3, 1), (16, 8), (32, 32), (64, 8), (64, 64), (63, 17)])
def test_step_matches_bit_serial_reference(width, k, structure):
    lf = _cfg(width, k, 3, structure)
    g = Ref(lf)
    ref = [_reference(lf, seed, 40) for seed in lf.seeds]
    for c in range(40):
        out = _unsigned(g.step({"en": 1})["out"], k)
        assert out == [r[c] for r in ref]


@pytest.mark.parametrize("width,k", [(64, 64), (32, 8)])
def test_run_matches_bit_serial_reference(width, k):
    lf = _cfg(width, k, 4, "fibonacci")
    out = Fast(lf).run(1000)["out"]
    for lane, seed in enumerate(lf.seeds):
        assert _unsigned(out[:, lane], k) == _reference(lf, seed, 1000)


@settings(max_examples=40, deadline=None)
@given(width=st.sampled_from([3, 5, 16, 32, 64]), structure=st.sampled_from(["galois", "fibonacci"]),
       lanes=st.integers(1, 4), n=st.integers(0, 120), data=st.data())
def test_run_equals_repeated_step(width, structure, lanes, n, data):
    k = data.draw(st.integers(1, width))
    lf = _cfg(width, k, lanes, structure, seed=data.draw(st.integers(1, 2**63)))
    ints = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    en, snap, rest = data.draw(ints), data.draw(ints), data.draw(ints)
    a, b = Ref(lf), Fast(lf)
    pre = data.draw(st.integers(0, 5))       # some steps first: run continues from any state
    for _ in range(pre):
        a.step({"en": 1, "snapshot": 1})
        b.step({"en": 1, "snapshot": 1})
    stepped = [a.step({"en": en[c], "snapshot": snap[c], "restore": rest[c]}) for c in range(n)]
    ran = b.run(n, {"en": torch.tensor(en), "snapshot": torch.tensor(snap), "restore": torch.tensor(rest)})
    for c in range(n):
        assert torch.equal(stepped[c]["out"], ran["out"][c])
        assert torch.equal(stepped[c]["state"], ran["state"][c])
    # and both continue identically afterwards
    assert torch.equal(a.step({"en": 1, "restore": 1})["out"], b.step({"en": 1, "restore": 1})["out"])


def test_replay_reproduces_a_pass():
    g = Fast(_cfg(32, 32, 2))
    g.run(17)
    n = 100
    snap = torch.zeros(n, dtype=torch.int64)
    snap[0] = 1
    first = g.run(n, {"snapshot": snap})["out"]
    g.step({"restore": 1})
    # the cycle after restore shows the pass's first value; replaying gives the same pass
    again = [g.outputs()["out"]] + [g.step({"en": 1})["out"] for _ in range(n - 1)]
    before_first = Fast(_cfg(32, 32, 2))
    before_first.run(17)
    assert torch.equal(before_first.outputs()["out"], again[0])
    assert torch.equal(torch.stack(again[1:]), first[: n - 1])


def test_without_replay_snapshot_and_restore_are_ignored():
    lf = _cfg(16, 8, 1, replay=False)
    a, b = Ref(lf), Fast(lf)
    for _ in range(10):
        assert torch.equal(a.step({"en": 1, "restore": 1})["out"], b.step({"en": 1})["out"])


def test_long_run_is_uniform():
    lf = _cfg(32, 32, 2)
    out = Fast(lf).run(200_000)["out"]
    assert out.shape == (200_000, 2)
    # 32-bit uniform outputs: mean of the top bit close to 1/2
    assert abs(((out >> 31) & 1).double().mean().item() - 0.5) < 0.01


# -- long runs: the sparse recurrence, out_bits, stream ----------------------------------------------

def _stepped_states(lf, n: int, pre: int = 3) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The state after ``pre`` enabled cycles, and the states of the next ``n`` cycles, one step each."""
    g = Ref(lf)
    for _ in range(pre):
        g.step({"en": 1})
    start = g.state.clone()
    return start, [start] + [g.step({"en": 1})["state"] for _ in range(n - 1)]


@pytest.mark.parametrize("width,k,structure,sparse", [
    (63, 16, "galois", True), (63, 1, "galois", True), (31, 16, "galois", True), (64, 64, "galois", True),
    (32, 8, "fibonacci", True), (63, 63, "galois", False), (16, 5, "galois", False)])
def test_recurrence_lags_hold_for_every_state(width, k, structure, sparse):
    lf = _cfg(width, k, 2, structure)
    lags = recurrence_lags(lf.params)
    assert (lags is not None) == sparse
    if not sparse:
        return
    _, states = _stepped_states(lf, 3 * lags[-1])
    s = torch.stack(states)
    for t in range(lags[-1], len(s)):
        x = torch.zeros_like(s[t])
        for lag in lags:
            x ^= s[t - lag]
        assert torch.equal(x, s[t]), t
    # and with every lag doubled (squaring over GF(2))
    for t in range(2 * lags[-1], len(s)):
        x = torch.zeros_like(s[t])
        for lag in lags:
            x ^= s[t - 2 * lag]
        assert torch.equal(x, s[t])


@pytest.mark.parametrize("width,k,lanes,structure", [
    (63, 16, 1, "galois"), (31, 16, 2, "galois"), (63, 63, 1, "galois"), (64, 64, 1, "galois"),
    (16, 5, 3, "fibonacci"), (32, 7, 3, "galois")])
def test_states_from_and_out_bits_equal_stepping(width, k, lanes, structure, monkeypatch):
    monkeypatch.setattr(lfsr_stream, "_WIDE_MIN", 64)        # the 16-bit tables on these short runs
    lf = _cfg(width, k, lanes, structure)
    n = 1500
    start, states = _stepped_states(lf, n)
    bank = Fast(lf)
    ref = torch.stack(states)
    assert torch.equal(bank.states_from(start, n), ref)
    out = bank._out(ref)
    assert torch.equal(bank.words(start, 700, 50), out[700:750])
    for bits in sorted({1, 8, min(k, 13), k}):
        for use_lanes, chunk in [(1, 1), (lanes, 7), (lanes, 200), (lanes, 64), (1, 4096)]:
            got = np.concatenate([c.copy() for c in bank.out_bits(start, n, bits, use_lanes, chunk)])
            assert got.shape == (n, use_lanes)
            assert got.dtype.itemsize * 8 >= bits and got.dtype.itemsize * 8 < 2 * max(bits, 8)
            want = out[:, :use_lanes].numpy() & (-1 if bits == 64 else (1 << bits) - 1)
            assert (got.astype(np.int64) == want).all(), (bits, use_lanes, chunk)
    assert list(bank.out_bits(start, 0, 8, 1, 16)) == []


@pytest.mark.parametrize("n", [0, 1, 37])
def test_stream_is_run_with_snapshot_on_the_first_edge(n):
    lf = _cfg(63, 16, 2)
    a, b = Fast(lf), Fast(lf)
    a.run(5)
    b.run(5)
    en = torch.ones(max(n, 1), dtype=torch.int64)
    en[0] = int(n > 0)
    snap = torch.zeros_like(en)
    snap[0] = 1
    a.run(max(n, 1), {"en": en, "snapshot": snap})
    first = b.stream(n)
    assert torch.equal(first, Fast(lf).run(5)["state"][-1])     # the state at position 5
    for field in ("state", "shadow", "pos", "shadow_pos"):
        assert torch.equal(torch.as_tensor(getattr(a, field)), torch.as_tensor(getattr(b, field))), field
