# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL's agents: Double DQN's target and the dueling head's aggregation."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from slicebridge.agents.algorithms import build_model
from slicebridge.agents.dqn_family import DoubleDQN, DuelingHead, DuelingQNetwork, double_q_values, dueling_aggregate
from slicebridge.bridge.scenario import load_scenario
from slicebridge.agents.twin import CellEnv
from stable_baselines3 import DQN
from stable_baselines3.common.vec_env import DummyVecEnv

PAPER_LAYERS = [256, 256, 128, 128]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Fixed(th.nn.Module):
    """A 'network' that returns fixed Q-values for every observation."""

    def __init__(self, q: list[float]):
        super().__init__()
        self.q = th.tensor([q])

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.q.expand(obs.shape[0], -1)


def test_double_target_uses_the_online_argmax():
    online, target = Fixed([1.0, 5.0, 2.0]), Fixed([10.0, 0.5, 7.0])
    values = double_q_values(online, target, th.zeros(4, 3))
    # online prefers action 1, so the target network's value of action 1 (0.5), not its max (10)
    np.testing.assert_array_equal(values.numpy(), np.full((4, 1), 0.5))


@pytest.fixture(scope="module")
def dt_env():
    env = DummyVecEnv([lambda: CellEnv(load_scenario("dt_drl_3slice"), "litesim")])
    yield env
    env.close()


def test_ddqn_next_values_follow_online_argmax_and_differ_from_dqn(dt_env):
    model = build_model("ddqn", dt_env, seed=1, net_arch=[32, 32], algo_kwargs={"learning_starts": 0})
    assert isinstance(model, DoubleDQN) and isinstance(model, DQN)
    with th.no_grad():
        for p in model.q_net_target.parameters():  # make the two networks disagree
            p.add_(th.randn_like(p))
        obs = th.as_tensor(np.random.default_rng(0).random((64, dt_env.observation_space.shape[0])), dtype=th.float32)
        got = model.next_values(obs)
        online_best = model.q_net(obs).argmax(dim=1)
        target_q = model.q_net_target(obs)
        expected = target_q[th.arange(64), online_best][:, None]
        np.testing.assert_allclose(got.numpy(), expected.numpy())
        assert not th.allclose(got, target_q.max(dim=1, keepdim=True).values)  # plain DQN's target differs


def test_dueling_aggregation():
    value, advantage = th.tensor([[2.0], [-1.0]]), th.tensor([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])
    q = dueling_aggregate(value, advantage)
    np.testing.assert_allclose(q.numpy(), [[2 + 1 - 3, 2 + 2 - 3, 2 + 6 - 3], [-1 - 1, -1 - 1, -1 + 2]])


def test_dueling_head_mean_q_is_the_state_value():
    th.manual_seed(0)
    head = DuelingHead(5, 7, PAPER_LAYERS, th.nn.ReLU)
    x = th.randn(16, 5)
    with th.no_grad():
        q = head(x)
        value = head.value(head.trunk(x))
    np.testing.assert_allclose(q.mean(dim=1, keepdim=True).numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    widths = [m.out_features for m in head.trunk if isinstance(m, th.nn.Linear)]
    assert widths == [256, 256, 128]
    assert [m.out_features for m in head.advantage if isinstance(m, th.nn.Linear)] == [128, 7]


def test_dueling_ddqn_builds_dueling_networks_with_the_papers_layers(dt_env):
    model = build_model("dueling_ddqn", dt_env, seed=2, net_arch=PAPER_LAYERS, algo_kwargs={"learning_starts": 16, "batch_size": 16})
    assert isinstance(model, DoubleDQN)
    assert isinstance(model.q_net, DuelingQNetwork) and isinstance(model.q_net_target, DuelingQNetwork)
    assert isinstance(dt_env.action_space, spaces.Discrete) and dt_env.action_space.n == 171
    model.learn(40)  # trains through SB3's loop with the double target: weights move
    assert model._n_updates > 0
