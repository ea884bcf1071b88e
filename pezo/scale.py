"""Uniform-to-scaled mapping rules shared by the engine hardware and its golden model.

See docs/engine.md ("Values", "Scale") for the exact definitions.
"""

from __future__ import annotations

import math

ROM_INDEX_BITS = 4      # G: bits of acc after its leading one that address the ROM
ROM_MANTISSA_BITS = 6   # M: rom values are round(2**M * g), 32..64
SCALE_LATENCY = 3       # SCALE cycles before the first rewrite: leading one, ROM index, ROM


def odd_code(u: int, value_bits: int) -> int:
    """``2u + 1 - 2**(B-1)``: the zero-mean odd code of ``B-1`` uniform bits ``u``."""
    return 2 * u + 1 - (1 << (value_bits - 1))


def adaptive_rom() -> list[list[int]]:
    """``rom[q][idx] = round(64 * g(f_mid))`` with ``f_mid = 1 + (idx + 0.5) / 16`` and
    ``g = 1/sqrt(f)`` for ``q = 0``, ``1/sqrt(2f)`` for ``q = 1``."""
    n = 1 << ROM_INDEX_BITS
    rom = []
    for q in (0, 1):
        row = []
        for idx in range(n):
            f = 1 + (idx + 0.5) / n
            g = 1 / math.sqrt(f * (2 if q else 1))
            row.append(round((1 << ROM_MANTISSA_BITS) * g))
        rom.append(row)
    return rom


def scale_params(acc: int, value_bits: int, batch_log2: int) -> tuple[int, int]:
    """``(rom_v, sa)`` for a batch whose odd codes have sum of squares ``acc`` (> 0)."""
    e_lead = acc.bit_length() - 1
    h = 2 * value_bits - 6 + batch_log2 - e_lead
    q = h & 1
    e = (h + q) // 2
    idx = ((acc << ROM_INDEX_BITS) >> e_lead) & ((1 << ROM_INDEX_BITS) - 1)
    return adaptive_rom()[q][idx], max(1, ROM_MANTISSA_BITS + 1 - e)


def rescale(v: int, rom_v: int, sa: int, value_bits: int) -> int:
    """The nearest odd code to ``v * s``, saturated to ``+-(2**(B-1) - 1)``."""
    y = (v * rom_v) >> sa
    lim = 1 << (value_bits - 2)
    y = min(max(y, -lim), lim - 1)
    return 2 * y + 1
