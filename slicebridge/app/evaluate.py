"""Run a policy or a baseline for some episodes in either simulator and record KPI traces.

Every episode is a task (:class:`EpisodeJob`, :func:`run_episode_job`) for an executor of
``slicebridge.distributed.executor``: sequential in this process by default, or fanned out on Ray.

Traces are long-format tables, one row per (episode, step, cell, slice) with every KPI of
``bridge.kpi.KPI_NAMES`` plus the cell's reward. They are appended to a CSV file episode by
episode, so an interrupted evaluation keeps every finished episode.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from slicebridge.agents.baselines import BASELINES
from slicebridge.bridge.actions import ActionMapper, raw_from_shares
from slicebridge.bridge.kpi import KPI_NAMES
from slicebridge.bridge.scenario import Scenario
from slicebridge.distributed.executor import Executor, SequentialExecutor, Task, TaskFailures
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


# -- fan-out (issue 16): every evaluation is a list of one-episode tasks run by an executor ------------
@dataclass(frozen=True)
class EpisodeJob:
    """One episode: ``policy`` (a Policy, a baseline name or ``"random"``) on a fresh core over
    ``simulator`` built with ``base_seed`` and reset with ``seed``. A job carries everything it needs,
    so it runs the same in this process or in a Ray worker on another host."""

    scenario: Scenario
    policy: Any
    simulator: str
    episode: int
    seed: int
    base_seed: int
    backend_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        name = self.policy if isinstance(self.policy, str) else getattr(self.policy, "name", type(self.policy).__name__)
        return f"{name} in {self.simulator}, episode {self.episode} (seed {self.seed}, scenario {self.scenario.name})"


def run_episode_job(job: EpisodeJob) -> EpisodeResult:
    """The task every executor runs. The random policy is seeded with the episode's seed, so an
    episode's actions do not depend on which episodes ran before it in the same process."""
    core = make_core(job.scenario, job.simulator, num_envs=1, seed=job.base_seed, **job.backend_kwargs)
    try:
        policy = job.policy
        if isinstance(policy, str):
            policy = make_baseline_policy(policy, job.scenario) if policy != "random" else RandomPolicy(core, job.seed)
        return run_episode(core, policy, job.seed)
    finally:
        core.close()


def episode_jobs(scenario: Scenario, policy: Policy | str, simulator: str = "litesim", episodes: int = 1,
                 seed: int | None = None, **backend_kwargs: Any) -> list[EpisodeJob]:
    """The jobs of ``evaluate``: episodes seeded ``seed, seed+1, …`` (default: the scenario's seed)."""
    base_seed = scenario.seed if seed is None else seed
    if isinstance(policy, str) and policy != "random" and policy not in BASELINES:
        raise ValueError(f"unknown baseline {policy!r}; allowed: {sorted(BASELINES)}")
    return [EpisodeJob(scenario, policy, simulator, ep, base_seed + ep, base_seed, dict(backend_kwargs)) for ep in range(episodes)]


def run_jobs(groups: list[list[EpisodeJob]], executor: Executor | None = None, out_csv: str | Path | None = None,
             progress: Any = None) -> list[list[EpisodeResult]]:
    """Run groups of jobs (e.g. one group per policy and simulator) as one fan-out; results per group.

    Trace rows go to ``out_csv`` in job order as soon as every earlier job is done; when some jobs
    fail, the finished ones are still written (then out of order) before :class:`TaskFailures` is
    raised, so nothing that ran is lost. ``progress(done_jobs)`` is called after each job.
    """
    flat = [job for group in groups for job in group]
    executor = executor or SequentialExecutor()
    done: dict[int, EpisodeResult] = {}
    written = 0

    def write(i: int) -> None:
        job = flat[i]
        name = job.policy if isinstance(job.policy, str) else job.policy.name
        append_traces(out_csv, trace_rows(name, job.simulator, job.episode, done[i], job.scenario.slice_names))

    def on_result(i: int, result: EpisodeResult) -> None:
        nonlocal written
        done[i] = result
        while out_csv is not None and written in done:
            write(written)
            written += 1
        if progress is not None:
            progress(len(done))

    tasks = [Task(job.label, run_episode_job, (job,)) for job in flat]
    try:
        results = executor.run(tasks, on_result)
    except TaskFailures:
        for i in sorted(done):
            if out_csv is not None and i >= written:
                write(i)
        raise
    out, start = [], 0
    for group in groups:
        out.append(results[start:start + len(group)])
        start += len(group)
    return out


def evaluate(
    scenario: Scenario,
    policy: Policy | str,
    simulator: str = "litesim",
    episodes: int = 1,
    seed: int | None = None,
    out_csv: str | Path | None = None,
    progress: Any = None,
    executor: Executor | None = None,
    **backend_kwargs: Any,
) -> list[EpisodeResult]:
    """Evaluate ``policy`` (a Policy, or a baseline name) for ``episodes`` seeded ``seed, seed+1, …``.

    Each episode is a task for ``executor`` (default: one after the other in this process; a
    ``RayExecutor`` fans them out, with the same results). Appends trace rows to ``out_csv`` per
    episode (header written when the file is new). ``progress``: optional callable ``progress(done_episodes)``.
    """
    jobs = episode_jobs(scenario, policy, simulator, episodes, seed, **backend_kwargs)
    return run_jobs([jobs], executor, out_csv, progress)[0]


def append_traces(path: str | Path, rows) -> None:
    path = Path(path)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(TRACE_COLUMNS)
        writer.writerows(rows)
