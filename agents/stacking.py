# SPDX-License-Identifier: GPL-2.0-only
"""K same-shaped torch networks as one: what the batched engines (``agents.batched_ppo``, ``agents.batched_dqn``,
``agents.batched_actor_critic``) share.

Every parameter is stacked on a leading model axis (``torch.func.stack_module_state``), inputs carry the
same axis (``x [K, N, in]``), and nothing mixes across it: model k's output, loss and gradient depend on
model k's slice only. A plain MLP (``nn.Sequential`` of ``Linear`` and parameter-free activations, or one
``Linear``) runs as one ``torch.baddbmm`` per layer; any other module (e.g. the dueling head) through
``torch.func.functional_call`` under ``torch.func.vmap`` (about twice the cost, same numbers).

Adam is elementwise, so one Adam over the stacked tensors is K Adams; :func:`stack_adam_state` and
:func:`unstack_adam_state` move the moments between the per-model optimisers (the saved product) and
the stacked one. :func:`clip_grad_norm_per_model` is ``clip_grad_norm_`` of each model's own parameters.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``x [K, N, in]`` through K Linear layers (``weight [K, out, in]``, ``bias [K, out]``) → ``[K, N, out]``."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def mlp(x: torch.Tensor, params: dict[str, torch.Tensor], prefix: str, seq: nn.Sequential) -> torch.Tensor:
    """``x [K, N, in]`` through the stacked copies of ``seq`` whose parameters are ``params[prefix + ".i.weight"]``..."""
    dot = f"{prefix}." if prefix else ""
    for i, layer in enumerate(seq):
        x = linear(x, params[f"{dot}{i}.weight"], params[f"{dot}{i}.bias"]) if isinstance(layer, nn.Linear) else layer(x)
    return x


def is_plain_mlp(module: nn.Module) -> bool:
    """A Sequential of Linear layers and parameter-free (elementwise) activations."""
    return isinstance(module, nn.Sequential) and all(
        isinstance(layer, nn.Linear) or (not any(True for _ in layer.parameters()) and not any(True for _ in layer.buffers()))
        for layer in module
    )


class StackedNet:
    """K copies of a module as one callable: ``net(x [K, N, in]) → [K, N, out]``.

    ``p``: the stacked parameters by the module's parameter names (leaves; they require grad when
    ``trainable``), ``parameters``: the same in ``named_parameters`` order.
    """

    def __init__(self, modules: Sequence[nn.Module], trainable: bool = True):
        self.template = modules[0]
        params, buffers = torch.func.stack_module_state(list(modules))
        self.names = [n for n, _ in modules[0].named_parameters()]
        self.p: dict[str, torch.Tensor] = {n: params[n].requires_grad_(trainable) for n in self.names}
        self.buffers = buffers
        self.linear = isinstance(modules[0], nn.Linear) and modules[0].bias is not None  # e.g. SAC's mean and log-std heads
        self.plain = self.linear or is_plain_mlp(modules[0])
        if not self.plain:
            skeleton = copy.deepcopy(modules[0]).to("meta")

            def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
                return torch.func.functional_call(skeleton, (p, b), (x,))

            self._vmapped = torch.func.vmap(one)

    @property
    def parameters(self) -> list[torch.Tensor]:
        return [self.p[n] for n in self.names]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.linear:
            return linear(x, self.p["weight"], self.p["bias"])
        if self.plain:
            return mlp(x, self.p, "", self.template)
        return self._vmapped(self.p, self.buffers, x)

    def load(self, modules: Sequence[nn.Module]) -> None:
        """Copy the modules' weights into the stacked tensors (in place: an optimiser keeps them)."""
        with torch.no_grad():
            for n in self.names:
                self.p[n].copy_(torch.stack([dict(m.named_parameters())[n].detach() for m in modules]))

    def store(self, modules: Sequence[nn.Module]) -> None:
        """Copy the stacked weights into the modules (in place)."""
        with torch.no_grad():
            for k, m in enumerate(modules):
                for n, t in m.named_parameters():
                    t.copy_(self.p[n][k])


def adam_like(template: torch.optim.Optimizer, params: list[torch.Tensor], fused: bool = False) -> torch.optim.Adam:
    """A ``torch.optim.Adam`` over ``params`` with ``template``'s settings (one group).

    ``fused``: torch's fused kernel (one pass over each tensor instead of ~10 elementwise operations;
    the same update up to float rounding, ~1e-7 relative). Used where a benchmark showed Adam's share
    of the time (batched PPO: ~20 % of the README main job's training, docs/BENCHMARKS.md).
    """
    keys = ("lr", "betas", "eps", "weight_decay", "amsgrad", "foreach", "maximize", "capturable", "differentiable", "fused")
    settings = {k: template.defaults[k] for k in keys if k in template.defaults}
    if fused and not (settings.get("amsgrad") or settings.get("differentiable") or settings.get("capturable")):
        settings.update(fused=True, foreach=None)
    return torch.optim.Adam(params, **settings)


def stack_adam_state(optimizers: Sequence[torch.optim.Optimizer], per_model: Sequence[Sequence[torch.Tensor]],
                     stacked: Sequence[torch.Tensor], into: torch.optim.Optimizer) -> None:
    """Copy the K optimisers' moments of ``per_model[k][i]`` into ``into``'s state of ``stacked[i]``."""
    for i, t in enumerate(stacked):
        per = [o.state.get(ps[i]) for o, ps in zip(optimizers, per_model)]
        if any(not s for s in per):
            continue
        into.state[t] = {key: (per[0][key].clone() if key == "step" else torch.stack([s[key] for s in per]).clone()) for key in per[0]}


def unstack_adam_state(source: torch.optim.Optimizer, stacked: Sequence[torch.Tensor],
                       optimizers: Sequence[torch.optim.Optimizer], per_model: Sequence[Sequence[torch.Tensor]]) -> None:
    """Write ``source``'s moments of ``stacked[i]`` into optimiser k's state of ``per_model[k][i]``."""
    for i, t in enumerate(stacked):
        st = source.state.get(t)
        if not st:
            continue
        for k, (o, ps) in enumerate(zip(optimizers, per_model)):
            o.state[ps[i]] = {key: (v.clone() if key == "step" else v[k].clone()) for key, v in st.items()}


def clip_grad_norm_per_model(params: Sequence[torch.Tensor], max_norm: float) -> None:
    """``clip_grad_norm_`` of each model's own parameters (its global L2 norm over the stacked tensors)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    k = grads[0].shape[0]
    # one norm over each model's concatenated gradients (clip_grad_norm_ takes the norm of the
    # per-tensor norms: the same value up to float rounding, in one call instead of one per tensor)
    total = torch.linalg.vector_norm(torch.cat([g.reshape(k, -1) for g in grads], dim=1), dim=1)  # [K]
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.reshape((k,) + (1,) * (g.dim() - 1)))



def networks_differ(models: Sequence[Any]) -> str | None:
    """Why the SB3 models' policies cannot be stacked (``None``: same names and shapes)."""
    first = [(n, tuple(p.shape)) for n, p in models[0].policy.named_parameters()]
    if any([(n, tuple(p.shape)) for n, p in m.policy.named_parameters()] != first for m in models[1:]):
        return "the models' networks differ in shape"
    return None


class ModelAxis:
    """The K models' units on a lockstep hub's core (model k owns ``hub.groups[k]``, g units each):
    arrays ``[B, C, ...]`` ↔ ``[K, N, ...]`` with ``N = B · g`` and env index ``b · g + j`` for unit
    ``groups[k][j]`` of instance ``b`` (the order of the per-model path's ``CellGroupVecEnv``)."""

    def __init__(self, hub: Any):
        self.core = hub.core
        self.cells = np.asarray(hub.groups, dtype=np.intp)  # [K, g]
        self.K, self.g = self.cells.shape
        self.n_envs = self.core.num_envs * self.g

    def mine(self, arr: np.ndarray) -> np.ndarray:
        """``[B, C, ...]`` → ``[K, N, ...]``."""
        sub = np.moveaxis(np.asarray(arr)[:, self.cells], 1, 0)  # [K, B, g, ...]
        return sub.reshape((self.K, self.n_envs) + sub.shape[3:])

    def to_core(self, actions: np.ndarray, dtype: Any) -> np.ndarray:
        """``[K, N, ...]`` → the core's ``[B, C, ...]``."""
        b = self.core.num_envs
        tail = actions.shape[2:]
        out = np.zeros((b, self.core.n_cells) + tail, dtype=dtype)
        out[:, self.cells] = np.moveaxis(actions.reshape((self.K, b, self.g) + tail), 0, 1)
        return out


def polyak(online: StackedNet, target: StackedNet, tau: float) -> None:
    """SB3's ``polyak_update`` of every model's target network at once (the same elementwise operations)."""
    with torch.no_grad():
        for n in online.names:
            t = target.p[n]
            t.mul_(1 - tau)
            torch.add(t, online.p[n], alpha=tau, out=t)


def settings_differ(models: Sequence[Any], names: Sequence[str]) -> str | None:
    """The first of the settings ``names`` (model attributes) on which the models differ (``None``: none).

    A batched engine runs every model with the first model's settings, so a model changed on its own
    (e.g. ``agents.transfer.freeze``) must keep the per-model path. Schedules are compared by their
    values at progress 1, 0.5 and 0; action noise by its description.
    """

    def value(m: Any, name: str) -> Any:
        v = getattr(m, name, None)
        if callable(v) and not isinstance(v, type):
            try:
                return tuple(float(v(p)) for p in (1.0, 0.5, 0.0))
            except TypeError:  # not a schedule (e.g. action noise): its description
                return repr(v)
        return v

    for name in names:
        first = value(models[0], name)
        if any(value(m, name) != first for m in models[1:]):
            return f"the models' {name} differ"
    return None
