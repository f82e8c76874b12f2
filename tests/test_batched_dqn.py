# SPDX-License-Identifier: GPL-2.0-only
"""Batched DQN (agents.batched_dqn) against the per-model SB3 path it replaces.

Tolerance as tests/test_batched_ppo.py: one batched matrix product against K single ones may round
the last bit differently (measured: 0 for the plain MLP, 3e-8 for the dueling head, which runs under
``vmap``); a wrong draw, index, order or target moves weights by 1e-3 or more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.batched_dqn import BatchedDQN, unsupported_reason
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub
from slicebridge.agents.params import get_params
from slicebridge.agents.stacking import StackedNet
from slicebridge.agents.training import TrainConfig, train
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-5
#: small but every part runs: warm-up, ε draws, several gradient steps per rollout, target updates
DQN_KWARGS = dict(learning_starts=40, batch_size=16, train_freq=4, gradient_steps=2, target_update_interval=40, exploration_fraction=0.5)


def _tiny(cells: int = 2) -> Scenario:
    return Scenario.from_yaml(ROOT / "scenarios" / "tiny.yaml").with_updates(
        topology={"sites": cells}, action={"mode": "discrete", "work_conserving": True})


def _cfg(engine: str, **kw) -> TrainConfig:
    base = dict(scenario=_tiny(), algorithm="dqn", total_steps=192, num_envs=2, local_steps=8, progress=False, tensorboard=False,
                algo_kwargs=dict(DQN_KWARGS), engine=engine)
    return TrainConfig(**{**base, **kw})


def _assert_same_run(a, b) -> None:
    assert a.core_steps == b.core_steps and len(a.history) == len(b.history)
    np.testing.assert_allclose([h["reward"] for h in a.history], [h["reward"] for h in b.history], atol=TOL)
    for ma, mb in zip(a.models, b.models):
        for pa, pb in zip(get_params(ma), get_params(mb)):
            np.testing.assert_allclose(pa, pb, atol=TOL)
        for ta, tb in zip(ma.policy.q_net_target.parameters(), mb.policy.q_net_target.parameters()):
            np.testing.assert_allclose(ta.detach().numpy(), tb.detach().numpy(), atol=TOL)
        assert (ma.num_timesteps, ma._n_updates, ma._n_calls, ma.exploration_rate) == (mb.num_timesteps, mb._n_updates, mb._n_calls, mb.exploration_rate)
        ra, rb = ma.replay_buffer, mb.replay_buffer
        assert (ra.pos, ra.full) == (rb.pos, rb.full)
        for field in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
            np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field))


@pytest.mark.parametrize("label,changes", [
    ("DQN federated", {}),
    ("double DQN, FedProx, half the clients (the FDRL recipe's set-up)",
     {"algorithm": "ddqn", "strategy": "fedprox", "fraction_fit": 0.5, "scenario": _tiny(3), "net_arch": [64, 32]}),
    ("dueling double DQN independent (vmap'd head)", {"algorithm": "dueling_ddqn", "mode": "independent"}),
    ("DQN centralised", {"mode": "centralised"}),
    ("per-slice agents", {"grouping": "slice", "scenario": _tiny().with_updates(action={"mode": "continuous"})}),
])
def test_batched_dqn_follows_the_per_model_path(label, changes):
    _assert_same_run(*train_both(_cfg, changes))


def train_both(make_cfg: Callable[..., TrainConfig], changes: dict[str, Any]) -> tuple[Any, Any]:
    """The run ``make_cfg(engine, **changes)`` on the per-model path and batched; checks the batched one did
    several rounds and gradient steps and moved its models (so equality is not that of untrained models)."""
    per_model = train(make_cfg("per_model", **changes))
    initial: dict[int, list[np.ndarray]] = {}
    batched = train(make_cfg("batched", model_init=lambda k, m: initial.setdefault(k, get_params(m)), **changes))
    assert len(batched.history) >= 3 and batched.models[0]._n_updates > 0
    assert max(float(np.abs(p - q).max()) for p, q in zip(get_params(batched.models[0]), initial[0])) > 1e-3
    return per_model, batched


def train_cut_and_resumed(make_cfg: Callable[..., TrainConfig], tmp_path: Path, cut_engine: str, rounds: int = 3) -> tuple[Any, Any]:
    """An uninterrupted per-model run of ``make_cfg``, and the same run cut after ``rounds`` rounds on
    ``cut_engine`` and resumed batched."""
    reference = train(make_cfg("per_model", run_dir=tmp_path / "ref"))
    cut = train(make_cfg(cut_engine, run_dir=tmp_path / "cut", stop_after_rounds=rounds))
    assert cut.interrupted
    resumed = train(make_cfg("batched", run_dir=tmp_path / "cut"))
    assert resumed.resumed_round == rounds
    return reference, resumed


@pytest.mark.parametrize("cut_engine", ["batched", "per_model"])
def test_batched_dqn_resume_matches_an_uninterrupted_per_model_run(tmp_path, cut_engine):
    """Cut after 3 rounds (replay buffers checkpointed), resumed batched: ends where the per-model run ends."""
    _assert_same_run(*train_cut_and_resumed(_cfg, tmp_path, cut_engine))


def _models(algorithm: str, n: int, **algo_kwargs):
    core = make_core(_tiny(n), "litesim", num_envs=2, seed=0)
    hub = LockstepHub(core, [[c] for c in range(core.n_cells)])
    models = [build_model(algorithm, CellGroupVecEnv(hub, k), seed=10 + k, algo_kwargs=algo_kwargs) for k in range(n)]
    return models, hub


@pytest.mark.parametrize("algorithm", ["dqn", "dueling_ddqn"])
def test_stacked_q_networks_give_each_models_q_values_and_gradients(algorithm):
    models, _ = _models(algorithm, 3)
    nets = [m.policy.q_net.q_net for m in models]
    stacked = StackedNet(nets)
    assert stacked.plain == (algorithm == "dqn")
    obs = torch.as_tensor(np.random.default_rng(1).random((3, 5, models[0].observation_space.shape[0]), dtype=np.float32))
    q = stacked(obs)
    (q**2).mean(dim=(1, 2)).sum().backward()
    for k, net in enumerate(nets):
        qk = net(obs[k])
        torch.testing.assert_close(q[k], qk, atol=1e-6, rtol=1e-6)
        net.zero_grad()
        (qk**2).mean().backward()
        for name, p in net.named_parameters():
            torch.testing.assert_close(stacked.p[name].grad[k], p.grad, atol=1e-6, rtol=1e-5)


def test_what_batched_dqn_cannot_train_is_named_and_auto_falls_back():
    models, hub = _models("dqn", 2, optimize_memory_usage=True, replay_buffer_kwargs={"handle_timeout_termination": False})
    assert "optimize_memory_usage" in unsupported_reason(models, [1, 1])
    assert "different numbers of units" in unsupported_reason(models, [1, 2])
    with pytest.raises(ValueError, match="cannot train these models"):
        BatchedDQN(models, hub, 8)
    kwargs = {**DQN_KWARGS, "optimize_memory_usage": True, "replay_buffer_kwargs": {"handle_timeout_termination": False}}
    with pytest.raises(ValueError, match="engine 'batched' cannot train this run: .*optimize_memory_usage"):
        train(_cfg("batched", algo_kwargs=kwargs))
    auto = train(_cfg("auto", algo_kwargs=kwargs, total_steps=64))
    assert auto.history  # trained on the per-model path
