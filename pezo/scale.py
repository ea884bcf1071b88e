"""Uniform-to-scaled mapping rules shared by the engine hardware and its golden model.

Values are odd codes ``v = 2*s + 1`` of ``B-1`` uniform bits ``u``, ``s`` being ``u`` read as a
signed ``(B-1)``-bit integer (zero mean, symmetric, wiring ``{u, 1}`` in hardware, negation =
invert all bits but the LSB), read as Q3.(B-3).

* ``fixed``: ``z = v``. Its standard deviation is about ``4/sqrt(3)``; the constant ``c``
  (:attr:`pezo.engine_params.EngineParams.fold`) is folded into eps (c) and lr (c**2) instead
  of costing an adder per lane.
* ``adaptive``: a fill batch of ``N = 2**n`` codes with sum of squares ``acc`` is rescaled to
  mean square ``T**2 = 2**(2B-6)``: ``E = bit_length(acc) - 1``, ``h = 2B - 6 + n - E``,
  ``q = h & 1``, ``e = (h + q)/2``, ``rom_v = rom[q][idx]`` with ``idx`` the 4 bits after
  acc's leading one and ``rom[q][i] = round(64 / sqrt((1 + (i + 0.5)/16) * 2**q))``,
  ``sa = max(1, 7 - e)``, and each code becomes ``2*clamp((v*rom_v) >> sa) + 1``. Widths: acc
  ``2(B-1) + log2(P) + 1`` bits, rom_v 7 bits, sa 6 bits, product ``B + 8`` bits. Error: at
  most 2.5% in scale (5.1% in variance) from the 16-entry ROM, plus 1 LSB from rounding to
  odd codes.

docs/engine.md has the register-level timing.
"""

from __future__ import annotations

import math

ROM_INDEX_BITS = 4      # G: bits of acc after its leading one that address the ROM
ROM_MANTISSA_BITS = 6   # M: rom values are round(2**M * g), 32..64
# The hardware computes the scale and rescales the batch in short registered stages:
SQUARE_STAGES = 1       # v*v is registered, so the last entry's square is added in SCALE
RESCALE_STAGES = 2      # v*rom, then >> sa, are registered before the clamp and the write
#: SCALE cycles before the first rewrite: the last square, leading one, ROM index, ROM
#: lookup, and the rescale stages of the first entry.
SCALE_LATENCY = SQUARE_STAGES + 3 + RESCALE_STAGES
#: ``rom_v`` and ``sa`` are latched in the SCALE cycle with ``cnt == N + ROM_AT``.
ROM_AT = RESCALE_STAGES + 1


def odd_code(u, value_bits: int):
    """The zero-mean odd code of ``B-1`` uniform bits ``u`` (an int or an int64 tensor):
    ``2*s + 1``, ``s`` the bits read as a signed ``(B-1)``-bit integer. The odd integers of
    ``[-(2**(B-1)-1), 2**(B-1)-1]``; in hardware it is wiring (``{u, 1}``, no inverter)."""
    half = 1 << (value_bits - 2)
    return 2 * (((u + half) % (2 * half)) - half) + 1


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


def shift_params(e_lead: int, value_bits: int, batch_log2: int) -> tuple[int, int]:
    """``(q, sa)`` for a sum of squares whose leading one is bit ``e_lead``: the ROM half and
    the final shift (``h = 2B - 6 + n - E``, ``q = h & 1``, ``e = (h + q)/2``,
    ``sa = max(1, 7 - e)``). The hardware tabulates it over every ``e_lead``."""
    h = 2 * value_bits - 6 + batch_log2 - e_lead
    q = h & 1
    return q, max(1, ROM_MANTISSA_BITS + 1 - (h + q) // 2)


def scale_params(acc: int, value_bits: int, batch_log2: int) -> tuple[int, int]:
    """``(rom_v, sa)`` for a batch whose odd codes have sum of squares ``acc`` (> 0)."""
    e_lead = acc.bit_length() - 1
    q, sa = shift_params(e_lead, value_bits, batch_log2)
    idx = ((acc << ROM_INDEX_BITS) >> e_lead) & ((1 << ROM_INDEX_BITS) - 1)
    return adaptive_rom()[q][idx], sa


def rescale(v: int, rom_v: int, sa: int, value_bits: int) -> int:
    """The nearest odd code to ``v * s``, saturated to ``+-(2**(B-1) - 1)``."""
    y = (v * rom_v) >> sa
    lim = 1 << (value_bits - 2)
    y = min(max(y, -lim), lim - 1)
    return 2 * y + 1
