"""Real ns-3 (slicebridge-lte) behind Ns3Backend and the standard environment views, on scenarios/tiny.yaml."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from slicebridge.bridge.kpi import KPI_INDEX, N_KPIS
from slicebridge.bridge.scenario import load_scenario

from slicebridge.ns3.backend import Ns3Backend, Ns3Error

pytestmark = pytest.mark.ns3



@pytest.fixture(autouse=True, scope="module")
def _built(ns3_binary):
    """Every test here needs the real program: a missing build fails (via ns3_binary), never skips."""
    return ns3_binary

PRB, SHARE = KPI_INDEX["prb_used_share"], KPI_INDEX["share_assigned"]


@pytest.fixture(scope="module")
def tiny():
    return load_scenario("tiny")


def children() -> set[int]:
    """Live child processes of this Python process (zombies included: they are not reaped yet)."""
    out: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            out.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def listening(port: int) -> bool:
    hexport = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[1].endswith(hexport) and cols[3] == "0A":  # local address, state LISTEN
                return True
    return False


def shares(batch: int, *row: float) -> np.ndarray:
    return np.tile(np.asarray(row, dtype=float), (batch, 1, 1))


def test_episode_of_ten_steps(tiny):
    assert tiny.control.episode_steps >= 10
    with Ns3Backend(tiny) as backend:
        kpis = backend.reset(seed=5)
        assert kpis.shape == (1, 1, 2, N_KPIS) and np.all(np.isfinite(kpis))
        times = [backend.infos[0]["sim_time_s"]]
        for step in range(tiny.control.episode_steps):
            assert not backend.truncated[0]
            kpis = backend.step(shares(1, 0.6, 0.4))
            assert kpis.shape == (1, 1, 2, N_KPIS) and np.all(np.isfinite(kpis))
            np.testing.assert_allclose(kpis[0, 0, :, SHARE], [0.6, 0.4])
            times.append(backend.infos[0]["sim_time_s"])
        assert backend.truncated[0] and not backend.terminated[0]
        assert np.allclose(np.diff(times), tiny.control.decision_period_ms / 1000)
        with pytest.raises(Ns3Error, match="reset"):
            backend.step(shares(1, 0.6, 0.4))
    assert not children()


def test_actions_move_prb_use_in_the_commanded_direction(tiny):
    with Ns3Backend(tiny) as backend:
        backend.reset(seed=2)
        first = [backend.step(shares(1, 0.9, 0.1))[0, 0, :, PRB] for _ in range(4)]
        second = [backend.step(shares(1, 0.2, 0.8))[0, 0, :, PRB] for _ in range(4)]
    a, b = np.mean(first[1:], axis=0), np.mean(second[1:], axis=0)  # skip the transition period
    assert b[0] < a[0] - 0.2, (a, b)  # eMBB loses PRBs
    assert b[1] > a[1] + 0.2, (a, b)  # URLLC gains PRBs (it was backlogged at 0.1)


def test_killing_ns3_mid_episode_raises_and_leaves_no_child(tiny):
    backend = Ns3Backend(tiny)
    try:
        backend.reset(seed=1)
        backend.step(shares(1, 0.5, 0.5))
        pid = backend.pids[0]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(Ns3Error) as err:
            backend.step(shares(1, 0.5, 0.5))
        text = str(err.value)
        assert f"pid {pid}" in text and "SIGKILL" in text and "exit code -9" in text
        assert "last lines of its output" in text
        assert not children()
        kpis = backend.reset(seed=1)  # the backend recovers with fresh runs
        assert kpis.shape == (1, 1, 2, N_KPIS)
    finally:
        backend.close()
    assert not children()


def test_hung_ns3_is_reported(tiny):
    with Ns3Backend(tiny, timeout_s=1.0) as backend:
        backend.reset(seed=1)
        pid = backend.pids[0]
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(Ns3Error, match=r"sent no EnvStateMsg within 1 s \(hung\?\)"):
            backend.step(shares(1, 0.5, 0.5))
        assert time.monotonic() - t0 < 10
        assert not children()


def test_ns3_error_output_is_reported(tiny, tmp_path):
    with Ns3Backend(tiny, extra_args=["--steps=0"]) as backend:
        with pytest.raises(Ns3Error, match=r"exit code 2[\s\S]*--steps must be >= 1"):
            backend.reset()
    assert not children()


def test_fifty_resets_leave_no_process_fd_or_port(tiny):
    with Ns3Backend(tiny) as warm:  # libzmq/pyzmq open a few process-wide fds on first use
        warm.reset()
    before = fds()
    ports = set()
    backend = Ns3Backend(tiny, endpoint="tcp")  # TCP on request: its ports must be released too
    for i in range(50):
        backend.reset()
        ports.update(r.server.port for r in backend._res.runs)
        if i % 10 == 0:
            backend.step(shares(1, 0.5, 0.5))
        assert len(children()) == 1
    backend.close()
    time.sleep(0.2)
    assert not children()
    assert fds() - before == set(), sorted(fds() - before)
    assert len(ports) >= 2 and not any(listening(p) for p in ports)
    # the ports are free again
    for port in list(ports)[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_two_env_backend_steps_both(tiny):
    with Ns3Backend(tiny, num_envs=2, seed=10) as backend:
        kpis = backend.reset()
        assert kpis.shape == (2, 1, 2, N_KPIS)
        assert backend.seeds == [10, 11] and len(set(backend.pids)) == 2
        commanded = np.array([[[0.8, 0.2]], [[0.3, 0.7]]])
        for _ in range(3):
            kpis = backend.step(commanded)
        np.testing.assert_allclose(kpis[:, :, :, SHARE], commanded)
        assert kpis[0, 0, 0, PRB] > kpis[1, 0, 0, PRB]
        assert {i["pid"] for i in backend.infos} == set(backend.pids)
    assert not children()


def test_kpi_tensor_fast_path_equals_general_decode(tiny, monkeypatch):
    """The backend stacks real ns-3 states straight from the payload bytes; the result must be the
    general codec's Dict of KPI boxes stacked in KPI order, bit for bit."""
    from slicebridge.bridge.kpi import KPI_NAMES

    from slicebridge.ns3 import backend as ns3_backend
    from slicebridge.ns3.wire import data_from_pb, pb

    frames: list[bytes] = []

    def recording(*args, _real=ns3_backend.recv_all, **kwargs):
        out = _real(*args, **kwargs)
        frames.extend(out)
        return out

    monkeypatch.setattr(ns3_backend, "recv_all", recording)
    with Ns3Backend(tiny, num_envs=2, seed=4) as backend:
        got = [backend.reset()]
        got += [backend.step(shares(2, 0.7, 0.3)) for _ in range(4)]
    states = frames[2:]  # the first two frames are the SimInitMsgs
    assert len(states) == 2 * len(got)
    for k, raw in enumerate(states):
        obs = data_from_pb(pb.EnvStateMsg.FromString(raw).obsData)
        expected = np.stack([obs[name] for name in KPI_NAMES], axis=-1)
        assert expected.dtype == np.float64
        assert got[k // 2][k % 2].tobytes() == expected.tobytes()


def test_ipc_endpoint(tiny):
    with Ns3Backend(tiny, endpoint="ipc") as backend:
        backend.reset(seed=3)
        kpis = backend.step(shares(1, 0.7, 0.3))
        np.testing.assert_allclose(kpis[0, 0, :, SHARE], [0.7, 0.3])
        path = backend._res.runs[0].server.endpoint[len("ipc://"):]
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_garbage_collected_backend_reaps_its_processes(tiny):
    import gc

    backend = Ns3Backend(tiny)
    backend.reset()
    assert children()
    del backend
    gc.collect()
    assert not children()


# ----------------------------------------------------------------------------------------------
# The standard environment views on ns-3 (same checkers as for litesim)
# ----------------------------------------------------------------------------------------------
def test_gymnasium_and_sb3_checkers_on_ns3(tiny):
    from gymnasium.utils.env_checker import check_env as gym_check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    from slicebridge.envs import SlicingEnv

    env = SlicingEnv(tiny, "ns3")
    try:
        gym_check_env(env, skip_render_check=True)
    finally:
        env.close()
    env = SlicingEnv(tiny, "ns3")
    try:
        sb3_check_env(env, warn=True)
    finally:
        env.close()
    assert not children()


def test_pettingzoo_parallel_api_on_ns3(tiny):
    from pettingzoo.test import parallel_api_test

    from slicebridge.envs import SlicingParallelEnv

    env = SlicingParallelEnv(tiny, "ns3")
    try:
        parallel_api_test(env, num_cycles=25)
    finally:
        env.close()
    assert not children()


def test_sb3_vecenv_on_two_ns3_envs(tiny):
    from slicebridge.envs import SlicingVecEnv, make_core

    venv = SlicingVecEnv(make_core(tiny, "ns3", num_envs=2, seed=0))
    try:
        obs = venv.reset()
        assert obs.shape[0] == 2
        for _ in range(tiny.control.episode_steps):
            obs, rew, done, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
            assert np.all(np.isfinite(rew))
        assert done.all() and all("terminal_observation" in i for i in infos)
    finally:
        venv.close()
    assert not children()


# ----------------------------------------------------------------------------------------------
# One ns-3 launch per episode (the core never resets by itself; only the VecEnv auto-resets)
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def launches(monkeypatch):
    """Seeds of every ns-3 process started while the test runs (one entry per launch)."""
    seen: list[int] = []
    real = Ns3Backend._launch

    def counting(self, index, seed):
        seen.append(seed)
        return real(self, index, seed)

    monkeypatch.setattr(Ns3Backend, "_launch", counting)
    return seen


EPISODES = 2


def test_gymnasium_env_launches_ns3_once_per_episode(tiny, launches):
    from slicebridge.envs import SlicingEnv

    env = SlicingEnv(tiny, "ns3")
    try:
        for ep in range(EPISODES):
            env.reset(seed=20 + ep)
            truncated = False
            while not truncated:
                _, _, _, truncated, _ = env.step(env.action_space.sample())
            assert len(launches) == ep + 1
    finally:
        env.close()
    assert launches == [20, 21]
    assert not children()


def test_parallel_env_launches_ns3_once_per_episode(tiny, launches):
    from slicebridge.envs import SlicingParallelEnv

    env = SlicingParallelEnv(tiny, "ns3")
    try:
        for ep in range(EPISODES):
            env.reset(seed=None)
            while env.agents:
                env.step({a: env.action_space(a).sample() for a in env.agents})
    finally:
        env.close()
    # unseeded resets: the scenario's seed, then one SEED_STRIDE further (as in litesim)
    assert launches == [tiny.seed, tiny.seed + (1 << 20)]
    assert not children()


def test_vecenv_launches_ns3_once_per_instance_and_episode(tiny, launches):
    from slicebridge.envs import SlicingVecEnv, make_core

    venv = SlicingVecEnv(make_core(tiny, "ns3", num_envs=2, seed=30))
    try:
        venv.reset()
        for ep in range(EPISODES):
            for _ in range(tiny.control.episode_steps):
                _, _, dones, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
            assert dones.all() and all("terminal_observation" in i for i in infos)
            # the auto-reset has started the next episode: one launch per instance, no throwaway run
            assert len(launches) == 2 * (ep + 2)
    finally:
        venv.close()
    stride = 1 << 20
    assert launches == [30, 31, 30 + stride, 31 + stride, 30 + 2 * stride, 31 + 2 * stride]
    assert not children()


def test_evaluate_launches_ns3_once_per_episode(tiny, launches):
    from slicebridge.app.evaluate import evaluate

    results = evaluate(tiny, "equal", "ns3", episodes=3, seed=40)
    assert [r.kpis.shape[0] for r in results] == [tiny.control.episode_steps] * 3
    assert launches == [40, 41, 42]
    assert not children()


def test_ns3_and_litesim_follow_the_same_unseeded_reset_rule(tiny, launches):
    from slicebridge.bridge.backend import Backend
    from slicebridge.litesim import LiteSim

    sim = LiteSim(tiny, num_envs=2, seed=10)
    with Ns3Backend(tiny, num_envs=2, seed=10) as backend:
        assert isinstance(backend, Backend) and isinstance(sim, Backend)
        for _ in range(3):
            backend.reset()
            sim.reset()
            assert backend.seeds == sim.state.seeds.tolist()
        backend.reset(seed=5)
        sim.reset(seed=5)
        backend.reset()
        sim.reset()
        assert backend.seeds == sim.state.seeds.tolist() == [5 + (1 << 20), 6 + (1 << 20)]
    assert len(launches) == 2 * 5


# ----------------------------------------------------------------------------------------------
# The launcher shared by the backend and offline runs
# ----------------------------------------------------------------------------------------------
def test_missing_program_says_how_to_build(tmp_path, monkeypatch):
    from slicebridge.ns3 import launcher
    from slicebridge.ns3.launcher import ENV_BINARY, Ns3BuildError, find_program

    monkeypatch.setenv(ENV_BINARY, str(tmp_path / "nowhere" / "slicebridge-lte"))
    monkeypatch.setattr(launcher, "BUILD_DIR", tmp_path / "build")
    with pytest.raises(Ns3BuildError, match=r"not built[\s\S]*cmake --build build[\s\S]*SLICEBRIDGE_NS3_BINARY") as err:
        find_program()
    assert isinstance(err.value, Ns3Error)  # one error family for the CLI to report
    with pytest.raises(Ns3BuildError, match="slicebridge-gym-echo"):
        find_program(name="slicebridge-gym-echo")


def test_offline_run_that_times_out_is_killed_and_reaped(tiny):
    from slicebridge.ns3.run import Ns3RunError, run_ns3

    long = tiny.with_updates(control={"episode_steps": 100000})
    with pytest.raises(Ns3RunError, match="timed out"):
        run_ns3(long, seed=1, timeout_s=0.5)
    assert not children()
