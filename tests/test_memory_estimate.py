# SPDX-License-Identifier: GPL-2.0-only
"""Memory estimates before work: litesim refuses a batch that will not fit before allocating it."""

import tracemalloc

import numpy as np
import pytest

from slicebridge.app.cli import main
from slicebridge.bridge.scenario import load_scenario
from slicebridge.litesim import memory
from slicebridge.litesim.simulator import LiteSim

#: the estimate must lie within this factor of tracemalloc's measured peak, either way
FACTOR = 2.0


def _measured_peak(scenario, num_envs: int) -> int:
    tracemalloc.start()
    try:
        sim = LiteSim(scenario, num_envs=num_envs)
        sim.reset()
        shares = np.tile(np.asarray(scenario.initial_shares()), (num_envs, scenario.n_cells, 1))
        sim.step(shares)
        sim.step(shares)
        sim.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name, num_envs", [("tiny", 1), ("tiny", 4), ("default", 1), ("default", 4)])
def test_the_estimate_is_within_a_factor_of_the_measured_peak(name, num_envs):
    scenario = load_scenario(name)
    estimate, peak = memory.run_bytes(scenario, num_envs), _measured_peak(scenario, num_envs)
    assert peak / FACTOR <= estimate <= peak * FACTOR, (estimate, peak)


def test_the_estimate_grows_with_cells_squared_times_ues():
    small = load_scenario("default")
    big = small.with_updates(topology={"sites": 7, "sectors": 3, "cell_load_shift_steps": []})  # 3 -> 21 cells
    assert memory.instance_bytes(big) == memory.instance_bytes(small) * 49


def test_a_scenario_too_large_for_memory_is_refused_before_allocation(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 5 << 20)  # 5 MiB free
    scenario = load_scenario("default").with_updates(topology={"sites": 19, "sectors": 3, "cell_load_shift_steps": []})  # 57 cells
    tracemalloc.start()
    try:
        with pytest.raises(MemoryError) as exc:
            LiteSim(scenario, num_envs=4)
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(exc.value)
    need = memory.format_bytes(memory.run_bytes(scenario, 4))
    assert need in message and "5 MiB is available" in message
    assert "use at most 0" not in message and "smaller scenario" in message
    assert allocated < 1 << 20  # refused before the per-instance arrays (~ 12 MiB each) exist
    # a batch that fits is not refused, and the message says how many would fit
    monkeypatch.setattr(memory, "available_bytes", lambda: memory.run_bytes(scenario, 2))
    with pytest.raises(MemoryError, match="use at most 2 instances"):
        LiteSim(scenario, num_envs=3)
    LiteSim(scenario, num_envs=2).close()


def test_unknown_available_memory_does_not_refuse(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    LiteSim(load_scenario("tiny"), num_envs=2).close()


def test_validate_prints_the_estimates(capsys):
    assert main(["scenarios", "validate", "default"]) == 0
    out = capsys.readouterr().out
    assert "litesim ~" in out and "per instance" in out and "ns-3 ~" in out and "start-up ~" in out
