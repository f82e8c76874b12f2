# SPDX-License-Identifier: GPL-2.0-only
"""Work-conserving sharing of one resource among slices (litesim's radio PRBs and edge compute).

A slice is guaranteed its own part; what the slices that need less leave unused goes to the slices
that need more, in proportion to their shares (water-filling).
"""

from __future__ import annotations

import numpy as np

_F32 = np.float32


def lend_spare(need: np.ndarray, own: np.ndarray, shares: np.ndarray, total: float) -> np.ndarray:
    """What each slice may use ``[..., S]``: ``need``, ``own`` (its guaranteed part) and ``shares`` are
    ``[..., S]`` in the resource's unit (``shares`` only weigh the spare), ``total`` the resource.

    Slices needing no more than their own part keep ``max(own, need)``; the others share the rest at
    one level in proportion to their shares (never below their own part). ``S`` rounds of
    water-filling at most. The result has the dtype of ``need``."""
    dtype = need.dtype.type
    weight = shares.astype(need.dtype) + dtype(1e-6)
    satisfied = need <= own
    total = dtype(total)
    level = own
    for _ in range(need.shape[-1]):
        spare = total - np.where(satisfied, need, 0.0).sum(-1, keepdims=True)
        w_active = np.where(satisfied, 0.0, weight)
        level = spare * w_active / np.maximum(w_active.sum(-1, keepdims=True), dtype(1e-12))
        newly = (~satisfied) & (need <= level)
        if not newly.any():
            break
        satisfied |= newly
    return np.where(satisfied, np.maximum(own, need), np.maximum(level, own))
