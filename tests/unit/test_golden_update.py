"""Update datapath rules and golden model: rounding, exact restore, cycles, float bound, config."""

import random
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pezo import fixed
from pezo.config import Config, ConfigError
from pezo.sw.golden.update import FloatReference, Update, pack_word
from pezo.sw.golden.update_stream import UpdateStream
from pezo.update_rules import Cmd, Op, UpdateRules


#: The PeZO engine (uniform pool-sign, adaptive, one 63-bit LFSR with k = 16); the default
#: is the Rademacher engine, whose datapath has no multiplier.
PEZO = {"engine.source": "uniform", "engine.reuse.strategy": "pool-sign", "engine.scale.mode": "adaptive",
        "engine.lfsr.width": 63, "engine.lfsr.k": 16}


def _cfg(**changes) -> Config:
    return Config().replace(**{"update.depth": 64, **changes})


formats = st.tuples(st.integers(1, 6), st.integers(4, 14))          # param (int bits, frac bits)


@settings(max_examples=300, deadline=None)
@given(fmt=formats, bits=st.integers(4, 12), data=st.data())
def test_plus_minus2_restore_returns_theta_exactly_unless_saturated(fmt, bits, data):
    ints, frac = fmt
    eps_shift = data.draw(st.integers(0, frac))
    r = UpdateRules(ints + frac, frac, 16, 14, bits, eps_shift, 1, 1, bits - 3)
    theta = data.draw(st.integers(r.lo, r.hi))
    z = data.draw(st.integers(-(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1))
    t1, o1 = r.apply(theta, Op.PLUS, z)
    t2, o2 = r.apply(t1, Op.MINUS2, z)
    t3, o3 = r.apply(t2, Op.RESTORE, z)
    if not (o1 or o2 or o3):
        assert t3 == theta
        assert t1 - theta == r.delta(z) and t2 - theta == -r.delta(z)
    assert r.delta(-z) == -r.delta(z)                      # symmetric rounding: zero-mean perturbation
    exact = z * 2.0 ** r.delta_shift
    assert abs(r.delta(z) - exact) <= 0.5


@settings(max_examples=300, deadline=None)
@given(s=st.integers(-(1 << 15), (1 << 15) - 1), z=st.integers(-127, 127), frac=st.integers(0, 20))
def test_product_is_nearest_even(s, z, frac):
    r = UpdateRules(16, 12, 16, frac, 8, 6, 1, 1, 5)
    exact = s * z * 2.0 ** -r.product_shift
    got = r.product(s, z)
    assert abs(got - exact) <= 0.5
    if abs(got - exact) == 0.5:
        assert got % 2 == 0
    assert r.product(-s, z) == -got


@settings(max_examples=200, deadline=None)
@given(s=st.integers(-(1 << 15), (1 << 15) - 1), frac=st.integers(0, 20), eps_shift=st.integers(0, 12))
def test_unit_codes_need_no_multiplier(s, frac, eps_shift):
    # +-1 codes (Rademacher, C = 0): the product is the scalar rounded once and negated, the
    # perturbation eps exactly, so the datapath's lanes need no multiplier
    r = UpdateRules(16, 12, 16, frac, 2, eps_shift, 1, 1, 0, unit=True)
    for z in (1, -1):
        assert r.product(s, z) == z * r.product(s, 1)
        assert r.delta(z) == z * (1 << (12 - eps_shift))



def Ref(cfg: Config) -> Update:
    """The reference model (one edge at a time)."""
    return Update(UpdateRules.from_config(cfg))


def Fast(cfg: Config) -> UpdateStream:
    """The whole-pass model (which keeps the reference's step)."""
    return UpdateStream(UpdateRules.from_config(cfg))

def test_rules_for_the_rademacher_configuration():
    r = UpdateRules.from_config(Config().replace(**{"engine.source": "rademacher", "engine.value_bits": 2,
                                                      "engine.reuse.strategy": "none",
                                                      "engine.scale.mode": "fixed"}))
    assert r.unit and r.C == 0 and r.delta_shift == 6 and r.product_shift == 2
    assert r.apply(0, Op.PLUS, -1) == (-64, False)               # eps = 2**-6 in Q4.12
    assert r.apply(0, Op.UPDATE, 1, s=1 << 14) == (-(1 << 12), False)   # 1.0 * 1


def test_rules_for_the_pezo_configuration():
    r = UpdateRules.from_config(Config().replace(**PEZO))
    assert (r.W, r.F, r.S, r.Fs, r.B, r.lanes, r.depth) == (16, 12, 16, 14, 8, 8, 4096)
    assert r.delta_shift == 1 and r.product_shift == 7          # delta = z << 1 is exact
    assert r.apply(r.hi - 1, Op.PLUS, 3) == (r.hi, True)
    assert r.apply(0, Op.UPDATE, 32, s=1 << 14) == (-(1 << 12), False)   # 1.0 * 1.0


def _host_steps(g: Update, d: int, scalars, rng: random.Random, stall: float):
    """Run ZO steps cycle by cycle with random stalls and ignored commands while busy."""
    cycles = []
    for s in scalars:
        for op in Op:
            if op == Op.UPDATE:
                g.step({"cmd": Cmd.SCALAR, "wdata": s & 0xFFFF})
            out, n = g.step({"cmd": Cmd.PASS, "op": op, "d": d, "stall": int(rng.random() < stall)}), 1
            while out["busy"]:
                out = g.step({"cmd": rng.randrange(6), "op": rng.randrange(4), "addr": rng.randrange(g.r.words),
                              "wdata": rng.getrandbits(g.r.lanes * g.r.W), "stall": int(rng.random() < stall)})
                n += 1
            cycles.append((op, n))
    return cycles


@pytest.mark.parametrize("changes", [{}, PEZO, {**PEZO, "engine.scale.mode": "fixed", "engine.lanes": 3, "update.depth": 63},
                                     {**PEZO, "engine.reuse.strategy": "pool-shift", "engine.lfsr.k": 63,
                                      "update.param": "Q2.6", "update.eps_shift": 2, "update.scalar": "Q1.7"},
                                     {"engine.lanes": 3, "update.depth": 63, "update.eps_shift": 12},
                                     {"update.memory": "spram", "engine.lanes": 4},
                                     {**PEZO, "update.memory": "spram", "engine.lanes": 4}])
def test_step_equals_vectorised_passes_under_stalls(changes):
    cfg = _cfg(**changes)
    rng = random.Random(5)
    a, b = Ref(cfg), Fast(cfg)
    r = a.r
    d = r.depth - 2
    init = [rng.randrange(r.lo, r.hi + 1) for _ in range(r.depth)]
    for w in range(r.words):
        word = pack_word(init[w * r.lanes:(w + 1) * r.lanes], r.W)
        a.step({"cmd": Cmd.WRITE, "addr": w, "wdata": word})
        b.step({"cmd": Cmd.WRITE, "addr": w, "wdata": word})
    scalars = [rng.randrange(-(1 << (r.S - 1)), 1 << (r.S - 1)) >> 3 for _ in range(3)]
    _host_steps(a, d, scalars, rng, stall=0.3)
    for s in scalars:
        b.zo_step(d, s)
    assert torch.equal(a.mem, b.mem) and a.ovf == b.ovf
    assert a.theta[d:].tolist() == init[d:]                     # lanes past d keep their value
    assert a.theta[:d].tolist() != init[:d]


@pytest.mark.parametrize("changes", [{}, PEZO, {**PEZO, "engine.scale.mode": "fixed"},
                                     {"engine.lanes": 1, "update.depth": 40},
                                     {**PEZO, "engine.lanes": 1, "update.depth": 40},
                                     {"update.memory": "spram", "engine.lanes": 4},
                                     {**PEZO, "update.memory": "spram", "engine.lanes": 1, "update.depth": 40}])
def test_pass_cycles_formula(changes):
    g = Ref(_cfg(**changes))
    for d in (0, 1, 7, 8, 9, 40):
        for op, n in _host_steps(g, d, [5], random.Random(1), stall=0.0):
            assert n == g.pass_cycles(op, d), (d, op)
    # a PLUS pass of d parameters: E + ceil(d/L) + 7 cycles with a pooled engine (E its fill),
    # ceil(d/L) + 6 with the direct stream, which has no fill and no extra STREAM cycle
    # (SPRAM: + 3*floor((nb-1)/3)); replays skip the engine's fill
    pooled = not g.engine.params.direct
    e = (2 * 64 + 6 if g.engine.adaptive else 64) if pooled else 0
    nb = -(-40 // g.r.lanes)
    assert g.pass_cycles(Op.PLUS, 40) == e + nb + 6 + pooled + (3 * ((nb - 1) // 3) if g.spram else 0)


@pytest.mark.parametrize("changes", [{}, {**PEZO, "engine.scale.mode": "fixed"}])
def test_spram_takes_beats_three_on_three_off(changes):
    """Single port: a beat is never taken in a cycle whose edge writes a word (three cycles
    after it was taken), so beats go three on, three off: half rate."""
    g = Ref(_cfg(**{**changes, "update.memory": "spram", "engine.lanes": 4}))
    g.step({"cmd": Cmd.PASS, "op": Op.PLUS, "d": 64})
    accepts = []
    while g.running:
        writes = g.v3                                            # this edge writes a word
        before = g.ptr
        g.step({})
        assert not (writes and g.ptr != before)
        accepts.append(int(g.ptr != before))
    first = accepts.index(1)
    assert accepts[first:first + 15] == [1, 1, 1, 0, 0, 0] * 2 + [1, 1, 1] and sum(accepts) == 16


def test_d_is_clamped_to_the_memory():
    g = Fast(_cfg())
    g.step({"cmd": Cmd.SCALAR, "wdata": 1 << 12})
    g.zo_step(10_000, 1 << 12)
    assert g.theta.abs().sum() > 0 and g._z.numel() == 64


def test_sticky_overflow_and_clear():
    g = Fast(_cfg())
    r = g.r
    g.step({"cmd": Cmd.WRITE, "addr": 0, "wdata": pack_word([r.hi] * r.lanes, r.W)})
    g.run_pass(Op.PLUS, 8)
    assert g.ovf == 1
    g.run_pass(Op.MINUS2, 8)
    assert g.outputs()["ovf"] == 1
    g.step({"cmd": Cmd.CLEAR})
    assert g.outputs()["ovf"] == 0


@pytest.mark.parametrize("mode", ["adaptive", "fixed", "rademacher"])
def test_fixed_point_within_the_stated_bound_of_the_float_reference(mode):
    cfg = _cfg(**({} if mode == "rademacher" else {**PEZO, "engine.scale.mode": mode}))
    g, ref = Fast(cfg), FloatReference(UpdateRules.from_config(cfg))
    r = g.r
    rng = random.Random(3)
    init = [rng.randrange(-(1 << r.F), 1 << r.F) for _ in range(r.depth)]
    for w in range(r.words):
        g.step({"cmd": Cmd.WRITE, "addr": w, "wdata": pack_word(init[w * r.lanes:(w + 1) * r.lanes], r.W)})
    theta_f = torch.tensor(init, dtype=torch.float64) * 2.0 ** -r.F
    theta_q = theta_f.clone()                                # reference fed the unquantised lr*g
    steps, lsb = 50, 2.0 ** -r.F
    worst = 0.0
    for t in range(steps):
        plus = g.run_pass(Op.PLUS, r.depth)
        z = g._z
        fplus = ref.apply(theta_f, Op.PLUS, z)
        assert (plus.double() * lsb - fplus).abs().max() <= ref.bound(t) + 0.5 * lsb + 1e-12
        g.run_pass(Op.MINUS2, r.depth)
        g.run_pass(Op.RESTORE, r.depth)
        s_float = rng.uniform(-0.05, 0.05)
        s = fixed.from_float(s_float, fixed.QFormat(r.S - r.Fs, r.Fs))
        g.load_scalar(s)
        g.run_pass(Op.UPDATE, r.depth)
        theta_f = ref.apply(theta_f, Op.UPDATE, z, s * 2.0 ** -r.Fs)
        theta_q = ref.apply(theta_q, Op.UPDATE, z, s_float)
        worst = max(worst, float((g.theta.double() * lsb - theta_f).abs().max()))
    assert g.ovf == 0
    err = (g.theta.double() * lsb - theta_f).abs().max()
    assert err <= ref.bound(steps)
    assert worst > 0                                          # the bound is not vacuous: rounding happens
    assert (g.theta.double() * lsb - theta_q).abs().max() <= ref.bound(steps, quantised_scalar=False)


INVALID = [
    ({"update.depth": 100}, "update.depth = 100: must be a multiple of engine.lanes = 8"),
    ({"update.depth": 4096, "engine.max_params": 1000}, "update.depth = 4096: exceeds engine.max_params = 1000"),
    ({"update.memory": "spram"}, 'update.memory = "spram": needs 8 SB_SPRAM256KA (128-bit words of engine.lanes = 8'),
    ({"update.memory": "spram", "engine.lanes": 4, "update.depth": 1 << 17, "engine.max_params": 1 << 17},
     'update.memory = "spram": needs 8 SB_SPRAM256KA'),
]


@pytest.mark.parametrize("changes,message", INVALID)
def test_memory_must_suit_the_engine(changes, message):
    cfg = Config().replace(**changes)                # valid at load: checked when built
    with pytest.raises(ConfigError, match=re.escape(message)):
        Ref(cfg)


@pytest.mark.parametrize("changes,message", [
    ({"update.scalar": "UQ2.14"}, 'update.scalar = "UQ2.14": a Q-format such as "Q4.12" (signed'),
    ({"update.scalar": "Q0.16"}, 'update.scalar = "Q0.16": needs >= 1 integer bit'),
    ({"update.dsp_lanes": 65}, "update.dsp_lanes = 65: must be in 0..64"),
    ({"update.depth": 0}, "update.depth = 0: must be in 1..1048576"),
    ({"update.memory": "dram"}, 'update.memory = "dram": must be one of "bram", "spram"'),
])
def test_update_config_errors(changes, message):
    with pytest.raises(ConfigError) as e:
        Config().replace(**changes)
    assert message in str(e.value)


@pytest.mark.parametrize("changes", [{}, {"update.memory": "spram", "engine.lanes": 4}])
def test_standard_stimulus_is_one_whole_zo_step_without_stalls(changes):
    from pezo.sim.update import standard_stimulus

    cfg = _cfg(**changes)
    t = standard_stimulus(cfg)
    g = Ref(cfg)
    r = g.r
    cmds = t.inputs["cmd"]
    assert cmds[:r.words] == [Cmd.WRITE] * r.words and t.inputs["addr"][:r.words] == list(range(r.words))
    passes = [t.inputs["op"][c] for c in range(t.cycles) if cmds[c] == Cmd.PASS]
    assert passes == list(Op) and set(t.inputs["d"][c] for c in range(t.cycles) if cmds[c] == Cmd.PASS) == {r.depth}
    assert not any(t.inputs["stall"]) and sum(t.outputs["done"]) == 4 and t.outputs["busy"][-1] == 0
    # loading, then each pass as fast as the memory allows (the SCALAR command between)
    step = sum(g.pass_cycles(op, r.depth) for op in Op) + 1
    assert t.cycles == r.words + step
