"""Tests for pezo.fixed: exhaustive at small widths, against Fraction references."""

import functools
import math
import subprocess
import sys
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings, strategies as st

from pezo.errors import PezoError
from pezo.fixed import (QFormat, Rounding, convert, from_float, from_unsigned, mul,
                        saturate, saturate_flag, shift_right, to_float, to_unsigned, wrap)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MODES = list(Rounding)


def small_formats(max_width):
    for w in range(1, max_width + 1):
        yield from (QFormat(m, w - m) for m in range(1, w + 1))
        yield from (QFormat(m, w - m, signed=False) for m in range(0, w + 1))


SMALL = list(small_formats(6))


def codes(fmt):
    return list(range(fmt.min_raw, fmt.max_raw + 1))


def ref_round(q: Fraction, mode) -> int:
    return {
        Rounding.FLOOR: math.floor,
        Rounding.TRUNC: math.trunc,
        Rounding.NEAREST_UP: lambda v: math.floor(v + Fraction(1, 2)),
        Rounding.NEAREST_EVEN: round,  # Fraction.__round__ rounds half to even
    }[Rounding(mode)](q)


def ref_fit(x: int, fmt: QFormat, sat: bool) -> int:
    if sat:
        return min(max(x, fmt.min_raw), fmt.max_raw)
    return (x - fmt.min_raw) % 2**fmt.width + fmt.min_raw


@functools.cache
def ref_requant(code: int, src_frac: int, dst_frac: int, mode) -> int:
    return ref_round(Fraction(code, 2**src_frac) * 2**dst_frac, mode)


def tensor(values):
    return torch.tensor(values, dtype=torch.int64)


def check_both(fn, inputs, expected):
    """fn must give `expected` element-wise on Python ints and on one int64 tensor."""
    assert [fn(v) for v in inputs] == expected
    assert fn(tensor(inputs)).tolist() == expected


# --- formats ------------------------------------------------------------------------

@pytest.mark.parametrize("text, fmt, canonical", [
    ("Q4.12", QFormat(4, 12), "Q4.12"),
    ("UQ1.7", QFormat(1, 7, signed=False), "UQ1.7"),
    ("Q8", QFormat(8, 0), "Q8.0"),
    ("UQ0.8", QFormat(0, 8, signed=False), "UQ0.8"),
    ("Q1.63", QFormat(1, 63), "Q1.63"),
    ("UQ64", QFormat(64, 0, signed=False), "UQ64.0"),
    ("Q1", QFormat(1, 0), "Q1.0"),
    (" Q4.12 ", QFormat(4, 12), "Q4.12"),
])
def test_parse_valid(text, fmt, canonical):
    assert QFormat.parse(text) == fmt
    assert str(fmt) == canonical
    assert QFormat.parse(canonical) == fmt


@pytest.mark.parametrize("text", [
    "", "Q", "Q4.", "Q.4", "q4.12", "uq1.7", "Q4.12.1", "S4.12", "4.12", "Q4,12",
    "Q-1.4", "Q+4.12", "Q0.8", "UQ0.0", "UQ0", "Q33.32", "UQ65", "Q 4.12",
])
def test_parse_invalid(text):
    with pytest.raises(PezoError, match="invalid fixed-point format") as info:
        QFormat.parse(text)
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)


def test_constructor_validates():
    for bad in [(0, 4, True), (1, -1, True), (-1, 4, False), (0, 0, False), (40, 25, True)]:
        with pytest.raises(PezoError):
            QFormat(*bad)


def test_properties():
    q = QFormat.parse("Q4.12")
    assert (q.width, q.min_raw, q.max_raw, q.scale) == (16, -32768, 32767, 4096)
    assert (q.lsb, q.min_value, q.max_value) == (2**-12, -8.0, 8 - 2**-12)
    u = QFormat.parse("UQ1.7")
    assert (u.width, u.min_raw, u.max_raw, u.scale) == (8, 0, 255, 128)
    assert (u.lsb, u.min_value, u.max_value) == (2**-7, 0.0, 2 - 2**-7)
    one = QFormat.parse("Q1")  # a lone sign bit: codes -1 and 0
    assert (one.width, one.min_raw, one.max_raw) == (1, -1, 0)
    assert (QFormat(64, 0).min_raw, QFormat(64, 0, False).max_raw) == (INT64_MIN, 2**64 - 1)


def test_import_does_not_load_torch():
    code = "import sys, pezo.fixed; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- rounding rules, written out --------------------------------------------------

# raw, shift, then the results for floor, trunc, nearest-up, nearest-even
ROUNDING_TABLE = [
    (3, 1, 1, 1, 2, 2),       # 1.5
    (5, 1, 2, 2, 3, 2),       # 2.5: half goes up, or to even 2
    (1, 1, 0, 0, 1, 0),       # 0.5
    (-1, 1, -1, 0, 0, 0),     # -0.5: half up means toward +inf
    (-3, 1, -2, -1, -1, -2),  # -1.5
    (-5, 1, -3, -2, -2, -2),  # -2.5
    (7, 2, 1, 1, 2, 2),       # 1.75
    (5, 2, 1, 1, 1, 1),       # 1.25
    (-7, 2, -2, -1, -2, -2),  # -1.75
    (-5, 2, -2, -1, -1, -1),  # -1.25
    (-6, 2, -2, -1, -1, -2),  # -1.5
    (-8, 2, -2, -2, -2, -2),  # -2.0 exact: every mode agrees
    (9, 0, 9, 9, 9, 9),       # no shift, no rounding
]


@pytest.mark.parametrize("raw, shift, floor, trunc, up, even", ROUNDING_TABLE)
def test_rounding_table(raw, shift, floor, trunc, up, even):
    expected = {"floor": floor, "trunc": trunc, "nearest-up": up, "nearest-even": even}
    for mode, want in expected.items():
        assert shift_right(raw, shift, mode) == want, mode
        assert shift_right(tensor([raw]), shift, mode).item() == want, mode
        # from_float follows the same rules on the real value raw / 2**shift
        assert from_float(raw / 2**shift, QFormat(8, 0), mode) == want, mode


def test_unknown_rounding_mode():
    with pytest.raises(PezoError, match="'round'"):
        shift_right(3, 1, "round")
    with pytest.raises(PezoError):
        convert(3, QFormat(4, 0), QFormat(4, 0), rounding="up")


# --- exhaustive small formats -----------------------------------------------------

@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_float_round_trip(fmt):
    cs = codes(fmt)
    values = [to_float(c, fmt) for c in cs]
    assert values == [float(Fraction(c, fmt.scale)) for c in cs]
    assert to_float(tensor(cs), fmt).tolist() == values
    assert fmt.min_value == values[0] and fmt.max_value == values[-1]
    for mode in MODES:
        assert [from_float(v, fmt, mode) for v in values] == cs
        assert from_float(torch.tensor(values, dtype=torch.float64), fmt, mode).tolist() == cs


@pytest.mark.parametrize("fmt", [f for f in SMALL if f.width <= 5], ids=str)
def test_from_float_off_grid(fmt):
    # every eighth of an LSB, from two codes below the range to two above
    eighths = range((fmt.min_raw - 2) * 8, (fmt.max_raw + 3) * 8)
    values = [float(Fraction(k, 8 * fmt.scale)) for k in eighths]
    for mode in MODES:
        for sat in (True, False):
            want = [ref_fit(ref_round(Fraction(k, 8), mode), fmt, sat) for k in eighths]
            assert [from_float(v, fmt, mode, sat) for v in values] == want
            got = from_float(torch.tensor(values, dtype=torch.float64), fmt, mode, sat)
            assert got.tolist() == want


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_unsigned_round_trip(fmt):
    cs = codes(fmt)
    bits = [to_unsigned(c, fmt) for c in cs]
    assert sorted(bits) == list(range(2**fmt.width))  # a bijection onto w-bit patterns
    assert bits == [c % 2**fmt.width for c in cs]
    assert to_unsigned(tensor(cs), fmt).tolist() == bits
    check_both(lambda b: from_unsigned(b, fmt), bits, cs)


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_saturate_and_wrap_brute_force(fmt):
    cs = codes(fmt)
    raws = list(range(-3 * 2**fmt.width, 3 * 2**fmt.width + 1))
    nearest = [min(cs, key=lambda c: abs(c - x)) for x in raws]
    by_residue = {c % 2**fmt.width: c for c in cs}
    check_both(lambda x: saturate(x, fmt), raws, nearest)
    check_both(lambda x: wrap(x, fmt), raws, [by_residue[x % 2**fmt.width] for x in raws])
    flags = [x not in cs for x in raws]
    assert [saturate_flag(x, fmt) for x in raws] == list(zip(nearest, flags))
    value, flag = saturate_flag(tensor(raws), fmt)
    assert (value.tolist(), flag.tolist()) == (nearest, flags)


@pytest.mark.parametrize("sat", [True, False], ids=["saturate", "wrap"])
@pytest.mark.parametrize("mode", MODES)
def test_convert_all_small_pairs(mode, sat):
    formats = [f for f in SMALL if f.width <= 5]  # 35 formats, 1225 pairs
    for src in formats:
        cs = codes(src)
        src_codes = tensor(cs)
        for dst in formats:
            want = [ref_fit(ref_requant(c, src.frac_bits, dst.frac_bits, mode), dst, sat)
                    for c in cs]
            assert [convert(c, src, dst, mode, sat) for c in cs] == want, (src, dst)
            assert convert(src_codes, src, dst, mode, sat).tolist() == want, (src, dst)


MUL_CASES = [  # (a format, b format, destination)
    ("Q2.2", "Q3.1", "Q3.2"),
    ("Q1.3", "Q1.3", "Q1.3"),   # -1 * -1 overflows
    ("UQ1.3", "Q2.2", "Q2.3"),  # mixed signedness
    ("UQ2.2", "UQ1.3", "UQ2.2"),
    ("Q3.3", "UQ2.4", "Q4.1"),
    ("Q2.1", "Q1.2", "Q4.6"),   # more fraction bits than the product: exact shift left
    ("Q1.5", "Q2.4", "Q6.0"),
]


@pytest.mark.parametrize("fa, fb, dst", MUL_CASES)
def test_mul_all_code_pairs(fa, fb, dst):
    fa, fb, dst = QFormat.parse(fa), QFormat.parse(fb), QFormat.parse(dst)
    pairs = [(a, b) for a in codes(fa) for b in codes(fb)]
    ta, tb = tensor([a for a, _ in pairs]), tensor([b for _, b in pairs])
    for mode in MODES:
        for sat in (True, False):
            want = [ref_fit(ref_round(Fraction(a * b * dst.scale, fa.scale * fb.scale), mode),
                            dst, sat) for a, b in pairs]
            assert [mul(a, fa, b, fb, dst, mode, sat) for a, b in pairs] == want
            assert mul(ta, fa, tb, fb, dst, mode, sat).tolist() == want


# --- wide values and the int64 tensor path ------------------------------------------

WIDE = ["Q64.0", "Q1.63", "Q32.32", "Q8.56", "UQ63.0", "UQ0.63", "Q2.30", "Q63.0", "UQ0.1"]
EDGES = [INT64_MIN, INT64_MIN + 1, -(2**62) - 1, -(2**62), -(2**31), -3, -1, 0, 1, 2,
         2**31 - 1, 2**62 - 1, 2**62, INT64_MAX - 1, INT64_MAX]


@pytest.mark.parametrize("fmt", WIDE + ["UQ64.0"])
def test_wide_wrap_saturate_tensor_matches_int(fmt):
    fmt = QFormat.parse(fmt)
    fits_int64 = fmt.max_raw <= INT64_MAX
    for fn in (wrap, from_unsigned, saturate, to_unsigned):
        want = [fn(x, fmt) for x in EDGES]
        got = fn(tensor(EDGES), fmt).tolist()
        if fits_int64 and fn is not to_unsigned:
            assert got == want, fn.__name__
        # a tensor holds a 64-bit pattern as the int64 with the same bits
        assert [g % 2**64 for g in got] == [w % 2**64 for w in want], fn.__name__
    assert to_unsigned(-1, QFormat(64, 0)) == 2**64 - 1
    assert saturate(tensor([INT64_MAX]), QFormat(64, 0, False)).item() == INT64_MAX


@pytest.mark.parametrize("mode", MODES)
def test_wide_convert_tensor_matches_int(mode):
    for src in map(QFormat.parse, WIDE):
        xs = [x for x in EDGES if src.min_raw <= x <= src.max_raw]
        for dst in map(QFormat.parse, WIDE):
            for sat in (True, False):
                want = [ref_fit(ref_requant(x, src.frac_bits, dst.frac_bits, mode), dst, sat)
                        for x in xs]
                assert [convert(x, src, dst, mode, sat) for x in xs] == want, (src, dst)
                assert convert(tensor(xs), src, dst, mode, sat).tolist() == want, (src, dst)


@pytest.mark.parametrize("mode", MODES)
def test_wide_from_float(mode):
    values = [0.0, -0.0, 0.5, -0.5, 1.5 * 2**-60, -(2.0**-70), 2.0**53 + 2, 1e300, -1e300,
              2.0**63, -(2.0**63), 2.0**70 + 2.0**20, -(2.0**64) - 2.0**12, 12345.678, -0.1,
              5e-324, math.pi]
    for fmt in map(QFormat.parse, WIDE + ["Q8.4", "UQ0.8"]):
        for sat in (True, False):
            want = [ref_fit(ref_round(Fraction(v) * fmt.scale, mode), fmt, sat) for v in values]
            assert [from_float(v, fmt, mode, sat) for v in values] == want, fmt
            got = from_float(torch.tensor(values, dtype=torch.float64), fmt, mode, sat)
            assert got.tolist() == want, fmt


def test_from_float_special_values():
    q = QFormat.parse("Q4.4")
    for bad in (float("nan"), torch.tensor([1.0, float("nan")], dtype=torch.float64)):
        with pytest.raises(PezoError, match="Q4.4"):
            from_float(bad, q)
    inf = float("inf")
    assert from_float(inf, q) == q.max_raw and from_float(-inf, q) == q.min_raw
    assert from_float(torch.tensor([inf, -inf]), q).tolist() == [q.max_raw, q.min_raw]
    with pytest.raises(PezoError):
        from_float(inf, q, saturate=False)
    with pytest.raises(PezoError):
        from_float(torch.tensor([inf]), q, saturate=False)
    # float32 tensors are widened exactly
    assert from_float(torch.tensor([0.1], dtype=torch.float32), QFormat(1, 30)).item() == \
        from_float(float(torch.tensor(0.1, dtype=torch.float32)), QFormat(1, 30))


def test_mul_tensor_overflow_guard():
    q32, q64 = QFormat(32, 0), QFormat(64, 0)
    x = tensor([-(2**31), 2**31 - 1])
    assert mul(x, q32, x, q32, q64).tolist() == [2**62, (2**31 - 1) ** 2]
    with pytest.raises(PezoError, match="int64"):
        mul(tensor([1]), q64, tensor([1]), q32, q64)
    assert mul(INT64_MIN, q64, INT64_MIN, q64, QFormat(64, 0, False), saturate=False) == 0


int64s = st.integers(INT64_MIN, INT64_MAX)


@settings(deadline=None)
@given(int64s, st.integers(0, 70), st.sampled_from(MODES))
def test_shift_right_property_int64(raw, shift, mode):
    want = ref_round(Fraction(raw, 2**shift), mode)
    assert shift_right(raw, shift, mode) == want
    assert shift_right(tensor([raw]), shift, mode).item() == want


@settings(deadline=None)
@given(st.integers(-(2**200), 2**200), st.integers(0, 210), st.sampled_from(MODES))
def test_shift_right_property_big_ints(raw, shift, mode):
    assert shift_right(raw, shift, mode) == ref_round(Fraction(raw, 2**shift), mode)


@settings(deadline=None)
@given(st.lists(int64s, min_size=1, max_size=50), st.integers(0, 66), st.sampled_from(MODES))
def test_shift_right_property_batch(raws, shift, mode):
    assert shift_right(tensor(raws), shift, mode).tolist() == \
        [shift_right(r, shift, mode) for r in raws]
