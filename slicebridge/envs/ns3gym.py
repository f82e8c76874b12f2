# SPDX-License-Identifier: GPL-2.0-only
"""A Gymnasium env over the ns3opengym wire for ANY ns3-gym simulation script (a drop-in for ns3-gym's ``Ns3Env``).

The script is the ns-3 side as ns3-gym users write it (``OpenGymInterface`` / ``OpenGymEnv``): it
connects to ``tcp://localhost:PORT``, announces its observation and action spaces in
``SimInitMsg`` and sends one ``EnvStateMsg`` per step. This env is the Python side:

* **Spaces** come from the script's ``SimInitMsg`` (Box, Discrete, Tuple, Dict, nested), converted to
  Gymnasium spaces with their shapes, dtypes and bounds (:mod:`slicebridge.ns3.wire.codec`).
* **The 5-tuple API**: ``reset(seed=, options=) -> (obs, info)``, ``step(action) -> (obs, reward,
  terminated, truncated, info)``. A game-over state with reason ``GameOver`` is ``terminated``,
  one with reason ``SimulationEnd`` (the script's simulated time is over) is ``truncated``. Every
  game-over state is answered with ``stopSimReq``. ``reward`` is the script's float; ``info`` is
  its info string as a dict (a JSON object as is, other text under the key ``"info"``).
* **Actions** are encoded with the action space's shapes and dtypes, except that float Boxes travel
  as float32 (``FLOAT``) as ns3-gym's client sends them, since scripts read them as
  ``OpenGymBoxContainer<float>`` even where they announce ``double``; ``double_actions=True`` sends
  float64 Boxes as ``DOUBLE`` instead.
* **Two modes.** With ``command`` the env starts the script itself, appending
  ``--openGymPort=PORT --simSeed=SEED`` (and ``sim_args``) as ns3-gym does, one process per episode;
  ``reset`` ends the running one. Without ``command`` it *attaches*: it binds ``port`` and waits for
  a script started by the user (``--openGymPort=PORT``) to connect, once per episode.
* **Seeds**: the k-th episode since construction or since ``reset(seed=s)`` runs with
  ``--simSeed=s + k·2^20`` (``s`` = ``sim_seed`` until a seeded reset), the unseeded-reset rule
  of every slicebridge simulator, so seeded episodes repeat exactly. In attach mode the script's own
  command line decides its seed.
* **Timeouts, liveness, clean-up**: every wait is bounded (``start_timeout_s`` for the handshake,
  ``step_timeout_s`` per step) and aborted at once when the script's process dies; either ends the
  run and raises :class:`~slicebridge.ns3.launcher.Ns3Error` naming the command, the exit status
  and the tail of the script's output. The socket binds 127.0.0.1 unless ``allow_remote``;
  :meth:`close` (also run when the env is garbage-collected) ends and reaps the script's whole
  process group (``./ns3 run`` wrappers included) and closes sockets and output files.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import zmq
from gymnasium import spaces

from slicebridge.bridge.backend import next_seeds
from slicebridge.ns3.launcher import Ns3Error, Ns3Process, pid_alive
from slicebridge.ns3.wire import GymServer, SimInit, WireError, WireTimeout, conform
from slicebridge.ns3.wire.server import EnvState, encode_action, parse_state

__all__ = ["Ns3GymEnv"]

STOP_GRACE_S = 2.0  # how long a script may take to exit after stopSimReq before it is signalled


class _Episode:
    """One run of the script: its endpoint, its process when the env started it, its handshake."""

    def __init__(self, server: GymServer, process: Ns3Process | None, seed: int | None) -> None:
        self.server = server
        self.process = process
        self.seed = seed
        self.init: SimInit | None = None
        self.watch_pid: int | None = None  # attach mode: the announced pid, when this host sees it
        self.acked = False  # the SimInitMsg was answered (later requests are states)
        self.started = False  # the first state (the reset observation) was received
        self.over = False  # a game-over state arrived and was answered with stopSimReq

    def end(self) -> None:
        """Ask the script to stop (when it waits for our answer), let it exit, reap it, free the socket."""
        try:
            if self.server.awaiting_reply and (self.process is None or self.process.poll() is None):
                try:  # the stop request goes in the reply the script waits for
                    if self.acked:
                        self.server.send_stop()  # EnvActMsg
                    else:
                        self.server.ack_init(stop=True)  # SimInitAck
                except (zmq.ZMQError, WireError):
                    pass
            if self.process is not None:
                self.process.wait(STOP_GRACE_S)
                self.process.stop()
        finally:
            self.server.close()


class _Resources:
    """What the env must release, the current episode (closed by close() or the finalizer)."""

    def __init__(self) -> None:
        self.episode: _Episode | None = None

    def end_episode(self) -> None:
        episode, self.episode = self.episode, None
        if episode is not None:
            episode.end()


class Ns3GymEnv(gym.Env):
    """Gymnasium env for an ns3-gym simulation script (see the module docstring).

    Parameters:
        command: the script's command line, e.g. ``["./ns3", "run", "opengym", "--"]`` or the built
            program's path; ``--openGymPort=PORT --simSeed=SEED`` and ``sim_args`` are appended.
            ``None``: attach to a script the user starts (``port`` is then required).
        port: TCP port to bind; 0 (command mode only) picks a free one for every episode.
        sim_seed: ``--simSeed`` of the first episode (see the seed rule above).
        sim_args: more ``name=value`` arguments, as ns3-gym's ``simArgs``: ``{"--simTime": 10}``.
        start_timeout_s: longest wait for the script's ``SimInitMsg`` and for its first state, s
            (default 60 s); a script that builds a large topology needs more. Running past it is
            reported as "was still starting after N s", and the script is killed.
        step_timeout_s: longest wait for the state that answers one action, s.
        host: address to bind; anything but loopback (127.0.0.1) needs ``allow_remote=True``.
        double_actions: send float64 action Boxes as ``DOUBLE`` (the script must read
            ``OpenGymBoxContainer<double>``); by default every float Box goes as ``FLOAT``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        command: Sequence[str | Path] | None = None,
        *,
        port: int = 0,
        sim_seed: int = 0,
        sim_args: Mapping[str, Any] | None = None,
        start_timeout_s: float = 60.0,
        step_timeout_s: float = 60.0,
        host: str = "127.0.0.1",
        allow_remote: bool = False,
        double_actions: bool = False,
    ) -> None:
        super().__init__()
        if command is not None and (isinstance(command, (str, Path)) or not command):
            raise ValueError(f"command must be a non-empty list of arguments (program first), got {command!r}")
        if command is None and not port:
            raise ValueError("attach mode (no command) needs the port the script connects to, e.g. Ns3GymEnv(port=5555)")
        self.command = [str(c) for c in command] if command is not None else None
        self.port = int(port)
        self.sim_args = [f"{k}={v}" for k, v in (sim_args or {}).items()]
        self.start_timeout_s = float(start_timeout_s)
        self.step_timeout_s = float(step_timeout_s)
        self._endpoint = f"tcp://{host}:{self.port}" if self.port else f"tcp://{host}"
        self._allow_remote = bool(allow_remote)
        self._seed_base, self._runs_since_seed = int(sim_seed), 0
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, _Resources.end_episode, self._res)
        self._announced: tuple[spaces.Space | None, spaces.Space | None] | None = None  # the first run's spaces
        # The spaces are the script's: the first run's handshake happens here, and that run is the
        # episode the first reset() returns (unless the reset asks for another seed).
        init = self._start()
        if init.observation_space is None or init.action_space is None:
            missing = " and ".join(n for n, s in (("observation", init.observation_space), ("action", init.action_space)) if s is None)
            raise self._failure(f"announced no {missing} space in its SimInitMsg")
        self._announced = (init.observation_space, init.action_space)
        self.observation_space: spaces.Space = init.observation_space
        self.action_space: spaces.Space = init.action_space
        self._wire_action_space = init.action_space if double_actions else _float_boxes_as_float32(init.action_space)

    # -- Gymnasium API ---------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        """Start an episode (a fresh run of the script) and return its first observation and info."""
        super().reset(seed=seed)
        self._check_open()
        episode = self._res.episode
        waiting = episode is not None and not episode.started  # handshake done, no state read yet
        if seed is not None and self.command is not None:
            self._seed_base, self._runs_since_seed = int(seed), 0
            waiting = waiting and episode.seed == self._seed_of(0)
            self._runs_since_seed = int(waiting)
        if not waiting:
            self._res.end_episode()
            self._start()
            episode = self._res.episode
        state = self._receive("first EnvStateMsg", self.start_timeout_s, starting=True)
        episode.started = True
        if state.game_over:
            raise self._failure("ended its episode (game over) in its very first state")
        return self._observation(state), state.info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Send ``action`` (a value of :attr:`action_space`); return the next state as the 5-tuple."""
        self._check_open()
        episode = self._res.episode
        if episode is None or not episode.started:
            raise Ns3Error("step() called before reset()")
        if episode.over:
            raise Ns3Error("the episode is over (terminated or truncated); call reset()")
        try:
            episode.server.send_raw(encode_action(action, self._wire_action_space))
        except WireError as exc:
            raise WireError(f"action {action!r} does not fit the action space {self.action_space}: {exc}") from None
        state = self._receive("EnvStateMsg after the action", self.step_timeout_s)
        return self._observation(state), float(state.reward), state.terminated, state.truncated, state.info

    def close(self) -> None:
        """End and reap the running script (if this env started it); close the socket. Idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    @property
    def sim_pid(self) -> int | None:
        """The process id the current run announced in its SimInitMsg."""
        episode = self._res.episode
        return episode.init.pid if episode is not None and episode.init is not None else None

    @property
    def sim_seed(self) -> int | None:
        """``--simSeed`` of the current run (``None`` in attach mode)."""
        episode = self._res.episode
        return episode.seed if episode is not None else None

    # -- internals -------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise Ns3Error("the Ns3GymEnv is closed")

    def _seed_of(self, runs: int) -> int:
        """``--simSeed`` of the run ``runs`` runs after the last seeding (the backends' rule)."""
        return int(next_seeds(self._seed_base, 1, runs)[0] % 2**31)

    def _start(self) -> SimInit:
        """Bind, start the script (command mode) and do the handshake; the run becomes the episode."""
        server = GymServer(self._endpoint, allow_remote=self._allow_remote, timeout_s=self.start_timeout_s)
        process, seed = None, None
        try:
            if self.command is not None:
                seed = self._seed_of(self._runs_since_seed)
                cmd = [*self.command, f"--openGymPort={server.port}", f"--simSeed={seed}", *self.sim_args]
                try:
                    process = Ns3Process(cmd)
                except OSError as exc:
                    raise Ns3Error(f"cannot start the ns-3 simulation `{' '.join(cmd)}`: {exc}") from None
                self._runs_since_seed += 1
        except BaseException:
            server.close()
            raise
        episode = self._res.episode = _Episode(server, process, seed)
        init = self._receive("SimInitMsg", self.start_timeout_s, init=True, starting=True)
        spaces_now = (init.observation_space, init.action_space)
        if self._announced is not None and spaces_now != self._announced:
            raise self._failure(f"announced other spaces than its first run: observation {spaces_now[0]}, action "
                                f"{spaces_now[1]} (expected {self._announced[0]}, {self._announced[1]})")
        if process is None and init.pid > 0 and pid_alive(init.pid):
            episode.watch_pid = init.pid
        server.ack_init()
        episode.acked = True
        return init

    def _receive(self, what: str, timeout_s: float, init: bool = False, starting: bool = False) -> Any:
        """The next message of the current run (SimInitMsg when ``init``, else an EnvStateMsg, a
        game-over one answered with stopSimReq at once); failures end the run and raise Ns3Error.
        ``starting``: the run is still building its topology, so a timeout is not reported as a hang."""
        episode = self._res.episode
        server = episode.server
        server.liveness = lambda: self._check_alive(episode, what)
        try:
            raw = server.recv_raw(timeout_s, what)
            if init:
                episode.init = server.accept_init(raw)
                return episode.init
            state = parse_state(raw)
        except WireTimeout:
            if starting:  # a large topology takes minutes to build: say so, and how to wait longer
                raise self._failure(f"was still starting after {timeout_s:g} s (no {what} yet); if the script "
                                    f"needs longer to build its topology, pass a larger start_timeout_s") from None
            raise self._failure(f"sent no {what} within {timeout_s:g} s (hung?)") from None
        except WireError as exc:
            raise self._failure(f"broke the protocol: {exc}") from None
        finally:
            server.liveness = None  # the check refers to the env: no cycle that would delay its finalizer
        if state.game_over:
            episode.over = True
            server.send_stop()
        return state

    def _check_alive(self, episode: _Episode, what: str) -> None:
        """Liveness while waiting: the script's process (command mode) or its announced pid."""
        if episode.process is not None and episode.process.poll() is not None:
            raise self._failure(f"exited while Python waited for {what}")
        if episode.watch_pid is not None and not pid_alive(episode.watch_pid):
            raise self._failure(f"exited while Python waited for {what}")

    def _observation(self, state: EnvState) -> Any:
        try:
            return conform(state.obs, self.observation_space, "observation")
        except WireError as exc:
            raise self._failure(f"sent an observation outside its observation space: {exc}") from None

    def _failure(self, what: str) -> Ns3Error:
        """End the current run (so nothing is left behind) and build the error that names it."""
        episode, self._res.episode = self._res.episode, None
        if episode is None:
            return Ns3Error(f"the ns-3 simulation {what}")
        process = episode.process
        if process is None:
            pid = f" (pid {episode.init.pid})" if episode.init is not None else ""
            message = f"the ns-3 simulation script attached at {episode.server.endpoint}{pid} {what}"
        else:
            process.kill()
            message = (f"ns-3 simulation `{process.command}` (pid {process.pid}, seed {episode.seed}) {what}; "
                       f"{process.describe_exit()}.\n--- last lines of its output ---\n{process.tail()}")
        episode.end()
        return Ns3Error(message)


def _float_boxes_as_float32(space: spaces.Space) -> spaces.Space:
    """``space`` with every float Box as a float32 Box of the same shape and bounds: the dtypes in
    which ns3-gym's Python client sends actions (see the module docstring)."""
    if isinstance(space, spaces.Box) and space.dtype.kind == "f":
        return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), space.shape, np.float32)
    if isinstance(space, spaces.Tuple):
        return spaces.Tuple(tuple(_float_boxes_as_float32(s) for s in space.spaces))
    if isinstance(space, spaces.Dict):
        return spaces.Dict({k: _float_boxes_as_float32(s) for k, s in space.spaces.items()})
    return space
