# SPDX-License-Identifier: GPL-2.0-only
"""Ns3GymEnv, the generic env for ns3-gym simulation scripts: against our C++ script with non-slicing
spaces (slicebridge-gym-spaces; ns3-marked through the gym_program fixture) and, without the C++
build, against a Python stand-in script that speaks the wire through SimPeer."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from slicebridge.bridge.backend import SEED_STRIDE
from slicebridge.envs import Ns3GymEnv
from slicebridge.ns3.launcher import Ns3Error

SPACE_TYPES = {"box": spaces.Box, "discrete": spaces.Discrete, "tuple": spaces.Tuple, "dict": spaces.Dict}


@pytest.fixture
def spaces_program(gym_program):
    return str(gym_program("slicebridge-gym-spaces"))


def gone(pid: int) -> bool:
    """Whether process ``pid`` no longer exists (reaped, not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# Against the C++ end
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(SPACE_TYPES))
def test_gymnasium_checker_passes_against_cpp_script(spaces_program, kind):
    env = Ns3GymEnv([spaces_program, f"--space={kind}"], start_timeout_s=30, step_timeout_s=30)
    try:
        assert isinstance(env.observation_space, SPACE_TYPES[kind])
        assert isinstance(env.action_space, SPACE_TYPES[kind])
        check_env(env, skip_render_check=True)
        obs, info = env.reset(seed=7)
        assert env.observation_space.contains(obs) and info == {"step": 0, "seed": 7, "action_dtypes": ""}
        pid = env.sim_pid
    finally:
        env.close()
    assert gone(pid)
    env.close()  # idempotent


def test_garbage_collected_env_reaps_its_script(spaces_program):
    env = Ns3GymEnv([spaces_program, "--space=discrete"])
    env.reset()
    pid = env.sim_pid
    del env
    gc.collect()
    assert gone(pid)


def test_spaces_keep_shapes_dtypes_and_bounds(spaces_program):
    with_dict = Ns3GymEnv([spaces_program, "--space=dict"])
    with_tuple = Ns3GymEnv([spaces_program, "--space=tuple"])
    try:
        obs_space = with_dict.observation_space
        assert obs_space["queue"] == spaces.Box(0, 100, (4,), np.int32)
        assert obs_space["rate"] == spaces.Box(0.0, 5.0, (2, 2), np.float64)
        assert obs_space["mode"] == spaces.Discrete(3)
        assert with_dict.action_space == spaces.Dict({"channel": spaces.Discrete(4), "power": spaces.Box(0.0, 1.0, (3,), np.float32)})
        assert with_tuple.observation_space[2] == spaces.Box(0, 50, (2,), np.uint32)
        obs, _ = with_tuple.reset(seed=1)
        assert isinstance(obs, tuple) and obs[2].dtype == np.uint32 and type(obs[1]) is int
    finally:
        with_dict.close()
        with_tuple.close()


@pytest.mark.parametrize("end, terminated", [("simulation", False), ("gameover", True)])
def test_episode_end_reasons_and_reward(spaces_program, end, terminated):
    with Ns3GymEnv([spaces_program, "--space=box", "--steps=3", f"--end={end}"]) as env:
        env.reset(seed=2)
        action = np.array([0.25, 0.5])
        flags = []
        for _ in range(3):
            _, reward, term, trunc, info = env.step(action)
            flags.append((term, trunc))
            assert reward == pytest.approx(0.75, rel=1e-6)  # the script's reward: the action's sum
        assert flags[:2] == [(False, False)] * 2
        assert flags[2] == (terminated, not terminated)  # GameOver -> terminated, SimulationEnd -> truncated
        assert info["step"] == 3
        with pytest.raises(Ns3Error, match="episode is over"):
            env.step(action)
        obs, info = env.reset()
        assert env.observation_space.contains(obs) and info["step"] == 0


@pytest.mark.parametrize("double_actions, sent", [(False, "FLOAT"), (True, "DOUBLE")])
def test_float_actions_travel_as_the_reference_client_sends_them(spaces_program, double_actions, sent):
    with Ns3GymEnv([spaces_program, "--space=box"], double_actions=double_actions) as env:
        assert env.action_space == spaces.Box(0.0, 1.0, (2,), np.float64)  # as announced (DOUBLE)
        env.reset()
        _, reward, _, _, info = env.step(np.array([0.1, 0.2]))
        assert info["action_dtypes"] == sent  # what the script received
        assert reward == pytest.approx(0.3, rel=1e-6)


def test_seeds_follow_the_simulators_rule(spaces_program):
    with Ns3GymEnv([spaces_program, "--space=box"], sim_seed=9) as env:
        assert env.sim_seed == 9
        first, _ = env.reset()  # the run started for the spaces is the first episode
        assert env.sim_seed == 9
        second, _ = env.reset()
        assert env.sim_seed == 9 + SEED_STRIDE
        again, info = env.reset(seed=9)
        assert env.sim_seed == 9 and info["seed"] == 9
        np.testing.assert_array_equal(again, first)
        assert not np.array_equal(second, first)


def test_crash_is_reported_with_command_exit_code_and_output(spaces_program):
    env = Ns3GymEnv([spaces_program, "--space=discrete", "--crashAt=2"], step_timeout_s=30)
    try:
        env.reset()
        pid = env.sim_pid
        env.step(1)
        with pytest.raises(Ns3Error) as info:
            env.step(1)
        message = str(info.value)
        assert spaces_program in message and "--crashAt=2" in message
        assert "exit code 7" in message and "crashing on purpose" in message
        assert gone(pid)
        obs, _ = env.reset()  # a failed run does not break the env
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def test_hung_script_times_out_and_is_killed(spaces_program):
    env = Ns3GymEnv([spaces_program, "--space=box", "--hangAt=1"], step_timeout_s=1)
    try:
        env.reset()
        pid = env.sim_pid
        with pytest.raises(Ns3Error, match=r"within 1 s \(hung\?\); killed by signal SIGKILL") as info:
            env.step(env.action_space.sample())
        assert "hanging on purpose" in str(info.value)
        assert gone(pid)
    finally:
        env.close()


def test_invalid_action_is_refused_before_it_is_sent(spaces_program):
    with Ns3GymEnv([spaces_program, "--space=box"]) as env:
        env.reset()
        with pytest.raises(ValueError, match="does not fit the action space"):
            env.step(np.zeros(5))
        _, _, term, trunc, _ = env.step(np.zeros(2))  # the episode goes on
        assert not term and not trunc


def test_attach_to_a_script_started_by_the_user(spaces_program):
    port = free_port()
    scripts = []

    def start_script(seed: int) -> subprocess.Popen:
        proc = subprocess.Popen([spaces_program, f"--openGymPort={port}", f"--simSeed={seed}", "--space=dict", "--steps=2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        scripts.append(proc)
        return proc

    try:
        first = start_script(4)  # connects (and retries) until the env binds the port
        env = Ns3GymEnv(port=port, start_timeout_s=30)
        try:
            assert env.sim_pid == first.pid and env.sim_seed is None
            _, info = env.reset(seed=123)  # attach mode: the script's own --simSeed decides
            assert info["seed"] == 4
            done = False
            while not done:
                _, _, term, trunc, _ = env.step(env.action_space.sample())
                done = term or trunc
            assert trunc
            assert first.wait(timeout=30) == 0
            second = start_script(5)
            _, info = env.reset()
            assert info["seed"] == 5 and env.sim_pid == second.pid
        finally:
            env.close()
        assert second.wait(timeout=30) == 0, second.stderr.read()  # close() answered with stopSimReq
    finally:
        for proc in scripts:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()


# ----------------------------------------------------------------------------------------------
# Without the C++ build: a Python stand-in for an ns3-gym script, and argument errors
# ----------------------------------------------------------------------------------------------
STAND_IN = textwrap.dedent(
    """
    import sys
    import numpy as np
    from gymnasium import spaces
    from slicebridge.ns3.wire import SimPeer, pb
    args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
    obs_space = spaces.Tuple((spaces.Box(0.0, 1.0, (3,), np.float32), spaces.Discrete(4)))
    act_space = spaces.Discrete(2)
    seed, steps = int(args["simSeed"]), int(args.get("steps", 3))
    rng = np.random.default_rng(seed)
    with SimPeer(f"tcp://localhost:{args['openGymPort']}", obs_space, act_space, timeout_s=30) as peer:
        if peer.init():
            sys.exit(0)
        for k in range(steps + 1):
            last = k == steps
            obs = (rng.random(3).astype(np.float32), int(k % 4))
            action, stop = peer.notify(obs, reward=float(k), game_over=last, reason=pb.EnvStateMsg.GameOver,
                                       info="free text" if k else '{"seed": %d}' % seed)
            if stop:
                break
    """
)


def test_stand_in_script_episode_without_cpp_build(tmp_path):
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    with Ns3GymEnv([sys.executable, str(script)], sim_seed=3, sim_args={"--steps": 2}) as env:
        assert env.action_space == spaces.Discrete(2)
        obs, info = env.reset()
        assert info == {"seed": 3} and env.observation_space.contains(obs)
        _, reward, term, trunc, info = env.step(1)
        assert (reward, term, trunc, info) == (1.0, False, False, {"info": "free text"})
        _, reward, term, trunc, _ = env.step(0)
        assert (reward, term, trunc) == (2.0, True, False)


def test_argument_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="needs the port"):
        Ns3GymEnv()
    with pytest.raises(ValueError, match="list of arguments"):
        Ns3GymEnv("./ns3 run opengym")
    with pytest.raises(ValueError, match="loopback"):
        Ns3GymEnv(port=free_port(), host="0.0.0.0")
    missing = tmp_path / "no-such-script"
    with pytest.raises(Ns3Error, match=f"cannot start the ns-3 simulation `{missing} --openGymPort="):
        Ns3GymEnv([missing])


def test_script_that_never_connects_times_out_naming_the_command(tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(Ns3Error, match=r"silent.py --openGymPort=\d+ --simSeed=0` .*was still starting after 0.5 s \(no SimInitMsg yet\)") as info:
        Ns3GymEnv([sys.executable, str(script)], start_timeout_s=0.5)
    assert "hung" not in str(info.value) and "pass a larger start_timeout_s" in str(info.value)


def test_a_run_with_other_spaces_is_refused(spaces_program):
    port = free_port()
    args = [f"--openGymPort={port}", "--steps=2"]
    first = subprocess.Popen([spaces_program, *args, "--space=box"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = None
    try:
        env = Ns3GymEnv(port=port, start_timeout_s=30)
        try:
            env.reset()
            second = subprocess.Popen([spaces_program, *args, "--space=dict"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with pytest.raises(Ns3Error, match=rf"attached at tcp://127.0.0.1:{port} \(pid {second.pid}\) announced other spaces"):
                env.reset()
        finally:
            env.close()
        assert second.wait(timeout=30) == 0  # answered with stopSimReq when the env refused the run
    finally:
        for proc in (first, second):
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
