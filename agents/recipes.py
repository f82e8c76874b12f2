"""Runnable recipes reproducing the research systems (RESEARCH.md) — one command, one table.

``python -m agents.recipes fdrl [--out DIR] [--rounds N] ...`` (or ``run_recipe("fdrl", ...)``)
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

from agents.training import RunResult, TrainConfig, cell_metrics, train
from bridge.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


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


def _train_config(cfg: FdrlConfig, scenario: Scenario, method: str) -> TrainConfig:
    """``method``: centralised, independent, or a federation strategy with an optional update codec
    after a dash (``fedavg``, ``fedprox``, ``fedavg-int8``, ``fedavg-fp16``, ...)."""
    algo = dict(cfg.dqn)
    strategy, _, codec = method.partition("-")
    mode = method if method in ("centralised", "independent") else "federated"
    if mode == "centralised":
        # one learner sees every cell's transitions: as many gradient steps as the C learners together
        algo["gradient_steps"] = algo.get("gradient_steps", 1) * scenario.n_cells
    total = cfg.rounds * cfg.local_steps * cfg.num_envs
    return TrainConfig(
        scenario=scenario, simulator="litesim", algorithm="dqn", mode=mode, strategy=strategy if mode == "federated" else "fedavg",
        codec=codec or "none",
        total_steps=total, num_envs=cfg.num_envs, local_steps=cfg.local_steps, fraction_fit=cfg.fraction_fit,
        proximal_mu=cfg.proximal_mu, seed=cfg.seed, algo_kwargs=algo, net_arch=list(cfg.net_arch),
        run_dir=Path(cfg.out_dir) / method, progress=cfg.progress,
    )


def _evaluate(scenario: Scenario, policy: Any, cfg: FdrlConfig) -> dict[str, float]:
    from bridge.evaluate import evaluate
    from bridge.reward import RewardFunction

    results = evaluate(scenario, policy, "litesim", episodes=cfg.eval_episodes, seed=cfg.eval_seed)
    kpis = np.concatenate([r.kpis for r in results])  # [steps, C, S, 11]
    metrics = cell_metrics(kpis, RewardFunction(scenario))
    return {
        "reward": float(np.mean([r.rewards.mean() for r in results])),
        "utilisation": float(metrics["utilisation"].mean()),
        "satisfaction": float(metrics["satisfaction"].mean()),
    }


def _finished_run(run_dir: Path, scenario: Scenario) -> RunResult:
    from agents.policy import load_policy

    policy = load_policy(run_dir, scenario)
    history = json.loads((run_dir / "history.json").read_text())
    return RunResult(run_dir, policy, history, float(policy.meta.get("wall_time_s", float("nan"))), int(policy.meta.get("core_steps", 0)))


def _smoothed(history: list[dict[str, Any]], width: int = 3) -> np.ndarray:
    r = np.array([h["reward"] for h in history])
    return np.array([r[max(0, i - width + 1) : i + 1].mean() for i in range(len(r))])


def run_fdrl(cfg: FdrlConfig, log: Callable[[str], None] = print) -> str:
    """Train and evaluate every method; returns the Markdown table (also written to out_dir)."""
    from bridge.envs import make_core
    from bridge.evaluate import RandomPolicy

    scenario = Scenario.from_yaml(cfg.scenario) if not isinstance(cfg.scenario, Scenario) else cfg.scenario
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, RunResult] = {}
    times: dict[str, float] = {}
    for method in cfg.methods:
        tc = _train_config(cfg, scenario, method)
        if cfg.reuse and (Path(tc.run_dir) / "history.json").is_file():
            log(f"[fdrl] reusing the finished run in {tc.run_dir}")
            runs[method] = _finished_run(Path(tc.run_dir), scenario)
            times[method] = runs[method].wall_time_s
            continue
        log(f"[fdrl] training {method} ({cfg.rounds} rounds × {cfg.local_steps} steps × {cfg.num_envs} instances)")
        t0 = time.perf_counter()
        runs[method] = train(tc)
        times[method] = runs[method].wall_time_s if runs[method].resumed_round is not None else time.perf_counter() - t0
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


RECIPES: dict[str, Callable[..., str]] = {"fdrl": lambda **kw: run_fdrl(FdrlConfig(**kw))}


def run_recipe(name: str, **kwargs: Any) -> str:
    """Run recipe ``name`` with ``FdrlConfig``-style keyword overrides; returns its Markdown table."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; allowed: {sorted(RECIPES)}")
    return RECIPES[name](**kwargs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents.recipes", description="Reproduce a research system (RESEARCH.md).")
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("--out", default="runs/fdrl", help="output directory (runs, fdrl.md table)")
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--local-steps", type=int, default=50)
    p.add_argument("--num-envs", type=int, default=4)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--methods", default="fedavg,fedprox,centralised,independent")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--reuse", action="store_true", help="reuse finished runs found in --out (re-evaluate, rebuild the table)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    table = run_recipe(args.recipe, out_dir=Path(args.out), rounds=args.rounds, local_steps=args.local_steps, num_envs=args.num_envs,
                       seed=args.seed, methods=tuple(args.methods.split(",")), progress=not args.no_progress, reuse=args.reuse)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
