"""Fit litesim's free parameters to ns-3 traces of the same scenario, and measure the gaps.

Fitted parameters (``scenario.litesim``):

- ``se_scale`` per slice: the median ratio of ns-3's to litesim's mean spectral efficiency of the
  slice (the CQI each simulator's channel model yields for the same UE drop);
- ``scheduler_efficiency``: the data bits per PRB relative to the CQI efficiency. First estimated
  directly (ratio of delivered bits per used PRB per unit SE, ns-3 over litesim), then refined on a
  grid around that estimate to minimise the median per-slice throughput gap (it matters where slices
  are saturated: elsewhere throughput follows the offered load). The uncalibrated parameters stay a
  candidate, so calibration never makes the throughput fit worse;
- ``base_delay_ms``: the median difference of mean delay in lightly loaded periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from bridge import kpi as K
from bridge.scenario import Scenario

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


def median_throughput_gap(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Median over (policy, slice) of the relative per-slice mean throughput gap."""
    gaps = [gap_table(lite, ns3)[:, K.THROUGHPUT] for lite, ns3 in pairs]
    return float(np.median(np.concatenate(gaps)))


def _bits_per_prb_se(kpis: np.ndarray) -> float:
    """Σ throughput / Σ (used PRB share × spectral efficiency) over KPI rows ``[..., 11]``."""
    denom = float(np.sum(kpis[..., K.PRB_USED] * kpis[..., K.SPECTRAL_EFF]))
    return float(np.sum(kpis[..., K.THROUGHPUT])) / denom if denom > 0 else 0.0


@dataclass
class CalibrationResult:
    scenario: Scenario  # calibrated copy
    se_scale: tuple[float, ...]
    scheduler_efficiency: float
    base_delay_ms: float
    gap_before: float  # median per-slice throughput gap
    gap_after: float


def calibrate(
    scenario: Scenario,
    ns3_traces: dict[str, np.ndarray],
    run_litesim: Callable[[Scenario, str], np.ndarray],
    grid: Sequence[float] = tuple(np.round(np.arange(0.40, 1.151, 0.05), 3)),
) -> CalibrationResult:
    """Fit ``scenario.litesim`` to ``ns3_traces`` (policy name → KPI traces ``[E, T, C, S, 11]``).

    ``run_litesim(scenario, policy)`` must return litesim traces of the same shape for the same seeds.
    """
    policies = sorted(ns3_traces)
    before = {p: run_litesim(scenario, p) for p in policies}
    gap_before = median_throughput_gap([(before[p], ns3_traces[p]) for p in policies])

    ns3_all = np.concatenate([ns3_traces[p].reshape(-1, *ns3_traces[p].shape[-3:]) for p in policies])
    lite_all = np.concatenate([before[p].reshape(-1, *before[p].shape[-3:]) for p in policies])
    old_scale = np.array(scenario.litesim.se_scale or [1.0] * scenario.n_slices)
    se_ratio = []
    for s in range(scenario.n_slices):
        n_se, l_se = ns3_all[..., s, K.SPECTRAL_EFF], lite_all[..., s, K.SPECTRAL_EFF]
        ok = (n_se > 0) & (l_se > 0)
        se_ratio.append(float(np.median(n_se[ok] / l_se[ok])) if ok.any() else 1.0)
    se_scale = tuple(float(np.clip(v, 0.2, 5.0)) for v in old_scale * np.array(se_ratio))

    light = (ns3_all[..., K.PRB_USED] < 0.5 * ns3_all[..., K.SHARE]) & (ns3_all[..., K.THROUGHPUT] > 0)
    light_lite = (lite_all[..., K.PRB_USED] < 0.5 * lite_all[..., K.SHARE]) & (lite_all[..., K.THROUGHPUT] > 0)
    base = scenario.litesim.base_delay_ms
    if light.any() and light_lite.any():
        diff = np.median(ns3_all[..., K.DELAY_MEAN][light]) - np.median(lite_all[..., K.DELAY_MEAN][light_lite])
        base = float(max(0.0, base + diff))

    # Data bits per used PRB per unit of spectral efficiency, in each simulator: their ratio is the
    # direct estimate of the scheduler efficiency (what TB sizes and control overhead leave of SE).
    scaled = scenario.with_updates(litesim={"se_scale": list(se_scale), "base_delay_ms": base})
    scaled_traces = {p: run_litesim(scaled, p) for p in policies}
    lite_scaled = np.concatenate([scaled_traces[p].reshape(-1, *scaled_traces[p].shape[-3:]) for p in policies])
    ratios = [
        _bits_per_prb_se(ns3_all[..., s, :]) / _bits_per_prb_se(lite_scaled[..., s, :])
        for s in range(scenario.n_slices)
        if _bits_per_prb_se(ns3_all[..., s, :]) > 0 and _bits_per_prb_se(lite_scaled[..., s, :]) > 0
    ]
    direct = scenario.litesim.scheduler_efficiency * (float(np.median(ratios)) if ratios else 1.0)
    candidates = sorted({float(np.clip(direct * f, 0.05, 1.2)) for f in np.linspace(0.7, 1.3, 13)} | set(map(float, grid)))

    # Keep the uncalibrated parameters as a candidate: calibration never makes the fit worse.
    best_scn, best_gap = scenario, gap_before
    for eff in candidates:
        candidate = scaled.with_updates(litesim={"scheduler_efficiency": eff})
        traces = {p: run_litesim(candidate, p) for p in policies}
        gap = median_throughput_gap([(traces[p], ns3_traces[p]) for p in policies])
        if gap < best_gap - 1e-12:
            best_scn, best_gap = candidate, gap
    calibrated = best_scn
    best_eff = calibrated.litesim.scheduler_efficiency
    se_scale = calibrated.litesim.se_scale or tuple(old_scale)
    base = calibrated.litesim.base_delay_ms
    return CalibrationResult(calibrated, se_scale, best_eff, base, gap_before, float(best_gap))
