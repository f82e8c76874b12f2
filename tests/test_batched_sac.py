# SPDX-License-Identifier: GPL-2.0-only
"""Batched SAC (agents.batched_sac) against the per-model SB3 path it replaces.

Tolerance as tests/test_batched_td3.py; a wrong Gaussian draw, entropy coefficient, index or target
moves weights by 1e-3 or more.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.batched_sac import unsupported_reason
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub
from slicebridge.agents.training import TrainConfig, train
from slicebridge.envs import make_core
from tests.test_batched_dqn import train_both, train_cut_and_resumed
from tests.test_batched_td3 import assert_same_actor_critic_run, td3_cfg, tiny

torch.set_num_threads(1)
#: warm-up, several gradient steps per rollout, a target update every other gradient step of a train() call
KWARGS = dict(learning_starts=40, batch_size=16, train_freq=4, gradient_steps=3, target_update_interval=2)


def _cfg(engine: str, **kw) -> TrainConfig:
    """test_batched_td3's tiny federated run, with SAC."""
    return td3_cfg(engine, **{"algorithm": "sac", "algo_kwargs": dict(KWARGS), **kw})


@pytest.mark.parametrize("label,changes", [
    ("SAC federated (FedAvg), entropy coefficient learnt", {}),
    ("FedProx, half the clients", {"strategy": "fedprox", "fraction_fit": 0.5, "scenario": tiny(3)}),
    ("independent, a fixed entropy coefficient and three critics",
     {"mode": "independent", "algo_kwargs": {**KWARGS, "ent_coef": 0.05, "policy_kwargs": {"n_critics": 3}}}),
    ("action noise on top of the sampled actions, one instance", {"num_envs": 1, "total_steps": 128, "algo_kwargs": {**KWARGS, "action_noise": 0.1}}),
    ("per-slice agents: several units per model", {"grouping": "slice"}),
])
def test_batched_sac_follows_the_per_model_path(label, changes):
    assert_same_actor_critic_run(*train_both(_cfg, changes))


@pytest.mark.parametrize("cut_engine", ["batched", "per_model"])
def test_batched_sac_resume_matches_an_uninterrupted_per_model_run(tmp_path, cut_engine):
    """Cut after 3 rounds (replay buffers, log α and its Adam moments checkpointed), resumed batched."""
    assert_same_actor_critic_run(*train_cut_and_resumed(_cfg, tmp_path, cut_engine))


def test_learning_starts_beyond_the_budget_leaves_the_models_untrained_on_both_paths():
    """Only uniform warm-up actions and no gradient step on either path (no actor sample, no replay sample):
    counters, buffers and weights match, and the weights stay the initial global model."""
    changes = {"algo_kwargs": {**KWARGS, "learning_starts": 10_000}}
    per_model, batched = train(_cfg("per_model", **changes)), train(_cfg("batched", **changes))
    assert batched.models[0]._n_updates == 0 and len(batched.history) >= 3
    assert_same_actor_critic_run(per_model, batched)
    for pa, pb in zip(batched.models[0].actor.parameters(), batched.models[1].actor.parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())  # FedAvg of unchanged equal models


def test_what_batched_sac_cannot_train_is_named():
    core = make_core(tiny(2), "litesim", num_envs=2, seed=0)
    hub = LockstepHub(core, [[0], [1]])
    same = [build_model("sac", CellGroupVecEnv(hub, k), seed=k) for k in range(2)]
    assert unsupported_reason(same, [1, 1]) is None
    sde = [build_model("sac", CellGroupVecEnv(hub, k), seed=k, algo_kwargs={"use_sde": True}) for k in range(2)]
    assert "gSDE" in unsupported_reason(sde, [1, 1])
    ent = [build_model("sac", CellGroupVecEnv(hub, k), seed=k, algo_kwargs={"ent_coef": 0.1 * (k + 1)}) for k in range(2)]
    assert "ent_coef differ" in unsupported_reason(ent, [1, 1])
    with pytest.raises(ValueError, match="engine 'batched' cannot train this run: gSDE"):
        train(_cfg("batched", algo_kwargs={**KWARGS, "use_sde": True}))
    assert train(_cfg("auto", algo_kwargs={**KWARGS, "use_sde": True}, total_steps=64)).history  # per model
