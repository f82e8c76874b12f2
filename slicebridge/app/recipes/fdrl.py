# SPDX-License-Identifier: GPL-2.0-only
"""FDRL (docs/RESEARCH.md, system 1): federated DQN per edge cell on non-IID cells, judged in litesim and ns-3.

``slicebridge recipe fdrl [--out DIR] [--rounds N] [--seeds 11,12,13] ...`` (or ``run_recipe("fdrl", ...)``)
reproduces system 1 on ``scenarios/fdrl_10edge.yaml``: one DQN per edge cell (MLP 64-32, lr 1e-3,
γ 0.99, ε-greedy fixed at 0.1 as in the paper) trained four ways — FedAvg, FedProx (μ 0.1),
centralised (one DQN on every cell's transitions) and independent (no sharing) — for every seed of
``seeds``. Then:

1. every final policy, the need-first oracle (perfect knowledge of the coming period's demand), equal
   shares and random moves are evaluated greedily in litesim on fixed episode seeds and in ns-3 on a
   shorter window (:func:`slicebridge.app.recipes.confirm.confirm_in_ns3`);
2. the heterogeneity sweep: the scenario's per-cell load spread and phase shifts scaled by each
   ``heterogeneity`` level (0 = IID cells) and trained with ``sweep_methods``;
3. the client-count sweep: ``clients`` edge cells (an evenly spaced subset of the scenario's cells,
   keeping their load settings), trained with ``sweep_methods``.

Metrics, mean ± sd over seeds: reward α·U − β·C (mean per cell); resource utilisation (PRB share used
per cell); satisfaction U (mean over slices with traffic of min(delivered/offered, 1)); rounds to
target (every ``probe_every`` rounds the policy as it stands — federated: the global model — plays one
greedy litesim episode of ``probe_steps`` steps; the first probed round whose reward closes half the gap
between equal shares and the oracle on that episode); mean training reward over all rounds (ε-greedy,
the area under the learning curve); bytes per
round (model bytes up + down; raw float32 transitions for the centralised learner); training time.
Outputs in ``out_dir``: ``fdrl.md`` (the tables), ``fdrl.json`` (histories and per-seed values),
one run directory per method and seed.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from slicebridge.agents.baselines import Baseline
from slicebridge.agents.training import RunResult, TrainConfig, cell_metrics
from slicebridge.app.evaluate import BaselinePolicy
from slicebridge.app.recipes.common import SCENARIOS, as_scenario, greedy_episodes, method_config, smoothed, train_methods
from slicebridge.app.recipes.confirm import Confirmation, confirm_in_ns3
from slicebridge.bridge import kpi as K
from slicebridge.bridge.backend import DemandOracle
from slicebridge.bridge.contract import PRB_BANDWIDTH_HZ
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import Scenario

NAME = "fdrl"
METHOD_LABELS = {"fedavg": "FDRL (FedAvg)", "fedprox": "FDRL (FedProx)", "centralised": "centralised DRL", "independent": "non-federated DRL"}
# docs/RESEARCH.md system 1: (utilisation %, satisfaction %, epochs to target) for FDRL / centralised / non-federated
PAPER = {"fedavg": (85.2, 92.7, 80), "fedprox": (85.2, 92.7, 80), "centralised": (90.1, 95.3, 60), "independent": (78.5, 85.1, 120)}


@dataclass
class FdrlConfig:
    scenario: str | Path = SCENARIOS / "fdrl_10edge.yaml"
    out_dir: Path = Path("runs/fdrl")
    rounds: int = 60  # paper: 100 rounds
    local_steps: int = 50  # decision steps per round and instance
    num_envs: int = 4
    fraction_fit: float = 0.5  # paper: client fraction 0.5
    proximal_mu: float = 0.1  # paper: FedProx μ 0.1
    seeds: tuple[int, ...] = (11, 12, 13)
    seed: int | None = None  # one seed instead of ``seeds`` (the CLI's --seed)
    eval_episodes: int = 2
    eval_seed: int = 1000
    methods: tuple[str, ...] = ("fedavg", "fedprox", "centralised", "independent")
    heterogeneity: tuple[float, ...] = (0.0,)  # sweep levels besides the scenario's own spread (1.0)
    clients: tuple[int, ...] = (5,)  # client counts besides the scenario's own
    sweep_methods: tuple[str, ...] = ("fedavg", "fedprox", "independent")
    sweep_rounds: int | None = 30  # None: ``rounds``
    ns3: bool = True
    ns3_episodes: int = 1
    ns3_steps: int = 20
    ns3_workers: int = 2
    ns3_random: bool = False  # random moves in ns-3 too (else litesim only: it saves one ns-3 run)
    probe_every: int = 4  # rounds between greedy probes of the policy as it stands (convergence)
    probe_steps: int = 50
    progress: bool = True
    reuse: bool = False  # take finished runs (history.json + policy/) from out_dir instead of training
    dqn: dict[str, Any] = field(default_factory=lambda: dict(
        learning_rate=1e-3, gamma=0.99, buffer_size=20000, learning_starts=200, batch_size=64, train_freq=4,
        gradient_steps=1, target_update_interval=500,
        # the paper's ε-greedy: fixed at 0.1 from the first step (no annealing)
        exploration_fraction=1.0, exploration_initial_eps=0.1, exploration_final_eps=0.1,
    ))
    net_arch: tuple[int, ...] = (64, 32)  # paper: hidden 64 and 32


class NeedFirstShares(Baseline):
    """The oracle: each slice gets the PRB share its coming demand needs (``demand() [C, S]`` Mbit/s over
    the slice's last spectral efficiency, times ``headroom``), the rest split equally; when the needs
    exceed the cell they are scaled down in proportion. With an edge section the same rule gives the
    compute shares (need = demand · cycles per bit / capacity); the share rows are then ``[..., 2S]``."""

    name = "need-first oracle"

    def __init__(self, scenario: Scenario, demand: Callable[[], np.ndarray], headroom: float = 1.2):
        super().__init__(scenario)
        self.demand = demand
        self.headroom = headroom
        self.cell_hz = scenario.radio.bandwidth_prb * PRB_BANDWIDTH_HZ
        self.edge = scenario.edge
        self.min_compute = np.array(scenario.min_compute_shares())

    def _fill(self, need: np.ndarray, floor: np.ndarray) -> np.ndarray:
        need = np.maximum(self.headroom * need, floor)
        total = need.sum(-1, keepdims=True)
        return np.where(total > 1.0, need / total, need + (1.0 - total) / self.n_slices)

    def act(self, kpis: np.ndarray) -> np.ndarray:
        """``kpis [B, C, S, K]`` → share rows ``[B, C, S]`` (bandwidth) or ``[B, C, 2S]`` (with compute)."""
        kpis = np.asarray(kpis, dtype=np.float64)
        offered = np.broadcast_to(np.asarray(self.demand(), dtype=np.float64), kpis.shape[:-1])
        se = kpis[..., K.SPECTRAL_EFF]
        # a slice that sent nothing last period has no efficiency of its own: take the cell's best
        se = np.maximum(np.where(se > 0, se, se.max(-1, keepdims=True)), 0.1)
        bandwidth = self._fill(offered * 1e6 / (se * self.cell_hz), self.min_share)
        if self.edge is None:
            return bandwidth
        compute = self._fill(offered * 1e6 * np.array(self.edge.cycles_per_bit) / self.edge.capacity_cycles_per_s, self.min_compute)
        return np.concatenate([bandwidth, compute], axis=-1)


def need_oracle(scenario: Scenario) -> Callable[[Any], BaselinePolicy]:
    """Policy factory ``core -> Policy`` for :class:`NeedFirstShares` fed by litesim's demand oracle."""

    def make(core: Any) -> BaselinePolicy:
        if not isinstance(core.backend, DemandOracle):
            raise ValueError(f"the need-first oracle needs a simulator that knows the coming demand (DemandOracle); "
                             f"{type(core.backend).__name__} does not: evaluate it in litesim")
        return BaselinePolicy(NeedFirstShares.name, NeedFirstShares(scenario, core.backend.offered_load_mbps), scenario)

    return make


def heterogeneous(scenario: Scenario, level: float) -> Scenario:
    """The scenario with its per-cell load spread (scale − 1) and phase shifts multiplied by ``level`` (0: IID)."""
    scales, shifts = scenario.cell_load()
    return scenario.with_updates(name=f"{scenario.name}-het{level:g}", topology={
        "cell_load_scale": [1.0 + level * (s - 1.0) for s in scales],
        "cell_load_shift_steps": [int(round(level * k)) for k in shifts]})


def with_clients(scenario: Scenario, n: int) -> Scenario:
    """``n`` edge cells: an evenly spaced subset of the scenario's cells, each keeping its load settings."""
    if not 1 <= n <= scenario.n_cells:
        raise ValueError(f"clients: {n} is not between 1 and the scenario's {scenario.n_cells} cells")
    if scenario.topology.sectors != 1:
        raise ValueError("clients: the client-count sweep needs one sector per site (one edge cell per site)")
    keep = np.linspace(0, scenario.n_cells - 1, n).round().astype(int)
    scales, shifts = scenario.cell_load()
    return scenario.with_updates(name=f"{scenario.name}-{n}clients", topology={
        "sites": n, "cell_load_scale": [scales[i] for i in keep], "cell_load_shift_steps": [shifts[i] for i in keep]})


def _metrics(scenario: Scenario) -> Callable[[np.ndarray, np.ndarray], dict[str, float]]:
    reward = RewardFunction(scenario)

    def metrics(kpis: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        m = cell_metrics(kpis, reward)
        out = {"utilisation": float(m["utilisation"].mean()), "satisfaction": float(m["satisfaction"].mean())}
        if scenario.edge is not None:  # mean processor-sharing sojourn at the edge server, over slices with traffic
            busy = kpis[..., K.OFFERED] > 0
            out["compute_delay_ms"] = float(kpis[..., K.COMPUTE_DELAY][busy].mean()) if busy.any() else 0.0
        return out

    return metrics


@dataclass
class _Group:
    """One scenario's trained runs: ``runs[method]`` one RunResult per seed."""

    scenario: Scenario
    runs: dict[str, list[RunResult]]
    times: dict[str, list[float]]


def _train_group(cfg: FdrlConfig, scenario: Scenario, methods: tuple[str, ...], rounds: int, folder: Path, seeds: tuple[int, ...],
                 log: Callable[[str], None]) -> _Group:
    configs: dict[str, TrainConfig] = {}
    for method in methods:
        for seed in seeds:
            configs[f"{method}-s{seed}"] = method_config(
                scenario, method, "dqn", cfg.dqn, rounds * cfg.local_steps * cfg.num_envs, folder / f"{method}-s{seed}",
                num_envs=cfg.num_envs, local_steps=cfg.local_steps, seed=seed, progress=cfg.progress, fraction_fit=cfg.fraction_fit,
                proximal_mu=cfg.proximal_mu, net_arch=list(cfg.net_arch))
            configs[f"{method}-s{seed}"].round_hook = _probe_hook(cfg, scenario)
    runs, times = train_methods(configs, scenario, cfg.reuse, log, "fdrl",
                                f"{scenario.name}: {rounds} rounds × {cfg.local_steps} steps × {cfg.num_envs} instances")
    hook = _probe_hook(cfg, scenario)
    for run in runs.values():  # the hook skips the last round (federated: the global model reaches every cell only then)
        if run.history and "greedy_reward" not in run.history[-1] and len(run.history) % cfg.probe_every == 0:
            hook(len(run.history), run.policy, run.history[-1])
    return _Group(scenario, {m: [runs[f"{m}-s{s}"] for s in seeds] for m in methods},
                  {m: [times[f"{m}-s{s}"] for s in seeds] for m in methods})


def _rounds_to(history: list[dict[str, Any]], target: float) -> int | None:
    """First round whose greedy reward (the round hook's probe) reaches ``target``."""
    return next((int(h["round"]) for h in history if h.get("greedy_reward", -np.inf) >= target), None)


def _probe_scenario(cfg: FdrlConfig, scenario: Scenario) -> Scenario:
    return scenario.with_updates(control={"episode_steps": min(cfg.probe_steps, scenario.control.episode_steps)})


def _probe_hook(cfg: FdrlConfig, scenario: Scenario) -> Callable[[int, Any, dict[str, Any]], None]:
    """Round hook: every ``probe_every`` rounds, the greedy reward of the policy as it stands (federated: the
    global model) over one litesim episode of ``probe_steps`` steps from ``eval_seed``, kept in the history."""
    probe = _probe_scenario(cfg, scenario)

    def hook(round_no: int, policy: Any, record: dict[str, Any]) -> None:
        if round_no % cfg.probe_every == 0:
            record["greedy_reward"] = float(greedy_episodes(probe, policy, 1, cfg.eval_seed)[0].rewards.mean())

    return hook


def convergence_target(cfg: FdrlConfig, scenario: Scenario) -> tuple[float, float, float]:
    """``(target, equal, oracle)``: greedy rewards of equal shares and the oracle on the probe episode; the
    target closes half the gap between them."""
    probe = _probe_scenario(cfg, scenario)
    equal, oracle = (float(greedy_episodes(probe, p, 1, cfg.eval_seed)[0].rewards.mean()) for p in ("equal", need_oracle(probe)))
    return equal + 0.5 * (oracle - equal), equal, oracle


def _convergence(group: _Group, target: float) -> dict[str, list[int | None]]:
    """Each run's rounds until its probed greedy reward reaches ``target``."""
    return {m: [_rounds_to(r.history, target) for r in runs] for m, runs in group.runs.items()}


def _pm(values: list[float] | np.ndarray, fmt: str = "{:.3f}", scale: float = 1.0) -> str:
    x = scale * np.asarray(values, dtype=np.float64)
    return fmt.format(x.mean()) + (f" ± {fmt.format(x.std(ddof=1))}" if x.size > 1 else "")


def _rounds_cell(hits: list[int | None], rounds: int) -> str:
    reached = [h for h in hits if h is not None]
    text = _pm(reached, "{:.0f}") if reached else f"> {rounds}"
    return text + (f" ({len(reached)}/{len(hits)} reached)" if len(reached) < len(hits) else "")


def _main_table(cfg: FdrlConfig, group: _Group, conf: Confirmation, target: float, hits: dict[str, list[int | None]], rounds: int) -> list[str]:
    lines = [
        "| method | reward | resource utilisation | satisfaction | rounds to target | mean training reward | bytes / round | training time | "
        "paper: utilisation / satisfaction / epochs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in conf.rows():
        vals = conf.values["litesim"][row]
        cells = [row, _pm([v["reward"] for v in vals]), _pm([v["utilisation"] for v in vals], "{:.1f}", 100) + " %",
                 _pm([v["satisfaction"] for v in vals], "{:.1f}", 100) + " %"]
        method = next((m for m, label in METHOD_LABELS.items() if label == row), None)
        if method is None:
            cells += ["—", "—", "—", "—", "—"]
        else:
            nbytes = np.mean([r.summary()["bytes_per_round"] for r in group.runs[method]])
            cells += [_rounds_cell(hits[method], rounds), _pm([np.mean([h["reward"] for h in r.history]) for r in group.runs[method]]),
                      "0" if nbytes == 0 else f"{nbytes / 1e6:.3f} MB",
                      _pm(group.times[method], "{:.0f}") + " s", "{} % / {} % / {}".format(*PAPER[method])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Rounds to target: first probed round (every {cfg.probe_every} rounds; greedy, one {cfg.probe_steps}-step litesim "
                 f"episode from seed {cfg.eval_seed}) whose reward reaches {target:.3f}, half-way from equal shares to the oracle "
                 f"on that episode.")
    return lines


def _advantage_table(conf: Confirmation, methods: list[str], baseline: str) -> list[str]:
    lines = [f"| method | reward − {baseline}, litesim | beyond 2 SE | reward − {baseline}, ns-3 | beyond 2 SE |", "|---|---:|:-:|---:|:-:|"]
    for row in methods:
        cells = [row]
        for sim in ("litesim", "ns3"):
            if row not in conf.values[sim] or baseline not in conf.values[sim]:
                cells += ["—", "—"]
                continue
            mean, se = conf.advantage(row, baseline, sim)
            cells += [f"{mean:+.4f} ± {se:.4f} (SE)", "yes" if mean > 2 * se and mean > 0 else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _sweep_lines(title: str, points: list[tuple[str, _Group, Confirmation, dict[str, list[int | None]]]], methods: tuple[str, ...],
                 rounds: dict[str, int]) -> list[str]:
    head = " | ".join(f"{METHOD_LABELS[m]} reward | rounds" for m in methods)
    lines = [f"| {title} | {head} |", "|---|" + "---:|" * (2 * len(methods))]
    for label, group, conf, hits in points:
        cells = [label]
        for m in methods:
            cells += [_pm(conf.per_seed("litesim", METHOD_LABELS[m])), _rounds_cell(hits[m], rounds[label])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def run_fdrl(cfg: FdrlConfig, log: Callable[[str], None] = print) -> str:
    """Train and evaluate every method, seed and sweep point; returns the Markdown tables (also in out_dir/fdrl.md)."""
    t_start = time.perf_counter()
    scenario = as_scenario(cfg.scenario)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = (cfg.seed,) if cfg.seed is not None else tuple(cfg.seeds)
    sweep_rounds = cfg.sweep_rounds or cfg.rounds
    metrics = _metrics(scenario)

    group = _train_group(cfg, scenario, tuple(cfg.methods), cfg.rounds, out / "main", seeds, log)
    rows: dict[str, list[Any]] = {METHOD_LABELS.get(m, m): [r.policy for r in group.runs[m]] for m in cfg.methods}
    rows.update({"oracle (need-first, known demand)": [need_oracle(scenario)], "equal shares": ["equal"], "random moves": ["random"]})
    log(f"[fdrl] evaluating {len(rows)} rows in litesim{' and ns-3' if cfg.ns3 else ''} (beside the sweeps' training)")
    # ns-3 mostly waits on its own process: the confirmation runs in a thread while the sweeps train
    pool = ThreadPoolExecutor(max_workers=1)
    pending = pool.submit(confirm_in_ns3, scenario, rows, metrics, litesim_episodes=cfg.eval_episodes, ns3_episodes=cfg.ns3_episodes,
                          ns3_steps=cfg.ns3_steps, seed=cfg.eval_seed, ns3_workers=cfg.ns3_workers, ns3=cfg.ns3,
                          litesim_only=() if cfg.ns3_random else ("random moves",), log=log)
    target = convergence_target(cfg, scenario)[0]
    hits = _convergence(group, target)

    sweep_methods = tuple(m for m in cfg.sweep_methods if m in cfg.methods)
    sweeps: dict[str, list[tuple[str, _Group, Confirmation | None, dict[str, list[int | None]]]]] = {"het": [], "clients": []}
    points = [("het", f"{level:g}", level == 1.0, lambda lv=level: heterogeneous(scenario, lv)) for level in sorted({*cfg.heterogeneity, 1.0})]
    points += [("clients", f"{n}", n == scenario.n_cells, lambda k=n: with_clients(scenario, k)) for n in sorted({*cfg.clients, scenario.n_cells})]
    for kind, label, is_main, make in points:
        if is_main:  # the main runs are this sweep point (their evaluation is filled in below)
            sweeps[kind].append((f"{label} (main)", group, None, hits))
            continue
        sc = make()
        g = _train_group(cfg, sc, sweep_methods, sweep_rounds, out / f"{kind}{label}", seeds, log)
        c = confirm_in_ns3(sc, {METHOD_LABELS[m]: [r.policy for r in g.runs[m]] for m in sweep_methods}, _metrics(sc),
                           litesim_episodes=cfg.eval_episodes, seed=cfg.eval_seed, ns3=False, log=log)
        sweeps[kind].append((label, g, c, _convergence(g, convergence_target(cfg, sc)[0])))
    try:
        conf = pending.result()
    finally:
        pool.shutdown()
    het_points, client_points = ([(p[0], p[1], p[2] or conf, p[3]) for p in sweeps[k]] for k in ("het", "clients"))

    rounds_of = {p[0]: (cfg.rounds if "main" in p[0] else sweep_rounds) for p in het_points + client_points}
    learned = [METHOD_LABELS.get(m, m) for m in cfg.methods]
    lines = [
        f"FDRL on `{scenario.name}`: {scenario.n_cells} edge cells × {scenario.ues_per_cell} UEs, DQN {list(cfg.net_arch)}, ε = 0.1 fixed, "
        f"{cfg.rounds} rounds × {cfg.local_steps} steps × {cfg.num_envs} instances, client fraction {cfg.fraction_fit}, FedProx μ "
        f"{cfg.proximal_mu}, seeds {', '.join(map(str, seeds))} (mean ± sd over seeds); reward {scenario.reward.name} "
        f"α = {scenario.reward.alpha:g}, β = {scenario.reward.beta:g}.",
        "",
        f"### litesim ({cfg.eval_episodes} greedy episodes × {scenario.control.episode_steps} steps from seed {cfg.eval_seed})",
        "",
        *_main_table(cfg, group, conf, target, hits, cfg.rounds),
        "",
        "### Learned policies against equal shares (paired per seed on the same episodes; SE = sd/√seeds)",
        "",
        *_advantage_table(conf, learned, "equal shares"),
        "",
        "### litesim and ns-3 side by side",
        "",
        conf.settings() + ".",
        "",
        conf.table({"compute_delay_ms": "compute delay (ms)"}, percent=("utilisation", "satisfaction")).rstrip(),
        "",
        f"### Heterogeneity sweep (litesim; per-cell load spread and phase shift × level; sweep points {sweep_rounds} rounds)",
        "",
        *_sweep_lines("heterogeneity", het_points, sweep_methods, rounds_of),
        "",
        f"### Client-count sweep (litesim; evenly spaced subsets of the cells; sweep points {sweep_rounds} rounds)",
        "",
        *_sweep_lines("edge cells", client_points, sweep_methods, rounds_of),
        "",
        f"Wall time of the whole recipe: {(time.perf_counter() - t_start) / 60:.1f} min.",
    ]
    table = "\n".join(lines) + "\n"
    (out / "fdrl.md").write_text(table)
    record = {
        "config": json.loads(json.dumps(asdict(cfg), default=str)),
        "target": target, "rounds_to_target": hits,
        "histories": {f"{m}-s{s}": r.history for m, runs in group.runs.items() for s, r in zip(seeds, runs)},
        "values": conf.values, "ns3_skipped": conf.skipped, "tau": conf.tau(),
        "sweeps": {f"het {p[0]}": p[2].values["litesim"] for p in het_points} | {f"clients {p[0]}": p[2].values["litesim"] for p in client_points},
    }
    (out / "fdrl.json").write_text(json.dumps(record, indent=1, default=str))
    return table


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", help="scenario YAML (default scenarios/fdrl_10edge.yaml; with edge compute: scenarios/fdrl_10edge_compute.yaml)")
    p.add_argument("--rounds", type=int, help="federation rounds (default 60)")
    p.add_argument("--local-steps", type=int, help="decision steps per round (default 50)")
    p.add_argument("--seeds", type=_ints, help="comma-separated training seeds (default 11,12,13)")
    p.add_argument("--heterogeneity", type=_floats, help="sweep levels besides 1 (the scenario's spread), comma-separated (default 0)")
    p.add_argument("--clients", type=_ints, help="client counts besides the scenario's cells, comma-separated (default 5)")
    p.add_argument("--sweep-rounds", type=int, help="rounds of the sweep points (default 30)")
    p.add_argument("--ns3-steps", type=int, help="ns-3 evaluation window in decision steps (default 20)")
    p.add_argument("--ns3-workers", type=int, help="ns-3 processes at a time (default 2)")
    p.add_argument("--ns3-random", action="store_true", default=None, help="evaluate random moves in ns-3 too")
    p.add_argument("--no-ns3", dest="ns3", action="store_false", default=None, help="litesim only")


def run(**kwargs: Any) -> str:
    return run_fdrl(FdrlConfig(**kwargs))
