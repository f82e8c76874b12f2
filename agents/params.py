"""What a federated SB3 model shares: its online networks as plain arrays.

``federated_names(model)`` lists the policy's state-dict entries that travel between clients and
server: every floating-point entry of ``model.policy.state_dict()`` except the target networks
(``*_target.*``: SAC/TD3/DDPG critics and actors, DQN's ``q_net_target``). Target networks are
re-synced locally: after a client receives the global weights, each target tensor is set to its
online counterpart (``critic_target.x`` ← ``critic.x``). Optimiser moments and SAC's entropy
coefficient stay local. See docs/FEDERATION.md for why.
"""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

TARGET_MARK = "_target."


def _state(model: BaseAlgorithm) -> dict[str, torch.Tensor]:
    return model.policy.state_dict(keep_vars=True)


def federated_names(model: BaseAlgorithm) -> list[str]:
    return [k for k, v in _state(model).items() if TARGET_MARK not in k and torch.is_floating_point(v)]


def target_pairs(model: BaseAlgorithm) -> list[tuple[str, str]]:
    """``(target name, online name)`` for every target-network tensor of the policy."""
    state = _state(model)
    pairs = []
    for k in state:
        if TARGET_MARK in k:
            online = k.replace(TARGET_MARK, ".", 1)
            if online in state:
                pairs.append((k, online))
    return pairs


def federated_tensors(model: BaseAlgorithm) -> list[torch.Tensor]:
    state = _state(model)
    return [state[k] for k in federated_names(model)]


def get_params(model: BaseAlgorithm) -> list[np.ndarray]:
    return [t.detach().cpu().numpy().copy() for t in federated_tensors(model)]


def set_params(model: BaseAlgorithm, params: list[np.ndarray], sync_targets: bool = True) -> None:
    """Load the shared tensors in place (optimisers keep referring to the same tensors)."""
    tensors = federated_tensors(model)
    if len(tensors) != len(params):
        raise ValueError(f"{len(params)} arrays for {len(tensors)} federated tensors")
    with torch.no_grad():
        for t, p in zip(tensors, params):
            t.copy_(torch.as_tensor(np.asarray(p), dtype=t.dtype).reshape(t.shape))
        if sync_targets:
            state = _state(model)
            for target, online in target_pairs(model):
                state[target].copy_(state[online])


def trainable_tensors(model: BaseAlgorithm) -> list[torch.Tensor]:
    """The federated tensors that receive gradients (FedProx hooks go on these)."""
    return [t for t in federated_tensors(model) if isinstance(t, torch.nn.Parameter) and t.requires_grad]
