# SPDX-License-Identifier: GPL-2.0-only
"""Heuristic baselines: valid shares, shapes, behaviour, and a closed-loop ranking in litesim."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.agents.baselines import (
    BASELINES,
    EqualShares,
    GreedySla,
    ProportionalShares,
    StaticShares,
    _project_to_simplex,
    make_baseline,
)
from slicebridge.bridge.kpi import (
    ACTIVE_UES,
    DELAY_MEAN,
    N_KPIS,
    OFFERED,
    PRB_USED,
    SHARE,
    SLA_RATIO,
    THROUGHPUT,
)
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import load_scenario
from slicebridge.litesim import LiteSim

DEFAULT = load_scenario("default")
MIN = np.array([s.min_share for s in DEFAULT.slices])


def _random_kpis(shape, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.uniform(0, 5, shape + (N_KPIS,))
    k[..., SLA_RATIO] = rng.uniform(0, 1, shape)
    k[..., SHARE] = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    k[..., PRB_USED] = k[..., SHARE] * rng.uniform(0, 1, shape)
    return k


def _check_valid(shares, shape):
    assert shares.shape == shape
    np.testing.assert_allclose(shares.sum(-1), 1.0, atol=1e-9)
    assert np.all(shares >= MIN - 1e-9)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_output_valid_shares_batched_and_single(name):
    agent = make_baseline(name, DEFAULT)
    agent.reset()
    batched = _random_kpis((5, 3, 3))
    _check_valid(agent.act(batched), (5, 3, 3))
    single = agent.act(batched[2])
    _check_valid(single, (3, 3))
    if name != "greedy_sla":  # stateless rules: the single answer equals the batched row
        np.testing.assert_allclose(single, agent.act(batched)[2])
    with pytest.raises(ValueError, match="expected"):
        agent.act(np.zeros((3, 4, N_KPIS)))


def test_unknown_baseline_is_named():
    with pytest.raises(ValueError, match="allowed"):
        make_baseline("oracle", DEFAULT)


def test_projection_is_the_euclidean_projection():
    rng = np.random.default_rng(1)
    raw = rng.normal(0.3, 0.5, (200, 3))
    out = _project_to_simplex(raw, MIN)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-12)
    assert np.all(out >= MIN - 1e-12)
    # any other feasible point is at least as far from raw
    other = MIN + (1 - MIN.sum()) * rng.dirichlet(np.ones(3), 200)
    assert np.all(np.linalg.norm(out - raw, axis=-1) <= np.linalg.norm(other - raw, axis=-1) + 1e-12)
    inside = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(_project_to_simplex(inside, MIN), inside)


def test_equal_and_static():
    k = _random_kpis((3, 3))
    np.testing.assert_allclose(EqualShares(DEFAULT).act(k), np.tile(DEFAULT.initial_shares(), (3, 1)))
    fixed = StaticShares(DEFAULT, shares=[0.6, 0.3, 0.1]).act(k)
    np.testing.assert_allclose(fixed, np.tile([0.6, 0.3, 0.1], (3, 1)))
    below_min = StaticShares(DEFAULT, shares=[0.98, 0.01, 0.01]).act(k)
    _check_valid(below_min, (3, 3))


def test_proportional_follows_offered_load_and_demand_source():
    k = _random_kpis((3, 3))
    k[..., OFFERED] = [[9.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    out = ProportionalShares(DEFAULT).act(k)
    free = 1 - MIN.sum()
    np.testing.assert_allclose(out[0], MIN + free * np.array([0.9, 0.1, 0.0]))
    np.testing.assert_allclose(out[1], MIN + free / 3)  # no load: equal split of the free part
    oracle = ProportionalShares(DEFAULT, demand=lambda: np.array([[[0.0, 2.0, 2.0]] * 3])).act(k[None])[0]
    np.testing.assert_allclose(oracle[0], MIN + free * np.array([0.0, 0.5, 0.5]))


def test_greedy_moves_share_from_slack_to_violator_and_respects_minimum():
    k = np.zeros((1, 3, N_KPIS))
    k[0, :, SHARE] = [0.5, 0.3, 0.2]
    k[0, :, PRB_USED] = [0.5, 0.05, 0.05]
    k[0, :, OFFERED] = [10.0, 0.5, 0.1]
    k[0, :, THROUGHPUT] = [4.0, 0.5, 0.1]  # eMBB below its SLA (2 Mbit/s x 4 UEs)
    k[0, :, ACTIVE_UES] = [4, 3, 3]
    k[0, :, SLA_RATIO] = [0.3, 1.0, 1.0]
    k[0, :, DELAY_MEAN] = [300.0, 3.0, 3.0]
    sc = DEFAULT.with_updates(topology={"sectors": 1, "cell_load_shift_steps": []})
    agent = GreedySla(sc, step=0.05)
    out = agent.act(k)
    np.testing.assert_allclose(out[0], [0.55, 0.25, 0.2])  # slice 1 has the most slack
    k[0, :, SHARE] = [0.8, 0.1, 0.1]  # every donor at its minimum except mmtc
    out = agent.act(k)
    np.testing.assert_allclose(out[0], [0.85, 0.1, 0.05])
    k[0, :, SHARE] = [0.85, 0.1, 0.05]  # no donor left: unchanged
    np.testing.assert_allclose(agent.act(k)[0], [0.85, 0.1, 0.05])
    k[0, 0, [THROUGHPUT, SLA_RATIO, DELAY_MEAN]] = [10.0, 1.0, 20.0]  # all SLAs met: keep
    np.testing.assert_allclose(agent.act(k)[0], [0.85, 0.1, 0.05])


def _closed_loop(scenario, agent, steps=25, num_envs=4, seed=3):
    sim = LiteSim(scenario, num_envs=num_envs, seed=seed)
    reward = RewardFunction(scenario)
    kpis = sim.reset()
    agent.reset()
    total = []
    for _ in range(steps):
        kpis = sim.step(agent.act(kpis))
        total.append(reward(kpis))
    return float(np.mean(total)), sim


def _asymmetric():
    return load_scenario("tiny").with_updates(
        slices=[
            {"name": "heavy", "kind": "embb", "ues_per_cell": 3, "traffic": {"model": "cbr", "rate_mbps": 3.0},
             "sla": {"throughput_mbps": 3.0, "delay_ms": 100}},
            {"name": "light", "kind": "urllc", "ues_per_cell": 3,
             "traffic": {"model": "poisson", "rate_mbps": 0.3, "packet_size_bytes": 200},
             "sla": {"throughput_mbps": 0.3, "delay_ms": 20}},
        ],
        action={"work_conserving": False},
        reward={"name": "min_satisfaction"},
    )


def test_proportional_beats_equal_on_asymmetric_load():
    sc = _asymmetric()
    equal, _ = _closed_loop(sc, EqualShares(sc))
    proportional, _ = _closed_loop(sc, ProportionalShares(sc))
    assert proportional > equal + 0.1


def test_proportional_with_simulator_demand_and_greedy_beat_equal():
    sc = _asymmetric()
    equal, _ = _closed_loop(sc, EqualShares(sc))
    sim = LiteSim(sc, num_envs=4, seed=3)
    agent = ProportionalShares(sc, demand=sim.offered_load_mbps)
    kpis = sim.reset()
    reward = RewardFunction(sc)
    got = []
    for _ in range(25):
        kpis = sim.step(agent.act(kpis))
        got.append(reward(kpis))
    assert float(np.mean(got)) > equal + 0.1
    greedy, _ = _closed_loop(sc, GreedySla(sc, step=0.05))
    assert greedy > equal + 0.05
