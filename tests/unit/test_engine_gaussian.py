"""How the engine uses a Gaussian unit (priming, lanes, replay), with a fake source."""

import random

import pytest
import torch

from pezo.config import Config, ConfigError
from pezo.lfsr import BankParams
from pezo.sw.golden.engine import Engine
from pezo.sw.golden.engine_stream import EngineStream
from pezo.sw.golden.lfsr import LfsrBank
from pezo.sw.golden.lfsr_stream import LfsrStream

#: The PeZO engine these tests were written for (the default before Rademacher): uniform
#: pool-sign, adaptive scale, one 63-bit LFSR with k = 16; the default bank is 31-bit.
W63 = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
       "engine.lfsr.width": 63, "engine.lfsr.k": 16}


def _cfg(source, lanes, bits=8, bank=1):
    return Config().replace(**{**W63, "engine.source": source, "engine.lanes": lanes, "engine.value_bits": bits,
                               "engine.reuse.strategy": "none", "engine.scale.mode": "fixed",
                               "engine.max_params": 200, "engine.lfsr.lanes": bank,
                               "engine.lfsr.k": 63})


def test_gaussian_sources_need_fresh_values_and_fixed_scale():
    for change, field in [({"engine.reuse.strategy": "pool-index"}, "engine.reuse.strategy"),
                          ({"engine.scale.mode": "adaptive"}, "engine.scale.mode"),
                          ({"engine.value_bits": 20}, "engine.value_bits")]:
        base = {"engine.source": "gaussian-icdf", "engine.reuse.strategy": "none", "engine.scale.mode": "fixed"}
        with pytest.raises(ConfigError) as err:
            Config().replace(**{**W63, **base, **change})
        assert err.value.path == field


def test_values_are_the_unit_of_the_passs_own_words(fake_gaussian):
    """Beat j of a pass is f(word j after the pass's snapshot): the priming words come first,
    and unit j serves lanes 2j, 2j+1 with bits [8j, 8j+8)."""
    cfg = _cfg(fake_gaussian, lanes=3)
    eng = EngineStream(cfg.engine.params)
    assert eng.prime_cycles == 3 and cfg.engine.params.stream_bits_per_beat == 16
    d = 3 * 5
    vals = eng.passes(1, d).view(5, 3)
    words = LfsrStream(BankParams.from_config(cfg)).run(12, {"en": torch.tensor([0] + [1] * 11)})["out"][:, 0]
    # IDLE cycle (start), then the pass: bank words 0, 1, ... (rnd during each cycle)
    for j in range(5):
        w = int(words[j])
        assert vals[j].tolist() == [(w & 7) - 4, ((w >> 3) & 31) - 16, ((w >> 8) & 7) - 4]


@pytest.mark.parametrize("lanes", [1, 2, 3, 8])
def test_step_equals_passes_with_back_pressure_and_replays(fake_gaussian, lanes):
    cfg = _cfg(fake_gaussian, lanes)
    fast, slow = EngineStream(cfg.engine.params), Engine(cfg.engine.params)
    rng = random.Random(lanes)
    for t in range(4):
        d = rng.randrange(0, 40)
        expect = fast.passes(1, d)[0].tolist()
        for rep in range(3):
            got = []
            out = slow.step({"start": rep == 0, "replay": rep > 0, "d": d})
            while not out["idle"]:
                ready = rng.random() < 0.6
                was_valid = out["valid"]
                prev = out
                out = slow.step({"ready": ready})
                if was_valid and ready:
                    got.extend(prev["values"].tolist())
            assert got[:d] == expect, (t, rep)
            if rep:
                assert fast.replay(d).tolist() == expect        # the vectorised replay
        assert slow.registers()["bank_state"] == fast.registers()["bank_state"]
        assert slow.registers()["pipe"] == fast.registers()["pipe"]
        assert slow.registers()["bank_shadow"] == fast.registers()["bank_shadow"]


@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_start_and_values_equal_step(fake_gaussian, lanes):
    # one pass at a time (priming words first, pipeline registers from the pass's last words)
    cfg = _cfg(fake_gaussian, lanes)
    slow, fast = Engine(cfg.engine.params), EngineStream(cfg.engine.params)
    rng = random.Random(lanes)
    for d in (37, 1, 0, 150):
        for replay in (False, True, True):
            out = slow.step({"replay" if replay else "start": 1, "d": d})
            seen = []
            while not out["idle"]:
                ready = rng.random() < 0.7
                if out["valid"] and ready:
                    seen += out["values"].tolist()
                out = slow.step({"ready": ready})
            p = fast.start(d, replay=replay)
            assert fast.registers() == slow.registers()
            for beats in (1, 4, 100):
                assert [v for c in fast.values(p, beats=beats) for v in c.tolist()] == seen[:d]


@pytest.mark.parametrize("name", ["gaussian-clt", "gaussian-icdf", "gaussian-boxmuller"])
def test_start_and_values_of_the_real_sources_equal_passes(name):
    from pathlib import Path

    from pezo.config import load

    cfg = load(Path(__file__).resolve().parents[2] / "configs" / f"{name}.toml").replace(**{"engine.max_params": 2000})
    a, b = EngineStream(cfg.engine.params), EngineStream(cfg.engine.params)
    for d in (333, 0, 1000):
        want = a.passes(2, d)[1]
        b.start(d)
        p = b.start(d)
        assert a.registers() == b.registers()
        assert torch.cat([c.clone() for c in b.values(p, beats=7)] + [torch.empty(0, dtype=torch.int8)]).tolist() \
            == want.tolist()


@pytest.mark.parametrize("source", ["gaussian-clt", "gaussian-icdf", "gaussian-boxmuller"])
def test_no_pass_starts_with_a_fixed_extreme_value(source):
    """The bank's register holds the state itself, so after reset its port shows the top bits
    of the (scrambled) seed, not an all-zero word: the first beat of the first pass is an
    ordinary draw that changes with the seed, not one extreme code on every lane (CLT was
    -3.4 sigma and ICDF +127 saturated when the first word was 0)."""
    lim = (1 << 7) - 1
    firsts = []
    for seed in range(1, 33):
        cfg = Config().replace(**{"engine.source": source, "engine.lanes": 8, "engine.lfsr.width": 63,
                                  "engine.lfsr.k": 63, "engine.lfsr.seed": seed, "engine.max_params": 64})
        cfg = cfg.replace(**{"engine.lfsr.lanes": cfg.engine.params.bank_lanes_needed})
        bank = LfsrBank(BankParams.from_config(cfg))
        assert all(int(w) != 0 for w in bank.outputs()["out"])     # the word after reset is not 0
        beat = EngineStream(cfg.engine.params).passes(1, 8)[0]
        assert len(set(beat.tolist())) > 1                          # lanes differ within the beat
        firsts += beat.tolist()
    assert len(set(firsts)) > 20                                    # and across seeds
    # a sigma-1 law puts about 0.01% of its codes at +-4 sigma (the limit): none of 256 is there
    # by more than chance
    assert sum(abs(v) >= lim for v in firsts) <= 2
