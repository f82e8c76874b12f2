"""Lockstep training: K SB3 models advance together on one batched multi-cell simulation.

Each model (worker) owns a group of cells (or of per-slice units, ``envs.slice_units``: the core's
``n_cells`` is then the unit count) and sees them through a :class:`CellGroupVecEnv` — an SB3
``VecEnv`` with ``num_envs = B · len(cells)`` (env index ``b · len(cells) + j`` is cell ``cells[j]``
of instance ``b``). Every worker runs its own unmodified ``model.learn()`` in its own thread, so
SB3's logging, callbacks, schedules and buffers all work. The proxies meet in a
:class:`LockstepHub`: the simulator steps once when every worker has handed in its actions.

Workers take turns: worker k runs only while it holds the turn; it hands the turn to k+1 when it
calls the hub, and the last worker advances the core (or runs the round action) and gives the turn
back to worker 0. So exactly one thread computes at any time, in a fixed order — the run is
deterministic for given seeds (the process-wide torch/NumPy generators are drawn from in the same
order every time) and can be checkpointed and resumed exactly. On two shared cores the GIL leaves
little to gain from running the models' Python concurrently.

Failure handling: if a worker raises, the hub is aborted; every other worker blocked in the hub
wakes with :class:`LockstepAborted` and :func:`run_workers` re-raises the original error. A worker
waiting longer than ``timeout`` seconds aborts the hub too, so nothing hangs forever.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from slicebridge.envs import SlicingCore, autoreset
from slicebridge.envs.vec_contract import InstanceView, PerEnvViews, upcoming_seeds


class LockstepAborted(RuntimeError):
    """Raised in a worker when another worker failed (or timed out) and the hub was aborted."""


class LockstepHub:
    """Rendezvous of K workers over one ``SlicingCore``; see the module docstring."""

    def __init__(self, core: SlicingCore, groups: Sequence[Sequence[int]], timeout: float = 600.0):
        self.core = core
        self.groups = [list(g) for g in groups]
        self.n_workers = len(self.groups)
        cells = sorted(c for g in self.groups for c in g)
        if cells != list(range(core.n_cells)):
            raise ValueError(f"worker cell groups {self.groups} must cover cells 0..{core.n_cells - 1} exactly once")
        self.timeout = float(timeout)
        self.discrete = isinstance(core.cell_action_space, spaces.Discrete)
        self._cv = threading.Condition()
        self._turn = 0
        self._pending: list[tuple[str, Any] | None] = [None] * self.n_workers
        self._finished = [False] * self.n_workers
        self._error: BaseException | None = None
        self.round_action: Callable[[str], None] | None = None
        self.step_listeners: list[Callable[[np.ndarray, np.ndarray, list[dict]], None]] = []
        # shared results of the last advance
        self.obs: np.ndarray | None = None
        self.rewards: np.ndarray | None = None
        self.dones: np.ndarray | None = None
        self.infos: list[dict] | None = None
        self.terminated: np.ndarray | None = None
        # counters (checkpointed)
        self.steps = 0  # core steps since the start of training
        self.last_round_step = 0
        self.episode_return = np.zeros((core.num_envs, core.n_cells))
        self.episode_length = np.zeros(core.num_envs, dtype=np.int64)
        self.start_time = time.time()

    # -- worker side -------------------------------------------------------------------------------
    def start(self, k: int) -> None:
        """Block until worker k holds the turn (call once, before the worker's first hub call)."""
        with self._cv:
            self._wait_turn(k)

    def reset(self, k: int) -> np.ndarray:
        self._rendezvous(k, "reset", None)
        return self.obs

    def step(self, k: int, actions: np.ndarray) -> None:
        self._rendezvous(k, "step", np.asarray(actions))

    def sync(self, k: int, tag: str) -> None:
        """All workers meet; the last runs ``round_action(tag)`` while the others wait."""
        self._rendezvous(k, "sync:" + tag, None)

    def finish(self, k: int) -> None:
        with self._cv:
            self._finished[k] = True
            if not all(self._finished):
                self._turn = k + 1 if k + 1 < self.n_workers else 0
            self._cv.notify_all()

    def abort(self, exc: BaseException) -> None:
        with self._cv:
            if self._error is None:
                self._error = exc
            self._cv.notify_all()

    @property
    def error(self) -> BaseException | None:
        return self._error

    # -- internals ---------------------------------------------------------------------------------
    def _wait_turn(self, k: int) -> None:
        deadline = time.monotonic() + self.timeout
        while self._turn != k and self._error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                err = TimeoutError(f"lockstep: worker {k} waited more than {self.timeout:.0f} s for the others")
                self._error = err
                self._cv.notify_all()
                raise err
            self._cv.wait(timeout=min(left, 1.0))
        if self._error is not None:
            raise LockstepAborted(f"worker {k} stopped: another worker failed ({self._error!r})")

    def _rendezvous(self, k: int, op: str, payload: Any) -> None:
        with self._cv:
            if self._error is not None:
                raise LockstepAborted(f"worker {k} stopped: another worker failed ({self._error!r})")
            if self._turn != k:
                raise RuntimeError(f"lockstep: worker {k} called the hub out of turn")
            if any(self._finished):
                done = [i for i, f in enumerate(self._finished) if f]
                err = RuntimeError(f"lockstep: workers {done} finished while worker {k} still calls {op!r}: the workers are out of step")
                self._error = err
                self._cv.notify_all()
                raise err
            self._pending[k] = (op, payload)
            if k == self.n_workers - 1:
                try:
                    self._advance()
                except BaseException as exc:
                    self._error = exc
                    self._cv.notify_all()
                    raise
                self._pending = [None] * self.n_workers
                self._turn = 0
            else:
                self._turn = k + 1
            self._cv.notify_all()
            self._wait_turn(k)

    def _advance(self) -> None:
        ops = {p[0] for p in self._pending}
        if len(ops) != 1:
            raise RuntimeError(f"lockstep: workers are out of step, they asked for {[p[0] for p in self._pending]}")
        op = ops.pop()
        if op == "reset":
            self.reset_all()
        elif op == "step":
            core = self.core
            tail = tuple(core.cell_action_space.shape)  # () for Discrete, (S,) per cell, (1,) per slice unit
            actions = np.zeros((core.num_envs, core.n_cells) + tail, dtype=np.int64 if self.discrete else np.float64)
            for cells, (_, act) in zip(self.groups, self._pending):
                actions[:, cells] = np.asarray(act).reshape((core.num_envs, len(cells)) + tail)
            self.step_all(actions)
        else:
            self.run_round(op.split(":", 1)[1])

    # -- one driver for every worker (agents.batched_ppo): the same effects without threads ----------
    def reset_all(self) -> np.ndarray:
        """Reset the core; returns the observations ``[B, C, F]`` (also in ``self.obs``)."""
        self.obs = self.core.reset()
        self.episode_return[:] = 0.0
        self.episode_length[:] = 0
        return self.obs

    def run_round(self, tag: str) -> None:
        """What the last worker runs when every worker has called ``sync(tag)``."""
        if self.round_action is not None:
            self.round_action(tag)
        self.last_round_step = self.steps

    def step_all(self, actions: np.ndarray) -> None:
        """Step the core with every cell's action ``[B, C, ...]``; results land in ``obs``, ``rewards``,
        ``dones``, ``terminated``, ``truncated``, ``infos`` (autoreset done, episode stats added)."""
        core = self.core
        obs, rewards, terminated, truncated, infos = core.step(actions)
        self.steps += 1
        self.episode_return += rewards
        self.episode_length += 1
        dones = terminated | truncated
        if dones.any():
            obs = autoreset(core, obs, infos)
        for b in np.flatnonzero(dones):
            infos[b]["episode_cells"] = {
                "r": self.episode_return[b].copy(),
                "l": int(self.episode_length[b]),
                "t": round(time.time() - self.start_time, 6),
            }
            self.episode_return[b] = 0.0
            self.episode_length[b] = 0
        self.obs, self.rewards, self.terminated, self.dones, self.infos = obs, rewards, terminated, dones, infos
        self.truncated = truncated
        for listener in self.step_listeners:
            listener(obs, rewards, infos)

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "last_round_step": self.last_round_step,
            "episode_return": self.episode_return.copy(),
            "episode_length": self.episode_length.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.last_round_step = int(state["last_round_step"])
        self.episode_return = np.array(state["episode_return"], copy=True)
        self.episode_length = np.array(state["episode_length"], copy=True)


class CellGroupVecEnv(PerEnvViews, VecEnv):
    """SB3 VecEnv view of worker ``k``'s cells over the hub: ``num_envs = B · len(cells)``.

    The per-env methods behave as ``DummyVecEnv``'s over one
    :class:`~slicebridge.envs.vec_contract.InstanceView` per index (``instance`` b, ``unit``
    ``cells[j]``). The trainer seeds the shared core, so ``seed(s)`` (SB3 calls it with each model's
    seed) leaves the simulator alone and returns the seeds the next reset gives each index's instance.
    """

    def __init__(self, hub: LockstepHub, k: int):
        self.hub, self.k = hub, k
        self.cells = hub.groups[k]
        core = hub.core
        self.n_instances = core.num_envs
        obs_space = copy.deepcopy(core.cell_observation_space)
        action_space = copy.deepcopy(core.cell_action_space)  # own copy: SB3 seeds and samples it per model
        self.views = [InstanceView(core, b, obs_space, action_space, unit=c) for b in range(core.num_envs) for c in self.cells]
        super().__init__(core.num_envs * len(self.cells), obs_space, action_space)
        self._actions: np.ndarray | None = None

    def _mine(self, arr: np.ndarray) -> np.ndarray:
        """[B, C, ...] → [B · len(cells), ...] for this worker's cells."""
        sub = arr[:, self.cells]
        return sub.reshape((-1,) + sub.shape[2:])

    def reset(self) -> np.ndarray:
        obs = self.hub.reset(self.k)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._mine(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        hub = self.hub
        hub.step(self.k, self._actions)
        obs = self._mine(hub.obs)
        rewards = self._mine(hub.rewards).astype(np.float32)
        dones = np.repeat(hub.dones, len(self.cells))
        infos = []
        for b in range(self.n_instances):
            src = hub.infos[b]
            for c in self.cells:
                info: dict[str, Any] = {"kpis": src["kpis"][c], "cell": c, "instance": b}
                if hub.dones[b]:
                    info["TimeLimit.truncated"] = bool(hub.truncated[b] and not hub.terminated[b])
                    info["terminal_observation"] = src["terminal_observation"][c]
                    ep = src.get("episode_cells")
                    if ep is not None:
                        info["episode"] = {"r": float(ep["r"][c]), "l": ep["l"], "t": ep["t"]}
                infos.append(info)
        return obs, rewards, dones, infos

    def close(self) -> None:
        pass  # the trainer owns the core

    def seed(self, seed: int | None = None) -> list[int]:
        return [int(s) for s in np.repeat(upcoming_seeds(self.hub.core), len(self.cells))]


def run_workers(hub: LockstepHub, bodies: Sequence[Callable[[], None]]) -> None:
    """Run ``bodies[k]()`` for every worker in its own thread, in lockstep; re-raise the first error."""
    if len(bodies) != hub.n_workers:
        raise ValueError(f"{len(bodies)} worker bodies for {hub.n_workers} workers")

    def wrap(k: int, body: Callable[[], None]) -> None:
        try:
            hub.start(k)
            body()
            hub.finish(k)
        except BaseException as exc:  # noqa: BLE001 - every failure must release the other workers
            hub.abort(exc)

    threads = [threading.Thread(target=wrap, args=(k, b), name=f"lockstep-{k}", daemon=True) for k, b in enumerate(bodies)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.5)
    except BaseException as exc:  # KeyboardInterrupt in the main thread: stop the workers
        hub.abort(exc)
        for t in threads:
            t.join(timeout=hub.timeout)
        raise
    if hub.error is not None:
        raise hub.error
