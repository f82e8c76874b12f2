"""The KPI tensor both simulators produce every decision period.

Shape ``[..., cells, slices, len(KPI_NAMES)]`` (float64), leading dimensions for batch or time.
Every KPI is measured per cell and per slice over one decision period:

=====================  ===========  ==========================================================
name                   unit         meaning
=====================  ===========  ==========================================================
offered_mbps           Mbit/s       application bits generated for the slice's UEs / period
throughput_mbps        Mbit/s       application bits delivered to the slice's UEs / period
delay_mean_ms          ms           mean end-to-end delay of packets delivered in the period
delay_p95_ms           ms           95th percentile of that delay
loss_ratio             [0, 1]       packets lost (buffer drops) / packets offered
sla_ratio              [0, 1]       share of offered packets delivered within the delay budget
backlog_bytes          bytes        bytes queued for the slice's UEs at the end of the period
active_ues             count        UEs of the slice with data offered or queued in the period
prb_used_share         [0, 1]       PRBs used by the slice / PRBs of the cell
share_assigned         [0, 1]       share commanded by the agent (after projection)
spectral_eff_bps_hz    bit/s/Hz     mean spectral efficiency of the slice's UEs (CQI-mapped)
=====================  ===========  ==========================================================

A slice with no delivered packet in a period reports delay 0 and, if nothing was offered either,
sla_ratio 1 (nothing was late).
"""

from __future__ import annotations

KPI_NAMES: tuple[str, ...] = (
    "offered_mbps",
    "throughput_mbps",
    "delay_mean_ms",
    "delay_p95_ms",
    "loss_ratio",
    "sla_ratio",
    "backlog_bytes",
    "active_ues",
    "prb_used_share",
    "share_assigned",
    "spectral_eff_bps_hz",
)
KPI_UNITS: dict[str, str] = {
    "offered_mbps": "Mbit/s",
    "throughput_mbps": "Mbit/s",
    "delay_mean_ms": "ms",
    "delay_p95_ms": "ms",
    "loss_ratio": "ratio",
    "sla_ratio": "ratio",
    "backlog_bytes": "bytes",
    "active_ues": "UEs",
    "prb_used_share": "ratio",
    "share_assigned": "ratio",
    "spectral_eff_bps_hz": "bit/s/Hz",
}
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
