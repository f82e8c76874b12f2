# SPDX-License-Identifier: GPL-2.0-only
"""Batched PPO (agents.batched_ppo) against the per-model SB3 path it replaces.

Tolerance: the batched path multiplies all models' layers in one ``baddbmm``; the per-model path
does one ``addmm`` per model. Both round to float32, but the kernels may sum in another order, so a
value can differ in its last bit (~1e-7 relative; measured 1e-7 on values after one rollout, 4e-7 on
weights after 8 federated rounds of the default scenario). Over the few rounds here the differences
stay below 1e-5; a real bug (a wrong draw, sign, index or order) moves weights by 1e-3 or more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.batched_ppo import StackedActorCritic, unsupported_reason
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub
from slicebridge.agents.params import get_params
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import TrainConfig, train
from slicebridge.app.evaluate import evaluate
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
# float32 rounding: one batched product against K single ones (~1e-7 per step), torch's fused Adam, the
# per-model gradient norm taken in one call. Adam's normalised steps and PPO's ratio clipping carry such
# differences on: on these runs the weights end up to ~1.2e-4 apart (measured with the litesim of
# 627c3f0, on the fused and on the plain Adam alike). The weights move up to ~8e-3 in these runs; the
# minibatch order reversed puts them 3.5e-4 to 6e-3 apart and fails every equality test here.
# With litesim's TBS-table rate (issue 10, litesim/tbs.py) the federated-fedavg run ends 3.1e-4 apart.
TOL = 5e-4
# The rollouts' mean rewards: litesim's reward is not smooth in the shares (on tiny with 2 sites, a 1e-4
# change of one cell's shares moves a period's min_satisfaction by up to 0.5 (measured over 60 seeds x 16 periods,
# both before and after the TBS-table rate; the step in the model not traced), so weights 1e-4 apart can
# give one rollout a mean reward 0.018 apart (federated-fedavg, third rollout); the weights are the check.
REWARD_TOL = 0.05


def _tiny(cells: int = 2, **changes) -> Scenario:
    return Scenario.from_yaml(ROOT / "scenarios" / "tiny.yaml").with_updates(topology={"sites": cells}, **changes)


def _cfg(engine: str, **kw) -> TrainConfig:
    base = dict(scenario=_tiny(), total_steps=96, num_envs=2, local_steps=16, progress=False, tensorboard=False,
                algo_kwargs={"batch_size": 16, "n_epochs": 3}, engine=engine)
    return TrainConfig(**{**base, **kw})


def _assert_same_run(a, b) -> None:
    assert a.core_steps == b.core_steps and len(a.history) == len(b.history)
    np.testing.assert_allclose([h["reward"] for h in a.history], [h["reward"] for h in b.history], atol=REWARD_TOL)
    for ma, mb in zip(a.models, b.models):
        for pa, pb in zip(get_params(ma), get_params(mb)):
            np.testing.assert_allclose(pa, pb, atol=TOL)
        assert ma.num_timesteps == mb.num_timesteps


@pytest.mark.parametrize("mode,strategy", [("federated", "fedavg"), ("federated", "fedprox"), ("independent", "fedavg"),
                                           ("centralised", "fedavg")])
def test_batched_ppo_follows_the_per_model_path(mode, strategy):
    _check_followed(dict(mode=mode, strategy=strategy))


@pytest.mark.parametrize("label,changes", [
    ("per-slice agents", {"grouping": "slice"}),
    ("per cell-and-slice agents", {"grouping": "cell_slice"}),
    ("discrete moves (categorical)", {"scenario": _tiny(action={"mode": "discrete", "work_conserving": True})}),
    ("absolute splits (categorical)", {"scenario": _tiny(action={"mode": "absolute", "work_conserving": True})}),
    ("plain Gaussian", {"algo_kwargs": {"batch_size": 16, "n_epochs": 3, "use_sde": False}}),
])
def test_batched_ppo_follows_the_per_model_path_for_every_action_kind(label, changes):
    _check_followed(changes)


def _check_followed(changes: dict) -> None:
    per_model = train(_cfg("per_model", **changes))
    initial: dict[int, list[np.ndarray]] = {}
    batched = train(_cfg("batched", model_init=lambda k, m: initial.setdefault(k, get_params(m)), **changes))
    # several rounds, and the models moved: equality is not the trivial one of untrained models
    assert len(batched.history) >= 3
    assert max(float(np.abs(p - q).max()) for p, q in zip(get_params(batched.models[0]), initial[0])) > 1e-3
    _assert_same_run(per_model, batched)
    if changes.get("mode") == "independent":  # the models differ from each other, each follows its own reference
        assert any(not np.allclose(p, q) for p, q in zip(get_params(batched.models[0]), get_params(batched.models[1])))


@pytest.mark.parametrize("cut_engine", ["batched", "per_model"])
def test_batched_resume_matches_an_uninterrupted_per_model_run(tmp_path, cut_engine):
    """A run cut after 2 rounds (on either engine) and resumed batched ends where the per-model run ends."""
    reference = train(_cfg("per_model", run_dir=tmp_path / "ref"))
    cut = train(_cfg(cut_engine, run_dir=tmp_path / "cut", stop_after_rounds=2))
    assert cut.interrupted
    resumed = train(_cfg("batched", run_dir=tmp_path / "cut"))
    assert resumed.resumed_round == 2
    _assert_same_run(reference, resumed)


def _models(scenario: Scenario, n: int, **algo_kwargs) -> tuple[list[PPO], LockstepHub]:
    core = make_core(scenario, "litesim", num_envs=2, seed=0)
    hub = LockstepHub(core, [[c] for c in range(core.n_cells)])
    models = [build_model("ppo", CellGroupVecEnv(hub, k), seed=10 + k, algo_kwargs=algo_kwargs) for k in range(n)]
    return models, hub


@pytest.mark.parametrize("action_mode,algo_kwargs", [("continuous", {}), ("continuous", {"use_sde": False}), ("discrete", {})])
def test_stacked_networks_give_sb3s_values_log_probs_and_actions(action_mode, algo_kwargs):
    """Per model: evaluate_actions's values, log-probabilities and entropies; with gSDE the sampled
    actions of forward() for the same exploration matrices."""
    sc = _tiny(3, action={"mode": action_mode, "work_conserving": True})
    models, _ = _models(sc, 3, **algo_kwargs)
    stacked = StackedActorCritic([m.policy for m in models])
    rng = np.random.default_rng(1)
    obs = torch.as_tensor(rng.random((3, 5, models[0].observation_space.shape[0]), dtype=np.float32))
    space = models[0].action_space
    if action_mode == "discrete":
        actions = torch.as_tensor(rng.integers(0, space.n, (3, 5)))
    else:
        actions = torch.as_tensor(rng.uniform(-0.99, 0.99, (3, 5) + space.shape).astype(np.float32))
    with torch.no_grad():
        values, logp, entropy = stacked.evaluate(obs, actions)
        for k, m in enumerate(models):
            v, lp, ent = m.policy.evaluate_actions(obs[k], actions[k])
            torch.testing.assert_close(values[k], v.flatten(), atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(logp[k], lp, atol=1e-5, rtol=1e-6)
            assert (entropy is None) == (ent is None)
            if ent is not None:
                torch.testing.assert_close(entropy[k], ent, atol=1e-6, rtol=1e-6)
        if stacked.kind == "sde":
            for k, m in enumerate(models):
                m.policy.reset_noise(5)
            stacked.expl_mat = torch.stack([m.policy.action_dist.exploration_mat for m in models])
            stacked.expl_mats = torch.stack([m.policy.action_dist.exploration_matrices for m in models])
            acts, vals, lps = stacked.act(obs)
            for k, m in enumerate(models):
                a, v, lp = m.policy(obs[k])
                torch.testing.assert_close(acts[k], a, atol=1e-6, rtol=1e-6)
                torch.testing.assert_close(lps[k], lp, atol=1e-4, rtol=1e-5)


def test_what_batched_ppo_cannot_train_is_named_and_auto_falls_back():
    models, hub = _models(_tiny(2), 2, target_kl=0.01, batch_size=32)
    assert "target_kl" in unsupported_reason(models, [1, 1])
    assert "different numbers of units" in unsupported_reason(models, [1, 2])
    with pytest.raises(ValueError, match="engine 'batched' cannot train this run: .*target_kl"):
        train(_cfg("batched", algo_kwargs={"target_kl": 0.01, "batch_size": 16}))
    auto = train(_cfg("auto", algo_kwargs={"target_kl": 0.01, "batch_size": 16, "n_epochs": 1}))
    assert auto.history  # trained on the per-model path


def test_a_batched_policy_saves_loads_and_evaluates_through_the_normal_path(tmp_path):
    res = train(_cfg("batched", run_dir=tmp_path / "run"))
    sc = _tiny()
    policy = load_policy(tmp_path / "run", sc)
    assert [type(m) for m in policy.models] == [PPO, PPO]
    obs = np.random.default_rng(0).random((3, 2, policy.models[0].observation_space.shape[0])).astype(np.float32)
    np.testing.assert_allclose(policy.act(obs), res.policy.act(obs))
    episodes = evaluate(sc, policy, "litesim", episodes=1, seed=5)
    assert episodes[0].rewards.shape == (sc.control.episode_steps, sc.n_cells)
    assert np.isfinite(episodes[0].rewards).all()


def test_a_batched_policy_evaluates_in_ns3(tmp_path, ns3_binary):
    train(_cfg("batched", scenario=_tiny(1), run_dir=tmp_path / "run"))
    sc = _tiny(1)
    episodes = evaluate(sc, load_policy(tmp_path / "run", sc), "ns3", episodes=1, seed=5)
    assert episodes[0].rewards.shape == (sc.control.episode_steps, 1)
    assert np.isfinite(episodes[0].rewards).all()


def test_train_and_compare_use_the_throughput_settings_on_litesim(monkeypatch, tmp_path):
    """``slicebridge train`` (PPO, litesim) and the main job's training run many instances, batched (the main
    job fewer: its budget is fixed); ns-3 and --num-envs keep what they ask for."""
    from types import SimpleNamespace

    from slicebridge.app import cli, compare
    from slicebridge.agents.training import FIXED_BUDGET_NUM_ENVS, FIXED_BUDGET_PPO_ALGO_KWARGS, LITESIM_NUM_ENVS, PPO_ALGO_KWARGS

    seen: list[TrainConfig] = []

    def fake_train(cfg: TrainConfig):
        seen.append(cfg)
        return SimpleNamespace(resumed_round=None, run_dir=cfg.run_dir)

    monkeypatch.setattr(cli, "train", fake_train)
    monkeypatch.setattr(compare, "train", fake_train)
    assert cli.main(["train", "default", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["train", "default", "--simulator", "ns3", "--out", str(tmp_path / "b")]) == 0
    assert cli.main(["train", "default", "--num-envs", "8", "--out", str(tmp_path / "c")]) == 0
    assert cli.main(["train", "default", "--algo", "sac", "--out", str(tmp_path / "d")]) == 0
    compare._train(compare.CompareConfig(scenario=_tiny(), out_dir=tmp_path / "e"), seed=1)
    fast, ns3, asked, sac, main_job = seen
    assert fast.num_envs == LITESIM_NUM_ENVS and fast.engine == "auto" and fast.algo_kwargs == PPO_ALGO_KWARGS
    # the main job's fixed budget: fewer instances, as many PPO updates as before issue 17
    assert main_job.num_envs == FIXED_BUDGET_NUM_ENVS < LITESIM_NUM_ENVS and main_job.engine == "auto"
    assert main_job.algo_kwargs == FIXED_BUDGET_PPO_ALGO_KWARGS
    assert ns3.num_envs == TrainConfig.num_envs and ns3.algo_kwargs == {}
    assert asked.num_envs == 8 and asked.algo_kwargs == PPO_ALGO_KWARGS
    assert sac.num_envs == TrainConfig.num_envs and sac.algo_kwargs == {}
