# SPDX-License-Identifier: GPL-2.0-only
"""The paper's (DT-DRL) renewal traffic models, uniform and truncated-exponential inter-arrivals:
their mean rate equals the configured rate in litesim and in real ns-3."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.bridge import contract
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, ScenarioError, load_scenario
from slicebridge.litesim import LiteSim
from slicebridge.litesim.traffic import renewal_scv
from slicebridge.ns3.backend import Ns3Backend

UNIFORM = {"model": "uniform", "rate_mbps": 2.0, "jitter": 0.8, "packet_size_bytes": 1000}
TRUNC_EXP = {"model": "truncated_exponential", "rate_mbps": 1.0, "truncation": 3.0, "packet_size_bytes": 200}


def renewal_tiny(period_ms: float = 100.0, steps: int = 40) -> Scenario:
    """scenarios/tiny.yaml with a uniform eMBB source and a truncated-exponential URLLC source."""
    data = load_scenario("tiny").model_dump(mode="json")
    data["slices"][0]["traffic"] = UNIFORM
    data["slices"][1]["traffic"] = TRUNC_EXP
    data["control"].update(decision_period_ms=period_ms, episode_steps=steps)
    return Scenario.model_validate(data)


def configured_mbps(scenario: Scenario) -> np.ndarray:
    return np.array([s.traffic.rate_mbps * s.ues_per_cell for s in scenario.slices])


@pytest.mark.parametrize("truncation", [2.2, 3.0, 10.0, 200.0])
def test_truncated_exponential_scale_keeps_the_mean(truncation):
    theta = contract.truncated_exponential_scale(truncation)
    x = np.linspace(0.0, truncation, 400_001)
    density = np.exp(-x / theta)
    mean = np.trapezoid(x * density, x) / np.trapezoid(density, x)
    assert mean == pytest.approx(1.0, rel=1e-6)
    assert theta >= 1.0  # the bound cuts the tail, so the untruncated mean must be larger (= 1 in float far out)


def test_truncation_at_or_below_two_is_refused():
    with pytest.raises(ValueError, match="exceed 2"):
        contract.truncated_exponential_scale(2.0)
    data = load_scenario("tiny").model_dump(mode="json")
    data["slices"][1]["traffic"] = dict(TRUNC_EXP, truncation=1.5)
    with pytest.raises(ScenarioError, match="truncation"):
        Scenario.from_dict(data)


def test_renewal_scv_of_one_interval():
    rng = np.random.default_rng(0)
    scenario = renewal_tiny()
    uniform = rng.uniform(1 - 0.8, 1 + 0.8, 400_000)
    assert renewal_scv(scenario.slices[0].traffic) == pytest.approx(uniform.var() / uniform.mean() ** 2, rel=0.01)
    theta = contract.truncated_exponential_scale(3.0)
    draws = rng.exponential(theta, 800_000)
    draws = draws[draws <= 3.0]
    assert draws.mean() == pytest.approx(1.0, rel=0.01)
    assert renewal_scv(scenario.slices[1].traffic) == pytest.approx(draws.var() / draws.mean() ** 2, rel=0.02)


def test_litesim_mean_rate_matches_the_configured_rate():
    scenario = renewal_tiny()
    sim = LiteSim(scenario, num_envs=8, seed=3)
    sim.reset(seed=3)
    shares = np.full((8, 1, 2), 0.5)
    offered = np.mean([sim.step(shares)[:, 0, :, K.OFFERED] for _ in range(200)], axis=(0, 1))
    np.testing.assert_allclose(offered, configured_mbps(scenario), rtol=0.01)


def test_litesim_renewal_counts_are_less_bursty_than_poisson():
    """A uniform source (c² = 0.21 here) varies less per period than a Poisson one of the same rate."""
    scenario = renewal_tiny()
    data = scenario.model_dump(mode="json")
    data["slices"][0]["traffic"] = {"model": "poisson", "rate_mbps": 2.0, "packet_size_bytes": 1000}
    spreads = []
    for sc in (scenario, Scenario.model_validate(data)):
        sim = LiteSim(sc, num_envs=8, seed=4)
        sim.reset(seed=4)
        offered = np.array([sim.step(np.full((8, 1, 2), 0.5))[:, 0, 0, K.OFFERED] for _ in range(100)])
        spreads.append(offered.std())
    assert spreads[0] < 0.7 * spreads[1], spreads


def test_ns3_mean_rate_matches_the_configured_rate(ns3_binary):
    scenario = renewal_tiny(period_ms=100.0, steps=25)
    with Ns3Backend(scenario) as backend:
        backend.reset(seed=7)
        offered = np.mean([backend.step(np.array([[[0.5, 0.5]]]))[0, 0, :, K.OFFERED] for _ in range(25)], axis=0)
    # 2 s of traffic: ~1000 uniform and ~2500 truncated-exponential packets; 6 % is > 3 sd of either count
    np.testing.assert_allclose(offered, configured_mbps(scenario), rtol=0.06)
