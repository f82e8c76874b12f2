# SPDX-License-Identifier: GPL-2.0-only
"""MFRL training (docs/RESEARCH.md, system 3): meta-training at the BS, local adaptation with
η-weighted federation, and the test over random layouts.

- :func:`meta_train`: one model shared by every UE (``K = 1``) learns from the pooled transitions
  of several tasks — cells with 2, 4 and 8 UEs in the urban-micro scenario — i.e. multi-task
  pre-training (the paper's meta step; not second-order MAML). It returns the final weights and a
  snapshot taken half-way (MFRL_early).
- :func:`adapt`: ``I`` UEs, each with its own model (``K = I``), train locally in a new scenario from
  an initialisation (meta weights, or a fresh network) and, every ``fed_every`` iterations, send
  their weights with ``success_rate`` = η_i = β_i / T (UE i's cumulative channel-assignment success
  rate) to a :mod:`slicebridge.federation.strategies` strategy (``success`` for MFRL, ``fedavg``
  for the sample-count ablation) and continue from the average; or never average (MRL, MARL). No
  round is held at the last iteration: the UEs are tested with the local models they act with,
  ``iterations mod fed_every`` (or ``fed_every``) local iterations after the last average.
- :func:`evaluate`: deterministic policies (most likely subchannel, mean power) on ``layouts``
  random layouts at once; system EE = mean over steps of ``Σ_i EE_i`` over the UEs that succeed.

One iteration = one PPO rollout of ``rollout_steps`` steps in each of ``num_envs`` cells, then the
update. Rewards enter the learner scaled by ``HybridPPOConfig.reward_scale``; every number
returned here is unscaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from slicebridge.agents.hybrid_ppo import HybridActorCritic, HybridPPO, HybridPPOConfig, power_dbm
from slicebridge.envs.mfrl import MfrlConfig, MfrlCore
from slicebridge.federation.strategies import FitRes, make_strategy

Params = list[np.ndarray]


class UeRunner:
    """One batch of cells seen by ``K`` agents: ``shared`` (K = 1, every UE's transitions in one row
    ``[1, B·I]``) or per UE (K = I, agent k drives UE k of every cell: ``[I, B]``). Resets all cells
    together at the time limit and counts each UE's successes β_i over its steps T (η = β / T)."""

    def __init__(self, cfg: MfrlConfig, num_envs: int, seed: int, shared: bool):
        self.core = MfrlCore(cfg, num_envs=num_envs, seed=seed)
        self.shared = shared
        self.b, self.i = num_envs, cfg.n_ues
        self.power_range = (cfg.min_power_dbm, cfg.max_power_dbm)
        self.beta = np.zeros(cfg.n_ues)  # successes per UE, summed over the cells
        self.steps = 0  # T per UE and cell
        self.history: list[dict[str, float]] = []  # per step: reward, success, system EE (means over cells)
        self.obs = self._group(self.core.reset())

    def _group(self, x: np.ndarray) -> np.ndarray:
        """``[B, I, ...] → [K, M, ...]``."""
        return x.reshape(1, self.b * self.i, *x.shape[2:]) if self.shared else np.swapaxes(x, 0, 1)

    def _ungroup(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.b, self.i) if self.shared else np.swapaxes(x, 0, 1)

    @property
    def eta(self) -> np.ndarray:
        """η_i = β_i / T per UE ``[I]`` (0 before the first step)."""
        return self.beta / max(self.steps * self.b, 1)

    def step(self, sub: np.ndarray, power: np.ndarray):
        obs, reward, _, truncated, info = self.core.step(self._ungroup(sub), self._ungroup(power))
        self.beta += info["success"].sum(axis=0)
        self.steps += 1
        self.history.append(step_stats(reward, info))
        done = np.broadcast_to(truncated[:, None], (self.b, self.i))
        last = None
        if truncated.any():
            last = self._group(obs)
            obs = self.core.reset()
        self.obs = self._group(obs)
        return self.obs, self._group(np.broadcast_to(reward[:, None], (self.b, self.i)).astype(np.float32)), self._group(done), last


class PooledRunner:
    """Several shared runners (tasks) as one: their rows concatenated along ``M``."""

    def __init__(self, runners: Sequence[UeRunner]):
        self.runners = list(runners)
        self.sizes = [r.obs.shape[1] for r in self.runners]
        self.cuts = np.cumsum(self.sizes)[:-1]

    @property
    def obs(self) -> np.ndarray:
        return np.concatenate([r.obs for r in self.runners], axis=1)

    def step(self, sub: np.ndarray, power: np.ndarray):
        outs = [r.step(s, p) for r, s, p in zip(self.runners, np.split(sub, self.cuts, 1), np.split(power, self.cuts, 1))]
        obs, reward, done = (np.concatenate([o[j] for o in outs], axis=1) for j in range(3))
        last = None
        if any(o[3] is not None for o in outs):
            last = np.concatenate([o[3] if o[3] is not None else o[0] for o in outs], axis=1)
        return obs, reward, done, last


def step_stats(reward: np.ndarray, info: dict[str, np.ndarray]) -> dict[str, float]:
    """Means over cells of one step: shared reward, UE success rate, system EE (Mbit/J of the UEs that succeed)."""
    return {"reward": float(reward.mean()), "success": float(info["success"].mean()),
            "system_ee": float((info["ee"] * info["success"]).sum(axis=-1).mean())}


def _window(history: list[dict[str, float]], n: int) -> dict[str, float]:
    tail = history[-n:]
    return {k: float(np.mean([h[k] for h in tail])) for k in tail[0]}


@dataclass
class MetaResult:
    final: Params
    early: Params  # snapshot half-way through meta-training (MFRL_early)
    curve: list[dict[str, float]] = field(default_factory=list)  # per iteration, pooled over tasks


def meta_train(base: MfrlConfig, tasks: Sequence[int], iterations: int, ppo_cfg: HybridPPOConfig, num_envs: int, seed: int,
               log: Callable[[str], None] = lambda s: None) -> MetaResult:
    """Multi-task pre-training of one shared model on cells with ``tasks`` UEs each (pooled transitions)."""
    runners = [UeRunner(base.with_(n_ues=n), num_envs, seed + 7919 * j, shared=True) for j, n in enumerate(tasks)]
    pool = PooledRunner(runners)
    ppo = HybridPPO(1, base.obs_dim, base.n_subchannels, runners[0].power_range, ppo_cfg, seed=seed)
    obs, curve, early = pool.obs, [], None
    for it in range(iterations):
        batch, obs = ppo.collect(obs, pool.step)
        ppo.update(batch)
        row = {f"{key}_{n}ue": v for r, n in zip(runners, tasks) for key, v in _window(r.history, ppo_cfg.rollout_steps).items()}
        row["reward"] = float(np.mean([row[f"reward_{n}ue"] for n in tasks]))
        curve.append(row)
        if it + 1 == max(iterations // 2, 1):
            early = ppo.policy.agent_params(0)
        if (it + 1) % 10 == 0:
            log(f"meta it {it + 1}/{iterations}: " + ", ".join(f"{n} UEs success {row[f'success_{n}ue']:.2f}" for n in tasks))
    return MetaResult(final=ppo.policy.agent_params(0), early=early if early is not None else ppo.policy.agent_params(0), curve=curve)


@dataclass
class AdaptResult:
    policy: HybridActorCritic
    curve: list[dict[str, float]]  # per iteration: reward, success, system_ee (means over the rollout)
    eta: np.ndarray  # final η per UE
    rounds: int  # federation rounds held


def adapt(cfg: MfrlConfig, init: Params | None, strategy: str | None, iterations: int, ppo_cfg: HybridPPOConfig,
          num_envs: int, fed_every: int, seed: int, common_init: bool = True) -> AdaptResult:
    """Local training of ``cfg.n_ues`` per-UE models from ``init`` (None: fresh networks, the same for
    every UE when ``common_init``, as a federation starts from one global model), averaged every
    ``fed_every`` iterations by ``strategy`` (``success``: η weights; ``fedavg``: sample counts; None:
    never)."""
    runner = UeRunner(cfg, num_envs, seed, shared=False)
    ppo = HybridPPO(cfg.n_ues, cfg.obs_dim, cfg.n_subchannels, runner.power_range, ppo_cfg, seed=seed)
    pol = ppo.policy
    if init is not None:
        pol.load_everywhere(init)
    elif common_init:
        pol.load_everywhere(pol.agent_params(0))
    server = None
    if strategy is not None:
        server = make_strategy(strategy)
        server.initialize(pol.agent_params(0))
    obs, curve, rounds = runner.obs, [], 0
    for it in range(iterations):
        batch, obs = ppo.collect(obs, runner.step)
        ppo.update(batch)
        curve.append(_window(runner.history, ppo_cfg.rollout_steps))
        if server is not None and (it + 1) % fed_every == 0 and it + 1 < iterations:
            eta = runner.eta
            samples = runner.steps * runner.b  # every UE has taken as many steps
            results = [FitRes(k, pol.agent_params(k), samples, {"success_rate": float(eta[k])}) for k in range(cfg.n_ues)]
            pol.load_everywhere(server.aggregate(results))
            rounds += 1
    return AdaptResult(policy=pol, curve=curve, eta=runner.eta, rounds=rounds)


@torch.no_grad()
def evaluate(policy: HybridActorCritic, cfg: MfrlConfig, layouts: int, steps: int, seed: int, deterministic: bool = True) -> dict[str, float]:
    """Test over ``layouts`` random layouts (one cell each) for ``steps`` steps: the policies' modes
    (``deterministic``) or samples.

    A per-UE policy (``K = I``) drives UE k with agent k; a shared one (``K = 1``) drives every UE."""
    if policy.k not in (1, cfg.n_ues):
        raise ValueError(f"evaluate(): a policy of {policy.k} agents cannot drive {cfg.n_ues} UEs")
    runner = UeRunner(cfg.with_(episode_steps=max(steps, 1)), layouts, seed, shared=policy.k == 1)
    for _ in range(steps):
        sub, u, _, _ = policy.act(torch.as_tensor(runner.obs), deterministic=deterministic)
        runner.step(sub.numpy(), power_dbm(u.numpy(), *runner.power_range))
    return _window(runner.history, steps)
