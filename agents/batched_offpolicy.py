# SPDX-License-Identifier: GPL-2.0-only
"""What batched DQN, TD3/DDPG and SAC (``agents.batched_dqn``, ``agents.batched_td3``, ``agents.batched_sac``) share: SB3's
off-policy loop for K same-shaped models on one lockstep simulation, without the K threads.

As ``OffPolicyAlgorithm.learn`` does per model: rollouts of ``train_freq`` steps (each step: the
action draws, one simulator step, every model's transition into its own SB3 replay buffer, the
per-step bookkeeping), then, once past ``learning_starts``, ``gradient_steps`` updates; a federation
round at a rollout start once ``local_steps`` core steps have passed (``"resume"`` at the first one of
a resumed run, ``"final"`` at the end; the SB3 models hold the current state while it runs).

Random draws: replay sampling (``ReplayBuffer.sample``) and the exploration draws (DQN's ε, TD3's
action noise) use NumPy's global generator, SAC's Gaussian samples (acting and learning) torch's, so
they are made in the per-model path's order: worker by worker, model k's draws for its gradient steps
(:meth:`_sample`) and then its next step's draw; when a
round starts there, every model's samples before the round and every draw after it (the per-model
path's workers meet in the round between the two). Draws on a model's own generator (its action
space's uniform samples) need no order. A subclass supplies the networks: :meth:`_explore` (one
model's draws for a step), :meth:`_act` (every model's actions from them), :meth:`_on_step`, :meth:`_sample`,
:meth:`_train`, :meth:`from_models`, :meth:`to_models` and, for FedProx, ``policy_names`` and
``parameters``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Sequence

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import VectorizedActionNoise
from stable_baselines3.common.type_aliases import TrainFrequencyUnit

from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import ModelAxis, networks_differ, settings_differ


#: what every model must share to train batched (the engine runs all with the first model's)
OFF_POLICY_SETTINGS = ("learning_starts", "gradient_steps", "batch_size", "gamma", "tau", "train_freq", "action_noise", "lr_schedule",
                       "max_grad_norm", "target_update_interval", "exploration_schedule", "policy_delay", "target_policy_noise",
                       "target_noise_clip", "actor_learning_rate")


def common_unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int], supported: tuple[type, ...]) -> str | None:
    """What no batched off-policy engine trains (``None``: nothing of it)."""
    if not models:
        return "no models"
    if len(set(group_sizes)) != 1:
        return f"the models own different numbers of units {sorted(set(group_sizes))}"
    cls = type(models[0])
    for m in models:
        if type(m) not in supported:
            return f"{type(m).__name__} is not one of {[c.__name__ for c in supported]}"
        if type(m) is not cls:
            return "the models are of different classes"
        if type(m.replay_buffer) is not ReplayBuffer or m.replay_buffer.optimize_memory_usage:
            return f"replay buffer {type(m.replay_buffer).__name__} (only SB3's ReplayBuffer without optimize_memory_usage)"
        if m.train_freq.unit != TrainFrequencyUnit.STEP:
            return "train_freq counted in episodes"
        if m._vec_normalize_env is not None:
            return "VecNormalize"
        if m.device.type != "cpu":
            return f"device {m.device}"
    return networks_differ(models) or settings_differ(models, OFF_POLICY_SETTINGS)


class BatchedOffPolicy:
    """Train SB3 off-policy ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together.

    Shapes: observations ``[K, N, F]`` with ``N = B · g`` (env index ``b · g + j`` is cell ``groups[k][j]``
    of instance ``b``); actions ``[K, N]`` (discrete) or ``[K, N, A]``.
    """

    action_dtype: Any = np.float64  # of the core's action array
    proximal: Callable[[list[torch.Tensor]], None] | None = None  # FedProx: adds μ (w − w_global) to the grads
    log_interval = 4  # episodes between log dumps (SB3's learn default)

    def __init__(self, models: Sequence[Any], hub: LockstepHub, local_steps: int):
        self.models, self.hub, self.local_steps = list(models), hub, int(local_steps)
        self.m0 = self.models[0]
        self.axis = ModelAxis(hub)
        self.K, self.n_envs = self.axis.K, self.axis.n_envs
        self.obs: np.ndarray | None = None  # [K, N, F]
        self._no_infos = [{} for _ in range(self.n_envs)]

    # -- what a subclass supplies -------------------------------------------------------------------
    def _explore(self, m: Any) -> Any:
        """Model m's draws for the coming step, as its ``_sample_action`` makes them."""
        raise NotImplementedError

    def _act(self, draws: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(actions for the environment, actions for the replay buffers), each ``[K, N, ...]``."""
        raise NotImplementedError

    def _sample(self, m: Any, grad_steps: int) -> list[Any]:
        """Model m's draws for ``grad_steps`` gradient steps, as its ``train`` makes them: its replay samples
        (SAC adds its torch draws)."""
        return [m.replay_buffer.sample(m.batch_size) for _ in range(grad_steps)]

    def _on_step(self) -> None:
        """After every model stored the step's transition (DQN: target update, ε)."""

    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
        """``grad_steps`` updates of every model; ``batches[k][j]``: model k's draws (:meth:`_sample`) for step j."""
        raise NotImplementedError

    def from_models(self) -> None:
        raise NotImplementedError

    def to_models(self) -> None:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------
    def _store_obs(self) -> None:
        if self.obs is not None:
            for k, m in enumerate(self.models):
                m._last_obs = self.obs[k].copy()
                m._last_original_obs = m._last_obs

    def _round(self, tag: str) -> None:
        self.to_models()
        self.hub.run_round(tag)
        self.from_models()

    def _boundary(self, grad_steps: int, tag: str | None, act: bool) -> list[Any] | None:
        """The end of one rollout and the start of the next: the gradient steps due, the round ``tag``
        (None: none) and, if ``act``, the next step's draws, in the per-model path's order. Returns the draws."""
        sample = lambda m: self._sample(m, grad_steps)  # noqa: E731
        draws: list[Any] | None = None
        if tag is None and act:
            batches, draws = [], []
            for m in self.models:  # worker by worker: model k's replay samples, then model k's draws
                batches.append(sample(m))
                draws.append(self._explore(m))
            self._train_if(batches, grad_steps)
        else:
            self._train_if([sample(m) for m in self.models], grad_steps)
            if tag is not None:
                self._round(tag)
            if act:
                draws = [self._explore(m) for m in self.models]
        return draws

    def _train_if(self, batches: list[list[Any]], grad_steps: int) -> None:
        if grad_steps > 0:
            self._train(batches, grad_steps)

    def _step(self, draws: list[Any]) -> None:
        hub, N, g = self.hub, self.n_envs, self.axis.g
        env_actions, buffer_actions = self._act(draws)
        hub.step_all(self.axis.to_core(env_actions, self.action_dtype))
        new_obs = self.axis.mine(hub.obs).astype(np.float32)
        rewards = self.axis.mine(hub.rewards).astype(np.float32)
        dones = np.repeat(hub.dones, g)
        next_obs = new_obs.copy()
        infos = self._no_infos
        if dones.any():
            idx = np.flatnonzero(dones)
            term = np.stack([info.get("terminal_observation", hub.obs[b]) for b, info in enumerate(hub.infos)])
            next_obs[:, idx] = self.axis.mine(term)[:, idx]
            timeouts = np.repeat(hub.dones & hub.truncated & ~hub.terminated, g)
            infos = [{"TimeLimit.truncated": bool(t)} if d else {} for d, t in zip(dones, timeouts)]
        for k, m in enumerate(self.models):
            m.num_timesteps += N
            m.replay_buffer.add(self.obs[k], next_obs[k], buffer_actions[k], rewards[k], dones, infos)
            m._update_current_progress_remaining(m.num_timesteps, m._total_timesteps)
        self._on_step()
        if dones.any():
            self._episodes(dones)
        self.obs = new_obs

    def _episodes(self, dones: np.ndarray) -> None:
        """Episode statistics, action-noise resets and log dumps as ``collect_rollouts``."""
        hub = self.hub
        for k, m in enumerate(self.models):
            for b in np.flatnonzero(hub.dones):
                ep = hub.infos[b].get("episode_cells")
                if ep is not None:
                    m.ep_info_buffer.extend({"r": float(ep["r"][c]), "l": ep["l"], "t": ep["t"]} for c in self.axis.cells[k])
            for idx in np.flatnonzero(dones):
                m._episode_num += 1
                if m.action_noise is not None:  # one env: not vectorised (SB3 resets it whole)
                    m.action_noise.reset(**({"indices": [idx]} if self.n_envs > 1 else {}))
                if m._episode_num % self.log_interval == 0:
                    m.dump_logs()

    def _grad_steps(self, collected: int) -> int:
        m0 = self.m0
        if not (m0.num_timesteps > 0 and m0.num_timesteps > m0.learning_starts):
            return 0
        return m0.gradient_steps if m0.gradient_steps >= 0 else collected

    def _setup(self, target: int, resumed: bool) -> None:
        """What ``_setup_learn`` does on the per-model path, for every model."""
        if resumed:
            self.obs = np.stack([np.asarray(m._last_obs, dtype=np.float32) for m in self.models])
        else:
            self.obs = self.axis.mine(self.hub.reset_all()).astype(np.float32)
        for m in self.models:
            if m.action_noise is not None and self.n_envs > 1 and not isinstance(m.action_noise, VectorizedActionNoise):
                m.action_noise = VectorizedActionNoise(m.action_noise, self.n_envs)
            m.start_time = time.time_ns()
            if m.ep_info_buffer is None or not resumed:
                m.ep_info_buffer = deque(maxlen=m._stats_window_size)
                m.ep_success_buffer = deque(maxlen=m._stats_window_size)
            if m.action_noise is not None:
                m.action_noise.reset()
            if not resumed:
                m.num_timesteps, m._episode_num = 0, 0
            m._total_timesteps = target
            m._num_timesteps_at_start = m.num_timesteps

    def learn(self, total_core_steps: int, resumed: bool = False) -> None:
        """Train until the models have seen ``total_core_steps`` core steps each, as ``model.learn`` does
        on the per-model path (whole rollouts of ``train_freq`` steps)."""
        m0, hub, N = self.m0, self.hub, self.n_envs
        self._setup(total_core_steps * N, resumed)
        freq = m0.train_freq.frequency
        due, first = 0, True
        while m0.num_timesteps < total_core_steps * N:
            if first and resumed:
                tag: str | None = "resume"  # restores the checkpointed generators
            else:
                tag = "round" if hub.steps - hub.last_round_step >= self.local_steps else None
            first = False
            for i in range(freq):
                draws = self._boundary(due, tag, act=True) if i == 0 else [self._explore(m) for m in self.models]
                due = 0
                self._step(draws)
            due = self._grad_steps(freq * N)
        self._boundary(due, None, act=False)
        self._round("final")
