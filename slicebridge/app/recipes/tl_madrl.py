# SPDX-License-Identifier: GPL-2.0-only
"""TL-MADRL (docs/RESEARCH.md, system 4): per-cell TD3 with transfer from the most similar cell.

Per seed, on one 12-cell network (docs/recipes/tl_madrl.md):

1. MADRL without transfer: a TD3 agent per cell learns from scratch (``steps`` transitions per cell, the
   first ``explore`` random: the paper's 3000 + 5500). The agents of the *source* cells (sites 1–2 by
   default) are then the deployed, trained agents; those of the *target* cells (sites 3–4) are the
   paper's MADRL-without-transfer result for those cells.
2. From whom: every cell runs the default action (equal shares); a VAE of the paper's size per cell on
   its ``(state, reward)`` samples gives the inter-cell distance matrix (``agents.transfer``), plotted.
3. How: each target cell starts from its closest source's networks and mixes the source's replay into
   its own at ``mix_ratio``, then learns ``transfer_steps`` transitions (the paper's 4000) while the
   source cells act greedily with their trained agents; the same with the *farthest* source (ablation).
4. Evaluation on the target cells: the paper's metrics over greedy episodes in litesim (and in ns-3,
   on a cut-out of the network: :func:`ns3_check`), the oracle-proportional and equal baselines, the
   source agents used as they are (no fine-tuning), and transfer's gain over MADRL at equal step
   counts of the training curves.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from slicebridge.agents.policy import MultiCellPolicy  # noqa: E402
from slicebridge.agents.training import RunResult, TrainConfig  # noqa: E402
from slicebridge.agents.transfer import (  # noqa: E402
    default_action_samples,
    distance_matrix,
    fit_vae,
    select_sources,
    source_transitions,
    transfer_init,
)
from slicebridge.agents.transitions import Transitions  # noqa: E402
from slicebridge.app.recipes.confirm import Confirmation, confirm_in_ns3  # noqa: E402
from slicebridge.app.recipes.common import (  # noqa: E402
    SCENARIOS,
    as_scenario,
    greedy_episodes,
    method_config,
    oracle_proportional,
    train_methods,
)
from slicebridge.bridge import kpi as K  # noqa: E402
from slicebridge.bridge.reward import RewardFunction, ratio_or_one  # noqa: E402
from slicebridge.bridge.scenario import Scenario  # noqa: E402

NAME = "tl_madrl"
METHODS = ("madrl", "tl", "tl_least")
LABELS = {"madrl": "MADRL (no transfer)", "tl": "TL (most similar source)", "tl_least": "TL (least similar source)",
          "zero_shot": "source agents, no fine-tuning", "oracle": "proportional (oracle)", "equal": "equal shares"}
# the paper's numbers (docs/RESEARCH.md system 4): TL / DRL / traffic-proportional baseline
PAPER = {"tl": {"under": 0.12, "satisfaction": 0.92, "max_delay": 1.5}, "madrl": {"under": 0.19, "satisfaction": 0.90, "max_delay": 1.7},
         "oracle": {"under": 0.25, "satisfaction": 0.87, "max_delay": 1.8}}


@dataclass
class TlMadrlConfig:
    scenario: str | Path = SCENARIOS / "tl_madrl_12cell.yaml"
    out_dir: Path = Path("runs/tl_madrl")
    steps: int = 8500  # MADRL: transitions per cell (paper: 3000 exploration + 5500 training)
    explore: int = 3000  # of which random exploration before learning starts (paper: 3000)
    transfer_steps: int = 4000  # TL: transitions per target cell after the transfer (paper: 4000)
    budget_fraction: float = 1.0  # scales steps, explore and transfer_steps alike (same ratios as the paper)
    num_envs: int = 4
    local_steps: int = 25  # decision steps per training-curve window (× num_envs transitions per cell)
    early_steps: int = 200  # the early window of the equal-step comparison (transitions per cell from the start)
    seed: int = 4
    n_seeds: int = 3
    sources: tuple[int, ...] = (0, 1, 2, 3, 4, 5)  # cells of sites 1-2: trained agents to transfer from
    targets: tuple[int, ...] = (6, 7, 8, 9, 10, 11)  # cells of sites 3-4: agents that learn with transfer
    mix_ratio: float = 0.25  # share of every target batch drawn from the source's replay
    vae_steps: int = 150  # default-action decision steps (× num_envs samples per cell, half to fit, half to compare)
    vae_epochs: int = 60
    eval_episodes: int = 5  # × 50 steps = 250 evaluation steps, as the paper
    eval_seed: int = 1000
    methods: tuple[str, ...] = METHODS
    baselines: bool = True  # add source agents as they are, the proportional (demand oracle) and equal-shares rows
    ns3: bool = True  # also evaluate every final policy in ns-3 (see ns3_check)
    ns3_cells: tuple[int, ...] = (6, 7, 8)  # the ns-3 cut-out: one three-sector site of target cells
    ns3_episodes: int = 1
    ns3_steps: int = 20  # decision steps per ns-3 episode
    progress: bool = True
    reuse: bool = False
    threshold: float = 0.95  # throughput-satisfaction threshold of the "samples under" column
    td3: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, actor_learning_rate=5e-4,  # paper: critic 1e-3, actor 5e-4
        gamma=0.1, batch_size=32, buffer_size=50000, train_freq=1, action_noise=0.1,
        gradient_steps=-1,  # one update per transition (num_envs updates per batched step)
        policy_kwargs=dict(net_arch=dict(pi=[48, 24], qf=[64, 24])),  # paper: actor (48, 24), critic (64, 24)
    ))

    def budget(self) -> tuple[int, int, int]:
        """(MADRL steps, exploration, transfer steps) per cell after ``budget_fraction``."""
        f = self.budget_fraction
        return int(round(self.steps * f)), int(round(self.explore * f)), int(round(self.transfer_steps * f))


# -- the paper's metrics ----------------------------------------------------------------------------

def paper_metrics(kpis: np.ndarray, rewards: np.ndarray, reward: RewardFunction, cells: Sequence[int], threshold: float = 0.95) -> dict[str, float]:
    """The paper's metrics on ``cells``, one sample per (cell, step) of KPIs ``[..., C, S, 11]`` and
    rewards ``[..., C]`` (any leading episode/step axes):

    - ``satisfaction``: mean over samples of the minimum over slices of the throughput satisfaction
      min(φ/φ*, 1), φ* = min(SLA rate × active UEs, offered);
    - ``under``: share of samples whose minimum over slices is under ``threshold``;
    - ``max_delay``: mean over samples of the largest per-slice mean delay (ms; slices that delivered
      nothing in the period report no delay and are left out; samples with none are skipped);
    - ``reward``: mean per-cell reward (min over slices of min(φ/φ*, d*/d, 1)).
    """
    cells = list(cells)
    kpis = np.asarray(kpis)[..., cells, :, :]
    target = np.minimum(reward.thr_sla[cells] * kpis[..., K.ACTIVE_UES], kpis[..., K.OFFERED])
    worst = np.minimum(ratio_or_one(kpis[..., K.THROUGHPUT], target), 1.0).min(axis=-1)  # [..., C']
    delivered = kpis[..., K.THROUGHPUT] > 0
    delay = np.where(delivered, kpis[..., K.DELAY_MEAN], -np.inf).max(axis=-1)  # [..., C']
    has = np.isfinite(delay)
    return {
        "satisfaction": float(worst.mean()),
        "under": float((worst < threshold).mean()),
        "max_delay": float(delay[has].mean()) if has.any() else float("nan"),
        "reward": float(np.asarray(rewards)[..., cells].mean()),
    }


def tl_madrl_metrics(results: list[Any], scenario: Scenario, cells: Sequence[int] | None = None, threshold: float = 0.95) -> dict[str, float]:
    """:func:`paper_metrics` over evaluation episodes (``kpis [steps, C, S, 11]``, ``rewards [steps, C]`` each)
    on ``cells`` (default all)."""
    cells = list(range(scenario.n_cells)) if cells is None else list(cells)
    return paper_metrics(np.concatenate([r.kpis for r in results]), np.concatenate([r.rewards for r in results]), RewardFunction(scenario),
                         cells, threshold)


# -- training curves ----------------------------------------------------------------------------------

def curve(history: list[dict[str, Any]], cells: Sequence[int], num_envs: int) -> tuple[np.ndarray, np.ndarray]:
    """(transitions per cell at each window's end ``[W]``, mean reward of ``cells`` in the window ``[W]``)."""
    x = np.array([h["core_steps"] * num_envs for h in history], dtype=float)
    y = np.array([np.mean([h["cell_reward"][c] for c in cells]) for h in history])
    return x, y


def mean_up_to(history: list[dict[str, Any]], cells: Sequence[int], num_envs: int, upto: int) -> float:
    """Mean training reward of ``cells`` over the windows ending at or before ``upto`` transitions per cell
    (weighted by window length)."""
    x, y = curve(history, cells, num_envs)
    keep = x <= upto + 1e-9
    if not keep.any():
        return float("nan")
    widths = np.diff(np.concatenate([[0.0], x]))[keep]
    return float(np.sum(y[keep] * widths) / np.sum(widths))


def gain(new: float, old: float) -> float:
    return (new - old) / abs(old) if old else float("nan")


# -- one seed -----------------------------------------------------------------------------------------

@dataclass
class SeedResult:
    seed: int
    distances: np.ndarray  # [C, C], [target cell, source cell]
    pick: dict[str, dict[int, int]]  # "tl" / "tl_least": target cell -> source cell
    runs: dict[str, RunResult]
    policies: dict[str, Any]  # row key -> policy (or baseline name / factory)
    times: dict[str, float]


def _save_replays(path: Path, models: Sequence[Any]) -> dict[int, Transitions]:
    out = {k: source_transitions(m.replay_buffer) for k, m in enumerate(models)}
    np.savez_compressed(path, **{f"{k}_{f.name}": getattr(t, f.name) for k, t in out.items() for f in dataclasses.fields(Transitions)})
    return out


def _load_replays(path: Path, n: int) -> dict[int, Transitions]:
    with np.load(path) as z:
        return {k: Transitions(**{f.name: z[f"{k}_{f.name}"] for f in dataclasses.fields(Transitions)}) for k in range(n)}


def cell_distances(scenario: Scenario, cfg: TlMadrlConfig, seed: int) -> np.ndarray:
    """``D [C, C]`` for one seed: samples under the default action, one VAE per cell fitted on half of its
    samples; ``D[t, s]`` compares the other half of cell t's samples with cell s's (agents.transfer)."""
    x = default_action_samples(scenario, cfg.vae_steps, cfg.num_envs, seed=seed + 500)  # [C, N, F + 1]
    half = x.shape[1] // 2
    fit, probe = x[:, :half], x[:, half:]
    vaes = [fit_vae(fit[c], epochs=cfg.vae_epochs, seed=seed * 100 + c) for c in range(scenario.n_cells)]
    return distance_matrix(list(probe), list(fit), vaes)


def run_seed(scenario: Scenario, cfg: TlMadrlConfig, seed: int, log: Callable[[str], None]) -> SeedResult:
    steps, explore, transfer_steps = cfg.budget()
    out = Path(cfg.out_dir) / "runs" / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)

    def config(name: str, algo: dict[str, Any], budget: int, **extra: Any) -> TrainConfig:
        tc = method_config(scenario, "independent", "td3", algo, budget, out / name, num_envs=cfg.num_envs, local_steps=cfg.local_steps,
                           seed=seed, progress=cfg.progress)
        return dataclasses.replace(tc, checkpoint_every=0, tensorboard=False, **extra)

    runs, times = train_methods({"madrl": config("madrl", {**cfg.td3, "learning_starts": explore}, steps)}, scenario, cfg.reuse, log,
                                NAME, f"without transfer, seed {seed}: {steps} transitions per cell, {explore} exploring")
    replay_file = out / "madrl" / "replays.npz"
    if runs["madrl"].models:
        replays = _save_replays(replay_file, runs["madrl"].models)
        trained = runs["madrl"].models
    else:
        replays = _load_replays(replay_file, scenario.n_cells)
        trained = runs["madrl"].policy.models
    dist_file = out / "distances.npy"
    if cfg.reuse and dist_file.is_file():
        distances = np.load(dist_file)
    else:
        t0 = time.perf_counter()
        distances = cell_distances(scenario, cfg, seed)
        np.save(dist_file, distances)
        log(f"[tl_madrl] distance matrix, seed {seed}: {time.perf_counter() - t0:.0f} s")
    pick = {"tl": select_sources(distances, cfg.sources, cfg.targets, most_similar=True),
            "tl_least": select_sources(distances, cfg.sources, cfg.targets, most_similar=False)}
    algo = {**cfg.td3, "learning_starts": 0}  # the transferred agent acts with its source's policy from the first step
    for name in ("tl", "tl_least"):
        if name not in cfg.methods:
            continue
        init = transfer_init(trained, pick[name], replays, cfg.mix_ratio, frozen=cfg.sources)
        run, took = train_methods({name: config(name, algo, transfer_steps, model_init=init)}, scenario, cfg.reuse, log, NAME,
                                  f"{LABELS[name]}, seed {seed}: {transfer_steps} transitions per target cell, sources {pick[name]}")
        runs.update(run)
        times.update(took)
    policies: dict[str, Any] = {m: runs[m].policy for m in METHODS if m in runs and m in cfg.methods}
    if cfg.baselines:
        composed = [trained[pick["tl"].get(c, c)] for c in range(scenario.n_cells)]
        policies["zero_shot"] = MultiCellPolicy(composed, list(range(scenario.n_cells)), {**runs["madrl"].policy.meta, "name": "zero-shot"})
        policies["oracle"] = oracle_proportional(scenario)
        policies["equal"] = "equal"
    return SeedResult(seed, distances, pick, runs, policies, times)


# -- ns-3 -----------------------------------------------------------------------------------------------

def site_cutout(scenario: Scenario, cells: Sequence[int]) -> Scenario:
    """The scenario reduced to one whole site (``cells``: its sectors, in order): same slices, per-cell SLAs and
    loads, one site instead of ``sites`` (so no interference from the others)."""
    sectors = scenario.topology.sectors
    cells = list(cells)
    if len(cells) != sectors or cells[0] % sectors or cells != list(range(cells[0], cells[0] + sectors)):
        raise ValueError(f"site_cutout: cells {cells} must be the {sectors} sectors of one site (e.g. {list(range(sectors, 2 * sectors))})")
    scales, shifts = scenario.cell_load()
    overrides = []
    for o in scenario.sla_overrides:
        kept = [cells.index(c) for c in o.cells if c in cells]
        if kept:
            overrides.append({**o.model_dump(mode="json"), "cells": kept})
    data = scenario.model_dump(mode="json")
    data["name"] = f"{scenario.name}_site{cells[0] // sectors + 1}"
    data["topology"] = {**data["topology"], "sites": 1, "cell_load_scale": [scales[c] for c in cells],
                        "cell_load_shift_steps": [shifts[c] for c in cells]}
    data["sla_overrides"] = overrides
    return Scenario.from_dict(data, source=f"{scenario.name} (cut-out of cells {cells})")


def cutout_policy(policy: MultiCellPolicy, cells: Sequence[int]) -> MultiCellPolicy:
    """The per-cell agents of ``cells`` as a policy for the cut-out (cell i of the cut-out = ``cells[i]``)."""
    return MultiCellPolicy([policy.models[policy.cell_model[c]] for c in cells], list(range(len(cells))), policy.meta)


def ns3_check(scenario: Scenario, results: list["SeedResult"], cfg: TlMadrlConfig, log: Callable[[str], None]) -> Confirmation:
    """Every row's final policies (per seed) and the baselines on a one-site cut-out of target cells
    (``cfg.ns3_cells``), in litesim and ns-3 through the shared helper (``confirm.confirm_in_ns3``)."""
    cut = site_cutout(scenario, cfg.ns3_cells)
    rows: dict[str, list[Any]] = {}
    for key in results[0].policies:
        label = LABELS[key]
        if key == "oracle":
            rows[label] = [oracle_proportional(cut)]
        elif key == "equal":
            rows[label] = ["equal"]
        else:
            rows[label] = [cutout_policy(r.policies[key], cfg.ns3_cells) for r in results]
    rf = RewardFunction(cut)

    def metrics(kpis: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        return paper_metrics(kpis, rewards, rf, range(cut.n_cells), cfg.threshold)

    return confirm_in_ns3(cut, rows, metrics, litesim_episodes=cfg.eval_episodes, ns3_episodes=cfg.ns3_episodes, ns3_steps=cfg.ns3_steps,
                          seed=cfg.eval_seed, ns3=cfg.ns3, log=log)


# -- plots -------------------------------------------------------------------------------------------------

def plot_distances(d: np.ndarray, cfg: TlMadrlConfig, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    im = ax.imshow(np.log10(np.maximum(d, 1e-3)), cmap="viridis")
    n = d.shape[0]
    ax.set_xticks(range(n), [str(c + 1) for c in range(n)])
    ax.set_yticks(range(n), [str(c + 1) for c in range(n)])
    ax.set_xlabel("source cell (its VAE)")
    ax.set_ylabel("target cell (its default-action samples)")
    for c in cfg.sources:
        ax.get_xticklabels()[c].set_fontweight("bold")
    fig.colorbar(im, ax=ax, label="log10 KL distance (nats)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(results: list[SeedResult], cfg: TlMadrlConfig, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name in METHODS:
        curves = [curve(r.runs[name].history, cfg.targets, cfg.num_envs) for r in results if name in r.runs]
        if not curves:
            continue
        n = min(len(c[0]) for c in curves)
        x = curves[0][0][:n]
        y = np.array([c[1][:n] for c in curves])
        ax.plot(x, y.mean(axis=0), label=LABELS[name])
        if len(curves) > 1:
            ax.fill_between(x, y.mean(axis=0) - y.std(axis=0), y.mean(axis=0) + y.std(axis=0), alpha=0.2)
    ax.set_xlabel("transitions per target cell")
    ax.set_ylabel("training reward, target cells")
    ax.set_title(f"TL-MADRL training curves (mean ± sd over {len(results)} seeds)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the recipe --------------------------------------------------------------------------------------------

def _ms(values: Sequence[float], fmt: str = "{:.3f}", scale: float = 1.0) -> str:
    v = np.asarray(values, dtype=float) * scale
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(v.mean())} ± {fmt.replace('+', '').format(v.std(ddof=1))}"


def relative_gain(per_seed: Sequence[float], judge: bool = False) -> str:
    """Per-seed relative gains (fractions) as ``+6.4 ± 0.9 % (SE 0.5)``: mean ± sd over seeds, SE = sd/√n;
    ``judge`` adds whether the mean is more than 2 SE from 0. One seed: the value alone (no spread)."""
    v = np.asarray(per_seed, dtype=float) * 100
    if v.size == 0:
        return "—"
    if v.size == 1:
        return f"{v[0]:+.1f} % (one seed: no SE)"
    mean, sd = v.mean(), v.std(ddof=1)
    se = sd / np.sqrt(v.size)
    text = f"{mean:+.1f} ± {sd:.1f} % (SE {se:.1f}"
    if judge:
        text += ", beyond 2 SE" if abs(mean) > 2 * se else ", within 2 SE of 0"
    return text + ")"


def sign_word(per_seed: Sequence[float], positive: str, negative: str) -> str:
    """``positive`` if the mean of ``per_seed`` is > 0, else ``negative``."""
    return positive if np.mean(per_seed) > 0 else negative


def run_tl_madrl(cfg: TlMadrlConfig, log: Callable[[str], None] = print) -> str:
    """Every seed of the recipe; returns the Markdown tables (also written to ``out_dir``)."""
    t_start = time.perf_counter()
    scenario = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if "madrl" not in cfg.methods:
        raise ValueError(f"tl_madrl: methods {list(cfg.methods)} must include 'madrl' (it trains the source agents)")
    steps, explore, transfer_steps = cfg.budget()
    seeds = [cfg.seed + i for i in range(cfg.n_seeds)]
    results = [run_seed(scenario, cfg, s, log) for s in seeds]
    rows = list(results[0].policies)
    litesim = {k: [tl_madrl_metrics(greedy_episodes(scenario, r.policies[k], cfg.eval_episodes, cfg.eval_seed), scenario, cfg.targets,
                                    cfg.threshold) for r in results] for k in rows}
    conf = ns3_check(scenario, results, cfg, log) if cfg.ns3 else None

    # transfer's gain at equal step counts (training curves of the target cells)
    first = int(min(cfg.early_steps, transfer_steps))
    eq: dict[str, list[float]] = {k: [] for k in ("madrl", "tl", "tl_least", "madrl_first", "tl_first", "tl_least_first")}
    for r in results:
        for name in METHODS:
            if name in r.runs:
                eq[name].append(mean_up_to(r.runs[name].history, cfg.targets, cfg.num_envs, transfer_steps))
                eq[name + "_first"].append(mean_up_to(r.runs[name].history, cfg.targets, cfg.num_envs, first))

    n_runs = sum(len(r.runs) for r in results)
    reused = sum(1 for r in results for run in r.runs.values() if not run.models)  # a run loaded from disk carries no models
    wall_min = (time.perf_counter() - t_start) / 60
    if reused:
        wall_time = (f"Wall time of this invocation {wall_min:.1f} min; it reused {reused} of the {n_runs} training runs, finished "
                     f"earlier in {out / 'runs'} (their own training times are in the table).")
    else:
        wall_time = f"Wall time {wall_min:.1f} min, of which training {sum(t for r in results for t in r.times.values()) / 60:.1f} min."
    lines = [
        f"TL-MADRL on `{scenario.name}` ({scenario.n_cells} cells × {scenario.n_slices} slices): TD3 per cell "
        f"{cfg.td3['policy_kwargs']['net_arch']}, actor lr {cfg.td3.get('actor_learning_rate')}, critic lr {cfg.td3['learning_rate']}, "
        f"batch {cfg.td3['batch_size']}, γ {cfg.td3['gamma']}. Budget fraction {cfg.budget_fraction:g} of the paper's: MADRL "
        f"{steps} transitions per cell ({explore} random), TL {transfer_steps} per target cell from the chosen source's networks with "
        f"{cfg.mix_ratio:.0%} of every batch from its replay. Sources: cells {[c + 1 for c in cfg.sources]}; targets: cells "
        f"{[c + 1 for c in cfg.targets]} (rows below are over the target cells). Seeds {seeds} (mean ± sd); evaluation: "
        f"{cfg.eval_episodes} greedy episodes × {scenario.control.episode_steps} steps from seed {cfg.eval_seed}. {wall_time}",
        "",
        "Sources chosen (target cell ← source cell, seed by seed): "
        + "; ".join(f"seed {r.seed}: most similar " + ", ".join(f"{t + 1}←{s + 1}" for t, s in r.pick["tl"].items())
                    + " / least similar " + ", ".join(f"{t + 1}←{s + 1}" for t, s in r.pick["tl_least"].items()) for r in results),
        "",
        f"| method | mean satisfaction | samples under {cfg.threshold} | max per-slice delay per sample | mean reward | training time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k in rows:
        m = litesim[k]
        t = [r.times[k] for r in results if k in r.times]
        lines.append(f"| {LABELS[k]} | {_ms([x['satisfaction'] for x in m])} | {_ms([x['under'] for x in m], '{:.1f}', 100)} % | "
                     f"{_ms([x['max_delay'] for x in m], '{:.1f}')} ms | {_ms([x['reward'] for x in m])} | "
                     + (f"{np.mean(t):.0f} s" if t else "—") + " |")
    lines += ["", "Transfer's gain over MADRL without transfer (target cells; each seed's relative gain, then mean ± sd over seeds "
                  f"and the standard error SE = sd/√{len(results)}):", "",
              "| comparison | TL (most similar) | TL (least similar) | MADRL | gain, most similar | gain, least similar |",
              "|---|---:|---:|---:|---:|---:|"]

    def per_seed(a: str, b: str) -> list[float]:
        return [gain(x, y) for x, y in zip(eq[a], eq[b])]

    def gains(a: str, b: str) -> str:
        return relative_gain(per_seed(a, b))

    lines.append(f"| training reward over the first {transfer_steps} transitions | {_ms(eq['tl'])} | {_ms(eq['tl_least'])} | "
                 f"{_ms(eq['madrl'])} | {gains('tl', 'madrl')} | {gains('tl_least', 'madrl')} |")
    short = first < transfer_steps  # a shorter early window; with a budget of early_steps or less both windows are the same
    if short:
        lines.append(f"| training reward over the first {first} transitions | {_ms(eq['tl_first'])} | {_ms(eq['tl_least_first'])} | "
                     f"{_ms(eq['madrl_first'])} | {gains('tl_first', 'madrl_first')} | {gains('tl_least_first', 'madrl_first')} |")
    fin = {k: [x["reward"] for x in litesim[k]] for k in ("tl", "tl_least", "madrl") if k in litesim}
    if len(fin) == 3:
        after = {k: [gain(x, y) for x, y in zip(fin[k], fin["madrl"])] for k in ("tl", "tl_least")}
        lines.append(f"| greedy evaluation reward, TL after {transfer_steps} vs MADRL after {steps} | {_ms(fin['tl'])} | "
                     f"{_ms(fin['tl_least'])} | {_ms(fin['madrl'])} | {relative_gain(after['tl'])} | {relative_gain(after['tl_least'])} |")
        if short:
            lines.append(f"| most vs least similar source, first {first} transitions | | | | {gains('tl_first', 'tl_least_first')} | |")
        lines.append(f"| most vs least similar source, first {transfer_steps} transitions | | | | {gains('tl', 'tl_least')} | |")
        most, least, most_least = per_seed("tl", "madrl"), per_seed("tl_least", "madrl"), per_seed("tl", "tl_least")
        early = per_seed("tl_first", "tl_least_first")
        lines += ["", f"In words, at equal step counts: over the first {transfer_steps} transitions the target cells that start from their "
                      f"most similar source earn {sign_word(most, 'more', 'less')} training reward than MADRL without transfer, "
                      f"{relative_gain(most, judge=True)}, and from their least similar source "
                      f"{sign_word(least, 'more', 'less')}, {relative_gain(least, judge=True)}. The most similar source is "
                      f"{sign_word(most_least, 'ahead of', 'behind')} the least similar one over the first {transfer_steps} transitions, "
                      f"{relative_gain(most_least, judge=True)}"
                      + (f"; over the first {first}, {sign_word(early, 'ahead', 'behind')}, {relative_gain(early, judge=True)}" if short else "")
                      + f". After training (greedy, TL after {transfer_steps} transitions vs MADRL after {steps}), TL from the most similar "
                      f"source ends {sign_word(after['tl'], 'above', 'below')} MADRL, {relative_gain(after['tl'], judge=True)}."]
    if conf is not None:
        lines += ["", f"Packet-level confirmation on a one-site cut-out (cells {[c + 1 for c in cfg.ns3_cells]} alone: same slices, SLAs, "
                      f"loads, masks and mobility, no other sites), every seed's final policy of those cells: {conf.settings()}.", "",
                  conf.table(labels={"satisfaction": "mean satisfaction", "under": f"under {cfg.threshold}", "max_delay": "max delay (ms)",
                                     "reward": "reward"}, percent=("under",)).rstrip()]
    table = "\n".join(lines) + "\n"
    mean_d = np.mean([r.distances for r in results], axis=0)
    plot_distances(mean_d, cfg, out / "tl_madrl_distances.png", f"inter-cell VAE distance D[target, source], mean over seeds {seeds}")
    plot_curves(results, cfg, out / "tl_madrl_curves.png")
    (out / "tl_madrl.md").write_text(table)
    (out / "tl_madrl.json").write_text(json.dumps({
        "litesim": litesim, "confirmation": conf.values if conf is not None else None, "equal_steps": eq, "distances": {r.seed: r.distances.tolist() for r in results},
        "pick": {r.seed: r.pick for r in results},
        "curves": {r.seed: {k: [h for h in run.history] for k, run in r.runs.items()} for r in results},
    }, indent=1, default=str))
    return table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="MADRL transitions per cell (default 8500: 3000 + 5500)")
    p.add_argument("--explore", type=int, help="random exploration transitions per cell (default 3000)")
    p.add_argument("--transfer-steps", type=int, help="TL transitions per target cell (default 4000)")
    p.add_argument("--budget-fraction", type=float, help="scale the three budgets alike (default 1: the paper's)")
    p.add_argument("--n-seeds", type=int, help="seeds, from --seed up (default 3)")
    p.add_argument("--mix-ratio", type=float, help="share of each target batch from the source's replay (default 0.25)")
    p.add_argument("--local-steps", type=int, help="decision steps per training-curve window (default 25)")
    p.add_argument("--eval-episodes", type=int, help="litesim evaluation episodes of 50 steps (default 5)")
    p.add_argument("--no-ns3", dest="ns3", action="store_false", default=None, help="skip the ns-3 evaluation")


def run(**kwargs: Any) -> str:
    return run_tl_madrl(TlMadrlConfig(**kwargs))
