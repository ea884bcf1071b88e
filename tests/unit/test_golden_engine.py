"""The perturbation engine golden model against docs/engine.md: the reference (step) against the
page's tables, and the fast stream (passes, start/values, replay) against the reference."""

import math
import random

import pytest
import torch

from pezo.config import Config, ConfigError
from pezo.errors import PezoError
from pezo.scale import scale_params
from pezo.lfsr import BankParams
from pezo.sw.golden import engine_stream
from pezo.sw.golden.engine import Engine, adaptive_rom, negate_code, odd_code
from pezo.sw.golden.engine_stream import EngineStream
from pezo.sw.golden.lfsr_stream import LfsrStream

STRATEGIES = ("none", "pool", "pool-sign", "pool-index", "pool-shift", "pre-generation", "on-the-fly")
COMBOS = [(s, m) for s in STRATEGIES for m in ("fixed", "adaptive") if not (s == "none" and m == "adaptive")]
COMBOS.append(("rademacher", "fixed"))
CASES = [(s, m, lanes, bits) for s, m in COMBOS for lanes in (1, 8) for bits in (4, 8)]


def _cfg(strategy, mode, lanes, bits, pool=8, refresh=2, bank: dict | None = None) -> Config:
    """A configuration of the tests; strategy ``rademacher`` is ``engine.source`` (2-bit codes)."""
    source = "uniform"
    if strategy == "rademacher":
        source, strategy, bits = "rademacher", "none", 2
    changes = {"engine.source": source, "engine.reuse.strategy": strategy, "engine.scale.mode": mode,
               "engine.lanes": lanes, "engine.value_bits": bits, "engine.reuse.pool_size": pool,
               "engine.reuse.refresh": refresh, "engine.max_params": 1000, "engine.lfsr.width": 63,
               "engine.lfsr.k": 63, "engine.lfsr.lanes": 1}
    changes.update({f"engine.lfsr.{k}": v for k, v in (bank or {}).items()})
    # A dense seed: from seed 1 the sparse default polynomial repeats a short pattern at first.
    width = changes["engine.lfsr.width"]
    changes["engine.lfsr.seed"] = 0x2545F4914F6CDD1D % (2**width - 1) + 1
    return Config().replace(**changes)


def Ref(cfg: Config) -> Engine:
    """The reference model (one edge at a time)."""
    return Engine(cfg.engine.params)


def Fast(cfg: Config) -> EngineStream:
    """The fast stream (which keeps the reference's step)."""
    return EngineStream(cfg.engine.params)


# -- a reference written from the page's tables, on the free-running bank's words ------------------

def _words(cfg: Config, n: int) -> list[int]:
    """rnd at bank positions 0..n-1, LFSR lane j at bits [j*k, (j+1)*k)."""
    bank = LfsrStream(BankParams.from_config(cfg))
    rows = [bank.outputs()["out"]] + list(bank.run(max(n - 1, 0))["out"])
    k = cfg.engine.lfsr.k
    return [sum((int(v) & ((1 << k) - 1)) << (j * k) for j, v in enumerate(r.tolist())) for r in rows]


def _rom_entry(q: int, idx: int) -> int:
    f_mid = 1 + (idx + 0.5) / 16
    return round(64 / math.sqrt(f_mid if q == 0 else 2 * f_mid))


def _reference(cfg: Config, ds: list[int]) -> list[list[int]]:
    """Values of consecutive steps with pass lengths ``ds`` (replays consume nothing), from the
    page's tables alone: the bank advances once per fill entry and, when the strategy reads
    fresh bits while streaming, once per beat."""
    e = cfg.engine
    L, B, P, R, s = e.lanes, e.value_bits, e.reuse.pool_size, e.reuse.refresh, e.reuse.strategy
    rademacher = e.source == "rademacher"
    p = P.bit_length() - 1
    words = _words(cfg, len(ds) * P + sum(-(-d // L) for d in ds) + 1)
    half = 2 ** (B - 2)
    odd = lambda u: 2 * ((u + half) % (2 * half) - half) + 1  # noqa: E731  (u read as signed, doubled, +1)
    pool, wptr, filled, offset, dprev, pos, result = [0] * P, 0, False, 0, 0, 0, []
    for d in ds:
        if s == "pre-generation":
            if filled:
                offset = (offset + dprev) % P
            dprev = d % P
        if s != "none" and not (s == "pre-generation" and filled):
            n_fill = R if s == "pool-shift" and filled else P
            batch = []
            for _ in range(n_fill):
                r = words[pos]
                pos += 1
                pool[wptr] = odd(r % 2 ** (B - 1))
                batch.append(wptr)
                wptr = (wptr + 1) % P
            if s in ("pool", "pool-sign"):
                offset = (r >> (B - 1)) % 2 ** p
            filled = True
            if e.scale.mode == "adaptive":
                acc = sum(pool[j] ** 2 for j in batch)
                E = acc.bit_length() - 1
                h = 2 * B - 6 + (n_fill.bit_length() - 1) - E
                q = h % 2
                ex = (h + q) // 2
                rom = _rom_entry(q, (acc * 16 // 2 ** E) % 16)
                for j in batch:
                    y = (pool[j] * rom) // 2 ** max(1, 7 - ex)
                    pool[j] = 2 * min(max(y, -(2 ** (B - 2))), 2 ** (B - 2) - 1) + 1
        reads = s in ("none", "pool-sign", "pool-index", "pool-shift")
        vals = []
        for beat in range(-(-d // L)):
            r = words[pos]
            if reads:
                pos += 1
            for lane in range(L):
                i = beat * L + lane
                if rademacher:
                    v = 1 - 2 * ((r >> lane) & 1)
                elif s == "none":
                    v = odd((r >> (lane * (B - 1))) % 2 ** (B - 1))
                elif s in ("pool", "pool-sign", "pre-generation"):
                    v = pool[(i + offset) % P]
                    if s == "pool-sign" and (r >> lane) & 1:
                        v = -v
                elif s == "on-the-fly":
                    v = pool[(i + i // P) % P]
                else:
                    v = pool[(r >> (lane * p)) % P]
                vals.append(v)
        result.append(vals[:d])
    return result


# -- driving the ports ----------------------------------------------------------------------------

def _pass(eng: Engine, kind: str, d: int, rng: random.Random, p_ready: float, gap: int) -> dict:
    """Idle gap, then issue ``start``/``replay`` and run to IDLE with random back-pressure and random
    start/replay noise (ignored outside IDLE). Returns what the consumer saw and the cycle counts."""
    for _ in range(gap):
        assert eng.outputs()["idle"] == 1
        eng.step({"ready": rng.random() < 0.5, "d": rng.randrange(1000)})
    assert eng.outputs()["idle"] == 1
    eng.step({kind: 1, "d": d, "ready": rng.random() < p_ready})
    values, lasts, stalls, cycles, first_valid = [], [], 0, 0, None
    if eng.outputs()["valid"]:
        first_valid = 0                      # the direct stream shows its first beat at once
    while True:
        o = eng.outputs()
        if o["idle"]:
            break
        ready = rng.random() < p_ready
        if o["valid"]:
            if ready:
                values += o["values"].tolist()
                lasts.append(o["last"])
            else:
                stalls += 1
        eng.step({"ready": ready, "start": rng.random() < 0.3, "replay": rng.random() < 0.3,
                  "d": rng.randrange(1000)})
        cycles += 1
        if first_valid is None and eng.outputs()["valid"]:
            first_valid = cycles
        assert cycles < 10_000
    # a pooled engine enters STREAM one cycle before its first beat; the direct stream does not
    lead = 0 if eng.params.direct else 1
    return {"values": values[:d], "lasts": lasts, "stalls": stalls, "cycles": cycles,
            "fill": (first_valid - lead) if first_valid is not None else None}


def _fill_cycles(cfg: Config, first: bool) -> int:
    r = cfg.engine.reuse
    if r.strategy == "none" or (r.strategy == "pre-generation" and not first):
        return 0
    n = r.refresh if r.strategy == "pool-shift" and not first else r.pool_size
    return 2 * n + 6 if cfg.engine.scale.mode == "adaptive" else n      # SCALE_LATENCY = 6


def _tail(cfg: Config) -> int:
    """STREAM cycles after the last beat: 1 (the cycle that returns to IDLE), none for the
    direct stream, which is idle once its last beat is taken."""
    return 0 if cfg.engine.reuse.strategy == "none" and not cfg.engine.source.startswith("gaussian") else 1


@pytest.mark.parametrize("strategy,mode,lanes,bits", CASES, ids=[f"{s}-{m}-l{n}-b{b}" for s, m, n, b in CASES])
def test_schedule_matches_reference_replays_and_passes(strategy, mode, lanes, bits):
    pool, refresh = (8, 2) if lanes == 1 else (16, 4)
    cfg = _cfg(strategy, mode, lanes, bits, pool, refresh)
    rng = random.Random(f"{strategy}{mode}{lanes}{bits}")
    # steps 2..4 share d so that engine b can run them with passes()
    ds = [rng.randint(1, 40), 0, *[rng.randint(1, 40)] * 3, rng.randint(1, 40), rng.randint(1, 40)]
    ref = _reference(cfg, ds)
    a, regs = Ref(cfg), []
    for t, d in enumerate(ds):
        p_ready = 1.0 if t == 0 else 0.6                # step 0 holds ready high: exact timing
        first = _pass(a, "start", d, rng, p_ready, rng.randint(0, 3))
        assert first["values"] == ref[t], f"step {t}"
        nb = -(-d // lanes)
        assert len(first["lasts"]) == nb and first["lasts"] == [0] * (nb - 1) + [1] * (nb > 0)
        fill, tail = _fill_cycles(cfg, first=t == 0), _tail(cfg)
        if d:
            assert first["fill"] == fill
            assert first["cycles"] - fill == nb + tail + first["stalls"]
        else:
            assert first["cycles"] == fill + tail
        if t == 0:
            assert first["stalls"] == 0 and first["cycles"] == fill + nb + tail
        for _ in range(3):
            again = _pass(a, "replay", d, rng, 0.6, rng.randint(0, 2))
            assert again["values"] == first["values"] and again["lasts"] == first["lasts"]
            if d:
                assert again["fill"] == 0 and again["cycles"] == nb + tail + again["stalls"]
        regs.append(a.registers())
    for t in range(1, len(ds)):
        # pre-generation reads one pool for the run: its steps coincide where d is a multiple of P
        if min(ds[t - 1], ds[t]) >= 8 and not (strategy == "pre-generation" and ds[t - 1] % pool == 0):
            assert ref[t][:8] != ref[t - 1][:8], f"steps {t - 1} and {t} coincide"

    # the same steps mixing step() and passes(): same values, same registers
    b = Fast(cfg)
    for t in (0, 1):
        assert _pass(b, "start", ds[t], rng, 0.7, 1)["values"] == ref[t]
    assert b.registers() == regs[1]
    got = b.passes(3, ds[2], replays=2)
    assert got.tolist() == ref[2:5]
    assert b.registers() == regs[4]
    for t in (5, 6):
        assert _pass(b, "start", ds[t], rng, 0.7, 0)["values"] == ref[t]
    assert b.registers() == regs[6]
    assert b.passes(1, ds[6])[0].tolist() != ref[6] or ds[6] < 8


@pytest.mark.parametrize("strategy,mode,bank", [
    ("none", "fixed", {"width": 16, "k": 5, "lanes": 12}),          # fields straddle LFSR lanes
    ("pool-index", "adaptive", {"width": 16, "k": 5, "lanes": 12}),
    ("pool-sign", "adaptive", {"width": 64, "k": 64, "lanes": 1}),  # k = 64: words are negative
    ("pool-shift", "adaptive", {"width": 64, "k": 64, "lanes": 1}),
    ("pool", "fixed", {"width": 32, "k": 7, "lanes": 3}),
])
def test_passes_equal_step_for_any_bank(strategy, mode, bank):
    cfg = _cfg(strategy, mode, 8, 8, 16, 4, bank)
    ds = [333, 333, 333, 7, 0, 7]
    ref = _reference(cfg, ds)
    a, b = Ref(cfg), Fast(cfg)
    rng = random.Random(3)
    got = [_pass(a, "start", d, rng, 0.8, 0)["values"] for d in ds]
    assert got == ref
    assert b.passes(3, 333).tolist() == ref[:3]
    assert b.passes(1, 7).tolist() == ref[3:4]
    assert b.passes(1, 0).shape == (1, 0)
    assert b.passes(1, 7).tolist() == ref[5:6]
    assert b.registers() == a.registers()
    assert b.passes(0, 5).shape == (0, 5)


@pytest.mark.parametrize("strategy,mode", COMBOS)
def test_vectorised_replay_is_the_hardware_replay(strategy, mode):
    # replay() recomputes the pass from the restored bank: the same values as the step's pass and
    # as a cycle-by-cycle replay, every register as step() leaves it, and the next step unchanged.
    cfg = _cfg(strategy, mode, 8, 8, 16, 4)
    for d in (0, 1, 37, 333):
        a, b = Fast(cfg), Fast(cfg)
        first = a.passes(2, d)
        b.passes(2, d)
        got = [a.replay(d), a.replay(d)]
        rng = random.Random(d)
        seen = [_pass(b, "replay", d, rng, 0.7, 2)["values"] for _ in range(2)]
        assert [g.tolist() for g in got] == seen == [first[-1].tolist()] * 2
        assert a.registers() == b.registers()
        assert torch.equal(a.passes(1, d), b.passes(1, d))


# -- hand-checked small cases -----------------------------------------------------------------------

class _ListBank:
    """Stands in for the LFSR bank: one lane whose out is ``words[pos]``, with replay."""

    def __init__(self, words):
        self.words, self.pos, self.shadow = words, 0, 0

    def reset(self):
        self.pos = self.shadow = 0

    def outputs(self):
        return {"out": torch.tensor([self.words[self.pos]])}

    def step(self, inputs):
        shadow = self.pos if inputs.get("snapshot") else self.shadow
        if inputs.get("restore"):
            self.pos = self.shadow
        elif inputs.get("en"):
            self.pos += 1
        self.shadow = shadow


def _hand(strategy, mode, words, d, lanes=2, bits=4, pool=4, refresh=2):
    eng = Ref(_cfg(strategy, mode, lanes, bits, pool, refresh))
    eng.bank = _ListBank(words + [0] * 8)
    return eng, _pass(eng, "start", d, random.Random(0), 1.0, 0)


def test_odd_code_is_the_wiring():
    for bits in range(2, 9):
        for u in range(2 ** (bits - 1)):
            wired = u << 1 | 1                              # {u, 1}: no inverter
            assert odd_code(u, bits) == wired - (2**bits if wired >> (bits - 1) else 0)
    assert [odd_code(u, 4) for u in range(8)] == [1, 3, 5, 7, -7, -5, -3, -1]
    assert sorted(odd_code(u, 4) for u in range(8)) == [-7, -5, -3, -1, 1, 3, 5, 7]


def test_sign_flip_is_exact_negation():
    for bits in range(2, 11):
        for z in range(-(2 ** (bits - 1)) + 1, 2 ** (bits - 1), 2):
            assert negate_code(z, bits) == -z
            assert negate_code(z, bits) == z ^ -2           # what passes() uses on int64 codes
    assert negate_code(0, 4) == -2                          # the reset pool is not odd


def test_hand_pool_sign_and_pool_read_order():
    # fill u = 1, 4, 3, 6 -> pool [3, -7, 7, -3]; the last fill word's bits [3, 5) = offset 3
    fill = [1, 4, 3, 6 | 3 << 3]
    eng, got = _hand("pool-sign", "fixed", fill + [0b10, 0b01, 0], 4)
    assert eng.pool.tolist() == [3, -7, 7, -3] and eng.offset == 3
    # i -> pool[(i + 3) % 4] = -3, 3, -7, 7; r[lane] flips: beat 0 lane 1, beat 1 lane 0
    assert got["values"] == [-3, -3, 7, 7] and got["lasts"] == [0, 1]
    assert got["fill"] == 4 and got["cycles"] == 4 + 3
    assert _pass(eng, "replay", 4, random.Random(1), 0.5, 1)["values"] == [-3, -3, 7, 7]
    _, got = _hand("pool", "fixed", fill + [0b10, 0b01, 0], 6)
    assert got["values"] == [-3, 3, -7, 7, -3, 3]


def test_hand_pool_index_and_none():
    _, got = _hand("pool-index", "fixed", [1, 4, 3, 6, 1 | 3 << 2, 2], 3)
    assert got["values"] == [-7, -3, 7]                     # pool[1], pool[3], pool[2]
    _, got = _hand("none", "fixed", [0b001_111, 0b000_011], 3)
    assert got["values"] == [-1, 3, 7] and got["fill"] == 0
    _, got = _hand("rademacher", "fixed", [0b10, 0b11, 0b00], 6)
    assert got["values"] == [1, -1, -1, -1, 1, 1] and got["fill"] == 0 and got["cycles"] == 3


def test_hand_adaptive_scale():
    # B = 8, N = 4: v = +-1 (acc 4): h = 10, e = 5, idx 0, rom 63, sa 2 -> 63 >> 2 = 15 -> 31
    eng, got = _hand("pool", "adaptive", [0, 127, 0, 127, 0, 0], 4, lanes=4, bits=8)
    assert (eng.rom_v, eng.sa) == (63, 2) and eng.pool.tolist() == [31, -31, 31, -31]
    assert got["fill"] == 2 * 4 + 6                       # SCALE_LATENCY = 6
    # v = +-127 (acc 64516): E = 15, h = -3, q = 1, e = -1, idx 15, rom 32, sa 8 -> 4064 >> 8 = 15
    eng, _ = _hand("pool", "adaptive", [63, 64, 63, 64, 0], 4, lanes=4, bits=8)
    assert (eng.rom_v, eng.sa) == (32, 8) and eng.pool.tolist() == [31, -31, 31, -31]
    assert scale_params(64516, 8, 2) == (32, 8)


@pytest.mark.parametrize("mode", ["fixed", "adaptive"])
def test_pool_shift_replaces_refresh_entries_in_ring_order(mode):
    words = list(range(8)) + [1, 1, 6, 6, 3, 3, 0, 0, 2, 2] * 2 + [0] * 50
    cfg = _cfg("pool-shift", mode, 2, 4, 8, 2)
    eng = Ref(cfg)
    eng.bank = _ListBank(words)
    rng = random.Random(0)
    got = _pass(eng, "start", 0, rng, 1.0, 0)
    assert got["cycles"] == _fill_cycles(cfg, True) + 1
    before = eng.pool.tolist()
    if mode == "fixed":
        assert before == [1, 3, 5, 7, -7, -5, -3, -1]
    for step in range(6):
        got = _pass(eng, "start", 0, rng, 1.0, 0)
        assert got["cycles"] == _fill_cycles(cfg, False) + 1
        after = eng.pool.tolist()
        ring = {(2 * step) % 8, (2 * step + 1) % 8}
        assert [j for j in range(8) if j not in ring and after[j] != before[j]] == []
        u = words[8 + 2 * step]
        fresh = odd_code(u, 4) if mode == "fixed" else 2 * min(max((odd_code(u, 4) * eng.rom_v) >> eng.sa, -4), 3) + 1
        assert [after[j] for j in sorted(ring)] == [fresh, fresh]
        before = after


def test_rom():
    rom = adaptive_rom(8)
    print("adaptive ROM:", rom)
    assert rom == [[_rom_entry(q, i) for i in range(16)] for q in (0, 1)]
    assert rom[0][:4] == [63, 61, 60, 58] and rom[1][-2:] == [33, 32]
    assert all(32 <= v <= 64 for row in rom for v in row)
    # the latched scale is within the ROM's error of the exact 1/RMS scale
    for n in (0, 3, 6):
        for acc in range(2**n, 2**n * 127**2, 997):
            rom_v, sa = scale_params(acc, 8, n)
            exact = math.sqrt(32**2 * 2**n / acc)
            assert abs(rom_v * 2.0 ** (1 - sa) / exact - 1) < 0.026


@pytest.mark.parametrize("strategy", ["pool-index", "pool-shift"])
def test_adaptive_batch_mean_square_is_target(strategy):
    cfg = _cfg(strategy, "adaptive", 8, 8, 128, 64)     # 8 x 7 index bits fit 63
    eng = Fast(cfg)
    for _ in range(3):
        z = eng.passes(1, 1000)
        assert abs(float((eng.pool.double() ** 2).mean()) / 32**2 - 1) < 0.1
        assert abs(float((z.double() ** 2).mean()) / 32**2 - 1) < 0.1
        assert int(eng.pool.abs().max()) <= 127 and bool((eng.pool % 2 == 1).all())


def test_fixed_scale_spread():
    z = Fast(_cfg("none", "fixed", 8, 8)).passes(1, 1000)[0].double()
    assert abs(float(z.std()) / 32 - 4 / math.sqrt(3)) < 0.15


def test_errors():
    with pytest.raises(ConfigError):
        Ref(_cfg("none", "fixed", 8, 8, bank={"width": 16, "k": 8}))          # 56 bits per beat > 8
    with pytest.raises(ConfigError, match="engine.lfsr.replay = false: the engine replays passes that read"):
        Ref(_cfg("pool-sign", "fixed", 2, 4).replace(**{"engine.lfsr.replay": False}))
    # pool replays from the pool alone: its bank has no shadow, whatever the file says
    assert not Ref(_cfg("pool", "fixed", 2, 4).replace(**{"engine.lfsr.replay": False})).bank.replay
    assert not Ref(_cfg("pool", "fixed", 2, 4)).bank.replay
    assert Ref(_cfg("pool-sign", "fixed", 2, 4)).bank.replay
    eng = Fast(_cfg("pool", "fixed", 2, 4))
    with pytest.raises(PezoError):
        eng.step({"start": 1, "d": 1001})
    eng.step({"start": 1, "d": 5})
    with pytest.raises(PezoError):
        eng.passes(1, 5)


# -- one pass at a time: start() and values() --------------------------------------------------------

# sparse recurrence (k = 16), dense (k = 63), fields straddling LFSR lanes, 64-bit words, several lanes
BANKS = {"k16": {"width": 63, "k": 16, "lanes": 1}, "k63": {"width": 63, "k": 63, "lanes": 1},
         "straddle": {"width": 16, "k": 5, "lanes": 12}, "w64": {"width": 64, "k": 64, "lanes": 1},
         "3lanes": {"width": 32, "k": 7, "lanes": 3}}


def _bank_fits(strategy, mode, bank, lanes, bits) -> bool:
    try:
        _cfg(strategy, mode, lanes, bits, 16, 4, BANKS[bank]).engine.check_bank()
        return True
    except ConfigError:
        return False


START_CASES = [(s, m, b, lanes, bits) for s, m in COMBOS for b in BANKS for lanes, bits in ((1, 8), (8, 8), (8, 4), (16, 8))
               if not (b in ("straddle", "3lanes") and lanes == 16) and _bank_fits(s, m, b, lanes, bits)]


def _values(eng: EngineStream, pass_, beats: int, convert=None) -> list:
    return [v for chunk in eng.values(pass_, convert, beats) for v in chunk.tolist()]


@pytest.mark.parametrize("strategy,mode,bank,lanes,bits", START_CASES,
                         ids=[f"{s}-{m}-{b}-l{n}-b{w}" for s, m, b, n, w in START_CASES])
def test_start_and_values_equal_step(strategy, mode, bank, lanes, bits):
    # every fast path of values() (pool pattern, sign tables, joint-field tables, per-field
    # tables, whole words) against the cycle model: same values in any chunking, same registers
    cfg = _cfg(strategy, mode, lanes, bits, 16, 4, BANKS[bank])
    ds = [333, 7, 0, 129]
    ref = _reference(cfg, ds)
    a, b = Ref(cfg), Fast(cfg)
    rng = random.Random(bank)
    for t, d in enumerate(ds):
        seen = _pass(a, "start", d, rng, 0.8, 1)["values"]
        p = b.start(d)
        assert b.registers() == a.registers()
        assert seen == ref[t]
        for beats in (1, 3, 64):
            assert _values(b, p, beats) == ref[t], beats
        again = _pass(a, "replay", d, rng, 0.8, 0)["values"]
        q = b.start(d, replay=True)
        assert b.registers() == a.registers()
        assert _values(b, q, 5) == again == ref[t]
    with pytest.raises(PezoError):
        b.start(1001)


@pytest.mark.parametrize("strategy,mode,bank", [
    ("pool", "fixed", "k16"), ("pool-sign", "adaptive", "k16"), ("pool-sign", "fixed", "straddle"),
    ("pool-index", "adaptive", "k63"), ("pool-shift", "fixed", "straddle"), ("none", "fixed", "k63")])
def test_values_convert_is_applied_to_each_code(strategy, mode, bank):
    cfg = _cfg(strategy, mode, 8, 8, 16, 4, BANKS[bank])
    eng = Fast(cfg)
    codes = eng.passes(2, 555)[1]
    p = eng.start(555, replay=True)
    for convert in (lambda c: c.to(torch.float32) * 0.37,            # negation is a sign-bit flip
                    lambda c: c.to(torch.float32) + 0.5,             # it is not: the general path
                    lambda c: c.to(torch.int16) * 3):
        got = torch.cat([c.clone() for c in eng.values(p, convert, beats=16)])
        assert got.dtype == convert(codes).dtype and torch.equal(got, convert(codes))


@pytest.mark.parametrize("strategy,mode", COMBOS)
def test_long_passes_stream_and_equal_batched_steps(strategy, mode, monkeypatch):
    cfg = _cfg(strategy, mode, 8, 8, 16, 4, BANKS["k16" if strategy in ("pool", "pool-sign") else "k63"])
    batched = Fast(cfg)
    want = batched.passes(3, 1000)
    want_replay = batched.replay(1000)
    monkeypatch.setattr(engine_stream, "STREAM_BEATS", 1)        # every pass through start()/values()
    streamed = Fast(cfg)
    assert torch.equal(streamed.passes(3, 1000), want)
    assert torch.equal(streamed.replay(1000), want_replay) and torch.equal(want_replay, want[-1])
    assert streamed.registers() == batched.registers()
