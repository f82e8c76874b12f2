# SPDX-License-Identifier: GPL-2.0-only
"""The MFRL environment: link budget, EE and the collision reward against hand-computed values; the
Gymnasium and PettingZoo checkers."""

import math

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from slicebridge.envs.mfrl import MfrlConfig, MfrlCore, MfrlEnv, MfrlParallelEnv, link_metrics


def _snr_db(power_dbm, gain_db, density_dbm_hz, bw_mhz, nf_db=5.0):
    noise = density_dbm_hz + 10 * math.log10(bw_mhz * 1e6) + nf_db
    return power_dbm + gain_db - noise


def test_snr_rate_and_ee_by_hand():
    cfg = MfrlConfig(n_ues=2, scenario="urban_micro")
    gain = np.full((1, 2, 10), -100.0)
    gain[0, 1, 2] = -110.0
    out = link_metrics(cfg, gain, np.array([[9, 2]]), np.array([[20.0, 10.0]]))
    # UE 0 on the 1.44 MHz subchannel at 20 dBm: noise -170 + 61.58 + 5 = -103.42 dBm
    snr0 = _snr_db(20.0, -100.0, -170.0, 1.44)
    snr1 = _snr_db(10.0, -110.0, -170.0, 0.36)
    assert out["snr_db"][0] == pytest.approx([snr0, snr1])
    assert snr0 == pytest.approx(23.4164, abs=1e-3)
    rate0 = 1.44 * math.log2(1 + 10 ** (snr0 / 10))
    rate1 = 0.36 * math.log2(1 + 10 ** (snr1 / 10))
    assert out["rate_mbps"][0] == pytest.approx([rate0, rate1])
    ee0 = rate0 / (0.1 + 0.1)  # 20 dBm = 0.1 W, circuit power 0.1 W
    ee1 = rate1 / (0.01 + 0.1)
    assert out["ee"][0] == pytest.approx([ee0, ee1])
    assert out["success"][0].tolist() == [True, True]
    assert out["reward"][0] == pytest.approx(ee0 + ee1)


def test_noise_density_of_each_scenario_enters_the_snr():
    gain = np.full((1, 1, 10), -110.0)
    for name, density in [("indoor", -160.0), ("urban_micro", -170.0), ("urban_macro", -180.0), ("rural_macro", -185.0)]:
        out = link_metrics(MfrlConfig(n_ues=1, scenario=name), gain, np.array([[0]]), np.array([[24.0]]))
        assert out["snr_db"][0, 0] == pytest.approx(_snr_db(24.0, -110.0, density, 0.18))


def test_collision_and_snr_floor_give_the_failure_reward():
    cfg = MfrlConfig(n_ues=3)
    gain = np.full((2, 3, 10), -90.0)
    gain[1, 2, 5] = -140.0  # UE 2 of instance 1 sits below the 5 dB floor on subchannel 5
    sub = np.array([[0, 0, 5], [0, 1, 5]])
    out = link_metrics(cfg, gain, sub, np.full((2, 3), 10.0))
    assert out["collided"].tolist() == [[True, True, False], [False, False, False]]
    assert out["success"].tolist() == [[False, False, True], [True, True, False]]
    assert out["reward"] == pytest.approx([(1 - 3) / 3, (2 - 3) / 3])


def test_power_is_clipped_to_its_range():
    cfg = MfrlConfig(n_ues=1)
    gain = np.full((1, 1, 10), -100.0)
    hi = link_metrics(cfg, gain, np.array([[0]]), np.array([[40.0]]))
    top = link_metrics(cfg, gain, np.array([[0]]), np.array([[24.0]]))
    assert hi["snr_db"][0, 0] == pytest.approx(top["snr_db"][0, 0])


def test_core_link_budget_by_hand():
    cfg = MfrlConfig(n_ues=1, shadowing_std_db=0.0)
    core = MfrlCore(cfg, num_envs=1, seed=0)
    core.reset()
    core.xy = np.array([[[60.0, 80.0]]])  # 100 m from the BS
    core.shadowing_db = np.array([[2.0]])
    core.fading = np.full((1, 1, 10), 0.5)
    pl = 32.4 + 20 * math.log10(6.0) + 30 * math.log10(100.0)
    expected = 8.0 + 3.0 - pl - 2.0 + 10 * math.log10(0.5)
    assert core.gain_db() == pytest.approx(np.full((1, 1, 10), expected))


def test_core_observation_counts_successes_and_stops_at_episode_end():
    cfg = MfrlConfig(n_ues=4, episode_steps=3, scenario="rural_macro")
    core = MfrlCore(cfg, num_envs=2, seed=3)
    obs = core.reset()
    assert obs.shape == (2, 4, cfg.obs_dim)
    sub = np.array([[0, 0, 8, 9], [1, 2, 3, 4]])
    for t in range(3):
        obs, reward, term, trunc, info = core.step(sub, np.full((2, 4), 12.0))
        assert trunc.tolist() == [t == 2] * 2
    n = cfg.n_subchannels
    # previous choice as a signed one-hot (-1: failed there), others' occupancy: UE 0 of instance 0
    # shares subchannel 0 with UE 1
    assert obs[0, 0, n:2 * n].tolist() == [-1.0] + [0.0] * (n - 1)
    assert obs[1, 0, n:2 * n].tolist() == ([0.0, 1.0] + [0.0] * (n - 2) if core.prev_success[1, 0] else [0.0, -1.0] + [0.0] * (n - 2))
    others = obs[0, 0, 2 * n:3 * n]
    assert others[0] == 1.0 and others[8] == 1.0 and others[9] == 1.0 and others[1:8].sum() == 0
    assert core.successes[0, :2].tolist() == [0, 0]
    with pytest.raises(RuntimeError, match="episode ended"):
        core.step(sub, np.zeros((2, 4)))


def test_reset_with_a_seed_repeats_the_layout():
    core = MfrlCore(MfrlConfig(), num_envs=3)
    a = core.reset(seed=5)
    b = core.reset(seed=5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, core.reset(seed=6))


def test_bad_config_and_actions_raise():
    with pytest.raises(ValueError, match="scenario"):
        MfrlConfig(scenario="moon")
    with pytest.raises(ValueError, match="subchannel"):
        link_metrics(MfrlConfig(n_ues=1), np.zeros((1, 1, 10)), np.array([[10]]), np.zeros((1, 1)))


def test_gymnasium_checker():
    env = MfrlEnv(MfrlConfig(n_ues=3, episode_steps=20))
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    obs2, reward, term, trunc, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs2) and np.isfinite(reward)
    assert info["success"].shape == (3,)


def test_pettingzoo_parallel_checker():
    env = MfrlParallelEnv(MfrlConfig(n_ues=3, episode_steps=20))
    parallel_api_test(env, num_cycles=30)
    obs, _ = env.reset(seed=2)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    _, rewards, _, _, infos = env.step(actions)
    assert len(set(rewards.values())) == 1  # one shared reward
    assert set(infos["ue_0"]) >= {"snr_db", "ee", "success"}
