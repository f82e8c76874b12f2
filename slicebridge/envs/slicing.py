# SPDX-License-Identifier: GPL-2.0-only
"""Environments over any simulator backend: one code path from KPIs to observations and rewards.

A *backend* (:class:`slicebridge.bridge.backend.Backend`: litesim's ``LiteSim``, ns-3's
``Ns3Backend``, ...) simulates ``B`` independent scenario instances::

    reset(seed) -> kpis [B, C, S, 11]        # state 0 after warm-up
    step(shares [B, C, S]) -> kpis [B, C, S, 11]
    close()

:class:`SlicingCore` wraps a backend with the scenario's action mapping, observation builder and
reward, and counts steps to the episode end. It never resets by itself: its last ``step`` of an
episode returns the terminal observation with ``truncated`` set, and the caller decides what comes
next. Three standard views sit on top of it:

- :class:`SlicingEnv`: the whole network as one Gymnasium env (obs ``[C, F]``, action ``[C, S]`` or
  ``MultiDiscrete([n_moves] * C)``, reward = mean of the cells' rewards);
- :class:`SlicingParallelEnv`: PettingZoo Parallel API, one agent ``cell_<i>`` per cell;
- :class:`SlicingVecEnv`: an SB3 ``VecEnv`` over the backend's batch (no subprocesses). As in SB3's
  ``DummyVecEnv``, the VecEnv resets at the episode end (:func:`autoreset`): ``info["terminal_observation"]``
  holds the last observation and the returned one is the next episode's first.

So every episode costs exactly one backend reset (on ns-3: one process launch per instance).
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from stable_baselines3.common.vec_env import VecEnv

import slicebridge.litesim  # noqa: F401  (registers the "litesim" backend)
import slicebridge.ns3  # noqa: F401  (registers the "ns3" backend)
from slicebridge.bridge.actions import ActionMapper
from slicebridge.bridge.backend import Backend, make_backend, next_seeds
from slicebridge.bridge.observation import ObservationBuilder
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs.vec_contract import InstanceView, PerEnvViews


class SlicingCore:
    """Batched, simulator-agnostic slicing environment core.

    ``reset(seed) -> obs [B, C, F]``; ``step(actions) -> (obs [B, C, F], rewards [B, C],
    terminated [B], truncated [B], infos)``. Every instance shares the episode length: after
    ``episode_steps`` steps ``truncated`` is set for the whole batch and ``obs`` is the terminal
    observation. The core does not reset there (see :func:`autoreset` for the VecEnv rule);
    stepping on raises until ``reset``. ``infos[b]["kpis"]`` is the KPI tensor ``[C, S, 11]`` of the
    step and ``infos[b]["shares"]`` the shares ``[C, S]`` that were in force.

    Seeds: ``seed`` is the base seed (default ``scenario.seed``). The core hands the backend an
    explicit seed at every reset, following the contract's rule (``bridge.backend.next_seeds``):
    ``reset(s)`` starts instance ``b`` at ``s + b``, and the ``k``-th unseeded reset after it at
    ``s + b + k·SEED_STRIDE``. :attr:`episode_seed` is the seed of the running episode, so
    :meth:`state_dict` / :meth:`load_state_dict` can rebuild the episode on a fresh backend by
    re-simulating it from that seed with the recorded shares (no simulator state is saved).
    """

    def __init__(self, scenario: Scenario, backend: Backend, seed: int | None = None):
        self.scenario = scenario
        self.backend = backend
        self.num_envs: int = backend.num_envs
        self.n_cells, self.n_slices = scenario.n_cells, scenario.n_slices
        self.episode_steps = scenario.control.episode_steps
        self.actions = ActionMapper(scenario)
        self.observe = ObservationBuilder(scenario)
        self.reward = RewardFunction(scenario)
        self.obs_dim = self.observe.obs_dim
        self.cell_observation_space = spaces.Box(0.0, scenario.observation.clip, (self.obs_dim,), np.float32)
        if scenario.action.mode == "continuous":
            # W = S shares, or 2·S with an edge section (bandwidth, then compute: bridge.actions)
            self.cell_action_space: spaces.Space = spaces.Box(0.0, 1.0, (scenario.share_width,), np.float32)
        else:
            self.cell_action_space = spaces.Discrete(self.actions.n_moves)
        self._initial = np.tile(np.asarray(scenario.initial_share_row()), (self.num_envs, self.n_cells, 1))
        self.shares = self._initial.copy()
        self.kpis: np.ndarray | None = None
        self.t = 0
        self._base_seed = int(scenario.seed if seed is None else seed)
        self._unseeded = 0  # unseeded resets since the base seed was set
        self.episode_seed: int | None = None  # seed of instance 0 in the running episode
        self._journal: list[np.ndarray] = []  # shares [B, C, S] of every step of the running episode

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start a new episode in every instance; returns the first observation ``[B, C, F]``."""
        if seed is not None:
            self._base_seed, self._unseeded = int(seed), 0
        elif self.episode_seed is not None:
            self._unseeded += 1
        self.episode_seed = int(next_seeds(self._base_seed, 1, self._unseeded)[0])
        self.kpis = np.asarray(self.backend.reset(seed=self.episode_seed), dtype=np.float64)
        self.shares = self._initial.copy()
        self.t = 0
        self._journal = []
        return self.observe(self.kpis)

    def upcoming_seeds(self, seed: int | None = None) -> np.ndarray:
        """Seeds ``[B]`` the instances get at the next ``reset(seed)``: ``seed + b`` when seeded, else the
        next step of the running sequence (what ``reset`` does below)."""
        if seed is not None:
            return next_seeds(int(seed), self.num_envs, 0)
        return next_seeds(self._base_seed, self.num_envs, self._unseeded + (self.episode_seed is not None))

    @property
    def episode_over(self) -> bool:
        """True once the running episode has reached ``episode_steps`` (reset before stepping on)."""
        return self.t >= self.episode_steps

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        if self.kpis is None:
            raise RuntimeError("step() called before reset()")
        if self.episode_over:
            raise RuntimeError(f"step() after the episode ended ({self.episode_steps} steps); call reset() first")
        self.shares = self.actions(actions, self.shares)
        self.kpis = np.asarray(self.backend.step(self.shares), dtype=np.float64)
        self._journal.append(np.array(self.shares, copy=True))
        self.t += 1
        obs = self.observe(self.kpis)
        rewards = self.reward(self.kpis)
        truncated = np.full(self.num_envs, self.episode_over)
        terminated = np.zeros(self.num_envs, dtype=bool)
        infos = [{"kpis": self.kpis[b], "shares": self.shares[b]} for b in range(self.num_envs)]
        return obs, rewards, terminated, truncated, infos

    def state_dict(self) -> dict[str, Any]:
        """Where the running episode stands: its seed and the shares ``[t, B, C, S]`` applied so far."""
        if self.episode_seed is None:
            return {"episode_seed": None, "shares": None}
        shape = (0, self.num_envs, self.n_cells, self.scenario.share_width)
        journal = np.stack(self._journal) if self._journal else np.zeros(shape)
        return {"episode_seed": self.episode_seed, "shares": journal}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild the episode of :meth:`state_dict` on this core's backend by re-simulating it.

        Exact when the backend is a deterministic function of seed and shares (litesim is; ns-3 runs
        are for one seed and build). Later unseeded resets continue the saved seed sequence.
        """
        if state["episode_seed"] is None:
            return
        self.reset(seed=int(state["episode_seed"]))
        for shares in np.asarray(state["shares"], dtype=np.float64):
            self.kpis = np.asarray(self.backend.step(shares), dtype=np.float64)
            self.shares = shares.copy()
            self._journal.append(shares.copy())
            self.t += 1

    def close(self) -> None:
        self.backend.close()


def autoreset(core: SlicingCore, obs: np.ndarray, infos: list[dict]) -> np.ndarray:
    """The VecEnv rule at an episode end (SB3's ``DummyVecEnv.step_wait``): store each instance's
    terminal observation ``[C, F]`` in ``infos[b]["terminal_observation"]``, reset the core (all
    instances end together) and return the new episode's first observation ``[B, C, F]``."""
    for b, info in enumerate(infos):
        info["terminal_observation"] = obs[b]
    return core.reset()


def make_core(scenario: Scenario, simulator: str = "litesim", num_envs: int = 1, seed: int | None = None, **kwargs: Any) -> SlicingCore:
    """A core over the registered simulator ``simulator`` with ``num_envs`` instances, base seed ``seed``."""
    return SlicingCore(scenario, make_backend(scenario, simulator, num_envs, seed, **kwargs), seed=seed)


def _network_action_space(core: SlicingCore) -> spaces.Space:
    if isinstance(core.cell_action_space, spaces.Box):
        return spaces.Box(0.0, 1.0, (core.n_cells, core.scenario.share_width), np.float32)
    return spaces.MultiDiscrete([core.actions.n_moves] * core.n_cells)


class SlicingEnv(gym.Env):
    """The whole network as one Gymnasium env (single instance of the backend).

    Observation ``[C, F]`` float32 in ``[0, clip]``; action ``[C, S]`` raw shares in [0, 1] or
    ``MultiDiscrete`` move indices; reward = mean over cells; ``info["cell_rewards"]`` ``[C]``.
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario, simulator: str = "litesim", **backend_kwargs: Any):
        self.scenario = scenario
        self.core = make_core(scenario, simulator, num_envs=1, **backend_kwargs)
        self.observation_space = spaces.Box(0.0, scenario.observation.clip, (self.core.n_cells, self.core.obs_dim), np.float32)
        self.action_space = _network_action_space(self.core)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        obs = self.core.reset(seed=seed)
        return obs[0], {"kpis": self.core.kpis[0], "shares": self.core.shares[0]}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, rewards, terminated, truncated, infos = self.core.step(np.asarray(action)[None])
        info = infos[0]
        info["cell_rewards"] = rewards[0]
        return obs[0], float(rewards[0].mean()), bool(terminated[0]), bool(truncated[0]), info

    def close(self) -> None:
        self.core.close()


class SlicingParallelEnv(ParallelEnv):
    """PettingZoo Parallel env: one agent ``cell_<i>`` per cell, each with the per-cell spaces."""

    metadata = {"name": "slicebridge_parallel_v0", "render_modes": []}

    def __init__(self, scenario: Scenario, simulator: str = "litesim", **backend_kwargs: Any):
        self.scenario = scenario
        self.core = make_core(scenario, simulator, num_envs=1, **backend_kwargs)
        self.possible_agents = [f"cell_{c}" for c in range(self.core.n_cells)]
        self.agents: list[str] = []

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Space:
        return self.core.cell_observation_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Space:
        return self.core.cell_action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs = self.core.reset(seed=seed)[0]
        self.agents = list(self.possible_agents)
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"step(): no action for agents {missing}")
        stacked = np.stack([np.asarray(actions[a]) for a in self.possible_agents])[None]
        obs, rewards, terminated, truncated, infos = self.core.step(stacked)
        info = infos[0]
        agents = self.possible_agents
        out_obs = {a: obs[0, i] for i, a in enumerate(agents)}
        out_rew = {a: float(rewards[0, i]) for i, a in enumerate(agents)}
        out_term = {a: bool(terminated[0]) for a in agents}
        out_trunc = {a: bool(truncated[0]) for a in agents}
        out_info = {a: {"kpis": info["kpis"][i], "shares": info["shares"][i]} for i, a in enumerate(agents)}
        if terminated[0] or truncated[0]:
            self.agents = []
        return out_obs, out_rew, out_term, out_trunc, out_info

    def close(self) -> None:
        self.core.close()


class SlicingVecEnv(PerEnvViews, VecEnv):
    """SB3 VecEnv over a batched backend: ``num_envs = B`` network-wide instances in one process.

    The per-env methods (``get_attr``, ``set_attr``, ``env_method``, ``env_is_wrapped``,
    ``get_images``) behave as ``DummyVecEnv``'s over one :class:`~slicebridge.envs.vec_contract.InstanceView`
    per instance. ``seed(s)`` seeds the next reset (instance ``b`` at ``s + b``, as ``DummyVecEnv``)
    and returns those seeds; ``seed()`` keeps the core's seed sequence and returns the seeds the next
    reset will use.
    """

    def __init__(self, core: SlicingCore):
        self.core = core
        obs_space = spaces.Box(0.0, core.scenario.observation.clip, (core.n_cells, core.obs_dim), np.float32)
        action_space = _network_action_space(core)
        self.views = [InstanceView(core, b, obs_space, action_space) for b in range(core.num_envs)]
        super().__init__(core.num_envs, obs_space, action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def reset(self) -> np.ndarray:
        obs = self.core.reset(seed=self._seed)
        self._seed = None
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        obs, rewards, terminated, truncated, infos = self.core.step(self._actions)
        dones = terminated | truncated
        for b, info in enumerate(infos):
            info["TimeLimit.truncated"] = bool(truncated[b] and not terminated[b])
            info["cell_rewards"] = rewards[b]
        if dones.any():
            obs = autoreset(self.core, obs, infos)
        return obs, rewards.mean(axis=1).astype(np.float32), dones, infos

    def seed(self, seed: int | None = None) -> list[int]:
        if seed is not None:
            self._seed = int(seed)
        return [int(s) for s in self.core.upcoming_seeds(self._seed)]

    def close(self) -> None:
        self.core.close()
