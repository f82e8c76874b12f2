# SPDX-License-Identifier: GPL-2.0-only
"""ns-3 start-up: the bound scales with the scenario, and running past it reads "still starting"."""

from __future__ import annotations

import pytest

from slicebridge.bridge.scenario import load_scenario
from slicebridge.ns3.backend import Ns3Backend, Ns3Error, startup_estimate_s, startup_timeout_s


def test_the_startup_bound_grows_with_the_scenario():
    small, large = load_scenario("tiny"), load_scenario("bench_13cell")
    assert startup_timeout_s(small) >= 60.0
    # bench_13cell took 22.9 s to start on the development machine: the bound leaves room for it
    assert startup_estimate_s(large) > 20.0 and startup_timeout_s(large) > 10 * 22.9


@pytest.mark.ns3
def test_a_slow_startup_is_reported_as_still_starting(ns3_binary):
    large = load_scenario("bench_13cell")  # builds its topology for seconds before it speaks
    with Ns3Backend(large) as default:
        assert default.init_timeout_s == startup_timeout_s(large)
    with Ns3Backend(large, init_timeout_s=1.0) as backend:
        with pytest.raises(Ns3Error, match=r"was still starting after 1 s \(no SimInitMsg yet") as err:
            backend.reset()
        assert "hung" not in str(err.value) and "init_timeout_s" in str(err.value)
