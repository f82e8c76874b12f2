# SPDX-License-Identifier: GPL-2.0-only
"""Calibration of delay and SLA with a held-out split (issue 10).

litesim with other free parameters stands in for ns-3 (a known truth), on ``tiny`` (fast)."""

import numpy as np
import pytest

from slicebridge.app.calibration import Split, calibrate, held_out_split, objective
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
