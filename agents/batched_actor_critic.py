# SPDX-License-Identifier: GPL-2.0-only
"""What batched TD3/DDPG (``agents.batched_td3``) and batched SAC (``agents.batched_sac``) share: K SB3
actor-critic models with continuous actions on the off-policy loop of ``agents.batched_offpolicy``.

The K actors' and critics' networks (and their targets, where the algorithm has them) are stacked on a
leading model axis (:class:`StackedPart`, one Adam for each). Acting is SB3's ``_sample_action`` for
every model at once: uniform actions before ``learning_starts`` (the model's action space generator),
else the actor's (one stacked forward pass; a subclass says how: TD3's deterministic output, SAC's
squashed Gaussian sample), scaled to [-1, 1], the model's action noise added and clipped (NumPy's
global generator, drawn model by model in the per-model order), stored scaled, sent unscaled.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from stable_baselines3.common.torch_layers import FlattenExtractor

from slicebridge.agents.batched_offpolicy import BatchedOffPolicy, common_unsupported_reason
from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import StackedNet, adam_like, polyak, stack_adam_state, unstack_adam_state


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int], supported: tuple[type, ...]) -> str | None:
    """Why these actor-critic models cannot train batched (``None``: they can)."""
    reason = common_unsupported_reason(models, group_sizes, supported)
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


class StackedPart:
    """One network of the K policies (``owner`` ``"actor"`` or ``"critic"``): its sub-modules ``names``
    (e.g. ``["qf0", "qf1"]``) stacked, the same of its target (if the algorithm has one), one Adam."""

    def __init__(self, models: Sequence[Any], owner: str, names: Sequence[str]):
        self.owner, self.names = owner, list(names)
        self.owners = [getattr(m, owner) for m in models]
        self.targets = [getattr(m, f"{owner}_target") for m in models] if hasattr(models[0], f"{owner}_target") else None
        self.optimizers = [o.optimizer for o in self.owners]
        self.nets = [StackedNet(self._modules(self.owners, n)) for n in self.names]
        self.target_nets = [StackedNet(self._modules(self.targets, n), trainable=False) for n in self.names] if self.targets else []
        self.parameters = [p for net in self.nets for p in net.parameters]
        self.optimizer = adam_like(self.optimizers[0], self.parameters)
        stack_adam_state(self.optimizers, self._per_model(), self.parameters, self.optimizer)

    @staticmethod
    def _modules(owners: Sequence[Any], name: str) -> list[Any]:
        return [o.get_submodule(name) for o in owners]

    @property
    def policy_names(self) -> list[str]:
        """``policy.named_parameters`` names of :attr:`parameters`, in order."""
        return [f"{self.owner}.{name}.{n}" for name, net in zip(self.names, self.nets) for n in net.names]

    def _per_model(self) -> list[list[torch.Tensor]]:
        return [[dict(o.get_submodule(name).named_parameters())[n] for name, net in zip(self.names, self.nets) for n in net.names]
                for o in self.owners]

    def load(self) -> None:
        for i, name in enumerate(self.names):
            self.nets[i].load(self._modules(self.owners, name))
            if self.targets:
                self.target_nets[i].load(self._modules(self.targets, name))

    def store(self) -> None:
        for i, name in enumerate(self.names):
            self.nets[i].store(self._modules(self.owners, name))
            if self.targets:
                self.target_nets[i].store(self._modules(self.targets, name))
        unstack_adam_state(self.optimizer, self.parameters, self.optimizers, self._per_model())

    def update_targets(self, tau: float) -> None:
        for net, target in zip(self.nets, self.target_nets):
            polyak(net, target, tau)

    def q_values(self, obs: torch.Tensor, actions: torch.Tensor, target: bool = False) -> list[torch.Tensor]:
        """A critic's Q-values, one ``[K, n, 1]`` per Q-network, of ``obs [K, n, F]`` and ``actions [K, n, A]``."""
        x = torch.cat([obs, actions], dim=-1)
        return [net(x) for net in (self.target_nets if target else self.nets)]

    def min_q(self, obs: torch.Tensor, actions: torch.Tensor, target: bool = False) -> torch.Tensor:
        """The smallest of the Q-networks' values, ``[K, n, 1]`` (clipped double Q)."""
        return torch.cat(self.q_values(obs, actions, target), dim=-1).min(dim=-1, keepdim=True).values


class BatchedActorCritic(BatchedOffPolicy):
    """Batched SB3 actor-critic models; a subclass names the actor's sub-modules (``actor_modules``),
    supplies :meth:`_policy_actions` (and, for stochastic actors, :meth:`_policy_draw`) and ``_train``."""

    actor_modules: tuple[str, ...] = ()
    algorithm_name = "actor-critic"

    def __init__(self, models: Sequence[Any], hub: LockstepHub, local_steps: int, reason: str | None):
        if reason is not None:
            raise ValueError(f"batched {self.algorithm_name} cannot train these models: {reason}")
        super().__init__(models, hub, local_steps)
        self.actor = StackedPart(self.models, "actor", self.actor_modules)
        self.critic = StackedPart(self.models, "critic", [f"qf{i}" for i in range(self.m0.critic.n_critics)])

    # -- the names the trainer's FedProx hook uses -------------------------------------------------------
    @property
    def policy_names(self) -> list[str]:
        return self.actor.policy_names + self.critic.policy_names

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
    def _policy_draw(self, m: Any) -> Any:
        """Model m's random draws for the actor's action this step (a deterministic actor: none)."""
        return None

    def _policy_actions(self, obs: torch.Tensor, draws: list[Any]) -> torch.Tensor:
        """The actors' squashed actions ``[K, N, A]`` in [-1, 1] for ``obs [K, N, F]`` (``draws[k]``: model k's
        :meth:`_policy_draw`)."""
        raise NotImplementedError

    def _explore(self, m: Any) -> tuple[np.ndarray | None, Any, np.ndarray | None]:
        """(uniform warm-up actions ``[N, A]`` or None for the actor's, the actor's draws, action noise ``[N, A]`` or None)."""
        warm = m.num_timesteps < m.learning_starts
        uniform = np.array([m.action_space.sample() for _ in range(self.n_envs)]) if warm else None
        policy = None if warm else self._policy_draw(m)
        return uniform, policy, (m.action_noise() if m.action_noise is not None else None)

    def _act(self, draws: list[tuple[np.ndarray | None, Any, np.ndarray | None]]) -> tuple[np.ndarray, np.ndarray]:
        shape = (self.K, self.n_envs) + tuple(self.m0.action_space.shape)
        env_actions, buffer_actions = np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)
        if any(u is None for u, _, _ in draws):
            with torch.no_grad():
                squashed = self._policy_actions(torch.as_tensor(self.obs, dtype=torch.float32), [p for _, p, _ in draws]).numpy()
        for k, (m, (uniform, _, noise)) in enumerate(zip(self.models, draws)):
            unscaled = uniform
            if unscaled is None:  # BasePolicy.predict: the squashed actor output mapped to the bounds
                unscaled = m.policy.unscale_action(squashed[k].reshape((-1,) + m.action_space.shape))
            scaled = m.policy.scale_action(unscaled)
            if noise is not None:
                scaled = np.clip(scaled + noise, -1, 1)
            buffer_actions[k] = scaled
            env_actions[k] = m.policy.unscale_action(scaled)
        return env_actions, buffer_actions

    # -- learning --------------------------------------------------------------------------------------
    def _update_learning_rates(self, pairs: Sequence[tuple[torch.optim.Optimizer, torch.optim.Optimizer]]) -> None:
        """The first model's schedule (and e.g. TD3's own actor rate) applied to ``(model's, stacked)`` optimiser pairs."""
        self.m0._update_learning_rate([own for own, _ in pairs])
        for own, stacked in pairs:
            stacked.param_groups[0]["lr"] = own.param_groups[0]["lr"]

    def _descend(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, proximal: bool = True) -> None:
        """One Adam step on ``loss [K]`` (model k's weights get the gradient of ``loss[k]`` only), FedProx's term
        added to the networks' gradients unless ``proximal`` is false."""
        optimizer.zero_grad()
        loss.sum().backward()
        if proximal and self.proximal is not None:
            self.proximal(self.parameters)
        optimizer.step()

    @staticmethod
    def _batch(batches: list[Any], fields: Sequence[str] = ("observations", "actions", "next_observations", "dones", "rewards")) -> list[torch.Tensor]:
        """The K models' replay samples ``batches[k]`` stacked field by field: each ``[K, batch, ...]``."""
        return [torch.stack([getattr(b, f) for b in batches]) for f in fields]
