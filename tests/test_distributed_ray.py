"""Ray fan-out (issue 16): the same evaluation on a local Ray instance and sequentially gives identical
KPI traces (litesim and ns-3); a failed or hung run is retried, then reported, never lost."""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="Ray is in the optional extra: pip install 'slicebridge[distributed]'")

from slicebridge.app.evaluate import evaluate  # noqa: E402
from slicebridge.bridge.scenario import load_scenario  # noqa: E402
from slicebridge.distributed.executor import Task, TaskFailures  # noqa: E402
from slicebridge.distributed.ray_executor import RayExecutor  # noqa: E402


@pytest.fixture(scope="module")
def ray_local(private_tmpdir):
    """One local Ray for the module: 2 workers, its session folder (sbray-* under /tmp: the private
    TMPDIR's path is too long for Ray's unix sockets) removed with the shutdown at the end."""
    executor = RayExecutor(num_cpus=2, max_retries=1)
    session = executor._temp
    assert session is not None and os.path.basename(session).startswith("sbray-")
    try:
        yield executor
    finally:
        executor.close()
    assert not os.path.exists(session) and not ray.is_initialized()
    time.sleep(1.0)  # raylet and workers exit once the GCS is gone
    left = subprocess.run(["pgrep", "-f", session], capture_output=True, text=True).stdout.split()
    assert left == [], f"Ray processes left after shutdown: {left}"


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.seed == y.seed
        np.testing.assert_array_equal(x.kpis, y.kpis)
        np.testing.assert_array_equal(x.rewards, y.rewards)


def test_litesim_evaluation_on_ray_equals_sequential(ray_local, tmp_path):
    s = load_scenario("default")
    for policy in ("proportional", "random"):
        seq_csv, ray_csv = tmp_path / f"seq_{policy}.csv", tmp_path / f"ray_{policy}.csv"
        sequential = evaluate(s, policy, "litesim", episodes=3, seed=5, out_csv=seq_csv)
        fanned = evaluate(s, policy, "litesim", episodes=3, seed=5, out_csv=ray_csv, executor=ray_local)
        _same(sequential, fanned)
        assert seq_csv.read_bytes() == ray_csv.read_bytes()  # same rows, same order


def test_ns3_evaluation_on_ray_equals_sequential(ray_local, ns3_binary, tmp_path):
    s = load_scenario("tiny")
    sequential = evaluate(s, "greedy_sla", "ns3", episodes=2, seed=3)
    fanned = evaluate(s, "greedy_sla", "ns3", episodes=2, seed=3, executor=ray_local)
    _same(sequential, fanned)


def test_a_failing_run_is_retried_then_reported_with_where(ray_local, tmp_path):
    marker = tmp_path / "attempts"

    def flaky(x: int) -> int:  # a closure: shipped to the workers by value
        if x == 1:
            with open(marker, "a") as fh:
                fh.write("x")
            raise RuntimeError("simulator crashed")
        return x

    seen = {}
    with pytest.raises(TaskFailures) as info:
        ray_local.run([Task(f"run {i}", flaky, (i,)) for i in range(3)], seen.__setitem__)
    assert seen == {0: 0, 2: 2}
    (failure,) = info.value.failures
    assert failure.label == "run 1" and "simulator crashed" in failure.error and "pid" in failure.where
    assert marker.read_text() == "xx"  # the first attempt and one retry (max_retries=1)


def test_a_hung_run_is_cancelled_retried_and_reported(ray_local):
    def maybe_hang(x: int) -> int:
        if x == 1:
            time.sleep(120)
        return x

    ray_local.task_timeout_s = 3.0
    try:
        with pytest.raises(TaskFailures) as info:
            ray_local.run([Task(f"run {i}", maybe_hang, (i,)) for i in range(2)])
    finally:
        ray_local.task_timeout_s = None
    assert info.value.results[0] == 0
    (failure,) = info.value.failures
    assert failure.label == "run 1" and "still running after 3 s" in failure.error and failure.attempts == 2
