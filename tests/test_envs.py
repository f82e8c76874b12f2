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


def test_ppo_learns_on_vecenv_smoke(tmp_path):
    """SB3 trains on the native VecEnv without subprocesses (a few hundred steps, no assertion on skill)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    venv = SlicingVecEnv(make_core(load_scenario("tiny"), "litesim", num_envs=4, seed=0))
    # a log folder of its own: without one SB3 leaves an empty $TMPDIR/SB3-<date> folder per learn()
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu", tensorboard_log=str(tmp_path))
    model.learn(128)
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4, 1, 2)


def test_core_never_autoresets_and_vecenv_does():
    """Side by side with the same seed and actions: the core ends the episode on the terminal
    observation and stops; the VecEnv puts that observation into the infos and returns the next
    episode's first one (SB3's DummyVecEnv rule)."""
    s = load_scenario("tiny")
    core = make_core(s, "litesim", num_envs=2, seed=4)
    venv = SlicingVecEnv(make_core(s, "litesim", num_envs=2, seed=4))
    np.testing.assert_array_equal(core.reset(), venv.reset())
    actions = np.full((2, s.n_cells, s.n_slices), 0.5)
    for _ in range(s.control.episode_steps):
        last, _, _, truncated, core_infos = core.step(actions)
        obs, _, dones, infos = venv.step(actions)
    assert truncated.all() and core.episode_over and core.t == s.control.episode_steps
    assert all("terminal_observation" not in i for i in core_infos)
    with pytest.raises(RuntimeError, match="episode ended"):
        core.step(actions)
    assert dones.all()
    np.testing.assert_array_equal(np.stack([i["terminal_observation"] for i in infos]), last)
    assert venv.core.t == 0
    np.testing.assert_array_equal(obs, core.reset())  # the core's next (unseeded) episode
    assert not np.array_equal(obs, last)
    core.close()
    venv.close()


def test_unseeded_resets_follow_the_seed_rule():
    """Core and litesim agree: reset(s) starts instance b at s + b, each unseeded reset adds SEED_STRIDE."""
    from slicebridge.bridge.backend import SEED_STRIDE
    from slicebridge.litesim import LiteSim

    s = load_scenario("tiny")
    core = make_core(s, "litesim", num_envs=3, seed=7)
    sim = LiteSim(s, num_envs=3, seed=7)
    for k in range(3):
        core.reset()
        sim.reset()
        expected = 7 + np.arange(3) + k * SEED_STRIDE
        np.testing.assert_array_equal(core.backend.state.seeds, expected)
        np.testing.assert_array_equal(sim.state.seeds, expected)
    core.reset(seed=100)
    core.reset()
    np.testing.assert_array_equal(core.backend.state.seeds, 100 + np.arange(3) + SEED_STRIDE)
    core.close()


def test_core_state_rebuilds_the_episode_on_a_fresh_backend():
    """state_dict holds no simulator state: a fresh core re-simulates the episode from its seed and
    shares and continues bit for bit (this is what a training checkpoint resumes from)."""
    s = load_scenario("default")
    rng = np.random.default_rng(0)
    actions = rng.random((s.control.episode_steps + 5, 2, s.n_cells, s.n_slices))
    a = make_core(s, "litesim", num_envs=2, seed=9)
    a.reset()
    for t in range(s.control.episode_steps):
        a.step(actions[t])
    a.reset()  # second episode: an unseeded reset
    for t in range(3):
        a.step(actions[t])
    state = a.state_dict()
    assert state["episode_seed"] == 9 + (1 << 20) and state["shares"].shape == (3, 2, s.n_cells, s.n_slices)
    b = make_core(s, "litesim", num_envs=2, seed=0)
    b.load_state_dict(state)
    assert b.t == 3
    np.testing.assert_array_equal(b.kpis, a.kpis)
    np.testing.assert_array_equal(b.shares, a.shares)
    for t in range(3, 5):
        oa, ra, *_ = a.step(actions[t])
        ob, rb, *_ = b.step(actions[t])
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ra, rb)
    a.reset()
    b.reset()  # the seed sequence continues from the restored episode
    np.testing.assert_array_equal(a.backend.state.seeds, b.backend.state.seeds)
    a.close()
    b.close()
