# SPDX-License-Identifier: GPL-2.0-only
"""What the recipes share: training every method's run, greedy evaluation in litesim, reference policies."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.baselines import ProportionalShares
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import RunResult, TrainConfig, train
from slicebridge.app.evaluate import BaselinePolicy, evaluate, run_episode
from slicebridge.bridge.backend import DemandOracle
from slicebridge.bridge.scenario import Scenario, scenarios_dir
from slicebridge.envs import make_core

SCENARIOS = scenarios_dir()


def method_config(scenario: Scenario, method: str, algorithm: str, algo_kwargs: dict[str, Any], total_steps: int,
                   run_dir: Path, *, num_envs: int, local_steps: int, seed: int, progress: bool, fraction_fit: float = 1.0,
                   proximal_mu: float = 0.1, net_arch: list[int] | None = None) -> TrainConfig:
    """``method``: centralised, independent, or a federation strategy with an optional update codec
    after a dash (``fedavg``, ``fedprox``, ``fedavg-int8``, ``fedavg-fp16``, ...)."""
    algo = dict(algo_kwargs)
    strategy, _, codec = method.partition("-")
    mode = method if method in ("centralised", "independent") else "federated"
    if mode == "centralised":
        # one learner sees every cell's transitions: as many gradient steps as the C learners together
        algo["gradient_steps"] = algo.get("gradient_steps", 1) * scenario.n_cells
    return TrainConfig(
        scenario=scenario, simulator="litesim", algorithm=algorithm, mode=mode, strategy=strategy if mode == "federated" else "fedavg",
        codec=codec or "none",
        total_steps=total_steps, num_envs=num_envs, local_steps=local_steps, fraction_fit=fraction_fit,
        proximal_mu=proximal_mu, seed=seed, algo_kwargs=algo, net_arch=net_arch,
        run_dir=run_dir, progress=progress,
    )


def greedy_episodes(scenario: Scenario, policy: Any, episodes: int, seed: int, simulator: str = "litesim") -> list[Any]:
    """Greedy evaluation episodes in ``simulator`` (default litesim). ``policy``: a Policy, a baseline
    name, or a factory ``core -> Policy`` (for policies that need the simulator itself, e.g. its demand
    oracle; such a factory raises ``ValueError`` for a simulator it cannot use)."""

    if not callable(policy) or hasattr(policy, "act"):
        return evaluate(scenario, policy, simulator, episodes=episodes, seed=seed)
    core = make_core(scenario, simulator, num_envs=1, seed=seed)
    try:
        pol = policy(core)
        return [run_episode(core, pol, seed + ep) for ep in range(episodes)]
    finally:
        core.close()


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else Scenario.from_yaml(scenario)


def finished_run(run_dir: Path, scenario: Scenario) -> RunResult:

    policy = load_policy(run_dir, scenario)
    history = json.loads((run_dir / "history.json").read_text())
    return RunResult(run_dir, policy, history, float(policy.meta.get("wall_time_s", float("nan"))), int(policy.meta.get("core_steps", 0)))


def smoothed(history: list[dict[str, Any]], width: int = 3) -> np.ndarray:
    r = np.array([h["reward"] for h in history])
    return np.array([r[max(0, i - width + 1) : i + 1].mean() for i in range(len(r))])


def train_methods(configs: dict[str, TrainConfig], scenario: Scenario, reuse: bool, log: Callable[[str], None], tag: str,
                   budget: str) -> tuple[dict[str, RunResult], dict[str, float]]:
    """Train every method's config (or, with ``reuse``, load its finished run); returns runs and wall times."""
    runs: dict[str, RunResult] = {}
    times: dict[str, float] = {}
    for method, tc in configs.items():
        if reuse and (Path(tc.run_dir) / "history.json").is_file():
            log(f"[{tag}] reusing the finished run in {tc.run_dir}")
            runs[method] = finished_run(Path(tc.run_dir), scenario)
            times[method] = runs[method].wall_time_s
            continue
        log(f"[{tag}] training {method} ({budget})")
        t0 = time.perf_counter()
        runs[method] = train(tc)
        times[method] = runs[method].wall_time_s if runs[method].resumed_round is not None else time.perf_counter() - t0
    return runs, times


def oracle_proportional(scenario: Scenario) -> Callable[[Any], Any]:
    """Policy factory ``core -> Policy``: ``agents.baselines.ProportionalShares`` fed by litesim's
    ``offered_load_mbps`` (the coming period's offered load: perfect demand knowledge)."""

    def make(core: Any) -> BaselinePolicy:
        if not isinstance(core.backend, DemandOracle):
            raise ValueError(f"the oracle baseline needs a simulator that knows the coming demand (DemandOracle); "
                             f"{type(core.backend).__name__} does not: evaluate it in litesim")
        return BaselinePolicy("proportional (oracle)", ProportionalShares(scenario, demand=core.backend.offered_load_mbps), scenario)

    return make
