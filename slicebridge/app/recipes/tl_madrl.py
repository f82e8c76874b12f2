# SPDX-License-Identifier: GPL-2.0-only
"""TL-MADRL (docs/RESEARCH.md, system 4) without transfer: TD3 per cell, independent and FedAvg."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.app.recipes.common import (
    SCENARIOS,
    as_scenario,
    greedy_episodes,
    method_config,
    oracle_proportional,
    train_methods,
)
from slicebridge.bridge import kpi as K
from slicebridge.bridge.reward import RewardFunction, ratio_or_one
from slicebridge.bridge.scenario import Scenario

NAME = "tl_madrl"


@dataclass
class TlMadrlConfig:
    scenario: str | Path = SCENARIOS / "tl_madrl_12cell.yaml"
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
    scenario = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    algo = {**cfg.td3, "learning_starts": cfg.explore}
    configs = {m: method_config(scenario, m, "td3", algo, cfg.steps, out / m, num_envs=cfg.num_envs, local_steps=cfg.local_steps,
                                 seed=cfg.seed, progress=cfg.progress) for m in cfg.methods}
    runs, times = train_methods(configs, scenario, cfg.reuse, log, "tl_madrl",
                                 f"{cfg.steps} transitions per cell, {cfg.explore} exploring, {cfg.num_envs} instances")
    policies: dict[str, Any] = {f"TD3 {m}": r.policy for m, r in runs.items()}
    if cfg.baselines:
        policies["proportional (oracle)"] = oracle_proportional(scenario)
        policies["equal"] = "equal"
    rows = [(name, tl_madrl_metrics(greedy_episodes(scenario, pol, cfg.eval_episodes, cfg.eval_seed), scenario, cfg.threshold),
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="transitions per cell (default 8500)")
    p.add_argument("--explore", type=int, help="random exploration transitions per cell (default 3000)")
    p.add_argument("--local-steps", type=int, help="decision steps between FedAvg rounds (default 25)")
    p.add_argument("--eval-episodes", type=int, help="evaluation episodes of 50 steps (default 5)")


def run(**kwargs: Any) -> str:
    return run_tl_madrl(TlMadrlConfig(**kwargs))
