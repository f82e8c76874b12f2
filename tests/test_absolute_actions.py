# SPDX-License-Identifier: GPL-2.0-only
"""Absolute-split action mode (DT-DRL): the enumeration has the paper's counts and every split once."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from slicebridge.bridge.actions import ActionMapper, InvalidActionError, absolute_splits, nearest_split
from slicebridge.bridge.scenario import Scenario, ScenarioError, load_scenario
from slicebridge.envs.slicing import SlicingEnv


def absolute(units: int, min_share: float = 0.0, name: str = "dt_drl_3slice") -> Scenario:
    data = load_scenario(name).model_dump(mode="json")
    data["action"].update(mode="absolute", units=units)
    for s in data["slices"]:
        s["min_share"] = min_share
    return Scenario.from_dict(data)


@pytest.mark.parametrize("units, count", [(20, 171), (100, 4851)])
def test_the_papers_counts(units, count):
    """1 MHz of 20 MHz → 171 = C(19, 2); 200 kHz → 4851 = C(99, 2) (at least one unit per slice)."""
    splits = absolute_splits(units, (1, 1, 1))
    assert len(splits) == count == math.comb(units - 1, 2)
    assert ActionMapper(absolute(units)).n_moves == count


def test_every_split_once_against_brute_force():
    for units, mins in [(7, (1, 1, 1)), (9, (2, 1, 3)), (6, (1, 1, 1, 1)), (5, (1, 4))]:
        splits = absolute_splits(units, mins)
        brute = sorted(c for c in product(range(units + 1), repeat=len(mins))
                       if sum(c) == units and all(x >= m for x, m in zip(c, mins)))
        assert [tuple(r) for r in splits] == brute  # lexicographic, no duplicate, none missing


def test_min_share_raises_the_minimum_units():
    scenario = absolute(20, min_share=0.12)  # ⌈2.4⌉ = 3 units each
    assert scenario.absolute_min_units() == (3, 3, 3)
    assert ActionMapper(scenario).n_moves == math.comb(20 - 9 + 2, 2)
    with pytest.raises(ScenarioError, match="raise action.units"):
        absolute(2)


def test_mapper_turns_indices_into_grid_shares_and_refuses_bad_ones():
    mapper = ActionMapper(absolute(20))
    current = np.full((2, 1, 3), 1 / 3)
    shares = mapper(np.array([[0], [170]]), current)
    np.testing.assert_allclose(shares[:, 0], [[1 / 20, 1 / 20, 18 / 20], [18 / 20, 1 / 20, 1 / 20]])
    for bad in (np.array([[171], [0]]), np.array([[-1], [0]]), np.array([[0.5], [0]])):
        with pytest.raises(InvalidActionError):
            mapper(bad, current)


def test_nearest_split_and_env_space():
    mapper = ActionMapper(absolute(20))
    target = np.array([0.1, 0.6, 0.3])
    index = nearest_split(mapper.splits, target)
    assert tuple(mapper.splits[index]) == (2, 12, 6)
    env = SlicingEnv(absolute(20))
    try:
        assert list(env.action_space.nvec) == [171]  # one cell: MultiDiscrete([171])
        env.reset(seed=0)
        _, reward, *_ = env.step(np.array([index]))
        assert np.isfinite(reward)
    finally:
        env.close()
