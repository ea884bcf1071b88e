"""GF(2) arithmetic shared by the LFSR hardware and its golden model.

Polynomials over GF(2) are Python ints (bit ``i`` is the coefficient of ``x**i``). Square
matrices over GF(2) are lists of row masks: row ``j`` has bit ``i`` set when output bit ``j``
depends on input bit ``i``, so ``y_j = parity(x & row[j])``. That is the form the hardware
wants (each row is one XOR gate) and the form the fan-in is read from.
"""

from __future__ import annotations

import math
import random
from functools import cache

import numpy as np


def poly_mulmod(a: int, b: int, p: int) -> int:
    """``a * b mod p`` over GF(2)."""
    n = p.bit_length() - 1
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a >> n & 1:
            a ^= p
    return r


def poly_powmod_x(e: int, p: int) -> int:
    """``x**e mod p`` over GF(2), by square-and-multiply (multiplying by x is a shift)."""
    n = p.bit_length() - 1
    r = 1
    for bit in bin(e)[2:]:
        r = poly_mulmod(r, r, p)
        if bit == "1":
            r <<= 1
            if r >> n & 1:
                r ^= p
    return r


def _is_probable_prime(n: int) -> bool:
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for q in small:
        if n % q == 0:
            return n == q
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    # These bases make Miller-Rabin deterministic below 3.3e24, far beyond 2**64.
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _pollard_rho(n: int) -> int:
    if n % 2 == 0:
        return 2
    rng = random.Random(n)
    while True:
        c = rng.randrange(1, n)
        f = lambda v: (v * v + c) % n  # noqa: E731
        x = y = rng.randrange(2, n)
        d = 1
        while d == 1:
            x, y = f(x), f(f(y))
            d = math.gcd(abs(x - y), n)
        if d != n:
            return d


def prime_factors(n: int) -> list[int]:
    """Distinct prime factors of ``n`` (sorted)."""
    out: set[int] = set()
    stack = [n]
    while stack:
        m = stack.pop()
        if m == 1:
            continue
        if _is_probable_prime(m):
            out.add(m)
            continue
        d = _pollard_rho(m)
        stack += [d, m // d]
    return sorted(out)


@cache
def _order_factors(n: int) -> tuple[int, ...]:
    return tuple(prime_factors(2**n - 1))


def is_primitive(p: int) -> bool:
    """True when ``p`` is a primitive polynomial over GF(2).

    ``p`` of degree n with ``p(0) = 1`` is primitive iff ``x`` has multiplicative order exactly
    ``2**n - 1`` modulo ``p``; a reducible ``p`` cannot reach that order, so no separate
    irreducibility test is needed. An LFSR whose feedback polynomial is primitive has the
    maximal period ``2**n - 1``.
    """
    n = p.bit_length() - 1
    if n < 1 or not p & 1:
        return False
    order = 2**n - 1
    if poly_powmod_x(order, p) != 1:
        return False
    return all(poly_powmod_x(order // q, p) != 1 for q in _order_factors(n))


def taps_to_poly(taps: tuple[int, ...] | list[int]) -> int:
    """``1 + sum(x**t for t in taps)`` as an int."""
    p = 1
    for t in taps:
        p ^= 1 << t
    return p


# --- matrices -------------------------------------------------------------------------------


def to_array(rows: list[int], n: int) -> np.ndarray:
    """Row masks to a dense ``n x n`` 0/1 array (``a[j, i]`` = bit i of row j)."""
    return np.array([[(r >> i) & 1 for i in range(n)] for r in rows], dtype=np.int64)


def from_array(a: np.ndarray) -> list[int]:
    weights = 1 << np.arange(a.shape[1], dtype=object)
    return [int((row.astype(object) * weights).sum()) for row in a]


def mat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b) & 1


def mat_pow(a: np.ndarray, e: int) -> np.ndarray:
    """``a**e`` over GF(2) for any ``e >= 0`` (square-and-multiply)."""
    r = np.eye(a.shape[0], dtype=np.int64)
    base = a.copy()
    while e:
        if e & 1:
            r = mat_mul(r, base)
        base = mat_mul(base, base)
        e >>= 1
    return r


def mat_vec(rows: list[int], x: int) -> int:
    """``M x`` for a matrix in row-mask form and a state int."""
    y = 0
    for j, r in enumerate(rows):
        y |= (bin(x & r).count("1") & 1) << j
    return y
