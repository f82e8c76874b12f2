"""Per-cell agents and lockstep training: plumbing, determinism, resume, failure handling, learning."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub, run_workers
from slicebridge.agents.params import (
    federated_names,
    get_params,
    set_params,
    target_pairs,
)
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import TrainConfig, train
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario

from slicebridge.envs import SlicingCore

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny.yaml"


class ToyBackend:
    """A cheap deterministic stand-in simulator: throughput = min(offered, share · capacity)."""

    def __init__(self, scenario: Scenario, num_envs: int = 1, seed: int | None = None, capacity_mbps: float = 12.0):
        self.num_envs = num_envs
        self.C, self.S = scenario.n_cells, scenario.n_slices
        self.rng = np.random.default_rng(seed)
        self.capacity = capacity_mbps
        rates = [getattr(s.traffic, "rate_mbps", 0.5) * s.ues_per_cell for s in scenario.slices]
        self.base = np.array(rates)[None, None, :] * (1.0 + 0.5 * np.arange(self.C))[None, :, None] / (1 + 0.25 * (self.C - 1))
        self.ues = np.array([s.ues_per_cell for s in scenario.slices], dtype=float)
        self.shares = np.tile(np.asarray(scenario.initial_shares()), (num_envs, self.C, 1))

    def _kpis(self, shares: np.ndarray) -> np.ndarray:
        k = np.zeros((self.num_envs, self.C, self.S, K.N_KPIS))
        offered = self.base * self.rng.uniform(0.8, 1.2, (self.num_envs, self.C, self.S))
        cap = shares * self.capacity
        thr = np.minimum(offered, cap)
        k[..., K.OFFERED], k[..., K.THROUGHPUT] = offered, thr
        k[..., K.DELAY_MEAN] = 2.0 + 20.0 * np.clip(offered / np.maximum(cap, 1e-6), 0, 5)
        k[..., K.SLA_RATIO] = thr / offered
        k[..., K.ACTIVE_UES] = self.ues
        k[..., K.PRB_USED] = thr / self.capacity
        k[..., K.SHARE] = shares
        k[..., K.SPECTRAL_EFF] = 2.0
        return k

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        return self._kpis(self.shares)

    def step(self, shares: np.ndarray) -> np.ndarray:
        return self._kpis(np.asarray(shares))

    def close(self) -> None:
        pass


def toy_factory(scenario, num_envs, seed):
    return ToyBackend(scenario, num_envs, seed)


def tiny(cells: int = 2, **changes) -> Scenario:
    return Scenario.from_yaml(TINY).with_updates(topology={"sites": cells}, **changes)


def _cfg(tmp_path=None, **kw) -> TrainConfig:
    base = dict(scenario=tiny(), algorithm="ppo", mode="federated", total_steps=256, num_envs=4, local_steps=16,
                algo_kwargs={"n_steps": 16, "batch_size": 32, "n_epochs": 2}, net_arch=[16], seed=3,
                backend_factory=toy_factory, progress=False, tensorboard=False, run_dir=tmp_path)
    base.update(kw)
    return TrainConfig(**base)


# -- lockstep plumbing ---------------------------------------------------------------------------
def test_proxies_slice_the_shared_core_per_cell():
    sc = tiny(3)
    core = SlicingCore(sc, ToyBackend(sc, num_envs=2, seed=0))
    hub = LockstepHub(core, [[0], [1, 2]])
    p0, p1 = CellGroupVecEnv(hub, 0), CellGroupVecEnv(hub, 1)
    assert (p0.num_envs, p1.num_envs) == (2, 4)
    seen = {}

    def w0():
        seen["o0"] = p0.reset()
        p0.step_async(np.full((2, 2), 0.9))
        seen["s0"] = p0.step_wait()

    def w1():
        seen["o1"] = p1.reset()
        p1.step_async(np.tile([0.1, 0.9], (4, 1)))
        seen["s1"] = p1.step_wait()

    run_workers(hub, [w0, w1])
    assert hub.steps == 1
    assert seen["o0"].shape == (2, core.obs_dim) and seen["o1"].shape == (4, core.obs_dim)
    shares = core.shares  # [B, C, S] after the step
    np.testing.assert_allclose(shares[:, 0], [[0.5, 0.5]] * 2)
    np.testing.assert_allclose(shares[:, 1:], np.broadcast_to(core.actions.min_share + 0.8 * np.array([0.1, 0.9]), (2, 2, 2)))
    obs1, rew1, done1, infos1 = seen["s1"]
    assert rew1.shape == (4,) and infos1[1]["cell"] == 2 and infos1[2]["instance"] == 1
    np.testing.assert_allclose(rew1, hub.rewards[:, 1:].reshape(-1))


def test_a_failing_worker_releases_the_others_without_deadlock():
    sc = tiny(2)
    core = SlicingCore(sc, ToyBackend(sc, num_envs=1, seed=0))
    hub = LockstepHub(core, [[0], [1]], timeout=20)
    p0, p1 = CellGroupVecEnv(hub, 0), CellGroupVecEnv(hub, 1)

    def good():
        p0.reset()
        for _ in range(100):
            p0.step_async(np.full((1, 2), 0.5))
            p0.step_wait()

    def bad():
        p1.reset()
        p1.step_async(np.full((1, 2), 0.5))
        p1.step_wait()
        raise ValueError("boom")

    t0 = time.time()
    with pytest.raises(ValueError, match="boom"):
        run_workers(hub, [good, bad])
    assert time.time() - t0 < 10
    assert not any(t.name.startswith("lockstep-") for t in threading.enumerate())


def test_out_of_step_workers_are_an_error_not_a_hang():
    sc = tiny(2)
    core = SlicingCore(sc, ToyBackend(sc, num_envs=1, seed=0))
    hub = LockstepHub(core, [[0], [1]], timeout=20)
    p0, p1 = CellGroupVecEnv(hub, 0), CellGroupVecEnv(hub, 1)
    with pytest.raises(RuntimeError, match="out of step"):
        run_workers(hub, [lambda: p0.reset(), lambda: (p1.reset(), p1.step_async(np.full((1, 2), 0.5)), p1.step_wait())])


# -- parameters ----------------------------------------------------------------------------------
@pytest.mark.parametrize("algo, mode, targets", [("sac", "continuous", True), ("td3", "continuous", True), ("ddpg", "continuous", True), ("dqn", "discrete", True), ("ppo", "continuous", False)])
def test_federated_params_exclude_targets_and_resync_them(algo, mode, targets):
    from slicebridge.agents.algorithms import build_model

    sc = tiny(1, action={"mode": mode})
    core = SlicingCore(sc, ToyBackend(sc, num_envs=1, seed=0))
    hub = LockstepHub(core, [[0]])
    model = build_model(algo, CellGroupVecEnv(hub, 0), seed=0, net_arch=[8], algo_kwargs={"learning_starts": 0} if algo != "ppo" else {})
    names = federated_names(model)
    assert names and not any("_target." in n for n in names)
    assert bool(target_pairs(model)) == targets
    params = get_params(model)
    shifted = [p + 1.0 for p in params]
    set_params(model, shifted)
    for a, b in zip(get_params(model), shifted):
        np.testing.assert_allclose(a, b)
    state = model.policy.state_dict()
    for target, online in target_pairs(model):
        torch.testing.assert_close(state[target], state[online])


# -- training ------------------------------------------------------------------------------------
def test_centralised_independent_federated_train_and_policy_round_trips(tmp_path):
    results = {}
    for mode in ("centralised", "independent", "federated"):
        res = train(_cfg(tmp_path / mode, mode=mode, strategy="fedprox", codec="fp16", tensorboard=(mode == "federated")))
        results[mode] = res
        assert not res.interrupted and res.history
        assert len(res.policy.models) == (1 if mode == "centralised" else 2)
    fed = results["federated"]
    # rounds every 16 core steps: 64 core steps → 3 rounds + the final one
    assert [h["round"] for h in fed.history] == [1, 2, 3, 4]
    assert all(h["bytes_up"] > 0 and h["bytes_down"] > 0 for h in fed.history)
    assert results["independent"].history[0]["bytes_up"] == 0
    # after the final broadcast every client holds the global model
    p0, p1 = (get_params(m) for m in fed.models)
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)
    assert list((tmp_path / "federated" / "tb").iterdir())
    # saved policy: same actions as the live one
    sc = tiny()
    loaded = load_policy(tmp_path / "federated", sc)
    obs = np.random.default_rng(0).random((2, fed.policy.n_cells, loaded.models[0].observation_space.shape[0])).astype(np.float32)
    np.testing.assert_allclose(loaded.act(obs), fed.policy.act(obs))
    assert loaded.act(obs[0]).shape == (2, 2)
    with pytest.raises(ValueError, match="does not fit"):
        load_policy(tmp_path / "federated", tiny(3))


def test_training_is_deterministic_and_resume_matches_an_uninterrupted_run(tmp_path):
    kw = dict(strategy="fedprox", fraction_fit=0.5, codec="int8")
    full = train(_cfg(tmp_path / "full", **kw))
    cut = train(_cfg(tmp_path / "cut", stop_after_rounds=2, **kw))
    assert cut.interrupted and len(cut.history) == 2
    resumed = train(_cfg(tmp_path / "cut", **kw))
    assert full.resumed_round is None and resumed.resumed_round == 2
    assert resumed.core_steps == full.core_steps
    assert [h["selected"] for h in resumed.history] == [h["selected"] for h in full.history]
    assert [h["reward"] for h in resumed.history] == [h["reward"] for h in full.history]
    for m_full, m_res in zip(full.models, resumed.models):
        for a, b in zip(get_params(m_full), get_params(m_res)):
            np.testing.assert_array_equal(a, b)


def test_dqn_resume_with_replay_buffer(tmp_path):
    sc = tiny(2, action={"mode": "discrete"})
    kw = dict(scenario=sc, algorithm="dqn", total_steps=192, local_steps=8,
              algo_kwargs={"learning_starts": 16, "train_freq": 4, "buffer_size": 1000, "batch_size": 16, "target_update_interval": 20})
    full = train(_cfg(tmp_path / "full", **kw))
    train(_cfg(tmp_path / "cut", stop_after_rounds=3, **kw))
    resumed = train(_cfg(tmp_path / "cut", **kw))
    assert resumed.resumed_round == 3
    assert [h["reward"] for h in resumed.history] == [h["reward"] for h in full.history]
    for m_full, m_res in zip(full.models, resumed.models):
        for a, b in zip(get_params(m_full), get_params(m_res)):
            np.testing.assert_array_equal(a, b)


def test_poisoned_client_is_rejected_during_training(tmp_path, monkeypatch):
    import slicebridge.agents.training as T

    real = T.get_params

    def poisoned(model):  # client 1 (model seed 3 + 1000) sends NaNs
        params = real(model)
        if model.seed == 1003:
            params[0] = params[0] + np.nan
        return params

    monkeypatch.setattr(T, "get_params", poisoned)
    res = train(_cfg(tmp_path, max_update_norm=1e3))
    assert all(h["rejected"] and h["rejected"][0][0] == 1 for h in res.history)
    assert all(np.all(np.isfinite(p)) for m in res.models for p in real(m))


def test_federated_ppo_on_tiny_litesim_beats_random(tmp_path):
    """Learning check on scenarios/tiny.yaml in litesim, 2 cells and strict slicing (so shares matter)."""
    pytest.importorskip("slicebridge.litesim.simulator")
    from slicebridge.app.evaluate import RandomPolicy, evaluate
    from slicebridge.envs import make_core

    sc = tiny(2, action={"work_conserving": False})
    res = train(TrainConfig(
        scenario=sc, simulator="litesim", algorithm="ppo", mode="federated", strategy="fedavg", total_steps=4096,
        num_envs=8, local_steps=32, seed=1, net_arch=[32, 32], progress=False, tensorboard=False, run_dir=tmp_path,
        algo_kwargs=dict(n_steps=32, batch_size=64, n_epochs=10, learning_rate=3e-3, gamma=0.3, ent_coef=0.0),
    ))
    trained = load_policy(tmp_path, sc)
    learned = np.mean([e.rewards.mean() for e in evaluate(sc, trained, "litesim", episodes=4, seed=100)])
    random = np.mean([e.rewards.mean() for e in evaluate(sc, RandomPolicy(make_core(sc, "litesim", seed=0), 0), "litesim", episodes=4, seed=100)])
    assert learned > random + 0.1, (learned, random)
    assert res.history[-1]["reward"] > res.history[0]["reward"] + 0.05


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
def test_off_policy_continuous_agents_train_federated_with_fedprox(tmp_path, algo):
    res = train(_cfg(tmp_path, algorithm=algo, strategy="fedprox", proximal_mu=0.5, total_steps=96,
                     algo_kwargs={"learning_starts": 8, "batch_size": 16, "buffer_size": 500, "train_freq": 2}))
    assert len(res.history) >= 2 and all(h["bytes_up"] > 0 for h in res.history)
    p0, p1 = (get_params(m) for m in res.models)
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)
    act = res.policy.act(np.zeros((2, res.models[0].observation_space.shape[0]), dtype=np.float32))
    assert act.shape == (2, 2) and np.all((act >= 0) & (act <= 1))


def test_a_changed_configuration_is_explained_and_no_resume_starts_afresh(tmp_path, caplog):
    from slicebridge.agents.training import ConfigChangedError

    train(_cfg(tmp_path, stop_after_rounds=2))
    with pytest.raises(ConfigChangedError) as exc:
        train(_cfg(tmp_path, total_steps=512))
    assert exc.value.changes == [("total_steps", 256, 512)]
    assert "resume=False" in str(exc.value) and "new directory" in str(exc.value)
    with caplog.at_level(logging.WARNING, logger="slicebridge.training"):
        fresh = train(_cfg(tmp_path, total_steps=512, resume=False, stop_after_rounds=1))
    assert fresh.resumed_round is None and len(fresh.history) == 1
    assert (tmp_path / "checkpoints.previous" / "LATEST").read_text() == "round_00002"
    assert any("moved to" in r.message for r in caplog.records)
