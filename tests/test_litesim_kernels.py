# SPDX-License-Identifier: GPL-2.0-only
"""litesim.kernels: every fast kernel against its plain NumPy version, over random shapes and values
(Hypothesis). Bit for bit where the kernel claims it: litesim's KPIs for fixed seeds may not move."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from slicebridge.litesim.kernels import (
    MIN_WIDTH,
    GroupSum,
    Scratch,
    Segments,
    StepLookup,
    cumsum_rows,
    div0,
    mixture_quantile,
    network_sort,
    reference_mixture_quantile,
    reference_water_level,
    select,
    sort_nonnegative,
    sorting_network,
    sum_in_order,
    water_level,
)

FAST = settings(max_examples=60, deadline=None)
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3e38, -1.5]


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view({4: np.int32, 8: np.int64}[a.dtype.itemsize])


def _same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    return got.dtype == want.dtype and got.shape == want.shape and np.array_equal(_bits(got), _bits(want))


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9)
float_dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def float_arrays(draw, dtype, shape, **kw):
    """Any floats of ``dtype`` (NaN, ±inf, ±0 and subnormals included unless ``kw`` excludes them)."""
    return draw(hnp.arrays(dtype, shape, elements=st.floats(width=np.dtype(dtype).itemsize * 8, **kw)))


# ------------------------------------------------------------------------------------------------
# elementwise
# ------------------------------------------------------------------------------------------------
@FAST
@given(data=st.data(), shape=shapes, dtype=float_dtypes)
def test_select_is_np_where_bit_for_bit(data, shape, dtype):
    cond = data.draw(hnp.arrays(bool, shape))
    side = st.one_of(float_arrays(dtype, shape), st.sampled_from(SPECIAL))
    a, b = data.draw(side), data.draw(side)
    assert _same_bits(select(cond, a, b), np.where(cond, a, b))


@FAST
@given(data=st.data(), shape=shapes, dtype=float_dtypes, fill=st.sampled_from([0.0, 1.0, -0.0]))
def test_div0_is_masked_divide_bit_for_bit(data, shape, dtype, fill):
    a, b = data.draw(float_arrays(dtype, shape)), data.draw(float_arrays(dtype, shape))
    ok = data.draw(hnp.arrays(bool, shape))
    with np.errstate(all="ignore"):
        want = np.divide(a, b, out=np.full_like(a, fill), where=ok)
    assert _same_bits(div0(a, b, ok, fill=fill), want)


# ------------------------------------------------------------------------------------------------
# sums
# ------------------------------------------------------------------------------------------------
@FAST
@given(data=st.data(), shape=shapes, n=st.integers(1, 12), dtype=float_dtypes)
def test_sum_in_order_is_numpys_sum_over_a_stacked_axis(data, shape, n, dtype):
    terms = [data.draw(float_arrays(dtype, shape, allow_nan=False, min_value=-1e6, max_value=1e6)) for _ in range(n)]
    for t in terms:
        t[t == 0] = 0.0  # no -0.0 (outside the kernel's claim)
    assert _same_bits(sum_in_order(terms), np.stack(terms, -1).sum(-1))


@FAST
@given(data=st.data(), rows=st.sampled_from([1, 2, 5, 20, 64, 65, 90]), cols=st.integers(1, 7), dtype=float_dtypes)
def test_cumsum_rows_is_np_cumsum_along_the_first_axis(data, rows, cols, dtype):
    a = data.draw(float_arrays(dtype, (rows, cols), allow_nan=False, min_value=-1e6, max_value=1e6))
    want = np.cumsum(a, axis=0)
    got = cumsum_rows(a.copy())
    assert _same_bits(got, want)


@st.composite
def slice_bounds(draw):
    """Contiguous groups of columns (empty groups allowed), as litesim's slices of a cell's UEs."""
    widths = draw(st.lists(st.integers(0, 9), min_size=1, max_size=5))
    edges = np.concatenate([[0], np.cumsum(widths)])
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)], int(edges[-1])


@FAST
@given(data=st.data(), groups=slice_bounds(), lead=hnp.array_shapes(min_dims=1, max_dims=3, max_side=6))
def test_group_sum_is_numpys_sum_of_each_group(data, groups, lead):
    """Bit for bit NumPy's sum of each group's columns where the kernel adds columns; the matmul
    (many or wide groups) to float32 rounding."""
    bounds, n_cols = groups
    if n_cols == 0:
        return
    x = data.draw(float_arrays(np.float32, lead + (n_cols,), allow_nan=False, allow_infinity=False,
                               min_value=-1e6, max_value=1e6))
    x[x == 0] = 0.0  # no -0.0 (outside the kernel's claim)
    gs = GroupSum(bounds, n_cols)
    got = gs(x)
    want = np.stack([np.stack([x[..., k] for k in range(a, b)], -1).sum(-1) if b > a else np.zeros(lead, np.float32)
                     for a, b in bounds], -1)
    if gs.by_columns:
        assert _same_bits(got, want)
    scale = np.stack([np.abs(x[..., a:b]).sum(-1) for a, b in bounds], -1)
    assert np.all(np.abs(got - want) <= 1e-6 * scale)


def test_group_sum_uses_columns_for_few_narrow_groups_and_matmul_otherwise():
    assert GroupSum([(0, 3), (3, 7)], 7).by_columns
    assert not GroupSum([(0, 8)], 8).by_columns
    assert not GroupSum([(0, 5)] * 0 + [(0, 5), (5, 10), (10, 15), (15, 20)], 20).by_columns


# ------------------------------------------------------------------------------------------------
# step-function lookup
# ------------------------------------------------------------------------------------------------
@st.composite
def step_tables(draw):
    """Ascending float32 thresholds at least 2 % apart (more than a bucket) and their values."""
    n = draw(st.integers(1, 20))
    first = draw(st.floats(1e-6, 1e3))
    ratios = draw(hnp.arrays(np.float64, n - 1, elements=st.floats(1.02, 3.0)))
    thresholds = (first * np.concatenate([[1.0], np.cumprod(ratios)])).astype(np.float32)
    values = draw(hnp.arrays(np.float32, n + 1, elements=st.floats(-10, 10, width=32)))
    return thresholds, values


@FAST
@given(data=st.data(), table=step_tables())
def test_step_lookup_is_searchsorted_bit_for_bit(data, table):
    thresholds, values = table
    x = data.draw(float_arrays(np.float32, data.draw(shapes)))
    # the thresholds themselves and their neighbours: the strict comparison must hold at every step
    edges = np.concatenate([thresholds, np.nextafter(thresholds, np.float32(np.inf)),
                            np.nextafter(thresholds, np.float32(-np.inf))]).astype(np.float32)
    lookup = StepLookup(thresholds, values)
    for v in (x, edges):
        assert _same_bits(lookup(v), values[np.searchsorted(thresholds, v, side="left")])


def test_step_lookup_rejects_thresholds_within_one_bucket():
    with pytest.raises(ValueError, match="bucket"):
        StepLookup(np.array([1.0, 1.001], np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="values"):
        StepLookup(np.array([1.0, 2.0], np.float32), np.zeros(2, np.float32))


# ------------------------------------------------------------------------------------------------
# sorting
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(1, 9))
def test_sorting_network_sorts_every_zero_one_input(n):
    """0-1 principle: a compare-exchange network that sorts all 2^n vectors of 0s and 1s sorts every input."""
    net = sorting_network(n)
    assert net is not None and all(0 <= i < j < n for i, j in net)
    cases = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int32).T.copy()  # [n, 2^n]
    network_sort(cases, net)
    assert np.all(np.diff(cases, axis=0) >= 0)


def test_no_network_above_eight_items():
    assert sorting_network(9) is None


@FAST
@given(data=st.data(), n=st.integers(1, 11), cols=st.integers(1, 30))
def test_network_sort_and_sort_nonnegative_are_np_sort(data, n, cols):
    ints = data.draw(hnp.arrays(np.int32, (n, cols), elements=st.integers(-5, 5)))
    got = ints.copy()
    network_sort(got, sorting_network(n))
    assert np.array_equal(got, np.sort(ints, axis=0))
    floats = data.draw(float_arrays(np.float32, (n, cols), min_value=0.0, allow_nan=False))
    floats[floats == 0] = 0.0  # no -0.0 (outside the kernel's domain)
    got = floats.copy()
    sort_nonnegative(got, sorting_network(n))
    assert _same_bits(got, np.sort(floats, axis=0))


# ------------------------------------------------------------------------------------------------
# water level
# ------------------------------------------------------------------------------------------------
PAD = np.float32(1e30)


@st.composite
def water_problems(draw):
    """Padded slot-major needs ``[M, S, N]``, ``avail [S, N]`` and divisors ``[M, S, 1]`` as litesim builds them."""
    sizes = draw(st.lists(st.integers(0, 10), min_size=1, max_size=4))
    M, S, N = max(1, max(sizes)), len(sizes), draw(st.integers(1, 12))
    needs = draw(float_arrays(np.float32, (M, S, N), min_value=0.0, max_value=1e4, allow_subnormal=False))
    needs[needs == 0] = 0.0
    valid = np.arange(M)[:, None] < np.array(sizes)[None, :]  # [M, S]
    needs[~valid] = PAD
    avail = draw(float_arrays(np.float32, (S, N), min_value=0.0, max_value=2e4, allow_subnormal=False))
    div = np.where(valid, np.array(sizes)[None, :] - np.arange(M)[:, None], np.inf).astype(np.float32)[:, :, None]
    return needs, avail, div, np.array(sizes)


@FAST
@given(problem=water_problems())
def test_water_level_is_the_reference_bit_for_bit_and_fills_the_water(problem):
    needs, avail, div, sizes = problem
    want = reference_water_level(needs, avail, div)
    got = water_level(needs.copy(), avail, div, sorting_network(needs.shape[0]))
    assert _same_bits(got, want)
    # the defining equation: Σ_u min(need_u, L) = min(avail, Σ_u need_u); a slice without UEs gets 0
    real = np.where(needs < PAD, needs, 0.0).astype(np.float64)
    filled = np.minimum(real, got[None].astype(np.float64)).sum(0)
    expect = np.minimum(avail.astype(np.float64), real.sum(0))
    assert np.allclose(filled, expect, rtol=1e-4, atol=1e-2)
    assert np.all(got[sizes == 0] == 0.0)


# ------------------------------------------------------------------------------------------------
# mixture quantile
# ------------------------------------------------------------------------------------------------
@st.composite
def mixtures(draw, float32_ends: bool):
    """Blocks of segments as litesim's p95 builds them: ``[M, R]`` UE slots (with unused slots) and
    single segments per row; masses ≥ 0 (some 0); ``float32_ends``: no segment narrower than
    :data:`MIN_WIDTH` (its widened end would not be a float32 value)."""
    R = draw(st.integers(1, 12))
    delays = st.floats(0.0, 5e3, width=32, allow_subnormal=False)
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        shape = (R,) if draw(st.booleans()) else (draw(st.integers(1, 6)), R)
        lo = draw(hnp.arrays(np.float32, shape, elements=delays))
        span = draw(hnp.arrays(np.float32, shape, elements=st.floats(0.0078125 if float32_ends else 0.0, 500.0, width=32)))
        hi = (lo + span).astype(np.float32)
        if float32_ends:
            hi = np.maximum(hi, np.nextafter(lo + np.float32(1e-6), np.float32(np.inf)))
        mass = draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0, 3.5, 1200.0, 0.25])))
        valid = draw(hnp.arrays(bool, shape)) if len(shape) == 2 else None
        if draw(st.booleans()):  # float64 arrays of float32 values, as litesim's served-on-arrival pieces
            lo, hi, mass = lo.astype(np.float64), hi.astype(np.float64), mass.astype(np.float64)
        blocks.append(Segments(lo, hi, mass, valid))
    total = sum((np.where(b.valid, b.mass, 0) if b.valid is not None else b.mass).reshape(-1, R).sum(0) for b in blocks)
    level = draw(st.sampled_from([0.95, 0.5, 0.0, 1.0, 1.2]))
    return blocks, (np.float32(level) * total.astype(np.float32)).astype(np.float32)


@FAST
@given(problem=mixtures(float32_ends=True))
def test_mixture_quantile_is_the_reference_bit_for_bit_for_float32_ends(problem):
    blocks, target = problem
    assert _same_bits(mixture_quantile(blocks, target, Scratch()), reference_mixture_quantile(blocks, target))


def _mixture_cdf(blocks, q: np.ndarray) -> np.ndarray:
    """CDF (mass units) of each row's segments at ``q [R]``, point masses as MIN_WIDTH ramps (as the kernels)."""
    out = np.zeros(q.shape[0])
    for b in blocks:
        lo, hi, mass = (np.asarray(v, dtype=np.float64).reshape(-1, q.shape[0]) for v in (b.lo, b.hi, b.mass))
        live = mass > 0 if b.valid is None else (mass > 0) & np.asarray(b.valid).reshape(mass.shape)
        end = np.maximum(hi, lo + MIN_WIDTH)
        out += (mass * live * np.clip((q - lo) / (end - lo), 0.0, 1.0)).sum(0)
    return out


@FAST
@given(problem=mixtures(float32_ends=False))
def test_mixture_quantile_is_the_reference_within_its_key_rounding(problem):
    """A point mass is a MIN_WIDTH ramp whose end is not a float32 value: the sort keys lose its
    lowest mantissa bits, which moves that end by up to ~1e-10 ms at these delays, and so the ramp's
    mass by up to ~1e-4 of itself. Stated tolerance: the kernel's quantile sits at the reference's
    CDF level to within 1e-3 of the row's total mass (in delay, a shallow segment after the ramp can
    turn that into more)."""
    blocks, target = problem
    got = mixture_quantile(blocks, target, Scratch())
    want = reference_mixture_quantile(blocks, target)
    total = _mixture_cdf(blocks, np.full(target.shape, np.inf))
    assert np.all(np.abs(_mixture_cdf(blocks, got) - _mixture_cdf(blocks, want)) <= 1e-3 * total + 1e-12)


def test_mixture_quantile_of_known_mixtures():
    scratch = Scratch()
    one = [Segments(np.array([10.0], np.float32), np.array([20.0], np.float32), np.array([100.0], np.float32))]
    assert mixture_quantile(one, np.array([95.0], np.float32), scratch)[0] == pytest.approx(19.5)
    # 60 bytes on [0, 10], 40 on [30, 40]: 95 % of 100 is 35/40 through the second segment
    two = [Segments(np.array([[0.0], [30.0]], np.float32), np.array([[10.0], [40.0]], np.float32),
                    np.array([[60.0], [40.0]], np.float32), np.array([[True], [True]]))]
    assert mixture_quantile(two, np.array([95.0], np.float32), scratch)[0] == pytest.approx(38.75)
    # an invalid slot is left out whatever its mass
    two[0].valid[1, 0] = False
    assert mixture_quantile(two, np.array([57.0], np.float32), scratch)[0] == pytest.approx(9.5)


def test_scratch_reuses_buffers_per_name_and_pickles_empty():
    scratch = Scratch()
    a = scratch("x", (3, 4))
    a[...] = 7.0
    b = scratch("x", (2, 5))
    assert np.shares_memory(a, b) and b.shape == (2, 5)
    assert not np.shares_memory(a, scratch("y", (3, 4)))
    assert scratch("x", (3, 4), np.int64).dtype == np.int64
    copy = pickle.loads(pickle.dumps(scratch))
    assert copy("x", (3, 4)).shape == (3, 4)
