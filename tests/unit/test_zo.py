"""ZO training: perturbation sources, optimizers, tasks (sw/zo)."""

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from pezo.config import Config, load
from pezo.errors import PezoError
from pezo.sw.golden.engine_stream import EngineStream
from pezo.sw.zo import tasks
from pezo.sw.zo.optim import DiZO, FirstOrder, MeZO, PeZO, PseuZO, cyclic_hyperbola, decayed, dizo_targets
from pezo.sw.zo.source import EngineSource, GaussianSource, RademacherSource, code_scale, codes_to_z
from pezo.sw.zo.train import run

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
UNIFORM = ["uniform-fresh", "pool", "pool-sign", "pool-sign-fixed", "pool-index", "pool-shift", "pre-generation",
           "on-the-fly", "rademacher", "default"]


class Quad(nn.Module):
    """``forward`` returns the parameter vector; with ``_sq`` the loss is ``|w - target|^2``."""

    def __init__(self, d: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(d // 2, generator=g))
        self.b = nn.Parameter(torch.randn(d - d // 2, generator=g))

    def forward(self, x):
        return torch.cat([self.a, self.b])


def _sq(out, target):
    return ((out - target) ** 2).sum()


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


# -- sources --------------------------------------------------------------------------------------

def test_code_scale_three_cases():
    fixed = load(CONFIGS / "pool-sign-fixed.toml")
    adaptive = load(CONFIGS / "pool-index.toml")
    gauss = Config().replace(**{"engine.source": "gaussian-clt", "engine.reuse.strategy": "none",
                                "engine.scale.mode": "fixed"})
    assert code_scale(fixed) == pytest.approx(math.sqrt(3) / 4 / 32, rel=1e-4)   # c: the exact odd-code sigma
    assert code_scale(fixed) == pytest.approx(1 / math.sqrt((4**7 - 1) / 3))
    assert code_scale(adaptive) == pytest.approx(1 / 32)
    assert code_scale(gauss) == pytest.approx(1 / 32)
    assert code_scale(adaptive.replace(**{"engine.value_bits": 10})) == pytest.approx(1 / 128)
    codes = torch.tensor([-127, 1, 32], dtype=torch.int64)
    assert codes_to_z(codes, adaptive).tolist() == [-127 / 32, 1 / 32, 1.0]
    rad = load(CONFIGS / "rademacher.toml")
    assert code_scale(rad) == 1.0
    assert codes_to_z(torch.tensor([1, -1]), rad).tolist() == [1.0, -1.0]


@pytest.mark.parametrize("name", UNIFORM)
def test_engine_z_has_unit_spread(name):
    cfg = load(CONFIGS / f"{name}.toml")
    # A pool's sample mean (std 1/8 for 64 entries) offsets every value of its step, and
    # pool-shift keeps 56 of 64 entries from step to step: the mean converges slowly.
    z = codes_to_z(EngineStream(cfg.engine.params).passes(64, 2000), cfg)
    assert abs(float(z.std()) - 1) < 0.05 and abs(float(z.mean())) < 0.15


def test_gaussian_seed_replay_gives_identical_z():
    src = GaussianSource(1000, seed=3)
    k1, k2 = src.next(), src.next()
    assert torch.equal(src.z(k1), src.z(k1)) and not torch.equal(src.z(k1), src.z(k2))
    assert torch.equal(GaussianSource(1000, seed=3).z(k1), src.z(k1))   # the key alone regenerates z
    assert abs(float(src.z(k2).std()) - 1) < 0.1


@pytest.mark.parametrize("name", UNIFORM)
def test_engine_source_is_exactly_engine_passes(name):
    # Blocks of 64 steps; 150 steps cross two block boundaries. Older steps (PseuZO's window)
    # are regenerated from the registers saved at their block's start.
    cfg = load(CONFIGS / f"{name}.toml")
    d, n = 101, 150
    ref = EngineStream(cfg.engine.params).passes(n, d)
    src = EngineSource(cfg, d, keep=14)
    for t in range(n):
        assert src.next() == t
        assert torch.equal(src.codes(t).to(torch.int64), ref[t])
        if t >= 13:
            assert torch.equal(src.codes(t - 13).to(torch.int64), ref[t - 13])
    assert torch.equal(src.z(n - 1), codes_to_z(ref[n - 1], cfg))
    with pytest.raises(PezoError):
        src.codes(n)


def test_engine_source_raises_max_params():
    cfg = load(CONFIGS / "pool-index.toml").replace(**{"engine.max_params": 16})
    src = EngineSource(cfg, 100)
    src.next()
    assert torch.equal(src.codes(0).to(torch.int64), EngineStream(cfg.replace(**{"engine.max_params": 100}).engine.params).passes(1, 100)[0])


RECOMMENDED = {"engine.lfsr.width": 63, "engine.lfsr.k": 16, "engine.scale.mode": "adaptive"}


@pytest.mark.parametrize("name", ["pool-sign", "default", "pool-shift", "gaussian-clt"])
def test_streamed_source_equals_blocks(name):
    # chunk by chunk from each step's Pass: the same codes and z as the block source, for the
    # last `keep` steps; older ones are refused
    cfg = load(CONFIGS / f"{name}.toml")
    d = 301
    blocks, streamed = EngineSource(cfg, d, keep=3, stream=False), EngineSource(cfg, d, keep=3, stream=True)
    assert streamed.stream and not blocks.stream and EngineSource(cfg, 1 << 16).stream
    for t in range(70):
        assert blocks.next() == streamed.next() == t
        for k in range(max(0, t - 2), t + 1):
            assert torch.equal(streamed.codes(k), blocks.codes(k))
            z = blocks.z(k)
            assert torch.equal(streamed.z(k), z)
            assert torch.equal(torch.cat([c.clone() for c in streamed.chunks(k)]), z)
    with pytest.raises(PezoError):
        streamed.z(66)
    with pytest.raises(PezoError):
        next(streamed.chunks(70))


class Wide(nn.Module):
    """A linear model whose second weight is a non-contiguous view (a transpose)."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(40, 30, generator=g))
        self.v = nn.Parameter(torch.randn(30, 20, generator=g).t())
        self.empty = nn.Parameter(torch.empty(0))
        self.b = nn.Parameter(torch.randn(20, generator=g))

    def forward(self, x):
        return torch.tanh(x @ self.w) @ self.v.t() + self.b


def _full_z_reference(model, loss_fn, x, y, z_of_step, steps, lr, eps):
    """MeZO as it was written before z came in chunks: the whole z of each step, per use."""
    params = list(model.parameters())

    def perturb(z, alpha):
        off = 0
        for p in params:
            n = p.numel()
            p.add_(z[off:off + n].view_as(p), alpha=alpha)
            off += n

    with torch.no_grad():
        for t in range(steps):
            z = z_of_step(t)
            perturb(z, eps)
            lp = float(loss_fn(model(x), y))
            perturb(z, -2 * eps)
            lm = float(loss_fn(model(x), y))
            perturb(z, eps)
            perturb(z, -lr * (lp - lm) / (2 * eps))


@pytest.mark.parametrize("name,changes", [("pool-sign", RECOMMENDED), ("default", {})])
def test_pezo_in_chunks_is_bit_exact_with_whole_z(name, changes):
    cfg = load(CONFIGS / f"{name}.toml").replace(**changes)
    x, y = torch.randn(8, 40, generator=torch.Generator().manual_seed(1)), torch.randn(8, 20)
    a, b = Wide(), Wide()
    d = sum(p.numel() for p in a.parameters())
    steps, lr, eps = 12, 1e-2, 1e-3
    opt = MeZO(a, nn.functional.mse_loss, lr, eps, source=EngineSource(cfg, d, stream=True))
    for _ in range(steps):
        opt.step(x, y)
    codes = EngineStream(cfg.replace(**{"engine.max_params": d}).engine.params).passes(steps, d)
    _full_z_reference(b, nn.functional.mse_loss, x, y, lambda t: codes_to_z(codes[t], cfg), steps, lr, eps)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not a.v.is_contiguous() and not torch.equal(a.w, Wide().w)


def test_pseuzo_with_a_streamed_source_equals_blocks():
    cfg = load(CONFIGS / "pool-sign.toml").replace(**RECOMMENDED)
    x, y = torch.randn(8, 40), torch.randn(8, 20)
    models = [Wide(), Wide()]
    d = sum(p.numel() for p in models[0].parameters())
    opts = [PseuZO(m, nn.functional.mse_loss, lr=1e-3, window=4, source=EngineSource(cfg, d, stream=s), total_steps=10)
            for m, s in zip(models, (False, True))]
    for _ in range(10):
        assert opts[0].step(x, y) == opts[1].step(x, y)
    for pa, pb in zip(*(m.parameters() for m in models)):
        assert torch.equal(pa, pb)


def test_torch_rademacher_source_replays_plus_minus_one():
    src = RademacherSource(1000, seed=3)
    k = src.next()
    z = src.z(k)
    assert set(z.tolist()) == {-1.0, 1.0} and abs(float(z.mean())) < 0.1
    assert torch.equal(src.z(k), z) and not torch.equal(src.z(src.next()), z)
    assert isinstance(src.derived(4), RademacherSource) and src.derived(4).d == 4


# -- optimizers -----------------------------------------------------------------------------------

def test_mezo_restores_theta_and_counts_forwards():
    m = Quad(50)
    before = _flat(m)
    opt = MeZO(m, _sq, lr=0.0, eps=1e-2)
    for _ in range(5):
        opt.step(None, torch.zeros(50))
    assert torch.allclose(_flat(m), before, atol=1e-5)
    assert opt.forwards == 10


def test_pezo_steps_along_exactly_the_engine_pass():
    cfg = load(CONFIGS / "pool-sign.toml")
    d, lr, eps = 40, 1e-2, 1e-3
    m = Quad(d)
    target = torch.zeros(d)
    theta0 = _flat(m).double()
    opt = PeZO(m, _sq, cfg, lr=lr, eps=eps)
    opt.step(None, target)
    z = codes_to_z(EngineStream(cfg.engine.params).passes(1, d)[0], cfg).double()
    g = (float(_sq(theta0 + eps * z, target)) - float(_sq(theta0 - eps * z, target))) / (2 * eps)
    assert torch.allclose(_flat(m).double(), theta0 - lr * g * z, atol=2e-4)


@pytest.mark.parametrize("make", [
    lambda m: MeZO(m, _sq, lr=2e-3, eps=1e-3, seed=1),
    lambda m: PeZO(m, _sq, load(CONFIGS / "default.toml"), lr=2e-3, eps=1e-3),
    lambda m: PeZO(m, _sq, load(CONFIGS / "pool-sign.toml"), lr=2e-3, eps=1e-3),
    lambda m: DiZO(m, _sq, lr=2e-3, eps=1e-3, interval=20, inner=4, targets=["a", "b"]),
    lambda m: PseuZO(m, _sq, lr=2e-3, eps=1e-3, total_steps=400),
    lambda m: PseuZO(m, _sq, lr=2e-3, eps=1e-3, source=EngineSource(load(CONFIGS / "default.toml"), 64),
                     total_steps=400),
    lambda m: PseuZO(m, _sq, lr=2e-4, eps=1e-3, momentum=0.9),
    lambda m: PseuZO(m, _sq, lr=2e-3, eps=1e-3, momentum=0.9, normalise=True),
    lambda m: FirstOrder(m, _sq, lr=0.05),
    lambda m: FirstOrder(m, _sq, lr=0.05, kind="adam"),
], ids=["mezo", "pezo-default", "pezo-pool-sign", "dizo", "pseuzo", "pseuzo-engine", "pseuzo-fixed", "pseuzo-ema",
        "sgd", "adam"])
def test_each_optimizer_decreases_a_quadratic(make):
    m = Quad(64)
    target = torch.full((64,), 0.5)
    start = float(_sq(m(None), target).detach())
    opt = make(m)
    for _ in range(400):
        opt.step(None, target)
    assert float(_sq(m(None), target).detach()) < 0.5 * start


def test_dizo_projection_scales_each_displacement_within_tau():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    opt = DiZO(m, nn.functional.mse_loss, lr=1e-2, eps=1e-3, interval=5, inner=3, tau=0.2)
    assert opt.targets == ["0.weight", "1.weight"]          # an MLP: its weight matrices, no biases
    anchor = [a.clone() for a in opt.anchor]
    for _ in range(4):
        opt.step(x, y)
    biases = [m[0].bias.detach().clone(), m[1].bias.detach().clone()]
    disp = [p.detach() - a for p, a in zip(opt._proj, opt.anchor)]
    opt.step(x, y)                     # the 5th step projects (after its MeZO step)
    assert opt.forwards == 5 * 2 + 2 * 3
    assert opt.last_scales is not None and ((opt.last_scales - 1).abs() <= 0.2 + 1e-6).all()
    assert not torch.equal(opt.last_scales, torch.ones(2, dtype=torch.float64))
    for a, a0 in zip(opt.anchor, anchor):
        assert torch.equal(a, a0)      # the anchor never moves
    assert not torch.equal(m[0].bias, biases[0])           # the 5th MeZO step moved the biases ...
    for p, a, dl in zip(opt._proj, opt.anchor, disp):      # ... and the projection rescaled the weights only
        assert (p.detach() - a).norm() != pytest.approx(float(dl.norm()), rel=1e-9)


def test_dizo_projection_is_the_references_absolute_norm_form():
    """One inner iteration by hand: gamma starts at ts = |D|, z clipped to +-(tau/eps_p) ts,
    gamma <- clip(gamma - proj_lr ts g z, (1 +- tau) ts), theta = a + D gamma / ts."""
    m = Quad(6)
    tau, eps_p, proj_lr, target = 0.1, 0.05, 1.0, torch.zeros(6)
    opt = DiZO(m, _sq, lr=0.0, inner=1, tau=tau, eps_p=eps_p, proj_lr=proj_lr, targets=["a", "b"])
    with torch.no_grad():
        m.a.add_(0.03)                 # a small displacement: |D| = 0.052, so z is clipped
        m.b.sub_(2.0)
    a = [x.double() for x in opt.anchor]
    disp = [p.detach().double() - x for p, x in zip(opt.params, a)]
    ts = torch.stack([dl.norm() for dl in disp])
    z = GaussianSource(2, 0x5EED).z(GaussianSource(2, 0x5EED).next()).double()
    zc = torch.maximum(torch.minimum(z, tau / eps_p * ts), -tau / eps_p * ts)
    assert zc[0] != z[0] and abs(float(zc[0])) == pytest.approx(tau / eps_p * float(ts[0]))   # clipped

    def loss(gamma):
        return float(_sq(torch.cat([x + dl * g / ts_ for x, dl, g, ts_ in zip(a, disp, gamma, ts)]), target.double()))

    g = (loss(ts + eps_p * zc) - loss(ts - eps_p * zc)) / (2 * eps_p)
    gamma = torch.maximum(torch.minimum(ts - proj_lr * ts * g * zc, (1 + tau) * ts), (1 - tau) * ts)
    scales = opt.project(None, target)
    assert torch.allclose(scales, gamma / ts, atol=1e-6)
    for p, x, dl, s in zip(opt.params, a, disp, (gamma / ts).tolist()):
        assert torch.allclose(p.detach().double(), x + s * dl, atol=1e-6)
    assert opt.forwards == 2


def test_dizo_targets_per_model_family():
    vit = tasks.TinyViT()
    names = [n for n, _ in vit.named_parameters()]
    assert dizo_targets(names, list(vit.parameters())) == ["blocks.0.attn.k_proj.weight",
                                                          "blocks.0.attn.v_proj.weight"]
    bert = ["bert.encoder.layer.0.attention.self.key.weight", "bert.encoder.layer.0.attention.self.key.bias",
            "bert.encoder.layer.0.attention.self.value.weight", "classifier.weight"]
    assert dizo_targets(bert, [torch.zeros(2, 2), torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 2)]) == \
        [bert[0], bert[2]]
    with pytest.raises(PezoError, match="projection targets"):
        DiZO(Quad(4), _sq, lr=1e-3)                     # vectors only: nothing to project by default
    with pytest.raises(PezoError, match="projection targets"):
        DiZO(Quad(4), _sq, lr=1e-3, targets=["c"])


def test_dizo_projection_perturbation_comes_from_the_runs_source():
    m = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    d = sum(p.numel() for p in m.parameters())
    cfg = load(CONFIGS / "rademacher.toml")
    opt = DiZO(m, nn.functional.mse_loss, lr=1e-3, source=EngineSource(cfg, d))
    assert isinstance(opt.proj_source, EngineSource) and opt.proj_source.d == 2
    assert opt.proj_source.cfg.engine.lfsr.seed != cfg.engine.lfsr.seed
    z = opt.proj_source.z(opt.proj_source.next())
    assert set(z.tolist()) <= {-1.0, 1.0}
    assert isinstance(DiZO(m, nn.functional.mse_loss, lr=1e-3).proj_source, GaussianSource)


def test_dizo_refuses_a_task_without_a_pretrained_model():
    with pytest.raises(PezoError, match="pre-trained"):
        run(tasks.get("digits"), "dizo", steps=1)
    run(tasks.get("digits-shift"), "dizo", steps=1)


def test_pseuzo_schedule_is_the_references_cyclic_hyperbola():
    # T = 40 epochs, 2 cycles of 20: momentum 1/(1 + 10 t) for t <= 10, then 0 (MeZO steps)
    ms = [cyclic_hyperbola(t, 40) for t in range(40)]
    assert ms[0] == ms[20] == 1.0 and ms[1] == 1 / 11 and ms[10] == 1 / 101 and ms[11] == ms[19] == 0.0
    assert cyclic_hyperbola(40, 41) == 0.0              # after the last whole cycle
    assert cyclic_hyperbola(0, 1) == 0.0                # fewer epochs than cycles: MeZO throughout
    m = Quad(20)
    opt = PseuZO(m, _sq, lr=1e-4, total_steps=40, window=14)
    seen = []
    for _ in range(40):
        opt.step(None, torch.zeros(20))
        seen.append(opt.m)
    assert seen == ms and opt.mezo_steps == ms.count(0.0) and opt.forwards == 80
    assert len(opt._hist) == 11       # emptied at epoch 20 (momentum 1), then epochs 20..30 joined it


def test_pseuzo_published_weights_are_not_normalised():
    """Two steps at fixed momentum: the second update is lr (c_1 z_1 + m c_0 z_0) without division
    by 1 + m; the variant divides."""
    d, lr, eps, mom = 10, 1e-2, 1e-3, 0.5
    for normalise in (False, True):
        m = Quad(d)
        src = GaussianSource(d, seed=2)
        opt = PseuZO(m, _sq, lr=lr, eps=eps, source=src, window=14, momentum=mom, normalise=normalise)
        opt.step(None, torch.zeros(d))
        w1 = _flat(m).double()
        opt.step(None, torch.zeros(d))
        ref = GaussianSource(d, seed=2)
        z0, z1 = (ref.z(ref.next()).double() for _ in range(2))
        (k0, dh0), (k1, dh1) = opt._hist
        e = 2 * w1
        c0, c1 = float(dh0.double() @ e) / eps, float(dh1.double() @ e) / eps
        wts = torch.tensor([mom, 1.0], dtype=torch.float64)
        if normalise:
            wts /= wts.sum()
        assert torch.allclose(_flat(m).double(), w1 - lr * (wts[1] * c1 * z1 + wts[0] * c0 * z0), atol=1e-4)
    assert opt.regenerations == 2 * 2 + 1 + 2           # +eps, -eps per step; 1 then 2 updates


def test_weight_decay_skips_biases_and_norm_layers():
    vit = tasks.TinyViT()
    dec = decayed(vit)
    assert dec["blocks.0.attn.k_proj.weight"] and dec["head.weight"] and dec["pos"]
    assert not dec["head.bias"] and not dec["blocks.0.layer_norm1.weight"] and not dec["layer_norm.weight"]
    m = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    before = [p.detach().clone() for p in m.parameters()]
    opt = MeZO(m, lambda out, y: out.sum() * 0, lr=0.1, eps=1e-3, weight_decay=0.5)   # g = 0: decay only
    opt.step(torch.randn(4, 3), None)
    w, b, nw, nb = (p.detach() for p in m.parameters())
    assert torch.allclose(w, before[0] * (1 - 0.1 * 0.5), atol=1e-6)
    assert torch.allclose(b, before[1], atol=1e-6) and torch.allclose(nw, before[2], atol=1e-6)
    with pytest.raises(PezoError):
        MeZO(m, _sq, lr=0.1, weight_decay=-1)


def test_pseuzo_window_one_is_the_projected_gradient():
    # h = w, loss |w - t|^2: e = 2(w - t), dh = eps z, so the update is -lr (z . e) z.
    d, lr, eps = 30, 1e-2, 1e-3
    m = Quad(d)
    target = torch.zeros(d)
    w0 = _flat(m).double()
    src = GaussianSource(d, seed=5)
    opt = PseuZO(m, _sq, lr=lr, eps=eps, source=src, window=1, momentum=0.5)
    opt.step(None, target)
    z = GaussianSource(d, seed=5)
    z = z.z(z.next()).double()
    e = 2 * (w0 - target.double())
    assert torch.allclose(_flat(m).double(), w0 - lr * float(z @ e) * z, atol=1e-4)
    assert opt.forwards == 2


def test_pseuzo_window_regenerates_each_entry():
    d = 20
    m = Quad(d)
    src = GaussianSource(d, seed=1)
    used = []
    orig = src.z
    src.z = lambda k: (used.append(k), orig(k))[1]
    opt = PseuZO(m, _sq, lr=1e-3, source=src, window=3, momentum=0.9)
    for _ in range(5):
        used.clear()
        opt.step(None, torch.zeros(d))
    keys = [k for k, _ in opt._hist]
    assert len(keys) == 3
    assert used == [keys[-1], keys[-1], *keys]     # +eps, -eps, then one regeneration per entry


def test_optimizer_errors():
    m = Quad(10)
    with pytest.raises(PezoError):
        MeZO(m, _sq, lr=1e-3, source=GaussianSource(11))
    with pytest.raises(PezoError):
        FirstOrder(m, _sq, lr=1e-3, kind="lbfgs")
    with pytest.raises(PezoError):
        PseuZO(m, _sq, lr=1e-3, window=0)


# -- tasks ----------------------------------------------------------------------------------------

def test_validation_split_is_held_out_of_the_training_split():
    for name in ("digits", "diabetes"):
        t = tasks.get(name)
        xtr, ytr, xte, yte = t.splits()
        xa, ya, xv, yv = t.splits(validation=True)
        assert len(xa) + len(xv) == len(xtr) and len(xv) == math.ceil(0.2 * len(xtr))
        # the two parts are the training split exactly, as a multiset of (row, target)
        rows = lambda x, y: sorted(tuple(r.tolist()) + (float(t),) for r, t in zip(x, y))  # noqa: E731
        assert rows(torch.cat([xa, xv]), torch.cat([ya, yv])) == rows(xtr, ytr)
        assert torch.equal(t.splits(validation=True)[2], xv)          # fixed
    _, ya, _, yv = tasks.get("digits").splits(validation=True)
    assert set(yv.tolist()) == set(range(10))                         # stratified


def test_vit_task_is_pretrained_and_loses_on_the_shift():
    t, s = tasks.get("digits"), tasks.get("vit-shift")
    model = s.model(0)
    assert s.pretrained and sum(p.numel() for p in model.parameters()) == 2698
    assert t.evaluate(model, *t.data()[2:]) > 90
    assert s.evaluate(model, *s.data()[2:]) < 50
    assert torch.equal(s.model(0).pos, model.pos)                     # cached per seed, a fresh copy each time
    assert s.model(0) is not model


def test_tasks_fixed_splits_and_shift():
    xtr, ytr, xte, yte = tasks.get("digits").data()
    assert xtr.shape == (1347, 64) and xte.shape == (450, 64)
    assert torch.equal(tasks.get("digits").data()[0], xtr)
    sx = tasks.get("digits-shift").data()[0]
    # one pixel to the right: column 0 is empty, column c is the original column c-1
    assert torch.equal(sx.view(-1, 8, 8)[:, :, 1:], xtr.view(-1, 8, 8)[:, :, :-1])
    assert float(sx.view(-1, 8, 8)[:, :, 0].abs().sum()) == 0
    dx, dy, dxt, dyt = tasks.get("diabetes").data()
    assert dx.shape == (331, 10) and dxt.shape == (111, 10)
    with pytest.raises(PezoError):
        tasks.get("mnist")


def test_pretrained_model_fits_digits_and_loses_on_the_shift():
    t, s = tasks.get("digits"), tasks.get("digits-shift")
    model = s.model(0)
    assert t.evaluate(model, *t.data()[2:]) > 90
    assert s.evaluate(model, *s.data()[2:]) < 60


def test_run_spends_the_budget_and_logs_rows():
    r = run(tasks.get("diabetes"), "mezo", budget=100)
    assert r["forwards"] == 100 and r["steps"] == 50
    f = [row["forwards"] for row in r["rows"]]
    assert f[0] == 0 and f[-1] == 100 and f == sorted(f) and len(f) == 21
    r = run(tasks.get("digits-shift"), "dizo", budget=110)
    assert r["forwards"] == 100 + 20 and r["steps"] == 50   # the projection (10 x 2) after step 50 overshoots
    r = run(tasks.get("digits-shift"), "fo-sgd", steps=7)
    assert r["steps"] == 7 and r["forwards"] == 7
