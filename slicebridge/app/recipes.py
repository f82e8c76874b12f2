"""Runnable recipes reproducing the research systems (docs/RESEARCH.md) — one command, one table.

``python -m slicebridge.app.recipes fdrl [--out DIR] [--rounds N] ...`` (or ``run_recipe("fdrl", ...)``)
reproduces system 1 (FDRL) on ``scenarios/fdrl_10edge.yaml`` in litesim: DQN per edge cell trained
four ways — FedAvg, FedProx (μ = 0.1), centralised (one DQN on all cells' data) and independent (no
sharing) — then every final policy, plus the random policy and the equal-shares baseline, is
evaluated greedily on fixed seeds. The Markdown table (also written to ``DIR/fdrl.md``) has:

- reward: mean per-cell reward α·U − β·C of the evaluation episodes;
- utilisation: mean PRB share used per cell (%), satisfaction: FDRL's U, mean over slices with
  traffic of min(delivered/offered, 1) (%);
- rounds to target: first round whose training reward (mean of a 3-round moving window) reaches
  95 % of the best final training reward of the four methods (rounds = windows of ``local_steps``
  decision steps for the non-federated methods too);
- bytes/round: model bytes up + down per round (federated), raw transitions shipped to the central
  learner (centralised, float32), nothing (independent);
- training time (wall clock).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.baselines import ProportionalShares
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import RunResult, TrainConfig, cell_metrics, train
from slicebridge.app.evaluate import BaselinePolicy, RandomPolicy, evaluate, run_episode
from slicebridge.bridge import kpi as K
from slicebridge.bridge.backend import DemandOracle
from slicebridge.bridge.reward import RewardFunction, ratio_or_one
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FdrlConfig:
    scenario: str | Path = ROOT / "scenarios" / "fdrl_10edge.yaml"
    out_dir: Path = Path("runs/fdrl")
    rounds: int = 100  # paper: 100 rounds
    local_steps: int = 50  # decision steps per round and instance
    num_envs: int = 4
    fraction_fit: float = 0.5  # paper: client fraction 0.5
    proximal_mu: float = 0.1  # paper: FedProx μ 0.1
    seed: int = 11
    eval_episodes: int = 2
    eval_seed: int = 1000
    methods: tuple[str, ...] = ("fedavg", "fedprox", "centralised", "independent")
    progress: bool = True
    reuse: bool = False  # take finished runs (history.json + policy/) from out_dir instead of training
    dqn: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.99, buffer_size=20000, learning_starts=200, batch_size=64, train_freq=4,
        gradient_steps=1, target_update_interval=500, exploration_fraction=0.2, exploration_initial_eps=1.0,
        exploration_final_eps=0.1,
    ))
    net_arch: tuple[int, ...] = (64, 32)  # paper: hidden 64 and 32


def _method_config(scenario: Scenario, method: str, algorithm: str, algo_kwargs: dict[str, Any], total_steps: int,
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


def _train_config(cfg: FdrlConfig, scenario: Scenario, method: str) -> TrainConfig:
    return _method_config(scenario, method, "dqn", cfg.dqn, cfg.rounds * cfg.local_steps * cfg.num_envs, Path(cfg.out_dir) / method,
                          num_envs=cfg.num_envs, local_steps=cfg.local_steps, seed=cfg.seed, progress=cfg.progress,
                          fraction_fit=cfg.fraction_fit, proximal_mu=cfg.proximal_mu, net_arch=list(cfg.net_arch))


def _episodes(scenario: Scenario, policy: Any, episodes: int, seed: int) -> list[Any]:
    """Greedy evaluation episodes in litesim. ``policy``: a Policy, a baseline name, or a factory
    ``core -> Policy`` (for policies that need the simulator itself, e.g. its demand oracle)."""

    if not callable(policy) or hasattr(policy, "act"):
        return evaluate(scenario, policy, "litesim", episodes=episodes, seed=seed)
    core = make_core(scenario, "litesim", num_envs=1, seed=seed)
    try:
        pol = policy(core)
        return [run_episode(core, pol, seed + ep) for ep in range(episodes)]
    finally:
        core.close()


def _evaluate(scenario: Scenario, policy: Any, cfg: FdrlConfig) -> dict[str, float]:

    results = _episodes(scenario, policy, cfg.eval_episodes, cfg.eval_seed)
    kpis = np.concatenate([r.kpis for r in results])  # [steps, C, S, 11]
    metrics = cell_metrics(kpis, RewardFunction(scenario))
    return {
        "reward": float(np.mean([r.rewards.mean() for r in results])),
        "utilisation": float(metrics["utilisation"].mean()),
        "satisfaction": float(metrics["satisfaction"].mean()),
    }


def _load_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else Scenario.from_yaml(scenario)


def _finished_run(run_dir: Path, scenario: Scenario) -> RunResult:

    policy = load_policy(run_dir, scenario)
    history = json.loads((run_dir / "history.json").read_text())
    return RunResult(run_dir, policy, history, float(policy.meta.get("wall_time_s", float("nan"))), int(policy.meta.get("core_steps", 0)))


def _smoothed(history: list[dict[str, Any]], width: int = 3) -> np.ndarray:
    r = np.array([h["reward"] for h in history])
    return np.array([r[max(0, i - width + 1) : i + 1].mean() for i in range(len(r))])


def _train_methods(configs: dict[str, TrainConfig], scenario: Scenario, reuse: bool, log: Callable[[str], None], tag: str,
                   budget: str) -> tuple[dict[str, RunResult], dict[str, float]]:
    """Train every method's config (or, with ``reuse``, load its finished run); returns runs and wall times."""
    runs: dict[str, RunResult] = {}
    times: dict[str, float] = {}
    for method, tc in configs.items():
        if reuse and (Path(tc.run_dir) / "history.json").is_file():
            log(f"[{tag}] reusing the finished run in {tc.run_dir}")
            runs[method] = _finished_run(Path(tc.run_dir), scenario)
            times[method] = runs[method].wall_time_s
            continue
        log(f"[{tag}] training {method} ({budget})")
        t0 = time.perf_counter()
        runs[method] = train(tc)
        times[method] = runs[method].wall_time_s if runs[method].resumed_round is not None else time.perf_counter() - t0
    return runs, times


def run_fdrl(cfg: FdrlConfig, log: Callable[[str], None] = print) -> str:
    """Train and evaluate every method; returns the Markdown table (also written to out_dir)."""

    scenario = _load_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs, times = _train_methods({m: _train_config(cfg, scenario, m) for m in cfg.methods}, scenario, cfg.reuse, log, "fdrl",
                                 f"{cfg.rounds} rounds × {cfg.local_steps} steps × {cfg.num_envs} instances")
    finals = {m: float(np.mean([h["reward"] for h in r.history[-3:]])) for m, r in runs.items()}
    best = max(finals.values())
    target = best - 0.05 * abs(best)
    rows = []
    for method, res in runs.items():
        ev = _evaluate(scenario, res.policy, cfg)
        hit = np.flatnonzero(_smoothed(res.history) >= target)
        bytes_round = res.summary()["bytes_per_round"]
        rows.append((method, ev, str(int(hit[0]) + 1) if hit.size else f"> {len(res.history)}", bytes_round, times[method]))
    refs = {"random": RandomPolicy(make_core(scenario, "litesim", seed=cfg.seed), cfg.seed), "baseline equal": "equal"}
    for name, pol in refs.items():
        try:
            rows.append((name, _evaluate(scenario, pol, cfg), "—", None, None))
        except Exception as exc:  # a reference row must not cost the trained runs' table
            log(f"[fdrl] reference {name!r} skipped: {exc!r}")
    lines = [
        f"FDRL on `{scenario.name}` (litesim): {scenario.n_cells} edge cells, DQN {list(cfg.net_arch)}, {cfg.rounds} rounds × "
        f"{cfg.local_steps} steps × {cfg.num_envs} instances, client fraction {cfg.fraction_fit}, FedProx μ {cfg.proximal_mu}, "
        f"seed {cfg.seed}; evaluation: {cfg.eval_episodes} greedy episodes from seed {cfg.eval_seed}; target reward {target:.3f} "
        f"(95 % of the best final training reward).",
        "",
        "| method | eval reward | resource utilisation | satisfaction | rounds to target | bytes / round | training time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for method, ev, rounds, nbytes, seconds in rows:
        b = "—" if nbytes is None else ("0" if nbytes == 0 else f"{nbytes / 1e6:.3f} MB")
        s = "—" if seconds is None else f"{seconds:.0f} s"
        lines.append(f"| {method} | {ev['reward']:.3f} | {100 * ev['utilisation']:.1f} % | {100 * ev['satisfaction']:.1f} % | {rounds} | {b} | {s} |")
    table = "\n".join(lines) + "\n"
    (out / "fdrl.md").write_text(table)
    (out / "fdrl.json").write_text(json.dumps({m: r.history for m, r in runs.items()}, indent=1, default=str))
    return table


@dataclass
class TlMadrlConfig:
    scenario: str | Path = ROOT / "scenarios" / "tl_madrl_12cell.yaml"
    out_dir: Path = Path("runs/tl_madrl")
    steps: int = 8500  # transitions per cell (paper: 3000 exploration + 5500 training)
    explore: int = 3000  # of which random exploration before learning starts (paper: 3000)
    num_envs: int = 4
    local_steps: int = 25  # decision steps between FedAvg rounds (federated method)
    seed: int = 4
    eval_episodes: int = 5  # × 50 steps = 250 evaluation steps, as the paper
    eval_seed: int = 1000
    methods: tuple[str, ...] = ("independent", "fedavg")
    baselines: bool = True  # add the proportional (demand oracle) and equal-shares rows
    progress: bool = True
    reuse: bool = False
    threshold: float = 0.95  # throughput-satisfaction threshold of the "samples under" column
    td3: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.1, batch_size=32, buffer_size=50000, train_freq=1, action_noise=0.1,
        gradient_steps=-1,  # one update per transition (num_envs updates per batched step)
        policy_kwargs=dict(net_arch=dict(pi=[48, 24], qf=[64, 24])),  # paper: actor (48, 24), critic (64, 24)
    ))


def oracle_proportional(scenario: Scenario) -> Callable[[Any], Any]:
    """Policy factory ``core -> Policy``: ``agents.baselines.ProportionalShares`` fed by litesim's
    ``offered_load_mbps`` (the coming period's offered load: perfect demand knowledge)."""

    def make(core: Any) -> BaselinePolicy:
        if not isinstance(core.backend, DemandOracle):
            raise ValueError(f"the oracle baseline needs a simulator that knows the coming demand (DemandOracle); "
                             f"{type(core.backend).__name__} does not: evaluate it in litesim")
        return BaselinePolicy("proportional (oracle)", ProportionalShares(scenario, demand=core.backend.offered_load_mbps), scenario)

    return make


def tl_madrl_metrics(results: list[Any], scenario: Scenario, threshold: float = 0.95) -> dict[str, float]:
    """The paper's metrics over evaluation episodes (KPIs ``[steps, C, S, 11]`` each)."""

    rf = RewardFunction(scenario)
    kpis = np.concatenate([r.kpis for r in results])
    thr_sat = np.minimum(ratio_or_one(kpis[..., K.THROUGHPUT], np.minimum(rf.thr_sla * kpis[..., K.ACTIVE_UES], kpis[..., K.OFFERED])), 1.0)
    delay = kpis[..., K.DELAY_MEAN]
    delivered = kpis[..., K.THROUGHPUT] > 0  # a period with nothing delivered reports delay 0
    per_slice_delay = np.where(delivered, delay, 0.0).sum(axis=(0, 1)) / np.maximum(delivered.sum(axis=(0, 1)), 1)
    return {
        "satisfaction": float(rf.satisfaction(kpis).mean()),
        "under": float((thr_sat < threshold).mean()),
        "max_delay": float(per_slice_delay.max()),
        "reward": float(np.mean([r.rewards.mean() for r in results])),
    }


def run_tl_madrl(cfg: TlMadrlConfig, log: Callable[[str], None] = print) -> str:
    """Per-cell TD3 trained independently and with FedAvg (the non-transfer part of TL-MADRL), against
    the traffic-proportional baseline with perfect demand knowledge and equal shares."""
    scenario = _load_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    algo = {**cfg.td3, "learning_starts": cfg.explore}
    configs = {m: _method_config(scenario, m, "td3", algo, cfg.steps, out / m, num_envs=cfg.num_envs, local_steps=cfg.local_steps,
                                 seed=cfg.seed, progress=cfg.progress) for m in cfg.methods}
    runs, times = _train_methods(configs, scenario, cfg.reuse, log, "tl_madrl",
                                 f"{cfg.steps} transitions per cell, {cfg.explore} exploring, {cfg.num_envs} instances")
    policies: dict[str, Any] = {f"TD3 {m}": r.policy for m, r in runs.items()}
    if cfg.baselines:
        policies["proportional (oracle)"] = oracle_proportional(scenario)
        policies["equal"] = "equal"
    rows = [(name, tl_madrl_metrics(_episodes(scenario, pol, cfg.eval_episodes, cfg.eval_seed), scenario, cfg.threshold),
             times.get(name.removeprefix("TD3 "))) for name, pol in policies.items()]
    arch = cfg.td3.get("policy_kwargs", {}).get("net_arch")
    lines = [
        f"TL-MADRL without transfer on `{scenario.name}` (litesim): {scenario.n_cells} cells × {scenario.n_slices} slices, TD3 per cell "
        f"{arch}, lr {cfg.td3['learning_rate']}, batch {cfg.td3['batch_size']}, γ {cfg.td3['gamma']}; {cfg.steps} transitions per cell "
        f"({cfg.explore} random exploration) over {cfg.num_envs} batched instances, FedAvg every {cfg.local_steps} decision steps, "
        f"seed {cfg.seed}; evaluation: {cfg.eval_episodes} greedy episodes × {scenario.control.episode_steps} steps from seed {cfg.eval_seed}.",
        "",
        f"| method | mean satisfaction | samples under {cfg.threshold} throughput satisfaction | max per-slice mean delay | mean reward | training time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m, seconds in rows:
        t = "—" if seconds is None else f"{seconds:.0f} s"
        lines.append(f"| {name} | {m['satisfaction']:.3f} | {100 * m['under']:.1f} % | {m['max_delay']:.2f} ms | {m['reward']:.3f} | {t} |")
    table = "\n".join(lines) + "\n"
    (out / "tl_madrl.md").write_text(table)
    (out / "tl_madrl.json").write_text(json.dumps({"metrics": {n: m for n, m, _ in rows}, "history": {m: r.history for m, r in runs.items()}},
                                                  indent=1, default=str))
    return table


RECIPES: dict[str, Callable[..., str]] = {
    "fdrl": lambda **kw: run_fdrl(FdrlConfig(**kw)),
    "tl_madrl": lambda **kw: run_tl_madrl(TlMadrlConfig(**kw)),
}
# CLI options each recipe takes (option dest -> config field); --out, --seed, --methods, --num-envs,
# --no-progress and --reuse are common
_RECIPE_OPTIONS: dict[str, tuple[str, ...]] = {"fdrl": ("rounds", "local_steps"), "tl_madrl": ("steps", "explore", "local_steps", "eval_episodes")}


def run_recipe(name: str, **kwargs: Any) -> str:
    """Run recipe ``name`` with config keyword overrides (``FdrlConfig``, ``TlMadrlConfig``); returns its Markdown table."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; allowed: {sorted(RECIPES)}")
    return RECIPES[name](**kwargs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m slicebridge.app.recipes", description="Reproduce a research system (docs/RESEARCH.md).")
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("--out", help="output directory (runs, NAME.md table); default runs/NAME")
    p.add_argument("--num-envs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--methods", help="comma-separated (fdrl: fedavg,fedprox,centralised,independent; tl_madrl: independent,fedavg)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--reuse", action="store_true", help="reuse finished runs found in --out (re-evaluate, rebuild the table)")
    p.add_argument("--rounds", type=int, help="fdrl: federation rounds (default 100)")
    p.add_argument("--local-steps", type=int, help="decision steps per round (fdrl 50, tl_madrl 25)")
    p.add_argument("--steps", type=int, help="tl_madrl: transitions per cell (default 8500)")
    p.add_argument("--explore", type=int, help="tl_madrl: random exploration transitions per cell (default 3000)")
    p.add_argument("--eval-episodes", type=int, help="tl_madrl: evaluation episodes of 50 steps (default 5)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    kw: dict[str, Any] = {"out_dir": Path(args.out or f"runs/{args.recipe}"), "progress": not args.no_progress, "reuse": args.reuse}
    if args.methods:
        kw["methods"] = tuple(args.methods.split(","))
    for dest in ("num_envs", "seed", *_RECIPE_OPTIONS[args.recipe]):
        if getattr(args, dest) is not None:
            kw[dest] = getattr(args, dest)
    given = [d for opts in _RECIPE_OPTIONS.values() for d in opts if d not in _RECIPE_OPTIONS[args.recipe] and getattr(args, d) is not None]
    if given:
        p.error(f"recipe {args.recipe} takes no {', '.join('--' + d.replace('_', '-') for d in given)}")
    print(run_recipe(args.recipe, **kw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
