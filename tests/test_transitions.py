# SPDX-License-Identifier: GPL-2.0-only
"""The shared flat transition set (slicebridge.agents.transitions): row checks, concatenation, a log's transitions."""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.agents.transitions import Transitions
from slicebridge.agents.twin import TransitionLog


def _set(n: int, start: float = 0.0, dones: np.ndarray | None = None) -> Transitions:
    obs = start + np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return Transitions(obs, np.full((n, 3), 0.5, np.float32), np.full(n, start, np.float32), obs + 1.0, dones)


def test_dones_default_to_not_terminated_and_rows_must_agree():
    t = _set(4)
    assert len(t) == 4 and t.dones.shape == (4,) and not t.dones.any()
    with pytest.raises(ValueError, match="one row per transition"):
        Transitions(np.zeros((4, 2)), np.zeros(3), np.zeros(4), np.zeros((4, 2)))


def test_sum_keeps_every_field_in_order():
    a, b = _set(2), _set(3, start=10.0, dones=np.array([0.0, 1.0, 0.0], np.float32))
    both = a + b
    assert len(both) == 5
    assert np.array_equal(both.obs, np.concatenate([a.obs, b.obs])) and np.array_equal(both.next_obs[2:], b.next_obs)
    assert both.rewards.tolist() == [0.0, 0.0, 10.0, 10.0, 10.0] and both.dones.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_from_log_pairs_each_observation_with_the_next():
    log = TransitionLog()
    log.start(np.array([0.0]))
    log.add(1, 0.5, np.array([1.0]))
    log.add(0, 0.25, np.array([2.0]))
    log.start(np.array([5.0]))  # a second episode: its first obs never follows the last of the first
    log.add(2, 1.0, np.array([6.0]))
    t = Transitions.from_log(log)
    assert t.obs[:, 0].tolist() == [0.0, 1.0, 5.0] and t.next_obs[:, 0].tolist() == [1.0, 2.0, 6.0]
    assert t.actions.tolist() == [1, 0, 2] and t.rewards.tolist() == [0.5, 0.25, 1.0] and not t.dones.any()
    with pytest.raises(ValueError, match="no transition"):
        Transitions.from_log(TransitionLog())
