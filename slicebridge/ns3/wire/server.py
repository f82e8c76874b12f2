# SPDX-License-Identifier: GPL-2.0-only
"""The Python end of the ns3opengym wire: a ZeroMQ REP endpoint that ns-3 (REQ) connects to.

Sequence (ns-3 speaks first): ``SimInitMsg`` → :meth:`GymServer.recv_init`, answered by
:meth:`GymServer.ack_init`; then the reset state via :meth:`GymServer.recv_state`; each step
:meth:`GymServer.send_action` and :meth:`GymServer.recv_state`; the last state (``isGameOver``) is
answered with :meth:`GymServer.send_stop` (``stopSimReq=true``).

Compared with the reference ns3-gym client: binds 127.0.0.1 (or ipc://) only unless told otherwise,
answers only its peer (a ROUTER socket locked to the first sender: a stray connection's messages are
dropped with a warning instead of being taken for ns-3's, so it cannot end the run), every receive
has a timeout (and an optional liveness check that runs while waiting, so a dead peer
is reported at once, not after the timeout), and :meth:`close` releases socket, context and ipc file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import zmq
from gymnasium import spaces

from slicebridge.ns3.wire import ns3opengym_pb2 as pb
from slicebridge.ns3.wire.codec import WireError, data_from_pb, data_to_pb, space_from_pb

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
POLL_SLICE_S = 0.05  # how often a waiting receive runs its liveness check
MAX_MESSAGE_BYTES = 64 << 20  # zmq drops a peer that sends more (a state is a few kB)
IPC_PATH_MAX = 100  # sockaddr_un holds 107 bytes; a longer TMPDIR falls back to /tmp

log = logging.getLogger("slicebridge.ns3")


def close_socket_and_context(owner: Any) -> None:
    """Close ``owner._socket`` (no linger) and terminate ``owner._context`` if ``owner`` created it.

    Shared by both ends of the wire (GymServer, SimPeer); idempotent."""
    if owner._socket is not None:
        owner._socket.close(linger=0)
        owner._socket = None
    if owner._own_context and owner._context is not None:
        owner._context.term()
    owner._context = None


class WireTimeout(TimeoutError):
    """The peer did not send the expected message in time."""


@dataclass(frozen=True)
class SimInit:
    """What ns-3 announces in ``SimInitMsg``."""

    pid: int
    parent_pid: int
    observation_space: spaces.Space | None
    action_space: spaces.Space | None


@dataclass(frozen=True)
class EnvState:
    """One ``EnvStateMsg``: observation, reward, game-over flag/reason and the info payload."""

    obs: Any
    reward: float
    game_over: bool
    reason: int  # pb.EnvStateMsg.SimulationEnd or pb.EnvStateMsg.GameOver
    info: dict = field(default_factory=dict)

    @property
    def terminated(self) -> bool:
        """The environment reached a terminal state (reason ``GameOver``)."""
        return self.game_over and self.reason == pb.EnvStateMsg.GameOver

    @property
    def truncated(self) -> bool:
        """The simulation ended (reason ``SimulationEnd``): a time limit, not a terminal state."""
        return self.game_over and self.reason == pb.EnvStateMsg.SimulationEnd


def parse_info(text: str) -> dict:
    """The ``info`` string as a dict: a JSON object as is, anything else under the key ``"info"``."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"info": text}
    return value if isinstance(value, dict) else {"info": value}


def parse_state(raw: bytes) -> EnvState:
    """Decode an EnvStateMsg (``obs`` as :func:`~slicebridge.ns3.wire.codec.data_from_pb` gives it)."""
    msg = pb.EnvStateMsg()
    try:
        msg.ParseFromString(raw)
    except Exception as exc:  # protobuf raises DecodeError (a Message.Error subclass)
        raise WireError(f"malformed EnvStateMsg ({len(raw)} bytes): {exc}") from None
    obs = data_from_pb(msg.obsData) if msg.HasField("obsData") else None
    return EnvState(obs, float(msg.reward), bool(msg.isGameOver), int(msg.reason), parse_info(msg.info))


def encode_action(action: Any, space: spaces.Space | None = None, stop: bool = False) -> bytes:
    """An EnvActMsg carrying ``action`` (checked against ``space``; none when ``None``) and ``stop``."""
    msg = pb.EnvActMsg(stopSimReq=bool(stop))
    if action is not None:
        msg.actData.CopyFrom(data_to_pb(action, space))
    return msg.SerializeToString()


def resolve_endpoint(endpoint: str | None, allow_remote: bool = False) -> tuple[str, str | None]:
    """(address to bind, ipc file to remove on close). ``None``/"tcp" → 127.0.0.1 on a free port;
    "ipc" → a fresh ipc:// path in a private temporary directory (removed with the file on close)."""
    if endpoint in (None, "", "tcp"):
        return "tcp://127.0.0.1", None
    if endpoint == "ipc":
        directory = tempfile.mkdtemp(prefix="slicebridge-gym-")  # mode 0700: only this user can connect
        if len(directory) + len("/gym.sock") > IPC_PATH_MAX:
            os.rmdir(directory)
            directory = tempfile.mkdtemp(prefix="slicebridge-gym-", dir="/tmp")
        path = os.path.join(directory, "gym.sock")
        return f"ipc://{path}", path
    if endpoint.startswith("ipc://"):
        return endpoint, endpoint[len("ipc://"):]
    if endpoint.startswith("tcp://"):
        host = endpoint[len("tcp://"):].rsplit(":", 1)[0] if endpoint.count(":") >= 2 else endpoint[len("tcp://"):]
        if host not in LOOPBACK_HOSTS and not allow_remote:
            raise ValueError(f"refusing to bind {endpoint}: loopback (127.0.0.1) or ipc:// only unless allow_remote=True")
        return endpoint, None
    raise ValueError(f"endpoint must be 'tcp', 'ipc', tcp://HOST[:PORT] or ipc://PATH, got {endpoint!r}")


class GymServer:
    """Server socket for one ns-3 peer (a REQ socket).

    A ROUTER socket that behaves as REP for one peer: the first sender becomes the peer, and a
    message from any other connection is dropped (logged once per connection, never answered), so
    a stray process that finds the endpoint cannot end or steer the run.

    ``timeout_s`` bounds every receive (override per call); ``liveness`` is called about every
    50 ms while a receive waits and may raise to abort the wait (e.g. when the peer process died).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        context: zmq.Context | None = None,
        timeout_s: float = 60.0,
        liveness: Callable[[], None] | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.timeout_s = float(timeout_s)
        self.liveness = liveness
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self._ipc_path: str | None = None
        self._own_ipc_dir = False
        self._socket: zmq.Socket | None = None
        self.action_space: spaces.Space | None = None
        self.observation_space: spaces.Space | None = None
        self.peer_pid: int | None = None
        self.awaiting_reply = False  # a request was received and not answered yet
        self._peer: bytes | None = None  # ROUTER identity of the peer (the first sender)
        self.strays = 0  # messages dropped because they came from another connection
        try:
            address, self._ipc_path = resolve_endpoint(endpoint, allow_remote)
            self._own_ipc_dir = endpoint == "ipc"
            sock = self._context.socket(zmq.ROUTER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            sock.setsockopt(zmq.RCVTIMEO, int(POLL_SLICE_S * 1000))
            self._socket = sock
            if address.startswith("tcp://") and address.count(":") < 2:
                port = sock.bind_to_random_port(address)
                self.endpoint = f"{address}:{port}"
            else:
                sock.bind(address)
                self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT) if address.startswith("tcp://") else address
        except BaseException:
            self.close()
            raise

    # -- properties ------------------------------------------------------------------------------
    @property
    def socket(self) -> zmq.Socket:
        if self._socket is None:
            raise WireError("GymServer is closed")
        return self._socket

    @property
    def port(self) -> int | None:
        """TCP port (``None`` for ipc)."""
        return int(self.endpoint.rsplit(":", 1)[1]) if self.endpoint.startswith("tcp://") else None

    @property
    def closed(self) -> bool:
        return self._socket is None

    # -- protocol ----------------------------------------------------------------------------------
    def recv_init(self, timeout_s: float | None = None) -> SimInit:
        return self.accept_init(self.recv_raw(timeout_s, "SimInitMsg"))

    def accept_init(self, raw: bytes) -> SimInit:
        """Decode a received SimInitMsg and remember the peer's pid and spaces."""
        msg = pb.SimInitMsg()
        try:
            msg.ParseFromString(raw)
        except Exception as exc:
            raise WireError(f"malformed SimInitMsg ({len(raw)} bytes): {exc}") from None
        init = SimInit(
            int(msg.simProcessId),
            int(msg.wafShellProcessId),
            space_from_pb(msg.obsSpace) if msg.HasField("obsSpace") else None,
            space_from_pb(msg.actSpace) if msg.HasField("actSpace") else None,
        )
        self.peer_pid = init.pid
        self.observation_space, self.action_space = init.observation_space, init.action_space
        return init

    def ack_init(self, stop: bool = False) -> None:
        self.send_raw(pb.SimInitAck(done=True, stopSimReq=bool(stop)).SerializeToString())

    def recv_state(self, timeout_s: float | None = None) -> EnvState:
        return parse_state(self.recv_raw(timeout_s, "EnvStateMsg"))

    def send_action(self, action: Any, stop: bool = False) -> None:
        """Answer the pending state with ``action`` (checked against the announced action space)."""
        self.send_raw(encode_action(action, self.action_space, stop))

    def send_stop(self) -> None:
        """Answer the pending state with ``stopSimReq=true`` and no action."""
        self.send_raw(encode_action(None, None, True))

    # -- raw frames ----------------------------------------------------------------------------------
    def recv_raw(self, timeout_s: float | None = None, what: str = "message") -> bytes:
        if self.awaiting_reply:
            raise WireError(f"protocol order: waiting for a {what} while the previous request is unanswered")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        sock = self.socket
        deadline = time.monotonic() + timeout
        while True:  # blocking receives of at most POLL_SLICE_S each (socket RCVTIMEO)
            try:
                raw = self.take(sock.recv_multipart(copy=True))
            except zmq.Again:
                raw = None
            if raw is not None:
                return raw
            if self.liveness is not None:
                self.liveness()
            if time.monotonic() >= deadline:
                raise WireTimeout(f"no {what} from the ns-3 peer on {self.endpoint} within {timeout:g} s") from None

    def take(self, frames: list[bytes]) -> bytes | None:
        """The payload of one received ROUTER message ``[identity, b"", payload]`` if it comes from the
        peer (the first sender becomes the peer); None when it was dropped as a stray."""
        if len(frames) == 3 and frames[1] == b"" and self._peer in (None, frames[0]):
            self._peer = frames[0]
            self.awaiting_reply = True
            return frames[2]
        self.strays += 1
        if self.strays == 1 or self.strays % 1000 == 0:
            log.warning("%s: dropped %d message(s) from a connection that is not the ns-3 peer", self.endpoint, self.strays)
        return None

    def send_raw(self, raw: bytes) -> None:
        if not self.awaiting_reply:
            raise WireError("protocol order: a reply can only follow a received request")
        self.socket.send_multipart([self._peer, b"", raw])
        self.awaiting_reply = False

    # -- lifetime ----------------------------------------------------------------------------------
    def close(self) -> None:
        close_socket_and_context(self)
        if self._ipc_path:
            own_dir = self._own_ipc_dir  # a folder given with ipc://PATH belongs to the caller
            for path in (self._ipc_path, os.path.dirname(self._ipc_path)) if own_dir else (self._ipc_path,):
                try:
                    os.rmdir(path) if os.path.isdir(path) else os.unlink(path)
                except OSError:
                    pass
            self._ipc_path = None

    def __enter__(self) -> "GymServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def recv_states(
    servers: Sequence[GymServer],
    timeout_s: float,
    liveness: Callable[[], None] | None = None,
) -> list[EnvState]:
    """Receive one EnvStateMsg from every server, in whatever order they arrive (one zmq Poller)."""
    return [parse_state(raw) for raw in recv_all(servers, timeout_s, liveness, "EnvStateMsg")]


def recv_all(
    servers: Sequence[GymServer],
    timeout_s: float,
    liveness: Callable[[], None] | None = None,
    what: str = "message",
) -> list[bytes]:
    """One raw frame from every server; raises :class:`WireTimeout` naming the silent ones."""
    poller = zmq.Poller()
    pending: dict[zmq.Socket, int] = {}
    for i, server in enumerate(servers):
        if server.awaiting_reply:
            raise WireError(f"protocol order: server {i} has an unanswered request")
        pending[server.socket] = i
        poller.register(server.socket, zmq.POLLIN)
    out: list[bytes | None] = [None] * len(servers)
    deadline = time.monotonic() + timeout_s
    while pending:
        remaining = deadline - time.monotonic()
        ready = dict(poller.poll(max(0, int(min(POLL_SLICE_S, remaining) * 1000))))
        for sock in [s for s in pending if ready.get(s, 0) & zmq.POLLIN]:
            raw = servers[pending[sock]].take(sock.recv_multipart(copy=True))
            if raw is None:
                continue  # a stray's message: keep waiting for the peer
            out[pending.pop(sock)] = raw
            poller.unregister(sock)
        if not pending:
            break
        if liveness is not None:
            liveness()
        if remaining <= 0:
            silent = sorted(pending.values())
            raise WireTimeout(f"no {what} within {timeout_s:g} s from ns-3 peer(s) {silent} "
                              f"({', '.join(servers[i].endpoint for i in silent)})")
    return out  # type: ignore[return-value]
