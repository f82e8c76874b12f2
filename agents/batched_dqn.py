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
- storing and stepping (``agents.batched_offpolicy``), then ``_on_step`` (target update every
  ``target_update_interval // n_envs`` calls, ε schedule);
- learning: ``gradient_steps`` steps of ``DQN.train`` per model (target
  ``r + γ(1 − done) max_a Q_target(s', a)``, or the double-DQN target of ``agents.dqn_family``; Huber
  loss; clipping of each model's gradient norm; Adam).

Replay sampling stays per model, in SB3's own ``ReplayBuffer.sample`` on the model's buffer (so
checkpoints keep the buffers SB3 saves), in the per-model path's order (``agents.batched_offpolicy``),
so for the same seeds the batched path follows the per-model path's models to float rounding (one
batched matrix product against K single ones). Where a rounding difference flips a greedy choice
between two equal Q-values the runs part, equal in distribution; ``tests/test_batched_dqn.py`` checks
the two paths give the same models.

The SB3 models stay the product: :meth:`BatchedDQN.to_models` writes the stacked weights and Adam
moments back (round ends, checkpoints, the end), counters, ε, buffers and last observations are kept
on the SB3 models as they go, and :meth:`from_models` reads the weights back after a federation round.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch.nn import functional as F

from slicebridge.agents.batched_offpolicy import BatchedOffPolicy, common_unsupported_reason
from slicebridge.agents.dqn_family import DoubleDQN, DuelingDoubleDQN
from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import StackedNet, adam_like, clip_grad_norm_per_model, polyak, stack_adam_state, unstack_adam_state

#: the DQN classes whose ``train`` this module reproduces (subclasses may change it: refused)
SUPPORTED = (DQN, DoubleDQN, DuelingDoubleDQN)


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    reason = common_unsupported_reason(models, group_sizes, SUPPORTED)
    if reason is not None:
        return reason
    for m in models:
        if not isinstance(m.policy.q_net.features_extractor, FlattenExtractor):
            return f"features extractor {type(m.policy.q_net.features_extractor).__name__} (only the flatten extractor)"
        if not isinstance(m.policy.optimizer, torch.optim.Adam):
            return f"optimizer {type(m.policy.optimizer).__name__} (only Adam)"
    return None


class BatchedDQN(BatchedOffPolicy):
    """Train SB3 DQN ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together; see the
    module docstring and :class:`~slicebridge.agents.batched_offpolicy.BatchedOffPolicy`."""

    action_dtype = np.int64

    def __init__(self, models: Sequence[DQN], hub: LockstepHub, local_steps: int):
        reason = unsupported_reason(models, [len(g) for g in hub.groups])
        if reason is not None:
            raise ValueError(f"batched DQN cannot train these models: {reason}")
        super().__init__(models, hub, local_steps)
        self.double = isinstance(self.m0, DoubleDQN)
        self.online = StackedNet([m.policy.q_net.q_net for m in self.models])
        self.target = StackedNet([m.policy.q_net_target.q_net for m in self.models], trainable=False)
        self.optimizer = adam_like(self.m0.policy.optimizer, self.online.parameters)
        stack_adam_state([m.policy.optimizer for m in self.models], self._per_model_params(), self.online.parameters, self.optimizer)

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
        self._store_obs()

    # -- acting ----------------------------------------------------------------------------------------
    def _explore(self, m: DQN) -> np.ndarray | None:
        """Model m's action draw for this step: uniform actions ``[N]``, or None for the greedy ones."""
        if m.num_timesteps < m.learning_starts or np.random.rand() < m.exploration_rate:
            return np.array([m.action_space.sample() for _ in range(self.n_envs)])
        return None

    def _act(self, draws: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
        actions = np.zeros((self.K, self.n_envs), dtype=np.int64)
        if any(d is None for d in draws):
            with torch.no_grad():
                greedy = self.online(torch.as_tensor(self.obs, dtype=torch.float32)).argmax(dim=-1).numpy()
        for k, d in enumerate(draws):
            actions[k] = greedy[k] if d is None else d
        return actions, actions

    def _on_step(self) -> None:
        for m in self.models:
            m._n_calls += 1
            m.exploration_rate = m.exploration_schedule(m._current_progress_remaining)
            m.logger.record("rollout/exploration_rate", m.exploration_rate)
        if self.m0._n_calls % max(self.m0.target_update_interval // self.n_envs, 1) == 0:
            polyak(self.online, self.target, self.m0.tau)

    # -- learning --------------------------------------------------------------------------------------
    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
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
