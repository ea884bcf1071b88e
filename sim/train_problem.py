"""The host side of the ZO training loop through the update system: a least-squares problem.

numpy only (it runs inside the simulator process too, where torch must not be imported). The
testbench :mod:`pezo.sim.tb_update_train` and the pytest side use the same class, so a golden
model replaying the loop computes the same losses and scalars bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pezo.update_rules import scalar_code


@dataclass(frozen=True)
class LeastSquares:
    """``L(theta) = mean((X theta - y)**2) / 2`` with ``y = X w*``; the host's SPSA arithmetic.

    Parameters
    ----------
    d, n : int
        Parameters and samples.
    seed : int
        Seed of X (standard normal, scaled so that ``X^T X / n`` is near the identity) and of
        ``w*`` (uniform in [-1, 1]).
    F, S, Fs : int
        Parameter fraction bits, scalar width and fraction bits (codes <-> floats).
    eps_eff : float
        ``2**-eps_shift / c``: the size of the hardware's perturbation ``2**-eps_shift * z``
        measured against a unit-variance ``z_g = c * z`` (``c`` is
        :attr:`pezo.engine_params.EngineParams.fold`: about ``sqrt(3)/4`` for uniform codes with
        fixed scale, whose standard deviation is ``1/c``, else 1; docs/engine.md "Scale").
    lr : float
        Learning rate for unit-variance perturbations. The host loads ``c * lr * g``,
        ``g = (L+ - L-) / (2 eps_eff)``, so that the hardware's ``theta -= (c*lr*g) * z``
        equals SPSA's ``theta -= lr * g * z_g`` (that is ``c**2 * lr`` per raw code, the
        ``lr_eff`` of docs/engine.md).
    c : float
        The scale constant.
    """

    d: int
    n: int
    seed: int
    F: int
    S: int
    Fs: int
    eps_eff: float
    lr: float
    c: float

    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.n, self.d))
        w = rng.uniform(-1.0, 1.0, self.d)
        return x, x @ w, w

    def loss(self, codes) -> float:
        """The loss of parameter codes (ints)."""
        x, y, _ = self.data()
        theta = np.asarray(codes, dtype=np.float64) * 2.0 ** -self.F
        r = x @ theta - y
        return float(r @ r) / (2 * self.n)

    def scalar_code(self, loss_plus: float, loss_minus: float) -> int:
        """``c * lr * g`` with ``g = (L+ - L-) / (2 eps_eff)``, as a saturated scalar code."""
        return scalar_code(loss_plus, loss_minus, self.eps_eff, self.c, self.lr, self.S, self.Fs)
