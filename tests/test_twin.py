# SPDX-License-Identifier: GPL-2.0-only
"""The learned twin (DT-DRL): it learns a known linear system; its env replays that system."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from slicebridge.agents.twin import CellEnv, TransitionLog, TwinConfig, TwinEnv, TwinModel
from slicebridge.bridge.scenario import load_scenario

A = np.array([[0.6, 0.2, 0.0], [0.0, 0.5, 0.3], [0.1, 0.0, 0.7]])
B = np.array([[1.0, 0.0], [0.5, -0.5], [0.0, 1.0]])
C_OBS, C_ACT = np.array([1.0, -0.5, 0.25]), np.array([0.8, -0.3])
FEATURES = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]], dtype=np.float32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def linear_log(episodes: int, steps: int, seed: int) -> TransitionLog:
    """x' = A x + B u(a), r = c·x + d·u(a), u(a) = FEATURES[a], random actions."""
    rng = np.random.default_rng(seed)
    log = TransitionLog()
    for _ in range(episodes):
        x = rng.normal(0.0, 1.0, 3)
        log.start(x)
        for _ in range(steps):
            a = int(rng.integers(len(FEATURES)))
            u = FEATURES[a]
            reward = C_OBS @ x + C_ACT @ u
            x = A @ x + B @ u
            log.add(a, reward, x)
    return log


def r_squared(pred: np.ndarray, truth: np.ndarray) -> float:
    return 1.0 - float(np.sum((pred - truth) ** 2) / np.sum((truth - truth.mean(axis=0)) ** 2))


def test_twin_learns_a_known_linear_system():
    th.manual_seed(0)
    model = TwinModel(3, FEATURES, TwinConfig(history=3, epochs=60, seed=1))
    before = model.fit(linear_log(40, 25, seed=2), epochs=1)
    after = model.fit(linear_log(40, 25, seed=2))
    assert after["state_mse"] < 0.1 * before["state_mse"]
    test = linear_log(10, 25, seed=3).arrays()
    L = model.cfg.history
    preds, truth, rpred, rtruth = [], [], [], []
    for obs, actions, rewards in test:
        for t in range(L - 1, len(actions)):
            nxt, rew = model.predict(obs[None, t - L + 1:t + 1], actions[None, t - L + 1:t + 1])
            preds.append(nxt[0]), truth.append(obs[t + 1]), rpred.append(rew[0]), rtruth.append(rewards[t])
    assert r_squared(np.array(preds), np.array(truth)) > 0.97
    assert r_squared(np.array(rpred), np.array(rtruth)) > 0.97


def test_twin_env_rolls_the_model_from_logged_states():
    log = linear_log(5, 10, seed=4)
    model = TwinModel(3, FEATURES, TwinConfig(history=2, epochs=5, seed=0))
    model.fit(log)
    env = TwinEnv(model, log, spaces.Box(-50.0, 50.0, (3,), np.float32), len(FEATURES), episode_steps=7, seed=0)
    obs, _ = env.reset(seed=1)
    starts = np.concatenate([o for o, _, _ in log.arrays()])
    assert np.any(np.all(np.isclose(starts, obs), axis=1))  # a real logged state
    for t in range(7):
        obs, reward, terminated, truncated, _ = env.step(t % len(FEATURES))
        assert obs.shape == (3,) and np.isfinite(reward) and not terminated
    assert truncated


def test_cell_env_logs_real_transitions():
    log = TransitionLog()
    env = CellEnv(load_scenario("dt_drl_3slice"), "litesim", log=log)
    try:
        obs, _ = env.reset(seed=0)
        for a in (0, 85, 170):
            obs, reward, *_ = env.step(a)
        (o, acts, rews), = log.arrays()
        assert env.interactions == 3 and list(acts) == [0, 85, 170]
        np.testing.assert_array_equal(o[-1], obs)
        assert env.action_features().shape == (171, 3)
        np.testing.assert_allclose(env.action_features().sum(axis=1), 1.0, rtol=1e-6)
    finally:
        env.close()
