"""FedProx's client side: ``μ/2 ‖w − w_global‖²`` added to every local loss, as gradient hooks.

Adding the term to a loss adds ``μ (w − w_global)`` to the gradient of every parameter the loss
reaches. :class:`ProximalTerm` registers a tensor hook on each parameter that does exactly that
whenever a backward pass computes its gradient, so it works unchanged inside any Stable-Baselines3
algorithm (PPO, SAC, TD3, DDPG, DQN): their own losses, gradient clipping and optimisers run as
usual, and the hook fires before clipping, as the term would inside the loss. The term is applied
once per backward pass to the parameters that pass reaches (the ones its optimiser then updates);
target networks get no gradients and so no term.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch


class ProximalTerm:
    """Gradient hooks adding ``mu * (w - w_anchor)`` to the gradient of each parameter."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter], mu: float):
        self.parameters = [p for p in parameters if p.requires_grad]
        self.mu = float(mu)
        self._anchors: list[torch.Tensor] = []
        self._handles: list = []

    def anchor(self, global_params: Sequence[np.ndarray | torch.Tensor] | None = None) -> None:
        """Set ``w_global``: the given arrays (same order as the parameters) or the current values."""
        with torch.no_grad():
            if global_params is None:
                self._anchors = [p.detach().clone() for p in self.parameters]
            else:
                if len(global_params) != len(self.parameters):
                    raise ValueError(f"{len(global_params)} anchor tensors for {len(self.parameters)} parameters")
                self._anchors = [
                    torch.as_tensor(np.asarray(g) if not isinstance(g, torch.Tensor) else g, dtype=p.dtype, device=p.device).reshape(p.shape).clone()
                    for g, p in zip(global_params, self.parameters)
                ]
        if not self._handles:
            self._handles = [p.register_hook(self._hook_for(i)) for i, p in enumerate(self.parameters)]

    def _hook_for(self, i: int):
        def hook(grad: torch.Tensor) -> torch.Tensor:
            if self.mu == 0.0 or not self._anchors:
                return grad
            p = self.parameters[i]
            return grad + self.mu * (p.detach() - self._anchors[i])

        return hook

    def value(self) -> float:
        """The current value of ``μ/2 ‖w − w_global‖²`` (for logging)."""
        if not self._anchors:
            return 0.0
        with torch.no_grad():
            return float(0.5 * self.mu * sum(((p - a) ** 2).sum() for p, a in zip(self.parameters, self._anchors)))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._anchors = []
