# SPDX-License-Identifier: GPL-2.0-only
"""Fast NumPy kernels of litesim, each a drop-in for a plain computation it is tested against.

litesim steps a batch of instances with many small NumPy calls on float32 arrays of tens of
thousands of elements; most of a step is call overhead and NumPy's slow paths for masked ufuncs,
tiny reductions and per-row sorts. The kernels here avoid those paths. Each states what it equals
(bit for bit, or within a tolerance) and ``tests/test_litesim_kernels.py`` checks that claim against
the plain version (the ``reference_*`` functions below) over random shapes and values.

======================  ====================================================  ==============
kernel                  plain version                                         equal
======================  ====================================================  ==============
:func:`select`          ``np.where(cond, a, b)``                              bit for bit
:func:`div0`            ``np.divide(a, b, out=<fill>, where=ok)``             bit for bit
:func:`sum_in_order`    ``np.stack(terms, -1).sum(-1)``                       bit for bit (no -0.0)
:func:`cumsum_rows`     ``np.cumsum(a, axis=0)``                              bit for bit
:func:`network_sort`    ``np.sort(a, axis=0)``                                bit for bit
:class:`GroupSum`       each group's columns summed by NumPy                  bit for bit (no -0.0)
:class:`StepLookup`     ``values[np.searchsorted(thresholds, x, "left")]``    bit for bit
:func:`water_level`     :func:`reference_water_level` (one group at a time)   bit for bit
:func:`mixture_quantile`  :func:`reference_mixture_quantile` (one row at a time)  see its docstring
======================  ====================================================  ==============
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

_F32 = np.float32


# ------------------------------------------------------------------------------------------------
# Scratch memory
# ------------------------------------------------------------------------------------------------
class Scratch:
    """Reusable uninitialised work arrays by name, one set per thread (batch chunks run concurrently).

    Fresh arrays of a step's size would be fresh pages (mmap) on every call, and their page faults
    cost as much as the arithmetic. Pickles empty (the buffers are rebuilt on demand)."""

    def __init__(self) -> None:
        self._tls = threading.local()

    def __call__(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``, reused by the next call with ``name`` on this thread."""
        bufs = self._tls.__dict__.setdefault("bufs", {})
        size = math.prod(shape)
        buf = bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = bufs[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self._tls = threading.local()


# ------------------------------------------------------------------------------------------------
# Elementwise
# ------------------------------------------------------------------------------------------------
def select(cond: np.ndarray, a, b) -> np.ndarray:
    """``np.where(cond, a, b)`` bit for bit (same result dtype; ``a`` and ``b`` float arrays or scalars).

    On NumPy 2.x ``np.where`` runs several times slower than plain ufuncs on float32 arrays of a
    batch; this computes ``b ^ ((a ^ b) & mask)`` on the integer bit patterns instead, ``mask`` all
    ones where ``cond``."""
    dtype = np.result_type(a, b)
    if dtype.kind != "f":
        return np.where(cond, a, b)
    ints = np.int32 if dtype.itemsize == 4 else np.int64
    flags = np.asarray(cond, dtype=bool).view(np.int8)
    if _is_plus_zero(b):  # +0.0 has no bits set: a & mask
        return np.bitwise_and(np.asarray(a, dtype=dtype).view(ints), np.negative(flags, dtype=ints)).view(dtype)
    if _is_plus_zero(a):  # b & ~mask
        return np.bitwise_and(np.asarray(b, dtype=dtype).view(ints), np.subtract(flags, 1, dtype=ints)).view(dtype)
    a_bits = np.asarray(a, dtype=dtype).view(ints)
    b_bits = np.asarray(b, dtype=dtype).view(ints)
    out = np.bitwise_and(np.bitwise_xor(a_bits, b_bits), np.negative(flags, dtype=ints))
    out ^= b_bits
    return out.view(dtype)


def _is_plus_zero(v) -> bool:
    return isinstance(v, float) and v == 0.0 and math.copysign(1.0, v) > 0


def div0(a: np.ndarray, b: np.ndarray, ok: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``np.divide(a, b, out=<fill>, where=ok)`` bit for bit: the plain division everywhere (the lanes
    outside ``ok`` are discarded, so their inf/nan is silenced), then :func:`select`. A masked ufunc
    runs an order of magnitude slower than the plain one."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.divide(a, b)
    return select(ok, q, fill)


# ------------------------------------------------------------------------------------------------
# Sums over short axes
# ------------------------------------------------------------------------------------------------
def sum_in_order(terms: Sequence[np.ndarray]) -> np.ndarray:
    """``np.stack(terms, -1).sum(-1)`` bit for bit (terms without ``-0.0``: NumPy's sum starts from +0.0).

    Below 8 terms NumPy adds a reduction axis that short in sequence, so adding the terms one by one
    gives its bits without the stack and NumPy's slow per-row reduction; from 8 terms on NumPy sums
    pairwise, so that is left to NumPy."""
    if len(terms) >= 8:
        return np.stack(terms, -1).sum(-1)
    acc = np.array(terms[0], copy=True)
    for t in terms[1:]:
        acc += t
    return acc


def cumsum_rows(a: np.ndarray) -> np.ndarray:
    """``np.cumsum(a, axis=0, out=a)`` (same sums, same order), in place; returns ``a``.

    NumPy's accumulate along the first axis walks each column separately, several times slower than
    one add of whole contiguous rows per step (unless there are many rows: then the Python loop costs more)."""
    if a.shape[0] > 64:
        return np.cumsum(a, axis=0, out=a)
    for k in range(1, a.shape[0]):
        np.add(a[k - 1], a[k], out=a[k])
    return a


class GroupSum:
    """Sums over contiguous groups of the last axis: ``[..., U] -> [..., G]``, group ``g`` = columns
    ``bounds[g][0]:bounds[g][1]`` (litesim: the UEs of each slice in a cell).

    Many or wide groups: the float32 matmul ``x @ indicator`` (``indicator [U, G]`` 0/1). Few, narrow
    groups (litesim's usual slices): each group's columns added in order, which is NumPy's own sum of
    them (:func:`sum_in_order`) bit for bit, about three times faster than the matmul, whose setup
    dominates at these sizes. The two agree to float32 rounding; with two or more groups the BLAS
    kernel (sgemm) measured here adds a row's terms in sequence too, so they agreed bit for bit,
    but that is the BLAS's choice (one group goes through a dot kernel that adds in another order)."""

    #: largest U (and group width below 8) for which columns are added instead of the matmul
    MAX_COLUMNS_ADDED = 16

    def __init__(self, bounds: Sequence[tuple[int, int]], n_columns: int):
        self.bounds = [(int(a), int(b)) for a, b in bounds]
        self.indicator = np.zeros((n_columns, len(self.bounds)), dtype=_F32)
        for g, (a, b) in enumerate(self.bounds):
            self.indicator[a:b, g] = 1.0
        widest = max((b - a for a, b in self.bounds), default=0)
        self.by_columns = n_columns <= self.MAX_COLUMNS_ADDED and widest < 8

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.by_columns:
            return x @ self.indicator
        out = np.empty(x.shape[:-1] + (len(self.bounds),), dtype=np.result_type(x, _F32))
        for g, (a, b) in enumerate(self.bounds):
            o = out[..., g]
            if b - a < 2:
                o[...] = x[..., a] if b > a else 0.0
                continue
            np.add(x[..., a], x[..., a + 1], out=o)
            for k in range(a + 2, b):
                o += x[..., k]
        return out


# ------------------------------------------------------------------------------------------------
# Step-function lookup
# ------------------------------------------------------------------------------------------------
class StepLookup:
    """``values[np.searchsorted(thresholds, x, side="left")]`` for float32 ``x``, bit for bit (float32 out).

    ``searchsorted`` costs ~20 ns per element. Instead the top 16 bits of ``x``'s float32 pattern (sign,
    exponent, 7 mantissa bits: buckets 0.8 % wide) index a table holding, per bucket, the one threshold
    the bucket may contain (``+inf`` if none) and the values below and above it; the result is one
    compare and one gather from interleaved [below, above] pairs. ``thresholds`` (float32, ascending)
    must be more than a bucket apart: two in one bucket raise ValueError."""

    def __init__(self, thresholds: np.ndarray, values: np.ndarray):
        self.thresholds = np.asarray(thresholds, dtype=_F32)
        self.values = np.asarray(values, dtype=_F32)
        if self.values.shape != (self.thresholds.size + 1,):
            raise ValueError(f"StepLookup: need len(thresholds) + 1 = {self.thresholds.size + 1} values, "
                             f"got {self.values.size}")
        start = (np.arange(1 << 16, dtype=np.uint32) << 16).view(_F32)  # smallest value of each bucket
        nxt = np.arange(1, (1 << 16) + 1, dtype=np.uint64).astype(np.uint32) << 16
        end = nxt.view(_F32)  # smallest value of the next bucket (bucket 0xFFFF: wraps, unused)
        with np.errstate(invalid="ignore"):
            below = np.searchsorted(self.thresholds, start, side="left")  # thresholds < bucket start
            inside = np.searchsorted(self.thresholds, end, side="left") - below  # thresholds in the bucket
        positive = (start >= 0) & np.isfinite(start) & np.isfinite(end) & (end > start)
        inside = np.where(positive, inside, 0)
        if inside.max() > 1:
            bucket = int(np.argmax(inside))
            raise ValueError(f"StepLookup: two thresholds within the float32 bucket [{start[bucket]}, {end[bucket]}) "
                             "(0.8 % wide); thresholds must be further apart")
        top = np.minimum(below + 1, self.values.size - 1)
        self.bucket_thr = np.where(inside == 1, self.thresholds[np.minimum(below, self.thresholds.size - 1)],
                                   _F32(np.inf)).astype(_F32)
        # [below, above] pairs interleaved: the result is entry 2·bucket + (x > threshold), one gather
        self.bucket_values = np.stack([self.values[below], self.values[top]], axis=-1).reshape(-1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=_F32)
        # np.take with an intp index: ~2.5x faster than fancy indexing with the uint32 one
        bucket = (x.view(np.uint32) >> np.uint32(16)).astype(np.intp)
        above = x > np.take(self.bucket_thr, bucket)  # strictly: searchsorted "left" counts thresholds < x
        bucket <<= 1
        bucket += above
        return np.take(self.bucket_values, bucket)


# ------------------------------------------------------------------------------------------------
# Sorting short columns
# ------------------------------------------------------------------------------------------------
def sorting_network(n: int, max_n: int = 8) -> list[tuple[int, int]] | None:
    """Compare-exchange pairs ``(i, j)``, ``i < j``, of Batcher's odd-even merge sort for ``n`` items
    (the network for the next power of two, without the pairs that touch the missing items: those
    act as +inf and would never move); None above ``max_n`` items (a plain sort is then faster)."""
    if n > max_n:
        return None
    size = 1 << max(0, (n - 1).bit_length())
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return [(a, b) for a, b in pairs if b < n]


def network_sort(a: np.ndarray, network: list[tuple[int, int]] | None) -> None:
    """``a.sort(axis=0)`` in place (integer ``a``), by ``network`` (see :func:`sorting_network`) when given:
    a few block-wide minimum/maximum calls instead of one tiny sort per column."""
    if network is None:
        a.sort(axis=0)
        return
    for i, j in network:
        lo = np.minimum(a[i], a[j])
        np.maximum(a[i], a[j], out=a[j])
        a[i] = lo


def sort_nonnegative(a: np.ndarray, network: list[tuple[int, int]] | None) -> None:
    """``a.sort(axis=0)`` in place for float32 ``a`` without negative values (``-0.0`` and NaN excluded):
    such floats order like their int32 bit patterns, and the integer sort (or network) is much faster."""
    network_sort(a.view(np.int32), network)


# ------------------------------------------------------------------------------------------------
# Water-filling
# ------------------------------------------------------------------------------------------------
def water_level(needs: np.ndarray, avail: np.ndarray, divisors: np.ndarray,
                network: list[tuple[int, int]] | None) -> np.ndarray:
    """Water level of groups of up to ``M`` needs: ``L`` with ``Σ_u min(need_u, L) = avail``, or, where
    the group needs less than ``avail``, the largest level one member could be given.

    ``needs [M, *G]`` float32 ≥ 0, slot-major (slot ``k`` of every group is one contiguous block), sorted
    in place; slots a group does not use hold a pad value (≥ 1e30, above any real need and ``avail``).
    ``avail [*G]`` float32; ``divisors [M, *G]`` (broadcastable) ``m − k`` for real slot ``k`` of a group
    of ``m`` needs, ``inf`` for pads. Returns ``[*G]`` float32:
    ``L = max_k (avail − sum of the k smallest needs) / (m − k)``, ``k = 0..m−1`` — each candidate assumes
    the ``k`` smallest needs are met in full and the rest share what is left; the largest is the level.
    Pads contribute candidate 0 (their running sums swallow the real needs, and ``/ inf``), so a group
    without members gets level 0. Equals :func:`reference_water_level` bit for bit."""
    sort_nonnegative(needs, network)
    level = total = None
    for k in range(needs.shape[0]):
        need_k = needs[k]
        total = need_k.copy() if total is None else total + need_k  # running sum, smallest first
        cand = avail - (total - need_k)  # minus the sum of the smaller needs
        cand /= divisors[k]
        level = cand if level is None else np.maximum(level, cand, out=level)
    return level


def reference_water_level(needs: np.ndarray, avail: np.ndarray, divisors: np.ndarray) -> np.ndarray:
    """:func:`water_level` one group at a time with ``np.sort`` (the same float32 operations in the same order)."""
    M = needs.shape[0]
    flat_needs = needs.reshape(M, -1)
    flat_div = np.broadcast_to(divisors, needs.shape).reshape(M, -1)
    flat_avail = avail.reshape(-1)
    out = np.empty(flat_avail.shape, dtype=_F32)
    for g in range(flat_avail.size):
        order = np.sort(flat_needs[:, g])
        total = _F32(0.0)
        best = None
        for k in range(M):
            total = order[k] if k == 0 else _F32(total + order[k])
            cand = _F32(_F32(flat_avail[g] - _F32(total - order[k])) / _F32(flat_div[k, g]))
            best = cand if best is None else np.maximum(best, cand)
        out[g] = best
    return out.reshape(avail.shape)


# ------------------------------------------------------------------------------------------------
# Quantile of a mixture of uniform segments
# ------------------------------------------------------------------------------------------------
#: a segment narrower than this (ms) is a ramp of this width, so that its CDF stays piecewise linear
MIN_WIDTH = 1e-6


class Segments(NamedTuple):
    """A block of uniform segments of ``R`` rows: segment ``i`` of row ``r`` has mass ``mass[i, r]``
    uniform on ``[lo[i, r], hi[i, r]]``, where ``valid[i, r]`` (None: everywhere). Arrays ``[n, R]``
    or ``[R]`` (one segment per row), float32 or float64 of float32 values (see :func:`mixture_quantile`)."""

    lo: np.ndarray
    hi: np.ndarray
    mass: np.ndarray
    valid: np.ndarray | None = None


def mixture_quantile(blocks: Sequence[Segments], target: np.ndarray, scratch: Scratch) -> np.ndarray:
    """Per row ``r``, the point ``q [R]`` (float64) where the CDF of the row's segments (in mass units)
    reaches ``target [R]``.

    Segments without mass or not valid are left out (put at 0 with no mass). The CDF is piecewise
    linear, with breakpoints where segments start (slope ``+mass/width``) and end (``−mass/width``):
    sort the breakpoints, accumulate the slope changes and the CDF along them, and interpolate in the
    bracket where the CDF crosses the target (the first or last bracket if it never does).

    Layout for speed: the ``K = 2N`` events of the ``N`` segments per row are built and summed
    event-major, ``[K, R]`` (whole contiguous R-vectors per NumPy call), transposed to ``[R, K]`` only
    for the per-row sort. The sort is one integer sort of float64 keys that carry the event number in
    their lowest ``log2 K`` mantissa bits (instead of an argsort and a gather). Float64 throughout:
    slopes of narrow segments are large and their cumulative sum must cancel where those segments end.

    Preconditions: finite delays ≥ 0 (no ``-0.0``), masses ≥ 0. Equals
    :func:`reference_mixture_quantile` bit for bit when every event it sorts is a float32 value (the
    low mantissa bits of the keys are then free). A point mass widened to a :data:`MIN_WIDTH` ramp has
    an end that is not: the sort sees it with those bits cleared (moved by < ``2**(log2 K − 52)`` of
    the delay), which changes the ramp's mass by that over :data:`MIN_WIDTH` — tested: the quantile's
    CDF level within 1e-3 of the row's total mass of the reference's."""
    R = target.shape[0]
    N = sum(1 if b.lo.ndim == 1 else b.lo.shape[0] for b in blocks)
    K = 2 * N
    x = scratch("mq_x", (K, R))  # event delays: [starts of all segments | their ends]
    slope = scratch("mq_slope", (K, R))  # slope change of the CDF there (mass per unit)
    i = 0
    for b in blocks:
        n = 1 if b.lo.ndim == 1 else b.lo.shape[0]
        start, end = x[i:i + n], x[N + i:N + i + n]
        live = b.mass > 0 if b.valid is None else (b.mass > 0) & b.valid
        np.multiply(b.lo, live, out=start.reshape(b.lo.shape))
        np.multiply(b.hi, live, out=end.reshape(b.hi.shape))
        np.maximum(end, start + MIN_WIDTH * live.reshape(start.shape), out=end)  # a point mass: a steep ramp
        width = np.maximum(end - start, MIN_WIDTH)
        np.divide((b.mass * live).reshape(start.shape), width, out=slope[i:i + n])
        np.negative(slope[i:i + n], out=slope[N + i:N + i + n])
        i += n
    # sort each row by delay: the key is the delay with the event number in the lowest mantissa bits
    ev_mask = np.int64((1 << max(1, (K - 1).bit_length())) - 1)
    key = scratch("mq_key", (R, K), np.int64)
    np.bitwise_and(x.view(np.int64).T, ~ev_mask, out=key)  # row-major for the sort
    key |= np.arange(K, dtype=np.int64)
    key.sort(axis=-1)
    # event-major again (sorted event k of row r at [k, r]): running sums over the events are then
    # adds of contiguous R-vectors, not strided column adds
    idx = np.bitwise_and(key.T, ev_mask, out=scratch("mq_idx", (K, R), np.int64))
    idx *= R  # event number -> flat index into slope [K, R]
    idx += np.arange(R, dtype=np.int64)
    x = np.bitwise_and(key.T, ~ev_mask, out=x.view(np.int64)).view(np.float64)  # sorted delays
    # CDF slope right of each sorted event, then the CDF at each event (0 below the first)
    slope_after = np.take(slope, idx, out=scratch("mq_after", (K, R)))
    cumsum_rows(slope_after)
    cdf = slope  # its buffer is free now
    cdf[0] = 0.0
    np.subtract(x[1:], x[:-1], out=cdf[1:])  # step between events ...
    cdf[1:] *= slope_after[:-1]  # ... times the slope there
    cumsum_rows(cdf[1:])
    tgt = np.asarray(target, dtype=np.float64)
    # events below the target, counted by a float32 vector-matrix product (exact for counts this small)
    k = (np.ones(K, dtype=_F32) @ np.less(cdf, tgt).astype(_F32)).astype(np.intp)
    np.maximum(k, 1, out=k)  # k: first event at or above the target
    np.minimum(k, K - 1, out=k)
    at = k * R + np.arange(R)  # [k, r] flat; [k - 1, r] is at - R
    x0, x1 = np.take(x, at - R), np.take(x, at)
    rate = np.take(slope_after, at - R)
    q = x0 + (tgt - np.take(cdf, at - R)) / select(rate > 0, rate, 1.0)
    return np.clip(q, x0, x1)


def reference_mixture_quantile(blocks: Sequence[Segments], target: np.ndarray) -> np.ndarray:
    """:func:`mixture_quantile` one row at a time: events from the segments, a stable ``argsort``,
    ``np.cumsum`` for the slopes and the CDF, the crossing bracket by counting, linear interpolation."""
    starts, ends, slopes = [], [], []
    for b in blocks:
        lo, hi, mass = (np.asarray(v).reshape(-1, target.shape[0]) for v in (b.lo, b.hi, b.mass))
        live = mass > 0 if b.valid is None else (mass > 0) & np.asarray(b.valid).reshape(mass.shape)
        start = (lo * live).astype(np.float64)
        end = np.maximum((hi * live).astype(np.float64), start + MIN_WIDTH * live)
        starts.append(start)
        ends.append(end)
        slopes.append((mass * live).astype(np.float64) / np.maximum(end - start, MIN_WIDTH))
    x_all = np.concatenate(starts + ends)  # [K, R], event order as in mixture_quantile
    s_all = np.concatenate(slopes + [-s for s in slopes])
    out = np.empty(target.shape[0])
    for r in range(target.shape[0]):
        order = np.argsort(x_all[:, r], kind="stable")
        x = x_all[order, r]
        slope_after = np.cumsum(s_all[order, r])
        cdf = np.concatenate([[0.0], np.cumsum(np.diff(x) * slope_after[:-1])])
        tgt = float(target[r])
        k = min(max(int(np.count_nonzero(cdf < tgt)), 1), x.size - 1)
        rate = slope_after[k - 1]
        q = x[k - 1] + (tgt - cdf[k - 1]) / (rate if rate > 0 else 1.0)
        out[r] = np.clip(q, x[k - 1], x[k])
    return out
