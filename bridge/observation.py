"""KPI tensor → per-cell observations (one code path for both simulators).

For every cell the observation is ``[slice-major features..., neighbour load...]`` of length
``F = S · len(features) + (S if neighbour_load)``, float32, each value normalised and clipped to
``[0, observation.clip]``:

- offered/throughput (Mbit/s) ÷ the cell's peak rate (PRBs × 180 kHz × the CQI-15 efficiency, 5.55
  bit/s/Hz, of the shared table in ``bridge/contract.json``);
- delays (ms, the edge's compute delay too) ÷ the slice's delay budget in that cell;
- backlog (bytes) ÷ the bytes the cell's peak rate carries in one decision period;
- active UEs ÷ the slice's UEs per cell; spectral efficiency ÷ the CQI-15 efficiency; ratios and shares as they are.

Neighbour load: per slice, the mean normalised offered load of the other cells within 1.5 inter-site
distances (co-sited sectors included); zeros for a lone cell.
"""

from __future__ import annotations

import numpy as np
from slicebridge.bridge import kpi as K
from slicebridge.bridge.contract import MAX_SPECTRAL_EFFICIENCY, PRB_BANDWIDTH_HZ
from slicebridge.bridge.layout import cell_layout
from slicebridge.bridge.scenario import Scenario


def peak_rate_mbps(scenario: Scenario) -> float:
    return scenario.radio.bandwidth_prb * PRB_BANDWIDTH_HZ * MAX_SPECTRAL_EFFICIENCY / 1e6


def neighbour_matrix(scenario: Scenario) -> np.ndarray:
    """Row-normalised [cells, cells] averaging weights over each cell's neighbours (no self)."""
    layout = cell_layout(scenario)
    xy = layout.cell_xy_m
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    near = (dist <= 1.5 * scenario.topology.inter_site_distance_m) & ~np.eye(scenario.n_cells, dtype=bool)
    counts = near.sum(axis=1, keepdims=True)
    return np.where(counts > 0, near / np.maximum(counts, 1), 0.0)


class ObservationBuilder:
    """Builds observations ``[..., C, F]`` from KPI tensors ``[..., C, S, 13]``."""

    def __init__(self, scenario: Scenario):
        self.features = scenario.observation.features
        self.clip = scenario.observation.clip
        self.neighbour_load = scenario.observation.neighbour_load
        self.n_cells, self.n_slices = scenario.n_cells, scenario.n_slices
        _, delay_budget = scenario.sla_matrix()
        peak = peak_rate_mbps(scenario)
        period_bytes = peak * 1e6 / 8 * scenario.control.decision_period_ms / 1e3
        ues = np.array([max(s.ues_per_cell, 1) for s in scenario.slices], dtype=np.float64)
        ones = np.ones((self.n_cells, self.n_slices))
        scale = {name: ones for name in K.KPI_NAMES}
        scale.update(
            offered_mbps=ones * peak,
            throughput_mbps=ones * peak,
            delay_mean_ms=np.asarray(delay_budget, dtype=np.float64),
            delay_p95_ms=np.asarray(delay_budget, dtype=np.float64),
            compute_delay_ms=np.asarray(delay_budget, dtype=np.float64),
            backlog_bytes=ones * period_bytes,
            active_ues=ones * ues,
            spectral_eff_bps_hz=ones * MAX_SPECTRAL_EFFICIENCY,
        )
        self._index = np.array([K.KPI_INDEX[f] for f in self.features])
        # [C, S, n_features] divisor for the selected features
        self._scale = np.stack([scale[f] for f in self.features], axis=-1)
        self._offered_scale = scale["offered_mbps"]
        self._neighbours = neighbour_matrix(scenario)
        self.obs_dim = self.n_slices * len(self.features) + (self.n_slices if self.neighbour_load else 0)

    def __call__(self, kpis: np.ndarray) -> np.ndarray:
        kpis = np.asarray(kpis, dtype=np.float64)
        lead = kpis.shape[:-3]
        own = kpis[..., self._index] / self._scale  # [..., C, S, nf]
        parts = [own.reshape(*lead, self.n_cells, -1)]
        if self.neighbour_load:
            load = kpis[..., K.OFFERED] / self._offered_scale  # [..., C, S]
            parts.append(np.einsum("ij,...js->...is", self._neighbours, load))
        obs = np.concatenate(parts, axis=-1)
        return np.clip(np.nan_to_num(obs, nan=0.0, posinf=self.clip), 0.0, self.clip).astype(np.float32)
