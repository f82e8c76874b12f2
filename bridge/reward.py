"""KPI tensor → per-cell rewards (one code path for both simulators).

The C++ twin is ``ns3_scenarios/model/slice-reward.cc`` (the ns-3 program reports its value to
ns3-gym clients); names, delay-slice kinds and numeric guards come from ``bridge/contract.json``.

All rewards are computed per cell from KPI tensors ``[..., C, S, 13]`` and return ``[..., C]``.
Notation per cell c and slice s: ``thr`` delivered Mbit/s, ``off`` offered Mbit/s, ``n`` active
UEs, ``d`` mean delay (ms), ``thr*`` the per-UE SLA throughput, ``d*`` the delay budget.

- ``min_satisfaction`` (TL-MADRL): ``min_s min(thr/φ*, d*/d, 1)`` with the slice target
  ``φ* = min(thr*·n, off)`` (a slice that asks for less than its SLA is judged on what it asked);
  a term whose denominator is 0 counts as satisfied (1).
- ``utility_cost`` (FDRL): ``α·U − β·C``, ``U`` the mean over slices with traffic of
  ``min(thr/off, 1)`` (allocated/requested), ``C`` the cell's used PRB share.
- ``sigmoid_utility`` (DT-MAFL): mean over slices of ``Λ·Ω_s + μ·Ū_s``, ``Ω_s = min(used/needed, 1)``
  with needed share ``off / (SE · bandwidth)``; ``Ū_s`` the per-UE utility
  ``1/(1+e^(−φ(r−r_min)))`` for rate slices (r = thr/n Mbit/s) or ``1/(1+e^(−φ(τ_max−τ)))`` for delay
  slices (kinds urllc and volte; τ = mean delay ms). Σ_u U_u of the paper is normalised by the UEs
  here (a cell reward); :meth:`RewardFunction.slice_utility` is the paper's per-slice (per-agent)
  reward ``Λ·Ω_s + μ·Σ_u U_u`` with the sum over the slice's n active users, each at the slice's mean
  per-UE rate or delay (the KPI tensor holds slice aggregates, not per-user values).
- ``se_ssr`` (DT-DRL): ``α·SE/SE_norm + β·SSR``, SE = delivered bits/s/Hz of the cell, SSR = mean
  over slices with traffic of the sla_ratio KPI.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from slicebridge.bridge import kpi as K
from slicebridge.bridge.contract import DELAY_SLICE_KINDS, PRB_BANDWIDTH_HZ, SIGMOID_EXPONENT_CLIP, SPECTRAL_EFFICIENCY_FLOOR_BPS_HZ
from slicebridge.bridge.scenario import Scenario


def ratio_or_one(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den, or 1 where den is 0 (nothing asked → satisfied)."""
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, num / safe, 1.0)


def masked_mean(values: np.ndarray, mask: np.ndarray, empty: float = 1.0) -> np.ndarray:
    count = mask.sum(axis=-1)
    total = np.where(mask, values, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), empty)


def service_satisfaction(kpis: np.ndarray) -> np.ndarray:
    """FDRL's U per cell, ``[..., C]``: mean over slices with traffic of min(delivered/offered, 1)."""
    off = kpis[..., K.OFFERED]
    return masked_mean(np.minimum(ratio_or_one(kpis[..., K.THROUGHPUT], off), 1.0), off > 0)


class RewardFunction:
    """Callable ``kpis [..., C, S, 13] → rewards [..., C]`` selected by ``scenario.reward.name``."""

    def __init__(self, scenario: Scenario):
        self.params = scenario.reward
        thr_sla, delay_sla = scenario.sla_matrix()
        self.thr_sla = np.asarray(thr_sla, dtype=np.float64)  # [C, S] Mbit/s per UE
        self.delay_sla = np.asarray(delay_sla, dtype=np.float64)  # [C, S] ms
        self.is_delay_slice = np.array([s.kind in DELAY_SLICE_KINDS for s in scenario.slices])
        self.bandwidth_hz = scenario.radio.bandwidth_prb * PRB_BANDWIDTH_HZ
        self._fn: Callable[[np.ndarray], np.ndarray] = getattr(self, f"_{scenario.reward.name}")

    def __call__(self, kpis: np.ndarray) -> np.ndarray:
        return self._fn(np.asarray(kpis, dtype=np.float64))

    def satisfaction(self, kpis: np.ndarray) -> np.ndarray:
        """Per-slice SLA satisfaction ``min(thr/φ*, d*/d, 1)``, ``[..., C, S]`` in [0, 1]."""
        thr, off, n, d = kpis[..., K.THROUGHPUT], kpis[..., K.OFFERED], kpis[..., K.ACTIVE_UES], kpis[..., K.DELAY_MEAN]
        target = np.minimum(self.thr_sla * n, off)
        thr_term = ratio_or_one(thr, target)
        delay_term = ratio_or_one(np.broadcast_to(self.delay_sla, d.shape), d)
        return np.minimum(np.minimum(thr_term, delay_term), 1.0)

    def _min_satisfaction(self, kpis: np.ndarray) -> np.ndarray:
        return self.satisfaction(kpis).min(axis=-1)

    def _utility_cost(self, kpis: np.ndarray) -> np.ndarray:
        utility = service_satisfaction(kpis)
        cost = kpis[..., K.PRB_USED].sum(axis=-1)
        return self.params.alpha * utility - self.params.beta * cost

    def _sigmoid_terms(self, kpis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """DT-MAFL's per-slice parts, each ``[..., C, S]``: Ω_s, the per-UE utility Ū_s, active UEs n."""
        p = self.params
        se = np.maximum(kpis[..., K.SPECTRAL_EFF], SPECTRAL_EFFICIENCY_FLOOR_BPS_HZ)
        needed = kpis[..., K.OFFERED] * 1e6 / (se * self.bandwidth_hz)
        omega = np.minimum(ratio_or_one(kpis[..., K.PRB_USED], needed), 1.0)
        n = kpis[..., K.ACTIVE_UES]
        rate = np.where(n > 0, kpis[..., K.THROUGHPUT] / np.maximum(n, 1), 0.0)
        margin = np.where(self.is_delay_slice, self.delay_sla - kpis[..., K.DELAY_MEAN], rate - self.thr_sla)
        # the exponent is clipped where exp would overflow; the sigmoid is 0 or 1 to double precision there
        user_utility = np.where(n > 0, 1.0 / (1.0 + np.exp(np.clip(-p.phi * margin, -SIGMOID_EXPONENT_CLIP, SIGMOID_EXPONENT_CLIP))), 1.0)
        return omega, user_utility, n

    def _sigmoid_utility(self, kpis: np.ndarray) -> np.ndarray:
        omega, user_utility, _ = self._sigmoid_terms(kpis)
        return (self.params.lam * omega + self.params.mu * user_utility).mean(axis=-1)

    def slice_utility(self, kpis: np.ndarray) -> np.ndarray:
        """The paper's per-slice reward ``Λ·Ω_s + μ·Σ_u U_u``, ``[..., C, S]`` (sum over the n active UEs)."""
        omega, user_utility, n = self._sigmoid_terms(np.asarray(kpis, dtype=np.float64))
        return self.params.lam * omega + self.params.mu * n * user_utility

    def _se_ssr(self, kpis: np.ndarray) -> np.ndarray:
        p = self.params
        se = kpis[..., K.THROUGHPUT].sum(axis=-1) * 1e6 / self.bandwidth_hz
        ssr = masked_mean(kpis[..., K.SLA_RATIO], kpis[..., K.OFFERED] > 0)
        return p.alpha * se / p.se_norm_bps_hz + p.beta * ssr
