"""Training per-cell agents on one batched simulation: centralised, independent or federated.

``train(TrainConfig(...)) -> RunResult`` is the entry point the CLI and the recipes call.

Modes (C cells, B batched scenario instances, see ``agents.lockstep``):

- ``centralised``: one model on every cell's data (a VecEnv of B·C envs), nothing to average;
- ``independent``: one model per cell (a VecEnv of B envs each), nothing shared;
- ``federated``: one model per cell (the clients); every ``local_steps`` core steps (rounded up to
  the algorithm's rollout/train period) the server runs a round of the chosen strategy over the
  selected clients' online networks (``agents.params``), then sends the new global model to the
  clients selected for the next round. FedProx's proximal term acts through gradient hooks. After
  the last round every client gets the global model, which is the policy that is saved.

Agent grouping (``grouping``): ``cell`` (default) gives each model a cell, as above. ``slice`` and
``cell_slice`` give the models per-slice agents over :class:`slicebridge.envs.slice_units.SliceUnitCore`
(one unit per cell and slice, observation [demand, predicted demand, share], a percent-change action,
the paper's per-slice reward): ``slice`` one model per slice across the cells, ``cell_slice`` one per
(cell, slice). Modes and federation strategies apply to the groups alike: a client is a group, and its
sample count ``|D_m|`` (the FedAvg weight ``|D_m|/|D|``) is its transitions in the round
(steps × instances × units in the group).

Engines (``engine``): PPO, DQN-family, TD3, DDPG and SAC models train as one stacked network
(``agents.batched_ppo``, ``agents.batched_dqn``, ``agents.batched_td3``, ``agents.batched_sac``: one forward
pass per step and one backward pass and Adam step per minibatch or gradient step for all models) when it
supports them, ``auto``; otherwise (what ``unsupported_reason`` names, e.g. gSDE), or with ``per_model``, every model
runs its own SB3 ``learn()`` in lockstep threads (``agents.lockstep``), the reference the batched paths
are tested against. Both give the same models for the same seeds (to float rounding) and write the
same checkpoints and policies.
``throughput_settings`` holds the batch and PPO settings ``slicebridge train`` and ``compare`` use on
litesim (many instances per step, so the cost per transition falls with the batch).

Every mode reports per-round windows (reward, resource utilisation, service satisfaction, SLA success
rate, bytes up/down) and checkpoints at round ends: an interrupted run (even by kill -9) started
again with the same configuration resumes from the last complete round and ends in the same state
as an uninterrupted run (same seeds, same machine, a deterministic simulator). A checkpoint holds
the models (with optimiser state and replay buffers), the federation server, the counters and
random generators, and where the running episode stands (``SlicingCore.state_dict``: its seed and
the shares applied so far) — no simulator state, so it works for every simulator, ns-3 included:
the resumed run re-simulates the episode's steps so far on a fresh backend.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from slicebridge.agents.algorithms import (
    algorithm_class,
    build_model,
    check_mode,
    configure_logging,
    is_off_policy,
)
from slicebridge.agents import batched_dqn, batched_ppo, batched_sac, batched_td3
from slicebridge.agents.lockstep import CellGroupVecEnv, LockstepHub, run_workers
from slicebridge.agents.params import (
    federated_tensors,
    get_params,
    set_params,
    trainable_tensors,
)
from slicebridge.agents.policy import POLICY_DIR, MultiCellPolicy, load_policy, save_policy
from slicebridge.bridge import kpi as K
from slicebridge.bridge.reward import service_satisfaction
from slicebridge.bridge.scenario import Scenario
from slicebridge.federation.checkpoint import (
    load_latest,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from slicebridge.federation.fedprox import ProximalTerm
from slicebridge.federation.params import DEFAULT_NORM_FACTOR, params_nbytes
from slicebridge.federation.server import FederatedServer
from slicebridge.federation.strategies import make_strategy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import StateDependentNoiseDistribution
from stable_baselines3.common.utils import configure_logger

from slicebridge.envs import SlicingCore, make_core
from slicebridge.envs.slice_units import GROUPINGS, SliceUnitCore, unit_groups

log = logging.getLogger("slicebridge.training")
MODES = ("centralised", "independent", "federated")
#: algorithm → (batched trainer, why it cannot train given models); the others train per model
BATCHED_ENGINES: dict[str, tuple[Callable[..., Any], Callable[..., str | None]]] = {
    "ppo": (batched_ppo.BatchedPPO, batched_ppo.unsupported_reason),
    **{name: (batched_dqn.BatchedDQN, batched_dqn.unsupported_reason) for name in ("dqn", "ddqn", "dueling_ddqn")},
    **{name: (batched_td3.BatchedTD3, batched_td3.unsupported_reason) for name in ("td3", "ddpg")},
    "sac": (batched_sac.BatchedSAC, batched_sac.unsupported_reason),
}
ENGINES = ("auto", "batched", "per_model")


@dataclass
class TrainConfig:
    """What to train and how. Budgets count environment steps (transitions) per cell."""

    scenario: Scenario | str | Path = "scenarios/tiny.yaml"
    simulator: str = "litesim"
    algorithm: str = "ppo"  # ppo | sac | td3 | ddpg | dqn
    mode: str = "federated"  # centralised | independent | federated
    strategy: str = "fedavg"  # fedavg | fedprox | success | uniform | median | trimmed_mean
    strategy_kwargs: dict[str, Any] = field(default_factory=dict)
    total_steps: int = 20000  # transitions per cell
    num_envs: int = 4  # B: batched scenario instances
    local_steps: int = 64  # core steps per round (per-client local training between averages)
    fraction_fit: float = 1.0  # share of clients selected per round
    proximal_mu: float = 0.1  # FedProx μ (strategy fedprox)
    max_update_norm: float | None = None  # fixed bound: reject updates with a larger L2 norm
    update_norm_factor: float | None = DEFAULT_NORM_FACTOR  # else: reject above this × the round's median norm (None: off)
    codec: str = "none"  # update compression: none | fp16 | int8
    seed: int | None = None  # default: the scenario's seed
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    net_arch: list[int] | None = None
    run_dir: Path | str | None = None
    tensorboard: bool = True
    progress: bool = True
    checkpoint_every: int = 1  # rounds between checkpoints (0: never)
    resume: bool = True  # continue from run_dir/checkpoints when there is one
    success_threshold: float = 0.95  # a cell-step "succeeds" when every slice's SLA satisfaction ≥ this
    timeout_s: float = 600.0  # a worker waiting longer than this for the others aborts the run
    stop_after_rounds: int | None = None  # stop (as if interrupted) after this many rounds — tests
    verbose: int = 0
    backend_factory: Callable[..., Any] | None = None  # (scenario, num_envs, seed) -> backend; default by simulator
    grouping: str = "cell"  # cell | slice | cell_slice (see the module docstring)
    predictor: Callable[[np.ndarray], np.ndarray] | None = None  # per-slice units: demand twin (None: persistence)
    unit_window: int = 8  # per-slice units: demand steps the predictor sees
    max_change: float = 0.5  # per-slice units, continuous: the largest percent change per step (0.5 = ±50 %)
    init_policy: Path | str | None = None  # start every model from this saved policy (meta-initialisation, agents.meta_init)
    # auto: models train as one stacked network (BATCHED_ENGINES) when one supports them, else
    # one SB3 learn() per model in lockstep threads (per_model, the reference); batched: refuse otherwise
    engine: str = "auto"  # auto | batched | per_model
    model_init: Callable[[int, BaseAlgorithm], None] | None = None  # called as (k, model) on every fresh model after init_policy (agents.transfer)
    # called as (round, policy, record) at the end of every round but the last: the policy as it stands (federated:
    # the global model on every cell), the round's history record, which the hook may extend (e.g. a greedy reward)
    round_hook: Callable[[int, "MultiCellPolicy", dict[str, Any]], None] | None = None


#: What ``slicebridge train`` runs with on litesim unless told otherwise (issue 17, measured by
#: benchmarks/bench_training.py, docs/BENCHMARKS.md "training"): many instances per lockstep step, and
#: for PPO (batched) a round and a rollout every 16 steps with minibatches of 512 — 8 per model and
#: epoch at 256 instances, so the cost per transition falls with the batch instead of staying at one
#: 64-sample gradient step per 64 transitions and epoch — and, for the 8x fewer, larger steps, a step
#: size of 1e-3 (SB3: 3e-4).
LITESIM_NUM_ENVS = 256
PPO_LOCAL_STEPS = 16
PPO_ALGO_KWARGS = {"batch_size": 512, "learning_rate": 1e-3}
#: ``compare``'s training (the README main job, a fixed budget of 50,000 steps per cell): 256 instances
#: give PPO only 13 updates (rollouts of 16 steps x 256 instances) in that budget and a lower evaluated
#: reward than before issue 17 on every seed measured; 64 instances keep the 49 updates of 1,024
#: transitions per model the per-model path made (16 instances x 64 steps), at the same or better
#: reward (docs/BENCHMARKS.md "training: settings for the main job"), minibatches of 128 (8 per epoch).
FIXED_BUDGET_NUM_ENVS = 64
FIXED_BUDGET_PPO_ALGO_KWARGS = {"batch_size": 128, "learning_rate": 1e-3}


def throughput_settings(simulator: str, algorithm: str, fixed_budget: bool = False) -> dict[str, Any]:
    """TrainConfig fields (``num_envs``, ``local_steps``, ``algo_kwargs``) for fast training on
    ``simulator``; empty where there is nothing measured to change (ns-3: one process per instance).
    ``fixed_budget``: the settings for ``compare``'s budget (more PPO updates per transition)."""
    if simulator != "litesim" or algorithm != "ppo":
        return {}
    if fixed_budget:
        return {"num_envs": FIXED_BUDGET_NUM_ENVS, "local_steps": PPO_LOCAL_STEPS, "algo_kwargs": dict(FIXED_BUDGET_PPO_ALGO_KWARGS)}
    return {"num_envs": LITESIM_NUM_ENVS, "local_steps": PPO_LOCAL_STEPS, "algo_kwargs": dict(PPO_ALGO_KWARGS)}


class ConfigChangedError(ValueError):
    """The run directory holds a checkpoint made with another configuration.

    ``changes``: ``(field, value in the checkpoint, value now)`` for every differing TrainConfig field.
    """

    def __init__(self, checkpoint: Path, changes: list[tuple[str, Any, Any]]):
        self.checkpoint = Path(checkpoint)
        self.changes = changes
        listed = "; ".join(f"{k}: {_short(old)} in the checkpoint, {_short(new)} now" for k, old, new in changes)
        super().__init__(
            f"{self.checkpoint.parent.parent} holds a checkpoint ({self.checkpoint.name}) of a run with another "
            f"configuration ({listed}). Either run again with the checkpoint's settings to continue it, start afresh "
            f"in this directory with resume=False (the old checkpoints are moved to checkpoints.previous), "
            f"or give the run a new directory."
        )


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def config_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Fields whose value differs between a checkpoint's configuration and this run's.

    A field the checkpoint does not hold (added to TrainConfig since) counts as its default.
    """
    return _diff(saved, now, json.loads(json.dumps(asdict(TrainConfig()), default=str)), "")


def _diff(saved: Any, now: Any, defaults: dict[str, Any], prefix: str) -> list[tuple[str, Any, Any]]:
    if not (isinstance(saved, dict) and isinstance(now, dict)):
        return [] if saved == now else [(prefix.rstrip("."), saved, now)]
    out = []
    for key in sorted(set(saved) | set(now), key=str):
        default = defaults.get(key) if not prefix else None
        out += _diff(saved.get(key, default), now.get(key, default), defaults, f"{prefix}{key}.")
    return out


@dataclass
class RunResult:
    run_dir: Path | None
    policy: MultiCellPolicy
    history: list[dict[str, Any]]  # one record per round window
    wall_time_s: float
    core_steps: int
    interrupted: bool = False
    resumed_round: int | None = None  # the checkpointed round this run continued from
    models: list[BaseAlgorithm] = field(default_factory=list, repr=False)

    def summary(self, last: int = 3) -> dict[str, float]:
        """Means of the last ``last`` rounds' reward, utilisation, satisfaction, success; bytes/round."""
        tail = self.history[-last:] if self.history else []
        out = {k: float(np.mean([h[k] for h in tail])) if tail else float("nan") for k in ("reward", "utilisation", "satisfaction", "success_rate")}
        out["bytes_per_round"] = float(np.mean([h["bytes_up"] + h["bytes_down"] for h in self.history])) if self.history else 0.0
        out["rounds"] = len(self.history)
        return out

    def rounds_to(self, target: float) -> int | None:
        """First round whose window reward reaches ``target`` (None if never)."""
        for h in self.history:
            if h["reward"] >= target:
                return int(h["round"])
        return None


class _Interrupted(Exception):
    """Raised by the round action when ``stop_after_rounds`` is reached."""


def cell_metrics(kpis: np.ndarray, reward: Any, threshold: float = 0.95) -> dict[str, np.ndarray]:
    """Per-cell metrics of KPI tensors ``[..., C, S, 11]`` → each ``[..., C]``.

    ``utilisation``: PRB share used (Σ over slices); ``satisfaction``: FDRL's U, mean over slices with
    traffic of min(delivered/offered, 1); ``success``: 1 where every slice's SLA satisfaction
    (``RewardFunction.satisfaction``) is at least ``threshold``.
    """
    return {
        "utilisation": kpis[..., K.PRB_USED].sum(axis=-1),
        "satisfaction": service_satisfaction(kpis),
        "success": (reward.satisfaction(kpis).min(axis=-1) >= threshold).astype(np.float64),
    }


class KpiMeter:
    """Per-cell sums over a round window: reward, PRB utilisation, satisfaction, SLA success; and,
    never cleared, each cell's cumulative SLA success rate η = β / T since training started (β: the
    steps in which every slice of the cell met its SLA, averaged over the B instances; T: steps)."""

    def __init__(self, core: Any, threshold: float):
        self.core = core
        self.threshold = threshold
        self.success_total = np.zeros(core.n_cells)  # β per cell
        self.steps_total = 0  # T
        self.clear()

    def clear(self) -> None:
        c = self.core.n_cells
        self.sums = {k: np.zeros(c) for k in ("reward", "utilisation", "satisfaction", "success")}
        self.count = 0  # core steps
        self.samples = 0  # transitions per cell (steps × B)

    def __call__(self, obs: np.ndarray, rewards: np.ndarray, infos: list[dict]) -> None:
        kpis = np.stack([info["kpis"] for info in infos])  # [B, C, S, 11]
        self.sums["reward"] += rewards.mean(axis=0)
        for key, value in cell_metrics(kpis, self.core.reward, self.threshold).items():
            self.sums[key] += value.mean(axis=0)
            if key == "success":
                self.success_total += value.mean(axis=0)
        self.steps_total += 1
        self.count += 1
        self.samples += rewards.shape[0]

    def window(self) -> dict[str, np.ndarray]:
        n = max(self.count, 1)
        return {k: v / n for k, v in self.sums.items()}

    def cumulative_success(self) -> np.ndarray:
        """η per cell ``[C]``: share of all steps so far in which every slice met its SLA."""
        return self.success_total / max(self.steps_total, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"sums": {k: v.copy() for k, v in self.sums.items()}, "count": self.count, "samples": self.samples,
                "success_total": self.success_total.copy(), "steps_total": self.steps_total}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums = {k: np.array(v, copy=True) for k, v in state["sums"].items()}
        self.count, self.samples = int(state["count"]), int(state["samples"])
        self.success_total = np.array(state.get("success_total", np.zeros(self.core.n_cells)), copy=True)
        self.steps_total = int(state.get("steps_total", 0))


class _RoundCallback(BaseCallback):
    """Meets the other workers at round boundaries (rollout starts) and at the end of training."""

    def __init__(self, hub: LockstepHub, k: int, local_steps: int, resumed: bool = False):
        super().__init__()
        self.hub, self.k, self.local_steps = hub, k, local_steps
        self.resume_pending = resumed

    def _on_rollout_start(self) -> None:
        if self.resume_pending:
            # the checkpoint was taken at this very point of the first rollout start; SB3 has just
            # redrawn what it draws before it (gSDE noise): put the checkpointed state back
            self.resume_pending = False
            self.hub.sync(self.k, "resume")
        elif self.hub.steps - self.hub.last_round_step >= self.local_steps:
            self.hub.sync(self.k, "round")

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self.hub.sync(self.k, "final")


class _Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        scenario = cfg.scenario if isinstance(cfg.scenario, Scenario) else Scenario.from_yaml(cfg.scenario)
        self.scenario = scenario
        if cfg.mode not in MODES:
            raise ValueError(f"unknown training mode {cfg.mode!r}; allowed: {list(MODES)}")
        if cfg.engine not in ENGINES:
            raise ValueError(f"unknown training engine {cfg.engine!r}; allowed: {list(ENGINES)}")
        if cfg.grouping not in GROUPINGS:
            raise ValueError(f"unknown agent grouping {cfg.grouping!r}; allowed: {list(GROUPINGS)}")
        self.per_slice = cfg.grouping != "cell"
        # per-slice units act by percent changes: discrete levels for DQN, a value in [-1, 1] otherwise
        check_mode(cfg.algorithm, ("discrete" if cfg.algorithm == "dqn" else "continuous") if self.per_slice else scenario.action.mode)
        self.seed = scenario.seed if cfg.seed is None else int(cfg.seed)
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir is not None else None
        self.ckpt_dir = self.run_dir / "checkpoints" if self.run_dir is not None else None
        self.history: list[dict[str, Any]] = []
        self.models: list[BaseAlgorithm] = []
        self.prox: list[ProximalTerm | None] = []
        self.server: FederatedServer | None = None
        self.bar = None
        self._resume_state: dict[str, Any] | None = None
        self.batched: batched_ppo.BatchedPPO | batched_dqn.BatchedDQN | batched_td3.BatchedTD3 | batched_sac.BatchedSAC | None = None

    # -- set-up ------------------------------------------------------------------------------------
    def _groups(self, n_cells: int) -> list[list[int]]:
        """Units (cells, or per-slice units) of each model."""
        if self.cfg.mode == "centralised":
            return [list(range(n_cells))]
        if self.per_slice:
            return unit_groups(self.cfg.grouping, self.scenario.n_cells, self.scenario.n_slices)
        return [[c] for c in range(n_cells)]

    def _tb(self) -> str | None:
        return str(self.run_dir / "tb") if (self.cfg.tensorboard and self.run_dir is not None) else None

    def setup(self) -> bool:
        """Build core, hub, models, server; restore a checkpoint if asked. Returns True if resumed."""
        cfg = self.cfg
        if not cfg.resume:
            self._set_aside_checkpoints()
        found = load_latest(self.ckpt_dir) if (cfg.resume and self.ckpt_dir is not None) else None
        path, state = found if found is not None else (None, None)
        if state is not None:
            self._check_same_config(state, path)
        if cfg.backend_factory is not None:
            self.core = SlicingCore(self.scenario, cfg.backend_factory(self.scenario, cfg.num_envs, self.seed), seed=self.seed)
        else:
            self.core = make_core(self.scenario, cfg.simulator, num_envs=cfg.num_envs, seed=self.seed)
        if self.per_slice:
            self.core = SliceUnitCore(self.core, cfg.predictor, window=cfg.unit_window, max_change=cfg.max_change,
                                      discrete=cfg.algorithm == "dqn")
        if state is not None:
            # no simulator state in a checkpoint (an ns-3 process cannot be saved): a fresh backend
            # re-simulates the running episode from its seed and the shares applied so far
            self.core.load_state_dict(state["env"])
        groups = self._groups(self.core.n_cells)
        self.hub = LockstepHub(self.core, groups, timeout=cfg.timeout_s)
        self.meter = KpiMeter(self.core, cfg.success_threshold)
        self.hub.step_listeners.append(self.meter)
        self.proxies = [CellGroupVecEnv(self.hub, k) for k in range(len(groups))]
        cls = algorithm_class(cfg.algorithm)
        algo_kwargs = dict(cfg.algo_kwargs)
        if cfg.algorithm == "ppo":
            # one rollout per round unless told otherwise (SB3's 2048-step rollouts would outlast
            # small budgets and make rounds 2048 steps long)
            algo_kwargs.setdefault("n_steps", max(1, min(cfg.local_steps, 2048)))
        if state is None:
            self.models = [
                build_model(cfg.algorithm, proxy, seed=self.seed + 1000 * k, algo_kwargs=algo_kwargs, net_arch=cfg.net_arch,
                            tensorboard_log=self._tb(), verbose=cfg.verbose)
                for k, proxy in enumerate(self.proxies)
            ]
        else:
            self.models = []
            for k, proxy in enumerate(self.proxies):
                model = cls.load(path / f"model_{k}.zip", env=proxy, device="cpu", force_reset=False, tensorboard_log=self._tb())
                configure_logging(model, self._tb(), cfg.verbose)  # the saved model carries no logger
                if is_off_policy(model):
                    model.load_replay_buffer(path / f"replay_{k}.pkl")
                model.action_space.np_random.bit_generator.state = state["action_space_rng"][k]
                self.models.append(model)
        if state is None and cfg.init_policy is not None:
            self._initialise_from(cfg.init_policy)
        if state is None and cfg.model_init is not None:
            for k, model in enumerate(self.models):
                cfg.model_init(k, model)
        if cfg.mode == "federated":
            strategy_kwargs = dict(cfg.strategy_kwargs)
            if cfg.strategy == "fedprox":
                strategy_kwargs.setdefault("proximal_mu", cfg.proximal_mu)
            strategy = make_strategy(cfg.strategy, fraction_fit=cfg.fraction_fit, max_update_norm=cfg.max_update_norm,
                                     norm_factor=cfg.update_norm_factor, **strategy_kwargs)
            self.server = FederatedServer(strategy, list(range(len(groups))), seed=self.seed, codec=cfg.codec)
            mu = float(strategy.client_config(1).get("proximal_mu", 0.0))
            self.prox = [ProximalTerm(trainable_tensors(m), mu) if mu > 0 else None for m in self.models]
            fed = federated_tensors(self.models[0])
            self._trainable_index = [i for i, t in enumerate(fed) if any(t is p for p in trainable_tensors(self.models[0]))]
        if state is not None:
            self.hub.load_state_dict(state["hub"])
            self.meter.load_state_dict(state["meter"])
            self.history = list(state["history"])
            if self.server is not None:
                self.server.load_state_dict(state["server"])
                for term, anchor in zip(self.prox, state["anchors"]):
                    if term is not None and anchor is not None:
                        term.anchor(anchor)
            restore_rng_states(state["rng"])  # again at the first rollout start ("resume" sync)
            self._resume_state = state
            log.info("resumed from %s (round %d, %d core steps)", path, len(self.history), self.hub.steps)
            self._choose_engine()
            return True
        if self.server is not None:
            # round 0: one initial model for every client, then the first round's selection
            self.server.initialize(get_params(self.models[0]))
            for m in self.models[1:]:
                set_params(m, self.server.global_params)
            self._send_global(self.server.begin_round())
        self._choose_engine()
        return False

    def _choose_engine(self) -> None:
        """A batched engine where one applies (``engine`` auto/batched), else the per-model threads."""
        cfg = self.cfg
        if cfg.engine == "per_model":
            return
        engine = BATCHED_ENGINES.get(cfg.algorithm)
        sizes = [len(g) for g in self.hub.groups]
        reason = f"algorithm {cfg.algorithm}" if engine is None else engine[1](self.models, sizes)
        if reason is not None:
            if cfg.engine == "batched":
                raise ValueError(f"engine 'batched' cannot train this run: {reason}; use engine 'auto' or 'per_model'")
            log.info("per-model training (the batched engine does not apply: %s)", reason)
            return
        self.batched = engine[0](self.models, self.hub, max(1, cfg.local_steps))
        if any(term is not None for term in self.prox):
            self.batched.proximal = self._proximal_grads()

    def _proximal_grads(self) -> Callable[[list[Any]], None]:
        """FedProx for a batched engine: adds ``μ (w_k − w_global)`` to model k's slice of each stacked gradient,
        the gradient hook of ``ProximalTerm`` (which sees no backward pass on this path)."""
        assert self.batched is not None
        index = {n: i for i, n in enumerate(self.batched.policy_names)}
        slots = [[index[n] for t in term.parameters for n, p in m.policy.named_parameters() if p is t] if term is not None else []
                 for m, term in zip(self.models, self.prox)]

        def add(params: list[Any]) -> None:
            for k, (term, slot) in enumerate(zip(self.prox, slots)):
                if term is None or term.mu == 0.0 or not term._anchors:
                    continue
                for i, anchor in zip(slot, term._anchors):
                    if params[i].grad is not None:
                        params[i].grad[k] += term.mu * (params[i][k].detach() - anchor)

        return add

    def _config_fingerprint(self) -> dict[str, Any]:
        d = asdict(self.cfg)
        # the engine is not part of it: both engines write and read the same checkpoints
        for k in ("run_dir", "progress", "resume", "stop_after_rounds", "timeout_s", "verbose", "tensorboard", "scenario", "backend_factory",
                  "predictor", "model_init", "engine", "round_hook"):
            d.pop(k, None)
        d["scenario"] = self.scenario.model_dump(mode="json")
        d["seed"] = self.seed
        return json.loads(json.dumps(d, default=str))

    def _check_same_config(self, state: dict[str, Any], path: Path) -> None:
        changes = config_changes(state["config"], self._config_fingerprint())
        if changes:
            raise ConfigChangedError(path, changes)

    def _set_aside_checkpoints(self) -> None:
        """Starting afresh (resume=False): old rounds would mix with the new ones, so move them aside."""
        if self.ckpt_dir is None or not self.ckpt_dir.exists():
            return
        aside = self.ckpt_dir.with_name(self.ckpt_dir.name + ".previous")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(self.ckpt_dir, aside)
        log.warning("starting afresh (no resume): the earlier checkpoints of %s are moved to %s", self.run_dir, aside)

    def _initialise_from(self, path: Path | str) -> None:
        """Copy the networks of a saved policy into every fresh model (its first model when it has fewer)."""
        src = load_policy(path)
        if src.meta.get("algorithm") != self.cfg.algorithm:
            raise ValueError(f"init_policy {path}: trained with {src.meta.get('algorithm')!r}, this run uses {self.cfg.algorithm!r}")
        for k, model in enumerate(self.models):
            try:
                model.policy.load_state_dict(src.models[min(k, len(src.models) - 1)].policy.state_dict())
            except RuntimeError as exc:
                raise ValueError(f"init_policy {path}: its networks do not fit this run's (same net_arch and "
                                 f"observation size needed): {exc}") from None

    # -- federation --------------------------------------------------------------------------------
    def _send_global(self, clients: list[int]) -> None:
        assert self.server is not None
        g = self.server.global_params
        for cid in clients:
            set_params(self.models[cid], g)
            term = self.prox[cid] if self.prox else None
            if term is not None:
                term.anchor([g[i] for i in self._trainable_index])

    def round_action(self, tag: str) -> None:
        if tag == "resume":
            for model, noise in zip(self.models, self._resume_state["sde_noise"]):
                _set_sde_noise(model, noise)
            restore_rng_states(self._resume_state["rng"])
            self._resume_state = None
            return
        final = tag == "final"
        hub = self.hub
        new_steps = hub.steps - hub.last_round_step
        if new_steps > 0:
            self._close_window(final)
        if final and self.server is not None:
            self._send_global(list(range(len(self.models))))
            return
        if final or new_steps == 0:
            return
        n_rounds = len(self.history)
        if self.ckpt_dir is not None and self.cfg.checkpoint_every > 0 and n_rounds % self.cfg.checkpoint_every == 0:
            hub.last_round_step = hub.steps  # as it will be once this action returns
            self._checkpoint(n_rounds)
        if self.cfg.stop_after_rounds is not None and n_rounds >= self.cfg.stop_after_rounds:
            raise _Interrupted()

    def _close_window(self, final: bool) -> None:
        w = self.meter.window()
        record: dict[str, Any] = {
            "round": len(self.history) + 1,
            "core_steps": self.hub.steps,
            "reward": float(w["reward"].mean()),
            "utilisation": float(w["utilisation"].mean()),
            "satisfaction": float(w["satisfaction"].mean()),
            "success_rate": float(w["success"].mean()),
            "cell_reward": w["reward"].tolist(),
            "bytes_up": 0,
            "bytes_down": 0,
            "elapsed_s": time.time() - self.t0,
        }
        if self.server is not None:
            server = self.server
            eta = self.meter.cumulative_success()
            for cid in server.selected:
                cells = self.hub.groups[cid]
                # success_rate is what the `success` strategy weights by: MFRL's cumulative η = β / T
                metrics = {"success_rate": float(eta[cells].mean()), "round_success_rate": float(w["success"][cells].mean()),
                           "reward": float(w["reward"][cells].mean())}
                server.submit(cid, get_params(self.models[cid]), self.meter.samples * len(cells), metrics)
            rec = server.end_round()
            if not final:
                self._send_global(server.begin_round())
            record.update(
                selected=rec.selected, rejected=rec.rejected,
                bytes_up=int(sum(rec.bytes_up.values())), bytes_down=int(sum(rec.bytes_down.values())),
            )
        elif self.cfg.mode == "centralised":
            # raw transitions (obs, action, reward, next obs) shipped to the central learner, float32
            core = self.core
            act = int(np.prod(core.cell_action_space.shape, dtype=np.int64))  # 1 for a Discrete index
            record["bytes_up"] = int(self.meter.samples * core.n_cells * (2 * core.obs_dim + act + 1) * 4)
        for k, model in enumerate(self.models):
            for key in ("reward", "utilisation", "satisfaction", "success_rate", "bytes_up", "bytes_down"):
                model.logger.record(f"federation/{key}", record[key])
        self.history.append(record)
        self.meter.clear()
        if self.cfg.round_hook is not None and not final:
            self.cfg.round_hook(len(self.history), self._policy_now(), record)

    def _policy_now(self) -> MultiCellPolicy:
        """The policy at a round's end (workers paused): federated, the global model just sent to the next
        round's clients, on every cell; otherwise each cell's own model."""
        cfg = self.cfg
        mode = ("discrete" if cfg.algorithm == "dqn" else "continuous") if self.per_slice else self.scenario.action.mode
        meta = {"name": f"{cfg.algorithm}-{cfg.mode}-round{len(self.history)}", "action_mode": mode}
        if self.server is not None and self.server.selected:
            return MultiCellPolicy([self.models[self.server.selected[0]]], [0] * self.core.n_cells, meta)
        cell_model = [k for c in range(self.core.n_cells) for k, g in enumerate(self.hub.groups) if c in g]
        return MultiCellPolicy(self.models, cell_model, meta)

    def _checkpoint(self, n_rounds: int) -> None:
        state = {
            "config": self._config_fingerprint(),
            "env": self.core.state_dict(),
            "hub": self.hub.state_dict(),
            "meter": self.meter.state_dict(),
            "history": list(self.history),
            "server": self.server.state_dict() if self.server is not None else None,
            "anchors": [([a.numpy().copy() for a in t._anchors] if t is not None and t._anchors else None) for t in self.prox],
            "action_space_rng": [m.action_space.np_random.bit_generator.state for m in self.models],
            "sde_noise": [_sde_noise(m) for m in self.models],
            "rng": rng_states(),
        }

        def extra(folder: Path) -> None:
            for k, model in enumerate(self.models):
                model.save(folder / f"model_{k}.zip")
                if is_off_policy(model):
                    model.save_replay_buffer(folder / f"replay_{k}.pkl")

        save_checkpoint(self.ckpt_dir, n_rounds, state, extra)

    # -- run ---------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        cfg = self.cfg
        self.t0 = time.time()
        resumed = self.setup()
        resumed_round = len(self.history) if resumed else None
        if resumed:
            self.t0 -= self.history[-1]["elapsed_s"] if self.history else 0.0
        self.hub.round_action = self.round_action
        per_cell = [len(g) for g in self.hub.groups]
        total_core_steps = int(np.ceil(cfg.total_steps / self.core.num_envs))
        if cfg.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_core_steps, initial=self.hub.steps, unit="step", desc=f"{cfg.mode} {cfg.algorithm}", leave=False, disable=None)
            self.hub.step_listeners.append(lambda *a: self.bar.update(1))
        bodies = []
        unit = "cell" if cfg.grouping == "cell" else cfg.grouping
        names = ["centralised" if cfg.mode == "centralised" else f"{cfg.mode}_{unit}{k}" for k in range(len(self.models))]
        for k, model in enumerate(self.models):
            target = total_core_steps * self.core.num_envs * per_cell[k]  # SB3 timesteps of this model
            remaining = max(target - model.num_timesteps, 0)
            callback = _RoundCallback(self.hub, k, max(1, cfg.local_steps), resumed=resumed)
            name = names[k]

            def body(model=model, remaining=remaining, callback=callback, name=name) -> None:
                model.learn(remaining, callback=callback, reset_num_timesteps=not resumed, tb_log_name=name)

            bodies.append(body)
        interrupted = False
        try:
            if self.batched is not None:
                for model, name in zip(self.models, names):
                    if not model._custom_logger:  # as model.learn() sets it up
                        model._logger = configure_logger(model.verbose, model.tensorboard_log, name, not resumed)
                self.batched.learn(total_core_steps, resumed=resumed)
            else:
                run_workers(self.hub, bodies)
        except _Interrupted:
            interrupted = True
        finally:
            if self.bar is not None:
                self.bar.close()
        wall = time.time() - self.t0
        meta = {
            "name": f"{cfg.algorithm}-{cfg.mode}" + (f"-{cfg.strategy}" if cfg.mode == "federated" else ""),
            "algorithm": cfg.algorithm,
            "mode": cfg.mode,
            "strategy": cfg.strategy if cfg.mode == "federated" else None,
            "scenario": self.scenario.model_dump(mode="json"),
            "scenario_name": self.scenario.name,
            "simulator": cfg.simulator,
            "action_mode": ("discrete" if cfg.algorithm == "dqn" else "continuous") if self.per_slice else self.scenario.action.mode,
            "grouping": cfg.grouping,
            "n_slices": self.scenario.n_slices,
            "obs_dim": self.core.obs_dim,
            "seed": self.seed,
            "model_seeds": [self.seed + 1000 * k for k in range(len(self.models))],
            "num_envs": self.core.num_envs,
            "total_steps": cfg.total_steps,
            "core_steps": self.hub.steps,
            "rounds": len(self.history),
            "wall_time_s": wall,
        }
        cell_model = [k for c in range(self.core.n_cells) for k, g in enumerate(self.hub.groups) if c in g]
        policy = MultiCellPolicy(self.models, cell_model, meta)
        if self.run_dir is not None and not interrupted:
            save_policy(self.run_dir / POLICY_DIR, self.models, cell_model, meta)
            (self.run_dir / "history.json").write_text(json.dumps(self.history, indent=1, default=str))
            if self.ckpt_dir is not None and self.ckpt_dir.exists():
                shutil.rmtree(self.ckpt_dir)  # complete: the policy is saved; checkpoints are for crashes
        self.core.close()
        return RunResult(self.run_dir, policy, self.history, wall, self.hub.steps, interrupted, resumed_round, self.models)


def _sde_dists(model: BaseAlgorithm) -> list[Any]:
    owners = [model.policy, getattr(model.policy, "actor", None)]
    return [d for d in (getattr(o, "action_dist", None) for o in owners if o is not None) if isinstance(d, StateDependentNoiseDistribution)]


def _sde_noise(model: BaseAlgorithm) -> list[dict[str, Any]]:
    """gSDE exploration matrices in force (drawn at rollout start, before the round checkpoint)."""
    out = []
    for d in _sde_dists(model):
        out.append({k: getattr(d, k).detach().clone() for k in ("exploration_mat", "exploration_matrices") if getattr(d, k, None) is not None})
    return out


def _set_sde_noise(model: BaseAlgorithm, noise: list[dict[str, Any]]) -> None:
    for d, values in zip(_sde_dists(model), noise):
        for k, v in values.items():
            setattr(d, k, v.clone())


def train(config: TrainConfig) -> RunResult:
    """Train per-cell agents as ``config`` says; writes the policy and history into ``run_dir``."""
    return _Trainer(config).run()
