# SPDX-License-Identifier: GPL-2.0-only
"""Batched TD3 and DDPG: K same-shaped SB3 models trained as one (``agents.batched_offpolicy``).

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

import numpy as np
import torch
from stable_baselines3 import DDPG
from stable_baselines3 import TD3 as SB3TD3
from stable_baselines3.common.torch_layers import FlattenExtractor

from slicebridge.agents.algorithms import TD3
from slicebridge.agents.batched_offpolicy import BatchedOffPolicy, common_unsupported_reason
from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import StackedNet, adam_like, polyak, stack_adam_state, unstack_adam_state

#: the classes whose ``train`` this module reproduces (subclasses may change it: refused)
SUPPORTED = (SB3TD3, TD3, DDPG)


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    reason = common_unsupported_reason(models, group_sizes, SUPPORTED)
    if reason is not None:
        return reason
    for m in models:
        for part in (m.actor, m.critic):
            if not isinstance(part.features_extractor, FlattenExtractor):
                return f"features extractor {type(part.features_extractor).__name__} (only the flatten extractor)"
            if not isinstance(part.optimizer, torch.optim.Adam):
                return f"optimizer {type(part.optimizer).__name__} (only Adam)"
        if m.critic.share_features_extractor:
            return "a critic sharing the actor's features extractor"
    return None


class _Part:
    """One stacked network of the K policies (actor or critic), its target and its optimiser."""

    def __init__(self, owners: list[Any], targets: list[Any], modules: Any, optimizers: list[torch.optim.Optimizer]):
        self.owners, self.targets, self.optimizers = owners, targets, optimizers
        self.nets = [StackedNet([modules(o)[i] for o in owners]) for i in range(len(modules(owners[0])))]
        self.target_nets = [StackedNet([modules(t)[i] for t in targets], trainable=False) for i in range(len(modules(targets[0])))]
        self.modules = modules
        self.parameters = [p for net in self.nets for p in net.parameters]
        self.optimizer = adam_like(optimizers[0], self.parameters)
        stack_adam_state(optimizers, self._per_model(), self.parameters, self.optimizer)

    def _per_model(self) -> list[list[torch.Tensor]]:
        return [[dict(mod.named_parameters())[n] for mod, net in zip(self.modules(o), self.nets) for n in net.names] for o in self.owners]

    def load(self) -> None:
        for i, (net, target) in enumerate(zip(self.nets, self.target_nets)):
            net.load([self.modules(o)[i] for o in self.owners])
            target.load([self.modules(t)[i] for t in self.targets])

    def store(self) -> None:
        for i, (net, target) in enumerate(zip(self.nets, self.target_nets)):
            net.store([self.modules(o)[i] for o in self.owners])
            target.store([self.modules(t)[i] for t in self.targets])
        unstack_adam_state(self.optimizer, self.parameters, self.optimizers, self._per_model())

    def update_targets(self, tau: float) -> None:
        for net, target in zip(self.nets, self.target_nets):
            polyak(net, target, tau)


class BatchedTD3(BatchedOffPolicy):
    """Train SB3 TD3 or DDPG ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together."""

    def __init__(self, models: Sequence[Any], hub: LockstepHub, local_steps: int):
        reason = unsupported_reason(models, [len(g) for g in hub.groups])
        if reason is not None:
            raise ValueError(f"batched TD3/DDPG cannot train these models: {reason}")
        super().__init__(models, hub, local_steps)
        ms = self.models
        self.actor = _Part([m.actor for m in ms], [m.actor_target for m in ms], lambda a: [a.mu], [m.actor.optimizer for m in ms])
        self.critic = _Part([m.critic for m in ms], [m.critic_target for m in ms], lambda c: list(c.q_networks), [m.critic.optimizer for m in ms])

    # -- the names the trainer's FedProx hook uses -------------------------------------------------------
    @property
    def policy_names(self) -> list[str]:
        return ([f"actor.mu.{n}" for n in self.actor.nets[0].names]
                + [f"critic.qf{i}.{n}" for i, net in enumerate(self.critic.nets) for n in net.names])

    @property
    def parameters(self) -> list[torch.Tensor]:
        return self.actor.parameters + self.critic.parameters

    def from_models(self) -> None:
        self.actor.load()
        self.critic.load()

    def to_models(self) -> None:
        self.actor.store()
        self.critic.store()
        self._store_obs()

    # -- acting ----------------------------------------------------------------------------------------
    def _explore(self, m: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(uniform warm-up actions ``[N, A]`` or None for the actor's, action noise ``[N, A]`` or None)."""
        uniform = np.array([m.action_space.sample() for _ in range(self.n_envs)]) if m.num_timesteps < m.learning_starts else None
        return uniform, (m.action_noise() if m.action_noise is not None else None)

    def _act(self, draws: list[tuple[np.ndarray | None, np.ndarray | None]]) -> tuple[np.ndarray, np.ndarray]:
        shape = (self.K, self.n_envs) + tuple(self.m0.action_space.shape)
        env_actions, buffer_actions = np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)
        if any(u is None for u, _ in draws):
            with torch.no_grad():
                mu = self.actor.nets[0](torch.as_tensor(self.obs, dtype=torch.float32)).numpy()
        for k, (m, (uniform, noise)) in enumerate(zip(self.models, draws)):
            unscaled = uniform
            if unscaled is None:  # BasePolicy.predict: the squashed actor output mapped to the bounds
                unscaled = m.policy.unscale_action(mu[k].reshape((-1,) + m.action_space.shape))
            scaled = m.policy.scale_action(unscaled)
            if noise is not None:
                scaled = np.clip(scaled + noise, -1, 1)
            buffer_actions[k] = scaled
            env_actions[k] = m.policy.unscale_action(scaled)
        return env_actions, buffer_actions

    # -- learning --------------------------------------------------------------------------------------
    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
        m0 = self.m0
        m0._update_learning_rate([m0.actor.optimizer, m0.critic.optimizer])  # the schedule (and TD3's own actor rate)
        self.actor.optimizer.param_groups[0]["lr"] = m0.actor.optimizer.param_groups[0]["lr"]
        self.critic.optimizer.param_groups[0]["lr"] = m0.critic.optimizer.param_groups[0]["lr"]
        # target-policy noise: torch's generator, model by model and step by step (as K train() calls)
        noise = torch.stack([torch.stack([b.actions.clone().normal_(0, m.target_policy_noise).clamp(-m.target_noise_clip, m.target_noise_clip)
                                          for b in batch]) for m, batch in zip(self.models, batches)])  # [K, G, bs, A]
        actor_losses, critic_losses = [], []
        for j in range(grad_steps):
            obs, actions, next_obs, dones, rewards = (torch.stack([getattr(b[j], f) for b in batches])
                                                      for f in ("observations", "actions", "next_observations", "dones", "rewards"))
            for m in self.models:
                m._n_updates += 1
            with torch.no_grad():
                next_actions = (self.actor.target_nets[0](next_obs) + noise[:, j]).clamp(-1, 1)
                q_in = torch.cat([next_obs, next_actions], dim=-1)
                next_q = torch.cat([t(q_in) for t in self.critic.target_nets], dim=-1).min(dim=-1, keepdim=True).values
                targets = rewards + (1 - dones) * m0.gamma * next_q
            current = torch.cat([obs, actions], dim=-1)
            critic_loss = sum(((net(current) - targets) ** 2).mean(dim=(1, 2)) for net in self.critic.nets)  # [K]
            critic_losses.append(critic_loss.detach())
            self.critic.optimizer.zero_grad()
            critic_loss.sum().backward()
            if self.proximal is not None:
                self.proximal(self.parameters)
            self.critic.optimizer.step()
            if m0._n_updates % m0.policy_delay == 0:
                actor_loss = -self.critic.nets[0](torch.cat([obs, self.actor.nets[0](obs)], dim=-1)).mean(dim=(1, 2))
                actor_losses.append(actor_loss.detach())
                self.actor.optimizer.zero_grad()
                actor_loss.sum().backward()
                if self.proximal is not None:
                    self.proximal(self.parameters)
                self.actor.optimizer.step()
                self.critic.update_targets(m0.tau)
                self.actor.update_targets(m0.tau)
        for k, m in enumerate(self.models):
            m.logger.record("train/n_updates", m._n_updates, exclude="tensorboard")
            if actor_losses:
                m.logger.record("train/actor_loss", float(torch.stack(actor_losses)[:, k].mean()))
            m.logger.record("train/critic_loss", float(torch.stack(critic_losses)[:, k].mean()))
