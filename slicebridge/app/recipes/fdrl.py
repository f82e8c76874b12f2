# SPDX-License-Identifier: GPL-2.0-only
"""FDRL (docs/RESEARCH.md, system 1): federated DQN per edge cell.

``slicebridge recipe fdrl [--out DIR] [--rounds N] ...`` (or ``run_recipe("fdrl", ...)``)
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.training import TrainConfig, cell_metrics
from slicebridge.app.evaluate import RandomPolicy
from slicebridge.app.recipes.common import SCENARIOS, as_scenario, greedy_episodes, method_config, smoothed, train_methods
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core

NAME = "fdrl"


@dataclass
class FdrlConfig:
    scenario: str | Path = SCENARIOS / "fdrl_10edge.yaml"
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


def _train_config(cfg: FdrlConfig, scenario: Scenario, method: str) -> TrainConfig:
    return method_config(scenario, method, "dqn", cfg.dqn, cfg.rounds * cfg.local_steps * cfg.num_envs, Path(cfg.out_dir) / method,
                          num_envs=cfg.num_envs, local_steps=cfg.local_steps, seed=cfg.seed, progress=cfg.progress,
                          fraction_fit=cfg.fraction_fit, proximal_mu=cfg.proximal_mu, net_arch=list(cfg.net_arch))


def _evaluate(scenario: Scenario, policy: Any, cfg: FdrlConfig) -> dict[str, float]:

    results = greedy_episodes(scenario, policy, cfg.eval_episodes, cfg.eval_seed)
    kpis = np.concatenate([r.kpis for r in results])  # [steps, C, S, 11]
    metrics = cell_metrics(kpis, RewardFunction(scenario))
    return {
        "reward": float(np.mean([r.rewards.mean() for r in results])),
        "utilisation": float(metrics["utilisation"].mean()),
        "satisfaction": float(metrics["satisfaction"].mean()),
    }


def run_fdrl(cfg: FdrlConfig, log: Callable[[str], None] = print) -> str:
    """Train and evaluate every method; returns the Markdown table (also written to out_dir)."""

    scenario = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs, times = train_methods({m: _train_config(cfg, scenario, m) for m in cfg.methods}, scenario, cfg.reuse, log, "fdrl",
                                 f"{cfg.rounds} rounds × {cfg.local_steps} steps × {cfg.num_envs} instances")
    finals = {m: float(np.mean([h["reward"] for h in r.history[-3:]])) for m, r in runs.items()}
    best = max(finals.values())
    target = best - 0.05 * abs(best)
    rows = []
    for method, res in runs.items():
        ev = _evaluate(scenario, res.policy, cfg)
        hit = np.flatnonzero(smoothed(res.history) >= target)
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




def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rounds", type=int, help="federation rounds (default 100)")
    p.add_argument("--local-steps", type=int, help="decision steps per round (default 50)")


def run(**kwargs: Any) -> str:
    return run_fdrl(FdrlConfig(**kwargs))
