# SPDX-License-Identifier: GPL-2.0-only
"""Calibration of delay and SLA with a held-out split (issue 10).

litesim with other free parameters stands in for ns-3 (a known truth), on ``tiny`` (fast)."""

import numpy as np
import pytest

from slicebridge.app.calibration import Split, blown_up, calibrate, held_out_split, median_gaps, objective, policy_gaps
from slicebridge.app.evaluate import episode_jobs, run_jobs
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, load_scenario

POLICIES = ("equal", "greedy_sla", "proportional", "random")
EPISODES = 2


def _base() -> Scenario:
    data = load_scenario("tiny").model_dump(mode="json")
    data["control"]["episode_steps"] = 8
    return Scenario.from_dict(data)


def _lite(scenario: Scenario, policy: str, episodes: tuple[int, ...]) -> np.ndarray:
    jobs = episode_jobs(scenario, policy, "litesim", EPISODES, seed=3)
    return np.stack([r.kpis for r in run_jobs([[jobs[e] for e in episodes]])[0]])


@pytest.fixture(scope="module")
def truth():
    """'ns-3': litesim with longer fixed latencies (URLLC more) and a lower efficiency than the defaults."""
    scenario = _base().with_updates(litesim={"base_delay_ms": 7.0, "slice_delay_ms": [0.0, 5.0], "scheduler_efficiency": 0.55})
    return {p: _lite(scenario, p, tuple(range(EPISODES))) for p in POLICIES}


def test_held_out_split_is_disjoint_and_keeps_something_to_fit():
    split = held_out_split(POLICIES, 4)
    assert split.fit_policies == ("equal", "greedy_sla") and split.held_policies == ("proportional", "random")
    assert split.fit_episodes == (0, 1) and split.held_episodes == (2, 3) and split.seeds_held_out
    one = held_out_split(POLICIES, 1)
    assert one.fit_episodes == one.held_episodes == (0,) and not one.seeds_held_out
    assert held_out_split(["equal"], 3).held_policies == ()
    with pytest.raises(ValueError, match="keep at least one"):
        held_out_split(["equal", "random"], 2, held_policies=["equal", "random"])


def test_calibration_fits_delay_and_never_looks_at_the_held_out_set(truth):
    calls = []

    def recording(scenario, policy, episodes):
        calls.append((policy, episodes))
        return _lite(scenario, policy, episodes)

    split = held_out_split(POLICIES, EPISODES)
    result = calibrate(_base(), truth, recording, split=split)
    # the fit set is simulated only for its own episodes; the held-out set only for the held-out ones,
    # twice (uncalibrated and fitted litesim), once the fit is over
    for policy, episodes in calls:
        if policy in split.fit_policies:
            assert episodes == split.fit_episodes
        else:
            assert episodes == split.held_episodes
    held_calls = [i for i, (p, _) in enumerate(calls) if p in split.held_policies]
    assert len(held_calls) == 2 * len(split.held_policies) and min(held_calls) > max(
        i for i, (p, _) in enumerate(calls) if p in split.fit_policies)
    # delay was fitted: the truth's fixed latency is found, and the delay gaps close on both sets
    # URLLC's fixed latency is found (eMBB is saturated: its few ms trade against its efficiency)
    fixed = result.params["base_delay_ms"] + np.array(result.params["slice_delay_ms"])
    assert fixed[1] == pytest.approx(12.0, abs=1.5)
    assert result.fit_after["delay_mean_ms"] < 0.5 * result.fit_before["delay_mean_ms"]
    assert result.held_after["delay_mean_ms"] < 0.5 * result.held_before["delay_mean_ms"]
    assert objective(result.fit_after) <= objective(result.fit_before)
    assert not result.overfit
    summary = result.summary()
    assert summary["split"]["held_out_policies"] == ["proportional", "random"]
    assert summary["held_after"]["objective"] == pytest.approx(objective(result.held_after))

    # the held-out ns-3 traces cannot move the fit: garbage there gives the same parameters
    spoiled = {p: (t if p in split.fit_policies else t * 50.0) for p, t in truth.items()}
    spoiled = {p: np.concatenate([t[:1], truth[p][1:] * 50.0]) for p, t in spoiled.items()}  # and episode 1
    again = calibrate(_base(), spoiled, _lite, split=split)
    assert (again.rejected["params"] if again.overfit else again.params) == result.params


def test_an_over_fitting_candidate_is_rejected_by_the_held_out_score(truth):
    """A candidate that memorised the fit set (perfect there, wrong elsewhere) wins the fit and must be
    caught by the held-out check: flagged, and the uncalibrated scenario returned."""
    split = held_out_split(POLICIES, EPISODES)
    magic = 12345  # buffer_bytes value that marks the memorising candidate

    def memorising(scenario, policy, episodes):
        if scenario.litesim.buffer_bytes != magic:
            return _lite(scenario, policy, episodes)
        if policy in split.fit_policies:
            return truth[policy][list(episodes)]
        wrong = _lite(scenario, policy, episodes).copy()
        wrong[..., :] *= 3.0  # every KPI three times off
        return wrong

    base = _base()
    result = calibrate(base, truth, memorising, split=split, extra_candidates=[{"buffer_bytes": magic}])
    assert result.overfit
    assert result.rejected["params"] and result.rejected["fit"]["delay_mean_ms"] == pytest.approx(0.0)
    assert result.scenario is base and result.summary()["overfit_rejected"] is True
    assert objective(result.rejected["held_out"]) > objective(result.held_before)


def test_without_a_held_out_set_the_old_fit_still_runs(truth):
    split = Split(POLICIES, (0, 1), (), (0, 1))
    result = calibrate(_base(), truth, _lite, split=split)
    assert not result.held_before and objective(result.fit_after) <= objective(result.fit_before)


def test_slice_delay_adds_to_one_slice_only():
    """slice_delay_ms is a fixed latency of its slice: at light load its mean and p95 delay rise by it
    exactly, the other slice's do not move, and its SLA budget shrinks by it (hand-computed)."""
    base = _base().with_updates(litesim={"base_delay_ms": 2.0})
    shifted = base.with_updates(litesim={"slice_delay_ms": [0.0, 3.0]})
    a, b = _lite(base, "equal", (0,))[0], _lite(shifted, "equal", (0,))[0]  # [T, C, S, K]
    rx = a[..., 1, K.THROUGHPUT] > 0
    assert rx.any()
    np.testing.assert_allclose(b[..., 0, :], a[..., 0, :], rtol=1e-6)
    np.testing.assert_allclose(b[..., 1, K.DELAY_MEAN][rx], a[..., 1, K.DELAY_MEAN][rx] + 3.0, rtol=1e-5)
    np.testing.assert_allclose(b[..., 1, K.DELAY_P95][rx], a[..., 1, K.DELAY_P95][rx] + 3.0, rtol=1e-5)
    tight = base.with_updates(litesim={"slice_delay_ms": [0.0, 1e4]})  # longer than any budget: no byte in time
    assert np.all(_lite(tight, "equal", (0,))[0][..., 1, K.SLA_RATIO][rx] == 0.0)
    with pytest.raises(Exception, match="slice_delay_ms"):
        base.with_updates(litesim={"slice_delay_ms": [1.0]})


# ---- the slice guard: a fit that improves the median but pushes one slice far out is refused ----

GUARD_SLICES = 3  # the default scenario's slice count (it is never simulated here)


def _synthetic_truth() -> dict[str, np.ndarray]:
    """'ns-3' traces ``[2, 4, 1, 3, K]`` per policy: every slice delivers in every period."""
    rng = np.random.default_rng(5)
    truth = {}
    for p in POLICIES:
        t = np.zeros((EPISODES, 4, 1, GUARD_SLICES, K.N_KPIS))
        for k, v in ((K.THROUGHPUT, 2.0), (K.OFFERED, 2.0), (K.DELAY_MEAN, 10.0), (K.DELAY_P95, 20.0), (K.SLA_RATIO, 0.8),
                     (K.PRB_USED, 0.3), (K.SHARE, 0.33), (K.SPECTRAL_EFF, 2.0)):
            t[..., k] = v * rng.uniform(0.8, 1.2, t.shape[:-1])
        truth[p] = t
    return truth


def _guarded_run(truth: dict[str, np.ndarray], split: Split, blow_up_on_fit: bool):
    """litesim stand-in: 30 % off on every KPI, except the candidates marked by ``buffer_bytes``:
    BLOW (exact, but mMTC's mean delay 4× off on the held-out set, and on the fit set too when
    ``blow_up_on_fit``) and MODEST (10 % off everywhere)."""

    def run(scenario, policy, episodes):
        t = truth[policy][list(episodes)]
        if scenario.litesim.buffer_bytes == MODEST:
            return t * 1.1
        if scenario.litesim.buffer_bytes != BLOW:
            return t * 1.3
        out = t.copy()
        if policy in split.held_policies or blow_up_on_fit:
            out[..., 2, K.DELAY_MEAN] *= 4.0
        return out
    return run


BLOW, MODEST = 23456, 34567


def test_a_fit_that_blows_one_slice_up_on_the_held_out_set_is_rejected():
    """Exact on the fit set, exact on the held-out set except mMTC's mean delay (30 % → 300 %): the
    held-out median (and objective) improves, so only the slice guard can catch it."""
    truth, base = _synthetic_truth(), load_scenario("default")
    split = held_out_split(POLICIES, EPISODES)
    result = calibrate(base, truth, _guarded_run(truth, split, blow_up_on_fit=False), split=split,
                       extra_candidates=[{"buffer_bytes": BLOW}])
    assert result.overfit and result.scenario is base
    assert objective(result.rejected["held_out"]) < objective(result.held_before)  # the median alone would accept it
    assert result.rejected["because"] == [f"{base.slice_names[2]} delay_mean_ms 30% → 300%"]
    assert result.summary()["rejected"]["because"] == result.rejected["because"]


def test_the_fit_never_takes_a_candidate_that_blows_one_slice_up():
    """On the fit set, the candidate that blows mMTC up has the best median objective, but the fit
    takes the modest one; the held-out check then has nothing to reject."""
    truth, base = _synthetic_truth(), load_scenario("default")
    split = held_out_split(POLICIES, EPISODES)
    run = _guarded_run(truth, split, blow_up_on_fit=True)
    result = calibrate(base, truth, run, split=split, extra_candidates=[{"buffer_bytes": BLOW}, {"buffer_bytes": MODEST}])
    fit_ns3 = {p: truth[p][list(split.fit_episodes)] for p in split.fit_policies}
    def fit_objective(marker: int) -> float:
        candidate = base.with_updates(litesim={"buffer_bytes": marker})
        return objective(median_gaps(policy_gaps({p: run(candidate, p, split.fit_episodes) for p in split.fit_policies}, fit_ns3)))

    assert fit_objective(BLOW) < fit_objective(MODEST)
    assert result.scenario.litesim.buffer_bytes == MODEST and not result.overfit


def test_blown_up_needs_the_factor_the_points_and_the_bound():
    before, after = np.zeros((1, 2, K.N_KPIS)), np.zeros((1, 2, K.N_KPIS))
    before[0, :, K.DELAY_MEAN] = [0.01, 0.30]
    before[0, :, K.THROUGHPUT] = [0.02, 0.01]
    after[0, :, K.DELAY_MEAN] = [0.24, 0.45]  # embb 24× and +23 points but within the 25 % bound; urllc 1.5×
    after[0, :, K.THROUGHPUT] = [0.11, 0.10]  # embb 5.5× but +9 points; urllc 10× and +9 points
    assert blown_up(before, after, ["embb", "urllc"]) == []
    after[0, 0, K.DELAY_MEAN], after[0, 1, K.SLA_RATIO] = 0.26, np.nan  # over the bound now; NaN: not compared
    after[0, 1, K.THROUGHPUT] = 0.12  # +11 points, over the 5 % bound
    assert blown_up(before, after, ["embb", "urllc"]) == ["embb delay_mean_ms 1% → 26%", "urllc throughput_mbps 1% → 12%"]
    after[0, 0, K.PRB_USED] = 5.0  # PRB use is not a bounded KPI
    assert len(blown_up(before, after, ["embb", "urllc"])) == 2
