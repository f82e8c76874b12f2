"""The main job: train in litesim, evaluate the policy and the baselines in both simulators, report.

Everything lands in ``out_dir`` as it is produced: ``config.json``, the training run in ``train/``,
``traces.csv`` (appended per episode), ``calibration.json``, then ``report.md`` with its PNG plots.
An interrupted comparison keeps every file written so far.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import TrainConfig, throughput_settings, train
from slicebridge.app.calibration import calibrate, held_out_split
from slicebridge.app.evaluate import Policy, episode_jobs, run_jobs
from slicebridge.app.report import write_report
from slicebridge.app.summary import format_kpi_table, summarise_arrays
from slicebridge.bridge.scenario import Scenario
from slicebridge.distributed.executor import Executor

BASELINE_NAMES = ("equal", "proportional", "greedy_sla")


@dataclass
class CompareConfig:
    scenario: Scenario
    out_dir: Path
    budget_steps: int = 20000
    algorithm: str = "ppo"
    strategy: str = "fedavg"
    simulators: tuple[str, ...] = ("litesim", "ns3")
    episodes: int = 2
    seed: int | None = None
    calibrate: bool = True
    policy_dir: Path | None = None
    baselines: tuple[str, ...] = BASELINE_NAMES
    train_num_envs: int | None = None  # None: training.throughput_settings' fixed-budget batch (PPO: 64), else 16
    include_random: bool = True  # a uniformly random policy: the floor every ranking should agree on
    resume: bool = True  # training continues from out_dir/train/checkpoints when there is one
    executor: Executor | None = None  # runs the evaluation episodes (None: one after the other here; or a RayExecutor)


@dataclass
class CompareData:
    """KPI traces per simulator and policy: ``traces[sim][policy]`` is ``[episodes, T, C, S, 11]``,
    ``rewards[sim][policy]`` is ``[episodes, T, C]``."""

    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rewards: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    baselines: tuple[str, ...] = ()
    calibrated: dict[str, np.ndarray] = field(default_factory=dict)  # litesim after calibration, per policy
    calibrated_rewards: dict[str, np.ndarray] = field(default_factory=dict)
    calibration: dict | None = None
    train_seconds: float | None = None
    policy_objects: dict = field(default_factory=dict)  # name → Policy for the non-baseline (trained) policies


def _log(msg: str) -> None:
    print(f"[compare] {msg}", flush=True)


def _stack(results) -> tuple[np.ndarray, np.ndarray]:
    steps = min(r.kpis.shape[0] for r in results)
    return np.stack([r.kpis[:steps] for r in results]), np.stack([r.rewards[:steps] for r in results])


def _train(config: CompareConfig, seed: int) -> tuple[Path, float]:

    run_dir = config.out_dir / "train"
    _log(f"training {config.algorithm} ({config.strategy}) in litesim for {config.budget_steps} steps per cell → {run_dir}")
    t0 = time.perf_counter()
    # issue 17: many instances per step, PPO batched, as many updates as before (benchmarks/bench_training.py measures this call)
    settings = {"num_envs": 16, **throughput_settings("litesim", config.algorithm, fixed_budget=True)}
    if config.train_num_envs is not None:
        settings["num_envs"] = config.train_num_envs
    train(TrainConfig(scenario=config.scenario, simulator="litesim", algorithm=config.algorithm, mode="federated",
                      strategy=config.strategy, total_steps=config.budget_steps, seed=seed, run_dir=run_dir,
                      resume=config.resume, **settings))
    return run_dir, time.perf_counter() - t0


def calibrate_compare_data(scenario: Scenario, data: CompareData, seed: int, executor: Executor | None = None):
    """Calibrate litesim on ``data.traces["ns3"]`` (baselines and the random policy, split into a fit
    and a held-out set by ``calibration.held_out_split``), re-run every litesim policy with the
    fitted scenario into ``data.calibrated``, and put the summary in ``data.calibration``.
    Shared by ``run_compare`` and ``slicebridge fidelity``. Returns the ``CalibrationResult``."""
    ns3 = {p: t for p, t in data.traces["ns3"].items() if p in data.baselines or p == "random"}
    n_eps = min(t.shape[0] for t in ns3.values())

    def run_lite(candidate: Scenario, name: str, episodes: tuple[int, ...]) -> np.ndarray:
        jobs = episode_jobs(candidate, name, "litesim", n_eps, seed)
        return _stack(run_jobs([[jobs[e] for e in episodes]])[0])[0]

    result = calibrate(scenario, ns3, run_lite, split=held_out_split(list(ns3), n_eps))
    names = list(data.traces["litesim"])
    groups = [episode_jobs(result.scenario, data.policy_objects.get(name, name), "litesim", n_eps, seed) for name in names]
    for name, results in zip(names, run_jobs(groups, executor)):
        data.calibrated[name], data.calibrated_rewards[name] = _stack(results)
    data.calibration = result.summary()
    return result


def run_compare(config: CompareConfig) -> Path:
    """Run the whole comparison; returns the path of the Markdown report."""

    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    scenario = config.scenario
    seed = scenario.seed if config.seed is None else config.seed
    (out / "config.json").write_text(json.dumps({
        "scenario": scenario.model_dump(mode="json"), "budget_steps": config.budget_steps, "algorithm": config.algorithm,
        "strategy": config.strategy, "simulators": list(config.simulators), "episodes": config.episodes, "seed": seed,
    }, indent=1))
    trace_csv = out / "traces.csv"
    trace_csv.unlink(missing_ok=True)

    baselines = tuple(config.baselines)
    if any(sl.initial_share is not None for sl in scenario.slices) and "static" not in baselines:
        baselines += ("static",)  # the configured shares differ from equal shares: a baseline of its own
    data = CompareData(baselines=baselines)
    policies: dict[str, Policy | str] = {name: name for name in baselines}
    if config.include_random:
        policies["random"] = "random"
    policy_dir = config.policy_dir
    if policy_dir is None and config.budget_steps > 0:
        policy_dir, data.train_seconds = _train(config, seed)
    if policy_dir is not None:

        trained = load_policy(policy_dir, scenario)
        policies = {trained.name: trained, **policies}
        data.policy_objects[trained.name] = trained

    # every (simulator, policy, episode) is one task: sequentially pair by pair, or all pairs in one
    # fan-out when config.executor is a parallel one (Ray); the same run_jobs path either way
    pairs = [(sim, name) for sim in config.simulators for name in policies]
    parallel = config.executor is not None and config.executor.name != "sequential"
    for batch in [pairs] if parallel else [[p] for p in pairs]:
        for sim, name in batch:
            _log(f"evaluating {name} in {sim}: {config.episodes} episode(s) of {scenario.control.episode_steps} steps"
                 + (f" (on {config.executor.name})" if parallel else ""))
        groups = [episode_jobs(scenario, policies[name], sim, config.episodes, seed) for sim, name in batch]
        for (sim, name), results in zip(batch, run_jobs(groups, config.executor, out_csv=trace_csv)):
            data.traces.setdefault(sim, {})[name], data.rewards.setdefault(sim, {})[name] = _stack(results)

    if config.calibrate and {"litesim", "ns3"} <= set(config.simulators):
        _log("calibrating litesim against the ns-3 traces (fit on some policies and seeds, checked on the others)")
        result = calibrate_compare_data(scenario, data, seed, config.executor)
        (out / "calibration.json").write_text(json.dumps(data.calibration, indent=1))
        (out / "calibrated_scenario.json").write_text(result.scenario.to_json())
    report = write_report(out, scenario, data)
    for sim in data.traces:
        for name in data.traces[sim]:
            summary = summarise_arrays(data.traces[sim][name], data.rewards[sim][name], scenario)
            print(format_kpi_table(summary, scenario, title=f"{name} in {sim}") + "\n", flush=True)
    _log(f"report written: {report}")
    return report
