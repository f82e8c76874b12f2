"""Per-slice summaries of evaluation results, as numbers and as a printable table."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from slicebridge.app.slice_means import per_slice_means
from slicebridge.bridge.kpi import KPI_NAMES, KPI_UNITS
from slicebridge.bridge.scenario import Scenario

TABLE_KPIS = ("offered_mbps", "throughput_mbps", "delay_mean_ms", "delay_p95_ms", "loss_ratio", "sla_ratio", "prb_used_share", "share_assigned")


def summarise(results: Sequence, scenario: Scenario) -> dict:
    """``summarise_arrays`` over evaluation results (``bridge.evaluate.EpisodeResult``)."""
    return summarise_arrays(np.concatenate([r.kpis for r in results]), np.concatenate([r.rewards for r in results]), scenario)


def summarise_arrays(kpis: np.ndarray, rewards: np.ndarray, scenario: Scenario) -> dict:
    """Mean of every KPI per slice over everything but the slice (``kpis [..., C, S, K]``; delays over
    delivered bytes, NaN for a slice that delivered nothing: ``app.slice_means``), plus the mean of
    ``rewards [..., C]``.

    Returns ``{"slices": {slice: {kpi: value}}, "reward": float}``. Throughput and offered load are
    averaged per cell (Mbit/s per cell and slice).
    """
    per_slice = per_slice_means(kpis)  # [S, K]
    return {
        "slices": {name: dict(zip(KPI_NAMES, map(float, per_slice[s]))) for s, name in enumerate(scenario.slice_names)},
        "reward": float(rewards.mean()),
    }


def format_kpi_table(summary: dict, scenario: Scenario, title: str = "") -> str:
    header = ["slice"] + [f"{k} [{KPI_UNITS[k]}]" for k in TABLE_KPIS]
    rows = [[name] + [f"{summary['slices'][name][k]:.3f}" for k in TABLE_KPIS] for name in scenario.slice_names]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = [f"== {title}: mean reward {summary['reward']:.3f} ==" if title else f"mean reward {summary['reward']:.3f}"]
    for r in [header] + rows:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(r, widths)))
    return "\n".join(lines)
