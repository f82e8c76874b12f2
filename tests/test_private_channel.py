# SPDX-License-Identifier: GPL-2.0-only
"""The env channel is private by default and a stray connection cannot end a running ns-3 env."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import zmq

from slicebridge.bridge.kpi import KPI_INDEX
from slicebridge.bridge.scenario import load_scenario
from slicebridge.ns3.backend import Ns3Backend

pytestmark = pytest.mark.ns3


@pytest.fixture(autouse=True, scope="module")
def _built(ns3_binary):
    return ns3_binary


def _shares(a: float, b: float) -> np.ndarray:
    return np.array([[[a, b]]])


def _stray(endpoint: str, payloads: list[bytes]) -> None:
    """Another local process's view: connect to the env's endpoint and send what it likes."""
    ctx = zmq.Context()
    try:
        ctx.setsockopt(zmq.LINGER, 2000)  # deliver what was sent before the sockets close
        sock = ctx.socket(zmq.REQ)
        sock.connect(endpoint)
        sock.send(payloads[0])  # REQ allows one request before a reply: further ones on new sockets
        for raw in payloads[1:]:
            other = ctx.socket(zmq.DEALER)
            other.connect(endpoint)
            other.send_multipart([b"", raw])
            other.close()
        sock.close()
    finally:
        ctx.term()


@pytest.mark.parametrize("endpoint", [None, "tcp"])
def test_a_stray_connection_cannot_end_a_running_env(endpoint, caplog):
    tiny = load_scenario("tiny")
    kw = {} if endpoint is None else {"endpoint": endpoint}
    with Ns3Backend(tiny, **kw) as backend:
        backend.reset(seed=3)
        server = backend._res.runs[0].server
        if endpoint is None:  # the default: a socket file in a directory only this user may enter
            assert server.endpoint.startswith("ipc://") and server.port is None
            folder = os.path.dirname(server.endpoint[len("ipc://"):])
            assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        for k in range(3):
            _stray(server.endpoint, [b"\x00garbage", b"\x08\x01", b""])
            kpis = backend.step(_shares(0.7, 0.3))
            np.testing.assert_allclose(kpis[0, 0, :, KPI_INDEX["share_assigned"]], [0.7, 0.3])
        backend.step(_shares(0.5, 0.5))  # the last stray messages may arrive during this step
        assert server.strays >= 1  # they were received, and dropped
        assert any("not the ns-3 peer" in r.message for r in caplog.records)
    if endpoint is None:
        assert not os.path.exists(folder)
