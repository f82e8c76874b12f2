"""The fan-out code path without the optional extra: sequential executor, failure reports, the one-line
hint when Ray or Flower is asked for but not installed."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from slicebridge.app import cli
from slicebridge.app.evaluate import episode_jobs, evaluate, run_jobs
from slicebridge.bridge.scenario import load_scenario
from slicebridge.distributed import EXTRA_HINT
from slicebridge.distributed.executor import MissingExtraError, SequentialExecutor, Task, TaskFailures, make_executor


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    return 10 * x


def test_sequential_executor_reports_a_failed_task_and_keeps_the_others():
    seen = []
    with pytest.raises(TaskFailures) as info:
        SequentialExecutor().run([Task(f"task {i}", _fail_on_two, (i,)) for i in range(4)], lambda i, v: seen.append((i, v)))
    assert seen == [(0, 0), (1, 10), (3, 30)]
    assert info.value.results == [0, 10, None, 30]
    (failure,) = info.value.failures
    assert failure.label == "task 2" and "ValueError: two is not allowed" in failure.error and "pid" in failure.where
    assert "task 2" in str(info.value) and "3 completed" in str(info.value)


class _BreaksInEpisode:
    name = "breaks"

    def __init__(self):
        self.calls = 0

    def reset(self) -> None:
        pass

    def act(self, obs, kpis, shares):
        self.calls += 1
        if self.calls == 15:  # tiny: 10 steps per episode, so episode 1 fails
            raise RuntimeError("policy broke")
        return np.full(shares.shape, 0.5)


def test_a_failed_episode_is_reported_and_the_finished_ones_are_written(tmp_path):
    out = tmp_path / "traces.csv"
    with pytest.raises(TaskFailures) as info:
        evaluate(load_scenario("tiny"), _BreaksInEpisode(), "litesim", episodes=3, out_csv=out)
    assert [f.index for f in info.value.failures] == [1]
    assert "breaks in litesim, episode 1" in str(info.value)
    traces = pd.read_csv(out)
    assert sorted(set(traces["episode"])) == [0, 2]  # episode 2 ran after the failure and is kept


def test_run_jobs_groups_results_like_separate_evaluations():
    s = load_scenario("tiny")
    groups = [episode_jobs(s, "equal", "litesim", 2, seed=4), episode_jobs(s, "random", "litesim", 1, seed=4)]
    equal, rnd = run_jobs(groups)
    assert len(equal) == 2 and len(rnd) == 1
    alone = evaluate(s, "random", "litesim", 1, seed=4)
    assert np.array_equal(rnd[0].kpis, alone[0].kpis)


@pytest.fixture
def without_extra(monkeypatch):
    """As if slicebridge[distributed] were not installed."""
    import slicebridge.distributed as package

    for name in ("ray", "flwr"):
        monkeypatch.setitem(sys.modules, name, None)
    for module in ("ray_executor", "flower"):  # imported already when the Ray/Flower tests were collected
        monkeypatch.delitem(sys.modules, f"slicebridge.distributed.{module}", raising=False)
        monkeypatch.delattr(package, module, raising=False)


def test_ray_without_the_extra_names_the_install_command(without_extra):
    with pytest.raises(MissingExtraError, match=r"pip install 'slicebridge\[distributed\]'"):
        make_executor(ray=True)


def test_cli_ray_without_the_extra_is_one_clear_line(without_extra, capsys):
    assert cli.main(["eval", "tiny", "--ray"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and EXTRA_HINT in err[0] and "--ray" in err[0]


@pytest.mark.parametrize("role", [["local"], ["server"], ["client", "--client-id", "0"]])
def test_cli_flower_without_the_extra_is_one_clear_line(without_extra, capsys, role):
    assert cli.main(["flower", *role]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and EXTRA_HINT in err[0] and "flwr" in err[0]


def test_in_process_federation_of_edge_clients_resumes_bit_for_bit(tmp_path):
    """The Flower test's reference (EdgeClient in run_federated) checkpoints and resumes exactly."""
    from slicebridge.distributed.edge import EdgeConfig, FederationSpec, run_in_process

    cfg, fed = EdgeConfig(local_steps=8), FederationSpec(clients=2, strategy="fedprox", codec="int8")
    whole = run_in_process(cfg, fed, rounds=2)
    run_in_process(cfg, fed, rounds=2, checkpoint_dir=tmp_path / "ckpt", stop_after=1)
    resumed = run_in_process(cfg, fed, rounds=2, checkpoint_dir=tmp_path / "ckpt")
    assert resumed.round == 2 and len(resumed.history) == 2
    for a, b in zip(whole.global_params, resumed.global_params):
        np.testing.assert_array_equal(a, b)


def test_edge_federation_does_not_depend_on_the_process_torch_threads():
    """The in-process reference (often a 1-thread test process) and a Flower client process (default
    threads) must build and train the same numbers."""
    import torch

    from slicebridge.distributed.edge import EdgeConfig, FederationSpec, run_in_process

    cfg, fed = EdgeConfig(local_steps=8), FederationSpec(clients=2)
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_in_process(cfg, fed, rounds=1).global_params
        torch.set_num_threads(2)
        two = run_in_process(cfg, fed, rounds=1).global_params
    finally:
        torch.set_num_threads(saved)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
