# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL's training loop (docs/RESEARCH.md system 5, the paper's Algorithm 1) on one cell.

Agent 1 acts on the *real* system (litesim, or ns-3 live over the bridge); every real transition is
logged. Per round, when the twin is on: the twin (:class:`~slicebridge.agents.twin.TwinModel`) is
re-fitted on the whole log, agent 2 starts from agent 1's weights, trains ``twin_steps`` steps in the
twin, and its weights are copied back to agent 1, which then fine-tunes for ``round_steps`` real
interactions. Without the twin only the real interactions happen. Optionally agent 1 is first
pre-trained in another simulator (``pretrain_simulator``, e.g. litesim before ns-3: slicebridge's
own twin path). After every round the greedy policy is evaluated on a separate instance of the real
system (``eval_steps`` steps from a fixed seed; those steps are measurements, not counted as training
interactions).

Exploration: ε-greedy, ε decaying linearly from ``eps_start`` to ``eps_end`` over ``eps_decay``
of each agent's own steps (SB3's schedule would restart with every ``learn`` call).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from slicebridge.agents.algorithms import build_model
from slicebridge.agents.twin import CellEnv, TransitionLog, TwinConfig, TwinEnv, TwinModel
from slicebridge.bridge.scenario import Scenario


@dataclass
class DtDrlConfig:
    algorithm: str = "ddqn"  # dqn, ddqn, dueling_ddqn
    net_arch: tuple[int, ...] = (256, 256, 128, 128)  # paper
    real_steps: int = 4000  # budget of real interactions
    round_steps: int = 200  # real interactions per round (the paper's round)
    twin: bool = True
    twin_steps: int = 600  # agent 2's steps in the twin per round
    twin_start: int = 400  # real transitions logged before the first twin fit
    twin_cfg: TwinConfig = field(default_factory=TwinConfig)
    pretrain_simulator: str | None = None  # e.g. "litesim" before an ns-3 real system
    pretrain_steps: int = 0
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay: int = 2000  # agent steps over which ε falls to eps_end
    finetune_eps_start: float = 0.2  # agent 1's ε after a pre-training (it starts from a trained policy)
    eval_steps: int = 20
    eval_seed: int = 10_000
    seed: int = 0
    algo_kwargs: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.9, buffer_size=20000, learning_starts=200, batch_size=64, train_freq=1,
        gradient_steps=1, target_update_interval=250,
    ))


class LinearEpsilon:
    """ε of ``model`` from its own step counter (``model.num_timesteps``): linear, then flat."""

    def __init__(self, model: BaseAlgorithm, start: float, end: float, steps: int):
        self.model, self.start, self.end, self.steps = model, start, end, max(1, steps)

    def __call__(self, _progress_remaining: float) -> float:
        frac = min(1.0, self.model.num_timesteps / self.steps)
        return self.start + (self.end - self.start) * frac


def copy_weights(src: BaseAlgorithm, dst: BaseAlgorithm) -> None:
    """Online and target networks of ``src`` into ``dst`` (same architecture)."""
    dst.policy.load_state_dict(src.policy.state_dict())


def greedy_reward(model: BaseAlgorithm, env: CellEnv, steps: int, seed: int) -> float:
    """Mean reward of ``steps`` greedy steps from ``env.reset(seed)``."""
    obs, _ = env.reset(seed=seed)
    rewards = []
    for _ in range(steps):
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(int(action))
        rewards.append(reward)
        if terminated or truncated:
            obs, _ = env.reset()
    return float(np.mean(rewards))


def interactions_to_target(curve: list[dict[str, float]], target: float) -> int | None:
    """Real interactions at the first evaluation whose reward reaches ``target`` (None: never)."""
    for point in curve:
        if point["reward"] >= target:
            return int(point["real"])
    return None


def _agent(cfg: DtDrlConfig, env: Any, seed: int, eps_start: float) -> BaseAlgorithm:
    model = build_model(cfg.algorithm, env, seed, dict(cfg.algo_kwargs), list(cfg.net_arch))
    model.exploration_schedule = LinearEpsilon(model, eps_start, cfg.eps_end, cfg.eps_decay)
    return model


def train_dt_drl(scenario: Scenario, cfg: DtDrlConfig, real: str = "litesim",
                 log: Callable[[str], None] = print, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the loop; returns ``{"curve": [{"real", "reward", "twin_steps", "state_mse", "reward_mse",
    "wall_s"}, ...], "real": real, "config": ...}`` (one curve point per round, plus the start).
    ``keep``: if given, receives the trained ``"agent"`` and the real ``"log"`` (for the extensions)."""
    start = time.perf_counter()
    real_log = TransitionLog()
    real_env, eval_env = CellEnv(scenario, real, log=real_log), CellEnv(scenario, real)
    envs: list[Any] = [real_env, eval_env]
    try:
        eps0 = cfg.eps_start
        agent = _agent(cfg, real_env, cfg.seed, eps0)
        if cfg.pretrain_simulator and cfg.pretrain_steps > 0:
            pre_env = CellEnv(scenario, cfg.pretrain_simulator)
            envs.append(pre_env)
            pre = _agent(cfg, pre_env, cfg.seed + 7, cfg.eps_start)
            pre.learn(cfg.pretrain_steps)
            copy_weights(pre, agent)
            agent.exploration_schedule = LinearEpsilon(agent, cfg.finetune_eps_start, cfg.eps_end, cfg.eps_decay)
        twin_model = twin_env = agent2 = None
        if cfg.twin:
            twin_model = TwinModel(real_env.observation_space.shape[0], real_env.action_features(),
                                   TwinConfig(**{**cfg.twin_cfg.__dict__, "seed": cfg.seed}))
            twin_env = TwinEnv(twin_model, real_log, real_env.observation_space, real_env.action_space.n,
                               scenario.control.episode_steps, seed=cfg.seed)
            agent2 = _agent(cfg, twin_env, cfg.seed + 1, cfg.eps_start)
        twin_total = 0
        losses: dict[str, float] = {}
        curve = [{"real": 0, "reward": greedy_reward(agent, eval_env, cfg.eval_steps, cfg.eval_seed), "twin_steps": 0,
                  "wall_s": time.perf_counter() - start}]
        while real_env.interactions < cfg.real_steps:
            if agent2 is not None and real_log.n_transitions >= cfg.twin_start:
                losses = twin_model.fit(real_log)
                copy_weights(agent, agent2)
                agent2.learn(cfg.twin_steps, reset_num_timesteps=False)
                copy_weights(agent2, agent)
                twin_total += cfg.twin_steps
            agent.learn(min(cfg.round_steps, cfg.real_steps - real_env.interactions), reset_num_timesteps=False)
            point = {"real": real_env.interactions, "reward": greedy_reward(agent, eval_env, cfg.eval_steps, cfg.eval_seed),
                     "twin_steps": twin_total, "wall_s": time.perf_counter() - start, **losses}
            curve.append(point)
            log(f"[dt_drl] {cfg.algorithm} twin={cfg.twin} real={real} seed={cfg.seed}: {point['real']} real, "
                f"{twin_total} twin steps, greedy reward {point['reward']:.3f} ({point['wall_s']:.0f} s)")
        if keep is not None:
            keep.update(agent=agent, log=real_log)
        return {"curve": curve, "real": real, "algorithm": cfg.algorithm, "twin": cfg.twin, "seed": cfg.seed,
                "pretrain": cfg.pretrain_simulator if cfg.pretrain_steps else None, "pretrain_steps": cfg.pretrain_steps}
    finally:
        for env in envs:
            env.close()
