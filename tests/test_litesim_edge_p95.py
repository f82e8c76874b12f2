# SPDX-License-Identifier: GPL-2.0-only
"""litesim's edge stage: the 95th percentile of a packet's compute delay, by hand.

tiny with an edge server of 1e8 cycles/s; URLLC needs 625 cycles per bit (5,000 per byte), eMBB none.
At compute share 0.5 URLLC is served at 0.5e8 / 5,000 = 10,000 bytes/s = 10 bytes/ms, so one of its
200-byte packets takes x = 20 ms. 200 bytes arriving in a 1,000 ms period load the server to
ρ = 200 / (10 · 1000) = 0.02.
"""

import math

import numpy as np
import pytest

from slicebridge.bridge.scenario import load_scenario
from slicebridge.litesim.edge import EdgeFluid

X_MS = 20.0
RHO = 0.02


def _stage(ca2: float) -> EdgeFluid:
    sc = load_scenario("tiny").with_updates(edge={"capacity_cycles_per_s": 1e8, "cycles_per_bit": [0.0, 625.0]})
    return EdgeFluid(sc, 1000.0, packet_bytes=np.array([1200.0, 200.0]), arrival_scv=np.array([1.0, ca2]))


def _step(stage: EdgeFluid, arrived: float = 200.0):
    z = np.zeros((1, 1, 2))
    return stage.step(z, np.array([[[0.0, arrived]]]), np.full((1, 1, 2), 0.5), z)


def test_a_packet_alone_on_the_server_has_a_p95_of_its_service_time():
    """Evenly spaced packets (c² = 0) never share the server: every one takes exactly x, so the p95 is x
    (scaling the sojourn by ln 20 gave 3·x)."""
    out = _step(_stage(0.0))
    assert out.done[0, 0, 1] == 200.0 and out.queue[0, 0, 1] == 0.0
    assert out.delay_ms[0, 0, 1] == pytest.approx(X_MS)
    assert out.p95_ms[0, 0, 1] == pytest.approx(X_MS)


def test_the_sharing_excess_gets_the_exponential_tail():
    """Poisson packets (c² = 1): mean x / (1 − ρ) (M/G/1-PS); p95 = x + ln 20 · x ρ / (1 − ρ)."""
    out = _step(_stage(1.0))
    excess = X_MS * RHO / (1.0 - RHO)
    assert out.delay_ms[0, 0, 1] == pytest.approx(X_MS + excess)
    assert out.p95_ms[0, 0, 1] == pytest.approx(X_MS + math.log(20.0) * excess)
    assert out.delay_ms[0, 0, 0] == out.p95_ms[0, 0, 0] == 0.0  # eMBB needs no compute
