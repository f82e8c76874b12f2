"""Ns3Backend: ``num_envs`` copies of the ns-3 scenario program (slicebridge-lte, or slicebridge-nr) behind the backend interface.

Each copy is a separate ns-3 process speaking the ns3opengym wire (ZeroMQ REQ, see
:mod:`bridge.wire`) to its own endpoint in this Python process (by default ipc:// in a private
0700 directory; 127.0.0.1 on a free port when asked). All copies run concurrently: :meth:`Ns3Backend.step` sends every copy its shares, then waits
for all the next states with one ZeroMQ poller — no Python worker processes.

Lifecycle: :meth:`reset` ends the running copies (answering their pending state with
``stopSimReq=true``, then terminating what does not exit) and starts fresh runs with
``--config=<runtime json> --openGymEndpoint=ipc://PATH (or --openGymPort=PORT) --simSeed=SEED``; :meth:`close` (also run by a
``weakref`` finalizer when the backend is garbage-collected) ends the processes, reaps them, and
closes the sockets, the ZeroMQ context and the temporary files. When a copy dies or stops answering,
the backend ends all copies and raises :class:`Ns3Error` naming the run, its exit code and the tail
of its output.

The observation each copy sends is a Dict of Box spaces, one per KPI name of :mod:`bridge.kpi`, each
shaped ``[cells, slices]``; they are stacked into the KPI tensor ``[B, cells, slices, 13]`` in
:data:`~slicebridge.bridge.kpi.KPI_NAMES` order (decoded by protobuf, ``wire.server.parse_state``). The
last state of an episode carries ``isGameOver`` (reason ``SimulationEnd`` → truncated, ``GameOver``
→ terminated); the backend answers it with ``stopSimReq=true`` at once, and records the flags in
:attr:`terminated` / :attr:`truncated` and the decoded ``info`` JSON objects in :attr:`infos`.
"""

from __future__ import annotations

import os
import shutil
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import zmq
from gymnasium import spaces

from slicebridge.bridge.backend import next_seeds
from slicebridge.bridge.kpi import KPI_NAMES, N_KPIS
from slicebridge.bridge.scenario import Scenario
from slicebridge.ns3.launcher import Ns3Error, Ns3Process, find_program, make_run_dir, program_for
from slicebridge.ns3.runtime import write_runtime_json
from slicebridge.ns3.wire import GymServer, WireError, WireTimeout, recv_all
from slicebridge.ns3.wire.server import IPC_PATH_MAX, EnvState, SimInit, parse_state

__all__ = ["Ns3Backend", "Ns3Error"]


@dataclass
class _Run:
    """One ns-3 process and its endpoint."""

    index: int
    seed: int
    server: GymServer
    process: Ns3Process
    finished: bool = False  # the last state arrived and was answered with stopSimReq
    stop_sent: bool = False  # stopSimReq went out: the program is ending by itself

    def ask_to_stop(self) -> None:
        """Answer the pending state with stopSimReq, so the program ends by itself."""
        if self.process.poll() is None and not self.server.closed and self.server.awaiting_reply:
            try:
                self.server.send_stop()
                self.stop_sent = True
            except (zmq.ZMQError, WireError):
                pass

    def end(self, grace_s: float = 2.0) -> None:
        """Stop the process (politely when it waits for our reply), reap it, free socket and log."""
        try:
            self.ask_to_stop()
            if self.stop_sent or self.finished:
                self.process.wait(grace_s)
            self.process.stop(grace_s)
        finally:
            self.server.close()


class _Resources:
    """Everything that must be released; owned by the backend, closed by close() or the finalizer."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self.tmpdir: str | None = str(make_run_dir())
        self.runs: list[_Run] = []

    def end_runs(self) -> None:
        runs, self.runs = self.runs, []
        # Ask everyone to stop first, then reap: the runs shut down in parallel.
        for run in runs:
            run.ask_to_stop()
        for run in runs:
            run.end()

    def close(self) -> None:
        try:
            self.end_runs()
        finally:
            if self.context is not None:
                self.context.term()
                self.context = None
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None


#: ns-3 start-up (topology, then the warm-up to the reset state) grows with cells² × UEs per cell
#: (every cell interferes with every other): measured 1.3-4.5 ms per unit on a 2-core x86_64 machine
#: (2026-11-24: tiny 0.07 s, default 0.28 s, fdrl_10edge 12.8 s, tl_madrl_12cell 12.6 s,
#: bench_13cell 22.9 s, dt_mafl_6slice 0.77 s); the estimate takes the upper end.
STARTUP_S_PER_CELL2_UE = 5e-3


def startup_estimate_s(scenario: Scenario) -> float:
    """Estimated seconds from launching ns-3 to its reset state for ``scenario``."""
    return STARTUP_S_PER_CELL2_UE * scenario.n_cells**2 * max(1, scenario.ues_per_cell)


#: peak resident memory of one ns-3 process (its VmHWM after reset and three steps, 2026-11-24, x86_64):
#: ~40 MB of libraries plus per UE (cells × UEs per cell) a part that grows with the PRBs; fitted to
#: tiny 41 MB, default 46 MB, dt_drl_3slice 61 MB, fdrl_10edge 144 MB (within 10 %) and
#: dt_mafl_6slice 73 MB (over-estimated 2x: one cell of 600 UEs shares more than ten cells of 50 do)
NS3_BASE_BYTES = 40e6
NS3_BYTES_PER_UE = 170e3
NS3_BYTES_PER_UE_PRB = 0.31e3


def memory_estimate_bytes(scenario: Scenario) -> float:
    """Estimated peak resident bytes of one ns-3 process running ``scenario`` (cells × UEs × PRBs)."""
    ues = scenario.n_cells * scenario.ues_per_cell
    return NS3_BASE_BYTES + ues * (NS3_BYTES_PER_UE + NS3_BYTES_PER_UE_PRB * scenario.radio.bandwidth_prb)


def startup_timeout_s(scenario: Scenario) -> float:
    """Default start-up bound: 60 s plus ten times the estimate (a loaded machine is slower)."""
    return 60.0 + 10.0 * startup_estimate_s(scenario)


class Ns3Backend:
    """Batched ns-3 simulator: ``num_envs`` concurrent ns-3 processes, one scenario instance each.

    Parameters: ``seed`` — base seed (default ``scenario.seed``); copy ``i`` of the ``k``-th unseeded
    reset since the last seeded one runs with seed ``base + i + k·SEED_STRIDE`` (layout and
    ``--simSeed``, modulo 2^31), the rule every backend follows (``bridge.backend.next_seeds``).
    ``timeout_s`` bounds every wait for a state (a step); ``init_timeout_s`` the start-up handshake
    and the reset state (default :func:`startup_timeout_s` of the scenario: ns-3 builds the topology
    and simulates the warm-up before it speaks, which takes seconds for a dozen cells).
    ``endpoint`` is ``"ipc"`` (default: a socket file in a fresh 0700 directory, so only this user can
    connect, removed on close) or ``"tcp"`` (127.0.0.1, a free port: any local process can connect).
    Either way the server answers only the ns-3 process that spoke first (see ``GymServer``). ``extra_args`` are appended to
    the ns-3 command line; ``binary`` overrides :func:`find_program`.
    """

    def __init__(
        self,
        scenario: Scenario,
        num_envs: int = 1,
        seed: int | None = None,
        *,
        binary: str | Path | None = None,
        timeout_s: float = 120.0,
        init_timeout_s: float | None = None,
        endpoint: str = "ipc",
        extra_args: Sequence[str] = (),
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if endpoint not in ("tcp", "ipc"):
            raise ValueError(f"endpoint must be 'tcp' or 'ipc', got {endpoint!r}")
        self.scenario = scenario
        self.num_envs = int(num_envs)
        self.program = find_program(binary, program_for(scenario.radio.technology))
        self.timeout_s = float(timeout_s)
        self.init_timeout_s = float(startup_timeout_s(scenario) if init_timeout_s is None else init_timeout_s)
        self.endpoint = endpoint
        self.extra_args = list(extra_args)
        self._base_seed = int(scenario.seed if seed is None else seed)
        self._unseeded = 0  # unseeded resets since the base seed was set
        self.shape = (scenario.n_cells, scenario.n_slices)
        # share rows sent: [C, W], W = S or 2·S with an edge section (bandwidth, then compute)
        self.share_shape = (scenario.n_cells, scenario.share_width)
        self._initial_compute = np.tile(np.asarray(scenario.initial_compute_shares()), (scenario.n_cells, 1))
        self._compute = np.broadcast_to(self._initial_compute, (self.num_envs, *self.shape)).copy()
        self.terminated = np.zeros(self.num_envs, dtype=bool)
        self.truncated = np.zeros(self.num_envs, dtype=bool)
        self.infos: list[dict] = [{} for _ in range(self.num_envs)]
        self.seeds: list[int] = []
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, _Resources.close, self._res)

    # -- backend interface -----------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> np.ndarray:
        """End running copies and start fresh ones; return state 0, the KPI tensor ``[B, C, S, 13]``."""
        self._check_open()
        self._res.end_runs()
        if seed is not None:
            self._base_seed, self._unseeded = int(seed), 0
        elif self.seeds:
            self._unseeded += 1
        self.seeds = [int(s % 2**31) for s in next_seeds(self._base_seed, self.num_envs, self._unseeded)]
        try:
            for i, s in enumerate(self.seeds):
                self._res.runs.append(self._launch(i, s))
            runs = self._res.runs
            for run, init in zip(runs, self._gather(runs, self.init_timeout_s, "SimInitMsg", init=True, starting=True)):
                self._check_spaces(run, init)
            for run in runs:
                run.server.ack_init()
            states = self._gather(runs, self.init_timeout_s, "the reset state (EnvStateMsg)", starting=True)
            self._compute[...] = self._initial_compute
        except BaseException:
            self._res.end_runs()
            raise
        return self._absorb(runs, states)

    def step(self, shares: np.ndarray) -> np.ndarray:
        """Send every copy its share rows ``[C, W]`` (``shares [B, C, W]``; with an edge section ``[B, C, S]``
        keeps the compute shares in force); gather the next KPI tensor ``[B, C, S, N_KPIS]``."""
        self._check_open()
        runs = self._res.runs
        if not runs:
            raise Ns3Error("step() called before reset()")
        shares = np.asarray(shares, dtype=np.float64)
        if shares.shape == (self.num_envs, *self.shape) and self.share_shape != self.shape:
            shares = np.concatenate([shares, self._compute], axis=-1)
        if shares.shape != (self.num_envs, *self.share_shape):
            raise ValueError(f"shares must have shape {(self.num_envs, *self.share_shape)}"
                             f"{f' or {(self.num_envs, *self.shape)}' if self.share_shape != self.shape else ''}, "
                             f"got {shares.shape}")
        if not np.all(np.isfinite(shares)):
            raise ValueError("shares contain NaN or infinite values")
        if self.share_shape != self.shape:  # the compute shares sent: kept by a later bandwidth-only step
            self._compute[...] = shares[..., self.shape[1]:]
        done = [r.index for r in runs if r.finished]
        if done:
            raise Ns3Error(f"ns-3 run(s) {done} already ended their episode (game over); call reset()")
        try:
            for run in runs:
                run.server.send_action(shares[run.index])
            states = self._gather(runs, self.timeout_s, "EnvStateMsg")
        except BaseException:
            self._res.end_runs()
            raise
        return self._absorb(runs, states)

    def close(self) -> None:
        """End and reap every ns-3 process; close sockets, context and temporary files (idempotent)."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    @property
    def pids(self) -> list[int]:
        """Process ids of the running copies."""
        return [r.process.pid for r in self._res.runs if r.process.poll() is None]

    def __enter__(self) -> "Ns3Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise Ns3Error("the Ns3Backend is closed")

    def _address(self, run_dir: str, index: int) -> str:
        """ipc: a socket file in the run's own 0700 folder (swept with it, even after a SIGKILL of
        this process, by the next ``make_run_dir``); a private folder of its own when that path would
        be too long for a socket name."""
        if self.endpoint == "tcp":
            return "tcp"
        path = os.path.join(run_dir, f"gym-{index}.sock")
        return f"ipc://{path}" if len(path) <= IPC_PATH_MAX else "ipc"

    def _launch(self, index: int, seed: int) -> _Run:
        res = self._res
        config = write_runtime_json(self.scenario, seed, Path(res.tmpdir) / f"runtime-{index}.json")
        server = GymServer(self._address(res.tmpdir, index), context=res.context, timeout_s=self.timeout_s)
        try:
            gym_arg = f"--openGymPort={server.port}" if server.port is not None else f"--openGymEndpoint={server.endpoint}"
            cmd = [self.program, f"--config={config}", gym_arg, f"--simSeed={seed}", *self.extra_args]
            process = Ns3Process(cmd, log_dir=res.tmpdir)
        except BaseException:
            server.close()
            raise
        return _Run(index, seed, server, process)

    def _gather(self, runs: list[_Run], timeout_s: float, what: str, init: bool = False, starting: bool = False) -> list[Any]:
        def liveness() -> None:
            for run in runs:
                if not run.server.awaiting_reply and run.process.poll() is not None:
                    raise self._failure(run, f"exited while Python waited for {what}")

        try:
            frames = recv_all([r.server for r in runs], timeout_s, liveness, what)
        except WireTimeout as exc:
            silent = [r for r in runs if not r.server.awaiting_reply]
            run = silent[0] if silent else runs[0]
            if starting:  # a silent start-up is most likely still building, not hung
                raise self._failure(run, f"was still starting after {timeout_s:g} s (no {what} yet; the start-up bound "
                                         f"for this scenario, estimated {startup_estimate_s(self.scenario):.3g} s; "
                                         f"pass a larger init_timeout_s if it needs longer)") from exc
            raise self._failure(run, f"sent no {what} within {timeout_s:g} s (hung?)") from exc
        if init:
            try:
                return [run.server.accept_init(raw) for run, raw in zip(runs, frames)]
            except WireError as exc:
                raise self._failure(runs[0], str(exc)) from exc
        try:
            return [parse_state(raw) for raw in frames]
        except WireError as exc:
            raise self._failure(runs[0], str(exc)) from exc

    def _failure(self, run: _Run, what: str) -> Ns3Error:
        """End every copy (so nothing is left behind) and build the error for ``run``."""
        for other in self._res.runs:
            other.process.kill()
        run.process.kill()
        message = (
            f"ns-3 run {run.index} (pid {run.process.pid}, seed {run.seed}) {what}; {run.process.describe_exit()}.\n"
            f"command: {run.process.command}\n--- last lines of its output ---\n{run.process.tail()}"
        )
        self._res.end_runs()
        return Ns3Error(message)

    def _absorb(self, runs: list[_Run], states: list[EnvState]) -> np.ndarray:
        out = np.empty((self.num_envs, *self.shape, N_KPIS), dtype=np.float64)
        for run, state in zip(runs, states):
            out[run.index] = self._kpi_tensor(run, state.obs)
            self.terminated[run.index] = state.terminated
            self.truncated[run.index] = state.truncated
            self.infos[run.index] = state.info
            if state.game_over:
                run.server.send_stop()
                run.finished = True
        return out

    def _check_spaces(self, run: _Run, init: SimInit) -> None:
        act, obs = init.action_space, init.observation_space
        if not isinstance(act, spaces.Box) or act.shape != self.share_shape:
            raise self._failure(run, f"announced action space {act}, expected a Box of shape {self.share_shape}")
        if not isinstance(obs, spaces.Dict) or set(obs.spaces) != set(KPI_NAMES):
            raise self._failure(run, f"announced observation space {obs}, expected a Dict of the KPIs {list(KPI_NAMES)}")

    def _kpi_tensor(self, run: _Run, obs: Any) -> np.ndarray:
        """The decoded KPI Dict as one float64 array ``[cells, slices, 13]`` (KPI_NAMES order)."""
        if not isinstance(obs, dict):
            raise self._failure(run, f"sent an observation of type {type(obs).__name__}, expected a Dict of KPI boxes")
        missing = [k for k in KPI_NAMES if k not in obs]
        if missing:
            raise self._failure(run, f"sent an observation without KPIs {missing}")
        bad = {k: np.shape(obs[k]) for k in KPI_NAMES if np.shape(obs[k]) != self.shape}
        if bad:
            raise self._failure(run, f"sent KPI arrays of shape {bad}, expected {self.shape}")
        return np.stack([np.asarray(obs[k], dtype=np.float64) for k in KPI_NAMES], axis=-1)
