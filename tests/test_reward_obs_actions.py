"""The shared KPI → observation/reward path and the action mapping, on small hand-computed cases."""

import math

import numpy as np
import pytest
from slicebridge.bridge import kpi as K
from slicebridge.bridge.actions import (
    ActionMapper,
    InvalidActionError,
    apply_moves,
    discrete_moves,
    shares_from_raw,
)
from slicebridge.bridge.observation import ObservationBuilder, peak_rate_mbps
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import load_scenario


def _kpis(rows):
    """One cell; rows: per slice dicts of KPI values -> [1, S, 11]."""
    out = np.zeros((1, len(rows), K.N_KPIS))
    for s, row in enumerate(rows):
        for name, value in row.items():
            out[0, s, K.KPI_INDEX[name]] = value
    return out


TINY = load_scenario("tiny")  # embb: SLA 3 Mbit/s per UE, 100 ms; urllc: 0.8 Mbit/s per UE, 10 ms; 25 PRBs


def test_min_satisfaction_hand_computed():
    kpis = _kpis([
        dict(offered_mbps=8.0, throughput_mbps=4.5, active_ues=2, delay_mean_ms=50.0),  # target min(6, 8)=6 -> 0.75
        dict(offered_mbps=2.0, throughput_mbps=2.0, active_ues=2, delay_mean_ms=20.0),  # thr 2/1.6 -> 1; delay 10/20 = 0.5
    ])
    r = RewardFunction(TINY)(kpis)
    assert r.shape == (1,)
    assert r[0] == pytest.approx(0.5)
    sat = RewardFunction(TINY).satisfaction(kpis)
    assert sat[0] == pytest.approx([0.75, 0.5])


def test_min_satisfaction_idle_slice_is_satisfied():
    kpis = _kpis([dict(offered_mbps=0.0, throughput_mbps=0.0, active_ues=0), dict(offered_mbps=1.0, throughput_mbps=1.0, active_ues=2, delay_mean_ms=5)])
    assert RewardFunction(TINY)(kpis)[0] == pytest.approx(1.0)


def test_utility_cost_hand_computed():
    s = TINY.with_updates(reward={"name": "utility_cost", "alpha": 1.0, "beta": 0.5})
    kpis = _kpis([
        dict(offered_mbps=8.0, throughput_mbps=4.0, prb_used_share=0.6),
        dict(offered_mbps=1.0, throughput_mbps=1.0, prb_used_share=0.1),
    ])
    # U = mean(0.5, 1.0) = 0.75; C = 0.7 -> 0.75 - 0.35
    assert RewardFunction(s)(kpis)[0] == pytest.approx(0.40)


def test_sigmoid_utility_hand_computed():
    s = TINY.with_updates(reward={"name": "sigmoid_utility", "lam": 1.0, "mu": 2.0, "phi": 1.0})
    bw_hz = 25 * 180e3
    kpis = _kpis([
        # needed share = 4.5e6 / (2 * 4.5e6) = 0.5; used 0.25 -> omega 0.5; rate 4/2 = 2 vs 3 -> sigmoid(-1)
        dict(offered_mbps=bw_hz * 2 / 1e6 * 0.5, throughput_mbps=4.0, active_ues=2, prb_used_share=0.25, spectral_eff_bps_hz=2.0),
        # urllc is a delay slice: tau 4 vs 10 -> sigmoid(6); needed = 0.9e6/(1*4.5e6)=0.2, used 0.4 -> omega 1
        dict(offered_mbps=0.9, throughput_mbps=0.9, active_ues=1, delay_mean_ms=4.0, prb_used_share=0.4, spectral_eff_bps_hz=1.0),
    ])
    sig = lambda x: 1 / (1 + math.exp(-x))
    expected = ((0.5 + 2 * sig(-1.0)) + (1.0 + 2 * sig(6.0))) / 2
    assert RewardFunction(s)(kpis)[0] == pytest.approx(expected)


def test_se_ssr_hand_computed():
    s = TINY.with_updates(reward={"name": "se_ssr", "alpha": 0.5, "beta": 1.0, "se_norm_bps_hz": 5.0})
    kpis = _kpis([
        dict(offered_mbps=5.0, throughput_mbps=4.5, sla_ratio=0.8),
        dict(offered_mbps=0.0, throughput_mbps=0.0, sla_ratio=0.0),  # no traffic: left out of SSR
    ])
    se = 4.5e6 / (25 * 180e3)  # 1.0 bit/s/Hz
    assert RewardFunction(s)(kpis)[0] == pytest.approx(0.5 * se / 5.0 + 0.8)


def test_rewards_broadcast_over_batch_and_cells():
    s = load_scenario("tl_madrl_12cell")
    kpis = np.random.default_rng(0).random((5, 7, 12, 4, K.N_KPIS))
    for name in ("min_satisfaction", "utility_cost", "sigmoid_utility", "se_ssr"):
        r = RewardFunction(s.with_updates(reward={"name": name}))(kpis)
        assert r.shape == (5, 7, 12) and np.all(np.isfinite(r))


def test_observation_normalisation_and_neighbours():
    s = load_scenario("default")  # 3 sectors, features: offered, thr, delay_mean, sla, active_ues, share; neighbour load
    build = ObservationBuilder(s)
    kpis = np.zeros((3, 3, K.N_KPIS))
    peak = peak_rate_mbps(s)
    kpis[:, :, K.OFFERED] = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3]]) * peak / 10
    kpis[0, 0, K.DELAY_MEAN] = 50.0  # embb budget 100 ms -> 0.5
    kpis[0, 1, K.ACTIVE_UES] = s.slices[1].ues_per_cell  # all of urllc's UEs -> 1.0
    obs = build(kpis)
    assert obs.shape == (3, build.obs_dim) == (3, 3 * 6 + 3) and obs.dtype == np.float32
    assert obs[0, 0] == pytest.approx(0.1) and obs[0, 2] == pytest.approx(0.5) and obs[0, 6 + 4] == pytest.approx(1.0)
    # neighbours of cell 0 are the co-sited cells 1 and 2: mean load per slice = ([0,.2,0] + [0,0,.3]) / 2
    assert obs[0, -3:] == pytest.approx([0.0, 0.1, 0.15])
    kpis[0, 0, K.DELAY_MEAN] = 1e9
    assert build(kpis).max() <= s.observation.clip


def test_shares_from_raw_respect_simplex_and_minimums():
    mins = np.array([0.1, 0.2, 0.0])
    raw = np.random.default_rng(1).random((100, 3))
    raw[0] = 0.0
    shares = shares_from_raw(raw, mins)
    assert np.allclose(shares.sum(-1), 1.0) and np.all(shares >= mins - 1e-12)
    assert shares[0] == pytest.approx(mins + 0.7 / 3)


def test_action_mapper_rejects_or_projects():
    s = TINY.with_updates(action={"invalid": "reject"})
    mapper = ActionMapper(s)
    cur = np.full((1, 1, 2), 0.5)
    with pytest.raises(InvalidActionError, match="shape"):
        mapper(np.ones((1, 2)), cur)
    with pytest.raises(InvalidActionError, match="NaN"):
        mapper(np.array([[[np.nan, 1.0]]]), cur)
    with pytest.raises(InvalidActionError, match=r"\[0, 1\]"):
        mapper(np.array([[[-0.5, 1.0]]]), cur)
    projected = ActionMapper(TINY)(np.array([[[-0.5, 1.0]]]), cur)
    assert projected[0, 0] == pytest.approx([0.1, 0.9])


def test_discrete_moves_keep_minimums():
    assert discrete_moves(3)[0] == (-1, -1) and len(discrete_moves(3)) == 7
    mins = np.array([0.1, 0.1])
    shares = np.array([[0.15, 0.85], [0.5, 0.5]])
    out = apply_moves(shares, np.array([1, 2]), 0.1, mins)  # 1: slice0 -> slice1, 2: slice1 -> slice0
    assert out[0] == pytest.approx([0.1, 0.9]) and out[1] == pytest.approx([0.6, 0.4])
    with pytest.raises(InvalidActionError):
        apply_moves(shares, np.array([0, 9]), 0.1, mins)
