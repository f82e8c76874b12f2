# SPDX-License-Identifier: GPL-2.0-only
"""`slicebridge train tiny --simulator ns3`: checkpoints, survives kill -9, resumes, and its policy
evaluates in ns-3 (real slicebridge-lte, small budget)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from slicebridge.app.cli import main
from slicebridge.federation.checkpoint import latest_checkpoint, load_state

ROUND_STEPS = 64  # core steps per round (TrainConfig.local_steps; PPO rolls out that many per round)
ROUNDS = 3
LIVENESS_S = 120.0  # how long a step of this test may take before it is called stuck (not a speed claim)


@pytest.fixture(autouse=True)
def _built(ns3_binary):
    return ns3_binary


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "slicebridge.app.cli", *args]


def ns3_runs_of(pid: int) -> list[int]:
    """Live ns-3 processes started by process ``pid`` (their runtime JSON sits in its run folder)."""
    mark = f"--config={tempfile.gettempdir()}/slicebridge-ns3-{pid}-"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.decode(errors="replace").startswith(mark) for a in argv):
            found.append(int(entry.name))
    return found


def wait_for(condition, what: str, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + LIVENESS_S
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the training run exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {LIVENESS_S:.0f} s")
        time.sleep(0.05)


def test_train_in_ns3_survives_kill_9_resumes_and_its_policy_evaluates(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    run_dir = tmp_path / "run"
    train = cli("train", "tiny", "--simulator", "ns3", "--out", str(run_dir), "--num-envs", "1",
                "--budget", str(ROUNDS * ROUND_STEPS), "--seed", "5")
    env = dict(os.environ)
    log = tmp_path / "killed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(train, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_for(lambda: latest_checkpoint(run_dir / "checkpoints") is not None, "checkpoint", proc, log)
        assert ns3_runs_of(proc.pid), "the run should be simulating in ns-3 when it is killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # orphaned ns-3 runs notice that their parent is gone and exit by themselves
    try:
        wait_for(lambda: not ns3_runs_of(proc.pid), "exit of the killed run's ns-3 processes")
    finally:
        for pid in ns3_runs_of(proc.pid):
            os.kill(pid, signal.SIGKILL)
    saved = load_state(latest_checkpoint(run_dir / "checkpoints"))
    assert "env" in saved and "core" not in saved  # where the episode stands, not a pickled simulator
    done_before = len(saved["history"])
    assert 1 <= done_before < ROUNDS

    resumed = subprocess.run(train, capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from the checkpoint of round {done_before}" in resumed.stdout
    history = json.loads((run_dir / "history.json").read_text())
    assert [h["round"] for h in history] == list(range(1, ROUNDS + 1))
    assert history[:done_before] == json.loads(json.dumps(saved["history"]))  # continued, not restarted
    meta = json.loads((run_dir / "policy" / "meta.json").read_text())
    assert meta["simulator"] == "ns3" and meta["core_steps"] == ROUNDS * ROUND_STEPS
    assert not (run_dir / "checkpoints").exists()
    # the resumed run swept the killed one's leftover temporary folder
    assert not list(Path(tempfile.gettempdir()).glob(f"slicebridge-ns3-{proc.pid}-*"))

    traces = tmp_path / "eval.csv"  # the same command line, in this process (no second start-up)
    assert main(["eval", "tiny", "--simulator", "ns3", "--policy", str(run_dir), "--episodes", "1", "--out", str(traces)]) == 0
    assert "ppo-federated-fedavg in ns3" in capsys.readouterr().out
    rows = traces.read_text().splitlines()
    assert rows[1].startswith("ppo-federated-fedavg,ns3,0,") and len(rows) == 1 + 10 * 2  # 10 steps × 2 slices
