# SPDX-License-Identifier: GPL-2.0-only
"""PPO for a hybrid action (categorical subchannel + Gaussian power), written out in one place.

SB3 has no hybrid action space, so this is a small PPO in the spirit of CleanRL: the network, the
rollout, GAE and the clipped update are all below. It trains ``K`` independent agents at once
(MFRL's one model per UE; ``K = 1`` for one model shared by every UE, as in meta-training) by
stacking their weights: every layer is ``[K, in, out]`` and a batch is ``[K, M, ...]`` (agent ``k``
sees only its own ``M`` transitions). Losses are summed over agents, gradients are clipped per
agent, and Adam's moments are element-wise, so the ``K`` agents learn exactly as ``K`` separate
PPOs would.

Network (the paper's): a shared trunk ``obs → 512 → 256`` (tanh) feeding a categorical head
(subchannel logits ``[N]``), a Gaussian head (mean of the normalised power ``u``; a learned,
state-independent log-std per agent) and the critic ``256 → 128 → 1``.

Power is continuous, never discretised: the Gaussian samples ``u ∈ ℝ`` and the environment gets
``power = lo + (hi − lo)·(clip(u, −1, 1) + 1)/2`` dBm. As in CleanRL's continuous PPO the
log-probability is that of the unclipped sample. ``log π(a|s) = log softmax(logits)[n] +
log N(u; μ, σ)`` and the entropy is the sum of the two heads' entropies (they are independent
given the state).

Loss per agent (minibatch mean): ``−min(ρ A, clip(ρ, 1 ± ε) A) + c1 (V − R)² − c2 H`` with
``ρ = exp(log π − log π_old)``, advantages normalised per agent and minibatch, GAE(γ, λ) returns.
An episode cut by the time limit bootstraps: its last reward gets ``+ γ V(s_T)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal


@dataclass
class HybridPPOConfig:
    """PPO settings; the paper's where it gives them (γ, λ, c1, c2, batch, clip)."""

    learning_rate: float = 3e-4  # paper: 5e-7 (meta) / 1e-6 (adaptation); see docs/recipes/mfrl.md
    gamma: float = 0.9
    gae_lambda: float = 0.98
    clip_range: float = 0.2
    vf_coef: float = 0.5  # c1
    ent_coef: float = 0.01  # c2
    batch_size: int = 256  # minibatch per agent
    n_epochs: int = 4
    rollout_steps: int = 32
    max_grad_norm: float = 0.5
    reward_scale: float = 0.01  # rewards are multiplied by this for learning (EE sums are O(100) Mbit/J)
    trunk: tuple[int, ...] = (512, 256)
    critic_hidden: int = 128


class StackedLinear(nn.Module):
    """``K`` independent linear layers: ``x [K, M, in] → [K, M, out]``, orthogonal init per agent."""

    def __init__(self, k: int, n_in: int, n_out: int, gain: float):
        super().__init__()
        w = torch.empty(k, n_in, n_out)
        for i in range(k):
            w_i = torch.empty(n_out, n_in)
            nn.init.orthogonal_(w_i, gain)
            w[i] = w_i.T
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(k, 1, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class HybridActorCritic(nn.Module):
    """``K`` actor-critics with a shared trunk, a subchannel head, a power head and a critic head."""

    def __init__(self, k: int, obs_dim: int, n_choices: int, trunk: Sequence[int] = (512, 256), critic_hidden: int = 128):
        super().__init__()
        self.k, self.obs_dim, self.n_choices = k, obs_dim, n_choices
        sizes = [obs_dim, *trunk]
        root2 = math.sqrt(2.0)
        self.trunk = nn.ModuleList(StackedLinear(k, a, b, root2) for a, b in zip(sizes[:-1], sizes[1:]))
        self.logits = StackedLinear(k, sizes[-1], n_choices, 0.01)
        self.power_mean = StackedLinear(k, sizes[-1], 1, 0.01)
        self.power_log_std = nn.Parameter(torch.zeros(k, 1, 1))
        self.critic_hidden = StackedLinear(k, sizes[-1], critic_hidden, root2)
        self.critic_out = StackedLinear(k, critic_hidden, 1, 1.0)

    def heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``obs [K, M, D]`` → logits ``[K, M, N]``, power mean and std ``[K, M]``, value ``[K, M]``."""
        h = obs
        for layer in self.trunk:
            h = torch.tanh(layer(h))
        value = self.critic_out(torch.tanh(self.critic_hidden(h)))[..., 0]
        mean = self.power_mean(h)[..., 0]
        std = self.power_log_std.exp()[..., 0].expand_as(mean)
        return self.logits(h), mean, std, value

    def distributions(self, obs: torch.Tensor) -> tuple[Categorical, Normal, torch.Tensor]:
        logits, mean, std, value = self.heads(obs)
        return Categorical(logits=logits), Normal(mean, std), value

    def evaluate(self, obs: torch.Tensor, sub: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Joint log-probability, joint entropy and value of ``(sub, u)``, all ``[K, M]``."""
        cat, gauss, value = self.distributions(obs)
        return cat.log_prob(sub) + gauss.log_prob(u), cat.entropy() + gauss.entropy(), value

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (or take the mode of) both heads: ``sub [K, M]``, ``u [K, M]``, log-prob, value."""
        cat, gauss, value = self.distributions(obs)
        if deterministic:
            sub, u = cat.probs.argmax(-1), gauss.mean
        else:
            sub, u = cat.sample(), gauss.sample()
        return sub, u, cat.log_prob(sub) + gauss.log_prob(u), value

    # -- weights as arrays, per agent (what federation moves) ------------------------------------------
    def agent_params(self, k: int) -> list[np.ndarray]:
        return [p.detach()[k].cpu().numpy().copy() for p in self.parameters()]

    def set_agent_params(self, k: int, params: Sequence[np.ndarray]) -> None:
        with torch.no_grad():
            for p, v in zip(self.parameters(), params, strict=True):
                p[k].copy_(torch.as_tensor(np.asarray(v), dtype=p.dtype))

    def load_everywhere(self, params: Sequence[np.ndarray]) -> None:
        """Give every agent the same weights (``params`` of one agent, e.g. a meta-trained model)."""
        for k in range(self.k):
            self.set_agent_params(k, params)


def power_dbm(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The environment's power (dBm) for the Gaussian head's sample ``u`` (clipped to ``[−1, 1]``)."""
    return lo + (hi - lo) * (np.clip(u, -1.0, 1.0) + 1.0) / 2.0


def gae(rewards: np.ndarray, values: np.ndarray, last_value: np.ndarray, dones: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """GAE(γ, λ) advantages and returns over ``[T, ...]`` arrays; ``dones[t]`` ends the episode after step t."""
    adv = np.zeros_like(rewards)
    last = np.zeros_like(last_value)
    for t in reversed(range(len(rewards))):
        next_v = last_value if t == len(rewards) - 1 else values[t + 1]
        live = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_v * live - values[t]
        last = delta + gamma * lam * live * last
        adv[t] = last
    return adv, adv + values


class HybridPPO:
    """``K`` PPO agents on the hybrid action; ``collect`` one rollout, then ``update``.

    The environment is reached through two callables so that one learner can pool several tasks:
    ``step(sub [K, M], power_dbm [K, M]) → (obs [K, M, D], reward [K, M], done [K, M], last_obs
    [K, M, D] | None)`` where ``last_obs`` holds the terminal observations of episodes the time
    limit cut (rows where ``done``), and the current observation ``[K, M, D]``.
    """

    def __init__(self, k: int, obs_dim: int, n_choices: int, power_range: tuple[float, float], cfg: HybridPPOConfig | None = None, seed: int = 0):
        self.cfg = cfg or HybridPPOConfig()
        torch.manual_seed(seed)
        self.policy = HybridActorCritic(k, obs_dim, n_choices, self.cfg.trunk, self.cfg.critic_hidden)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.cfg.learning_rate, eps=1e-5)
        self.power_range = power_range

    def collect(self, obs: np.ndarray, step: Callable[[np.ndarray, np.ndarray], tuple]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Run ``rollout_steps`` steps from ``obs [K, M, D]``; returns the batch and the next observation."""
        cfg, pol = self.cfg, self.policy
        keys = ("obs", "sub", "u", "logp", "value", "reward", "done")
        buf: dict[str, list] = {key: [] for key in keys}
        for _ in range(cfg.rollout_steps):
            o = torch.as_tensor(obs)
            sub, u, logp, value = pol.act(o)
            next_obs, reward, done, last_obs = step(sub.numpy(), power_dbm(u.numpy(), *self.power_range))
            reward = np.asarray(reward, dtype=np.float32) * cfg.reward_scale
            if last_obs is not None and done.any():  # time limit: bootstrap from the cut-off state
                _, _, _, v_last = pol.act(torch.as_tensor(last_obs))
                reward = reward + cfg.gamma * np.where(done, v_last.numpy(), 0.0)
            for key, val in zip(keys, (obs, sub.numpy(), u.numpy(), logp.numpy(), value.numpy(), reward, done)):
                buf[key].append(np.asarray(val))
            obs = next_obs
        batch = {key: np.stack(v) for key, v in buf.items()}  # [T, K, M, ...]
        _, _, _, last_value = pol.act(torch.as_tensor(obs))
        batch["adv"], batch["ret"] = gae(batch["reward"], batch["value"], last_value.numpy(), batch["done"].astype(np.float32), cfg.gamma, cfg.gae_lambda)
        return batch, obs

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """``n_epochs`` passes of clipped PPO over the rollout in minibatches of ``batch_size`` per agent."""
        cfg, pol = self.cfg, self.policy
        t, k, m = batch["sub"].shape
        flat = {key: torch.as_tensor(v.swapaxes(0, 1).reshape(k, t * m, *v.shape[3:])) for key, v in batch.items()}
        n = t * m
        size = min(cfg.batch_size, n)
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
        count = 0
        for _ in range(cfg.n_epochs):
            order = torch.randperm(n)
            for start in range(0, n - size + 1, size):
                idx = order[start:start + size]
                mb = {key: v[:, idx] for key, v in flat.items()}
                logp, entropy, value = pol.evaluate(mb["obs"], mb["sub"], mb["u"])
                adv = mb["adv"]
                adv = (adv - adv.mean(1, keepdim=True)) / (adv.std(1, keepdim=True) + 1e-8)
                ratio = (logp - mb["logp"]).exp()
                pg = -torch.min(ratio * adv, ratio.clamp(1 - cfg.clip_range, 1 + cfg.clip_range) * adv).mean(1)
                v_loss = ((value - mb["ret"]) ** 2).mean(1)
                ent = entropy.mean(1)
                loss = (pg + cfg.vf_coef * v_loss - cfg.ent_coef * ent).sum()  # agents' losses are independent
                self.optimizer.zero_grad()
                loss.backward()
                _clip_per_agent(pol.parameters(), k, cfg.max_grad_norm)
                self.optimizer.step()
                stats["policy_loss"] += float(pg.mean().detach())
                stats["value_loss"] += float(v_loss.mean().detach())
                stats["entropy"] += float(ent.mean().detach())
                stats["clip_fraction"] += float(((ratio.detach() - 1).abs() > cfg.clip_range).float().mean())
                count += 1
        return {key: v / max(count, 1) for key, v in stats.items()}

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr


def _clip_per_agent(params: Sequence[torch.nn.Parameter] | object, k: int, max_norm: float) -> None:
    """Scale each agent's gradient (the slice ``[k]`` of every parameter) to norm ≤ ``max_norm``."""
    grads = [p.grad for p in params if p.grad is not None]
    sq = torch.zeros(k)
    for g in grads:
        sq += g.pow(2).reshape(k, -1).sum(1)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(k, *([1] * (g.dim() - 1))))
