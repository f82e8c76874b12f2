"""Federation strategies over plain arrays: averaging math, selection, validation, FedProx, resume."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from slicebridge.agents.training import KpiMeter
from slicebridge.federation import (
    FederatedServer,
    FitRes,
    ProximalTerm,
    compress_params,
    decode_update,
    encode_update,
    make_strategy,
    run_federated,
)

torch.set_num_threads(1)

GLOBAL = [np.zeros((2, 2)), np.zeros(3)]


def _res(cid, a, b, n=1, success=0.0):
    return FitRes(cid, [np.full((2, 2), float(a)), np.full(3, float(b))], n, {"success_rate": success})


def _agg(name, results, **kw):
    s = make_strategy(name, **kw)
    s.initialize(GLOBAL)
    failures: list = []
    out = s.aggregate(results, failures)
    return out, failures


RESULTS = [_res(0, 1.0, 10.0, n=1, success=0.5), _res(1, 2.0, 20.0, n=3, success=0.0), _res(2, 4.0, -5.0, n=4, success=1.5)]


@pytest.mark.parametrize(
    "name, kw, expect_a, expect_b",
    [
        ("fedavg", {}, (1 * 1 + 2 * 3 + 4 * 4) / 8, (10 * 1 + 20 * 3 - 5 * 4) / 8),
        ("fedprox", {"proximal_mu": 0.1}, (1 * 1 + 2 * 3 + 4 * 4) / 8, (10 * 1 + 20 * 3 - 5 * 4) / 8),
        ("success", {}, (1 * 0.5 + 4 * 1.5) / 2.0, (10 * 0.5 - 5 * 1.5) / 2.0),
        ("uniform", {}, 7 / 3, 25 / 3),
        ("median", {}, 2.0, 10.0),
        ("trimmed_mean", {"trim_fraction": 0.34}, 2.0, 10.0),
        ("trimmed_mean", {"trim_fraction": 0.0}, 7 / 3, 25 / 3),
    ],
)
def test_aggregation_math_is_exact(name, kw, expect_a, expect_b):
    out, failures = _agg(name, RESULTS, **kw)
    assert failures == []
    np.testing.assert_allclose(out[0], np.full((2, 2), expect_a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[1], np.full(3, expect_b), rtol=0, atol=1e-12)


def test_trimmed_mean_drops_extremes_per_coordinate():
    vals = [[0.0, 9.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [100.0, -50.0]]
    results = [FitRes(i, [np.array(v)], 1) for i, v in enumerate(vals)]
    s = make_strategy("trimmed_mean", trim_fraction=0.2, norm_factor=None)  # the trimming alone, no norm bound
    s.initialize([np.zeros(2)])
    out = s.aggregate(results, [])
    np.testing.assert_allclose(out[0], [2.0, 2.0], atol=1e-12)  # both columns keep [1, 2, 3]


def test_success_weights_by_eta_not_by_samples():
    """MFRL: W = Σ η_i W_i / Σ η_i with η_i = β_i / T, whatever the sample counts."""
    beta, steps = np.array([90, 30, 60]), 100
    results = [_res(k, a, b, n=n, success=beta[k] / steps) for k, (a, b, n) in enumerate([(1.0, 2.0, 1000), (5.0, -1.0, 1), (2.0, 0.0, 1)])]
    out, _ = _agg("success", results)
    eta = beta / steps
    assert out[0][0, 0] == pytest.approx((eta @ [1.0, 5.0, 2.0]) / eta.sum())
    assert out[1][0] == pytest.approx((eta @ [2.0, -1.0, 0.0]) / eta.sum())
    by_samples, _ = _agg("fedavg", results)
    assert by_samples[0][0, 0] == pytest.approx((1000 * 1.0 + 5.0 + 2.0) / 1002)


def test_success_strategy_needs_the_reported_rate():
    with pytest.raises(ValueError, match="reported no 'success_rate'"):
        _agg("success", [_res(0, 1.0, 1.0), FitRes(1, [np.ones((2, 2)), np.ones(3)], 5, {})])


def test_slicing_meter_reports_cumulative_eta():
    sat = iter([np.array([[[1.0, 1.0], [0.5, 1.0]]]), np.array([[[1.0, 1.0], [1.0, 1.0]]]), np.array([[[0.2, 1.0], [1.0, 1.0]]])])
    core = SimpleNamespace(n_cells=2, reward=SimpleNamespace(satisfaction=lambda kpis: next(sat)))
    meter = KpiMeter(core, threshold=0.95)
    kpis = np.zeros((2, 2, 11))
    meter(None, np.zeros((1, 2)), [{"kpis": kpis}])
    meter(None, np.zeros((1, 2)), [{"kpis": kpis}])
    meter.clear()  # a new round window: η keeps counting
    meter(None, np.zeros((1, 2)), [{"kpis": kpis}])
    assert meter.cumulative_success().tolist() == pytest.approx([2 / 3, 2 / 3])
    assert meter.window()["success"].tolist() == [0.0, 1.0]
    restored = KpiMeter(core, threshold=0.95)
    restored.load_state_dict(meter.state_dict())
    assert restored.cumulative_success().tolist() == pytest.approx([2 / 3, 2 / 3])


def test_success_weights_fall_back_to_uniform_when_all_zero():
    results = [_res(0, 1.0, 1.0, success=0.0), _res(1, 3.0, 5.0, success=0.0)]
    out, _ = _agg("success", results)
    np.testing.assert_allclose(out[0], 2.0)
    np.testing.assert_allclose(out[1], 3.0)


@pytest.mark.parametrize("fraction, n_clients, expected", [(0.5, 10, 5), (0.1, 10, 1), (0.01, 10, 1), (1.0, 7, 7), (0.3, 7, 2)])
def test_client_fraction_is_honoured(fraction, n_clients, expected):
    s = make_strategy("fedavg", fraction_fit=fraction)
    rng = np.random.default_rng(0)
    seen = set()
    for r in range(30):
        chosen = s.configure_round(r + 1, list(range(n_clients)), rng)
        assert len(chosen) == expected
        assert len(set(chosen)) == expected
        assert set(chosen) <= set(range(n_clients))
        seen.update(chosen)
    if expected < n_clients:
        assert len(seen) > expected  # random, not always the same subset


def test_min_fit_clients_and_validation_of_fraction():
    s = make_strategy("fedavg", fraction_fit=0.1, min_fit_clients=3)
    assert len(s.configure_round(1, range(10), np.random.default_rng(0))) == 3
    with pytest.raises(ValueError):
        make_strategy("fedavg", fraction_fit=0.0)
    with pytest.raises(ValueError, match="allowed"):
        make_strategy("nope")


@pytest.mark.parametrize("name", ["fedavg", "success", "uniform", "median", "trimmed_mean"])
def test_nan_wrong_shape_and_oversized_updates_are_rejected(name, caplog):
    good = [_res(0, 1.0, 1.0, n=2, success=1.0), _res(1, 1.0, 1.0, n=2, success=1.0)]
    nan = _res(2, 1.0, 1.0, n=100, success=1.0)
    nan.params[1][0] = np.nan
    inf = _res(3, 1.0, 1.0, n=100, success=1.0)
    inf.params[0][0, 0] = np.inf
    huge = _res(4, 1e6, 1e6, n=100, success=1.0)
    shape = FitRes(5, [np.zeros((3, 3)), np.zeros(3)], 100, {"success_rate": 1.0})
    missing = FitRes(6, [np.zeros((2, 2))], 100, {"success_rate": 1.0})
    with caplog.at_level(logging.WARNING, logger="slicebridge.federation"):
        out, failures = _agg(name, good + [nan, inf, huge, shape, missing], max_update_norm=100.0)
    assert sorted(c for c, _ in failures) == [2, 3, 4, 5, 6]
    reasons = dict(failures)
    assert "NaN" in reasons[2] and "NaN" in reasons[3]
    assert "exceeds" in reasons[4]
    assert "shape" in reasons[5] and "tensors" in reasons[6]
    assert sum("rejected" in r.message for r in caplog.records) == 5
    np.testing.assert_allclose(out[0], 1.0)
    np.testing.assert_allclose(out[1], 1.0)


def test_all_rejected_keeps_the_global_model():
    bad = _res(0, 1.0, 1.0)
    bad.params[0][:] = np.nan
    out, failures = _agg("fedavg", [bad])
    assert len(failures) == 1
    np.testing.assert_array_equal(out[0], GLOBAL[0])


@pytest.mark.parametrize("codec, per_value, tol", [("none", 4, 1e-6), ("fp16", 2, 1e-3), ("int8", 1, 0.5 / 127 * 3.0 + 1e-9)])
def test_compression_bytes_and_error(codec, per_value, tol):
    rng = np.random.default_rng(1)
    g = [rng.normal(size=(10, 5)), rng.normal(size=7)]
    local = [x + rng.uniform(-3, 3, size=x.shape) for x in g]
    received, nbytes = compress_params(local, g, codec)
    extra = 4 * len(g) if codec == "int8" else 0
    assert nbytes == 57 * per_value + extra
    for r, l in zip(received, local):
        assert np.max(np.abs(r - l)) <= tol


def test_int8_keeps_non_finite_updates_detectable():
    enc = encode_update([np.array([1.0, np.nan])], "int8")
    assert np.all(np.isnan(decode_update(enc)[0]))


def test_fedprox_hook_adds_mu_times_distance_to_the_gradient():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    anchor = [p.detach().numpy() + np.random.default_rng(i).normal(size=p.shape).astype(np.float32) for i, p in enumerate(net.parameters())]
    mu = 0.37
    x = torch.randn(8, 4)

    def loss_fn():
        return (net(x) ** 2).mean()

    # reference: autograd of loss + mu/2 ||w - w_g||^2
    net.zero_grad()
    prox = sum(((p - torch.as_tensor(a)) ** 2).sum() for p, a in zip(net.parameters(), anchor))
    (loss_fn() + 0.5 * mu * prox).backward()
    expected = [p.grad.clone() for p in net.parameters()]
    # hook: the same gradient from the plain loss
    term = ProximalTerm(net.parameters(), mu)
    term.anchor(anchor)
    net.zero_grad()
    loss_fn().backward()
    got = [p.grad.clone() for p in net.parameters()]
    for e, g, p, a in zip(expected, got, net.parameters(), anchor):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
    # and the difference to the plain gradient is exactly mu (w - w_g)
    term.remove()
    net.zero_grad()
    loss_fn().backward()
    for g, p, a in zip(got, net.parameters(), anchor):
        torch.testing.assert_close(g - p.grad, mu * (p.detach() - torch.as_tensor(a)), rtol=1e-5, atol=1e-6)
    # finite differences of the proximal term alone agree with mu (w - w_g)
    w = net[0].weight
    i, j, eps = 1, 2, 1e-3
    term_value = ProximalTerm(net.parameters(), mu)
    term_value.anchor(anchor)
    with torch.no_grad():
        w[i, j] += eps
        up = term_value.value()
        w[i, j] -= 2 * eps
        down = term_value.value()
        w[i, j] += eps
    fd = (up - down) / (2 * eps)
    assert abs(fd - mu * (w[i, j].item() - anchor[0][i, j])) < 1e-3


class ToyClient:
    """Noisy SGD on a private least-squares problem; has its own generator (state is checkpointed)."""

    def __init__(self, cid: int, seed: int):
        self.cid = cid
        self.rng = np.random.default_rng(seed)
        data_rng = np.random.default_rng(1000 + cid)
        self.x = data_rng.normal(size=(20 + 5 * cid, 3))
        self.y = self.x @ np.array([1.0, -2.0, 0.5]) + cid * 0.3

    def fit(self, params, config):
        w = params[0].copy()
        mu = config.get("proximal_mu", 0.0)
        w0 = w.copy()
        for _ in range(5):
            idx = self.rng.integers(0, len(self.x), 8)
            grad = self.x[idx].T @ (self.x[idx] @ w - self.y[idx]) / 8 + mu * (w - w0)
            w -= 0.05 * grad
        return [w], len(self.x), {"success_rate": float(self.rng.random())}

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]


def _toy_run(tmp_path, strategy, stop_after=None, rounds=6, codec="none"):
    clients = {c: ToyClient(c, seed=c) for c in range(5)}
    server = FederatedServer(make_strategy(strategy, fraction_fit=0.6), clients=list(clients), seed=3, codec=codec)
    server.initialize([np.zeros(3)])
    run_federated(server, clients, rounds, checkpoint_dir=tmp_path, stop_after=stop_after)
    return server


@pytest.mark.parametrize("strategy, codec", [("fedavg", "none"), ("fedprox", "int8"), ("success", "fp16")])
def test_resume_gives_the_same_state_as_an_uninterrupted_run(tmp_path, strategy, codec):
    full = _toy_run(tmp_path / "full", strategy, codec=codec)
    _toy_run(tmp_path / "cut", strategy, stop_after=2, codec=codec)  # "interrupted" after round 2
    resumed = _toy_run(tmp_path / "cut", strategy, codec=codec)  # fresh objects, resumes from round 2
    assert resumed.round == full.round == 6
    np.testing.assert_array_equal(resumed.global_params[0], full.global_params[0])
    assert [r.selected for r in resumed.history] == [r.selected for r in full.history]
    assert [r.to_dict() for r in resumed.history] == [r.to_dict() for r in full.history]
    # the federated model learnt something
    assert np.linalg.norm(full.global_params[0] - np.array([1.0, -2.0, 0.5])) < 1.0


def test_communication_accounting(tmp_path):
    server = _toy_run(tmp_path, "fedavg", rounds=2, codec="int8")
    for rec in server.history:
        assert len(rec.selected) == 3
        assert rec.bytes_down == {c: 3 * 4 for c in rec.selected}
        assert rec.bytes_up == {c: 3 * 1 + 4 for c in rec.selected}
        assert rec.total_bytes == 3 * 12 + 3 * 7


def _poisoned_round():
    """Three honest clients near 1.0 and three poisoned ones: norm ~1e30, a NaN, a wrong shape."""
    honest = [_res(k, 1.0 + 0.1 * k, -1.0 + 0.1 * k, n=10, success=0.5) for k in range(3)]
    huge = _res(10, 1e30, 1e30, n=1000, success=1.0)
    nan = _res(11, 1.0, 1.0, n=1000, success=1.0)
    nan.params[0][1, 1] = np.nan
    shape = FitRes(12, [np.ones((4, 1)), np.ones(3)], 1000, {"success_rate": 1.0})
    return honest, [huge, nan, shape]


@pytest.mark.parametrize("name", ["fedavg", "fedprox", "success", "uniform", "median", "trimmed_mean"])
def test_poisoned_updates_are_rejected_by_every_strategy_by_default(name):
    honest, poisoned = _poisoned_round()
    out, failures = _agg(name, honest + poisoned)  # no bound set: the adaptive default
    assert sorted(c for c, _ in failures) == [10, 11, 12]
    assert "adaptive" in dict(failures)[10]
    assert all(np.all(np.isfinite(t)) for t in out)
    np.testing.assert_allclose(out[0], 1.1, atol=1e-12)  # every rule gives the honest centre here
    np.testing.assert_allclose(out[1], -0.9, atol=1e-12)


@pytest.mark.parametrize("name", ["fedavg", "median", "trimmed_mean"])
def test_one_honest_client_beside_one_poisoned_still_wins(name):
    out, failures = _agg(name, [_res(0, 2.0, 2.0), _res(1, 1e30, 1e30)])
    assert [c for c, _ in failures] == [1]
    np.testing.assert_allclose(out[0], 2.0)


def test_the_adaptive_bound_follows_the_round_and_a_fixed_bound_overrides_it():
    honest = [_res(k, 100.0 * (1 + k), 0.0) for k in range(3)]  # large but alike: all accepted
    assert _agg("fedavg", honest)[1] == []
    out, failures = _agg("fedavg", honest, max_update_norm=500.0)  # ‖(200,…)‖ = 400 passes, 600 does not
    assert [c for c, _ in failures] == [2]
    _, none_rejected = _agg("fedavg", honest + [_res(9, 1e30, 0.0)], norm_factor=None)
    assert none_rejected == []  # the user switched the bound off
    with pytest.raises(ValueError, match="norm_factor"):
        make_strategy("fedavg", norm_factor=0.0)


def test_trimmed_mean_trims_three_clients_and_says_when_it_cannot(caplog):
    out, _ = _agg("trimmed_mean", [_res(0, 0.0, 0.0), _res(1, 1.0, 1.0), _res(2, 5.0, 5.0)])
    np.testing.assert_allclose(out[0], 1.0)  # β = 0.1, K = 3: one value trimmed each side
    with caplog.at_level(logging.WARNING, logger="slicebridge.federation"):
        out, _ = _agg("trimmed_mean", [_res(0, 1.0, 1.0), _res(1, 3.0, 3.0)])
    np.testing.assert_allclose(out[0], 2.0)
    assert any("cannot trim" in r.message for r in caplog.records)


def test_a_truncated_latest_checkpoint_is_skipped_for_the_previous_good_one(tmp_path, caplog):
    full = _toy_run(tmp_path / "full", "fedavg")
    _toy_run(tmp_path / "cut", "fedavg", stop_after=3)  # keeps rounds 2 and 3
    latest = tmp_path / "cut" / "round_00003" / "state.pkl"
    latest.write_bytes(latest.read_bytes()[:100])  # a crash while the disk was writing it
    with caplog.at_level(logging.WARNING, logger="slicebridge.federation"):
        resumed = _toy_run(tmp_path / "cut", "fedavg")
    assert any("round_00003" in r.message and "does not load" in r.message for r in caplog.records)
    assert [r.to_dict() for r in resumed.history] == [r.to_dict() for r in full.history]  # redone from round 2
    np.testing.assert_array_equal(resumed.global_params[0], full.global_params[0])
