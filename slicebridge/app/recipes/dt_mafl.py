# SPDX-License-Identifier: GPL-2.0-only
"""DT-MAFL (docs/RESEARCH.md, system 2): a graph-attention demand twin and federated per-slice DDPG.

``slicebridge recipe dt_mafl [--out DIR] [--plots-dir DIR] [--episodes N] ...`` runs on
``scenarios/dt_mafl_6slice.yaml`` (1 cell, 6 IoT slices, demand correlated across slices):

1. Demand twins. Demand = each slice's needed PRB share per 100 ms period, measured in litesim on
   ``twin_paths`` training draws of the scenario's latent load process (users per slice cycling
   through the sweep) and on a held-out draw. GAT (learned adjacency), LSTM, ARIMA (statsmodels)
   and persistence forecast one step ahead from the last ``window`` periods; table: RMSE per method.
2. Agents, trained in litesim on one draw of the load process (100 devices per slice), for each seed:
   ``dt_mafl`` per-slice DDPG (state [demand, twin's forecast, share], action ±50 % of the slice's
   share, reward Λ·Ω + μ·Σ_u sigmoid) averaged by FedAvg every ``tau`` steps with weights |D_m|/|D|;
   ``fl_no_twin`` the same with persistence as the forecast; ``madqn`` independent per-slice DQN
   (−20 / 0 / +20 %) with the twin. Non-learning: ``netshare`` (centralised, shares ∝ the needed
   PRBs of the last period) and ``equal`` (static equal split).
3. Sweep: every final policy on a held-out draw at each users-per-slice value (litesim, greedy,
   ``eval_episodes`` episodes per seed): reward (mean per-slice reward), utilisation (PRB share used),
   QoS satisfaction (share of slice-periods whose SLA satisfaction reaches 0.95); mean ± sd over seeds.
4. ns-3: the seed-``seed`` policies and the baselines on the held-out draw with ``ns3_devices`` devices
   per slice (rate × 100/``ns3_devices``, same slice load; μ scaled alike), ``ns3_steps`` periods,
   beside litesim on the same scaled scenario.

Writes ``dt_mafl.md`` (the tables), ``dt_mafl.json`` and the plots into ``out_dir`` and, with
``plots_dir``, the plots and tables there too.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.demand_twin import (
    ArimaForecaster,
    GatForecaster,
    LstmForecaster,
    PersistenceForecaster,
    correlated_loads,
    rmse,
)
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import RunResult, TrainConfig
from slicebridge.app.recipes.common import SCENARIOS, as_scenario, train_methods
from slicebridge.bridge.actions import raw_from_shares
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import make_core
from slicebridge.envs.slice_units import SliceUnitCore, needed_share

NAME = "dt_mafl"
# the latent load process of scenarios/dt_mafl_6slice.yaml (see its header)
LAGS = (0, 1, 2, 3, 4, 5)
WEIGHTS = (0.5, 0.45, 0.4, 0.5, 0.45, 0.4)
LEARNED = {"dt_mafl": ("ddpg", "federated", True), "fl_no_twin": ("ddpg", "federated", False), "madqn": ("dqn", "independent", True)}
FIXED = ("netshare", "equal")
METRICS = ("reward", "utilisation", "satisfaction")


@dataclass
class DtMaflConfig:
    scenario: str | Path = SCENARIOS / "dt_mafl_6slice.yaml"
    out_dir: Path = Path("runs/dt_mafl")
    plots_dir: Path | None = None
    seed: int = 1  # seeds seed, seed + 1, ... (n_seeds of them)
    n_seeds: int = 3
    episodes: int = 12  # training episodes of 100 periods per run (× num_envs instances)
    num_envs: int = 4
    tau: int = 20  # periods between federated averages
    window: int = 8  # demand periods the twins see
    users: tuple[int, ...] = (60, 80, 100, 120, 140)
    twin_paths: int = 10
    twin_epochs: int = 300
    arima_order: tuple[int, int, int] = (2, 0, 1)
    train_path_seed: int = 101
    eval_path_seed: int = 202
    eval_episodes: int = 2
    ns3_devices: int = 20  # devices per slice in ns-3 (600 cannot attach to one LTE cell)
    ns3_steps: int = 40
    ns3: bool = True
    methods: tuple[str, ...] = ("dt_mafl", "fl_no_twin", "madqn", "netshare", "equal")
    progress: bool = True
    reuse: bool = False
    ddpg: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.5, buffer_size=1000, batch_size=64, learning_starts=100, tau=0.01,
    ))
    dqn: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.5, buffer_size=1000, batch_size=64, learning_starts=100, train_freq=1,
        target_update_interval=200, exploration_fraction=0.3, exploration_final_eps=0.05,
    ))
    net_arch: tuple[int, ...] = (64,) * 6  # paper: 6 hidden layers of 64


# -- scenarios ------------------------------------------------------------------------------------
def path_scenario(base: Scenario, path_seed: int, users: int | None = None, device_scale: float = 1.0) -> Scenario:
    """``base`` with its load profiles redrawn from the latent process (``path_seed``), ``users`` devices
    per slice, and — for ns-3 — ``device_scale`` times fewer devices at that times the rate (same load)."""
    steps = base.control.episode_steps
    loads = correlated_loads(base.n_slices, steps, lags=LAGS, weights=WEIGHTS, seed=path_seed)
    slices = base.model_dump(mode="json")["slices"]
    for s, sl in enumerate(slices):
        sl["load_profile"] = {"kind": "piecewise", "hold_steps": 1, "values": [round(float(v), 4) for v in loads[:, s]]}
        n = users if users is not None else sl["ues_per_cell"]
        sl["ues_per_cell"] = max(1, int(round(n / device_scale)))
        sl["traffic"]["rate_mbps"] *= device_scale
        sl["sla"]["throughput_mbps"] *= device_scale
    reward = {"mu": base.reward.mu * device_scale}
    return base.with_updates(slices=slices, reward=reward)


# -- demand twins ---------------------------------------------------------------------------------
def demand_trace(scenario: Scenario, seed: int) -> np.ndarray:
    """Needed PRB share per slice ``[T, S]`` over one litesim episode at equal shares (demand does not
    depend on the split: the sources offer what they offer)."""
    core = make_core(scenario, "litesim", num_envs=1, seed=seed)
    try:
        core.reset()
        equal = np.full((1, 1, scenario.n_slices), 1.0 / scenario.n_slices)
        out = []
        for _ in range(scenario.control.episode_steps):
            core.step(equal)
            out.append(needed_share(core.kpis, scenario.radio.bandwidth_prb)[0, 0])
        return np.array(out)
    finally:
        core.close()


def fit_twins(cfg: DtMaflConfig, base: Scenario, log: Callable[[str], None]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, np.ndarray]]:
    """Train the four forecasters; returns them, the RMSE rows and the held-out series with predictions."""
    train = np.concatenate([
        demand_trace(path_scenario(base, cfg.train_path_seed + 1000 + i, cfg.users[i % len(cfg.users)]), seed=500 + i)
        for i in range(cfg.twin_paths)
    ])
    test = demand_trace(path_scenario(base, cfg.eval_path_seed), seed=900)
    w = cfg.window
    twins: dict[str, Any] = {
        "persistence": PersistenceForecaster(),
        "arima": ArimaForecaster(tuple(cfg.arima_order)),
        "lstm": LstmForecaster(w, epochs=cfg.twin_epochs, seed=cfg.seed),
        "gat": GatForecaster(w, epochs=cfg.twin_epochs, seed=cfg.seed),
    }
    rows, preds = [], {"actual": test[w:]}
    for name, model in twins.items():
        t0 = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - t0
        if name == "arima":
            pred = model.rolling(test, w)
            err = np.sqrt(np.mean((pred - test[w:]) ** 2, axis=0))
        else:
            err, pred = rmse(model, test, w), model.predict(np.stack([test[i : i + w] for i in range(len(test) - w)]))
        preds[name] = pred
        rows.append({"forecaster": name, "rmse": float(err.mean()), "rmse_per_slice": err.tolist(), "fit_s": fit_s})
        log(f"[dt_mafl] twin {name}: RMSE {err.mean():.4f} ({fit_s:.1f} s)")
    return twins, rows, preds


# -- training -------------------------------------------------------------------------------------
def _train_config(cfg: DtMaflConfig, scenario: Scenario, method: str, seed: int, twin: Any) -> TrainConfig:
    algorithm, mode, with_twin = LEARNED[method]
    return TrainConfig(
        scenario=scenario, simulator="litesim", algorithm=algorithm, mode=mode, strategy="fedavg", grouping="slice",
        predictor=twin.predict if with_twin else None, unit_window=cfg.window, max_change=0.5,
        total_steps=cfg.episodes * scenario.control.episode_steps * cfg.num_envs, num_envs=cfg.num_envs, local_steps=cfg.tau,
        seed=seed, algo_kwargs=dict(cfg.ddpg if algorithm == "ddpg" else cfg.dqn), net_arch=list(cfg.net_arch),
        run_dir=Path(cfg.out_dir) / method / f"seed{seed}", progress=cfg.progress, tensorboard=False,
    )


def _finished(run_dir: Path) -> RunResult:
    policy = load_policy(run_dir)  # per-slice units: the policy's "cells" are units, no scenario check
    history = json.loads((run_dir / "history.json").read_text())
    return RunResult(run_dir, policy, history, float(policy.meta.get("wall_time_s", float("nan"))), int(policy.meta.get("core_steps", 0)))


# -- evaluation -----------------------------------------------------------------------------------
def _fixed_shares(name: str, unit: SliceUnitCore) -> np.ndarray:
    """Shares ``[B, C, S]`` of a non-learning allocator from the last period's KPIs."""
    mins = unit.min_share
    if name == "equal":
        return np.broadcast_to(unit.core.scenario.initial_shares(), unit.shares.shape).copy()
    demand = needed_share(unit.kpis, unit.scenario.radio.bandwidth_prb)  # netshare: ∝ needed PRBs
    total = demand.sum(-1, keepdims=True)
    weights = np.where(total > 0, demand / np.where(total > 0, total, 1.0), 1.0 / demand.shape[-1])
    return mins + (1.0 - mins.sum()) * weights


def run_policy(unit: SliceUnitCore, policy: Any, episodes: int, seed: int) -> dict[str, float]:
    """Greedy episodes of ``policy`` (a per-slice policy, or a FIXED name) → mean reward / utilisation /
    satisfaction over the periods (reward: mean per-slice reward; satisfaction: share of slice-periods
    whose SLA satisfaction is at least 0.95)."""
    sums = {k: [] for k in METRICS}
    reward = unit.core.reward
    for ep in range(episodes):
        obs = unit.reset(seed=seed + ep)
        while not unit.episode_over:
            if isinstance(policy, str):
                unit.core.step(raw_from_shares(_fixed_shares(policy, unit), unit.min_share))
            else:
                obs, *_ = unit.step(policy.act(obs))
            kpis = unit.kpis  # [B, C, S, 11]
            sums["reward"].append(reward.slice_utility(kpis).mean())
            sums["utilisation"].append(kpis[..., 8].sum(-1).mean())
            sums["satisfaction"].append((reward.satisfaction(kpis) >= 0.95).mean())
    return {k: float(np.mean(v)) for k, v in sums.items()}


def _unit(scenario: Scenario, simulator: str, seed: int, predictor: Any, discrete: bool, window: int) -> SliceUnitCore:
    return SliceUnitCore(make_core(scenario, simulator, num_envs=1, seed=seed), predictor, window=window, max_change=0.5, discrete=discrete)


def evaluate_method(method: str, policy: Any, twin: Any, scenario: Scenario, simulator: str, episodes: int, seed: int,
                    window: int) -> dict[str, float]:
    with_twin = LEARNED[method][2] if method in LEARNED else False
    unit = _unit(scenario, simulator, seed, twin.predict if with_twin else None, method == "madqn", window)
    try:
        return run_policy(unit, method if method in FIXED else policy, episodes, seed)
    finally:
        unit.close()


# -- tables and plots -----------------------------------------------------------------------------
def _ms(values: list[float], pct: bool = False) -> str:
    f = 100.0 if pct else 1.0
    return f"{f * np.mean(values):.{1 if pct else 3}f} ± {f * np.std(values):.{1 if pct else 3}f}"


def _plots(cfg: DtMaflConfig, sweep: dict, histories: dict, preds: dict[str, np.ndarray], folders: list[Path]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, metric in zip(axes, METRICS):
        for method in cfg.methods:
            m = np.array([[np.mean(sweep[method][u][metric]) for u in cfg.users]])[0]
            sd = np.array([np.std(sweep[method][u][metric]) for u in cfg.users])
            scale = 100 if metric != "reward" else 1
            ax.errorbar(cfg.users, scale * m, yerr=scale * sd, marker="o", capsize=3, label=method)
        ax.set_xlabel("devices per slice")
        ax.set_ylabel({"reward": "mean per-slice reward", "utilisation": "PRB utilisation (%)", "satisfaction": "QoS satisfaction (%)"}[metric])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    names.append("dt_mafl_sweep.png")
    for d in folders:
        fig.savefig(d / names[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for method, runs in histories.items():
        curves = np.array([[h["reward"] for h in hist] for hist in runs])
        x = np.arange(1, curves.shape[1] + 1) * cfg.tau
        ax.plot(x, curves.mean(0), label=method)
        ax.fill_between(x, curves.mean(0) - curves.std(0), curves.mean(0) + curves.std(0), alpha=0.2)
    ax.set_xlabel("training periods (× instances)")
    ax.set_ylabel("mean per-slice reward (window)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    names.append("dt_mafl_training.png")
    for d in folders:
        fig.savefig(d / names[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(2, 3, figsize=(13, 5.5), sharex=True)
    for s, ax in enumerate(axes.ravel()):
        ax.plot(preds["actual"][:, s], "k-", lw=1.5, label="measured")
        for name in ("gat", "lstm", "arima", "persistence"):
            ax.plot(preds[name][:, s], lw=0.9, label=name)
        ax.set_title(f"slice {s}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("period (held-out draw)")
    fig.supylabel("needed PRB share")
    fig.tight_layout()
    names.append("dt_mafl_forecasts.png")
    for d in folders:
        fig.savefig(d / names[-1], dpi=110)
    plt.close(fig)
    return names


def run_dt_mafl(cfg: DtMaflConfig, log: Callable[[str], None] = print) -> str:
    """Twins, training, sweep and ns-3 check; returns the Markdown tables (also written to out_dir)."""
    t_start = time.perf_counter()
    base = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folders = [out] + ([Path(cfg.plots_dir)] if cfg.plots_dir is not None else [])
    for d in folders:
        d.mkdir(parents=True, exist_ok=True)
    seeds = [cfg.seed + k for k in range(cfg.n_seeds)]
    twins, twin_rows, preds = fit_twins(cfg, base, log)
    gat = twins["gat"]

    train_scenario = path_scenario(base, cfg.train_path_seed)
    learned = [m for m in cfg.methods if m in LEARNED]
    policies: dict[str, dict[int, Any]] = {m: {} for m in learned}
    histories: dict[str, list] = {m: [] for m in learned}
    wall: dict[str, list[float]] = {m: [] for m in learned}
    for seed in seeds:
        configs = {m: _train_config(cfg, train_scenario, m, seed, gat) for m in learned}
        if cfg.reuse:
            runs = {}
            for m, tc in configs.items():
                done = Path(tc.run_dir) / "history.json"
                runs[m] = _finished(Path(tc.run_dir)) if done.is_file() else train_methods({m: tc}, train_scenario, False, log, "dt_mafl", "")[0][m]
        else:
            runs, _ = train_methods(configs, train_scenario, False, log, f"dt_mafl seed {seed}",
                                    f"{cfg.episodes} episodes × {cfg.num_envs} instances")
        for m, res in runs.items():
            policies[m][seed] = res.policy
            histories[m].append(res.history)
            wall[m].append(res.wall_time_s)

    sweep: dict[str, dict[int, dict[str, list[float]]]] = {m: {} for m in cfg.methods}
    for users in cfg.users:
        scen = path_scenario(base, cfg.eval_path_seed, users)
        for m in cfg.methods:
            runs = [evaluate_method(m, policies.get(m, {}).get(seed), gat, scen, "litesim", cfg.eval_episodes, 7000 + 10 * seed, cfg.window)
                    for seed in seeds]
            sweep[m][users] = {k: [r[k] for r in runs] for k in METRICS}
        log(f"[dt_mafl] sweep {users} devices/slice: " + ", ".join(f"{m} {np.mean(sweep[m][users]['reward']):.3f}" for m in cfg.methods))

    ns3_rows: dict[str, dict[str, dict[str, float]]] = {}
    ns3_note = "not run (ns3 disabled)"
    if cfg.ns3:
        scale = 100.0 / cfg.ns3_devices
        small = path_scenario(base, cfg.eval_path_seed, 100, device_scale=scale).with_updates(control={"episode_steps": cfg.ns3_steps})
        t0 = time.perf_counter()
        for m in cfg.methods:
            pol = policies.get(m, {}).get(cfg.seed)
            ns3_rows[m] = {sim: evaluate_method(m, pol, gat, small, sim, 1, 7000 + 10 * cfg.seed, cfg.window) for sim in ("litesim", "ns3")}
            log(f"[dt_mafl] ns-3 {m}: reward {ns3_rows[m]['ns3']['reward']:.3f} (litesim {ns3_rows[m]['litesim']['reward']:.3f})")
        ns3_note = f"{cfg.ns3_devices} devices per slice, 1 episode of {cfg.ns3_steps} periods per method, seed-{cfg.seed} policies, {time.perf_counter() - t0:.0f} s"

    plots = _plots(cfg, sweep, histories, preds, folders)
    table = _tables(cfg, base, twin_rows, sweep, ns3_rows, ns3_note, wall, seeds, plots, gat, time.perf_counter() - t_start)
    for d in folders:
        (d / "dt_mafl.md").write_text(table)
    (out / "dt_mafl.json").write_text(json.dumps({"twins": twin_rows, "sweep": sweep, "ns3": ns3_rows, "histories": histories,
                                                  "adjacency": gat.learned_adjacency().tolist()}, indent=1, default=str))
    return table


def _tables(cfg: DtMaflConfig, base: Scenario, twin_rows: list, sweep: dict, ns3_rows: dict, ns3_note: str, wall: dict,
            seeds: list[int], plots: list[str], gat: GatForecaster, total_s: float) -> str:
    lines = [
        f"DT-MAFL on `{base.name}` (litesim): {base.n_slices} slices, seeds {seeds}, {cfg.episodes} training episodes × "
        f"{base.control.episode_steps} periods × {cfg.num_envs} instances per run, FedAvg every τ = {cfg.tau} periods, "
        f"net {list(cfg.net_arch)}; held-out load draw {cfg.eval_path_seed}, {cfg.eval_episodes} greedy episodes per seed; "
        f"total wall time {total_s / 60:.1f} min.",
        "",
        "**Demand twins** (one-step-ahead RMSE of the needed PRB share, held-out draw, mean over slices):",
        "",
        "| forecaster | RMSE | RMSE / persistence | fit time |",
        "|---|---:|---:|---:|",
    ]
    ref = next(r["rmse"] for r in twin_rows if r["forecaster"] == "persistence")
    for r in twin_rows:
        lines.append(f"| {r['forecaster']} | {r['rmse']:.4f} | {r['rmse'] / ref:.2f} | {r['fit_s']:.1f} s |")
    adj = gat.learned_adjacency()
    lines += ["", "GAT learned adjacency A (row i: slice i listens to slice j; the load process leads slice j by lag j):", "",
              "| | " + " | ".join(f"s{j}" for j in range(adj.shape[1])) + " |", "|---" * (adj.shape[1] + 1) + "|"]
    lines += [f"| s{i} | " + " | ".join(f"{v:+.2f}" for v in row) + " |" for i, row in enumerate(adj)]
    for metric in METRICS:
        pct = metric != "reward"
        label = {"reward": "mean per-slice reward Λ·Ω + μ·Σ_u U_u", "utilisation": "PRB utilisation (%)",
                 "satisfaction": "QoS satisfaction (% of slice-periods with SLA satisfaction ≥ 0.95)"}[metric]
        lines += ["", f"**Sweep: {label}**, mean ± sd over {len(seeds)} seeds:", "",
                  "| method | " + " | ".join(f"{u} dev/slice" for u in cfg.users) + " |", "|---" * (len(cfg.users) + 1) + "|"]
        for m in cfg.methods:
            lines.append(f"| {m} | " + " | ".join(_ms(sweep[m][u][metric], pct) for u in cfg.users) + " |")
    if ns3_rows:
        lines += ["", f"**ns-3 check** ({ns3_note}):", "",
                  "| method | reward litesim | reward ns-3 | utilisation litesim | utilisation ns-3 | satisfaction litesim | satisfaction ns-3 |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for m, r in ns3_rows.items():
            lines.append(f"| {m} | {r['litesim']['reward']:.3f} | {r['ns3']['reward']:.3f} | {100 * r['litesim']['utilisation']:.1f} % | "
                         f"{100 * r['ns3']['utilisation']:.1f} % | {100 * r['litesim']['satisfaction']:.1f} % | {100 * r['ns3']['satisfaction']:.1f} % |")
    if wall:
        lines += ["", "Training wall time per run: " + ", ".join(f"{m} {np.mean(v):.0f} s" for m, v in wall.items()) + "."]
    lines += ["", "Plots: " + ", ".join(f"`{p}`" for p in plots) + "."]
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--episodes", type=int, help="training episodes per run (default 12)")
    p.add_argument("--n-seeds", type=int, help="seeds (default 3)")
    p.add_argument("--tau", type=int, help="periods between federated averages (default 20)")
    p.add_argument("--plots-dir", type=Path, help="also write the plots and tables here (e.g. docs/recipes/dt_mafl)")
    p.add_argument("--ns3-steps", type=int, help="periods of the ns-3 check (default 40)")
    p.add_argument("--no-ns3", dest="ns3", action="store_false", default=None, help="skip the ns-3 check")


def run(**kwargs: Any) -> str:
    if "users" in kwargs:
        kwargs["users"] = tuple(kwargs["users"])
    return run_dt_mafl(DtMaflConfig(**kwargs))
