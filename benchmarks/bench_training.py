# SPDX-License-Identifier: GPL-2.0-only
"""Training speed side by side: the per-model lockstep path, batched PPO, and SB3 PPO on mobile-env.

Paths (federated PPO, FedAvg, on ``scenarios/default.yaml``: 3 cells × 10 UEs, one model per cell):

- ``per-model B=4``: ``engine="per_model"`` with ``slicebridge train``'s settings before issue 17
  (4 instances, a round and a PPO rollout every 64 steps, minibatch 64): one SB3 ``learn()`` per
  cell in lockstep threads — what ``slicebridge train default --algo ppo --mode federated`` ran;
- ``batched B=4``: ``engine="batched"`` with the same settings (the same models, to float rounding);
- ``batched (new defaults)``: ``training.throughput_settings`` (what ``slicebridge train`` and
  ``compare`` use now on litesim);
- ``SB3 PPO + mobile-env``: Stable-Baselines3 PPO with its defaults on mobile-env's
  ``mobile-small-central-v0`` (3 cells, 5 UEs; one central agent; needs the ``bench`` extra).

Speed part: the paths run in turn, ``--reps`` times, the order reversed every repetition, each for a
fixed budget; transitions/s = cell-transitions (one cell's observation → action → reward; mobile-env:
one env step of the central agent) per wall second of ``train()`` (set-up included); UE-transitions/s
= transitions/s × UEs behind one transition (10 per cell; mobile-env 5). The ratio of two paths is
the median over repetitions of their ratio within the repetition (the load of other jobs on this
2-core machine moves the absolute numbers; the load average is reported).

Reward part (``--parts reward``): the README main job's training (``compare``'s ``train`` call) before
(per-model, 16 instances, 50,000 steps per cell) and now (new defaults, same budget), with the time
to reach a fixed training reward (the mean reward of the last 50 core steps — one episode, so every
phase of the eMBB load cycle counts once — first at or above each of ``--targets``), the final training
reward and the reward of the trained policy evaluated deterministically in litesim as ``compare``
does (6 episodes, the run's seed). Seed 7 (the scenario's, what ``compare`` runs) is trained on both
engines and timed; the other ``--seeds`` show the spread of the rewards: there "before" is trained with
the batched engine at the old settings — the per-model path's models to float rounding
(``tests/test_batched_ppo.py``) in a third of its time — and is not timed.

Off-policy parts (``--parts dqn,td3`` and ``--parts sac``, their own sections of docs/BENCHMARKS.md): the
FDRL recipe's federated DQN on ``scenarios/fdrl_10edge.yaml``, and federated TD3 and SAC on the default
scenario as ``slicebridge train`` runs them (SAC also with 64-64 layers), each on the per-model path and
batched (``agents.batched_dqn``, ``agents.batched_td3``, ``agents.batched_sac``, the same models), side by
side as the speed part.

Usage: ``python benchmarks/bench_training.py [--parts speed,reward,dqn] [--reps 3] [--no-write]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slicebridge.agents.threads import torch_threads  # noqa: E402
from slicebridge.agents.training import TrainConfig, throughput_settings, train  # noqa: E402
from slicebridge.app.evaluate import evaluate  # noqa: E402
from slicebridge.app.recipes.common import method_config  # noqa: E402
from slicebridge.app.recipes.fdrl import FdrlConfig  # noqa: E402
from slicebridge.bridge.scenario import Scenario  # noqa: E402

from benchmarks.common import cpu_model, write_doc_section  # noqa: E402

SCENARIO = ROOT / "scenarios" / "default.yaml"
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before main() sets one
UES_PER_CELL = 10  # default.yaml: 4 + 3 + 3
MOBILE_ENV = "mobile-small-central-v0"
OLD_CLI = dict(num_envs=4, local_steps=64, engine="per_model")  # slicebridge train before issue 17
OLD_COMPARE = dict(num_envs=16, local_steps=64, engine="per_model")  # compare's training before issue 17


def _load() -> float:
    return os.getloadavg()[0]


def _config(settings: dict[str, Any], steps: int, seed: int | None = None) -> TrainConfig:
    s = dict(settings)
    return TrainConfig(scenario=Scenario.from_yaml(SCENARIO), algorithm="ppo", mode="federated", strategy="fedavg",
                       total_steps=steps, seed=seed, progress=False, tensorboard=False, **s)


def run_slicebridge(settings: dict[str, Any], steps: int, seed: int | None = None) -> dict[str, Any]:
    return run_config(_config(settings, steps, seed))


def run_config(cfg: TrainConfig) -> dict[str, Any]:
    """Train ``cfg``; wall time and (UE-)transitions per second (UEs: the scenario's per cell)."""
    sc = cfg.scenario
    ues_per_cell = sc.ues_per_cell
    t0, c0 = time.perf_counter(), time.process_time()
    res = train(cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    transitions = res.core_steps * cfg.num_envs * sc.n_cells
    return {"wall": wall, "cpu": cpu, "tps": transitions / wall, "tps_cpu": transitions / cpu, "ue_tps": transitions * ues_per_cell / wall,
            "result": res, "num_envs": cfg.num_envs}


def run_sb3_mobile_env(steps: int) -> dict[str, Any] | None:
    try:
        import gymnasium
        import mobile_env  # noqa: F401  (registers the envs)
    except ImportError:
        return None
    from stable_baselines3 import PPO

    env = gymnasium.make(MOBILE_ENV)
    ues = len(env.unwrapped.users)
    t0 = time.perf_counter()
    model = PPO("MlpPolicy", env, seed=0, device="cpu", verbose=0)
    model.learn(steps)
    wall = time.perf_counter() - t0
    env.close()
    return {"wall": wall, "tps": model.num_timesteps / wall, "ue_tps": model.num_timesteps * ues / wall, "ues": ues}



def speed_part(reps: int, scale: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    new = throughput_settings("litesim", "ppo")
    paths: list[tuple[str, Callable[[], dict[str, Any] | None]]] = [
        ("per-model B=4 (before)", lambda: run_slicebridge(OLD_CLI, int(3072 * scale))),
        ("batched B=4 (same settings)", lambda: run_slicebridge({**OLD_CLI, "engine": "batched"}, int(6144 * scale))),
        (f"batched B={new['num_envs']} (new defaults)", lambda: run_slicebridge(new, int(65536 * scale))),
        (f"SB3 PPO + mobile-env {MOBILE_ENV}", lambda: run_sb3_mobile_env(int(2048 * scale))),
    ]
    return side_by_side(paths, reps, "speed")


def side_by_side(paths: list[tuple[str, Callable[[], dict[str, Any] | None]]], reps: int, label: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the paths in turn ``reps`` times (the order reversed every repetition); per path the median
    transitions/s and its ratios to the first path and to the last (within each repetition)."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in paths}
    loads = [_load()]
    for rep in range(reps):
        order = paths if rep % 2 == 0 else paths[::-1]
        for name, fn in order:
            out = fn()
            if out is not None:
                out.pop("result", None)
                samples[name].append(out)
                print(f"[{label}] rep {rep}: {name}: {out['tps']:,.0f} transitions/s ({out['wall']:.1f} s wall, {out['cpu']:.1f} s CPU, "
                      f"load {_load():.1f})", flush=True)
        loads.append(_load())
    base, other = paths[0][0], paths[-1][0]
    rows = []
    for name, _ in paths:
        s = samples[name]
        if not s:
            continue
        ratios = [x["tps"] / b["tps"] for x, b in zip(s, samples[base])]
        cpu_ratios = [x["tps_cpu"] / b["tps_cpu"] for x, b in zip(s, samples[base])]
        ue_vs_other = [x["ue_tps"] / o["ue_tps"] for x, o in zip(s, samples[other])]
        rows.append({"path": name, "tps": float(np.median([x["tps"] for x in s])), "ue_tps": float(np.median([x["ue_tps"] for x in s])),
                     "ratio": float(np.median(ratios)), "ratios": ratios, "tps_cpu": float(np.median([x["tps_cpu"] for x in s])),
                     "cpu_ratio": float(np.median(cpu_ratios)), "cpu_ratios": cpu_ratios,
                     "ue_vs_other": float(np.median(ue_vs_other)) if ue_vs_other else float("nan"),
                     "tps_vs_other": float(np.median([x["tps"] / o["tps"] for x, o in zip(s, samples[other])])) if ue_vs_other else float("nan")})
    return rows, {"load_min": min(loads), "load_max": max(loads), "loads": loads}


def dqn_part(reps: int, scale: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The FDRL recipe's federated DQN (FedProx, half the clients per round, its DQN settings and layers)
    on ``scenarios/fdrl_10edge.yaml``: the per-model path against batched DQN, same settings."""
    fdrl = FdrlConfig()
    sc = Scenario.from_yaml(fdrl.scenario)

    def run(engine: str, steps: int, num_envs: int = fdrl.num_envs) -> dict[str, Any]:
        cfg = method_config(sc, "fedprox", "dqn", fdrl.dqn, steps, None, num_envs=num_envs, local_steps=fdrl.local_steps,
                            seed=sc.seed, progress=False, fraction_fit=fdrl.fraction_fit, proximal_mu=fdrl.proximal_mu,
                            net_arch=list(fdrl.net_arch))
        cfg.engine, cfg.tensorboard = engine, False
        return run_config(cfg)

    paths: list[tuple[str, Callable[[], dict[str, Any] | None]]] = [
        (f"per-model B={fdrl.num_envs} (before)", lambda: run("per_model", int(2000 * scale))),
        (f"batched B={fdrl.num_envs} (same settings, the default now)", lambda: run("batched", int(4000 * scale))),
        ("batched B=32 (more instances per step)", lambda: run("batched", int(16000 * scale), num_envs=32)),
    ]
    return side_by_side(paths, reps, "dqn")


def actor_critic_part(algorithm: str, reps: int, scale: float, net_arch: list[int] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Federated TD3 or SAC (FedAvg) as ``slicebridge train default --algo td3|sac`` runs it (4 instances, a round
    every 64 steps, SB3's settings; ``net_arch``: other layers) on ``scenarios/default.yaml``: the per-model
    path against batched TD3/SAC."""
    def run(engine: str, steps: int) -> dict[str, Any]:
        cfg = TrainConfig(scenario=Scenario.from_yaml(SCENARIO), algorithm=algorithm, mode="federated", strategy="fedavg", total_steps=steps,
                          progress=False, tensorboard=False, engine=engine, net_arch=net_arch)
        return run_config(cfg)

    name = algorithm.upper() + (f", layers {'-'.join(map(str, net_arch))}," if net_arch else "")
    paths: list[tuple[str, Callable[[], dict[str, Any] | None]]] = [
        (f"{name} per-model B=4 (before)", lambda: run("per_model", int(800 * scale))),
        (f"{name} batched B=4 (same settings, the default now)", lambda: run("batched", int(1600 * scale))),
    ]
    return side_by_side(paths, reps, algorithm)


def smoothed_curve(history: list[dict[str, Any]], episode_steps: int) -> list[tuple[float, float, int]]:
    """(elapsed s, mean reward over the last ``episode_steps`` core steps, core steps) per round end."""
    out = []
    for i, h in enumerate(history):
        steps, total, j = 0, 0.0, i
        while j >= 0 and steps < episode_steps:
            n = history[j]["core_steps"] - (history[j - 1]["core_steps"] if j > 0 else 0)
            total += history[j]["reward"] * n
            steps += n
            j -= 1
        if steps >= episode_steps:
            out.append((h["elapsed_s"], total / steps, h["core_steps"]))
    return out


def reward_part(targets: list[float], budget: int, seeds: list[int], reps: int = 1,
                cli_threads: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The timed seed's pair runs ``reps`` times, the order reversed every repetition (its rows: the first
    repetition's rewards, the median wall time; ``walls``: every repetition's). ``cli_threads``: the timed
    seed also runs the per-model path on torch's default thread count, as ``compare`` ran it before
    issue 17 (the command line now runs torch on one thread, ``agents.threads``)."""
    sc = Scenario.from_yaml(SCENARIO)
    new = throughput_settings("litesim", "ppo", fixed_budget=True)  # compare's training
    rows, loads = [], [_load()]
    for seed in seeds:
        timed = seed == sc.seed
        before = OLD_COMPARE if timed else {**OLD_COMPARE, "engine": "batched"}
        runs = [("before: " + ("per-model" if timed else "batched") + " B=16, SB3 settings", before, 1), (f"now: batched B={new['num_envs']}", new, 1)]
        if timed and cli_threads:  # compare before issue 17 left torch at its default thread count
            runs.insert(1, (f"before, as compare ran it: per-model B=16, torch's default {TORCH_DEFAULT_THREADS} threads", before, TORCH_DEFAULT_THREADS))
        walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        cpus: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        firsts: dict[str, dict[str, Any]] = {}
        for rep in range(reps if timed else 1):
            for name, settings, threads in (runs if rep % 2 == 0 else runs[::-1]):
                with torch_threads(threads):
                    out = run_slicebridge(settings, budget, seed)
                walls[name].append(out["wall"])
                cpus[name].append(out["cpu"])
                firsts.setdefault(name, out)
                print(f"[reward] seed {seed} rep {rep} {name}: {out['wall']:.1f} s wall, {out['cpu']:.1f} s CPU (load {_load():.1f})", flush=True)
        for name, _, _ in runs:
            out = firsts[name]
            out["wall"] = float(np.median(walls[name]))
            res = out["result"]
            curve = smoothed_curve(res.history, sc.control.episode_steps)
            episodes = evaluate(sc, res.policy, "litesim", episodes=6, seed=seed)
            reached = {}
            for tg in targets:
                hit = next(((t, cs * out["num_envs"]) for t, r, cs in curve if r >= tg), None)
                reached[tg] = hit
            rows.append({"seed": seed, "path": name, "timed": timed, "wall": out["wall"], "walls": walls[name], "cpus": cpus[name], "tps": out["tps"] * walls[name][0] / out["wall"],
                         "final_train_reward": curve[-1][1] if curve else float("nan"),
                         "eval_reward": float(np.mean([e.rewards.mean() for e in episodes])), "reached": reached})
            loads.append(_load())
            print(f"[reward] seed {seed} {name}: {rows[-1]}", flush=True)
    return rows, {"load_min": min(loads), "load_max": max(loads), "loads": loads}


#: batched-path settings tried for the main job's training (``--parts settings``); "before" is compare's
#: training before issue 17 (B = 16, SB3's PPO settings) on the batched engine, the per-model path's models
SETTINGS: dict[str, dict[str, Any]] = {
    "before": {**OLD_COMPARE, "engine": "batched"},
    "B256": dict(num_envs=256, local_steps=16, algo_kwargs={"batch_size": 512, "learning_rate": 1e-3}),
    "B128": dict(num_envs=128, local_steps=16, algo_kwargs={"batch_size": 256, "learning_rate": 1e-3}),
    "B64": dict(num_envs=64, local_steps=16, algo_kwargs={"batch_size": 128, "learning_rate": 1e-3}),
    "B256-mb128": dict(num_envs=256, local_steps=16, algo_kwargs={"batch_size": 128, "learning_rate": 1e-3}),
}
SETTINGS_RESULTS = ROOT / "docs" / "training-settings.jsonl"


def settings_part(budget: int, seeds: list[int], names: list[str], results: Path) -> list[dict[str, Any]]:
    """Train the main job's budget with each of ``SETTINGS[names]`` and "before" on every seed; evaluate as
    ``compare`` does. Records go to ``results`` (JSON lines) as they finish; a (seed, settings) pair already
    there is not run again, so the part can be continued with more seeds. All settings of one seed run in
    one process, so a seed's rows share the code and compare like with like."""
    sc = Scenario.from_yaml(SCENARIO)
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    done = {(r["seed"], r["settings"]) for r in records}
    for seed in seeds:
        for name in ["before", *names]:
            if (seed, name) in done:
                continue
            out = run_slicebridge(SETTINGS[name], budget, seed)
            curve = smoothed_curve(out["result"].history, sc.control.episode_steps)
            episodes = evaluate(sc, out["result"].policy, "litesim", episodes=6, seed=seed)
            rec = {"seed": seed, "settings": name, "budget": budget, "eval_reward": float(np.mean([e.rewards.mean() for e in episodes])),
                   "final_train_reward": curve[-1][1] if curve else float("nan"), "wall": out["wall"], "load": _load(),
                   "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
            records.append(rec)
            with results.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"[settings] {rec}", flush=True)
    return records


def settings_summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per settings: mean ± SE over seeds of the evaluated and training reward, and of the paired
    difference to "before" (seeds that have both)."""
    by = {(r["seed"], r["settings"]): r for r in records}
    out = []
    for name in SETTINGS:
        seeds = sorted(s for s, n in by if n == name)
        if not seeds:
            continue
        row: dict[str, Any] = {"settings": name, "seeds": seeds}
        for key in ("eval_reward", "final_train_reward"):
            x = np.array([by[s, name][key] for s in seeds])
            paired = np.array([by[s, name][key] - by[s, "before"][key] for s in seeds if (s, "before") in by])
            row[key] = (float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan"))
            row[key + "_diff"] = ((float(paired.mean()), float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(paired) > 1 else float("nan"))
                                  if len(paired) else (float("nan"), float("nan")))
        row["wins"] = sum(by[s, name]["eval_reward"] >= by[s, "before"]["eval_reward"] for s in seeds if (s, "before") in by)
        row["paired"] = sum((s, "before") in by for s in seeds)
        out.append(row)
    return out


def write_settings_doc(records: list[dict[str, Any]], args: argparse.Namespace) -> Path:
    rows = settings_summary(records)
    dates = sorted({r["date"] for r in records})
    loads = [r["load"] for r in records]
    lines = [
        "## training: settings for the main job",
        "",
        f"Measured {dates[0]} to {dates[-1]} on {cpu_model()}, {os.cpu_count()} cores shared with other engineers' jobs "
        f"(1-min load average {min(loads):.0f}-{max(loads):.0f}), torch {torch.__version__} (1 thread); command: "
        f"`python benchmarks/bench_training.py --parts settings --seeds {args.seeds} --candidates {args.candidates}` "
        f"(records in `{SETTINGS_RESULTS.relative_to(ROOT)}`, one line per seed and settings). The main job's training "
        f"(federated PPO, FedAvg, {args.budget:,} steps per cell on `scenarios/default.yaml`) with each setting on every seed, "
        "evaluated as `compare` does (deterministic policy, litesim, 6 episodes, the training seed). \"before\" is compare's "
        "training before issue 17 (16 instances, a round and a rollout every 64 steps, minibatches of 64, step size 3e-4), "
        "on the batched engine (the per-model path's models, `tests/test_batched_ppo.py`). PPO updates: rollouts (one update "
        "of 10 epochs each) in the budget. Means ± standard errors over seeds; the difference to \"before\" is paired by seed.",
        "",
        "| settings | instances, rollout steps, minibatch, step size | PPO updates | seeds | evaluated reward | vs before (paired) "
        "| seeds at or above before | training reward | vs before (paired) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        e, ed, t, td = r["eval_reward"], r["eval_reward_diff"], r["final_train_reward"], r["final_train_reward_diff"]
        st = SETTINGS[r["settings"]]
        kw = st.get("algo_kwargs", {})
        updates = int(np.ceil(np.ceil(args.budget / st["num_envs"]) / st["local_steps"]))
        lines.append(f"| {r['settings']} | {st['num_envs']}, {st['local_steps']}, {kw.get('batch_size', 64)}, {kw.get('learning_rate', 3e-4):g} "
                     f"| {updates} | {len(r['seeds'])} | {e[0]:.3f} ± {e[1]:.3f} | {ed[0]:+.3f} ± {ed[1]:.3f} | "
                     f"{r['wins']} of {r['paired']} | {t[0]:.3f} ± {t[1]:.3f} | {td[0]:+.3f} ± {td[1]:.3f} |")
    lines.append("")
    return write_doc_section("\n".join(lines))


def _fmt_loads(info: dict[str, Any]) -> str:
    return " / ".join(f"{x:.1f}" for x in info["loads"])


def write_doc(speed: tuple | None, reward: tuple | None, targets: list[float], args: argparse.Namespace) -> Path:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "## training" if speed is not None else "## training: the README main job",
        "",
        f"Measured {now} on {cpu_model()}, {os.cpu_count()} cores shared with other engineers' jobs, Python "
        f"{platform.python_version()}, torch {torch.__version__} (1 thread); command: "
        f"`python benchmarks/bench_training.py --parts {args.parts} --reps {args.reps} --seeds {args.seeds}`. Federated PPO (FedAvg, one model per "
        "cell) on `scenarios/default.yaml` (3 cells x 10 UEs). A transition is one cell's observation → action → reward "
        "(mobile-env: one step of its central agent); UE-transitions count the UEs behind it (10 per cell; mobile-env 5). "
        "Wall time of `train()` with set-up. The paths ran in turn in one process, the order reversed every repetition; "
        "ratios are medians of the ratios within a repetition, so they compare like with like under the same load.",
        "",
    ]
    if speed is not None:
        rows, info = speed
        lines += [f"Speed (1-min load average at each turn: {_fmt_loads(info)}):", "",
                  "| path | transitions/s | UE-transitions/s | vs per-model B=4 | ratios per repetition | "
                  "vs SB3 + mobile-env: transitions / UE-transitions |",
                  "| --- | ---: | ---: | ---: | --- | ---: |"]
        for r in rows:
            lines.append(f"| {r['path']} | {r['tps']:,.0f} | {r['ue_tps']:,.0f} | {r['ratio']:.1f}x | "
                         + ", ".join(f"{x:.1f}" for x in r["ratios"]) + f" | {r['tps_vs_other']:.1f}x / {r['ue_vs_other']:.1f}x |")
        lines.append("")
    if reward is not None:
        rows, info = reward
        lines += [f"The README main job's training part (`compare`: federated PPO, {args.budget:,} steps per cell; "
                  "time to a training reward (the mean over the last episode's 50 steps) first at or above each target, and "
                  "the transitions per cell it took; evaluation as `compare`: "
                  f"deterministic policy, litesim, 6 episodes, the training seed; load average {_fmt_loads(info)}):", "",
                  "| seed | training | wall s | transitions/s | " + " | ".join(f"reward ≥ {tg}: s (transitions per cell)" for tg in targets)
                  + " | final training reward | evaluated reward |",
                  "| ---: | --- | ---: | ---: | " + " | ".join("---:" for _ in targets) + " | ---: | ---: |"]
        for r in rows:
            hits = []
            for tg in targets:
                hit = r["reached"][tg]
                hits.append("not reached" if hit is None else (f"{hit[0]:.1f} ({hit[1]:,})" if r["timed"] else f"({hit[0]:.1f}) ({hit[1]:,})"))
            wall = (f"{r['wall']:.1f}" + (f" ({', '.join(f'{w:.0f}' for w in r['walls'])})" if len(r["walls"]) > 1 else "")) if r["timed"] \
                else f"({r['wall']:.1f})"
            lines.append(f"| {r['seed']} | {r['path']} | {wall} | {r['tps']:,.0f} | " + " | ".join(hits)
                         + f" | {r['final_train_reward']:.3f} | {r['eval_reward']:.3f} |")
        lines += ["", "Times in parentheses: runs not timed (the batched engine standing in for the per-model path, "
                      "or beside it), their seconds show the order, not the speed-up."]
        timed = [r for r in rows if r["timed"]]
        if len(timed) == 2:
            before = [r["eval_reward"] for r in rows if r["path"].startswith("before")]
            now = [r["eval_reward"] for r in rows if r["path"].startswith("now")]
            ratios = [b / n for b, n in zip(timed[0]["walls"], timed[1]["walls"])]
            cpu_ratios = [b / n for b, n in zip(timed[0]["cpus"], timed[1]["cpus"])]
            lines += ["", f"Training part {np.median(cpu_ratios):.1f}x less CPU time (" + ", ".join(f"{b:.0f} s vs {n:.0f} s" for b, n in
                          zip(timed[0]["cpus"], timed[1]["cpus"])) + f"), {np.median(ratios):.1f}x less wall time (median of the "
                          "repetitions' ratios " + ", ".join(f"{x:.1f}" for x in ratios) + "; under load the wall clock favours the "
                          f"per-model path's threads, see \"training: off-policy\"); seed {timed[0]['seed']}, the "
                          f"main job's); evaluated reward now {timed[1]['eval_reward']:.3f} vs {timed[0]['eval_reward']:.3f} before; "
                          f"mean over seeds {np.mean(now):.3f} now vs {np.mean(before):.3f} before."]
        lines.append("")
    return write_doc_section("\n".join(lines))


def write_offpolicy_doc(dqn: tuple | None, td3: tuple | None, args: argparse.Namespace) -> Path:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    fdrl = FdrlConfig()
    parts = ",".join(p for p, x in (("dqn", dqn), ("td3", td3)) if x is not None)
    lines = [
        "## training: off-policy (DQN, TD3)",
        "",
        f"Measured {now} on {cpu_model()}, {os.cpu_count()} cores shared with other engineers' jobs, Python "
        f"{platform.python_version()}, torch {torch.__version__} (1 thread); command: "
        f"`python benchmarks/bench_training.py --parts {parts} --reps {args.reps} --scale {args.scale}`. DQN: the FDRL recipe's federated DQN "
        f"(`scenarios/fdrl_10edge.yaml`: 10 cells, one model per cell; FedProx, half the clients per round, a round "
        f"every {fdrl.local_steps} steps; DQN batch {fdrl.dqn['batch_size']}, one gradient step every "
        f"{fdrl.dqn['train_freq']} steps, layers {list(fdrl.net_arch)}) on the per-model path (one SB3 `learn()` per cell in "
        "lockstep threads) and on batched DQN (`agents/batched_dqn.py`, the same models for the same seeds: "
        "`tests/test_batched_dqn.py`). TD3: federated TD3 (FedAvg) as `slicebridge train default --algo td3` runs it "
        "(`scenarios/default.yaml`, 4 instances, a round every 64 steps, SB3's TD3 settings: batch 256, one gradient step per "
        "step, layers 400-300) per model and batched (`agents/batched_td3.py`, `tests/test_batched_td3.py`). A transition is "
        "one cell's observation → action → reward. The paths of a part ran in turn in one process, the order reversed every "
        "repetition; ratios are medians of the ratios within a repetition. Under this load the wall-clock rate favours the "
        "per-model path: its lockstep threads hand the turn to a thread that has slept, which the Linux scheduler runs ahead "
        "of other processes' threads, while the batched path's one thread gets its fair share; the same litesim steps took "
        "equal CPU time on both paths but 2-6x the wall time on the batched one (measured by timing `SlicingCore.step`). "
        "So the cost is compared by CPU time (`time.process_time`, all threads of the process): transitions per CPU second.",
        "",
        *_offpolicy_table([p for p in (dqn, td3) if p is not None]),
    ]
    return write_doc_section("\n".join(lines))


def _offpolicy_table(parts: list[tuple[list[dict[str, Any]], dict[str, Any]]]) -> list[str]:
    """The off-policy sections' table: one row per path of each part."""
    lines = ["| path | transitions per CPU s | vs per-model (CPU) | CPU ratios per repetition | transitions per wall s | vs per-model (wall) "
             "| 1-min load average at each turn |",
             "| --- | ---: | ---: | --- | ---: | ---: | --- |"]
    for rows, info in parts:
        for r in rows:
            lines.append(f"| {r['path']} | {r['tps_cpu']:,.0f} | {r['cpu_ratio']:.1f}x | " + ", ".join(f"{x:.1f}" for x in r["cpu_ratios"])
                         + f" | {r['tps']:,.0f} | {r['ratio']:.1f}x | {_fmt_loads(info)} |")
    return lines + [""]


def write_sac_doc(parts: list[tuple[list[dict[str, Any]], dict[str, Any]]], args: argparse.Namespace) -> Path:
    """docs/BENCHMARKS.md "training: off-policy (SAC)": SB3's layers, then 64-64 (``--parts sac``)."""
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "## training: off-policy (SAC)",
        "",
        f"Measured {now} on {cpu_model()}, {os.cpu_count()} cores shared with other engineers' jobs, Python "
        f"{platform.python_version()}, torch {torch.__version__} (1 thread); command: "
        f"`python benchmarks/bench_training.py --parts sac --reps {args.reps} --scale {args.scale}`. Federated SAC (FedAvg) as "
        "`slicebridge train default --algo sac` runs it (`scenarios/default.yaml`, 4 instances, a round every 64 steps, SB3's "
        "SAC settings: batch 256, one gradient step per step, entropy coefficient learnt, layers 256-256), then the same with "
        "layers 64-64, each per model (one SB3 `learn()` per cell in lockstep threads) and batched (`agents/batched_sac.py`, "
        "the same models for the same seeds: `tests/test_batched_sac.py`). Method as in \"training: off-policy (DQN, TD3)\": "
        "the paths of a part in turn in one process, the order reversed every repetition, ratios the medians of the ratios "
        "within a repetition, the cost compared by transitions per CPU second (under load the wall clock favours the "
        "per-model path's threads).",
        "",
        *_offpolicy_table(parts),
    ]
    return write_doc_section("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="speed,reward", help="comma-separated: speed, reward, dqn, td3, sac, settings")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the speed part's turn")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the speed part's budgets (smaller: quicker, noisier)")
    ap.add_argument("--budget", type=int, default=50000, help="reward part: steps per cell (compare's default)")
    ap.add_argument("--targets", default="0.2,0.22", help="reward part: training rewards to reach (comma-separated)")
    ap.add_argument("--seeds", default="7,8,9", help="reward part: training seeds (7, the scenario's, is timed)")
    ap.add_argument("--candidates", default="B256,B128,B64", help=f"settings part: which of {list(SETTINGS)[1:]}")
    ap.add_argument("--results", default=str(SETTINGS_RESULTS), help="settings part: JSON-lines records (continued, not redone)")
    ap.add_argument("--cli-threads", action="store_true",
                    help="reward part: also time the per-model path on torch's default threads, as compare ran it before issue 17")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = ap.parse_args()
    torch.set_num_threads(1)
    parts = set(args.parts.split(","))
    speed = speed_part(args.reps, args.scale) if "speed" in parts else None
    targets = [float(x) for x in args.targets.split(",")]
    reward = reward_part(targets, args.budget, [int(x) for x in args.seeds.split(",")], args.reps, args.cli_threads) if "reward" in parts else None
    dqn = dqn_part(args.reps, args.scale) if "dqn" in parts else None
    td3 = actor_critic_part("td3", args.reps, args.scale) if "td3" in parts else None
    sac = [actor_critic_part("sac", args.reps, args.scale, arch) for arch in (None, [64, 64])] if "sac" in parts else []
    tried = settings_part(args.budget, [int(x) for x in args.seeds.split(",")], args.candidates.split(","), Path(args.results)) \
        if "settings" in parts else None
    if not args.no_write:
        if speed is not None or reward is not None:
            print(f"written: {write_doc(speed, reward, targets, args)}")
        if dqn is not None or td3 is not None:
            print(f"written: {write_offpolicy_doc(dqn, td3, args)}")
        if sac:
            print(f"written: {write_sac_doc(sac, args)}")
        if tried is not None:
            print(f"written: {write_settings_doc(tried, args)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
