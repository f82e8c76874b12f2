# SPDX-License-Identifier: GPL-2.0-only
"""Batched DQN: K same-shaped SB3 DQN models (DQN, double DQN, dueling double DQN) trained as one.

The per-model path (``agents.lockstep``) runs one SB3 ``model.learn()`` per model in its own thread:
per step K small greedy forward passes, per gradient step K small forward/backward passes and K Adam
steps. Here the K online networks and the K target networks are stacked on a leading model axis
(``agents.stacking``): one forward pass per step gives every model's greedy actions, and one
forward/backward pass and one Adam step per gradient step update every model. Nothing mixes across
the model axis, so each model learns what SB3's DQN would teach it:

- acting: SB3's ``_sample_action``/``DQN.predict`` per model (uniform warm-up actions before
  ``learning_starts``; then one ``np.random.rand()`` per model and step against its ε, a uniform
  action for every env of the model when it falls below, else the greedy one);
- storing: ``_store_transition`` into each model's own SB3 replay buffer (terminal observations and
  time-limit flags as the lockstep VecEnv gives them), then ``_on_step`` (target update every
  ``target_update_interval // n_envs`` calls, ε schedule);
- learning: after every ``train_freq`` steps, once past ``learning_starts``, ``gradient_steps`` steps of
  ``DQN.train`` per model (target ``r + γ(1 − done) max_a Q_target(s', a)``, or the double-DQN target of
  ``agents.dqn_family``; Huber loss; clipping of each model's gradient norm; Adam).

Replay sampling stays per model, in SB3's own ``ReplayBuffer.sample`` on the model's buffer (so
checkpoints keep the buffers SB3 saves): its index draws come from NumPy's global generator, and so
does the ε draw; both are drawn here in the per-model path's order (worker k's gradient steps then its
next ε draw, worker by worker; all gradient steps before a federation round, all ε draws after it), so
for the same seeds the batched path follows the per-model path's models to float rounding (one batched
matrix product against K single ones). Where a rounding difference flips a greedy choice between two
equal Q-values the runs part, equal in distribution; ``tests/test_batched_dqn.py`` checks the two paths
give the same models.

The SB3 models stay the product: :meth:`BatchedDQN.to_models` writes the stacked weights and Adam
moments back (round ends, checkpoints, the end), counters, ε, buffers and last observations are kept
on the SB3 models as they go, and :meth:`from_models` reads the weights back after a federation round.

Supported: :func:`unsupported_reason` names what is not (then the trainer uses the per-model path).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Sequence

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from torch.nn import functional as F

from slicebridge.agents.dqn_family import DoubleDQN, DuelingDoubleDQN
from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import (
    ModelAxis,
    StackedNet,
    adam_like,
    clip_grad_norm_per_model,
    networks_differ,
    stack_adam_state,
    unstack_adam_state,
)

#: the DQN classes whose ``train`` this module reproduces (subclasses may change it: refused)
SUPPORTED = (DQN, DoubleDQN, DuelingDoubleDQN)


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    if not models:
        return "no models"
    if len(set(group_sizes)) != 1:
        return f"the models own different numbers of units {sorted(set(group_sizes))}"
    cls = type(models[0])
    for m in models:
        if type(m) not in SUPPORTED:
            return f"{type(m).__name__} is not one of {[c.__name__ for c in SUPPORTED]}"
        if type(m) is not cls:
            return "the models are of different classes"
        if not isinstance(m.policy.q_net.features_extractor, FlattenExtractor):
            return f"features extractor {type(m.policy.q_net.features_extractor).__name__} (only the flatten extractor)"
        if not isinstance(m.policy.optimizer, torch.optim.Adam):
            return f"optimizer {type(m.policy.optimizer).__name__} (only Adam)"
        if type(m.replay_buffer) is not ReplayBuffer or m.replay_buffer.optimize_memory_usage:
            return f"replay buffer {type(m.replay_buffer).__name__} (only SB3's ReplayBuffer without optimize_memory_usage)"
        if m.train_freq.unit != TrainFrequencyUnit.STEP:
            return "train_freq counted in episodes"
        if m._vec_normalize_env is not None:
            return "VecNormalize"
        if m.device.type != "cpu":
            return f"device {m.device}"
    return networks_differ(models)


class BatchedDQN:
    """Train SB3 DQN ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together.

    ``round_hook`` semantics as :class:`slicebridge.agents.batched_ppo.BatchedPPO`: the hub's round
    action runs at a rollout start once ``local_steps`` core steps have passed (``"resume"`` at the
    first one of a resumed run, ``"final"`` at the end); the SB3 models hold the current state then.
    Shapes: observations ``[K, N, F]`` with ``N = B · g`` (env index ``b · g + j`` is cell ``groups[k][j]``
    of instance ``b``), actions ``[K, N]``.
    """

    def __init__(self, models: Sequence[DQN], hub: LockstepHub, local_steps: int):
        reason = unsupported_reason(models, [len(g) for g in hub.groups])
        if reason is not None:
            raise ValueError(f"batched DQN cannot train these models: {reason}")
        self.models, self.hub, self.local_steps = list(models), hub, int(local_steps)
        self.m0 = self.models[0]
        self.axis = ModelAxis(hub)
        self.K, self.n_envs = self.axis.K, self.axis.n_envs
        self.double = isinstance(self.m0, DoubleDQN)
        self.online = StackedNet([m.policy.q_net.q_net for m in self.models])
        self.target = StackedNet([m.policy.q_net_target.q_net for m in self.models], trainable=False)
        self.optimizer = adam_like(self.m0.policy.optimizer, self.online.parameters)
        stack_adam_state([m.policy.optimizer for m in self.models], self._per_model_params(), self.online.parameters, self.optimizer)
        self.obs: np.ndarray | None = None  # [K, N, F]
        self._no_infos = [{} for _ in range(self.n_envs)]

    # -- the names the trainer's FedProx hook uses (as BatchedPPO's policy) ---------------------------
    @property
    def policy_names(self) -> list[str]:
        return [f"q_net.q_net.{n}" for n in self.online.names]

    @property
    def parameters(self) -> list[torch.Tensor]:
        return self.online.parameters

    # -- between the stacked tensors and the SB3 models ---------------------------------------------
    def _per_model_params(self) -> list[list[torch.Tensor]]:
        return [[dict(m.policy.q_net.q_net.named_parameters())[n] for n in self.online.names] for m in self.models]

    def from_models(self) -> None:
        """Read the SB3 models' online and target weights (after the federation server set them)."""
        self.online.load([m.policy.q_net.q_net for m in self.models])
        self.target.load([m.policy.q_net_target.q_net for m in self.models])

    def to_models(self) -> None:
        """Write online and target weights, Adam moments and the last observations into the SB3 models."""
        self.online.store([m.policy.q_net.q_net for m in self.models])
        self.target.store([m.policy.q_net_target.q_net for m in self.models])
        unstack_adam_state(self.optimizer, self.online.parameters, [m.policy.optimizer for m in self.models], self._per_model_params())
        if self.obs is not None:
            for k, m in enumerate(self.models):
                m._last_obs = self.obs[k].copy()
                m._last_original_obs = m._last_obs

    def _round(self, tag: str) -> None:
        self.to_models()
        self.hub.run_round(tag)
        self.from_models()

    # -- random draws, in the per-model path's order ------------------------------------------------
    def _explore(self, m: DQN) -> np.ndarray | None:
        """Model m's action draw for this step: uniform actions ``[N]``, or None for the greedy ones."""
        if m.num_timesteps < m.learning_starts or np.random.rand() < m.exploration_rate:
            return np.array([m.action_space.sample() for _ in range(self.n_envs)])
        return None

    def _samples(self, m: DQN, steps: int) -> list[Any]:
        return [m.replay_buffer.sample(m.batch_size) for _ in range(steps)]

    def _boundary(self, grad_steps: int, tag: str | None, act: bool) -> list[np.ndarray | None] | None:
        """The end of one rollout and the start of the next: the gradient steps due, the round ``tag``
        (None: none) and, if ``act``, the next step's action draws. Returns those draws."""
        draws: list[np.ndarray | None] | None = None
        if tag is None and act:
            # worker by worker: model k's replay samples, then model k's ε draw
            batches, draws = [], []
            for m in self.models:
                batches.append(self._samples(m, grad_steps))
                draws.append(self._explore(m))
            self._train(batches, grad_steps)
        else:
            self._train([self._samples(m, grad_steps) for m in self.models], grad_steps)
            if tag is not None:
                self._round(tag)
            if act:
                draws = [self._explore(m) for m in self.models]
        return draws

    # -- one step ------------------------------------------------------------------------------------
    def _step(self, draws: list[np.ndarray | None]) -> None:
        hub, N = self.hub, self.n_envs
        actions = np.zeros((self.K, N), dtype=np.int64)
        if any(d is None for d in draws):
            with torch.no_grad():
                greedy = self.online(torch.as_tensor(self.obs, dtype=torch.float32)).argmax(dim=-1).numpy()
        for k, d in enumerate(draws):
            actions[k] = greedy[k] if d is None else d
        hub.step_all(self.axis.to_core(actions, np.int64))
        g = self.axis.g
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
            m.replay_buffer.add(self.obs[k], next_obs[k], actions[k], rewards[k], dones, infos)
            m._update_current_progress_remaining(m.num_timesteps, m._total_timesteps)
            m._n_calls += 1
            m.exploration_rate = m.exploration_schedule(m._current_progress_remaining)
            m.logger.record("rollout/exploration_rate", m.exploration_rate)
        if self.m0._n_calls % max(self.m0.target_update_interval // N, 1) == 0:
            self._update_target()
        if dones.any():
            self._episodes(dones, g)
        self.obs = new_obs

    def _update_target(self) -> None:
        """``polyak_update`` of every model's target network (same elementwise operations)."""
        tau = self.m0.tau
        with torch.no_grad():
            for n in self.online.names:
                t = self.target.p[n]
                t.mul_(1 - tau)
                torch.add(t, self.online.p[n], alpha=tau, out=t)

    def _episodes(self, dones: np.ndarray, g: int) -> None:
        """Episode statistics and log dumps as ``collect_rollouts`` (every ``log_interval`` episodes)."""
        hub = self.hub
        for k, m in enumerate(self.models):
            for b in np.flatnonzero(hub.dones):
                ep = hub.infos[b].get("episode_cells")
                if ep is not None:
                    m.ep_info_buffer.extend({"r": float(ep["r"][c]), "l": ep["l"], "t": ep["t"]} for c in self.axis.cells[k])
            for _ in np.flatnonzero(dones):
                m._episode_num += 1
                if m._episode_num % self.log_interval == 0:
                    m.dump_logs()

    # -- one round of gradient steps ------------------------------------------------------------------
    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
        """``grad_steps`` DQN updates of every model; ``batches[k][j]``: model k's replay sample for step j."""
        if grad_steps == 0:
            return
        m0 = self.m0
        for group in self.optimizer.param_groups:
            group["lr"] = m0.lr_schedule(m0._current_progress_remaining)
        losses = []
        params = self.online.parameters
        for j in range(grad_steps):
            obs, actions, next_obs, dones, rewards = (torch.stack([getattr(b[j], f) for b in batches])
                                                      for f in ("observations", "actions", "next_observations", "dones", "rewards"))
            with torch.no_grad():
                if self.double:
                    best = self.online(next_obs).argmax(dim=-1, keepdim=True)
                    next_q = torch.gather(self.target(next_obs), dim=-1, index=best)
                else:
                    next_q = self.target(next_obs).max(dim=-1).values.unsqueeze(-1)
                targets = rewards + (1 - dones) * m0.gamma * next_q
            chosen = torch.gather(self.online(obs), dim=-1, index=actions.long())
            loss = F.smooth_l1_loss(chosen, targets, reduction="none").mean(dim=(1, 2))  # [K]
            losses.append(loss.detach())
            self.optimizer.zero_grad()
            loss.sum().backward()  # model k's weights get the gradient of loss[k] only
            if self.proximal is not None:
                self.proximal(params)
            clip_grad_norm_per_model(params, m0.max_grad_norm)
            self.optimizer.step()
        mean_loss = torch.stack(losses).mean(dim=0)
        for k, m in enumerate(self.models):
            m._n_updates += grad_steps
            m.logger.record("train/learning_rate", m.lr_schedule(m._current_progress_remaining))
            m.logger.record("train/n_updates", m._n_updates, exclude="tensorboard")
            m.logger.record("train/loss", float(mean_loss[k]))

    proximal: Callable[[list[torch.Tensor]], None] | None = None  # FedProx: adds μ (w − w_global) to the grads
    log_interval = 4  # episodes between log dumps (SB3's learn default)

    # -- the loop ------------------------------------------------------------------------------------
    def _grad_steps(self, collected: int) -> int:
        m0 = self.m0
        if not (m0.num_timesteps > 0 and m0.num_timesteps > m0.learning_starts):
            return 0
        return m0.gradient_steps if m0.gradient_steps >= 0 else collected

    def learn(self, total_core_steps: int, resumed: bool = False) -> None:
        """Run DQN until the models have seen ``total_core_steps`` core steps each, as ``model.learn``
        does on the per-model path (whole rollouts of ``train_freq`` steps)."""
        m0, hub, N = self.m0, self.hub, self.n_envs
        target = total_core_steps * N
        if resumed:
            self.obs = np.stack([np.asarray(m._last_obs, dtype=np.float32) for m in self.models])
        else:
            self.obs = self.axis.mine(hub.reset_all()).astype(np.float32)
        for m in self.models:  # as _setup_learn
            m.start_time = time.time_ns()
            if m.ep_info_buffer is None or not resumed:
                m.ep_info_buffer = deque(maxlen=m._stats_window_size)
                m.ep_success_buffer = deque(maxlen=m._stats_window_size)
            if not resumed:
                m.num_timesteps, m._episode_num = 0, 0
            m._total_timesteps = target
            m._num_timesteps_at_start = m.num_timesteps
        freq = m0.train_freq.frequency
        due, first = 0, True
        while m0.num_timesteps < target:
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
