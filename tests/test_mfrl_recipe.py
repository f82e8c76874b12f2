# SPDX-License-Identifier: GPL-2.0-only
"""MFRL training and the recipe at a tiny budget: federation rounds, η, the full table, plots, reuse."""

import numpy as np
import pytest
import torch

from slicebridge.agents.hybrid_ppo import HybridPPOConfig
from slicebridge.agents.mfrl import UeRunner, adapt, evaluate, meta_train
from slicebridge.app.recipes import RECIPES, main
from slicebridge.app.recipes.mfrl import METHODS, MfrlRecipeConfig, run_mfrl
from slicebridge.envs.mfrl import MfrlConfig

torch.set_num_threads(1)
TINY = {"trunk": (16,), "critic_hidden": 8, "rollout_steps": 4, "batch_size": 8, "n_epochs": 1}


def test_runner_counts_eta_per_ue():
    runner = UeRunner(MfrlConfig(n_ues=3, episode_steps=2), num_envs=2, seed=0, shared=False)
    for _ in range(3):  # crosses an episode end
        sub = np.array([[0, 0], [0, 0], [9, 9]])  # UEs 0 and 1 collide everywhere
        obs, reward, done, last = runner.step(sub, np.full((3, 2), 24.0))
    assert runner.steps == 3
    assert runner.eta[:2].tolist() == [0.0, 0.0]
    assert 0.0 <= runner.eta[2] <= 1.0
    assert obs.shape == (3, 2, MfrlConfig().obs_dim)


def test_federated_adaptation_ends_with_one_model_and_reports_eta():
    cfg = MfrlConfig(n_ues=3, episode_steps=8)
    ppo = HybridPPOConfig(**TINY)
    meta = meta_train(cfg, (2, 3), 2, ppo, 2, seed=0)
    res = adapt(cfg, meta.final, "success", 4, ppo, 2, fed_every=2, seed=1)
    assert res.rounds == 1 and len(res.curve) == 4  # none at the last iteration: local models act
    assert not np.array_equal(res.policy.agent_params(0)[0], res.policy.agent_params(1)[0])
    one = adapt(cfg, meta.final, "success", 3, ppo, 2, fed_every=3, seed=1)
    assert one.rounds == 0
    # with a zero step size only the average moves weights: independent inits end up as one model
    frozen = HybridPPOConfig(**{**TINY, "learning_rate": 0.0})
    avg = adapt(cfg, None, "success", 3, frozen, 2, fed_every=2, seed=1, common_init=False)
    assert avg.rounds == 1
    for k in range(1, 3):
        assert all(np.allclose(a, b) for a, b in zip(avg.policy.agent_params(0), avg.policy.agent_params(k)))
    assert ((res.eta >= 0) & (res.eta <= 1)).all()
    local = adapt(cfg, None, None, 2, ppo, 2, fed_every=1, seed=1, common_init=False)
    assert local.rounds == 0
    assert not np.array_equal(local.policy.agent_params(0)[0], local.policy.agent_params(1)[0])
    out = evaluate(res.policy, cfg, layouts=3, steps=4, seed=5)
    assert set(out) == {"reward", "success", "system_ee"} and all(np.isfinite(list(out.values())))
    with pytest.raises(ValueError, match="cannot drive"):
        evaluate(res.policy, cfg.with_(n_ues=5), 2, 2, 0)


def test_recipe_tiny_budget_gives_the_full_table(tmp_path):
    assert "mfrl" in RECIPES
    cfg = MfrlRecipeConfig(out_dir=tmp_path, seeds=2, num_envs=2, meta_iterations=2, adapt_iterations=6, fed_every=2,
                           eval_layouts=3, eval_steps=3, ue_counts=(2, 6), progress=False, ppo=dict(TINY), part="mfrl")
    table = run_mfrl(cfg)
    for word in (*METHODS, "indoor", "urban_macro", "rural_macro", "Ablation", "claims"):
        assert word in table
    assert "nan" not in table and "±" in table
    for png in ("mfrl_convergence.png", "mfrl_meta.png", "mfrl_test_ee.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert (tmp_path / "mfrl.md").read_text() == table
    again = run_mfrl(MfrlRecipeConfig(out_dir=tmp_path, reuse=True, part="mfrl"))
    assert again == table  # rebuilt from mfrl.json without training


def test_recipe_cli_options(capsys):
    with pytest.raises(SystemExit):
        main(["mfrl", "--help"])
    assert "--adapt-iterations" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown methods"):
        run_mfrl(MfrlRecipeConfig(methods=("MFRL", "magic")))


def test_recipe_slicing_part_tiny_budget(tmp_path):
    cfg = MfrlRecipeConfig(out_dir=tmp_path, seeds=2, part="slicing", slicing_meta_loads=(0.5, 1.5), slicing_cycles=1,
                           slicing_visit_steps=50, slicing_adapt_steps=100, slicing_num_envs=2, slicing_local_steps=25, progress=False)
    table = run_mfrl(cfg)
    assert "meta-initialised" in table and "from scratch" in table and "nan" not in table
    assert (tmp_path / "mfrl_slicing.md").read_text() == table
    assert run_mfrl(MfrlRecipeConfig(out_dir=tmp_path, reuse=True, part="slicing")) == table
