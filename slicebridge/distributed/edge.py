# SPDX-License-Identifier: GPL-2.0-only
"""An edge server as a federated client: its own simulator of its cells and its own SB3 agent.

:class:`EdgeClient` is the array-level client of :func:`slicebridge.federation.server.run_federated`
(``fit(params, config) -> (params, samples, metrics)``, ``state_dict``, ``load_state_dict``) and what
each Flower client process wraps (:mod:`slicebridge.distributed.flower`), so the in-process federation
and the Flower run execute the same code:

- client ``k`` simulates the scenario (all its cells, ``num_envs`` instances) seeded ``seed + 1000·k``,
  and trains one SB3 model on it (a ``SlicingVecEnv``: one action for all its cells);
- ``fit`` loads the global model (FedProx: anchors the proximal term at it), runs ``local_steps``
  decision steps of ``model.learn`` (one PPO rollout; ``train_freq`` periods off-policy) and returns
  the online networks (``agents.params``), its transitions ``local_steps · num_envs`` and its metrics
  (mean reward, SLA success rate of the round and cumulative η for ``success``);
- each client keeps its own Python/NumPy/torch generator states and swaps them in around ``fit``, so
  a client draws the same random numbers whether it shares a process with other clients (in-process)
  or runs alone (Flower); and it builds and trains its model on one torch thread whatever the
  process's setting (``agents.threads.torch_threads``): that is what makes the two runs give the same
  global model, to the bit.

:func:`initial_params` is the round-0 global model both servers start from (a model built with the
federation seed), so no client's weights decide it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from slicebridge.agents.algorithms import algorithm_class, build_model, configure_logging, is_off_policy
from slicebridge.agents.params import federated_tensors, get_params, set_params, trainable_tensors
from slicebridge.agents.threads import torch_threads
from slicebridge.agents.training import KpiMeter
from slicebridge.bridge.scenario import Scenario, load_scenario
from slicebridge.envs import SlicingVecEnv, make_core
from slicebridge.federation.checkpoint import restore_rng_states, rng_states
from slicebridge.federation.fedprox import ProximalTerm
from slicebridge.federation.params import DEFAULT_NORM_FACTOR, Params
from slicebridge.federation.server import FederatedServer, run_federated
from slicebridge.federation.strategies import make_strategy

#: seed offset between clients (as the lockstep trainer's models)
CLIENT_SEED_STRIDE = 1000


@dataclass
class EdgeConfig:
    """What every client and the server agree on (same values on every host)."""

    scenario: str = "tiny"  # a shipped scenario name or a YAML path readable on every host
    simulator: str = "litesim"  # litesim | ns3
    algorithm: str = "ppo"
    num_envs: int = 2  # scenario instances per client
    local_steps: int = 16  # decision steps per round
    seed: int = 0
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    net_arch: list[int] | None = None
    success_threshold: float = 0.95

    def load(self) -> Scenario:
        return load_scenario(self.scenario)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model_kwargs(cfg: EdgeConfig) -> dict[str, Any]:
    kwargs = dict(cfg.algo_kwargs)
    if cfg.algorithm == "ppo":
        kwargs.setdefault("n_steps", cfg.local_steps)  # one rollout per round, as the lockstep trainer
        kwargs.setdefault("batch_size", kwargs["n_steps"] * cfg.num_envs)
    return kwargs


class _Metered(VecEnvWrapper):
    """Feeds every step's per-cell rewards and KPIs to a :class:`KpiMeter`."""

    def __init__(self, venv: VecEnv, meter: KpiMeter):
        super().__init__(venv)
        self.meter = meter

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.meter(obs, np.stack([info["cell_rewards"] for info in infos]), infos)
        return obs, rewards, dones, infos


def initial_params(cfg: EdgeConfig) -> Params:
    """The round-0 global model: the online networks of a model built with the federation seed."""
    saved = rng_states()
    core = make_core(cfg.load(), cfg.simulator, num_envs=cfg.num_envs, seed=cfg.seed)
    try:
        with torch_threads(1):
            model = build_model(cfg.algorithm, SlicingVecEnv(core), seed=cfg.seed, algo_kwargs=_model_kwargs(cfg), net_arch=cfg.net_arch)
        return get_params(model)
    finally:
        core.close()
        restore_rng_states(saved)


class EdgeClient:
    """Client ``client_id``: its simulator, its SB3 model, its generators; see the module docstring."""

    def __init__(self, cfg: EdgeConfig, client_id: int):
        self.cfg = cfg
        self.client_id = int(client_id)
        self.seed = cfg.seed + CLIENT_SEED_STRIDE * self.client_id
        self.scenario = cfg.load()
        self.round = 0  # the last server round this client's state includes
        saved = rng_states()
        try:
            self.core = make_core(self.scenario, cfg.simulator, num_envs=cfg.num_envs, seed=self.seed)
            self.meter = KpiMeter(self.core, cfg.success_threshold)
            self.env = _Metered(SlicingVecEnv(self.core), self.meter)
            set_random_seed(self.seed)
            with torch_threads(1):
                self.model = build_model(cfg.algorithm, self.env, seed=self.seed, algo_kwargs=_model_kwargs(cfg), net_arch=cfg.net_arch)
            self._rng = rng_states()
        finally:
            restore_rng_states(saved)
        self._prox: ProximalTerm | None = None
        self._bind_model()

    def _bind_model(self) -> None:
        trainable = trainable_tensors(self.model)
        self._trainable_index = [i for i, t in enumerate(federated_tensors(self.model)) if any(t is p for p in trainable)]
        if self._prox is not None:
            self._prox.remove()
        self._prox = None

    def get_params(self) -> Params:
        return get_params(self.model)

    def fit(self, params: Params, config: dict[str, Any]) -> tuple[Params, int, dict[str, float]]:
        """Train ``local_steps`` decision steps from the global model ``params``."""
        set_params(self.model, params)
        mu = float(config.get("proximal_mu", 0.0))
        if mu > 0:
            if self._prox is None:
                self._prox = ProximalTerm(trainable_tensors(self.model), mu)
            self._prox.mu = mu
            self._prox.anchor([params[i] for i in self._trainable_index])
        saved = rng_states()
        restore_rng_states(self._rng)
        self.meter.clear()
        try:
            with torch_threads(1):
                self.model.learn(total_timesteps=self.cfg.local_steps * self.cfg.num_envs, reset_num_timesteps=False, progress_bar=False)
            self._rng = rng_states()
        finally:
            restore_rng_states(saved)
        self.round = int(config.get("server_round", self.round + 1))
        window = self.meter.window()
        metrics = {
            "reward": float(window["reward"].mean()),
            "round_success_rate": float(window["success"].mean()),
            "success_rate": float(self.meter.cumulative_success().mean()),
        }
        return get_params(self.model), int(self.meter.samples * self.core.n_cells), metrics

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Model (weights, optimiser, counters, last observation), replay buffer, the running episode,
        the meter and this client's generators: enough to continue bit for bit in a fresh process."""
        buf = io.BytesIO()
        self.model.save(buf)
        state: dict[str, Any] = {"model": buf.getvalue(), "env": self.core.state_dict(), "meter": self.meter.state_dict(),
                                 "rng": self._rng, "round": self.round,
                                 "action_space_rng": self.model.action_space.np_random.bit_generator.state}
        if is_off_policy(self.model):
            rb = io.BytesIO()
            self.model.save_replay_buffer(rb)
            state["replay"] = rb.getvalue()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.core.load_state_dict(state["env"])
        cls = algorithm_class(self.cfg.algorithm)
        self.model: BaseAlgorithm = cls.load(io.BytesIO(state["model"]), env=self.env, device="cpu", force_reset=False)
        configure_logging(self.model, None, 0)  # the saved model carries no logger (SB3 would make a temp folder)
        if "replay" in state:
            self.model.load_replay_buffer(io.BytesIO(state["replay"]))
        self.model.action_space.np_random.bit_generator.state = state["action_space_rng"]
        self.meter.load_state_dict(state["meter"])
        self._rng = state["rng"]
        self.round = int(state["round"])
        self._bind_model()

    def close(self) -> None:
        if self._prox is not None:
            self._prox.remove()
        self.core.close()




@dataclass
class FederationSpec:
    """The server side of a federation: how many clients, which strategy (``federation.strategies``)
    with its options, the update codec. With an :class:`EdgeConfig`, what every host must agree on."""

    clients: int = 3
    strategy: str = "fedavg"
    fraction_fit: float = 1.0
    proximal_mu: float = 0.1  # fedprox
    trim_fraction: float = 0.1  # trimmed_mean
    max_update_norm: float | None = None
    norm_factor: float | None = DEFAULT_NORM_FACTOR
    codec: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spec_digest(cfg: EdgeConfig, fed: FederationSpec) -> str:
    """A short fingerprint of both settings: a client refuses to train for a server whose differs."""
    text = json.dumps({"edge": cfg.to_dict(), "federation": fed.to_dict()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_server(cfg: EdgeConfig, fed: FederationSpec) -> FederatedServer:
    """Our server (strategy, selection generator, codec, accounting) with the round-0 global model."""
    kwargs: dict[str, Any] = {}
    if fed.strategy == "fedprox":
        kwargs["proximal_mu"] = fed.proximal_mu
    if fed.strategy == "trimmed_mean":
        kwargs["trim_fraction"] = fed.trim_fraction
    strategy = make_strategy(fed.strategy, fraction_fit=fed.fraction_fit, max_update_norm=fed.max_update_norm,
                             norm_factor=fed.norm_factor, **kwargs)
    server = FederatedServer(strategy, list(range(fed.clients)), seed=cfg.seed, codec=fed.codec)
    server.initialize(initial_params(cfg))
    return server


def run_in_process(cfg: EdgeConfig, fed: FederationSpec, rounds: int, checkpoint_dir: str | Path | None = None,
                   resume: bool = True, stop_after: int | None = None) -> FederatedServer:
    """The reference: the same server and clients, one process, ``federation.server.run_federated``."""
    server = make_server(cfg, fed)
    clients = {k: EdgeClient(cfg, k) for k in range(fed.clients)}
    try:
        run_federated(server, clients, rounds, checkpoint_dir=checkpoint_dir, resume=resume, stop_after=stop_after)
    finally:
        for client in clients.values():
            client.close()
    return server
