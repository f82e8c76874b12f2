# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL loop (agents.dt_drl, the paper's Algorithm 1) at tiny budgets, litesim and ns-3 as the real system."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.agents.dt_drl import DtDrlConfig, LinearEpsilon, interactions_to_target, train_dt_drl
from slicebridge.bridge.scenario import Scenario, load_scenario

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_DQN = dict(learning_rate=1e-3, gamma=0.9, buffer_size=500, learning_starts=4, batch_size=8, train_freq=1,
                gradient_steps=1, target_update_interval=20)


def tiny_agent(**kw) -> DtDrlConfig:
    base = dict(net_arch=(16, 16), real_steps=6, round_steps=3, twin_steps=5, twin_start=3, eval_steps=2,
                eps_decay=10, algo_kwargs=TINY_DQN)
    return DtDrlConfig(**{**base, **kw})


def test_interactions_to_target():
    curve = [{"real": 0, "reward": 0.1}, {"real": 200, "reward": 0.9}, {"real": 400, "reward": 0.5}]
    assert interactions_to_target(curve, 0.8) == 200
    assert interactions_to_target(curve, 0.95) is None


def test_epsilon_follows_the_agents_own_steps():
    class Stub:
        num_timesteps = 0

    eps = LinearEpsilon(Stub, 1.0, 0.1, 10)
    assert eps(1.0) == 1.0
    Stub.num_timesteps = 5
    assert eps(0.0) == pytest.approx(0.55)
    Stub.num_timesteps = 50
    assert eps(0.7) == pytest.approx(0.1)


def test_loop_with_the_twin_counts_real_and_twin_steps():
    result = train_dt_drl(load_scenario("dt_drl_3slice"), tiny_agent(twin=True, seed=3), "litesim", log=lambda _m: None)
    curve = result["curve"]
    assert [p["real"] for p in curve] == [0, 3, 6]
    assert [p["twin_steps"] for p in curve] == [0, 0, 5]  # a twin phase starts each round once 3 transitions are logged
    assert all(np.isfinite(p["reward"]) for p in curve) and np.isfinite(curve[-1]["state_mse"])


def test_ns3_as_real_system_with_pretraining_and_twin(ns3_binary):
    """Both ns-3 paths at a tiny budget: litesim pre-training then ns-3, and the learned twin on ns-3 data."""
    cfg = tiny_agent(real_steps=4, round_steps=2, twin_steps=3, twin_start=2, eval_steps=1, twin=True,
                     pretrain_simulator="litesim", pretrain_steps=4)
    data = load_scenario("tiny").model_dump(mode="json")  # small topology: ns-3 steps fast
    data["action"] = {"mode": "absolute", "units": 10}
    result = train_dt_drl(Scenario.from_dict(data), cfg, "ns3", log=lambda _m: None)
    assert result["real"] == "ns3" and result["pretrain"] == "litesim"
    assert [p["real"] for p in result["curve"]] == [0, 2, 4]
    assert [p["twin_steps"] for p in result["curve"]] == [0, 0, 3]
    assert all(0.0 <= p["reward"] <= 1.0 for p in result["curve"])  # tiny's reward: min satisfaction
