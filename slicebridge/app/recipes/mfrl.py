# SPDX-License-Identifier: GPL-2.0-only
"""MFRL (docs/RESEARCH.md, system 3): meta-trained PPO per UE with η-weighted federation.

``slicebridge recipe mfrl [--out DIR] [--seeds 3] [--meta-iterations N] [--adapt-iterations N] ...``
reproduces system 3 on its own problem (:mod:`slicebridge.envs.mfrl`): for each seed, one model is
meta-trained on pooled transitions of cells with 2, 4 and 8 UEs (urban micro) and saved half-way
and at the end; then, in each test scenario (indoor, urban macro, rural macro), ``I = 6`` UEs adapt
their own copies for ``adapt_iterations`` PPO iterations by each method:

==============  ==========================  ===================================
method          initialisation              averaging every ``fed_every`` its
==============  ==========================  ===================================
MFRL            meta model                  η-weighted (strategy ``success``)
MFRL_early      half-way meta model         η-weighted
MRL             meta model                  none
FRL             fresh network (common)      η-weighted
MARL            fresh networks (per UE)     none
MFRL_samples    meta model                  sample counts (strategy ``fedavg``)
==============  ==========================  ===================================

Each adapted set of policies is tested on the same ``eval_layouts`` random layouts per scenario
(``eval_steps`` steps each). Outputs in ``DIR``: ``mfrl.md`` (the tables this function returns),
``mfrl.json`` (every curve and test result; ``--reuse`` rebuilds the tables and plots from it) and
the plots ``mfrl_convergence.png``, ``mfrl_meta.png``, ``mfrl_test_ee.png``.

``--part slicing`` (included in the default ``all``) brings MFRL's meta-initialisation to the
slicing agents: one SB3 PPO model for the cell is pre-trained over several load levels
(:mod:`slicebridge.agents.meta_init`), then trained on an unseen load from that initialisation and
from scratch (``mfrl_slicing.md``, ``mfrl_slicing.json``, runs in ``DIR/slicing_runs``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.hybrid_ppo import HybridActorCritic, HybridPPOConfig
from slicebridge.agents.meta_init import meta_initialise, with_load
from slicebridge.agents.mfrl import adapt, evaluate, meta_train
from slicebridge.agents.training import TrainConfig, train
from slicebridge.app.recipes.common import SCENARIOS, as_scenario, smoothed
from slicebridge.envs.mfrl import MfrlConfig

NAME = "mfrl"
METHODS = ("MFRL", "MFRL_early", "MRL", "FRL", "MARL", "MFRL_samples")
# method -> (initialisation, federation strategy)
_PLAN: dict[str, tuple[str, str | None]] = {
    "MFRL": ("meta", "success"), "MFRL_early": ("early", "success"), "MRL": ("meta", None),
    "FRL": ("fresh", "success"), "MARL": ("fresh", None), "MFRL_samples": ("meta", "fedavg"),
}
PAPER = "Ji, Qin, Tao: Meta federated reinforcement learning for distributed resource allocation (arXiv 2307.02900)"


@dataclass
class MfrlRecipeConfig:
    out_dir: Path = Path("runs/mfrl")
    seed: int = 0
    seeds: int = 3
    num_envs: int = 8  # cells per rollout
    meta_iterations: int = 100
    adapt_iterations: int = 80
    fed_every: int = 10  # iterations between averaging rounds
    n_ues: int = 6  # paper: I = 6 in adaptation
    meta_tasks: tuple[int, ...] = (2, 4, 8)  # paper
    meta_scenario: str = "urban_micro"  # paper
    scenarios: tuple[str, ...] = ("indoor", "urban_macro", "rural_macro")
    methods: tuple[str, ...] = METHODS
    eval_layouts: int = 100  # paper: 100 random layouts
    eval_steps: int = 50
    eval_seed: int = 10_000
    ue_counts: tuple[int, ...] = (2, 4, 6, 8)  # EE vs number of UEs (meta model, meta scenario)
    learning_rate: float = 3e-4  # paper: 5e-7 (meta) and 1e-6 (adaptation); see docs/recipes/mfrl.md
    success_target: float = 0.9  # convergence: training success rate to reach
    progress: bool = True
    reuse: bool = False
    ppo: dict[str, Any] = field(default_factory=dict)  # other HybridPPOConfig overrides
    part: str = "all"  # all | mfrl | slicing
    # meta-initialisation for the slicing agents (SB3 PPO, one model for the cell, litesim)
    slicing_scenario: str | Path = SCENARIOS / "tiny.yaml"
    slicing_meta_loads: tuple[float, ...] = (0.5, 1.5, 2.5)  # load factors trained on
    slicing_target_load: float = 2.0  # the unseen load
    slicing_cycles: int = 2  # visits of each meta load
    slicing_visit_steps: int = 1500  # transitions per visit
    slicing_adapt_steps: int = 3000  # transitions on the unseen load, meta-initialised and from scratch
    slicing_num_envs: int = 4
    slicing_local_steps: int = 25  # steps per round (one PPO rollout)


def _ppo(cfg: MfrlRecipeConfig) -> HybridPPOConfig:
    return HybridPPOConfig(**{"learning_rate": cfg.learning_rate, **cfg.ppo})


def _train_all(cfg: MfrlRecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    ppo = _ppo(cfg)
    base = MfrlConfig(scenario=cfg.meta_scenario)
    data: dict[str, Any] = {"config": _plain(cfg),
                            "meta": [], "ue_counts": [], "adapt": {}, "test": {}, "test_sampled": {}, "eta": {}}
    t0 = time.time()
    for s in range(cfg.seeds):
        seed = cfg.seed + 1000 * s
        meta = meta_train(base, cfg.meta_tasks, cfg.meta_iterations, ppo, cfg.num_envs, seed, log if cfg.progress else lambda m: None)
        data["meta"].append(meta.curve)
        shared = HybridActorCritic(1, base.obs_dim, base.n_subchannels, ppo.trunk, ppo.critic_hidden)
        shared.load_everywhere(meta.final)
        data["ue_counts"].append({str(n): evaluate(shared, base.with_(n_ues=n), cfg.eval_layouts, cfg.eval_steps, cfg.eval_seed, False)
                                  for n in cfg.ue_counts})
        inits = {"meta": meta.final, "early": meta.early, "fresh": None}
        for scen in cfg.scenarios:
            env = MfrlConfig(scenario=scen, n_ues=cfg.n_ues)
            for method in cfg.methods:
                init, strategy = _PLAN[method]
                res = adapt(env, inits[init], strategy, cfg.adapt_iterations, ppo, cfg.num_envs, cfg.fed_every,
                            seed + 17, common_init=strategy is not None)
                key = f"{scen}/{method}"
                data["adapt"].setdefault(key, []).append(res.curve)
                data["eta"].setdefault(key, []).append(res.eta.tolist())
                data["test"].setdefault(key, []).append(evaluate(res.policy, env, cfg.eval_layouts, cfg.eval_steps, cfg.eval_seed))
                data["test_sampled"].setdefault(key, []).append(evaluate(res.policy, env, cfg.eval_layouts, cfg.eval_steps, cfg.eval_seed, False))
                if cfg.progress:
                    t = data["test"][key][-1]
                    log(f"[mfrl] seed {s} {scen} {method}: test EE {t['system_ee']:.1f} Mbit/J, success {t['success']:.2f} "
                        f"({time.time() - t0:.0f} s)")
    data["wall_s"] = time.time() - t0
    return data


def _slicing_config(cfg: MfrlRecipeConfig, scenario: Any, steps: int, run_dir: Path, seed: int, init: Path | None) -> TrainConfig:
    return TrainConfig(scenario=scenario, algorithm="ppo", mode="centralised", total_steps=steps, num_envs=cfg.slicing_num_envs,
                       local_steps=cfg.slicing_local_steps, seed=seed, run_dir=run_dir, progress=False, tensorboard=False,
                       resume=False, init_policy=init,
                       algo_kwargs={"batch_size": max(1, cfg.slicing_local_steps * cfg.slicing_num_envs // 2)})


def _train_slicing(cfg: MfrlRecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    """Meta-initialise on the meta loads, then train on the unseen load from it and from scratch."""
    base = as_scenario(cfg.slicing_scenario)
    tasks = [with_load(base, f) for f in cfg.slicing_meta_loads]
    target = with_load(base, cfg.slicing_target_load)
    runs = Path(cfg.out_dir) / "slicing_runs"
    data: dict[str, Any] = {"scenario": base.name, "meta": [], "scratch": []}
    t0 = time.time()
    for s in range(cfg.seeds):
        seed = cfg.seed + 1000 * s + 1
        meta_dir, _ = meta_initialise(_slicing_config(cfg, base, cfg.slicing_visit_steps, runs, seed, None), tasks,
                                      cfg.slicing_cycles, runs / f"seed{s}" / "meta", log if cfg.progress else lambda m: None)
        for name, init in (("meta", meta_dir), ("scratch", None)):
            res = train(_slicing_config(cfg, target, cfg.slicing_adapt_steps, runs / f"seed{s}" / name, seed + 7, init))
            data[name].append([h["reward"] for h in res.history])
        if cfg.progress:
            log(f"[mfrl] slicing seed {s}: final reward meta {data['meta'][-1][-1]:.3f}, scratch {data['scratch'][-1][-1]:.3f} "
                f"({time.time() - t0:.0f} s)")
    data["wall_s"] = time.time() - t0
    return data


def build_slicing_table(data: dict[str, Any], c: dict[str, Any]) -> str:
    """Rounds to a target reward on the unseen load: meta-initialised vs from scratch."""
    per_round = c["slicing_local_steps"] * c["slicing_num_envs"]
    finals = {k: [float(np.mean(h[-3:])) for h in data[k]] for k in ("meta", "scratch")}
    lines = [
        f"Meta-initialisation for slicing (`{data['scenario']}`, SB3 PPO, one model for the cell, litesim): pre-trained on load "
        f"factors {list(c['slicing_meta_loads'])} ({c['slicing_cycles']} visits × {c['slicing_visit_steps']} transitions each), "
        f"then {c['slicing_adapt_steps']} transitions on the unseen load {c['slicing_target_load']:g}, against the same training "
        f"from scratch; {len(data['meta'])} seeds (mean ± sd). Target per seed: 95 % of the better final reward (mean of the "
        f"last 3 rounds) of the two; a round = {per_round} transitions. Wall time {data.get('wall_s', float('nan')) / 60:.1f} min.",
        "",
        "| initialisation | transitions to target | first-round reward | final reward |",
        "|---|---:|---:|---:|",
    ]
    hits: dict[str, list[int | None]] = {"meta": [], "scratch": []}
    for i in range(len(data["meta"])):
        best = max(finals["meta"][i], finals["scratch"][i])
        target = best - 0.05 * abs(best)
        for k in hits:
            sm = smoothed([{"reward": r} for r in data[k][i]])
            idx = np.flatnonzero(sm >= target)
            hits[k].append(int(idx[0] + 1) * per_round if idx.size else None)
    for k, label in (("meta", "meta-initialised"), ("scratch", "from scratch")):
        total = len(data[k][0]) * per_round
        lines.append(f"| {label} | {_hits_text(hits[k], total)} | {_ms([h[0] for h in data[k]], '{:.3f}')} | {_ms(finals[k], '{:.3f}')} |")
    return "\n".join(lines) + "\n"


# -- tables -------------------------------------------------------------------------------------------
def _ms(values: list[float], fmt: str = "{:.1f}") -> str:
    v = np.asarray(values, dtype=float)
    return f"{fmt.format(v.mean())} ± {fmt.format(v.std())}" if v.size > 1 else fmt.format(v.mean())


def _iterations_to(curve: list[dict[str, float]], key: str, target: float, window: int = 5) -> int | None:
    x = np.array([c[key] for c in curve])
    if x.size < window:
        return None
    ma = np.convolve(x, np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(ma >= target)
    return int(hit[0]) + window if hit.size else None


def _final(curve: list[dict[str, float]], key: str, n: int = 10) -> float:
    return float(np.mean([c[key] for c in curve[-n:]]))


def _convergence(data: dict[str, Any], scen: str, method: str, target: float) -> tuple[list[int | None], list[float], list[float]]:
    curves = data["adapt"][f"{scen}/{method}"]
    hits = [_iterations_to(c, "success", target) for c in curves]
    first = [float(np.mean([x["system_ee"] for x in c[:10]])) for c in curves]
    return hits, first, [_final(c, "system_ee") for c in curves]


def _hits_text(hits: list[int | None], total: int) -> str:
    if all(h is not None for h in hits):
        return _ms([float(h) for h in hits], "{:.0f}")
    reached = [h for h in hits if h is not None]
    return f"> {total} in {len(hits) - len(reached)}/{len(hits)} seeds" + (f" (others {_ms([float(h) for h in reached], '{:.0f}')})" if reached else "")


def _mean_of(data: dict[str, Any], table: str, scen: str, method: str, key: str) -> float:
    return float(np.mean([r[key] for r in data[table][f"{scen}/{method}"]]))


def build_tables(data: dict[str, Any]) -> str:
    c = data["config"]
    methods, scens, n_it = [m for m in METHODS if m in c["methods"]], c["scenarios"], c["adapt_iterations"]
    seeds = len(data["meta"])
    lines = [
        f"MFRL on its own problem (slicebridge.envs.mfrl): meta-training on {list(c['meta_tasks'])} UEs ({c['meta_scenario']}, "
        f"{c['meta_iterations']} PPO iterations), adaptation with I = {c['n_ues']} UEs ({n_it} iterations, averaging every "
        f"{c['fed_every']}), {c['num_envs']} cells × {_ppo_of(c).rollout_steps} steps per iteration, learning rate "
        f"{c['learning_rate']:g}; {seeds} seeds (mean ± sd over seeds); test: {c['eval_layouts']} random layouts × "
        f"{c['eval_steps']} steps per scenario. Wall time {data.get('wall_s', float('nan')) / 60:.1f} min.",
        "",
        "**Meta-training** (training rollouts of the last 10 iterations, per task):",
        "",
        "| UEs | success rate | system EE (Mbit/J) | reward |",
        "|---:|---:|---:|---:|",
    ]
    for n in c["meta_tasks"]:
        lines.append(f"| {n} | {_ms([_final(m, f'success_{n}ue') for m in data['meta']], '{:.2f}')} | "
                     f"{_ms([_final(m, f'system_ee_{n}ue') for m in data['meta']])} | {_ms([_final(m, f'reward_{n}ue') for m in data['meta']], '{:.2f}')} |")
    lines += ["", f"**Convergence in adaptation** (training rollouts): iterations until the 5-iteration mean success rate "
                  f"reaches {c['success_target']}; system EE over the first 10 and the last 10 iterations.", "",
              "| scenario | method | iterations to target | EE first 10 | EE last 10 |", "|---|---|---:|---:|---:|"]
    for scen in scens:
        for m in methods:
            hits, first, last = _convergence(data, scen, m, c["success_target"])
            lines.append(f"| {scen} | {m} | {_hits_text(hits, n_it)} | {_ms(first)} | {_ms(last)} |")
    for table, title in (("test", "policies' modes (most likely subchannel, mean power)"), ("test_sampled", "sampled actions")):
        lines += ["", f"**Test over random layouts**, {title}: system EE in Mbit/J (UEs that succeed) / success rate.", "",
                  "| method | " + " | ".join(scens) + " |", "|---|" + "---:|" * len(scens)]
        for m in methods:
            cells = [f"{_ms([r['system_ee'] for r in data[table][f'{s}/{m}']])} / {_ms([r['success'] for r in data[table][f'{s}/{m}']], '{:.2f}')}" for s in scens]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if "MFRL_samples" in methods and "MFRL" in methods:
        lines += ["", "**Ablation: η weights vs sample counts** (MFRL vs MFRL_samples; every UE takes as many steps, so "
                      "sample-count weights are uniform). Spread of η over the UEs: mean over seeds of max η − min η.", "",
                  "| scenario | test EE η | test EE samples | success η | success samples | η spread |", "|---|---:|---:|---:|---:|---:|"]
        for s in scens:
            spread = [max(e) - min(e) for e in data["eta"][f"{s}/MFRL"]]
            lines.append(f"| {s} | {_ms([r['system_ee'] for r in data['test'][f'{s}/MFRL']])} | {_ms([r['system_ee'] for r in data['test'][f'{s}/MFRL_samples']])} | "
                         f"{_ms([r['success'] for r in data['test'][f'{s}/MFRL']], '{:.2f}')} | {_ms([r['success'] for r in data['test'][f'{s}/MFRL_samples']], '{:.2f}')} | "
                         f"{_ms(spread, '{:.3f}')} |")
    lines += ["", f"**EE vs number of UEs** (meta model shared by every UE, {c['meta_scenario']}, sampled actions):", "",
              "| UEs | system EE (Mbit/J) | success rate |", "|---:|---:|---:|"]
    for n in c["ue_counts"]:
        rows = [u[str(n)] for u in data["ue_counts"]]
        lines.append(f"| {n} | {_ms([r['system_ee'] for r in rows])} | {_ms([r['success'] for r in rows], '{:.2f}')} |")
    lines += ["", _claims(data, methods, scens), ""]
    return "\n".join(lines)


def _ppo_of(c: dict[str, Any]) -> HybridPPOConfig:
    return HybridPPOConfig(**{"learning_rate": c["learning_rate"], **c.get("ppo", {})})


def _claims(data: dict[str, Any], methods: list[str], scens: list[str]) -> str:
    """The paper's qualitative claims beside what these numbers say (computed, not written in)."""
    c = data["config"]
    rows = ["**The paper's claims beside ours** (test = policies' modes; 'yes' where our means agree):", "",
            "| paper (figures only) | here | agrees |", "|---|---|---|"]

    def conv_rows(a: str, b: str) -> None:
        if a not in methods or b not in methods:
            return
        for s in scens:
            ha, fa, la = _convergence(data, s, a, c["success_target"])
            hb, fb, lb = _convergence(data, s, b, c["success_target"])
            score = lambda h: float(np.mean([x if x is not None else c["adapt_iterations"] + 1 for x in h]))  # noqa: E731
            faster, higher = score(ha) < score(hb), np.mean(la) > np.mean(lb)
            rows.append(f"| meta initialisation converges faster and higher ({a} vs {b}, {s}) | iterations to target "
                        f"{score(ha):.0f} vs {score(hb):.0f}; final EE {np.mean(la):.1f} vs {np.mean(lb):.1f} | "
                        f"{'yes' if faster and higher else 'faster only' if faster else 'higher only' if higher else 'no'} |")

    conv_rows("MFRL", "FRL")
    conv_rows("MRL", "MARL")
    compared = [m for m in ("MFRL", "MRL", "FRL", "MFRL_early", "MARL") if m in methods]
    for s in scens:
        ee = {m: _mean_of(data, "test", s, m, "system_ee") for m in compared}
        best = max(ee, key=ee.get)
        rows.append(f"| MFRL has the highest test EE ({s}) | best: {best} ({ee[best]:.1f}); MFRL {ee.get('MFRL', float('nan')):.1f} | "
                    f"{'yes' if best == 'MFRL' else 'no'} |")
        if "MFRL_early" in ee and "FRL" in ee and "MARL" in ee:
            ok = ee["MFRL_early"] > ee["FRL"] and ee["MFRL_early"] > ee["MARL"]
            rows.append(f"| MFRL_early beats FRL and MARL ({s}) | {ee['MFRL_early']:.1f} vs {ee['FRL']:.1f}, {ee['MARL']:.1f} | {'yes' if ok else 'no'} |")
    counts = [float(np.mean([u[str(n)]["system_ee"] for u in data["ue_counts"]])) for n in c["ue_counts"]]
    rising = all(b >= a for a, b in zip(counts, counts[1:]))
    rows.append(f"| EE rises with the number of UEs and saturates | {' → '.join(f'{x:.0f}' for x in counts)} for "
                f"{list(c['ue_counts'])} UEs | {'rises' if rising else 'no'} |")
    rows.append("| (not isolated in the paper) η weights vs sample counts | see the ablation table | — |")
    return "\n".join(rows)


# -- plots ----------------------------------------------------------------------------------------------
def make_plots(data: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = data["config"]
    scens, methods = c["scenarios"], [m for m in ("MFRL", "FRL", "MRL", "MARL", "MFRL_early") if m in c["methods"]]
    paths = []
    fig, axes = plt.subplots(2, len(scens), figsize=(4.2 * len(scens), 6.4), sharex=True, squeeze=False)
    for j, s in enumerate(scens):
        for row, key in enumerate(("system_ee", "success")):
            ax = axes[row, j]
            for m in methods:
                x = np.array([[p[key] for p in cur] for cur in data["adapt"][f"{s}/{m}"]])
                mean, sd = x.mean(0), x.std(0)
                it = np.arange(1, x.shape[1] + 1)
                ax.plot(it, mean, label=m, ls="-" if m in ("MFRL", "MRL", "MFRL_early") else "--")
                ax.fill_between(it, mean - sd, mean + sd, alpha=0.15)
            ax.set_title(s if row == 0 else "")
            ax.set_ylabel("system EE (Mbit/J)" if key == "system_ee" else "success rate")
            if row == 1:
                ax.set_xlabel("adaptation iteration")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Adaptation with (solid) and without (dashed) meta-initialisation; mean ± sd over seeds")
    fig.tight_layout()
    paths.append(out / "mfrl_convergence.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for n in c["meta_tasks"]:
        x = np.array([[p[f"success_{n}ue"] for p in cur] for cur in data["meta"]])
        ax.plot(np.arange(1, x.shape[1] + 1), x.mean(0), label=f"{n} UEs")
        ax.fill_between(np.arange(1, x.shape[1] + 1), x.mean(0) - x.std(0), x.mean(0) + x.std(0), alpha=0.15)
    ax.set_xlabel("meta-training iteration")
    ax.set_ylabel("success rate")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "mfrl_meta.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    all_methods = [m for m in METHODS if m in c["methods"]]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(all_methods)
    for k, m in enumerate(all_methods):
        vals = [[r["system_ee"] for r in data["test"][f"{s}/{m}"]] for s in scens]
        ax.bar(np.arange(len(scens)) + k * width, [np.mean(v) for v in vals], width, yerr=[np.std(v) for v in vals], label=m)
    ax.set_xticks(np.arange(len(scens)) + 0.4 - width / 2, scens)
    ax.set_ylabel("test system EE (Mbit/J)")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    paths.append(out / "mfrl_test_ee.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths


def run_mfrl(cfg: MfrlRecipeConfig, log: Callable[[str], None] = print) -> str:
    """Train (or, with ``reuse``, reload) every method, write the tables, JSON and plots; returns the tables."""
    unknown = sorted(set(cfg.methods) - set(METHODS))
    if unknown:
        raise ValueError(f"recipe mfrl: unknown methods {unknown}; allowed: {list(METHODS)}")
    if cfg.part not in ("all", "mfrl", "slicing"):
        raise ValueError(f"recipe mfrl: --part must be all, mfrl or slicing, got {cfg.part!r}")
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    def stored(name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``DIR/name.json`` when reusing and it exists, else computed and saved there."""
        path = out / f"{name}.json"
        if cfg.reuse and path.exists():
            return json.loads(path.read_text())
        result = compute()
        path.write_text(json.dumps(result))
        return result

    tables = []
    if cfg.part in ("all", "mfrl"):
        data = stored("mfrl", lambda: _train_all(cfg, log))
        tables.append(build_tables(data))
        (out / "mfrl.md").write_text(tables[-1])
        make_plots(data, out)
    if cfg.part in ("all", "slicing"):
        sdata = stored("mfrl_slicing", lambda: {**_train_slicing(cfg, log), "config": _plain(cfg)})
        tables.append(build_slicing_table(sdata, sdata["config"]))
        (out / "mfrl_slicing.md").write_text(tables[-1])
    return "\n".join(tables)


def _plain(cfg: MfrlRecipeConfig) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, help="independent seeds, each with its own meta-training (default 3)")
    p.add_argument("--meta-iterations", type=int, help="PPO iterations of meta-training (default 100)")
    p.add_argument("--adapt-iterations", type=int, help="PPO iterations of each adaptation (default 80)")
    p.add_argument("--fed-every", type=int, help="iterations between federated averaging rounds (default 10)")
    p.add_argument("--eval-layouts", type=int, help="random test layouts per scenario (default 100, as the paper)")
    p.add_argument("--learning-rate", type=float, help="Adam step size (default 3e-4; paper 5e-7 / 1e-6)")
    p.add_argument("--part", choices=("all", "mfrl", "slicing"), help="the MFRL problem, the slicing meta-initialisation, or both (default)")


def run(**kwargs: Any) -> str:
    if "methods" in kwargs:
        kwargs["methods"] = tuple(kwargs["methods"])
    return run_mfrl(MfrlRecipeConfig(**kwargs))
