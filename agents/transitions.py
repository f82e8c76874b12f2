# SPDX-License-Identifier: GPL-2.0-only
"""Flat transition sets: what the learners that work on stored experience share.

Used by replay mixing (:mod:`slicebridge.agents.transfer`, TL-MADRL: a source agent's replay, continuous
actions) and by offline RL and distillation (:mod:`slicebridge.agents.dt_drl_extensions`, DT-DRL: a log
of real transitions, discrete actions).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only for the annotation of from_log
    from slicebridge.agents.twin import TransitionLog


@dataclass
class Transitions:
    """One row per transition: ``obs [N, F]``, ``actions [N]`` (discrete, int) or ``[N, A]`` (continuous),
    ``rewards [N]``, ``next_obs [N, F]`` and ``dones [N]`` (1.0 where the episode terminated; an episode cut
    by a time limit did not terminate). ``dones`` left out means no episode terminated (all 0)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray = None  # type: ignore[assignment]  # filled with zeros in __post_init__

    def __post_init__(self) -> None:
        n = len(self.rewards)
        if self.dones is None:
            self.dones = np.zeros(n, np.float32)
        wrong = {f.name: len(getattr(self, f.name)) for f in fields(self) if len(getattr(self, f.name)) != n}
        if wrong:
            raise ValueError(f"Transitions: {n} rewards but {wrong} rows; every field needs one row per transition")

    def __len__(self) -> int:
        return len(self.rewards)

    def __add__(self, other: Transitions) -> Transitions:
        """Both sets, this one first."""
        return Transitions(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)})

    @staticmethod
    def from_log(log: TransitionLog) -> Transitions:
        """Every transition of a :class:`~slicebridge.agents.twin.TransitionLog`, episode after episode
        (its episodes are truncated, never terminated: ``dones`` all 0)."""
        eps = log.arrays()
        if not eps:
            raise ValueError("Transitions.from_log: the log holds no transition")
        return Transitions(np.concatenate([o[:-1] for o, _, _ in eps]), np.concatenate([a for _, a, _ in eps]),
                           np.concatenate([r for _, _, r in eps]), np.concatenate([o[1:] for o, _, _ in eps]))
