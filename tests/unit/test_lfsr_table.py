"""The polynomial table and the LFSR algorithm parameters."""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pezo import gf2
from pezo.lfsr import STRUCTURES, XAPP052, LfsrParams, _table, fanin_stats, lane_jump, lane_seeds, select_taps


def _period(params: LfsrParams) -> int:
    """Single steps from state 1 until it comes back, measured by running the register."""
    one_step = LfsrParams(params.width, params.taps, params.structure, 1)
    s = start = 1
    low, top, mask = one_step.poly & one_step.mask, one_step.width - 1, one_step.mask
    for count in range(1, 2**params.width + 1):
        if params.structure == "fibonacci":
            s = (s >> 1) | (((s & low).bit_count() & 1) << top)
        else:
            s = ((s << 1) & mask) ^ (low if s >> top & 1 else 0)
        if s == start:
            return count
    return -1


def test_xapp052_entries_are_primitive():
    assert sorted(XAPP052) == list(range(3, 65))
    assert all(gf2.is_primitive(gf2.taps_to_poly(t)) for t in XAPP052.values())


def test_every_selected_table_entry_is_primitive():
    table = _table()["selected"]
    distinct = {tuple(e["taps"]) for s in STRUCTURES for w in table[s].values() for e in w}
    assert len(distinct) > 64
    bad = [t for t in distinct if not gf2.is_primitive(gf2.taps_to_poly(t))]
    assert bad == []


def test_table_covers_every_width_and_k():
    for s in STRUCTURES:
        for w in range(3, 65):
            assert len(_table()["selected"][s][str(w)]) == w


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("width", range(3, 21))
def test_full_period_measured(width, structure):
    for taps in {XAPP052[width], select_taps(width, width, structure)}:
        assert _period(LfsrParams(width, taps, structure, 1)) == 2**width - 1, taps


def test_primitivity_test_rejects_non_maximal_polynomials():
    # x^4 + x^3 + x^2 + x + 1 is irreducible but has order 5, not 15
    assert not gf2.is_primitive(0b11111)
    assert _period(LfsrParams(4, (4, 3, 2, 1), "galois", 1)) == 5
    assert not gf2.is_primitive(gf2.taps_to_poly((8, 1)))      # reducible
    assert gf2.prime_factors(2**64 - 1) == [3, 5, 17, 257, 641, 65537, 6700417]


@pytest.mark.parametrize("width,k", [(16, 8), (12, 12), (32, 8), (9, 4)])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_selection_is_the_cheapest_primitive_tri_or_pentanomial(width, k, structure):
    chosen = LfsrParams(width, select_taps(width, k, structure), structure, k)
    entry = _table()["selected"][structure][str(width)][k - 1]
    assert fanin_stats(chosen.leap_rows) == (entry["lut4"], entry["max_fanin"], entry["total_fanin"])
    best = None
    for weight in (1, 3):
        for low in itertools.combinations(range(1, width), weight):
            taps = (width, *low)
            if gf2.is_primitive(gf2.taps_to_poly(taps)):
                cost = fanin_stats(LfsrParams(width, taps, structure, k).leap_rows)[:2]
                best = cost if best is None else min(best, cost)
    assert fanin_stats(chosen.leap_rows)[:2] <= best


def test_sparse_choice_beats_xapp052_for_leap_forward():
    # The point of the table: with k = 32 the XAPP052 polynomial needs far more XOR inputs.
    chosen = LfsrParams(32, select_taps(32, 32, "galois"), "galois", 32)
    xapp = LfsrParams(32, XAPP052[32], "galois", 32)
    assert fanin_stats(chosen.leap_rows)[0] < fanin_stats(xapp.leap_rows)[0]
    assert fanin_stats(chosen.leap_rows)[0] <= 1.25 * 32


@settings(max_examples=60, deadline=None)
@given(width=st.integers(3, 64), data=st.data())
def test_leap_matrix_equals_bit_serial_reference(width, data):
    k = data.draw(st.integers(1, width))
    structure = data.draw(st.sampled_from(STRUCTURES))
    params = LfsrParams(width, select_taps(width, k, structure), structure, k)
    seed = data.draw(st.integers(1, params.mask))
    expected = params.compute(seed, 20)
    s, got = seed, []
    for _ in range(20):
        s = params.next_state(s)
        got.append(params.output(s))
    assert got == expected


def test_lane_seeds_are_spaced_by_the_jump_on_the_sequence():
    params = LfsrParams(10, XAPP052[10], "fibonacci", 1)
    seeds = lane_seeds(params, 0x5, 4)
    assert len(set(seeds)) == 4 and seeds[0] == 5
    gap = lane_jump(params, 4)
    assert params.period // 8 <= gap <= params.period // 4
    s = seeds[0]
    walked = [s]
    for _ in range(3):
        for _ in range(gap):
            s = params.next_state(s)
        walked.append(s)
    assert walked == seeds


@pytest.mark.parametrize("lanes", [2, 3, 4, 5, 8, 16])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_lanes_are_not_sparse_functions_of_each_other(lanes, structure):
    """Every bit of lane i+1 depends on many bits of lane i. An even split of the period made
    it ~2 bits for lanes = 2**j (a Frobenius root), which skewed sums of fields straddling lanes."""
    params = LfsrParams(63, select_taps(63, 63, structure), structure, 63)
    rows = params.jump_rows(lane_jump(params, lanes))
    assert min(bin(r).count("1") for r in rows) >= 16


@pytest.mark.parametrize("structure", STRUCTURES)
def test_outputs_are_fresh_bits_not_repeats(structure):
    # k fresh bits per cycle: over one period of T**k every k-bit output value occurs
    # equally often (an m-sequence property; value 0 once less).
    params = LfsrParams(8, select_taps(8, 4, structure), structure, 4)
    s, counts = 1, [0] * 16
    cycles = params.period // math.gcd(params.k, params.period)
    for _ in range(cycles):
        s = params.next_state(s)
        counts[params.output(s)] += 1
    assert counts[0] == min(counts) and max(counts) - min(counts) == 1


def test_random_primitive_widths_have_a_table_entry():
    rng = random.Random(3)
    for _ in range(10):
        w = rng.randrange(3, 65)
        k = rng.randrange(1, w + 1)
        assert max(select_taps(w, k, "galois")) == w
