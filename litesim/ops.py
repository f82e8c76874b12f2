# SPDX-License-Identifier: GPL-2.0-only
"""Faster bit-identical stand-ins for NumPy calls litesim makes on every per-UE array.

On NumPy 2.x, ``np.where`` and ufuncs with a ``where=`` mask run several times slower than plain
ufuncs on the float32 arrays of a batch (tens of thousands of elements); these give the same bits.
"""

from __future__ import annotations

import math

import numpy as np


def select(cond: np.ndarray, a, b) -> np.ndarray:
    """``np.where(cond, a, b)`` bit for bit (same result dtype; a and b float arrays or scalars), as
    ``b ^ ((a ^ b) & mask)`` on the integer bit patterns: NumPy's ``where`` loop is several times
    slower than these three integer ufuncs, and litesim calls it on every per-UE array."""
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
    out = np.bitwise_and(np.bitwise_xor(a_bits, b_bits), np.negative(flags, dtype=ints))  # mask: all ones where cond
    out ^= b_bits
    return out.view(dtype)


def _is_plus_zero(v) -> bool:
    return isinstance(v, float) and v == 0.0 and math.copysign(1.0, v) > 0


def div0(a: np.ndarray, b: np.ndarray, ok: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``np.divide(a, b, out=<fill>, where=ok)`` bit for bit: the plain division everywhere (the lanes
    outside ``ok`` are discarded, so their inf/nan is silenced), then :func:`select`. A masked
    ufunc runs an order of magnitude slower than the plain one."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.divide(a, b)
    return select(ok, q, fill)
