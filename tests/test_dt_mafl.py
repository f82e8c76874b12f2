# SPDX-License-Identifier: GPL-2.0-only
"""DT-MAFL pieces: percent-change actions, per-slice units and grouping, per-slice reward, demand twins."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from slicebridge.agents.demand_twin import (
    ArimaForecaster,
    GatForecaster,
    PersistenceForecaster,
    correlated_loads,
    rmse,
    windows,
)
from slicebridge.agents.training import TrainConfig, train
from slicebridge.bridge import kpi as K
from slicebridge.bridge.actions import percent_change
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import load_scenario
from slicebridge.envs import make_core
from slicebridge.envs.slice_units import SliceUnitCore, unit_groups
from slicebridge.federation.server import FederatedServer

TINY = load_scenario("tiny")


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(2, 8),
    data=st.data(),
)
def test_percent_change_keeps_shares_on_the_simplex_above_the_minimums(n, data):
    mins = np.array(data.draw(st.lists(st.floats(0.0, 1.0 / n), min_size=n, max_size=n)))
    raw = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))) + 1e-9
    shares = mins + (1.0 - mins.sum()) * raw / raw.sum()
    change = np.array(data.draw(st.lists(st.floats(-5.0, 5.0), min_size=n, max_size=n)))
    out = percent_change(shares, change, mins)
    assert out.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(out >= mins - 1e-12)


def test_percent_change_is_relative_between_slices():
    mins = np.full(3, 0.05)
    shares = np.array([0.2, 0.4, 0.4])
    out = percent_change(shares, np.array([0.5, 0.0, 0.0]), mins)
    assert out == pytest.approx(np.array([0.3, 0.4, 0.4]) / 1.1)
    assert percent_change(shares, np.full(3, 0.5), mins) == pytest.approx(shares)  # all ask alike: no change
    assert percent_change(shares, np.full(3, -1.0), mins) == pytest.approx(np.full(3, 1 / 3))
    # a share scaled below its minimum is lifted back to it
    low = percent_change(np.array([0.06, 0.47, 0.47]), np.array([-0.9, 0.0, 0.0]), mins)
    assert low[0] == pytest.approx(0.05) and low.sum() == pytest.approx(1.0)


def test_slice_utility_sums_the_sigmoid_over_users():
    s = TINY.with_updates(reward={"name": "sigmoid_utility", "lam": 2.0, "mu": 0.5, "phi": 1.0})
    kpis = np.zeros((1, 2, K.N_KPIS))
    # embb (rate, SLA 3 Mbit/s per UE): 2 UEs, 8 Mbit/s delivered -> 4 per UE, margin +1
    kpis[0, 0, [K.OFFERED, K.THROUGHPUT, K.ACTIVE_UES, K.SPECTRAL_EFF, K.PRB_USED]] = [8.0, 8.0, 2, 4.0, 0.5]
    # urllc (delay, budget 10 ms): 2 UEs at 12 ms, margin -2
    kpis[0, 1, [K.OFFERED, K.THROUGHPUT, K.ACTIVE_UES, K.SPECTRAL_EFF, K.PRB_USED, K.DELAY_MEAN]] = [1.0, 1.0, 2, 4.0, 0.01, 12.0]
    bw = 25 * 180e3
    need = np.array([8e6 / (4 * bw), 1e6 / (4 * bw)])
    omega = np.minimum(np.array([0.5, 0.01]) / need, 1.0)
    sig = np.array([1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(2.0))])
    got = RewardFunction(s).slice_utility(kpis)
    assert got.shape == (1, 2)
    assert got[0] == pytest.approx(2.0 * omega + 0.5 * 2 * sig)


def test_unit_groups():
    assert unit_groups("slice", 3, 2) == [[0, 2, 4], [1, 3, 5]]
    assert unit_groups("cell", 3, 2) == [[0, 1], [2, 3], [4, 5]]
    assert unit_groups("cell_slice", 2, 2) == [[0], [1], [2], [3]]
    with pytest.raises(ValueError, match="allowed"):
        unit_groups("site", 1, 1)


def test_slice_unit_core_observes_demand_and_pays_the_slice_reward():
    s = TINY.with_updates(topology={"sites": 1, "sectors": 3}, reward={"name": "sigmoid_utility", "mu": 0.1})
    unit = SliceUnitCore(make_core(s, "litesim", num_envs=2, seed=3), predictor=lambda w: 2.0 * w[..., -1, :], window=4)
    try:
        obs = unit.reset()
        assert obs.shape == (2, 6, 3)
        before = unit.shares.copy()
        obs, rewards, _, _, infos = unit.step(np.tile([1.0, -1.0], (2, 3))[..., None])
        # unit 0 (embb) asked for +50 %, unit 1 (urllc) for -50 %: the cell's shares move that way
        assert np.all(unit.shares[:, :, 0] > before[:, :, 0]) and np.all(unit.shares[:, :, 1] < before[:, :, 1])
        assert unit.shares.sum(-1) == pytest.approx(1.0)
        cell_kpis = unit.kpis
        assert rewards == pytest.approx(unit.core.reward.slice_utility(cell_kpis).reshape(2, 6))
        assert obs[..., 1] == pytest.approx(np.minimum(2.0 * obs[..., 0], s.observation.clip), rel=1e-5)
        assert obs[..., 2] == pytest.approx(unit.shares.reshape(2, 6), rel=1e-5)
        assert infos[0]["kpis"].shape == (6, 2, K.N_KPIS)
    finally:
        unit.close()


def test_per_slice_grouping_averages_the_clients_tensors_by_their_sample_counts(monkeypatch):
    """FedAvg over per-slice DDPG agents: the global model is Σ |D_m|/|D| · w_m over the slice agents'
    federated tensors (sample counts made unequal on the way to the server, to see the weights)."""
    torch.manual_seed(0)
    s = TINY.with_updates(topology={"sites": 1, "sectors": 3}, reward={"name": "sigmoid_utility"})
    seen: list[tuple[int, list[np.ndarray], int]] = []
    globals_after: list[list[np.ndarray]] = []
    submit, end_round = FederatedServer.submit, FederatedServer.end_round

    def spy_submit(self, client, params, num_samples, metrics=None):
        seen.append((client, [np.array(p, copy=True) for p in params], int(num_samples)))
        submit(self, client, params, num_samples * (client + 1), metrics)  # |D_m| made unequal: 1×, 2×

    def spy_end(self, metrics=None):
        rec = end_round(self, metrics)
        globals_after.append([np.array(g, copy=True) for g in self.global_params])
        return rec

    monkeypatch.setattr(FederatedServer, "submit", spy_submit)
    monkeypatch.setattr(FederatedServer, "end_round", spy_end)
    res = train(TrainConfig(scenario=s, algorithm="ddpg", mode="federated", grouping="slice", total_steps=60, num_envs=2,
                            local_steps=10, progress=False, tensorboard=False, stop_after_rounds=1,
                            algo_kwargs={"learning_starts": 5}))
    assert len(res.models) == 2  # one agent per slice, not per cell
    assert sorted(c for c, _, _ in seen) == [0, 1]
    n = {c: k for c, _, k in seen}
    assert n[0] == n[1] and n[0] % (2 * 3) == 0  # instances × the slice's units in the 3 cells
    weights = {c: n[c] * (c + 1) for c in n}
    total = sum(weights.values())
    params = {c: p for c, p, _ in seen}
    assert not all(np.allclose(a, b) for a, b in zip(params[0], params[1]))  # the two agents learned apart
    for i, g in enumerate(globals_after[0]):
        expect = sum(weights[c] / total * params[c][i] for c in params)
        np.testing.assert_allclose(g, expect, rtol=1e-5, atol=1e-6)


def test_gat_twin_beats_persistence_on_correlated_demand():
    torch.manual_seed(0)
    kw = dict(lags=(0, 2, 4, 1), weights=(0.5, 0.5, 0.4, 0.4))
    train_s = correlated_loads(4, 600, seed=1, **kw)
    test_s = correlated_loads(4, 200, seed=2, **kw)
    gat = GatForecaster(6, epochs=150).fit(train_s)
    persistence = rmse(PersistenceForecaster(), test_s, 6).mean()
    assert rmse(gat, test_s, 6).mean() < 0.85 * persistence
    assert gat.learned_adjacency().shape == (4, 4)


def test_arima_rolling_matches_window_predictions():
    series = correlated_loads(2, 120, lags=(0, 1), weights=(0.5, 0.5), seed=4)
    arima = ArimaForecaster(order=(1, 0, 0)).fit(series[:80])
    x, _ = windows(series[80:], 10)
    rolling = arima.rolling(series[80:], 10)
    assert rolling.shape == (30, 2)
    assert np.all(np.isfinite(rolling))
    # the windowed form forecasts from less history; an AR(1) needs only the last value, so they agree
    np.testing.assert_allclose(arima.predict(x[:3]), rolling[:3], rtol=1e-6, atol=1e-6)


def test_dt_mafl_recipe_tiny_budget(tmp_path):
    from slicebridge.app.recipes import RECIPES, run_recipe

    assert "dt_mafl" in RECIPES
    short = load_scenario("dt_mafl_6slice").with_updates(control={"episode_steps": 20})
    table = run_recipe("dt_mafl", scenario=short, window=4, tau=5, out_dir=tmp_path / "run", plots_dir=tmp_path / "doc", episodes=2, n_seeds=1, users=(60, 100),
                       twin_paths=2, twin_epochs=10, arima_order=(1, 0, 0), ns3=False, eval_episodes=1, net_arch=(8,), num_envs=1,
                       progress=False, ddpg={"learning_starts": 10, "buffer_size": 200}, dqn={"learning_starts": 10})
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for name in ("gat", "lstm", "arima", "persistence"):
        assert any(r.startswith(f"| {name} |") for r in rows)
    sweep = [r for r in rows if r.split("|")[1].strip() in ("dt_mafl", "fl_no_twin", "madqn", "netshare", "equal")]
    assert len(sweep) == 3 * 5  # reward, utilisation, satisfaction × 5 methods
    for r in sweep:
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert len(cells) == 2
        assert all(np.isfinite(float(c.split(" ± ")[0])) for c in cells)
    for f in ("dt_mafl.md", "dt_mafl_sweep.png", "dt_mafl_training.png", "dt_mafl_forecasts.png"):
        assert (tmp_path / "doc" / f).is_file()
    assert (tmp_path / "run" / "dt_mafl.json").is_file()
