# SPDX-License-Identifier: GPL-2.0-only
"""Per-slice means of KPI traces: the one aggregation behind every litesim-vs-ns-3 gap.

The compare report, the fidelity matrix, the calibration objective and its held-out check all
compare per-slice means made here. A KPI row is one (period, cell) of one slice.

- Delays (``delay_mean_ms``, ``delay_p95_ms``, ``compute_delay_ms``) are properties of the packets
  a row delivered, and a row that delivered nothing reports 0 ms (``bridge.kpi``): a plain mean over
  rows would count every empty row as a 0 ms packet, so a slice with few active UEs (many empty
  rows) looks fast, and the simulator with more empty rows looks faster. They are averaged weighted
  by the row's delivered bytes (``throughput_mbps``: every row spans one decision period), which
  for ``delay_mean_ms`` is the mean over the slice's delivered bytes. ``delay_p95_ms`` gets the same
  weights: each delivered byte counts its period's p95, so empty rows drop out and a trickle of a
  few late bytes counts by its size, not as a whole period (the p95 over all the slice's packets
  cannot be rebuilt from per-period p95s). A slice that delivered nothing in the whole trace has no
  delay: NaN, and a gap with a NaN side is NaN (excluded from medians, shown as "n/a").
- Every other KPI (throughput, offered load, SLA ratio, PRB use, ...) is the plain mean over rows:
  an empty row really carried 0 Mbit/s, and its SLA ratio is defined by the contract.
"""

from __future__ import annotations

import warnings

import numpy as np

from slicebridge.bridge import kpi as K

DELIVERY_WEIGHTED_KPIS = ("delay_mean_ms", "delay_p95_ms", "compute_delay_ms")
MEAN_NOTE = ("delays (mean, p95, compute) are means over delivered bytes (each (period, cell) weighted by its "
             "throughput; a period that delivered nothing does not count); every other KPI is the mean over "
             "(period, cell); n/a: the slice delivered nothing, no delay to compare")


def per_slice_means(kpis: np.ndarray) -> np.ndarray:
    """KPI traces ``[..., C, S, K]`` → per-slice means ``[S, K]`` over everything else (see the module
    docstring: delays weighted by delivered bytes, NaN where a slice delivered nothing)."""
    kpis = np.asarray(kpis, dtype=float)
    rows = kpis.reshape(-1, kpis.shape[-2], kpis.shape[-1])  # [N, S, K]
    means = rows.mean(axis=0)
    weight = rows[..., K.THROUGHPUT]  # [N, S] Mbit/s over one period: ∝ delivered bytes
    total = weight.sum(axis=0)  # [S]
    delivered = total > 0
    for name in DELIVERY_WEIGHTED_KPIS:
        j = K.KPI_INDEX[name]
        weighted = (rows[..., j] * weight).sum(axis=0)
        means[:, j] = np.where(delivered, weighted / np.where(delivered, total, 1.0), np.nan)
    return means


def nan_median(values: np.ndarray, axis=None) -> np.ndarray | float:
    """Median ignoring NaN (gaps with nothing to compare); NaN, without a warning, where all are NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": the NaN result says it
        return np.nanmedian(np.asarray(values, dtype=float), axis=axis)
