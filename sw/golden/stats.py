"""Statistics of the golden perturbation stream (:meth:`pezo.sw.golden.engine_stream.EngineStream.passes`).

(Longer than most modules: every figure of docs/engine-stats.md with the estimators they share,
so that the page and its code can be read side by side.)

:func:`engine_stats` runs ``steps`` consecutive ZO steps of ``d`` parameters from a freshly
reset engine, exactly the stream training uses, reads the values as real numbers
(``code / 2**(B-3)``, Q3.(B-3): sigma 1 is code ``2**(B-3)``), and returns plain numbers
(JSON-serialisable; ``None`` where a figure does not apply to the strategy).

Every random figure comes with what it should be under the *healthy model* of the strategy
(docs/engine.md with ideal fresh bits) and a standard error or p-value, so that a test can
compare with a tolerance of a few standard errors instead of a magic constant:

* ``*_z`` = (measured - expected) / standard error; about N(0, 1) when healthy.
* ``*_p`` = p-value of a chi-square test; uniform on [0, 1] when healthy. Per-lane tests give
  the smallest p over the lanes times the number of lanes (Bonferroni), capped at 1.

Healthy model, per strategy (``i = beat*L + lane``, ``pool_t`` the pool of step ``t`` after
FILL/SCALE, which the function reads from the engine after each step):

* ``none``: every value is ``odd(u)`` with ``u`` uniform on ``B-1`` fresh bits.
* ``pool``: deterministic given ``pool_t`` and the offset; only the fill is random.
* ``pool-sign``: the magnitudes are as ``pool``; the sign flip of every parameter is a fresh bit.
* ``pool-index``, ``pool-shift``: every parameter is ``pool_t[U]``, ``U`` a fresh uniform index,
  so its distribution given the pool is the pool's composition (each entry 1/P). ``pool-shift``
  replaces R of the P entries per step (the first step fills all P).

Figures (keys of the returned dict):

Moments
    ``mean``, ``var`` of all values; ``var_target``: ``1.0`` for adaptive (the rescale aims at
    mean square T**2), and for fixed the exact variance of the uniform odd code,
    ``(4**(B-1) - 1) / 3`` codes**2 = ``16/3 * (1 - 4**-(B-1))`` in real units (5.333 for B = 8).
    ``var_folded = c**2 * var`` with ``c = sqrt(3)/4`` for fixed (the constant folded into eps
    and lr, docs/engine.md) and ``c = 1`` for adaptive; ``var_folded_target`` likewise
    (``1 - 4**-(B-1)`` for fixed, ~1). ``mean_se``/``var_se`` are the standard errors of the
    healthy model from ``n_eff_mean``/``n_eff_var``, the number of independent fresh values
    behind the figure (steps*d for ``none``; the pool entries for ``pool``; for ``pool-sign``
    the signs for the mean and the entries for the variance; entries weighted by how many
    steps they live plus the index draws for ``pool-index``/``pool-shift``), using the uniform
    law's kurtosis 9/5 (Var of a sample variance = 0.8 sigma**4 / n). For adaptive these SEs
    are conservative (each batch is renormalised) and the rescale has a deterministic error:
    ``adaptive_var_bound`` is the largest ``|s**2 * acc / (N T**2) - 1|`` of the ROM scale over
    all batch sums ``acc`` (both batch sizes in use), and ``round_var`` = 1/(3 T**2) the variance
    that rounding to an odd code adds.

Per-lane uniformity (``lane_uniform_p``, ``lane_uniform_chi2_dof``)
    ``none``: chi-square of each lane's codes against the discrete uniform on the 2**(B-1) odd
    codes. ``pool-index``/``pool-shift``: chi-square of each lane's codes against the step's pool
    composition (index usage, with positions holding equal codes merged since the stream cannot
    tell them apart), summed over steps. ``pool-sign``: each lane's sign-flip count against 1/2.
    ``pool``: ``None`` (positions are deterministic: every position is read d/P times).
    ``fill_uniform_p`` (fixed scale, pool strategies): chi-square of the freshly filled pool
    entries against the uniform odd code (``None`` for adaptive, whose entries are rescaled; the
    fill draws the same bits in both modes). ``fill_serial_p``: chi-square of consecutive fill
    entries (non-overlapping pairs within a batch) on a 4 x 4 grid of the top bits of ``u``.

Lane correlation (``lane_corr_max``, ``lane_corr_z``)
    Pearson between lane streams within beats, values centred per step (the step's own mean,
    so the shared pool mean of a step does not count), max |r| over the L(L-1)/2 lane pairs;
    ``lane_corr_z`` = that max times sqrt(``n_eff``), ``n_eff`` = beats (``pool``: only P/L
    distinct beats per step).

Serial dependence within a lane (consecutive beats b, b+1 of the same lane)
    ``serial_corr_max``/``serial_corr_z``: lag-1 Pearson, centred per step, max |r| over lanes.
    ``serial_p``/``serial_chi2_dof``: chi-square of the pairs (cat at beat b, cat at beat b+1)
    on a coarse grid, from non-overlapping pairs (b even) so that the pairs are independent and
    the chi-square law is exact; ``cat`` is the fresh quantity of the strategy: ``none`` the top
    log2(bins) bits of ``u``; ``pool-index``/``pool-shift`` the value's bin (edges at the pooled
    pool entries' quantiles), expected counts from each step's pool composition; ``pool-sign``
    the sign flip. ``serial3_p``: the same with triples (lane l-1 at b, lane l at b, lane l at
    b+1) on two categories (top bit of u / sign flip / value below the pooled median): a 1-bit
    quantity cannot show a lag-1 XOR tie in pairs, and a trinomial LFSR giving ``next = word ^
    (word << 1)`` ties each lane's next bit to itself and its neighbour. ``None`` for ``pool``.
    ``gf2_lag1_cols``/``gf2_lag1_rank`` (``none``, ``pool-sign``, whose fresh bits are read back
    exactly): GF(2) rank of [fresh bits of beat b | fresh bits of beat b+1] over many b. With
    ideal bits the rank equals the columns; a bank of ``state_bits`` = S state bits caps it at
    S (the port shows the top bits of the state, a linear function of it), plus one where the
    figure reads the bits through an affine map (the ``none`` and Rademacher categories invert a
    bit), and a healthy one reaches that cap or the columns, whichever is less.

Shared pool entry (``shared_corr``, ``shared_expected``, ``shared_z``)
    Mean of ``x_i * x_(i+P)`` over all i and steps divided by the mean square: the pair reads the
    same entry for ``pool``/``pool-sign`` (expected 1 and 0), and two independent random
    entries for ``pool-index``/``pool-shift`` (expected ``sum_t m_t**2 / sum_t s_t**2``, ``m_t``
    and ``s_t**2`` the mean and mean square of pool t, ~1/P); ``none``: 0.

Consecutive steps (``step_corr``, ``step_expected``, ``step_z``)
    Mean of ``x_(t,i) * x_(t+1,i)`` over i and t divided by the mean square: 0 for fresh values
    and for ``pool``/``pool-sign`` (independent pools); for ``pool-index``/``pool-shift`` given
    the pools it is ``m_t * m_(t+1)`` (independent indices into pools that, for pool-shift, share
    P-R entries), ~0 (|expected| ~ 1/P).

Periodicity (``rank``, ``rank_max``, ``eff_dim``, ``fold_rank_min``)
    A separate run from reset of ``rank_steps`` steps (default 2P) of ``rank_d`` parameters
    (default 16P): numerical rank of the [rank_steps, rank_d] matrix of values and its effective
    dimension (participation ratio of the singular values, ``(sum s**2)**2 / sum s**4``). Every
    ``pool`` and ``pre-generation`` vector is P-periodic and every ``on-the-fly`` vector is a
    fixed linear map of its P pool entries, so their rank is <= P (DESIGN 4.2, docs/engine.md);
    the others reach ``rank_max = min(rank_steps, rank_d)``. ``fold_rank_min``: the smallest
    rank over the steps of one vector folded to [d/P, P] (1 for ``pool`` and
    ``pre-generation``, P otherwise).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as sps

from pezo.config import Config
from pezo.engine_params import Refill
from pezo.scale import scale_params
from pezo.sw.golden.engine_stream import EngineStream

__all__ = ["engine_stats", "adaptive_var_bound", "gaussian_quality", "run_steps", "kind_of"]

UNIFORM_KURTOSIS_M1 = 0.8       # (mu4 / sigma**4) - 1 for a uniform law: Var(sample var) = 0.8 s**4 / n


def run_steps(cfg: Config, steps: int, d: int) -> dict:
    """``steps`` ZO steps from reset, one at a time so that each step's pool can be read.

    Returns int64 codes ``values`` [steps, d], ``pools`` [steps, P] (the pool the pass read),
    ``offsets`` [steps] and ``new`` (list of LongTensors: pool positions freshly filled at each
    step). Equal to ``EngineStream(cfg.engine.params).passes(steps, d)`` (the engine keeps its registers between
    calls).
    """
    eng = EngineStream(cfg.engine.params)
    values = torch.empty(steps, d, dtype=torch.int64)
    pools = torch.empty(steps, eng.P, dtype=torch.int64)
    offsets = torch.zeros(steps, dtype=torch.int64)
    new = []
    for t in range(steps):
        wptr, filled = eng.wptr, eng.filled
        n = eng.params.fill_size(bool(filled)) if eng.traits.pool else 0
        values[t] = eng.passes(1, d)[0]
        pools[t] = eng.pool
        offsets[t] = eng.offset
        new.append((wptr + torch.arange(n)) % eng.P)
    return {"values": values, "pools": pools, "offsets": offsets, "new": new}


def adaptive_var_bound(value_bits: int, batch_log2: int, points: int = 4096) -> float:
    """Largest ``|s**2 * acc / (N * T**2) - 1|`` of the adaptive scale over batch sums ``acc``.

    ``s = rom / 2**(sa - 1)`` is the factor the rescale applies (``z = 2*floor(v*rom/2**sa) + 1
    ~ v * s``), so this is the worst relative error of the batch's mean square after the
    rescale, before rounding to odd codes. ``acc`` sweeps ``[N, N * (2**(B-1) - 1)**2]`` on a
    geometric grid plus every ROM cell boundary of each octave.
    """
    B, N = value_bits, 1 << batch_log2
    T2 = float(1 << (2 * (B - 3))) if B >= 3 else 2.0 ** (2 * (B - 3))
    lo, hi = N, N * ((1 << (B - 1)) - 1) ** 2
    accs = set(np.unique(np.geomspace(lo, hi, points).astype(np.int64)).tolist())
    for e in range(lo.bit_length() - 1, hi.bit_length()):
        for j in range(33):                          # cell edges (16 cells) and midpoints
            a = (1 << e) + ((j << e) >> 5)
            accs.update((a - 1, a, a + 1))
    worst = 0.0
    for acc in accs:
        if not lo <= acc <= hi:
            continue
        rom, sa = scale_params(int(acc), B, batch_log2)
        s = rom / 2.0 ** (sa - 1)
        worst = max(worst, abs(s * s * acc / (N * T2) - 1))
    return worst


# -- helpers ------------------------------------------------------------------------------------

def _chi2(obs: np.ndarray, exp: np.ndarray) -> tuple[float, int]:
    """Pearson chi-square and its dof over cells with positive expectation (observations in
    cells of zero expectation make it infinite: the healthy model says they cannot happen)."""
    obs, exp = np.asarray(obs, float).ravel(), np.asarray(exp, float).ravel()
    pos = exp > 0
    if np.any(obs[~pos] > 0):
        return math.inf, max(int(pos.sum()) - 1, 1)
    return float(((obs[pos] - exp[pos]) ** 2 / exp[pos]).sum()), int(pos.sum()) - 1


def _bonferroni(ps: list[float]) -> float:
    return float(min(1.0, len(ps) * min(ps)))


def _pearson_lanes(v: torch.Tensor) -> torch.Tensor:
    """Correlation matrix [L, L] of lane streams; v [steps, nb, L] already centred per step."""
    x = v.reshape(-1, v.shape[-1])
    c = x.T @ x
    sd = torch.sqrt(torch.diag(c))
    return c / torch.outer(sd, sd)


def _gf2_rank(rows: list[int]) -> int:
    basis: dict[int, int] = {}                      # pivot bit -> row
    for r in rows:
        while r:
            top = r.bit_length() - 1
            if top not in basis:
                basis[top] = r
                break
            r ^= basis[top]
    return len(basis)


def _rank(mat: np.ndarray) -> tuple[int, np.ndarray]:
    """Numerical rank of an integer-valued matrix and its squared singular values.

    From the eigenvalues of the smaller Gram matrix (an exactly rank-deficient integer matrix
    gives eigenvalues ~1e-13 of the largest; a full-rank one with entries of a few bits none below
    ~1e-6): much faster than an SVD on a loaded multi-core machine, where threaded LAPACK stalls.
    """
    g = mat @ mat.T if mat.shape[0] <= mat.shape[1] else mat.T @ mat
    s2 = np.clip(np.linalg.eigvalsh(g), 0, None)
    return int((s2 > s2.max() * 1e-10).sum()), s2


def _bits_to_int(bits: np.ndarray) -> list[int]:
    """Rows of 0/1 -> Python ints (bit j = column j)."""
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(r.tobytes(), "little") for r in packed]


def kind_of(cfg: Config) -> str:
    """The statistical family of a configuration's strategy: ``fresh``, ``pool``, ``sign`` or
    ``index`` (see the module docstring)."""
    t = cfg.engine.params.traits
    return "fresh" if not t.pool else "index" if t.index else "sign" if t.sign else "pool"


def _entry_lifetimes(shift: bool, steps: int, P: int, R: int) -> np.ndarray:
    """Steps each fresh pool entry is part of the pool (the weights of the pool mean)."""
    if shift:
        born = np.zeros(P, dtype=np.int64)           # step at which each position was written
        life = []
        for t in range(1, steps):
            for j in range(((t - 1) * R) % P, ((t - 1) * R) % P + R):
                life.append(t - born[j % P])
                born[j % P] = t
        life += (steps - born).tolist()
        return np.asarray(life, dtype=float)
    return np.ones(steps * P, dtype=float)


# -- the figures --------------------------------------------------------------------------------

def engine_stats(cfg: Config, steps: int = 32, d: int = 16384, *, bins: int = 8,
                 rank_steps: int | None = None, rank_d: int | None = None,
                 histogram: bool = False) -> dict:
    """Statistics of ``EngineStream(cfg.engine.params).passes(steps, d)`` (see the module docstring for each key).

    ``d`` must be a multiple of ``lanes`` and of ``pool_size`` (whole beats, whole pool
    periods); ``bins`` (a power of two) is the coarse grid of the serial test. With
    ``histogram``, ``code_counts`` holds how often each code ``-2**(B-1) .. 2**(B-1)-1`` occurs.
    """
    e = cfg.engine
    ep = e.params
    if ep.source.gaussian:
        raise ValueError("engine_stats is for the uniform and Rademacher sources; see gaussian_quality")
    L, B, P, R = ep.lanes, ep.value_bits, ep.pool_size, ep.refresh
    kind, adaptive, refill = kind_of(cfg), ep.adaptive, ep.traits.refill
    if d % L or d % P or steps < 2:
        raise ValueError(f"d = {d} must be a multiple of lanes {L} and pool_size {P}, steps >= 2")
    bins = min(bins, 1 << (B - 1))
    gbits = bins.bit_length() - 1
    if bins != 1 << gbits or bins < 2:
        raise ValueError(f"bins = {bins} must be a power of two in 2..2**(B-1)")
    T = 2.0 ** ep.code_frac
    nb = d // L
    run = run_steps(cfg, steps, d)
    codes, pools, offsets = run["values"], run["pools"], run["offsets"]
    x = codes.double() / T                                          # [steps, d] real values
    out: dict = {"strategy": ep.strategy.value, "source": ep.source.value, "kind": kind,
                 "scale": e.scale.mode, "lanes": L, "value_bits": B,
                 "pool_size": P, "refresh": R, "steps": steps, "d": d,
                 "taps": list(e.lfsr.params.taps), "seed": e.lfsr.seed,
                 "state_bits": e.lfsr.lanes * e.lfsr.width}

    if histogram:
        out["code_counts"] = torch.bincount((codes + (1 << (B - 1))).flatten(), minlength=1 << B).tolist()

    # -- moments --------------------------------------------------------------------------------
    n = steps * d
    mean, var = float(x.mean()), float(x.var(unbiased=False))
    var_target = 1.0 if adaptive else (4.0 ** (B - 1) - 1) / 3 / T ** 2
    c2 = ep.fold ** 2
    fills = 1 if refill is Refill.ONCE else steps          # pools drawn over the run
    if kind == "fresh":
        n_mean = n_var = float(n)
    elif kind in ("pool", "sign"):
        n_var = float(fills * P)
        n_mean = float(n) if kind == "sign" else n_var
    else:
        life = _entry_lifetimes(refill is Refill.SHIFT, steps, P, R)
        frac = float((life ** 2).sum()) / (steps * P) ** 2 + 1.0 / n   # Var(mean) / sigma**2
        n_mean = n_var = 1.0 / frac
    out.update(mean=mean, var=var, var_target=var_target, var_folded=c2 * var,
               var_folded_target=c2 * var_target, n_eff_mean=n_mean, n_eff_var=n_var,
               mean_se=math.sqrt(var_target / n_mean),
               var_se=var_target * math.sqrt(UNIFORM_KURTOSIS_M1 / n_var))
    out["mean_z"] = out["mean"] / out["mean_se"]
    out["var_z"] = (var - var_target) / out["var_se"]
    if adaptive:
        sizes = {n.bit_length() - 1 for n in ep.batch_sizes}
        out["adaptive_var_bound"] = max(adaptive_var_bound(B, s) for s in sizes)
        out["round_var"] = 1.0 / (3 * T * T)
    else:
        out["adaptive_var_bound"] = out["round_var"] = None

    # -- per-step pool facts --------------------------------------------------------------------
    pool_mean = pools.double().mean(1) / T                           # m_t
    pool_ms = (pools.double() ** 2).mean(1) / T ** 2                 # s_t**2
    v3 = codes.view(steps, nb, L)
    half = 1 << (B - 1)

    # the strategy's fresh categorical variable, and its per-step marginal, for the serial tests
    flips = None
    if kind == "sign":
        idx = ep.pool_address(torch.arange(d)[None, :], offsets[:, None])
        base = torch.gather(pools, 1, idx)
        flips = (codes != base).view(steps, nb, L).long()

    def categories(nbin: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(cat [steps, nb, L], q [steps, nbin]) or None when nothing is fresh."""
        if kind == "fresh":
            u = (v3 + half - 1) // 2
            return u >> (B - 1 - (nbin.bit_length() - 1)), torch.full((steps, nbin), 1.0 / nbin,
                                                                         dtype=torch.float64)
        if kind == "sign":                            # the sign flip: two categories whatever nbin
            return flips, torch.full((steps, 2), 0.5, dtype=torch.float64)
        if kind == "pool":
            return None
        if adaptive:
            qs = torch.quantile(pools.double().flatten(), torch.arange(1, nbin, dtype=torch.float64) / nbin)
            edges = torch.unique(qs)
        else:   # fixed: bins of u, like none (equal probability for fresh uniform entries)
            edges = (torch.arange(1, nbin, dtype=torch.float64) * (2 * half // nbin) - half + 0.5)
        nbin_eff = len(edges) + 1
        cat = torch.bucketize(v3.double(), edges, right=True)
        q = torch.zeros(steps, nbin_eff, dtype=torch.float64)
        q.scatter_add_(1, torch.bucketize(pools.double(), edges, right=True),
                       torch.full(pools.shape, 1.0 / P, dtype=torch.float64))
        return cat, q

    # -- per-lane uniformity --------------------------------------------------------------------
    lane_p, dof_sum, chi_sum = None, 0, 0.0
    if kind == "fresh":
        ps = []
        for lane in range(L):
            cnt = np.bincount(((v3[..., lane] + half - 1) // 2).flatten().numpy(), minlength=half)
            c, dof = _chi2(cnt, np.full(half, steps * nb / half))
            ps.append(float(sps.chi2.sf(c, dof)))
            chi_sum, dof_sum = chi_sum + c, dof_sum + dof
        lane_p = _bonferroni(ps)
    elif kind == "sign":
        ps = []
        for lane in range(L):
            k = int(flips[..., lane].sum())
            c, dof = _chi2(np.array([k, steps * nb - k]), np.full(2, steps * nb / 2))
            ps.append(float(sps.chi2.sf(c, dof)))
            chi_sum, dof_sum = chi_sum + c, dof_sum + dof
        lane_p = _bonferroni(ps)
    elif kind == "index":
        ps = []
        span = 1 << B
        for lane in range(L):
            c_l, dof_l = 0.0, 0
            for t in range(steps):
                obs = np.bincount((v3[t, :, lane] + half).numpy(), minlength=span)
                exp = np.bincount((pools[t] + half).numpy(), minlength=span) * (nb / P)
                c, dof = _chi2(obs, exp)
                c_l, dof_l = c_l + c, dof_l + dof
            ps.append(float(sps.chi2.sf(c_l, dof_l)))
            chi_sum, dof_sum = chi_sum + c_l, dof_sum + dof_l
        lane_p = _bonferroni(ps)
    out["lane_uniform_p"] = lane_p
    out["lane_uniform_chi2_dof"] = chi_sum / dof_sum if dof_sum else None
    if kind != "fresh" and not adaptive:
        fresh = torch.cat([pools[t, run["new"][t]] for t in range(steps)])
        cnt = np.bincount(((fresh + half - 1) // 2).numpy(), minlength=half)
        c, dof = _chi2(cnt, np.full(half, len(fresh) / half))
        out["fill_uniform_p"] = float(sps.chi2.sf(c, dof))
        # consecutive fill entries (non-overlapping pairs within a batch) on a 4 x 4 grid of u
        u0, u1 = [], []
        for t in range(steps):
            u = (pools[t, run["new"][t]] + half - 1) // 2 >> (B - 3)      # top 2 bits of u
            m = len(u) // 2 * 2
            u0.append(u[0:m:2])
            u1.append(u[1:m:2])
        u0, u1 = torch.cat(u0), torch.cat(u1)
        c, dof = _chi2(np.bincount((u0 * 4 + u1).numpy(), minlength=16), np.full(16, len(u0) / 16))
        out["fill_serial_p"] = float(sps.chi2.sf(c, dof))
    else:
        out["fill_uniform_p"] = out["fill_serial_p"] = None

    # -- lane correlation -----------------------------------------------------------------------
    xc = (x - x.mean(1, keepdim=True)).view(steps, nb, L)
    # a sequential strategy shows at most pool_period / L distinct beats per pool
    distinct = max(1, min(nb, ep.pool_period // L)) if kind == "pool" else nb
    n_beats = float(fills * distinct)
    r = _pearson_lanes(xc)
    off = ~torch.eye(L, dtype=torch.bool)
    out["lane_corr_max"] = float(r[off].abs().max()) if L > 1 else 0.0
    out["lane_corr_z"] = out["lane_corr_max"] * math.sqrt(n_beats)

    # -- serial dependence within a lane --------------------------------------------------------
    a, b = xc[:, :-1, :], xc[:, 1:, :]
    rs = (a * b).sum((0, 1)) / torch.sqrt((a * a).sum((0, 1)) * (b * b).sum((0, 1)))
    out["serial_corr_max"] = float(rs.abs().max())
    n_pairs = float(fills * distinct if kind == "pool" else steps * (nb - 1))
    out["serial_corr_z"] = out["serial_corr_max"] * math.sqrt(n_pairs)

    cq = categories(bins if kind != "sign" else 2)
    if cq is None:
        out["serial_p"] = out["serial_chi2_dof"] = None
    else:
        cat, q = cq
        k = q.shape[1]
        c0, c1 = cat[:, 0:nb - 1:2, :], cat[:, 1:nb:2, :]             # non-overlapping pairs
        npairs = c0.shape[1]
        ps, chis, dofs = [], 0.0, 0
        exp = (q[:, :, None] * q[:, None, :]).sum(0).numpy() * npairs   # same for every lane
        for lane in range(L):
            obs = np.bincount((c0[..., lane] * k + c1[..., lane]).flatten().numpy(), minlength=k * k)
            c, dof = _chi2(obs, exp)
            ps.append(float(sps.chi2.sf(c, dof)))
            chis, dofs = chis + c, dofs + dof
        out["serial_p"], out["serial_chi2_dof"] = _bonferroni(ps), chis / dofs

    cq2 = categories(2) if kind != "pool" else None
    if cq2 is None or L < 2:
        out["serial3_p"] = out["serial3_chi2_dof"] = None
    else:
        cat, q = cq2
        if q.shape[1] != 2:                            # degenerate pools (all one side): no test
            out["serial3_p"] = out["serial3_chi2_dof"] = None
        else:
            prev, cur, nxt = cat[:, 0:nb - 1:2, :-1], cat[:, 0:nb - 1:2, 1:], cat[:, 1:nb:2, 1:]
            m = prev.shape[1]
            q3 = (q[:, :, None, None] * q[:, None, :, None] * q[:, None, None, :]).sum(0).numpy() * m
            ps, chis, dofs = [], 0.0, 0
            for lane in range(L - 1):
                code = prev[..., lane] * 4 + cur[..., lane] * 2 + nxt[..., lane]
                c, dof = _chi2(np.bincount(code.flatten().numpy(), minlength=8), q3)
                ps.append(float(sps.chi2.sf(c, dof)))
                chis, dofs = chis + c, dofs + dof
            out["serial3_p"], out["serial3_chi2_dof"] = _bonferroni(ps), chis / dofs

    # GF(2) span of two consecutive beats' fresh bits (exactly recoverable for none, pool-sign)
    if kind in ("fresh", "sign"):
        if kind == "fresh":
            u = ((v3 + half - 1) // 2).numpy()                       # [steps, nb, L], B-1 bits each
            bits = ((u[..., None] >> np.arange(B - 1)) & 1).reshape(steps, nb, L * (B - 1))
        else:
            bits = flips.numpy()
        pair = np.concatenate([bits[:, 0:nb - 1:2, :], bits[:, 1:nb:2, :]], axis=2)
        pair = pair.reshape(-1, pair.shape[-1])[:max(4 * pair.shape[-1], 256)]
        out["gf2_lag1_cols"] = int(pair.shape[1])
        out["gf2_lag1_rank"] = _gf2_rank(_bits_to_int(pair))
    else:
        out["gf2_lag1_cols"] = out["gf2_lag1_rank"] = None

    # -- shared pool entry: x_i * x_(i+P) ------------------------------------------------------
    ms = float((x * x).mean())
    prod = (x[:, :-P] * x[:, P:]).mean(1)                            # per step
    out["shared_corr"] = float(prod.mean()) / ms
    if kind == "pool" and not ep.traits.rotate:
        shared_exp, n_sh = 1.0, None
    elif kind == "pool":
        # on-the-fly: i and i + P read neighbouring entries of one fresh pool
        shared_exp, n_sh = 0.0, steps * P
    elif kind == "index":
        shared_exp, n_sh = float((pool_mean ** 2).sum() / pool_ms.sum()), steps * (d - P)
    elif kind == "sign":
        # sign_i * sign_j * v**2: variance E[v**4] / E[v**2]**2 (1.8 for a uniform) per pair
        k4 = float((pools.double() ** 4).mean() / (pools.double() ** 2).mean() ** 2)
        shared_exp, n_sh = 0.0, steps * (d - P) / k4
    else:
        shared_exp, n_sh = 0.0, steps * (d - P)
    out["shared_expected"] = shared_exp
    out["shared_z"] = ((out["shared_corr"] - shared_exp) * math.sqrt(n_sh)) if n_sh else \
        (0.0 if abs(out["shared_corr"] - 1) < 1e-12 else math.inf)

    # -- consecutive steps, same parameter -----------------------------------------------------
    out["step_corr"] = float((x[:-1] * x[1:]).mean()) / ms
    if kind == "index":
        out["step_expected"] = float((pool_mean[:-1] * pool_mean[1:]).sum() / pool_ms[:-1].sum())
        n_st = (steps - 1) * d
    elif refill is Refill.ONCE:
        # one pool for the run, the offset carried by d: with P | d every step is the same vector
        out["step_expected"] = 1.0 if d % P == 0 else 0.0
        n_st = None
    else:
        out["step_expected"] = 0.0
        n_st = (steps - 1) * (P if kind == "pool" else d)
    out["step_z"] = (out["step_corr"] - out["step_expected"]) * math.sqrt(n_st) if n_st else \
        (0.0 if abs(out["step_corr"] - out["step_expected"]) < 1e-12 else math.inf)

    # -- periodicity: span of the vectors over many steps ---------------------------------------
    rs_, rd_ = rank_steps or 2 * P, rank_d or 16 * P
    mat = EngineStream(cfg.engine.params).passes(rs_, rd_).double().numpy()
    out["rank"], s2 = _rank(mat)
    out["rank_steps"], out["rank_d"], out["rank_max"] = rs_, rd_, min(rs_, rd_)
    out["eff_dim"] = float(s2.sum() ** 2 / (s2 ** 2).sum())
    xs = x.numpy()
    out["fold_rank_min"] = min(_rank(xs[t, :d - d % P].reshape(-1, P))[0] for t in range(min(steps, 8)))
    return out


def _merge_bins(obs: np.ndarray, exp: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge adjacent categories (outward from both ends) until each expects >= min_expected."""
    o_out, e_out, o_acc, e_acc = [], [], 0.0, 0.0
    for o, e in zip(obs, exp):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= min_expected:
            o_out.append(o_acc)
            e_out.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc and e_out:
        o_out[-1] += o_acc
        e_out[-1] += e_acc
    return np.array(o_out), np.array(e_out)


def gaussian_quality(codes: torch.Tensor, value_bits: int, *, min_expected: float = 20.0) -> dict:
    """How close signed codes (Q3.(B-3), sigma 1 = code ``2**(B-3)``) are to the quantised
    normal :func:`pezo.gaussian.reference_pmf`. Plain numbers, JSON-serialisable.

    Keys: ``n``; ``mean``, ``var``, ``skew``, ``kurt`` (mu4/sigma**4, normal 3) of ``x =
    code/T``, each with ``*_ref`` (the same moment of the reference law, which rounding and
    saturation move slightly off 0/1/0/3) and ``*_se`` (standard error at this n under the
    reference); ``tail{k}`` for k in 2, 3, 4: the mass of ``|code| >= min(k*T, lim)`` (the
    format saturates at ``lim = 4T - 1``, so the 4-sigma tail is the mass at saturation;
    ``tail{k}_at`` is the threshold in sigma) with ``tail{k}_ref`` and ``tail{k}_se``; ``chi2``,
    ``chi2_dof``, ``chi2_p``: every code against the reference, adjacent codes merged until
    each bin expects ``min_expected``; ``chi2_coarse_*``: the same on bins of width T/8 (an
    eighth of a sigma), which an approximation's shape error shows in and LSB-level artefacts
    do not; ``max_abs_code`` seen.
    """
    from pezo.gaussian import code_limit, reference_pmf

    t, lim = 1 << (value_bits - 3), code_limit(value_bits)
    c = codes.reshape(-1).to(torch.int64)
    n = int(c.numel())
    if int(c.abs().max()) > lim:
        raise ValueError(f"codes outside +-{lim} for {value_bits}-bit values")
    obs = np.bincount((c + lim).numpy(), minlength=2 * lim + 1).astype(np.float64)
    pmf = np.array(reference_pmf(value_bits))
    x = np.arange(-lim, lim + 1) / t

    def moments(w: np.ndarray) -> tuple[float, float, float, float, float]:
        m = float((w * x).sum())
        v = float((w * (x - m) ** 2).sum())
        m3 = float((w * (x - m) ** 3).sum())
        m4 = float((w * (x - m) ** 4).sum())
        return m, v, m3 / v ** 1.5, m4 / v ** 2, m4

    mean, var, skew, kurt, _ = moments(obs / n)
    rmean, rvar, rskew, rkurt, rm4 = moments(pmf)
    out = {"n": n, "value_bits": value_bits,
           "mean": mean, "mean_ref": rmean, "mean_se": math.sqrt(rvar / n),
           "var": var, "var_ref": rvar, "var_se": math.sqrt((rm4 - rvar ** 2) / n),
           "skew": skew, "skew_ref": rskew, "skew_se": math.sqrt(6 / n),
           "kurt": kurt, "kurt_ref": rkurt, "kurt_se": math.sqrt(24 / n),
           "max_abs_code": int(c.abs().max())}
    for k in (2, 3, 4):
        at = min(k * t, lim)        # Q3.(B-3) saturates just below 4 sigma: the top code stands in
        beyond = np.abs(np.arange(-lim, lim + 1)) >= at
        p_ref = float(pmf[beyond].sum())
        out[f"tail{k}"] = float(obs[beyond].sum() / n)
        out[f"tail{k}_at"] = at / t
        out[f"tail{k}_ref"] = p_ref
        out[f"tail{k}_se"] = math.sqrt(p_ref * (1 - p_ref) / n)
    o, e = _merge_bins(obs, pmf * n, min_expected)
    out["chi2"], out["chi2_dof"] = _chi2(o, e)
    out["chi2_p"] = float(sps.chi2.sf(out["chi2"], out["chi2_dof"]))
    w = max(1, t // 8)
    nb = -(-(2 * lim + 1) // w)
    pad = nb * w - (2 * lim + 1)
    oc = np.concatenate([obs, np.zeros(pad)]).reshape(nb, w).sum(1)
    ec = np.concatenate([pmf * n, np.zeros(pad)]).reshape(nb, w).sum(1)
    o, e = _merge_bins(oc, ec, min_expected)
    out["chi2_coarse"], out["chi2_coarse_dof"] = _chi2(o, e)
    out["chi2_coarse_p"] = float(sps.chi2.sf(out["chi2_coarse"], out["chi2_coarse_dof"]))
    return out
