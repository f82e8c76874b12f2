# SPDX-License-Identifier: GPL-2.0-only
"""The simulator end of the ns3opengym wire in Python (ZeroMQ REQ), as the C++ side speaks it.

Used for fake simulators in tests and benchmarks (a peer that answers instantly), and to drive
Python REP clients such as the reference ns3-gym one. Every receive has a timeout.
"""

from __future__ import annotations

import json
import os
from typing import Any

import zmq
from gymnasium import spaces

from slicebridge.ns3.wire import ns3opengym_pb2 as pb
from slicebridge.ns3.wire.codec import data_from_pb, data_to_pb, space_to_pb
from slicebridge.ns3.wire.server import WireTimeout, close_socket_and_context


class SimPeer:
    """REQ socket connected to a :class:`~slicebridge.ns3.wire.server.GymServer` (or any ns3-gym client)."""

    def __init__(
        self,
        endpoint: str,
        observation_space: spaces.Space | None,
        action_space: spaces.Space | None,
        *,
        timeout_s: float = 10.0,
        context: zmq.Context | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.observation_space = observation_space
        self.action_space = action_space
        self.timeout_s = timeout_s
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self._socket = self._context.socket(zmq.REQ)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.connect(endpoint)
        self.stop_requested = False

    def _request(self, raw: bytes, what: str) -> bytes:
        self._socket.send(raw)
        if not self._socket.poll(int(self.timeout_s * 1000), zmq.POLLIN):
            raise WireTimeout(f"no {what} from the gym client at {self.endpoint} within {self.timeout_s:g} s")
        return self._socket.recv()

    def init(self) -> bool:
        """Send SimInitMsg; return True when the client asked to stop already."""
        msg = pb.SimInitMsg(simProcessId=os.getpid(), wafShellProcessId=os.getppid())
        if self.observation_space is not None:
            msg.obsSpace.CopyFrom(space_to_pb(self.observation_space))
        if self.action_space is not None:
            msg.actSpace.CopyFrom(space_to_pb(self.action_space))
        ack = pb.SimInitAck.FromString(self._request(msg.SerializeToString(), "SimInitAck"))
        self.stop_requested = ack.stopSimReq
        return self.stop_requested

    def notify(
        self,
        obs: Any,
        reward: float = 0.0,
        game_over: bool = False,
        reason: int = pb.EnvStateMsg.SimulationEnd,
        info: dict | str | None = None,
    ) -> tuple[Any, bool]:
        """Send one EnvStateMsg; return (decoded action or None, stopSimReq)."""
        msg = pb.EnvStateMsg(reward=reward, isGameOver=game_over, reason=reason if game_over else 0)
        if obs is not None:
            msg.obsData.CopyFrom(data_to_pb(obs, self.observation_space))
        if info is not None:
            msg.info = info if isinstance(info, str) else json.dumps(info)
        act = pb.EnvActMsg.FromString(self._request(msg.SerializeToString(), "EnvActMsg"))
        self.stop_requested = act.stopSimReq
        action = data_from_pb(act.actData) if act.HasField("actData") else None
        return action, act.stopSimReq

    def close(self) -> None:
        close_socket_and_context(self)

    def __enter__(self) -> "SimPeer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
