# SPDX-License-Identifier: GPL-2.0-only
"""Batched TD3 and DDPG (agents.batched_td3) against the per-model SB3 path they replace.

Tolerance as tests/test_batched_ppo.py (measured ~6e-8 on weights after 8 federated rounds); a wrong
noise draw, index, delay or target moves weights by 1e-3 or more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.batched_td3 import unsupported_reason
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub
from slicebridge.agents.transfer import freeze
from slicebridge.agents.training import TrainConfig
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core
from tests.test_batched_dqn import train_both, train_cut_and_resumed

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-5
#: warm-up, action noise, several gradient steps per rollout, delayed actor updates
KWARGS = dict(learning_starts=40, batch_size=16, train_freq=4, gradient_steps=2)


def tiny(cells: int = 2) -> Scenario:
    return Scenario.from_yaml(ROOT / "scenarios" / "tiny.yaml").with_updates(topology={"sites": cells})


def td3_cfg(engine: str, **kw) -> TrainConfig:
    """The tiny federated TD3 run of these tests on ``engine`` (``kw``: what differs)."""
    base = dict(scenario=tiny(), algorithm="td3", total_steps=192, num_envs=2, local_steps=8, progress=False, tensorboard=False,
                algo_kwargs=dict(KWARGS), net_arch=[32, 32], engine=engine)
    return TrainConfig(**{**base, **kw})


def assert_same_actor_critic_run(a, b) -> None:
    """Two runs of TD3/DDPG/SAC models are the same: rewards, weights (targets included), SAC's log α,
    counters, replay buffers and the trained actors' deterministic actions on the observations seen."""
    assert a.core_steps == b.core_steps and len(a.history) == len(b.history)
    np.testing.assert_allclose([h["reward"] for h in a.history], [h["reward"] for h in b.history], atol=TOL)
    for ma, mb in zip(a.models, b.models):
        for pa, pb in zip(ma.policy.parameters(), mb.policy.parameters()):  # targets included
            np.testing.assert_allclose(pa.detach().numpy(), pb.detach().numpy(), atol=TOL)
        if getattr(ma, "log_ent_coef", None) is not None:
            np.testing.assert_allclose(ma.log_ent_coef.detach().numpy(), mb.log_ent_coef.detach().numpy(), atol=TOL)
        assert (ma.num_timesteps, ma._n_updates) == (mb.num_timesteps, mb._n_updates)
        np.testing.assert_allclose(ma.replay_buffer.actions, mb.replay_buffer.actions, atol=TOL)
        # continuous actions: a last-bit difference in an action moves the next observations as little
        np.testing.assert_allclose(ma.replay_buffer.observations, mb.replay_buffer.observations, atol=TOL)
        obs = ma.replay_buffer.observations[: ma.replay_buffer.pos].reshape(-1, ma.observation_space.shape[0])
        np.testing.assert_allclose(ma.predict(obs, deterministic=True)[0], mb.predict(obs, deterministic=True)[0], atol=TOL)


@pytest.mark.parametrize("label,changes", [
    ("TD3 federated, its own actor step size", {"algo_kwargs": {**KWARGS, "actor_learning_rate": 5e-4}}),
    ("DDPG with FedProx and half the clients", {"algorithm": "ddpg", "strategy": "fedprox", "fraction_fit": 0.5, "scenario": tiny(3)}),
    ("TD3 independent", {"mode": "independent"}),
    ("one instance: the action noise is not vectorised", {"num_envs": 1, "total_steps": 128}),
])
def test_batched_td3_follows_the_per_model_path(label, changes):
    assert_same_actor_critic_run(*train_both(td3_cfg, changes))


def test_batched_td3_resume_matches_an_uninterrupted_per_model_run(tmp_path):
    assert_same_actor_critic_run(*train_cut_and_resumed(td3_cfg, tmp_path, "batched"))


def test_what_batched_td3_cannot_train_is_named():
    core = make_core(tiny(2), "litesim", num_envs=2, seed=0)
    hub = LockstepHub(core, [[0], [1]])
    models = [build_model("td3", CellGroupVecEnv(hub, k), seed=k, net_arch=[8 * (k + 1)]) for k in range(2)]
    assert "differ in shape" in unsupported_reason(models, [1, 1])
    sac = [build_model("sac", CellGroupVecEnv(hub, k), seed=k) for k in range(2)]
    assert "SAC is not one of" in unsupported_reason(sac, [1, 1])
    same = [build_model("td3", CellGroupVecEnv(hub, k), seed=k) for k in range(2)]
    assert unsupported_reason(same, [1, 1]) is None
    freeze(same[1])  # a deployed source cell (TL-MADRL): its own settings, so the per-model path
    assert "differ" in unsupported_reason(same, [1, 1])
