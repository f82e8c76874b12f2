"""Transfer between per-cell agents (slicebridge.agents.transfer): VAE distance, source selection,
weight loading, replay mixing, the two-rate TD3 and the model_init hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.training import TrainConfig, train
from slicebridge.agents.transfer import (
    MixedReplayBuffer,
    default_action_samples,
    distance_matrix,
    fit_vae,
    gaussian_kl,
    select_sources,
    source_transitions,
    transfer_init,
)
from slicebridge.agents.transitions import Transitions
from slicebridge.bridge.scenario import load_scenario
from slicebridge.bridge.observation import ObservationBuilder
from slicebridge.envs import SlicingVecEnv, make_core


def _agent_data(rng: np.random.Generator, shift: float, n: int = 600) -> np.ndarray:
    """(state, reward)-like samples: 5 correlated features and a reward in [0, 1]."""
    base = rng.normal(size=(n, 2))
    x = np.column_stack([base[:, 0], base[:, 1], base.sum(axis=1), 0.5 * base[:, 0] - base[:, 1], rng.uniform(size=n),
                         1 / (1 + np.exp(-base[:, 0]))])
    return x + shift


def test_vae_distance_identical_agents_closest_and_shift_farther():
    rng = np.random.default_rng(0)
    src = [_agent_data(rng, 0.0), _agent_data(rng, 3.0)]
    vaes = [fit_vae(x, epochs=40, seed=s) for s, x in enumerate(src)]
    same = src[0]  # identical data
    fresh = _agent_data(rng, 0.0)  # new draws of the same distribution
    near, far = _agent_data(rng, 0.5), _agent_data(rng, 2.0)
    d = distance_matrix([same, fresh, near, far], src, vaes)
    assert d.shape == (4, 2)
    assert d[0, 0] == pytest.approx(0.0, abs=1e-9)  # identical data: zero distance
    assert d[0, 0] < d[1, 0] < d[2, 0] < d[3, 0]  # farther as the shift grows
    assert d[1, 0] < 0.5 * d[1, 1]  # a fresh draw of source 0's distribution is closer to source 0 than to the shifted source 1
    assert select_sources(np.array([[9.0, d[1, 0], d[1, 1]]]).repeat(3, 0), sources=[1, 2], targets=[0]) == {0: 1}


def test_gaussian_kl_is_squared_mean_distance_for_equal_variances():
    mu0, mu1, var = np.array([0.0, 1.0]), np.array([2.0, -1.0]), np.array([0.5, 0.5])
    assert gaussian_kl(mu0, var, mu1, var) == pytest.approx(np.sum((mu1 - mu0) ** 2) / (2 * 0.5))
    assert gaussian_kl(mu0, var, mu0, var) == 0.0


def test_select_sources_most_and_least_similar_never_self():
    d = np.array([[0.0, 5.0, 1.0, 9.0],
                  [2.0, 0.0, 7.0, 3.0],
                  [4.0, 1.0, 0.0, 6.0],
                  [8.0, 2.0, 3.0, 0.0]])
    assert select_sources(d, sources=[0, 1], targets=[2, 3]) == {2: 1, 3: 1}
    assert select_sources(d, sources=[0, 1], targets=[2, 3], most_similar=False) == {2: 0, 3: 0}
    assert select_sources(d, sources=[0, 1, 2, 3], targets=[0]) == {0: 2}  # its own zero distance is not a candidate
    with pytest.raises(ValueError, match="no source"):
        select_sources(d, sources=[1], targets=[1])


def _buffer(n_envs: int = 2, size: int = 100) -> MixedReplayBuffer:
    obs_space, act_space = spaces.Box(0, 1, (3,), np.float32), spaces.Box(0, 1, (2,), np.float32)
    src = Transitions(obs=np.full((50, 3), 7.0, np.float32) + np.arange(50, dtype=np.float32)[:, None], actions=np.full((50, 2), 0.25, np.float32),
                      next_obs=np.full((50, 3), 8.0, np.float32), dones=np.zeros(50, np.float32), rewards=np.full(50, 0.9, np.float32))
    return MixedReplayBuffer(size, obs_space, act_space, device="cpu", n_envs=n_envs, source=src, ratio=0.25)


def test_mixed_replay_holds_the_stated_fraction_of_source_transitions():
    np.random.seed(0)
    buf = _buffer()
    only_source = buf.sample(32)  # nothing of its own yet: every transition from the source
    assert np.all(only_source.observations.numpy()[:, 0] >= 7.0)
    for i in range(30):  # the target's own transitions: observations in [0, 1), reward 0.1
        o = np.full((2, 3), i / 40, np.float32)
        buf.add(o, o, np.full((2, 2), 0.5, np.float32), np.full(2, 0.1, np.float32), np.zeros(2), [{}, {}])
    src_obs = {tuple(r) for r in buf.source.obs}
    for _ in range(20):
        batch = buf.sample(32)
        obs = batch.observations.numpy()
        from_source = obs[:, 0] >= 7.0
        assert from_source.sum() == 8  # round(0.25 · 32)
        assert all(tuple(r) in src_obs for r in obs[from_source])  # they are the source's transitions, unchanged
        assert np.allclose(batch.rewards.numpy()[from_source], 0.9) and np.allclose(batch.rewards.numpy()[~from_source], 0.1)
        assert np.allclose(batch.actions.numpy()[from_source], 0.25)
    with pytest.raises(ValueError, match="ratio"):
        MixedReplayBuffer(10, spaces.Box(0, 1, (3,)), spaces.Box(0, 1, (2,)), source=buf.source, ratio=1.5)


def test_source_transitions_flatten_every_env_and_respect_timeouts():
    buf = _buffer(n_envs=2, size=8)  # 4 rows × 2 envs
    for i in range(6):  # wraps around: rows hold steps 4, 5, 2, 3
        o = np.array([[i, 0, 0], [i, 1, 0]], np.float32)
        buf.add(o, o + 1, np.zeros((2, 2), np.float32), np.array([i, -i], np.float32), np.array([1.0, 1.0]),
                [{"TimeLimit.truncated": True}, {}])
    t = source_transitions(buf)
    assert len(t) == 8
    assert t.obs[:, 0].tolist() == [2, 2, 3, 3, 4, 4, 5, 5]  # oldest first
    assert t.rewards.tolist() == [2, -2, 3, -3, 4, -4, 5, -5]
    assert t.dones.tolist() == [0, 1] * 4  # env 0's dones came from the time limit


def test_two_rate_td3_keeps_its_actor_rate_after_updates():
    scenario = load_scenario("tiny")
    env = SlicingVecEnv(make_core(scenario, "litesim", num_envs=1, seed=0))
    try:
        model = build_model("td3", env, seed=0, algo_kwargs=dict(learning_rate=1e-3, actor_learning_rate=5e-4, learning_starts=10, batch_size=8,
                                                                  policy_delay=1))
        model.learn(30)
        assert model.actor.optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)
        assert model.critic.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    finally:
        env.close()


def test_transfer_init_loads_source_weights_mixes_replay_and_freezes(tmp_path):
    torch.set_num_threads(1)
    scenario = load_scenario("default")  # 3 cells
    algo = dict(learning_rate=1e-3, actor_learning_rate=5e-4, batch_size=16, learning_starts=20, buffer_size=2000, gamma=0.1)
    src = train(TrainConfig(scenario=scenario, algorithm="td3", mode="independent", total_steps=60, num_envs=2, local_steps=10, seed=1,
                            algo_kwargs=algo, progress=False, tensorboard=False, checkpoint_every=0))
    replays = {k: source_transitions(m.replay_buffer) for k, m in enumerate(src.models)}
    assert len(replays[0]) == 60
    seen: dict[int, object] = {}

    hook = transfer_init(src.models, {2: 0}, replays, ratio=0.5, frozen=[0, 1])

    def spy(k, model):
        hook(k, model)
        seen[k] = model
        if k == 2:  # right after the hook: cell 2 holds cell 0's networks
            for a, b in zip(model.policy.state_dict().values(), src.models[0].policy.state_dict().values()):
                assert torch.equal(a, b)

    frozen_before = {k: {n: t.clone() for n, t in src.models[k].policy.state_dict().items()} for k in (0, 1)}
    run = train(TrainConfig(scenario=scenario, algorithm="td3", mode="independent", total_steps=40, num_envs=2, local_steps=10, seed=2,
                            algo_kwargs={**algo, "learning_starts": 0}, progress=False, tensorboard=False, checkpoint_every=0, model_init=spy))
    assert isinstance(run.models[2].replay_buffer, MixedReplayBuffer) and run.models[2].replay_buffer.source is replays[0]
    for k in (0, 1):  # frozen cells kept their trained networks through training
        for n, t in run.models[k].policy.state_dict().items():
            assert torch.equal(t, frozen_before[k][n]), (k, n)
    assert not all(torch.equal(a, b) for a, b in zip(run.models[2].policy.state_dict().values(), src.models[0].policy.state_dict().values()))


def test_default_action_samples_shape_and_reward_column():
    scenario = load_scenario("default")
    x = default_action_samples(scenario, steps=6, num_envs=2, seed=3)
    assert x.shape == (scenario.n_cells, 12, ObservationBuilder(scenario).obs_dim + 1)
    assert np.isfinite(x).all() and np.all((x[..., -1] >= 0) & (x[..., -1] <= 1))
    core = make_core(scenario, "litesim", num_envs=2, seed=3)  # the same run by hand: first step, instance 1, cell 2
    obs = core.reset()
    _, rewards, *_ = core.step(np.ones((2, scenario.n_cells, scenario.n_slices)))
    core.close()
    assert np.allclose(x[2, 1], np.append(obs[1, 2], rewards[1, 2]))
