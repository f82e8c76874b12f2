"""The KPI tensor both simulators produce every decision period.

Shape ``[..., cells, slices, len(KPI_NAMES)]`` (float64), leading dimensions for batch or time.
Every KPI is measured per cell and per slice over one decision period. Names, order, units and
meanings are defined once, in ``bridge/contract.json`` (shared with the C++ program); the table
below is built from it.

A slice with no delivered packet in a period reports delay 0 and, if nothing was offered either,
sla_ratio 1 (nothing was late).
"""

from __future__ import annotations

from slicebridge.bridge.contract import KPI_MEANINGS, KPI_NAMES, KPI_UNITS, RATIO_KPIS

__all__ = ["KPI_INDEX", "KPI_MEANINGS", "KPI_NAMES", "KPI_UNITS", "N_KPIS", "RATIO_KPIS"]
__doc__ += "\n".join(["", "KPIs (index: name [unit]: meaning):", ""]
                      + [f"{i:2d}: {n} [{KPI_UNITS[n]}]: {KPI_MEANINGS[n]}" for i, n in enumerate(KPI_NAMES)])

N_KPIS = len(KPI_NAMES)
KPI_INDEX: dict[str, int] = {name: i for i, name in enumerate(KPI_NAMES)}

OFFERED = KPI_INDEX["offered_mbps"]
THROUGHPUT = KPI_INDEX["throughput_mbps"]
DELAY_MEAN = KPI_INDEX["delay_mean_ms"]
DELAY_P95 = KPI_INDEX["delay_p95_ms"]
LOSS = KPI_INDEX["loss_ratio"]
SLA_RATIO = KPI_INDEX["sla_ratio"]
BACKLOG = KPI_INDEX["backlog_bytes"]
ACTIVE_UES = KPI_INDEX["active_ues"]
PRB_USED = KPI_INDEX["prb_used_share"]
SHARE = KPI_INDEX["share_assigned"]
SPECTRAL_EFF = KPI_INDEX["spectral_eff_bps_hz"]
COMPUTE_SHARE = KPI_INDEX["compute_share"]
COMPUTE_DELAY = KPI_INDEX["compute_delay_ms"]
