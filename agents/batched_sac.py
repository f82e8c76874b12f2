# SPDX-License-Identifier: GPL-2.0-only
"""Batched SAC: K same-shaped SB3 SAC models trained as one (``agents.batched_actor_critic`` on
``agents.batched_offpolicy``).

The K actors (hidden layers, mean head, log-std head), critics (``n_critics`` Q-networks each), the
critics' targets and the entropy coefficients are stacked on a leading model axis: one actor forward
pass per step gives every model's action, and per gradient step one entropy-coefficient update, one
critic update, one actor update and one ``polyak_update`` of the critic targets (every
``target_update_interval`` steps of a ``train`` call) cover every model. Nothing mixes across the model
axis, so each model learns what SB3's ``SAC.train`` would teach it:

- acting as ``_sample_action``: uniform actions before ``learning_starts``, else a sample of the
  squashed Gaussian ``tanh(μ + σ ε)`` (``ε`` drawn per model as ``Normal.rsample`` draws it: one
  ``normal_`` of ``[N, A]`` on torch's global generator, model by model in the per-model order), the
  action noise (if any) added as TD3's;
- learning, per gradient step: ``ε`` for the replay observations' actions and for the next
  observations' actions (torch's generator, drawn with the model's replay samples, before a round as
  the per-model path's ``train`` calls draw them); with ``ent_coef="auto"`` the loss
  ``-log α · (log π + target entropy)`` and Adam on each model's own ``log α`` (a fixed coefficient
  stays fixed); the soft clipped double-Q target ``r + γ (1 − d)(min Q_target(s', a') − α log π(a'|s'))``;
  the critics' ``½ Σ MSE``; the actor's ``α log π − min Q(s, π(s))``; Adam for each; no gradient
  clipping (SAC has none).

Replay sampling stays per model (SB3's ``sample`` on the model's buffer). gSDE is not stacked (refused:
the per-model path trains it). ``tests/test_batched_sac.py`` checks that the batched path gives the
per-model path's models.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from stable_baselines3 import SAC
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN
from torch.distributions import Normal

from slicebridge.agents import batched_actor_critic
from slicebridge.agents.batched_actor_critic import BatchedActorCritic
from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import adam_like, settings_differ, stack_adam_state, unstack_adam_state

#: the classes whose ``train`` this module reproduces (subclasses may change it: refused)
SUPPORTED = (SAC,)


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    reason = batched_actor_critic.unsupported_reason(models, group_sizes, SUPPORTED)
    if reason is not None:
        return reason
    for m in models:
        if m.use_sde:
            return "gSDE (use_sde)"
        if m.batch_norm_stats:
            return "batch normalisation in the critic"
        if m.ent_coef_optimizer is not None and not isinstance(m.ent_coef_optimizer, torch.optim.Adam):
            return f"entropy-coefficient optimizer {type(m.ent_coef_optimizer).__name__} (only Adam)"
    return settings_differ(models, ("ent_coef", "target_entropy"))


class BatchedSAC(BatchedActorCritic):
    """Train SB3 SAC ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together."""

    actor_modules = ("latent_pi", "mu", "log_std")
    algorithm_name = "SAC"

    def __init__(self, models: Sequence[SAC], hub: LockstepHub, local_steps: int):
        super().__init__(models, hub, local_steps, unsupported_reason(models, [len(g) for g in hub.groups]))
        ms = self.models
        self.action_dim = self.m0.actor.action_dist.action_dim
        self.epsilon = self.m0.actor.action_dist.epsilon
        self.log_ent_coef: torch.Tensor | None = None  # [K, 1], learnt (ent_coef "auto")
        if self.m0.ent_coef_optimizer is not None:
            self.log_ent_coef = torch.stack([m.log_ent_coef.detach() for m in ms]).clone().requires_grad_(True)
            self.ent_optimizer = adam_like(self.m0.ent_coef_optimizer, [self.log_ent_coef])
            stack_adam_state([m.ent_coef_optimizer for m in ms], [[m.log_ent_coef] for m in ms], [self.log_ent_coef], self.ent_optimizer)
        else:
            self.fixed_ent_coef = torch.stack([m.ent_coef_tensor.reshape(1) for m in ms])  # [K, 1]

    def from_models(self) -> None:
        super().from_models()
        if self.log_ent_coef is not None:  # stays local in a round (agents.params), read back all the same
            with torch.no_grad():
                self.log_ent_coef.copy_(torch.stack([m.log_ent_coef.detach() for m in self.models]))

    def to_models(self) -> None:
        super().to_models()
        if self.log_ent_coef is not None:
            with torch.no_grad():
                for k, m in enumerate(self.models):
                    m.log_ent_coef.copy_(self.log_ent_coef[k])
            unstack_adam_state(self.ent_optimizer, [self.log_ent_coef], [m.ent_coef_optimizer for m in self.models],
                               [[m.log_ent_coef] for m in self.models])

    # -- the squashed Gaussian policy ------------------------------------------------------------------
    def _squashed(self, obs: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SB3's ``actor.action_log_prob`` for ``obs [K, n, F]`` with the standard-normal draws ``eps [K, n, A]``:
        (actions ``tanh(μ + σ ε)`` ``[K, n, A]``, their log-probability ``[K, n, 1]``)."""
        latent = self.actor.nets[0](obs)
        mean = self.actor.nets[1](latent)
        std = torch.ones_like(mean) * self.actor.nets[2](latent).clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        gaussian = mean + eps * std  # Normal.rsample
        actions = torch.tanh(gaussian)
        log_prob = Normal(mean, std, validate_args=False).log_prob(gaussian).sum(dim=-1, keepdim=True)
        return actions, log_prob - torch.log(1 - actions**2 + self.epsilon).sum(dim=-1, keepdim=True)

    def _policy_draw(self, m: Any) -> torch.Tensor:
        return torch.empty((self.n_envs, self.action_dim)).normal_()

    def _policy_actions(self, obs: torch.Tensor, draws: list[Any]) -> torch.Tensor:
        return self._squashed(obs, torch.stack(draws))[0]

    # -- learning --------------------------------------------------------------------------------------
    def _sample(self, m: Any, grad_steps: int) -> list[Any]:
        """Per gradient step (replay sample, ``ε [bs, A]`` for its observations, ``ε`` for its next ones)."""
        shape = (m.batch_size, self.action_dim)
        return [(s, torch.empty(shape).normal_(), torch.empty(shape).normal_()) for s in super()._sample(m, grad_steps)]

    def _train(self, batches: list[list[Any]], grad_steps: int) -> None:
        m0 = self.m0
        pairs = [(m0.actor.optimizer, self.actor.optimizer), (m0.critic.optimizer, self.critic.optimizer)]
        if self.log_ent_coef is not None:
            pairs.append((m0.ent_coef_optimizer, self.ent_optimizer))
        self._update_learning_rates(pairs)
        ent_coefs, ent_losses, actor_losses, critic_losses = [], [], [], []
        for j in range(grad_steps):
            samples, eps, next_eps = zip(*(b[j] for b in batches))
            obs, actions, next_obs, dones, rewards = self._batch(samples)
            pi, log_prob = self._squashed(obs, torch.stack(eps))
            if self.log_ent_coef is not None:
                ent_coef = torch.exp(self.log_ent_coef.detach())  # before this step's update, as SB3
                ent_loss = -(self.log_ent_coef.unsqueeze(1) * (log_prob + m0.target_entropy).detach()).mean(dim=(1, 2))
                ent_losses.append(ent_loss.detach())
                self._descend(self.ent_optimizer, ent_loss, proximal=False)
            else:
                ent_coef = self.fixed_ent_coef
            ent_coefs.append(ent_coef[:, 0])
            alpha = ent_coef.unsqueeze(1)  # [K, 1, 1]
            with torch.no_grad():
                next_actions, next_log_prob = self._squashed(next_obs, torch.stack(next_eps))
                next_q = self.critic.min_q(next_obs, next_actions, target=True) - alpha * next_log_prob
                targets = rewards + (1 - dones) * m0.gamma * next_q
            critic_loss = 0.5 * sum(((q - targets) ** 2).mean(dim=(1, 2)) for q in self.critic.q_values(obs, actions))  # [K]
            critic_losses.append(critic_loss.detach())
            self._descend(self.critic.optimizer, critic_loss)
            actor_loss = (alpha * log_prob - self.critic.min_q(obs, pi)).mean(dim=(1, 2))
            actor_losses.append(actor_loss.detach())
            self._descend(self.actor.optimizer, actor_loss)
            if j % m0.target_update_interval == 0:
                self.critic.update_targets(m0.tau)
        means = {name: torch.stack(values).mean(dim=0).tolist() for name, values in
                 (("ent_coef", ent_coefs), ("actor_loss", actor_losses), ("critic_loss", critic_losses), ("ent_coef_loss", ent_losses)) if values}
        for k, m in enumerate(self.models):
            m._n_updates += grad_steps
            m.logger.record("train/n_updates", m._n_updates, exclude="tensorboard")
            for name, values in means.items():
                m.logger.record(f"train/{name}", values[k])
