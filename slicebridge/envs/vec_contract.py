# SPDX-License-Identifier: GPL-2.0-only
"""SB3's per-env VecEnv methods for VecEnvs over one batched simulator, with ``DummyVecEnv`` semantics.

SB3's ``DummyVecEnv`` holds one ``gym.Env`` per index and answers ``get_attr`` / ``set_attr`` /
``env_method`` / ``env_is_wrapped`` from it. Our VecEnvs (:class:`slicebridge.envs.SlicingVecEnv`,
``slicebridge.agents.lockstep.CellGroupVecEnv``) hold no such envs: every index is a slice of one
batched backend. :class:`InstanceView` stands in for the env at an index: a Gymnasium env that
carries that index's spaces and identity and reads the shared core, but cannot be reset or stepped
alone (the backend steps all instances together: step the VecEnv). :class:`PerEnvViews` answers the
VecEnv methods from these views exactly as ``DummyVecEnv`` answers them from its envs:

- ``get_attr(name)``: ``view.get_wrapper_attr(name)`` per index; a missing name raises ``AttributeError``;
- ``set_attr(name, value)``: ``setattr`` on the views (read-only properties raise ``AttributeError``);
- ``env_method(name, ...)``: calls the views' method (``get_wrapper_attr``, ``render``, ``reset`` ...);
- ``env_is_wrapped(cls)``: SB3's ``is_wrapped`` on the views (never wrapped);
- ``get_images()``: the envs draw nothing (``render_mode`` None), so, as ``DummyVecEnv`` does for such
  envs, a warning and ``None`` per index. ``VecVideoRecorder`` refuses these VecEnvs at construction.

Every view has ``num_envs = 1`` (each index is one environment), ``observation_space`` and
``action_space`` (the VecEnv's), ``scenario``, ``instance`` (the backend instance ``b``), ``cell``
(the simulated cell, ``None`` for network-wide views), ``unit`` (the index among the core's cells:
the cell, or the (cell, slice) unit of ``envs.slice_units``), ``episode_seed`` (the seed instance ``b`` runs
under), and ``kpis`` / ``shares``: the last KPI tensor ``[C, S, 11]`` and shares ``[C, S]`` of its
instance, or of its cell (``[S, 11]``, ``[S]``).
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import is_wrapped


class InstanceView(gym.Env):
    """The environment at one VecEnv index: spaces and identity of that index over a shared core.

    ``core`` is a ``SlicingCore`` or a core that wraps one and forwards ``kpis``, ``shares``,
    ``scenario`` (``envs.slice_units.SliceUnitCore``). ``instance`` is the backend instance ``b``;
    a per-cell view has ``unit``, its index among the core's cells, and ``cell``, the simulated cell
    it belongs to (units ``c·S + s`` of a per-slice core belong to cell ``c``); both are ``None`` for
    a network-wide view.
    """

    metadata = {"render_modes": []}
    render_mode = None
    num_envs = 1

    def __init__(self, core: Any, instance: int, observation_space: gym.Space, action_space: gym.Space, unit: int | None = None):
        self._core = core
        self.instance = int(instance)
        self.unit = self.cell = None
        if unit is not None:
            per_cell = core.n_cells // _slicing_core(core).n_cells  # 1, or S units per cell
            self.unit, self.cell = int(unit), int(unit) // per_cell
        self.observation_space = observation_space
        self.action_space = action_space

    @property
    def scenario(self) -> Any:
        return self._core.scenario

    @property
    def episode_seed(self) -> int | None:
        """Seed of this instance in the running episode (``None`` before the first reset)."""
        base = _slicing_core(self._core).episode_seed
        return None if base is None else base + self.instance

    def _select(self, arr: np.ndarray | None) -> np.ndarray | None:
        if arr is None:
            return None
        row = np.asarray(arr)[self.instance]
        return row if self.cell is None else row[self.cell]

    @property
    def kpis(self) -> np.ndarray | None:
        """Last KPI tensor of this instance ``[C, S, 11]`` (of its cell: ``[S, 11]``); None before reset."""
        return self._select(_slicing_core(self._core).kpis)

    @property
    def shares(self) -> np.ndarray:
        """Shares in force for this instance ``[C, S]`` (of its cell: ``[S]``)."""
        return self._select(_slicing_core(self._core).shares)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        raise RuntimeError(f"the env at instance {self.instance} is part of one batched simulator and cannot be reset "
                           "alone: call reset() on the VecEnv (seed it with VecEnv.seed(s) first)")

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        raise RuntimeError(f"the env at instance {self.instance} is part of one batched simulator and cannot be stepped "
                           "alone: call step() on the VecEnv")

    def render(self) -> None:
        return None  # render_mode None: nothing to draw


def _slicing_core(core: Any) -> Any:
    """The ``SlicingCore`` under ``core`` (wrapping cores keep it in ``.core``)."""
    while not hasattr(core, "upcoming_seeds"):
        core = core.core
    return core


def upcoming_seeds(core: Any, seed: int | None = None) -> np.ndarray:
    """Seeds ``[B]`` the instances get at the core's next reset: ``reset(seed)`` gives ``seed + b``,
    an unseeded reset continues the core's sequence (``SlicingCore.reset``)."""
    return _slicing_core(core).upcoming_seeds(seed)


class PerEnvViews:
    """Mixin for a ``VecEnv`` (put it first in the bases): the per-env methods over ``self.views``,
    one :class:`InstanceView` per index, set before ``VecEnv.__init__`` (which reads ``render_mode``)."""

    views: list[InstanceView]

    def _targets(self, indices: Any) -> list[InstanceView]:
        return [self.views[i] for i in self._get_indices(indices)]  # type: ignore[attr-defined]

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [view.get_wrapper_attr(attr_name) for view in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        for view in self._targets(indices):
            setattr(view, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        return [view.get_wrapper_attr(method_name)(*method_args, **method_kwargs) for view in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        return [is_wrapped(view, wrapper_class) for view in self._targets(indices)]

    def get_images(self) -> Sequence[None]:
        warnings.warn(f"{type(self).__name__}: slicebridge environments draw nothing (render_mode None); "
                      "get_images() returns None for every env", stacklevel=2)
        return [None] * len(self.views)
