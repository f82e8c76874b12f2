# SPDX-License-Identifier: GPL-2.0-only
"""The SB3 VecEnv contract on every VecEnv we ship, with DummyVecEnv's semantics, and SB3's own
wrappers and callbacks on top (VecNormalize, VecMonitor, EvalCallback, CheckpointCallback)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub, run_workers
from slicebridge.bridge.scenario import load_scenario
from slicebridge.envs import SlicingVecEnv, make_core
from slicebridge.envs.slice_units import SliceUnitCore
from slicebridge.envs.vec_contract import InstanceView


def slicing_venv(num_envs: int = 3, seed: int = 5) -> SlicingVecEnv:
    return SlicingVecEnv(make_core(load_scenario("tiny"), "litesim", num_envs=num_envs, seed=seed))


def cell_group_venv(num_envs: int = 2, sites: int = 3) -> tuple[CellGroupVecEnv, LockstepHub]:
    scenario = load_scenario("tiny").with_updates(topology={"sites": sites})
    hub = LockstepHub(make_core(scenario, "litesim", num_envs=num_envs, seed=7), [[0, 2], [1]])
    return CellGroupVecEnv(hub, 0), hub


def test_slicing_vecenv_get_attr_reads_the_envs_not_the_scenario():
    venv = slicing_venv()
    spaces_ = venv.get_attr("observation_space")
    assert len(spaces_) == 3 and all(s == venv.observation_space for s in spaces_)
    assert venv.get_attr("action_space", indices=[1]) == [venv.action_space]
    assert venv.get_attr("num_envs") == [1, 1, 1]
    assert venv.get_attr("instance") == [0, 1, 2]
    assert venv.get_attr("render_mode") == [None] * 3
    with pytest.raises(AttributeError, match="no_such_attribute"):
        venv.get_attr("no_such_attribute")
    venv.close()


def test_slicing_vecenv_set_attr_env_method_and_wrapping_follow_dummy_vecenv():
    venv = slicing_venv()
    venv.set_attr("label", "x", indices=[0, 2])
    assert venv.get_attr("label", indices=[0, 2]) == ["x", "x"]
    with pytest.raises(AttributeError):
        venv.get_attr("label", indices=1)  # only the indices named were set
    assert venv.env_method("get_wrapper_attr", "instance") == [0, 1, 2]
    assert venv.env_method("has_wrapper_attr", "kpis", indices=0) == [True]
    with pytest.raises(AttributeError):
        venv.env_method("no_such_method")
    with pytest.raises(RuntimeError, match="step\\(\\) on the VecEnv"):
        venv.env_method("step", venv.action_space.sample(), indices=0)
    assert venv.env_is_wrapped(Monitor) == [False] * 3
    assert venv.env_is_wrapped(gym.Wrapper, indices=[1]) == [False]
    obs = venv.reset()
    kpis = venv.get_attr("kpis")
    np.testing.assert_array_equal(np.stack(kpis), venv.core.kpis)  # each env's own KPI tensor [C, S, 11]
    assert obs.shape[0] == 3
    venv.close()


def test_slicing_vecenv_seed_returns_the_seeds_the_next_reset_uses():
    venv = slicing_venv(num_envs=3, seed=5)
    assert venv.seed(11) == [11, 12, 13]  # instance b at s + b, as DummyVecEnv seeds its envs
    venv.reset()
    assert venv.get_attr("episode_seed") == [11, 12, 13]
    upcoming = venv.seed()  # no seed: the core's sequence goes on
    venv.reset()
    assert venv.get_attr("episode_seed") == upcoming and upcoming != [11, 12, 13]
    venv.seed(11)
    first = venv.reset()
    venv.seed(11)
    np.testing.assert_array_equal(venv.reset(), first)
    venv.close()


def test_get_images_is_documented_none_with_a_warning():
    venv = slicing_venv(num_envs=2)
    with pytest.warns(UserWarning, match="draw nothing"):
        assert venv.get_images() == [None, None]
    venv.close()


def test_cell_group_vecenv_has_the_same_contract_per_cell():
    proxy, hub = cell_group_venv(num_envs=2, sites=3)
    assert proxy.num_envs == 4
    assert proxy.get_attr("observation_space") == [proxy.observation_space] * 4
    assert proxy.get_attr("num_envs") == [1] * 4
    assert proxy.get_attr("cell") == [0, 2, 0, 2] and proxy.get_attr("instance") == [0, 0, 1, 1]
    with pytest.raises(AttributeError):
        proxy.get_attr("missing")
    assert proxy.env_method("get_wrapper_attr", "unit", indices=[1]) == [2]
    assert proxy.env_is_wrapped(Monitor) == [False] * 4
    # the trainer seeds the shared core: seed() leaves it alone and tells each index its instance's seed
    assert proxy.seed(123) == [7, 7, 8, 8]
    hub.core.reset()
    assert proxy.get_attr("episode_seed") == [7, 7, 8, 8]
    kpis = proxy.get_attr("kpis", indices=[1])[0]
    np.testing.assert_array_equal(kpis, hub.core.kpis[0, 2])  # [S, 11] of cell 2 in instance 0
    with pytest.warns(UserWarning):
        assert proxy.get_images() == [None] * 4


def test_per_slice_units_map_to_their_cells():
    scenario = load_scenario("tiny").with_updates(topology={"sites": 2})
    units = SliceUnitCore(make_core(scenario, "litesim", num_envs=1, seed=0))
    hub = LockstepHub(units, [[0, 1, 2, 3]])
    proxy = CellGroupVecEnv(hub, 0)
    assert proxy.get_attr("unit") == [0, 1, 2, 3] and proxy.get_attr("cell") == [0, 0, 1, 1]
    units.reset()
    np.testing.assert_array_equal(proxy.get_attr("shares", indices=3)[0], units.shares[0, 1])


def test_instance_view_is_a_gymnasium_env_that_refuses_to_run_alone():
    venv = slicing_venv(num_envs=1)
    view = venv.views[0]
    assert isinstance(view, InstanceView) and isinstance(view, gym.Env)
    with pytest.raises(RuntimeError, match="reset\\(\\) on the VecEnv"):
        view.reset()
    assert view.render() is None and view.unwrapped is view
    venv.close()


def test_sb3_wrappers_and_callbacks_on_slicing_vecenv(tmp_path, one_torch_thread):
    """PPO on VecNormalize(VecMonitor(SlicingVecEnv)) with EvalCallback and CheckpointCallback
    (saving the VecNormalize statistics), a few hundred steps on the tiny scenario."""
    train = VecNormalize(VecMonitor(slicing_venv(num_envs=2, seed=0)))
    evaluation = VecNormalize(VecMonitor(slicing_venv(num_envs=1, seed=100)), training=False, norm_reward=False)
    eval_cb = EvalCallback(evaluation, n_eval_episodes=2, eval_freq=64, log_path=str(tmp_path / "eval"),
                           best_model_save_path=str(tmp_path / "best"), verbose=0)
    ckpt_cb = CheckpointCallback(save_freq=64, save_path=str(tmp_path / "ckpt"), save_vecnormalize=True)
    model = PPO("MlpPolicy", train, n_steps=32, batch_size=32, n_epochs=1, seed=0, verbose=0,
                policy_kwargs={"net_arch": [8]}, device="cpu", tensorboard_log=str(tmp_path / "tb"))
    model.learn(total_timesteps=256, callback=[eval_cb, ckpt_cb])
    assert eval_cb.n_calls > 0 and len(eval_cb.evaluations_results) >= 2
    assert all(len(r) == 2 for r in eval_cb.evaluations_results)  # whole episodes, counted by VecMonitor
    assert np.isfinite(eval_cb.best_mean_reward)
    assert (tmp_path / "best" / "best_model.zip").is_file()
    assert sorted(p.suffix for p in (tmp_path / "ckpt").iterdir()).count(".pkl") >= 1  # VecNormalize saved
    restored = VecNormalize.load(str(next((tmp_path / "ckpt").glob("*.pkl"))), VecMonitor(slicing_venv(num_envs=2)))
    assert restored.obs_rms.mean.shape == train.observation_space.shape
    for venv in (train, evaluation, restored):
        venv.close()


def test_sb3_wrappers_and_callbacks_on_cell_group_vecenv(tmp_path, one_torch_thread):
    """A lockstep worker's VecEnv under VecNormalize(VecMonitor(.)) trains with a CheckpointCallback and
    an EvalCallback whose eval env is another worker VecEnv (a one-worker hub runs in any thread)."""
    scenario = load_scenario("tiny")
    hub = LockstepHub(make_core(scenario, "litesim", num_envs=2, seed=0), [[0]])
    train = VecNormalize(VecMonitor(CellGroupVecEnv(hub, 0)))
    eval_hub = LockstepHub(make_core(scenario, "litesim", num_envs=1, seed=9), [[0]])
    evaluation = VecNormalize(VecMonitor(CellGroupVecEnv(eval_hub, 0)), training=False, norm_reward=False)
    eval_cb = EvalCallback(evaluation, n_eval_episodes=2, eval_freq=64, log_path=str(tmp_path / "eval"), verbose=0)
    ckpt_cb = CheckpointCallback(save_freq=64, save_path=str(tmp_path / "ckpt"), save_vecnormalize=True)
    model = PPO("MlpPolicy", train, n_steps=32, batch_size=32, n_epochs=1, seed=0, verbose=0,
                policy_kwargs={"net_arch": [8]}, device="cpu", tensorboard_log=str(tmp_path / "tb"))
    run_workers(hub, [lambda: model.learn(total_timesteps=256, callback=[eval_cb, ckpt_cb])])
    assert hub.steps == 128 and eval_hub.steps == 2 * 2 * scenario.control.episode_steps
    assert len(model.ep_info_buffer) > 0  # VecMonitor's episode records reach SB3's logger
    assert len(eval_cb.evaluations_results) == 2 and np.isfinite(eval_cb.last_mean_reward)
    assert len(list((tmp_path / "ckpt").glob("*.zip"))) == 2 and len(list((tmp_path / "ckpt").glob("*.pkl"))) == 2
