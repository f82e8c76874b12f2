# SPDX-License-Identifier: GPL-2.0-only
"""litesim's LTE latency floor and HARQ retransmissions (issue 10), against hand-computed values.

Measured in ns-3 per packet (``slicebridge-lte --traceDir``, docs/FIDELITY.md "The LTE latency
floor"): a packet that finds its slice idle takes half a TTI to the next boundary on average, the
2-TTI MAC-to-channel delay and 1 TTI on the air; a TB whose first transmission fails comes 7 TTIs later.
"""

from __future__ import annotations

import csv
import subprocess
from typing import Any

import numpy as np
import pytest

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, load_scenario
from slicebridge.litesim import simulator
from slicebridge.litesim.simulator import (HARQ_RETX_MS, LTE_PIPELINE_MS, LiteSim, fixed_latency_ms,
                                           harq_retx_probability)
from slicebridge.ns3.runtime import write_runtime_json


def _one_periodic_ue(delay_budget_ms: float = 50.0, **litesim: Any) -> Scenario:
    """One cell (no neighbour: no interference, no HARQ), one UE near the site sending 100 bytes every
    20 ms: a single deterministic source (no random wait) whose packet fits one TB (no extra TTIs)."""
    return Scenario.model_validate({
        "name": "one_periodic_ue", "seed": 3,
        "topology": {"sites": 1, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": 25, "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "m", "kind": "mmtc", "ues_per_cell": 1,
                    "traffic": {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": 100},
                    "sla": {"throughput_mbps": 0.01, "delay_ms": delay_budget_ms}}],
        "control": {"decision_period_ms": 100, "episode_steps": 4, "warmup_ms": 100},
        "litesim": litesim,
    })


def _steps(sc: Scenario, n: int = 3) -> np.ndarray:
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.reset()
    return np.stack([sim.step(np.ones((1, 1, 1))) for _ in range(n)])[:, 0, 0, 0]  # [n, K]


def test_pipeline_is_half_a_tti_plus_mac_to_channel_plus_one_tti() -> None:
    assert LTE_PIPELINE_MS == pytest.approx(0.5 + 2 + 1)
    sc = _one_periodic_ue(base_delay_ms=1.5, slice_delay_ms=[0.25])
    assert fixed_latency_ms(sc) == pytest.approx([3.5 + 1.5 + 0.25])


def test_light_load_delay_is_the_lte_pipeline() -> None:
    k = _steps(_one_periodic_ue())
    assert np.all(k[:, K.THROUGHPUT] == pytest.approx(k[:, K.OFFERED]))
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], 3.5, rtol=1e-5)
    np.testing.assert_allclose(k[:, K.DELAY_P95], 3.5, rtol=1e-5)
    # every packet at 3.5 ms: inside a 3.6 ms budget, outside a 3.4 ms one
    assert np.all(_steps(_one_periodic_ue(delay_budget_ms=3.6))[:, K.SLA_RATIO] == pytest.approx(1.0))
    assert np.all(_steps(_one_periodic_ue(delay_budget_ms=3.4))[:, K.SLA_RATIO] == pytest.approx(0.0))
    # a core latency adds to it
    np.testing.assert_allclose(_steps(_one_periodic_ue(base_delay_ms=2.0))[:, K.DELAY_MEAN], 5.5, rtol=1e-5)


def test_harq_probability_hand_values() -> None:
    """Two states (idle 1 − ℓ, busy ℓ): ℓ(1 − ℓ) where the idle CQI is the higher, 0 where both give
    the same efficiency. Four states of two neighbours busy with 0.5 and 0.2 (probabilities 0.4, 0.1,
    0.4, 0.1 for none, first, second, both; efficiencies 5, 2, 4, 1): a TB fails where its CQI's state
    supports more than the TB's, Σ p_a p_b over those pairs = 0.4·0.6 (none over the others) +
    0.4·0.2 (second over first and both) + 0.1·0.1 (first over both) = 0.33."""
    for load, idle, busy, expected in [(0.3, 5.0, 2.0, 0.21), (0.5, 5.0, 2.0, 0.25), (0.0, 5.0, 2.0, 0.0),
                                       (1.0, 5.0, 2.0, 0.0), (0.3, 3.0, 3.0, 0.0)]:
        p = harq_retx_probability([np.float32([1 - load]), np.float32([load])], [np.float32([idle]), np.float32([busy])])
        np.testing.assert_allclose(p, [expected], atol=1e-7)
    probs = [np.float32([0.4]), np.float32([0.1]), np.float32([0.4]), np.float32([0.1])]
    ses = [np.float32([5.0]), np.float32([2.0]), np.float32([4.0]), np.float32([1.0])]
    np.testing.assert_allclose(harq_retx_probability(probs, ses), [0.33], atol=1e-6)


@pytest.mark.parametrize("p, mean, p95, within_6ms, within_12ms", [
    (0.2, 3.5 + 0.2 * 7.0, 10.5, 0.8, 1.0),  # a fifth of the packets retransmitted: the p95 is theirs
    (0.04, 3.5 + 0.04 * 7.0, 3.5, 0.96, 1.0),  # under 5 %: the p95 stays at the pipeline
])
def test_a_retransmitted_share_comes_one_harq_round_trip_later(monkeypatch, p, mean, p95, within_6ms, within_12ms) -> None:
    monkeypatch.setattr(simulator, "harq_retx_probability", lambda probs, ses: np.full_like(ses[0], p))
    assert HARQ_RETX_MS == 7.0
    k = _steps(_one_periodic_ue(delay_budget_ms=6.0))
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], mean, rtol=1e-5)
    np.testing.assert_allclose(k[:, K.DELAY_P95], p95, rtol=1e-4)
    np.testing.assert_allclose(k[:, K.SLA_RATIO], within_6ms, rtol=1e-5)
    np.testing.assert_allclose(_steps(_one_periodic_ue(delay_budget_ms=12.0))[:, K.SLA_RATIO], within_12ms, rtol=1e-5)


def test_strong_interferers_are_each_ues_largest_neighbour_gains() -> None:
    """One cell: no neighbour to tell busy from idle (K = 0). Three sectors of one site: both other
    sectors, strongest first, with their gains."""
    sim = LiteSim(_one_periodic_ue(), num_envs=1, seed=3)
    sim.reset()
    assert sim.n_strong == 0 and sim.state.strong.shape[-1] == 0
    sim = LiteSim(load_scenario("default"), num_envs=1, seed=7)
    sim.reset()
    st = sim.state
    g = st.gain_int.reshape(st.gain_own.shape + (sim.n_cells,))
    assert sim.n_strong == 2
    np.testing.assert_array_equal(st.strong_gain[..., 0], g.max(-1))
    np.testing.assert_array_equal(np.sort(st.strong, axis=-1), np.broadcast_to(
        [[[1, 2]], [[0, 2]], [[0, 1]]], st.strong.shape))  # the other two sectors
    assert np.all(st.strong_gain[..., 0] >= st.strong_gain[..., 1])


@pytest.mark.ns3
def test_ns3_packet_trace_shows_the_pipeline_floor(ns3_binary, tmp_path) -> None:
    """``slicebridge-lte --traceDir``: one cell (no interference, so no HARQ), URLLC at light load
    (200-byte Poisson packets, one TB each): every delivered packet is in packets.csv, none arrives
    before the 3 TTIs of MAC-to-channel delay and air time, and their mean is litesim's pipeline
    (half a TTI of waiting for the boundary on top)."""
    tiny = load_scenario("tiny")
    slices = [s.model_dump(mode="json") for s in tiny.slices]
    slices[0]["load_profile"] = {"kind": "constant", "scale": 0.0}  # eMBB silent
    slices[1]["traffic"] = {"model": "poisson", "rate_mbps": 0.2, "packet_size_bytes": 200}
    sc = tiny.with_updates(slices=slices, control={"episode_steps": 5, "warmup_ms": 100})
    config = write_runtime_json(sc, 1, tmp_path / "runtime.json")
    subprocess.run([str(ns3_binary), f"--config={config}", f"--output={tmp_path / 'kpis.jsonl'}", "--simSeed=1",
                    f"--traceDir={tmp_path}"], check=True, capture_output=True, timeout=600)
    with open(tmp_path / "packets.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "tb.csv") as f:
        tbs = list(csv.DictReader(f))
    urllc = {u for u, ue in enumerate(sc.ue_slice_index()) if ue == 1}
    delays = np.array([float(r["delay_us"]) / 1e3 for r in rows if int(r["ue"]) in urllc])
    assert len(delays) > 50 and all(0 <= int(r["ue"]) < sc.ues_per_cell for r in rows)
    assert delays.min() >= 3.0 - 1e-9
    assert abs(np.median(delays) - LTE_PIPELINE_MS) < 0.6
    assert tbs and sum(int(t["rv"]) > 0 for t in tbs) <= 0.05 * len(tbs)


def test_queued_bytes_carry_the_mean_retransmission_delay(monkeypatch) -> None:
    """A saturated queue from empty (Poisson above the service rate, one UE, no neighbour): every byte
    delivered queued in the fluid, arrivals at rate λ served at μ, so the delivered bytes' queueing
    delays are uniform on [0, T(1 − μ/λ)]: mean T(λ − μ)/(2λ), p95 0.95·T(1 − μ/λ). With a
    retransmitted share p each byte's delay grows by p·7 ms (the bytes behind a retransmitted TB wait
    for it at the receiver), on top of 3.5 ms of pipeline; the retransmissions also take TTIs, so μ
    is the rate over 1 + p (checked on the throughput)."""
    sc = Scenario.model_validate({
        "name": "one_saturated_ue", "seed": 3,
        "topology": {"sites": 1, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": 100, "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "s", "kind": "embb", "ues_per_cell": 1,
                    "traffic": {"model": "poisson", "rate_mbps": 80.0, "packet_size_bytes": 1200}}],
        "control": {"decision_period_ms": 10.0, "episode_steps": 1, "warmup_ms": 0.0},
    })
    T = sc.control.decision_period_ms
    throughput = {}
    for p in (0.0, 0.2):
        monkeypatch.setattr(simulator, "harq_retx_probability", lambda probs, ses, p=p: np.full_like(ses[0], p))
        k = _steps(sc, 1)[0]
        lam, mu = k[K.OFFERED], k[K.THROUGHPUT]
        assert lam > 1.2 * mu and k[K.LOSS] == 0
        assert k[K.DELAY_MEAN] == pytest.approx(T * (lam - mu) / (2 * lam) + 3.5 + p * 7.0, rel=1e-3)
        assert k[K.DELAY_P95] == pytest.approx(0.95 * T * (1 - mu / lam) + 3.5 + p * 7.0, rel=1e-3)
        throughput[p] = mu
    assert throughput[0.0] / throughput[0.2] == pytest.approx(1.2, rel=1e-4)
