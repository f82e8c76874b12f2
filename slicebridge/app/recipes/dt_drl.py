# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL (docs/RESEARCH.md, system 5): a learned twin cuts the real interactions a DQN needs.

``slicebridge recipe dt_drl [--out DIR] [--real-steps N] [--seeds K] [--no-ns3] ...`` runs, on
``scenarios/dt_drl_3slice.yaml`` (one cell, VoLTE/video/URLLC, absolute splits of 20 MHz on a 1 MHz
grid: 171 actions, reward α·SE + β·SSR):

1. litesim as the real system: DQN and DDQN (256-256-128-128), each with and without the learned
   twin (agents.dt_drl, the paper's Algorithm 1), ``seeds`` seeds each; the greedy policy is
   evaluated on the real system after every round of ``round_steps`` real interactions.
2. ns-3 as the real system (unless ``ns3=False``), one seed, a short budget: DDQN trained in ns-3
   alone, DDQN pre-trained in litesim then fine-tuned in ns-3 (slicebridge's own twin path), and DDQN
   with the learned twin fitted on ns-3's transitions.

Target reward: ``target_fraction`` of the best fixed split's reward on the same evaluation episode
(litesim: all 171 splits; ns-3: litesim's best three re-measured in ns-3). The ns-3 arms run in
a thread beside the litesim arms (they mostly wait on the ns-3 process). Interactions to target:
real interactions at the end of the first full window of 3 rounds whose mean greedy reward
reaches the target. Writes ``DIR/dt_drl.md`` (the tables), ``DIR/dt_drl.json`` (every curve),
``DIR/dt_drl_litesim.png`` and ``DIR/dt_drl_ns3.png`` (learning curves).

``--extensions`` runs instead the paper's extensions (distillation, conservative offline RL, loss
landscape; :mod:`slicebridge.app.recipes.dt_drl_extensions`) into ``DIR/dt_drl_extensions.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from slicebridge.agents.dt_drl import DtDrlConfig, train_dt_drl  # noqa: E402
from slicebridge.agents.twin import CellEnv  # noqa: E402
from slicebridge.app.recipes.common import SCENARIOS, as_scenario  # noqa: E402
from slicebridge.app.recipes.dt_drl_extensions import run_extensions  # noqa: E402
from slicebridge.bridge.scenario import Scenario  # noqa: E402

NAME = "dt_drl"
PAPER = {"ddqn": (1500, 1000)}  # rounds of 200 real interactions to reward 0.8, without / with the twin
PAPER_ROUND = 200


@dataclass
class DtDrlRecipeConfig:
    scenario: str | Path = SCENARIOS / "dt_drl_3slice.yaml"
    out_dir: Path = Path("runs/dt_drl")
    methods: tuple[str, ...] = ("dqn", "ddqn")
    seeds: int = 3
    seed: int = 0
    real_steps: int = 2000  # paper: up to 1500 rounds × 200
    round_steps: int = 200  # paper's round
    twin_steps: int = 300  # agent 2's twin steps per round
    eval_steps: int = 20
    target_fraction: float = 0.9
    window: int = 3  # rounds averaged for the target test
    ns3: bool = True
    ns3_real_steps: int = 100
    ns3_round_steps: int = 25
    ns3_eval_steps: int = 5
    ns3_pretrain_steps: int = 2000
    ns3_algorithm: str = "ddqn"
    progress: bool = True
    reuse: bool = False
    num_envs: int = 1  # accepted for the common CLI; one real instance per run
    agent: DtDrlConfig = field(default_factory=DtDrlConfig)
    # --extensions: distillation, offline RL, loss landscape (recipes/dt_drl_extensions.py) instead of the main runs
    extensions: bool = False
    ext_real_steps: int = 2000  # teachers' real interactions (as the main table)
    ext_distill_steps: int = 10_000  # the paper's 10,000 rounds
    ext_offline_epochs: int = 200  # the paper's
    ext_twin_extra: int = 1000  # twin-generated transitions added to the offline log
    ext_cql_alpha: float = 1.0
    ext_landscape_span: float = 1.0


def fixed_split_rewards(scenario: Scenario, simulator: str, steps: int, seed: int,
                        actions: list[int] | None = None) -> dict[int, float]:
    """Mean reward of holding each split ``actions`` (default: all) for ``steps`` steps from ``seed``."""
    env = CellEnv(scenario, simulator)
    try:
        out = {}
        for a in actions if actions is not None else range(env.action_space.n):
            env.reset(seed=seed)
            out[a] = float(np.mean([env.step(a)[1] for _ in range(steps)]))
        return out
    finally:
        env.close()


def random_reward(scenario: Scenario, steps: int, seed: int) -> float:
    env = CellEnv(scenario, "litesim")
    try:
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        return float(np.mean([env.step(int(rng.integers(env.action_space.n)))[1] for _ in range(steps)]))
    finally:
        env.close()


def smoothed_hit(curve: list[dict[str, float]], target: float, window: int) -> int | None:
    """Real interactions at the first round ending a full window of ``window`` rounds (the untrained start
    point excluded) whose mean greedy reward ≥ target."""
    rewards = np.array([p["reward"] for p in curve])
    for i in range(window, len(curve)):
        if rewards[i - window + 1:i + 1].mean() >= target:
            return int(curve[i]["real"])
    return None


def _run(cfg: DtDrlRecipeConfig, scenario: Scenario, name: str, agent: DtDrlConfig, real: str,
         log: Callable[[str], None]) -> dict[str, Any]:
    path = Path(cfg.out_dir) / "runs" / f"{name}.json"
    if cfg.reuse and path.is_file():
        log(f"[dt_drl] reusing {path}")
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    result = train_dt_drl(scenario, agent, real, log=log if cfg.progress else (lambda _m: None))
    result["wall_s"] = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result


def _fmt(values: list[int | None], total: int) -> str:
    reached = [v for v in values if v is not None]
    if not reached:
        return f"> {total} (0/{len(values)})"
    text = f"{np.mean(reached):.0f} ± {np.std(reached):.0f}" if len(reached) > 1 else f"{reached[0]}"
    return text + ("" if len(reached) == len(values) else f" ({len(reached)}/{len(values)} seeds; others > {total})")


def _plot(groups: dict[str, list[dict[str, Any]]], target: float, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, runs in groups.items():
        x = np.array([p["real"] for p in runs[0]["curve"]])
        y = np.array([[p["reward"] for p in r["curve"]] for r in runs])
        ax.plot(x, y.mean(axis=0), label=label)
        if len(runs) > 1:
            ax.fill_between(x, y.mean(axis=0) - y.std(axis=0), y.mean(axis=0) + y.std(axis=0), alpha=0.2)
    ax.axhline(target, color="k", ls="--", lw=0.8, label=f"target {target:.3f}")
    ax.set_xlabel("real interactions")
    ax.set_ylabel("greedy reward (α·SE + β·SSR)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_dt_drl(cfg: DtDrlRecipeConfig, log: Callable[[str], None] = print) -> str:
    """Every run of the recipe; returns the Markdown tables (also written to out_dir)."""
    t_start = time.perf_counter()
    scenario = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = replace(cfg.agent, real_steps=cfg.real_steps, round_steps=cfg.round_steps, twin_steps=cfg.twin_steps,
                   eval_steps=cfg.eval_steps)
    if cfg.extensions:
        return run_extensions(cfg, scenario, base, out, log)
    fixed = fixed_split_rewards(scenario, "litesim", cfg.eval_steps, base.eval_seed)
    best_action = max(fixed, key=fixed.get)
    target = cfg.target_fraction * fixed[best_action]
    summary: dict[str, Any] = {"target": target, "best_fixed": fixed[best_action]}
    # the ns-3 arms wait on ns-3 most of the time: they run in a thread beside the litesim arms
    pool = ThreadPoolExecutor(max_workers=1)
    ns3_lines = pool.submit(_ns3_section, cfg, scenario, base, fixed, out, summary, log) if cfg.ns3 else None
    runs: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for algo in cfg.methods:
        for twin in (False, True):
            runs[(algo, twin)] = [
                _run(cfg, scenario, f"litesim-{algo}-{'twin' if twin else 'real'}-s{cfg.seed + k}",
                     replace(base, algorithm=algo, twin=twin, seed=cfg.seed + k), "litesim", log)
                for k in range(cfg.seeds)]
    rand = random_reward(scenario, cfg.eval_steps, base.eval_seed)
    splits = CellEnv(scenario, "litesim")
    best_units = splits.env.core.actions.splits[best_action].tolist()
    splits.close()

    lines = [
        f"DT-DRL on `{scenario.name}`, litesim as the real system: {len(fixed)} absolute splits, agents "
        f"{list(base.net_arch)}, lr {base.algo_kwargs['learning_rate']}, γ {base.algo_kwargs['gamma']}; "
        f"{cfg.real_steps} real interactions in rounds of {cfg.round_steps}; twin: {cfg.twin_steps} agent-2 steps per round "
        f"(first fit after {base.twin_start} real transitions); {cfg.seeds} seeds from {cfg.seed}. Greedy evaluation: "
        f"{cfg.eval_steps} steps from seed {base.eval_seed}. Target {target:.3f} = {cfg.target_fraction:.0%} of the best fixed "
        f"split ({'/'.join(map(str, best_units))} MHz: {fixed[best_action]:.3f}); random policy {rand:.3f}.",
        "",
        f"| agent | twin | real interactions to target (mean ± sd) | rounds of {cfg.round_steps} | final greedy reward | "
        "twin steps | wall time / run |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    summary["random"] = rand
    for (algo, twin), rs in runs.items():
        hits = [smoothed_hit(r["curve"], target, cfg.window) for r in rs]
        finals = [np.mean([p["reward"] for p in r["curve"][-cfg.window:]]) for r in rs]
        reached = [h for h in hits if h is not None]
        rounds = f"{np.mean(reached) / cfg.round_steps:.1f}" if reached else "—"
        lines.append(f"| {algo} | {'yes' if twin else 'no'} | {_fmt(hits, cfg.real_steps)} | {rounds} | "
                     f"{np.mean(finals):.3f} ± {np.std(finals):.3f} | {rs[0]['curve'][-1]['twin_steps']} | "
                     f"{np.mean([r['wall_s'] for r in rs]):.0f} s |")
        summary[f"{algo}-{'twin' if twin else 'real'}"] = {"hits": hits, "finals": [float(f) for f in finals]}
    _plot({f"{a} {'+ twin' if t else 'alone'}": rs for (a, t), rs in runs.items()}, target,
          f"{scenario.name}: litesim as the real system, {cfg.seeds} seeds (mean ± sd)", out / "dt_drl_litesim.png")

    if "ddqn" in cfg.methods:
        ours = {t: [smoothed_hit(r["curve"], target, cfg.window) for r in runs[("ddqn", t)]] for t in (False, True)}
        lines += ["", "| DDQN, interactions to target | without twin | with twin | saving |", "|---|---:|---:|---:|",
                  f"| paper (reward 0.8, rounds × {PAPER_ROUND}) | {PAPER['ddqn'][0] * PAPER_ROUND} | "
                  f"{PAPER['ddqn'][1] * PAPER_ROUND} | {1 - PAPER['ddqn'][1] / PAPER['ddqn'][0]:.0%} |"]
        means = {t: (np.mean([h for h in v if h is not None]) if any(h is not None for h in v) else None) for t, v in ours.items()}
        saving = f"{1 - means[True] / means[False]:.0%}" if means[True] and means[False] else "—"
        lines.append(f"| ours (target {target:.3f}) | {_fmt(ours[False], cfg.real_steps)} | {_fmt(ours[True], cfg.real_steps)} | {saving} |")

    if ns3_lines is not None:
        lines += ["", *ns3_lines.result()]
    pool.shutdown()
    lines += ["", f"Recipe wall time: {time.perf_counter() - t_start:.0f} s."]
    table = "\n".join(lines) + "\n"
    (out / "dt_drl.md").write_text(table)
    (out / "dt_drl.json").write_text(json.dumps({"summary": summary, "litesim": {f"{a}-{t}": rs for (a, t), rs in runs.items()}},
                                                indent=1, default=float))
    return table


def _ns3_section(cfg: DtDrlRecipeConfig, scenario: Scenario, base: DtDrlConfig, fixed: dict[int, float], out: Path,
                 summary: dict[str, Any], log: Callable[[str], None]) -> list[str]:
    """ns-3 as the real system: alone, litesim pre-training + fine-tuning, learned twin."""
    top = sorted(fixed, key=fixed.get, reverse=True)[:3]
    ns3_fixed = fixed_split_rewards(scenario, "ns3", cfg.ns3_eval_steps, base.eval_seed, top)
    best = max(ns3_fixed, key=ns3_fixed.get)
    target = cfg.target_fraction * ns3_fixed[best]
    short = replace(base, algorithm=cfg.ns3_algorithm, real_steps=cfg.ns3_real_steps, round_steps=cfg.ns3_round_steps,
                    eval_steps=cfg.ns3_eval_steps, twin_start=2 * cfg.ns3_round_steps, eps_decay=cfg.ns3_real_steps,
                    algo_kwargs={**base.algo_kwargs, "learning_starts": min(base.algo_kwargs["learning_starts"], cfg.ns3_round_steps)})
    arms = {
        "ns-3 alone": replace(short, twin=False),
        f"litesim pre-training ({cfg.ns3_pretrain_steps} steps) → ns-3 fine-tuning": replace(
            short, twin=False, pretrain_simulator="litesim", pretrain_steps=cfg.ns3_pretrain_steps),
        "ns-3 + learned twin (Algorithm 1)": replace(short, twin=True),
    }
    results = {label: _run(cfg, scenario, f"ns3-{i}-{cfg.ns3_algorithm}-s{cfg.seed}", replace(a, seed=cfg.seed), "ns3", log)
               for i, (label, a) in enumerate(arms.items())}
    _plot({k: [v] for k, v in results.items()}, target, f"{scenario.name}: ns-3 as the real system ({cfg.ns3_algorithm}, 1 seed)",
          out / "dt_drl_ns3.png")
    lines = [
        f"ns-3 as the real system ({cfg.ns3_algorithm}, seed {cfg.seed}, one run per arm): {cfg.ns3_real_steps} ns-3 "
        f"interactions in rounds of {cfg.ns3_round_steps}, greedy evaluation {cfg.ns3_eval_steps} ns-3 steps from seed "
        f"{base.eval_seed}; target {target:.3f} = {cfg.target_fraction:.0%} of the best of litesim's top three splits "
        f"re-measured in ns-3 ({ns3_fixed[best]:.3f}).",
        "",
        "| arm | ns-3 interactions to target | greedy reward after each round | wall time |",
        "|---|---:|---|---:|",
    ]
    for label, r in results.items():
        hit = smoothed_hit(r["curve"], target, 1)
        rewards = ", ".join(f"{p['reward']:.3f}" for p in r["curve"])
        lines.append(f"| {label} | {hit if hit is not None else f'> {cfg.ns3_real_steps}'} | {rewards} | {r['wall_s']:.0f} s |")
        summary[f"ns3: {label}"] = {"hit": hit, "rewards": [p["reward"] for p in r["curve"]]}
    summary["ns3_target"] = target
    (out / "runs" / "ns3_results.json").write_text(json.dumps(results, indent=1))
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, help="seeds per litesim arm (default 3)")
    p.add_argument("--real-steps", type=int, help="real interactions per litesim run (default 2000)")
    p.add_argument("--round-steps", type=int, help="real interactions per round (default 200, the paper's)")
    p.add_argument("--twin-steps", type=int, help="agent-2 steps in the twin per round (default 300)")
    p.add_argument("--ns3-real-steps", type=int, help="ns-3 interactions per ns-3 arm (default 100)")
    p.add_argument("--ns3-pretrain-steps", type=int, help="litesim pre-training steps before ns-3 (default 2000)")
    p.add_argument("--no-ns3", dest="ns3", action="store_false", default=None, help="skip the ns-3 arms")
    p.add_argument("--extensions", action="store_true", default=None,
                   help="run only the extensions (distillation, offline RL, loss landscape) into dt_drl_extensions.md")
    p.add_argument("--ext-real-steps", type=int, help="real interactions per extension teacher (default 2000)")
    p.add_argument("--ext-distill-steps", type=int, help="distillation Adam steps (default 10,000, the paper's)")
    p.add_argument("--ext-offline-epochs", type=int, help="offline-RL epochs (default 200, the paper's)")
    p.add_argument("--ext-twin-extra", type=int, help="twin-generated transitions added to the offline log (default 1000)")
    p.add_argument("--ext-cql-alpha", type=float, help="weight of the conservative penalty (default 1.0)")


def run(**kwargs: Any) -> str:
    return run_dt_drl(DtDrlRecipeConfig(**kwargs))
