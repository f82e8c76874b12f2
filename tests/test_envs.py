"""The standard environment views over litesim pass Gymnasium's, PettingZoo's and SB3's checkers."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import parallel_api_test
from slicebridge.bridge.scenario import load_scenario
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from slicebridge.envs import SlicingEnv, SlicingParallelEnv, SlicingVecEnv, make_core


@pytest.mark.parametrize("name", ["tiny", "default", "fdrl_10edge"])
def test_gymnasium_and_sb3_checkers(name):
    env = SlicingEnv(load_scenario(name))
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(SlicingEnv(load_scenario(name)), warn=True)
    env.close()


@pytest.mark.parametrize("name", ["tiny", "default", "dt_drl_3slice"])
def test_pettingzoo_parallel_api(name):
    env = SlicingParallelEnv(load_scenario(name))
    parallel_api_test(env, num_cycles=60)
    env.close()


def test_gym_episode_truncates_at_episode_steps_and_is_seeded():
    s = load_scenario("tiny")
    env = SlicingEnv(s)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    steps, trunc = 0, False
    while not trunc:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        steps += 1
        assert not term and np.isfinite(r)
    assert steps == s.control.episode_steps
    a, _ = env.reset(seed=3)
    b, _ = SlicingEnv(s).reset(seed=3)
    assert np.array_equal(a, b)


def test_vecenv_batch_steps_and_autoresets():
    s = load_scenario("default")
    venv = SlicingVecEnv(make_core(s, "litesim", num_envs=8, seed=0))
    obs = venv.reset()
    assert obs.shape == (8, 3, venv.core.obs_dim)
    for t in range(s.control.episode_steps):
        obs, rew, done, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(8)]))
        assert rew.shape == (8,) and np.all(np.isfinite(rew))
    assert done.all() and all("terminal_observation" in i for i in infos)
    assert all(i["TimeLimit.truncated"] for i in infos)
    venv.close()


def test_ppo_learns_on_vecenv_smoke():
    """SB3 trains on the native VecEnv without subprocesses (a few hundred steps, no assertion on skill)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    venv = SlicingVecEnv(make_core(load_scenario("tiny"), "litesim", num_envs=4, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(128)
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4, 1, 2)
