# SPDX-License-Identifier: GPL-2.0-only
"""Per-slice agents' view of a :class:`SlicingCore`: one *unit* per (cell, slice), ``u = c·S + s``.

DT-MAFL (docs/RESEARCH.md system 2) gives every slice its own agent. :class:`SliceUnitCore` presents
the core to the training layer as ``U = C·S`` units with the same interface as the core's cells
(``n_cells`` is the unit count there), so the lockstep hub, the KPI meter and the federation
strategies work unchanged; :func:`unit_groups` says which units each agent owns.

Per unit, per step:

- observation ``[demand, predicted demand, share]`` (float32, clipped to ``[0, observation.clip]``):
  demand is the slice's needed PRB share in the period just measured, ``offered / (SE · bandwidth)``;
  the prediction is the demand twin's forecast of the next period from the last ``window`` demands of
  every slice of the cell (persistence when no twin is given); the current share is added to the
  paper's state because a percent change of an unknown share is a guess;
- action: a percent change of the slice's share, ``Box(−1, 1, (1,))`` scaled by ``max_change``
  (continuous), or ``Discrete(len(levels))`` picking one of ``levels`` (discrete, the MADQN baseline);
  the cell's new shares come from ``bridge.actions.percent_change`` (on the simplex above the minimums);
- reward: ``RewardFunction.slice_utility``, the paper's ``Λ·Ω_s + μ·Σ_u U_u``.

``infos[b]["kpis"]`` is ``[U, S, 11]``: each unit sees its cell's KPI tensor, so per-cell metrics
computed over units weight every cell equally.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from gymnasium import spaces

from slicebridge.bridge import kpi as K
from slicebridge.bridge.actions import InvalidActionError, percent_change, raw_from_shares
from slicebridge.bridge.contract import PRB_BANDWIDTH_HZ
from slicebridge.envs.slicing import SlicingCore

GROUPINGS = ("cell", "slice", "cell_slice")
DEFAULT_LEVELS = (-0.2, 0.0, 0.2)

Predictor = Callable[[np.ndarray], np.ndarray]  # demand window [..., W, S] -> next demand [..., S]


def unit_groups(grouping: str, n_cells: int, n_slices: int) -> list[list[int]]:
    """The units (``c·S + s``) each agent owns: ``cell`` one agent per cell (its S slices),
    ``slice`` one per slice (that slice in every cell), ``cell_slice`` one per unit."""
    if grouping == "cell":
        return [[c * n_slices + s for s in range(n_slices)] for c in range(n_cells)]
    if grouping == "slice":
        return [[c * n_slices + s for c in range(n_cells)] for s in range(n_slices)]
    if grouping == "cell_slice":
        return [[u] for u in range(n_cells * n_slices)]
    raise ValueError(f"unknown agent grouping {grouping!r}; allowed: {list(GROUPINGS)}")


def needed_share(kpis: np.ndarray, bandwidth_prb: int) -> np.ndarray:
    """The PRB share each slice needs for its offered load, ``[..., C, S]`` (``offered / (SE · bandwidth)``)."""
    se = np.maximum(kpis[..., K.SPECTRAL_EFF], 1e-3)
    return kpis[..., K.OFFERED] * 1e6 / (se * bandwidth_prb * PRB_BANDWIDTH_HZ)


class _UnitReward:
    """The core's reward seen per unit: ``satisfaction`` of unit KPIs ``[..., U, S, 11]`` → ``[..., U, S]``."""

    def __init__(self, base: Any, n_slices: int):
        self.base, self.n_slices = base, n_slices

    def satisfaction(self, kpis: np.ndarray) -> np.ndarray:
        cells = np.asarray(kpis)[..., :: self.n_slices, :, :]  # one KPI tensor per cell
        return np.repeat(self.base.satisfaction(cells), self.n_slices, axis=-2)


class SliceUnitCore:
    """See the module docstring. ``core`` must be in continuous action mode (it receives share vectors)."""

    def __init__(self, core: SlicingCore, predictor: Predictor | None = None, window: int = 8,
                 max_change: float = 0.5, discrete: bool = False, levels: tuple[float, ...] = DEFAULT_LEVELS):
        if core.scenario.action.mode != "continuous":
            raise ValueError(f"SliceUnitCore: scenario {core.scenario.name!r} must use action.mode continuous "
                             "(the per-slice agents' percent changes become share vectors)")
        self.core = core
        self.scenario = core.scenario
        self.backend = core.backend
        self.num_envs = core.num_envs
        self.cells, self.slices = core.n_cells, core.n_slices
        self.n_cells = self.cells * self.slices  # units, under the name the training layer reads
        self.n_slices = self.slices
        self.episode_steps = core.episode_steps
        self.predictor = predictor
        self.window = int(window)
        self.max_change = float(max_change)
        self.levels = np.asarray(levels, dtype=np.float64)
        self.min_share = np.array([s.min_share for s in self.scenario.slices])
        self.clip = float(self.scenario.observation.clip)
        self.obs_dim = 3
        self.cell_observation_space = spaces.Box(0.0, self.clip, (self.obs_dim,), np.float32)
        self.cell_action_space: spaces.Space = spaces.Discrete(len(self.levels)) if discrete else spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.reward = _UnitReward(core.reward, self.slices)
        self.history: np.ndarray | None = None  # demand [B, C, W, S]
        self.prediction: np.ndarray | None = None  # [B, C, S]

    @property
    def kpis(self) -> np.ndarray | None:
        return self.core.kpis

    @property
    def shares(self) -> np.ndarray:
        return self.core.shares

    @property
    def episode_over(self) -> bool:
        return self.core.episode_over

    def _observe(self, kpis: np.ndarray, restart: bool) -> np.ndarray:
        demand = needed_share(kpis, self.scenario.radio.bandwidth_prb)  # [B, C, S]
        if restart or self.history is None:
            self.history = np.repeat(demand[:, :, None, :], self.window, axis=2)
        else:
            self.history = np.concatenate([self.history[:, :, 1:], demand[:, :, None, :]], axis=2)
        self.prediction = demand if self.predictor is None else np.asarray(self.predictor(self.history), dtype=np.float64)
        obs = np.stack([demand, self.prediction, self.core.shares], axis=-1)  # [B, C, S, 3]
        obs = obs.reshape(self.num_envs, self.n_cells, self.obs_dim)
        return np.clip(np.nan_to_num(obs, nan=0.0, posinf=self.clip), 0.0, self.clip).astype(np.float32)

    def changes(self, actions: np.ndarray) -> np.ndarray:
        """Unit actions (``[B, U]`` level indices or ``[B, U(, 1)]`` values in [−1, 1]) → fractions ``[B, C, S]``."""
        a = np.asarray(actions)
        if isinstance(self.cell_action_space, spaces.Discrete):
            idx = a.reshape(self.num_envs, self.n_cells).astype(np.int64)
            if np.any(idx < 0) or np.any(idx >= len(self.levels)):
                raise InvalidActionError(f"per-slice action: level indices must lie in [0, {len(self.levels) - 1}], got {idx}")
            change = self.levels[idx]
        else:
            change = self.max_change * np.clip(a.reshape(self.num_envs, self.n_cells).astype(np.float64), -1.0, 1.0)
        return change.reshape(self.num_envs, self.cells, self.slices)

    def reset(self, seed: int | None = None) -> np.ndarray:
        self.core.reset(seed=seed)
        return self._observe(self.core.kpis, restart=True)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Unit actions → ``(obs [B, U, 3], rewards [B, U], terminated [B], truncated [B], infos)``."""
        shares = percent_change(self.core.shares, self.changes(actions), self.min_share)
        _, _, terminated, truncated, infos = self.core.step(raw_from_shares(shares, self.min_share))
        kpis = self.core.kpis
        obs = self._observe(kpis, restart=False)
        rewards = self.core.reward.slice_utility(kpis).reshape(self.num_envs, self.n_cells)
        for b, info in enumerate(infos):
            info["cell_kpis"] = info["kpis"]
            info["kpis"] = np.repeat(kpis[b], self.slices, axis=0)
        return obs, rewards, terminated, truncated, infos

    def state_dict(self) -> dict[str, Any]:
        return self.core.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Re-simulate the running episode (as ``SlicingCore.load_state_dict``), rebuilding the demand window."""
        if state["episode_seed"] is None:
            return
        self.reset(seed=int(state["episode_seed"]))
        for shares in np.asarray(state["shares"], dtype=np.float64):
            self.core.step(raw_from_shares(shares, self.min_share))
            self._observe(self.core.kpis, restart=False)

    def close(self) -> None:
        self.core.close()
