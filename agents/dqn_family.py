# SPDX-License-Identifier: GPL-2.0-only
"""Double DQN and Dueling Double DQN on Stable-Baselines3's DQN (DT-DRL's agents).

- :class:`DoubleDQN` (van Hasselt et al. 2016): the TD target evaluates, with the target network,
  the action the *online* network prefers in the next state,
  ``y = r + γ (1 − done) Q_target(s', argmax_a Q_online(s', a))`` (:func:`double_q_values`), where
  SB3's DQN takes ``max_a Q_target(s', a)``, which over-estimates under noise.
- :class:`DuelingQNetwork` (Wang et al. 2016): a shared trunk, then a state-value stream V and an
  advantage stream A, aggregated as ``Q = V + A − mean_a A`` (:func:`dueling_aggregate`), which
  makes V identifiable. With ``net_arch = [256, 256, 128, 128]`` (the paper's layers) the trunk is
  256-256-128 and each stream has one hidden layer of 128 units.
- ``DuelingDoubleDQN``: DoubleDQN whose ``"MlpPolicy"`` is the dueling one.

Everything else (replay buffer, ε-greedy exploration, target updates, saving) is SB3's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn
from torch.nn import functional as F


def double_q_values(online: nn.Module, target: nn.Module, next_obs: th.Tensor) -> th.Tensor:
    """Double-DQN bootstrap values ``[batch, 1]``: ``Q_target(s', argmax_a Q_online(s', a))``."""
    best = online(next_obs).argmax(dim=1, keepdim=True)
    return th.gather(target(next_obs), dim=1, index=best)


def dueling_aggregate(value: th.Tensor, advantage: th.Tensor) -> th.Tensor:
    """``Q [batch, n] = V [batch, 1] + A [batch, n] − mean_a A``."""
    return value + advantage - advantage.mean(dim=1, keepdim=True)


class DuelingHead(nn.Module):
    """features ``[batch, F]`` → Q ``[batch, n_actions]`` through trunk ``net_arch[:-1]`` and two
    streams of one hidden layer of ``net_arch[-1]`` units each (V: 1 output, A: n_actions)."""

    def __init__(self, features_dim: int, n_actions: int, net_arch: list[int], activation_fn: type[nn.Module]):
        super().__init__()
        if not net_arch:
            raise ValueError("dueling network: net_arch needs at least one layer (the streams' hidden layer)")
        self.trunk = nn.Sequential(*create_mlp(features_dim, -1, list(net_arch[:-1]), activation_fn))
        width = net_arch[-2] if len(net_arch) > 1 else features_dim
        self.value = nn.Sequential(*create_mlp(width, 1, [net_arch[-1]], activation_fn))
        self.advantage = nn.Sequential(*create_mlp(width, n_actions, [net_arch[-1]], activation_fn))

    def forward(self, features: th.Tensor) -> th.Tensor:
        hidden = self.trunk(features)
        return dueling_aggregate(self.value(hidden), self.advantage(hidden))


class DuelingQNetwork(QNetwork):
    """SB3's QNetwork with the plain MLP replaced by a :class:`DuelingHead` (same forward/predict)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.q_net = DuelingHead(self.features_dim, int(self.action_space.n), self.net_arch, self.activation_fn)


class DuelingDQNPolicy(DQNPolicy):
    """DQN policy whose online and target networks are :class:`DuelingQNetwork`."""

    def make_q_net(self) -> QNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return DuelingQNetwork(**net_args).to(self.device)


class DoubleDQN(DQN):
    """SB3 DQN with the double-DQN target (:func:`double_q_values`); one Huber-loss step per batch."""

    def next_values(self, next_obs: th.Tensor) -> th.Tensor:
        return double_q_values(self.q_net, self.q_net_target, next_obs)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            gamma = batch.discounts if batch.discounts is not None else self.gamma  # n-step buffers
            with th.no_grad():
                targets = batch.rewards + (1 - batch.dones) * gamma * self.next_values(batch.next_observations)
            chosen = th.gather(self.q_net(batch.observations), dim=1, index=batch.actions.long())
            loss = F.smooth_l1_loss(chosen, targets)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)) if losses else float("nan"))


class DuelingDoubleDQN(DoubleDQN):
    """Double DQN on the dueling network (``"MlpPolicy"`` → :class:`DuelingDQNPolicy`)."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": DuelingDQNPolicy}
