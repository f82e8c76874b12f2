# SPDX-License-Identifier: GPL-2.0-only
"""ns3-gym compatibility mode of the ns-3 program (``--openGymCompat``) and the reward computed in C++.

- The C++ reward (``ns3_scenarios/model/slice-reward.cc``, through ``slicebridge-spec-check``) equals
  Python's ``bridge.reward.RewardFunction`` on the same KPI tensors, for every reward of the contract.
- A client written the way ns3-gym's reference client (``ns3gym.ns3env``) talks (its own space
  parsing, an action sampled from its Box and packed as a flat list of floats with ``shape =
  [len(action)]``; our protobuf module, none of our GymServer's encode helpers) drives slicebridge-lte
  in compatibility mode through a whole episode, and the reward of every state equals Python's on the
  state's KPIs. An action it cannot use ends the episode with a game-over state, not a hang.
- ``slicebridge.envs.Ns3GymEnv`` runs on the compatibility mode too.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from typing import Iterator

import numpy as np
import pytest
import zmq
from gymnasium import spaces

from slicebridge.bridge import contract
from slicebridge.bridge import kpi as K
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import Scenario, load_scenario
from slicebridge.envs import Ns3GymEnv
from slicebridge.ns3.runtime import runtime_dict, write_runtime_json
from slicebridge.ns3.wire import ns3opengym_pb2 as pb

EXIT_INVALID_ACTION = 4
WAIT_MS = 120_000  # a guard against a hang (the test then fails); not a speed requirement


def two_cell_scenario(reward: str, steps: int = 6) -> Scenario:
    tiny = load_scenario("tiny")
    return tiny.with_updates(
        topology={"sites": 2},
        control={"episode_steps": steps},
        reward={"name": reward, "alpha": 0.7, "beta": 0.4, "lam": 0.6, "mu": 1.3, "phi": 2.0},
        sla_overrides=[{"slice": "embb", "cells": [1], "throughput_mbps": 1.5, "delay_ms": 40}],
    )


# ------------------------------------------------------------------------------------------------
# Parity of the reward, without the simulator
# ------------------------------------------------------------------------------------------------
def kpi_tensors(scenario: Scenario, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """KPI tensors ``[n, C, S, 11]`` that visit the formulas' corners: idle slices, zero delay, zero SE."""
    shape = (n, scenario.n_cells, scenario.n_slices, len(contract.KPI_NAMES))
    kpis = rng.uniform(0.0, 8.0, shape)
    for k in (K.LOSS, K.SLA_RATIO, K.PRB_USED, K.SHARE):
        kpis[..., k] = rng.uniform(0.0, 1.0, shape[:-1])
    kpis[..., K.ACTIVE_UES] = rng.integers(0, 3, shape[:-1])
    corners = rng.uniform(size=shape[:-1])
    kpis[..., K.OFFERED] = np.where(corners < 0.15, 0.0, kpis[..., K.OFFERED])
    kpis[..., K.DELAY_MEAN] = np.where(corners > 0.85, 0.0, kpis[..., K.DELAY_MEAN])
    kpis[..., K.SPECTRAL_EFF] = np.where((corners > 0.4) & (corners < 0.5), 0.0, kpis[..., K.SPECTRAL_EFF])
    kpis[0] = 0.0  # nothing at all
    return kpis


@pytest.mark.parametrize("reward", contract.REWARD_NAMES)
def test_cpp_reward_equals_python_reward(gym_program, reward):
    scenario = two_cell_scenario(reward)
    kpis = kpi_tensors(scenario, np.random.default_rng(18))
    request = {"runtime": runtime_dict(scenario, seed=1), "reward_kpis": kpis.tolist()}
    proc = subprocess.run([str(gym_program("slicebridge-spec-check"))], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)["runtime"]
    assert answer["reward_name"] == reward
    python = RewardFunction(scenario)(kpis)  # [n, C]
    np.testing.assert_allclose(np.array(answer["cell_rewards"]), python, rtol=1e-13, atol=1e-15)


def test_python_rewards_are_the_contract_rewards():
    from slicebridge.bridge.scenario import REWARD_NAMES

    assert REWARD_NAMES == contract.REWARD_NAMES
    assert all(hasattr(RewardFunction, f"_{name}") for name in contract.REWARD_NAMES)


# ------------------------------------------------------------------------------------------------
# A client that packs actions as ns3-gym's reference client does
# ------------------------------------------------------------------------------------------------
class ReferenceStyleClient:
    """The Python side of ns3-gym, written as its reference client works: REP socket, spaces read from
    ``SimInitMsg`` into Gymnasium spaces, Box data as flat NumPy arrays, an action packed as
    ``BoxDataContainer(shape=[len(action)], dtype=FLOAT, floatData=action)``, and after a game-over
    state an ``EnvActMsg(stopSimReq=True)``. Only the protobuf messages are slicebridge's."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REP)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, WAIT_MS)
        self.socket.bind("tcp://127.0.0.1:*")
        self.port = int(self.socket.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1])
        self.action_space: spaces.Box | None = None
        self.observation_space: spaces.Box | None = None

    @staticmethod
    def _box(desc: pb.SpaceDescription) -> spaces.Box:
        assert desc.type == pb.Box, "a flat layout is one Box"
        box = pb.BoxSpace()
        desc.space.Unpack(box)
        dtype = {pb.INT: np.int64, pb.UINT: np.uint64}.get(box.dtype, np.float64)
        return spaces.Box(low=box.low, high=box.high, shape=tuple(box.shape), dtype=dtype)

    def init(self) -> None:
        msg = pb.SimInitMsg()
        msg.ParseFromString(self.socket.recv())
        self.observation_space = self._box(msg.obsSpace)
        self.action_space = self._box(msg.actSpace)
        self.socket.send(pb.SimInitAck(done=True, stopSimReq=False).SerializeToString())

    def state(self) -> tuple[np.ndarray, float, bool, int, dict]:
        msg = pb.EnvStateMsg()
        msg.ParseFromString(self.socket.recv())
        box = pb.BoxDataContainer()
        msg.obsData.data.Unpack(box)
        obs = np.array(box.doubleData if box.dtype == pb.DOUBLE else box.floatData)
        if msg.isGameOver:  # the reference answers a game over with a close command
            self.socket.send(pb.EnvActMsg(stopSimReq=True).SerializeToString())
        return obs, msg.reward, msg.isGameOver, msg.reason, json.loads(msg.info)

    def act(self, action: np.ndarray) -> None:
        box = pb.BoxDataContainer()
        box.shape.extend([len(action)])
        box.dtype = pb.FLOAT
        box.floatData.extend(action)
        container = pb.DataContainer(type=pb.Box)
        container.data.Pack(box)
        self.socket.send(pb.EnvActMsg(actData=container).SerializeToString())

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


@contextlib.contextmanager
def compat_run(ns3_binary, scenario: Scenario, tmp_path) -> Iterator[tuple[ReferenceStyleClient, subprocess.Popen]]:
    """slicebridge-lte in compatibility mode connected to a :class:`ReferenceStyleClient`; both are
    cleaned up on exit (the program killed if it still runs)."""
    config = write_runtime_json(scenario, seed=1, path=tmp_path / "runtime.json")
    client = ReferenceStyleClient()
    cmd = [str(ns3_binary), f"--config={config}", f"--openGymPort={client.port}", "--openGymCompat=1", "--simSeed=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield client, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        client.close()


@pytest.mark.parametrize("reward", ["min_satisfaction", "sigmoid_utility"])
def test_reference_style_client_drives_a_whole_episode_in_compat_mode(ns3_binary, tmp_path, reward):
    scenario = two_cell_scenario(reward, steps=6)
    cells, slices, n_kpis = scenario.n_cells, scenario.n_slices, len(contract.KPI_NAMES)
    python_reward = RewardFunction(scenario)
    with compat_run(ns3_binary, scenario, tmp_path) as (client, proc):
        client.init()
        assert client.observation_space.shape == (cells * slices * n_kpis,)
        assert client.action_space.shape == (cells * slices,)
        client.action_space.seed(3)
        states = [client.state()]
        while not states[-1][2]:
            client.act(client.action_space.sample())  # uniform in [0, 1]^n: ns-3 projects it
            states.append(client.state())
        _, stderr = proc.communicate(timeout=WAIT_MS / 1000)
    assert proc.returncode == 0, stderr
    assert len(states) == 1 + scenario.control.episode_steps  # the warm-up state, then one per step
    assert states[-1][3] == pb.EnvStateMsg.SimulationEnd
    projected = 0
    for obs, reward_wire, _, _, info in states:
        kpis = obs.reshape(cells, slices, n_kpis)  # row-major, as bridge.kpi's tensor
        cell_rewards = python_reward(kpis)
        np.testing.assert_allclose(info["cell_rewards"], cell_rewards, rtol=1e-13, atol=1e-15)
        assert reward_wire == pytest.approx(np.float32(cell_rewards.mean()), rel=1e-6, abs=1e-7)
        assert info["reward_name"] == reward
        projected += info["projected_rows"]
    assert projected > 0  # the sampled actions were off the simplex and were projected, not refused
    assert any(s[1] != 0.0 for s in states)


def test_an_unusable_action_ends_the_episode_instead_of_hanging(ns3_binary, tmp_path):
    scenario = two_cell_scenario("min_satisfaction", steps=4)
    with compat_run(ns3_binary, scenario, tmp_path) as (client, proc):
        client.init()
        client.state()
        client.act(client.action_space.sample()[:-1])  # one value short
        _, _, game_over, reason, info = client.state()  # answered with stopSimReq, as the reference does
        _, stderr = proc.communicate(timeout=WAIT_MS / 1000)
    assert game_over and reason == pb.EnvStateMsg.GameOver
    assert "action rejected" in info["error"] and "flat [4]" in info["error"]
    assert proc.returncode == EXIT_INVALID_ACTION and "action rejected" in stderr


def test_ns3gym_env_runs_the_compat_mode(ns3_binary, tmp_path):
    scenario = two_cell_scenario("utility_cost", steps=4)
    config = write_runtime_json(scenario, seed=1, path=tmp_path / "runtime.json")
    python_reward = RewardFunction(scenario)
    with Ns3GymEnv([str(ns3_binary), f"--config={config}", "--openGymCompat=1"], sim_seed=1) as env:
        assert env.action_space.shape == (scenario.n_cells * scenario.n_slices,)
        env.action_space.seed(0)
        obs, info = env.reset(seed=1)
        rewards, truncated = [], False
        while not truncated:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            kpis = obs.reshape(scenario.n_cells, scenario.n_slices, -1)
            assert reward == pytest.approx(float(np.float32(python_reward(kpis).mean())), rel=1e-6, abs=1e-7)
            rewards.append(reward)
            assert not terminated
        assert len(rewards) == scenario.control.episode_steps
