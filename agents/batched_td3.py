# SPDX-License-Identifier: GPL-2.0-only
"""Batched TD3 and DDPG: K same-shaped SB3 models trained as one (``agents.batched_actor_critic`` on
``agents.batched_offpolicy``).

The K actors, critics (``n_critics`` Q-networks each) and their target networks are stacked on a
leading model axis (``agents.stacking``): one actor forward pass per step gives every model's action,
and per gradient step one critic update and, every ``policy_delay`` updates, one actor update and one
``polyak_update`` of the targets cover every model. Nothing mixes across the model axis, so each model
learns what SB3's ``TD3.train`` would teach it (DDPG is TD3 with one critic, no delay and its target
noise clipped to 0):

- acting as ``_sample_action``: uniform actions before ``learning_starts`` (the model's own action
  space generator), else the actor's; scaled to [-1, 1], the model's action noise added and clipped
  (the noise draws come from NumPy's global generator: drawn model by model in the per-model order);
- learning: the target-policy noise (``normal_`` on torch's global generator, per model and gradient
  step, drawn in the per-model path's order: model by model, step by step), the clipped double-Q
  target, the critics' summed MSE, the actor's ``-Q1(s, π(s))``, Adam for each, targets updated
  with ``tau``. No gradient clipping (TD3 has none). ``agents.algorithms.TD3``'s own actor step size
  is kept.

Replay sampling stays per model (SB3's ``sample`` on the model's buffer). ``tests/test_batched_td3.py``
checks that the batched path gives the per-model path's models.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from stable_baselines3 import DDPG
from stable_baselines3 import TD3 as SB3TD3

from slicebridge.agents import batched_actor_critic
from slicebridge.agents.algorithms import TD3
from slicebridge.agents.batched_actor_critic import BatchedActorCritic
from slicebridge.agents.lockstep import LockstepHub

#: the classes whose ``train`` this module reproduces (subclasses may change it: refused)
SUPPORTED = (SB3TD3, TD3, DDPG)


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    return batched_actor_critic.unsupported_reason(models, group_sizes, SUPPORTED)


class BatchedTD3(BatchedActorCritic):
    """Train SB3 TD3 or DDPG ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together."""

    actor_modules = ("mu",)
    algorithm_name = "TD3/DDPG"

    def __init__(self, models: Sequence[Any], hub: LockstepHub, local_steps: int):
        super().__init__(models, hub, local_steps, unsupported_reason(models, [len(g) for g in hub.groups]))

    def _policy_actions(self, obs: torch.Tensor, draws: list[Any]) -> torch.Tensor:
        return self.actor.nets[0](obs)

    # -- learning --------------------------------------------------------------------------------------
    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
        m0 = self.m0
        self._update_learning_rates([(m0.actor.optimizer, self.actor.optimizer), (m0.critic.optimizer, self.critic.optimizer)])
        # target-policy noise: torch's generator, model by model and step by step (as K train() calls)
        noise = torch.stack([torch.stack([b.actions.clone().normal_(0, m.target_policy_noise).clamp(-m.target_noise_clip, m.target_noise_clip)
                                          for b in batch]) for m, batch in zip(self.models, batches)])  # [K, G, bs, A]
        actor_losses, critic_losses = [], []
        for j in range(grad_steps):
            obs, actions, next_obs, dones, rewards = self._batch([b[j] for b in batches])
            for m in self.models:
                m._n_updates += 1
            with torch.no_grad():
                next_actions = (self.actor.target_nets[0](next_obs) + noise[:, j]).clamp(-1, 1)
                targets = rewards + (1 - dones) * m0.gamma * self.critic.min_q(next_obs, next_actions, target=True)
            critic_loss = sum(((q - targets) ** 2).mean(dim=(1, 2)) for q in self.critic.q_values(obs, actions))  # [K]
            critic_losses.append(critic_loss.detach())
            self._descend(self.critic.optimizer, critic_loss)
            if m0._n_updates % m0.policy_delay == 0:
                actor_loss = -self.critic.q_values(obs, self.actor.nets[0](obs))[0].mean(dim=(1, 2))
                actor_losses.append(actor_loss.detach())
                self._descend(self.actor.optimizer, actor_loss)
                self.critic.update_targets(m0.tau)
                self.actor.update_targets(m0.tau)
        for k, m in enumerate(self.models):
            m.logger.record("train/n_updates", m._n_updates, exclude="tensorboard")
            if actor_losses:
                m.logger.record("train/actor_loss", float(torch.stack(actor_losses)[:, k].mean()))
            m.logger.record("train/critic_loss", float(torch.stack(critic_losses)[:, k].mean()))
