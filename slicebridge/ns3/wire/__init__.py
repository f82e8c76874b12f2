# SPDX-License-Identifier: GPL-2.0-only
"""The ns3opengym wire between Python and ns-3 (ZeroMQ + protobuf, ns3-gym's protocol).

``ns3opengym_pb2`` is generated from ``ns3_scenarios/proto/ns3opengym.proto`` with the Debian protoc
(3.21): ``protoc -I ns3_scenarios/proto --python_out=slicebridge/ns3/wire ns3_scenarios/proto/ns3opengym.proto``.
"""

from slicebridge.ns3.wire import ns3opengym_pb2 as pb
from slicebridge.ns3.wire.codec import (
    WireError,
    conform,
    data_from_pb,
    data_to_pb,
    space_from_pb,
    space_to_pb,
)
from slicebridge.ns3.wire.peer import SimPeer
from slicebridge.ns3.wire.server import (
    EnvState,
    GymServer,
    SimInit,
    WireTimeout,
    encode_action,
    parse_state,
    recv_all,
    recv_states,
)

__all__ = [
    "EnvState",
    "GymServer",
    "SimInit",
    "SimPeer",
    "WireError",
    "WireTimeout",
    "conform",
    "data_from_pb",
    "data_to_pb",
    "encode_action",
    "parse_state",
    "pb",
    "recv_all",
    "recv_states",
    "space_from_pb",
    "space_to_pb",
]
