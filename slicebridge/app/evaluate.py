"""Run a policy or a baseline for some episodes in either simulator and record KPI traces.

Traces are long-format tables, one row per (episode, step, cell, slice) with every KPI of
``bridge.kpi.KPI_NAMES`` plus the cell's reward. They are appended to a CSV file episode by
episode, so an interrupted evaluation keeps every finished episode.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from slicebridge.agents.baselines import BASELINES
from slicebridge.bridge.actions import ActionMapper, raw_from_shares
from slicebridge.bridge.kpi import KPI_NAMES
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import SlicingCore, make_core

TRACE_COLUMNS = ("policy", "simulator", "episode", "seed", "step", "cell", "slice", *KPI_NAMES, "reward")


class Policy(Protocol):
    """What evaluation drives: batched observations/KPIs in, actions for ``SlicingCore.step`` out."""

    name: str

    def reset(self) -> None: ...

    def act(self, obs: np.ndarray, kpis: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """obs ``[B, C, F]``, kpis ``[B, C, S, 11]``, shares in force ``[B, C, S]`` → actions."""
        ...


class BaselinePolicy:
    """Adapts a share-producing baseline (``act(kpis) -> shares``) to either action mode."""

    def __init__(self, name: str, baseline: Any, scenario: Scenario):
        self.name = name
        self.baseline = baseline
        self.mode = scenario.action.mode
        self.min_share = np.array([s.min_share for s in scenario.slices])
        self.mapper = ActionMapper(scenario)

    def reset(self) -> None:
        if hasattr(self.baseline, "reset"):
            self.baseline.reset()

    def act(self, obs: np.ndarray, kpis: np.ndarray, shares: np.ndarray) -> np.ndarray:
        target = np.asarray(self.baseline.act(kpis), dtype=np.float64)
        if self.mode == "continuous":
            return raw_from_shares(target, self.min_share)
        return self.mapper.toward(shares, target)


class RandomPolicy:
    """Uniformly random actions from the per-cell action space (a floor for learned policies)."""

    name = "random"

    def __init__(self, core: SlicingCore, seed: int = 0):
        self.space = core.cell_action_space
        self.rng = np.random.default_rng(seed)
        self.n_cells = core.n_cells

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray, kpis: np.ndarray, shares: np.ndarray) -> np.ndarray:
        batch = obs.shape[0]
        if hasattr(self.space, "n"):
            return self.rng.integers(0, self.space.n, (batch, self.n_cells))
        return self.rng.random((batch, self.n_cells) + self.space.shape)


def make_baseline_policy(name: str, scenario: Scenario) -> BaselinePolicy:

    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; allowed: {sorted(BASELINES)}")
    return BaselinePolicy(name, BASELINES[name](scenario), scenario)


@dataclass
class EpisodeResult:
    seed: int
    kpis: np.ndarray  # [steps, C, S, 11]
    rewards: np.ndarray  # [steps, C]


def run_episode(core: SlicingCore, policy: Policy, seed: int) -> EpisodeResult:
    """One episode on instance 0 of ``core`` (batch of 1); returns the per-step KPIs and rewards."""
    policy.reset()
    obs = core.reset(seed=seed)
    kpis_t, rewards_t = [], []
    for _ in range(core.episode_steps):
        actions = policy.act(obs, core.kpis, core.shares)
        obs, rewards, terminated, truncated, infos = core.step(actions)
        kpis_t.append(infos[0]["kpis"])
        rewards_t.append(rewards[0])
        if terminated[0] or truncated[0]:
            break
    return EpisodeResult(seed, np.stack(kpis_t), np.stack(rewards_t))


def trace_rows(policy: str, simulator: str, episode: int, result: EpisodeResult, slice_names: tuple[str, ...]):
    steps, cells, slices, _ = result.kpis.shape
    for t in range(steps):
        for c in range(cells):
            for s in range(slices):
                yield (policy, simulator, episode, result.seed, t, c, slice_names[s],
                       *(float(v) for v in result.kpis[t, c, s]), float(result.rewards[t, c]))


def evaluate(
    scenario: Scenario,
    policy: Policy | str,
    simulator: str = "litesim",
    episodes: int = 1,
    seed: int | None = None,
    out_csv: str | Path | None = None,
    progress: Any = None,
    **backend_kwargs: Any,
) -> list[EpisodeResult]:
    """Evaluate ``policy`` (a Policy, or a baseline name) for ``episodes`` seeded ``seed, seed+1, …``.

    Appends trace rows to ``out_csv`` after every episode (header written when the file is new).
    ``progress``: optional callable ``progress(done_episodes)``.
    """
    base_seed = scenario.seed if seed is None else seed
    core = make_core(scenario, simulator, num_envs=1, seed=base_seed, **backend_kwargs)
    if isinstance(policy, str):
        policy = make_baseline_policy(policy, scenario) if policy != "random" else RandomPolicy(core, base_seed)
    results: list[EpisodeResult] = []
    try:
        for ep in range(episodes):
            result = run_episode(core, policy, base_seed + ep)
            results.append(result)
            if out_csv is not None:
                append_traces(out_csv, trace_rows(policy.name, simulator, ep, result, scenario.slice_names))
            if progress is not None:
                progress(ep + 1)
    finally:
        core.close()
    return results


def append_traces(path: str | Path, rows) -> None:
    path = Path(path)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(TRACE_COLUMNS)
        writer.writerows(rows)
