# SPDX-License-Identifier: GPL-2.0-only
"""Heuristic slicing baselines: fixed rules that map a KPI tensor to per-cell slice shares.

Every baseline has ``reset()`` and ``act(kpis) -> shares``:

- ``kpis``: one period's KPI tensor ``[C, S, 11]`` (one network) or ``[B, C, S, 11]`` (a batch), in
  :mod:`bridge.kpi` order — what ``reset``/``step`` of either simulator return;
- ``shares``: ``[C, S]`` resp. ``[B, C, S]`` float64, each cell's vector on the simplex (sums to 1)
  with every slice at or above its ``min_share``. They are *shares*, not raw agent actions: feed
  them to a backend's ``step`` directly.

Baselines (``BASELINES`` maps the CLI names to the classes):

``equal``         the same share for every slice (lifted to the minimums);
``static``        the scenario's initial shares (``initial_share`` per slice), or given shares;
``proportional``  shares proportional to each slice's offered load in the cell — the traffic-aware
                  baseline with perfect demand knowledge (TL-MADRL). With ``demand=`` a callable
                  returning the offered load ``[B, C, S]`` of the *coming* period (e.g.
                  ``LiteSim.offered_load_mbps``) it uses that; otherwise it uses the ``offered_mbps``
                  KPI of the period just measured (one period stale, works with ns-3 too).
                  ``by_prb=True`` divides each slice's load by its spectral efficiency first
                  (PRB demand rather than bit-rate demand);
``greedy_sla``    a greedy SLA-driven controller: every period, in every cell, move ``step`` of the
                  PRBs from the slice with the most unused share (among slices meeting their SLA)
                  to the slice that violates its SLA the most.
"""

from __future__ import annotations

import numpy as np
from slicebridge.bridge.actions import project_to_simplex as _project_to_simplex
from slicebridge.bridge.kpi import (
    ACTIVE_UES,
    DELAY_MEAN,
    OFFERED,
    PRB_USED,
    SHARE,
    SLA_RATIO,
    SPECTRAL_EFF,
    THROUGHPUT,
)
from slicebridge.bridge.scenario import Scenario


class Baseline:
    """Common plumbing: scenario constants, batch/unbatched handling."""

    name = "baseline"

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.n_cells, self.n_slices = scenario.n_cells, scenario.n_slices
        self.min_share = np.array([s.min_share for s in scenario.slices], dtype=np.float64)
        thr, dly = scenario.sla_matrix()
        self.sla_thr = np.asarray(thr, dtype=np.float64)  # [C, S] per-UE Mbit/s
        self.sla_delay = np.asarray(dly, dtype=np.float64)  # [C, S] ms

    def reset(self) -> None:
        """Forget any state (start of an episode)."""

    def act(self, kpis: np.ndarray) -> np.ndarray:
        kpis = np.asarray(kpis, dtype=np.float64)
        expected = (self.n_cells, self.n_slices)
        if kpis.ndim not in (3, 4) or kpis.shape[-3:-1] != expected:
            raise ValueError(f"kpis: expected [C, S, K] or [B, C, S, K] with (C, S) = {expected}, got {kpis.shape}")
        batched = kpis.ndim == 4
        shares = self._act(kpis if batched else kpis[None])
        shares = _project_to_simplex(shares, self.min_share)
        return shares if batched else shares[0]

    def _act(self, kpis: np.ndarray) -> np.ndarray:  # [B, C, S, K] -> [B, C, S]
        raise NotImplementedError

    __call__ = act


class EqualShares(Baseline):
    name = "equal"

    def _act(self, kpis: np.ndarray) -> np.ndarray:
        free = 1.0 - self.min_share.sum()
        return np.broadcast_to(self.min_share + free / self.n_slices, kpis.shape[:-1]).copy()


class StaticShares(Baseline):
    """Fixed shares: ``shares`` ``[S]`` or ``[C, S]``, default the scenario's initial shares."""

    name = "static"

    def __init__(self, scenario: Scenario, shares: np.ndarray | None = None):
        super().__init__(scenario)
        fixed = np.asarray(scenario.initial_shares() if shares is None else shares, dtype=np.float64)
        self.shares = _project_to_simplex(np.broadcast_to(fixed, (self.n_cells, self.n_slices)), self.min_share)

    def _act(self, kpis: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.shares, kpis.shape[:-1]).copy()


class ProportionalShares(Baseline):
    """Shares ∝ offered load (see the module docstring for where the demand comes from)."""

    name = "proportional"

    def __init__(self, scenario: Scenario, demand=None, by_prb: bool = False):
        super().__init__(scenario)
        self.demand = demand
        self.by_prb = by_prb

    def _act(self, kpis: np.ndarray) -> np.ndarray:
        load = np.asarray(self.demand(), dtype=np.float64) if self.demand is not None else kpis[..., OFFERED]
        load = np.broadcast_to(load, kpis.shape[:-1])
        if self.by_prb:
            load = load / np.maximum(kpis[..., SPECTRAL_EFF], 0.15)
        free = 1.0 - self.min_share.sum()
        total = load.sum(-1, keepdims=True)
        weights = np.where(total > 0, load / np.where(total > 0, total, 1.0), 1.0 / self.n_slices)
        return self.min_share + free * weights


class GreedySla(Baseline):
    """Move ``step`` of a cell's PRBs per period from the slice with the most slack to the worst
    SLA violator. A slice violates its SLA when its ``sla_ratio`` is below ``sla_target``, or its
    throughput is below the SLA rate of its active UEs while it has more demand than it gets, or its
    mean delay exceeds the budget. Slack = assigned share − used PRB share."""

    name = "greedy_sla"

    def __init__(self, scenario: Scenario, step: float = 0.05, sla_target: float = 0.95):
        super().__init__(scenario)
        self.step = step
        self.sla_target = sla_target

    def violation(self, kpis: np.ndarray) -> np.ndarray:
        """How badly each slice misses its SLA ``[..., C, S]`` (0 = met, up to 1)."""
        required = np.minimum(self.sla_thr * kpis[..., ACTIVE_UES], kpis[..., OFFERED])
        thr_gap = np.where(required > 0, 1.0 - kpis[..., THROUGHPUT] / np.where(required > 0, required, 1.0), 0.0)
        delay = kpis[..., DELAY_MEAN]
        delay_gap = np.where(delay > self.sla_delay, 1.0 - self.sla_delay / np.maximum(delay, 1e-9), 0.0)
        sla_gap = np.where(kpis[..., SLA_RATIO] < self.sla_target, 1.0 - kpis[..., SLA_RATIO], 0.0)
        return np.clip(np.maximum.reduce([thr_gap, delay_gap, sla_gap]), 0.0, 1.0)

    def _act(self, kpis: np.ndarray) -> np.ndarray:
        shares = _project_to_simplex(kpis[..., SHARE], self.min_share)
        viol = self.violation(kpis)
        slack = shares - kpis[..., PRB_USED]
        movable = shares - self.min_share
        donor_score = np.where((viol <= 0) & (movable > 1e-9), slack, -np.inf)
        donor = donor_score.argmax(-1)
        receiver = viol.argmax(-1)
        has_donor = np.isfinite(donor_score.max(-1))
        act = (viol.max(-1) > 0) & has_donor & (donor != receiver)
        amount = np.where(act, np.minimum(self.step, np.take_along_axis(movable, donor[..., None], -1)[..., 0]), 0.0)
        out = shares.copy()
        np.put_along_axis(out, donor[..., None], (np.take_along_axis(out, donor[..., None], -1)[..., 0] - amount)[..., None], -1)
        np.put_along_axis(out, receiver[..., None], (np.take_along_axis(out, receiver[..., None], -1)[..., 0] + amount)[..., None], -1)
        return out


BASELINES: dict[str, type[Baseline]] = {
    "equal": EqualShares,
    "static": StaticShares,
    "proportional": ProportionalShares,
    "greedy_sla": GreedySla,
}


def make_baseline(name: str, scenario: Scenario, **kwargs) -> Baseline:
    """Instantiate the baseline registered under ``name``."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; allowed: {sorted(BASELINES)}")
    return BASELINES[name](scenario, **kwargs)
