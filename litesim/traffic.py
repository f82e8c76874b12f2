# SPDX-License-Identifier: GPL-2.0-only
"""Per-UE traffic generators at decision-period granularity (packets per period, per UE).

The models mirror ns-3's ``SliceTrafficSource`` (ns3_scenarios/model):

- ``cbr`` / ``full_buffer``: one packet every ``size·8 / rate`` s, random initial phase;
- ``poisson``: exponential inter-arrival times (Poisson counts per period);
- ``onoff``: exponential on and off durations (the source starts on with probability
  ``on/(on+off)``), constant rate while on;
- ``periodic``: one packet every ``period_ms``, random initial phase;
- ``uniform`` / ``truncated_exponential`` (renewal sources, ``traffic.about`` in contract.json): the
  count of a period is the renewal central limit, mean ``T/m`` and variance ``c²·T/m`` (c² the squared
  coefficient of variation of one inter-arrival time, :func:`renewal_scv`), rounded down with the
  remainder carried to the next period (so the long-run rate is exact even where a draw is negative).

Each UE's load multiplier (its (cell, slice)'s, or 0/1 for a mask of active UEs) multiplies its rate
(``periodic``: the packet frequency) in the period. Deterministic sources keep a fractional packet phase so that their long-run rate is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from slicebridge.bridge.contract import truncated_exponential_scale
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim.rng import (
    ONOFF_MAX_TOGGLES,
    CounterRng,
    Stream,
    onoff_toggle_stream,
    poisson_from_uniform,
)


@dataclass
class TrafficState:
    phase: np.ndarray  # [B, C, U] fractional packet carried over (deterministic sources)
    on: np.ndarray  # [B, C, U] bool, onoff sources
    residual_ms: np.ndarray  # [B, C, U] time left in the current on/off state


class TrafficModel:
    """Generates ``packets [B, C, U]`` (float32, whole numbers) per period for every UE."""

    def __init__(self, scenario: Scenario, rng: CounterRng):
        self.rng = rng
        self.slices = scenario.slices
        self.bounds: list[tuple[int, int]] = []
        start = 0
        for sl in scenario.slices:
            self.bounds.append((start, start + sl.ues_per_cell))
            start += sl.ues_per_cell
        self.packet_bytes = np.array(
            [sl.traffic.packet_size_bytes for sl in scenario.slices for _ in range(sl.ues_per_cell)], dtype=np.float32
        )
        self.pkts_per_ms = np.array([_packets_per_ms(sl.traffic) for sl in scenario.slices], dtype=np.float64)

    def init_state(self, keys: np.ndarray, periods: np.ndarray) -> TrafficState:
        phase = self.rng.uniform(keys, periods, Stream.TRAFFIC_PHASE)
        u_on = self.rng.uniform(keys, periods, Stream.ONOFF_START_ON)
        first = self.rng.exponential(keys, periods, Stream.ONOFF_FIRST_DURATION)
        on = np.ones(phase.shape, dtype=bool)
        residual = np.zeros(phase.shape, dtype=np.float32)
        for sl, (a, b) in zip(self.slices, self.bounds):
            if sl.traffic.model == "onoff" and b > a:
                t = sl.traffic
                on[..., a:b] = u_on[..., a:b] < t.on_ms / (t.on_ms + t.off_ms)
                residual[..., a:b] = first[..., a:b] * np.where(on[..., a:b], t.on_ms, t.off_ms)
        return TrafficState(phase, on, residual)

    def generate(self, st: TrafficState, keys: np.ndarray, periods: np.ndarray, scale: np.ndarray,
                 period_ms: float) -> np.ndarray:
        """Packets of the period ``[B, C, U]``; ``scale [B, C, U]`` is each UE's rate multiplier of the period."""
        shape = st.phase.shape
        packets = np.zeros(shape, dtype=np.float32)
        for s, (sl, (a, b)) in enumerate(zip(self.slices, self.bounds)):
            if b == a:
                continue
            model = sl.traffic.model
            mean = (self.pkts_per_ms[s] * period_ms * scale[..., a:b]).astype(np.float32)
            if model == "poisson":
                cols = slice(a, b)
                normal = self.rng.normal(keys, periods, Stream.POISSON_LARGE_MEAN, cols)
                uniform = partial(self.rng.uniform, keys, periods, Stream.POISSON_SMALL_MEAN, cols)  # drawn only for small means
                packets[..., a:b] = poisson_from_uniform(np.broadcast_to(mean, normal.shape), uniform, normal)
                continue
            if model in RENEWAL_MODELS:
                z = self.rng.normal(keys, periods, Stream.RENEWAL_COUNT, slice(a, b))
                acc = st.phase[..., a:b] + mean + np.sqrt(np.float32(renewal_scv(sl.traffic)) * mean) * z
                whole = np.maximum(np.floor(acc), 0.0)
                st.phase[..., a:b] = acc - whole  # negative after a negative draw: repaid by later periods
                packets[..., a:b] = whole
                continue
            if model == "onoff":
                on_ms = self._on_time(st, a, b, keys, periods, sl.traffic.on_ms, sl.traffic.off_ms, period_ms)
                expected = (self.pkts_per_ms[s] * scale[..., a:b]).astype(np.float32) * on_ms
            else:  # cbr, full_buffer, periodic: deterministic rate with a carried phase
                expected = mean
            acc = st.phase[..., a:b] + expected
            whole = np.floor(acc)
            st.phase[..., a:b] = acc - whole
            packets[..., a:b] = whole
        return packets

    def _on_time(self, st: TrafficState, a: int, b: int, keys: np.ndarray, periods: np.ndarray,
                 on_mean: float, off_mean: float, period_ms: float) -> np.ndarray:
        """Time (ms) the sources ``a:b`` spend on during the period; advances their on/off state."""
        on = st.on[..., a:b]
        resid = st.residual_ms[..., a:b]
        elapsed = np.zeros(on.shape, dtype=np.float32)
        on_time = np.zeros(on.shape, dtype=np.float32)
        for i in range(ONOFF_MAX_TOGGLES):
            seg = np.minimum(resid, period_ms - elapsed)
            on_time += np.where(on, seg, 0.0)
            elapsed += seg
            resid = resid - seg
            ended = resid <= 0.0
            if not ended.any():
                break
            on = np.where(ended, ~on, on)
            draw = self.rng.exponential(keys, periods, onoff_toggle_stream(i), slice(a, b))
            resid = np.where(ended, draw * np.where(on, on_mean, off_mean).astype(np.float32), resid)
        st.on[..., a:b] = on
        st.residual_ms[..., a:b] = resid
        return on_time


def _packets_per_ms(traffic) -> float:
    """Mean packets per ms of one UE at load scale 1."""
    if traffic.model == "periodic":
        return 1.0 / traffic.period_ms
    return traffic.rate_mbps * 1e6 / (8.0 * traffic.packet_size_bytes) / 1000.0


RENEWAL_MODELS = ("uniform", "truncated_exponential")


def renewal_scv(traffic) -> float:
    """Squared coefficient of variation (variance / mean²) of one inter-arrival time of a renewal source.

    ``uniform`` on m·[1 − j, 1 + j]: j²/3. ``truncated_exponential``, Exp(θ) below T = c·m (m = 1):
    E[X²] = (2θ² − e^(−T/θ)(T² + 2θT + 2θ²)) / (1 − e^(−T/θ)), minus the mean 1."""
    if traffic.model == "uniform":
        return traffic.jitter**2 / 3.0
    if traffic.model == "truncated_exponential":
        theta, bound = truncated_exponential_scale(traffic.truncation), traffic.truncation
        tail = np.exp(-bound / theta)
        second = (2 * theta**2 - tail * (bound**2 + 2 * theta * bound + 2 * theta**2)) / (1 - tail)
        return float(second - 1.0)
    raise ValueError(f"renewal_scv: traffic model {traffic.model!r} is not a renewal model {RENEWAL_MODELS}")
