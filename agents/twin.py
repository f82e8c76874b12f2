# SPDX-License-Identifier: GPL-2.0-only
"""A learned digital twin of a one-cell slicing system (DT-DRL, docs/RESEARCH.md system 5).

- :class:`CellEnv`: one cell of a :class:`~slicebridge.envs.SlicingEnv` (litesim or ns-3) as a
  Gymnasium env with a ``Discrete`` action (a discrete move or an absolute split) and a flat
  observation ``[F]``; it logs every real transition in a :class:`TransitionLog` and counts them.
- :class:`TwinModel`: an LSTM next-state model, ``o_{t+1} = f(o_{t−L+1..t}, a_{t−L+1..t})`` over
  the last ``history`` (observation, action) pairs, and an MLP reward model ``r_t = g(o_t, a_t)``,
  both fitted on the logged real transitions (warm-started on each re-fit as the log grows).
  Actions enter as feature vectors (``action_features [n_actions, k]``, e.g. a split's shares), so
  the models generalise across the 171 splits instead of learning each one-hot separately.
- :class:`TwinEnv`: a Gymnasium env that starts from logged real histories and steps with the models.

Observations and rewards are standardised with the log's mean and standard deviation at each fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from torch import nn

from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import SlicingEnv


class TransitionLog:
    """Real transitions by episode: ``obs [T+1, F]``, ``actions [T]`` (int), ``rewards [T]``."""

    def __init__(self) -> None:
        self.episodes: list[dict[str, list]] = []

    def start(self, obs: np.ndarray) -> None:
        self.episodes.append({"obs": [np.asarray(obs, dtype=np.float32)], "actions": [], "rewards": []})

    def add(self, action: int, reward: float, next_obs: np.ndarray) -> None:
        ep = self.episodes[-1]
        ep["actions"].append(int(action))
        ep["rewards"].append(float(reward))
        ep["obs"].append(np.asarray(next_obs, dtype=np.float32))

    @property
    def n_transitions(self) -> int:
        return sum(len(ep["actions"]) for ep in self.episodes)

    def arrays(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per episode with at least one transition: ``(obs [T+1, F], actions [T], rewards [T])``."""
        return [(np.stack(ep["obs"]), np.asarray(ep["actions"], dtype=np.int64), np.asarray(ep["rewards"], dtype=np.float32))
                for ep in self.episodes if ep["actions"]]


class CellEnv(gym.Env):
    """Cell 0 of a one-cell scenario with a ``Discrete`` action space; logs real transitions.

    ``interactions`` counts the steps taken on the (real) simulator since construction."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario, simulator: str = "litesim", log: TransitionLog | None = None, **backend_kwargs: Any):
        if scenario.n_cells != 1 or scenario.action.mode == "continuous":
            raise ValueError(f"CellEnv needs one cell and a discrete or absolute action mode; {scenario.name} has "
                             f"{scenario.n_cells} cells, action.mode {scenario.action.mode!r}")
        self.env = SlicingEnv(scenario, simulator, **backend_kwargs)
        self.scenario = scenario
        self.observation_space = spaces.Box(0.0, scenario.observation.clip, (self.env.core.obs_dim,), np.float32)
        self.action_space = spaces.Discrete(self.env.core.actions.n_moves)
        self.log = log
        self.interactions = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed)
        if self.log is not None:
            self.log.start(obs[0])
        return obs[0].astype(np.float32), info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(np.array([int(action)]))
        self.interactions += 1
        if self.log is not None:
            self.log.add(int(action), reward, obs[0])
        return obs[0].astype(np.float32), reward, terminated, truncated, info

    def action_features(self) -> np.ndarray:
        """``[n_actions, S]``: the shares each action index commands (absolute mode), else a one-hot."""
        mapper = self.env.core.actions
        if mapper.splits is not None:
            return (mapper.splits / mapper.splits.sum(axis=1, keepdims=True)).astype(np.float32)
        return np.eye(mapper.n_moves, dtype=np.float32)

    def close(self) -> None:
        self.env.close()


@dataclass
class TwinConfig:
    history: int = 4  # L: (observation, action) pairs the LSTM sees
    hidden: int = 64  # LSTM units
    reward_layers: tuple[int, ...] = (64, 64)
    epochs: int = 20  # passes over the log per (re-)fit
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _NextState(nn.Module):
    def __init__(self, d_in: int, d_out: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(d_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, d_out)

    def forward(self, x: th.Tensor) -> th.Tensor:  # [N, L, d_in] → [N, d_out]
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class TwinModel:
    """LSTM next-state model and MLP reward model over standardised observations and rewards.

    ``obs_dim``: F; ``action_features [n_actions, k]``: the vector an action index enters as."""

    def __init__(self, obs_dim: int, action_features: np.ndarray, cfg: TwinConfig | None = None):
        self.cfg = cfg or TwinConfig()
        self.obs_dim = obs_dim
        self.action_features = np.asarray(action_features, dtype=np.float32)
        d_in = obs_dim + self.action_features.shape[1]
        gen = th.Generator().manual_seed(self.cfg.seed)
        with th.random.fork_rng():
            th.manual_seed(int(th.randint(0, 2**31 - 1, (1,), generator=gen)))
            self.next_state = _NextState(d_in, obs_dim, self.cfg.hidden)
            layers: list[nn.Module] = []
            width = d_in
            for h in self.cfg.reward_layers:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            self.reward = nn.Sequential(*layers, nn.Linear(width, 1))
        self.optimiser = th.optim.Adam([*self.next_state.parameters(), *self.reward.parameters()], lr=self.cfg.learning_rate)
        self.rng = np.random.default_rng(self.cfg.seed)
        self.obs_mean = np.zeros(obs_dim, dtype=np.float32)
        self.obs_std = np.ones(obs_dim, dtype=np.float32)
        self.rew_mean, self.rew_std = 0.0, 1.0
        self.fitted = False

    # -- data --------------------------------------------------------------------------------------
    def _inputs(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``[..., F]`` observations and ``[...]`` actions → standardised model inputs ``[..., F + k]``."""
        return np.concatenate([(obs - self.obs_mean) / self.obs_std, self.action_features[actions]], axis=-1)

    def windows(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Per step t of one episode, the inputs of steps t−L+1..t ``[T, L, F + k]`` (the first step repeated
        where the episode is shorter than L)."""
        x = self._inputs(obs[: len(actions)], actions)  # [T, d_in]
        idx = np.arange(len(actions))[:, None] + np.arange(-self.cfg.history + 1, 1)[None, :]
        return x[np.clip(idx, 0, None)]

    def fit(self, log: TransitionLog, epochs: int | None = None) -> dict[str, float]:
        """(Re-)fit both models on every logged transition; returns the last epoch's mean losses
        (standardised units) ``{"state_mse", "reward_mse"}``."""
        episodes = log.arrays()
        if not episodes:
            raise ValueError("TwinModel.fit: the transition log holds no transition yet")
        all_obs = np.concatenate([o for o, _, _ in episodes])
        all_rew = np.concatenate([r for _, _, r in episodes])
        self.obs_mean, self.obs_std = all_obs.mean(axis=0), all_obs.std(axis=0) + 1e-3
        self.rew_mean, self.rew_std = float(all_rew.mean()), float(all_rew.std() + 1e-3)
        x = th.as_tensor(np.concatenate([self.windows(o, a) for o, a, _ in episodes]), dtype=th.float32)
        y = th.as_tensor(np.concatenate([(o[1:] - self.obs_mean) / self.obs_std for o, _, _ in episodes]), dtype=th.float32)
        r = th.as_tensor(np.concatenate([(rw - self.rew_mean) / self.rew_std for _, _, rw in episodes]), dtype=th.float32)
        n = len(x)
        losses = {"state_mse": float("nan"), "reward_mse": float("nan")}
        for _ in range(self.cfg.epochs if epochs is None else epochs):
            order = self.rng.permutation(n)
            sums = np.zeros(2)
            for start in range(0, n, self.cfg.batch_size):
                b = th.as_tensor(order[start:start + self.cfg.batch_size])
                state_loss = nn.functional.mse_loss(self.next_state(x[b]), y[b])
                reward_loss = nn.functional.mse_loss(self.reward(x[b, -1]).squeeze(-1), r[b])
                self.optimiser.zero_grad()
                (state_loss + reward_loss).backward()
                self.optimiser.step()
                sums += [state_loss.item() * len(b), reward_loss.item() * len(b)]
            losses = {"state_mse": sums[0] / n, "reward_mse": sums[1] / n}
        self.fitted = True
        return losses

    # -- prediction --------------------------------------------------------------------------------
    @th.no_grad()
    def predict(self, obs_hist: np.ndarray, act_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``obs_hist [N, L, F]``, ``act_hist [N, L]`` (last entry = the action taken now) →
        ``(next_obs [N, F], reward [N])`` in the log's units."""
        x = th.as_tensor(self._inputs(obs_hist, act_hist), dtype=th.float32)
        next_obs = self.next_state(x).numpy() * self.obs_std + self.obs_mean
        reward = self.reward(x[:, -1]).squeeze(-1).numpy() * self.rew_std + self.rew_mean
        return next_obs, reward


class TwinEnv(gym.Env):
    """Episodes of ``episode_steps`` in the learned twin, each from a random logged real history."""

    metadata = {"render_modes": []}

    def __init__(self, model: TwinModel, log: TransitionLog, observation_space: spaces.Box, n_actions: int,
                 episode_steps: int, seed: int = 0):
        self.model, self.log = model, log
        self.observation_space = observation_space
        self.action_space = spaces.Discrete(n_actions)
        self.episode_steps = episode_steps
        self.rng = np.random.default_rng(seed)
        self.obs_hist = np.zeros((0, observation_space.shape[0]), dtype=np.float32)
        self.act_hist = np.zeros(0, dtype=np.int64)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        episodes = self.log.arrays()
        obs, actions, _ = episodes[self.rng.integers(len(episodes))]
        t = int(self.rng.integers(len(actions) + 1))  # start after t real steps of that episode
        lo = max(0, t - self.model.cfg.history + 1)
        self.obs_hist, self.act_hist = obs[lo:t + 1].copy(), actions[lo:t].copy()
        self.t = 0
        return self.obs_hist[-1], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        L = self.model.cfg.history
        acts = np.append(self.act_hist, int(action))[-L:]
        obs = self.obs_hist[-len(acts):]
        pad = L - len(acts)  # episode start: repeat the first pair, as in TwinModel.windows
        obs_w = np.concatenate([np.repeat(obs[:1], pad, 0), obs])[None]
        act_w = np.concatenate([np.repeat(acts[:1], pad), acts])[None]
        next_obs, reward = self.model.predict(obs_w, act_w)
        nxt = np.clip(next_obs[0], self.observation_space.low, self.observation_space.high).astype(np.float32)
        self.obs_hist = np.concatenate([self.obs_hist, nxt[None]])[-L:]
        self.act_hist = acts[-(L - 1):] if L > 1 else acts[:0]
        self.t += 1
        return nxt, float(reward[0]), False, self.t >= self.episode_steps, {}
