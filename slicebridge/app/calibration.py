"""Fit litesim's free parameters to ns-3 traces of the same scenario, and measure the gaps.

Fitted parameters (``scenario.litesim``), in this order:

1. ``se_scale`` per slice: the median ratio of ns-3's to litesim's spectral efficiency of the slice
   (the CQI each simulator's channel model yields for the same UE drop);
2. ``base_delay_ms``: the median difference of mean delay in lightly loaded periods;
3. ``slice_efficiency`` per slice and ``scheduler_efficiency``: delivered bits per used PRB per unit
   of SE, ns-3 over litesim, per slice (what transport-block sizes, control overhead, HARQ and
   under-filled RBGs leave of the SE); their median becomes the global efficiency;
4. the global efficiency is refined on a grid to minimise the median per-slice throughput gap plus
   the median per-slice PRB-use gap. The uncalibrated parameters stay a candidate, so calibration
   never makes that objective worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario

PRB_WEIGHT = 0.25  # weight of the PRB-use gap next to the throughput gap in the fit objective
GAP_KPIS = ("throughput_mbps", "delay_mean_ms", "delay_p95_ms", "sla_ratio", "prb_used_share", "spectral_eff_bps_hz")


def relative_gap(lite: np.ndarray, ns3: np.ndarray) -> np.ndarray:
    """|lite − ns3| / |ns3| elementwise; 0 where both are ~0, and |lite| where only ns-3 is ~0."""
    lite, ns3 = np.asarray(lite, dtype=float), np.asarray(ns3, dtype=float)
    denom = np.abs(ns3)
    tiny = denom < 1e-9
    return np.where(tiny, np.where(np.abs(lite) < 1e-9, 0.0, np.abs(lite)), np.abs(lite - ns3) / np.where(tiny, 1.0, denom))


def per_slice_means(kpis: np.ndarray) -> np.ndarray:
    """KPI traces ``[..., T, C, S, 11]`` → mean per slice ``[S, 11]`` over everything else."""
    flat = np.asarray(kpis).reshape(-1, kpis.shape[-2], kpis.shape[-1])
    return flat.mean(axis=0)


def gap_table(lite: np.ndarray, ns3: np.ndarray) -> np.ndarray:
    """Relative gap per slice and KPI of the per-slice means, ``[S, 11]``."""
    return relative_gap(per_slice_means(lite), per_slice_means(ns3))


def _bits_per_prb_se(kpis: np.ndarray) -> float:
    """Σ throughput / Σ (used PRB share × spectral efficiency) over KPI rows ``[..., 11]``."""
    denom = float(np.sum(kpis[..., K.PRB_USED] * kpis[..., K.SPECTRAL_EFF]))
    return float(np.sum(kpis[..., K.THROUGHPUT])) / denom if denom > 0 else 0.0


@dataclass
class CalibrationResult:
    scenario: Scenario  # calibrated copy (the uncalibrated one when nothing fitted better)
    gap_before: float  # median per-slice throughput gap
    gap_after: float
    prb_gap_before: float  # median per-slice PRB-use gap
    prb_gap_after: float

    @property
    def params(self) -> dict:
        p = self.scenario.litesim
        n = self.scenario.n_slices
        return {
            "se_scale": list(p.se_scale or [1.0] * n),
            "slice_efficiency": list(p.slice_efficiency or [1.0] * n),
            "scheduler_efficiency": p.scheduler_efficiency,
            "base_delay_ms": p.base_delay_ms,
        }


def _flat(traces: dict[str, np.ndarray]) -> np.ndarray:
    """policy → ``[E, T, C, S, 11]`` traces → all rows ``[N, C, S, 11]``."""
    return np.concatenate([t.reshape(-1, *t.shape[-3:]) for t in traces.values()])


def _median_gap(lite: dict[str, np.ndarray], ns3: dict[str, np.ndarray], kpi: int) -> float:
    return float(np.median(np.concatenate([gap_table(lite[p], ns3[p])[:, kpi] for p in ns3])))


def calibrate(
    scenario: Scenario,
    ns3_traces: dict[str, np.ndarray],
    run_litesim: Callable[[Scenario, str], np.ndarray],
    factors: Sequence[float] = tuple(np.round(np.linspace(0.6, 1.4, 17), 3)),
) -> CalibrationResult:
    """Fit ``scenario.litesim`` to ``ns3_traces`` (policy name → KPI traces ``[E, T, C, S, 11]``).

    ``run_litesim(scenario, policy)`` must return litesim traces of the same shape for the same seeds.
    The objective is the median per-slice throughput gap plus the median per-slice PRB-use gap.
    """
    policies = sorted(ns3_traces)

    def run(candidate: Scenario) -> dict[str, np.ndarray]:
        return {p: run_litesim(candidate, p) for p in policies}

    def objective(traces: dict[str, np.ndarray]) -> tuple[float, float]:
        return _median_gap(traces, ns3_traces, K.THROUGHPUT), _median_gap(traces, ns3_traces, K.PRB_USED)

    before = run(scenario)
    thr_before, prb_before = objective(before)
    ns3_all, lite_all = _flat(ns3_traces), _flat(before)
    n = scenario.n_slices

    # 1. channel: the spectral efficiency each simulator's CQI yields for the same UE drop
    old_scale = np.array(scenario.litesim.se_scale or [1.0] * n)
    se_ratio = []
    for s in range(n):
        n_se, l_se = ns3_all[..., s, K.SPECTRAL_EFF], lite_all[..., s, K.SPECTRAL_EFF]
        ok = (n_se > 0) & (l_se > 0)
        se_ratio.append(float(np.median(n_se[ok] / l_se[ok])) if ok.any() else 1.0)
    se_scale = [float(np.clip(v, 0.2, 5.0)) for v in old_scale * np.array(se_ratio)]

    # 2. fixed delay: median difference of mean delay in lightly loaded periods
    base = scenario.litesim.base_delay_ms
    light = (ns3_all[..., K.PRB_USED] < 0.5 * ns3_all[..., K.SHARE]) & (ns3_all[..., K.THROUGHPUT] > 0)
    light_lite = (lite_all[..., K.PRB_USED] < 0.5 * lite_all[..., K.SHARE]) & (lite_all[..., K.THROUGHPUT] > 0)
    if light.any() and light_lite.any():
        diff = np.median(ns3_all[..., K.DELAY_MEAN][light]) - np.median(lite_all[..., K.DELAY_MEAN][light_lite])
        base = float(max(0.0, base + diff))

    # 3. data bits per used PRB per unit SE, per slice: the ratio ns-3 / litesim is the direct estimate
    #    of what TB sizes, control overhead, HARQ and under-filled RBGs leave of the SE in each slice.
    scaled = scenario.with_updates(litesim={"se_scale": se_scale, "base_delay_ms": base})
    lite_scaled = _flat(run(scaled))
    old_eff = np.array(scenario.litesim.slice_efficiency or [1.0] * n) * scenario.litesim.scheduler_efficiency
    ratios = np.ones(n)
    for s in range(n):
        a, b = _bits_per_prb_se(ns3_all[..., s, :]), _bits_per_prb_se(lite_scaled[..., s, :])
        if a > 0 and b > 0:
            ratios[s] = a / b
    eff = np.clip(old_eff * ratios, 0.05, 1.2)
    global_eff = float(np.median(eff))
    slice_eff = [float(np.clip(v / global_eff, 0.1, 10.0)) for v in eff]

    # 4. refine the global efficiency on a grid; the uncalibrated scenario stays a candidate, so
    #    calibration never makes the objective worse.
    best, best_thr, best_prb = scenario, thr_before, prb_before
    for f in factors:
        candidate = scaled.with_updates(litesim={"slice_efficiency": slice_eff, "scheduler_efficiency": float(np.clip(global_eff * f, 0.05, 1.2))})
        thr, prb = objective(run(candidate))
        if thr + PRB_WEIGHT * prb < best_thr + PRB_WEIGHT * best_prb - 1e-12:
            best, best_thr, best_prb = candidate, thr, prb
    return CalibrationResult(best, thr_before, best_thr, prb_before, best_prb)
