# SPDX-License-Identifier: GPL-2.0-only
"""Discrete moves over both of FDRL's resources (``action.edge_moves``, ``action.compute_delta``) and the
raise/lower move table (``action.discrete_moves: updown``): the action tables, their limits at the
minimum shares, the move toward a target, and that both simulators carry out the compute shares an
action sets (the mapping happens once, in the env, before either backend)."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.bridge.actions import ActionMapper, InvalidActionError, apply_updown, updown_toward
from slicebridge.bridge.kpi import COMPUTE_SHARE
from slicebridge.bridge.scenario import ScenarioError, load_scenario
from slicebridge.envs.slicing import make_core


@pytest.fixture(scope="module")
def tiny():
    return load_scenario("tiny")


def _discrete(scenario, n_slices=2, min_compute=(0.2, 0.0), **action):
    """``scenario`` (2 slices) with an edge section and discrete moves of 0.1 (plus ``action``)."""
    edge = {"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1.0] * n_slices, "min_compute_share": list(min_compute)}
    return scenario.with_updates(edge=edge, action={"mode": "discrete", "delta": 0.1, **action})


def _three(tiny, **action):
    """tiny with a third slice (a copy of the second) and an edge section without minimums."""
    third = dict(tiny.slices[1].model_dump(mode="json"), name="third")
    sc = tiny.with_updates(slices=[s.model_dump(mode="json") for s in tiny.slices] + [third])
    return _discrete(sc, 3, (0.0, 0.0, 0.0), **action)


@pytest.mark.parametrize("edge_moves,count2,count3", [("either", 1 + 2 * 2, 1 + 2 * 6), ("joint", 1 + 2, 1 + 6),
                                                      ("both", 3 * 3, 7 * 7)])
def test_action_counts(tiny, edge_moves, count2, count3):
    assert ActionMapper(_discrete(tiny, edge_moves=edge_moves)).n_moves == count2
    assert ActionMapper(_three(tiny, edge_moves=edge_moves)).n_moves == count3


@pytest.mark.parametrize("edge_moves,count2,count3", [("either", 1 + 2 * 4, 1 + 2 * 6), ("joint", 1 + 4, 1 + 6),
                                                      ("both", 5 * 5, 7 * 7)])
def test_updown_action_counts(tiny, edge_moves, count2, count3):
    """updown has 2S moves per resource (raise or lower each slice), pair S(S−1)."""
    assert ActionMapper(_discrete(tiny, edge_moves=edge_moves, discrete_moves="updown")).n_moves == count2
    assert ActionMapper(_three(tiny, edge_moves=edge_moves, discrete_moves="updown")).n_moves == count3


MINS = np.array([0.1, 0.1, 0.1])


def test_updown_raise_takes_from_the_others_by_their_room_and_lower_gives_equally():
    shares = np.array([[0.5, 0.3, 0.2]] * 4)
    out = apply_updown(shares, np.array([0, 1, 4, 6]), 0.1, MINS)
    np.testing.assert_allclose(out[0], [0.5, 0.3, 0.2])  # keep
    np.testing.assert_allclose(out[1], [0.6, 0.3 - 0.1 * 2 / 3, 0.2 - 0.1 / 3])  # raise 0: rooms 0.2 and 0.1
    np.testing.assert_allclose(out[2], [0.4, 0.35, 0.25])  # lower 0: 0.05 to each other slice
    np.testing.assert_allclose(out[3], [0.55, 0.35, 0.1])  # lower 2: only 0.1 above its minimum


def test_updown_stops_at_the_minimums():
    at_floor = np.array([[0.8, 0.1, 0.1], [0.75, 0.15, 0.1]])
    np.testing.assert_allclose(apply_updown(at_floor, np.array([1, 1]), 0.1, MINS), [[0.8, 0.1, 0.1], [0.8, 0.1, 0.1]])
    np.testing.assert_allclose(apply_updown(at_floor[:1], np.array([5]), 0.1, MINS), at_floor[:1])  # lower 1: at its minimum
    with pytest.raises(InvalidActionError, match=r"\[0, 6\]"):
        apply_updown(at_floor, np.array([0, 7]), 0.1, MINS)


def test_updown_keeps_every_share_row_on_its_simplex():
    rng = np.random.default_rng(3)
    shares = MINS + (1 - MINS.sum()) * rng.dirichlet(np.ones(3), size=200)
    for _ in range(30):
        shares = apply_updown(shares, rng.integers(0, 7, 200), 0.15, MINS)
        np.testing.assert_allclose(shares.sum(-1), 1.0)
        assert np.all(shares >= MINS - 1e-12)


def test_updown_toward_closes_the_largest_gap():
    current = np.array([[0.5, 0.3, 0.2], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]])
    target = np.array([[0.3, 0.4, 0.3], [0.3, 0.5, 0.2], [0.3, 0.3, 0.4]])
    np.testing.assert_array_equal(updown_toward(current, target), [4, 2, 0])  # lower 0; raise 1; keep


def test_edge_moves_is_ignored_without_an_edge_section(tiny):
    sc = tiny.with_updates(action={"mode": "discrete", "delta": 0.1, "edge_moves": "both", "compute_delta": 0.2})
    mapper = ActionMapper(sc)
    assert mapper.n_moves == 1 + 2
    np.testing.assert_allclose(mapper(np.array([[1]]), np.array([[[0.5, 0.5]]]))[0, 0], [0.4, 0.6])


def test_joint_move_shifts_both_resources_between_the_same_slices(tiny):
    sc = _discrete(tiny, edge_moves="joint", compute_delta=0.05)
    mapper = ActionMapper(sc)
    current = np.array([[[0.5, 0.5, 0.6, 0.4]]])
    np.testing.assert_allclose(mapper(np.array([[1]]), current)[0, 0], [0.4, 0.6, 0.55, 0.45])  # 0 -> 1, compute by 0.05
    np.testing.assert_allclose(mapper(np.array([[2]]), current)[0, 0], [0.6, 0.4, 0.65, 0.35])  # 1 -> 0
    np.testing.assert_allclose(mapper(np.array([[0]]), current)[0, 0], current[0, 0])
    # each resource stops at its own minimum: compute of slice 0 cannot go under 0.2
    floor = np.array([[[0.5, 0.5, 0.22, 0.78]]])
    np.testing.assert_allclose(mapper(np.array([[1]]), floor)[0, 0], [0.4, 0.6, 0.2, 0.8])


def test_both_moves_set_a_bandwidth_and_a_compute_move_per_action(tiny):
    mapper = ActionMapper(_discrete(tiny, edge_moves="both"))
    current = np.array([[[0.5, 0.5, 0.6, 0.4]]])
    expected = {0: [0.5, 0.5, 0.6, 0.4], 1: [0.5, 0.5, 0.5, 0.5], 2: [0.5, 0.5, 0.7, 0.3],  # bandwidth kept
                3: [0.4, 0.6, 0.6, 0.4], 5: [0.4, 0.6, 0.7, 0.3], 7: [0.6, 0.4, 0.5, 0.5], 8: [0.6, 0.4, 0.7, 0.3]}
    for index, row in expected.items():
        np.testing.assert_allclose(mapper(np.array([[index]]), current)[0, 0], row, err_msg=f"action {index}")
    with pytest.raises(ValueError, match=r"\[0, 8\]"):
        mapper(np.array([[9]]), current)


def test_compute_delta_sets_the_compute_step_of_either_moves(tiny):
    mapper = ActionMapper(_discrete(tiny, compute_delta=0.25))
    current = np.array([[[0.5, 0.5, 0.6, 0.4]]])
    np.testing.assert_allclose(mapper(np.array([[1]]), current)[0, 0], [0.4, 0.6, 0.6, 0.4])  # bandwidth: delta
    np.testing.assert_allclose(mapper(np.array([[3]]), current)[0, 0], [0.5, 0.5, 0.35, 0.65])  # compute: 0.25


@pytest.mark.parametrize("edge_moves", ["either", "joint", "both"])
def test_moving_toward_a_target_reaches_it(tiny, edge_moves):
    """Repeated ``toward`` moves bring both resources to a target on the move grid, in every table."""
    sc = _three(tiny, edge_moves=edge_moves, delta=0.05)
    mapper = ActionMapper(sc)
    current = np.tile(np.asarray(sc.initial_share_row()), (1, 1, 1))
    # joint moves shift both resources alike, so only a target with equal changes in both is reachable
    target = np.array([[[1 / 3 - 0.15, 1 / 3 + 0.2, 1 / 3 - 0.05] * 2]])
    for _ in range(20):
        current = mapper(mapper.toward(current, target), current)
    np.testing.assert_allclose(current, target, atol=1e-9)
    assert mapper.toward(current, target)[0, 0] == 0


@pytest.mark.parametrize("edge_moves", ["either", "joint", "both"])
def test_updown_toward_gets_close_to_a_target(tiny, edge_moves):
    """updown moves spread what they free over the others, so they get within a step of a target."""
    sc = _three(tiny, edge_moves=edge_moves, discrete_moves="updown", delta=0.02)
    mapper = ActionMapper(sc)
    current = np.tile(np.asarray(sc.initial_share_row()), (1, 1, 1))
    target = np.array([[[0.2, 0.6, 0.2] * 2]])
    start = np.abs(current - target).max()
    for _ in range(60):
        current = mapper(mapper.toward(current, target), current)
    assert np.abs(current - target).max() < 0.03 < start


def test_both_toward_moves_each_resource_its_own_way(tiny):
    mapper = ActionMapper(_discrete(tiny, edge_moves="both"))
    current = np.array([[[0.5, 0.5, 0.5, 0.5]]])
    index = mapper.toward(current, np.array([[[0.8, 0.2, 0.2, 0.8]]]))  # bandwidth 1 -> 0, compute 0 -> 1
    np.testing.assert_allclose(mapper(index, current)[0, 0], [0.6, 0.4, 0.4, 0.6])
    bandwidth_only = mapper.toward(current, np.array([[[0.2, 0.8]]]))  # an [S] target keeps the compute
    np.testing.assert_allclose(mapper(bandwidth_only, current)[0, 0], [0.4, 0.6, 0.5, 0.5])


def test_edge_moves_refuses_an_unknown_table(tiny):
    with pytest.raises(ScenarioError, match="edge_moves"):
        _discrete(tiny, edge_moves="all")
    with pytest.raises(ScenarioError, match="discrete_moves"):
        _discrete(tiny, discrete_moves="swap")


def test_joint_lowering_gives_both_resources_away_down_to_their_own_minimums():
    """FDRL's compute scenario: 7 actions per cell; one repeated "lower the IoT slice" move (updown,
    joint) frees its PRBs down to min_share and its compute down to min_compute_share, split between
    video and web, from equal thirds of both resources."""
    sc = load_scenario("fdrl_10edge_compute")
    mapper = ActionMapper(sc)
    assert mapper.n_moves == 7
    current = np.tile(np.asarray(sc.initial_share_row()), (1, sc.n_cells, 1))
    np.testing.assert_allclose(current[0, 0], [1 / 3] * 6, atol=1e-5)
    lower_iot = 1 + 3 + 2
    for _ in range(10):
        current = mapper(np.full((1, sc.n_cells), lower_iot), current)
    np.testing.assert_allclose(current[0], np.tile([0.475, 0.475, 0.05, 0.4, 0.4, 0.2], (sc.n_cells, 1)), atol=1e-5)


def _compute_shares_after_moves(scenario, simulator, moves, **kwargs):
    core = make_core(scenario, simulator, num_envs=1, seed=1, **kwargs)
    try:
        core.reset(seed=1)
        seen = []
        for move in moves:
            core.step(np.array([[move]]))
            seen.append((core.shares[0, 0].copy(), core.kpis[0, 0, :, COMPUTE_SHARE].copy()))
        return seen
    finally:
        core.close()


MOVES = [4, 4, 1, 0]  # "both" on 2 slices (index b·3 + c): bandwidth and compute 0 -> 1, twice; compute 0 -> 1; keep


def _edge_tiny(tiny):
    sc = _discrete(tiny, min_compute=(0.0, 0.0), edge_moves="both")
    return sc.with_updates(control={"episode_steps": len(MOVES), "warmup_ms": 0})


def test_litesim_applies_the_compute_shares_of_both_moves(tiny):
    seen = _compute_shares_after_moves(_edge_tiny(tiny), "litesim", MOVES)
    np.testing.assert_allclose([s[2:] for s, _ in seen], [[0.4, 0.6], [0.3, 0.7], [0.2, 0.8], [0.2, 0.8]])
    np.testing.assert_allclose([s[:2] for s, _ in seen], [[0.4, 0.6], [0.3, 0.7], [0.3, 0.7], [0.3, 0.7]])
    for shares, reported in seen:
        np.testing.assert_allclose(reported, shares[2:])


@pytest.mark.ns3
def test_ns3_applies_the_compute_shares_of_both_moves(ns3_binary, tiny):
    seen = _compute_shares_after_moves(_edge_tiny(tiny), "ns3", MOVES, binary=ns3_binary)
    for shares, reported in seen:
        np.testing.assert_allclose(reported, shares[2:], atol=1e-6)
    np.testing.assert_allclose(seen[-1][1], [0.2, 0.8], atol=1e-6)
