"""Protocol unit tests for slicebridge.ns3.wire: codec, REP server, REQ peer, fake ns3-gym-style peers."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import zmq
from gymnasium import spaces

from slicebridge.ns3.wire import (
    GymServer,
    SimPeer,
    WireError,
    WireTimeout,
    conform,
    data_from_pb,
    data_to_pb,
    pb,
    recv_states,
    space_from_pb,
    space_to_pb,
)
from slicebridge.ns3.wire.server import encode_action, parse_info, parse_state


def roundtrip_space(space):
    wire = pb.SpaceDescription.FromString(space_to_pb(space).SerializeToString())
    return space_from_pb(wire)


def roundtrip_data(value, space=None):
    wire = pb.DataContainer.FromString(data_to_pb(value, space).SerializeToString())
    return data_from_pb(wire)


def assert_same_box(a: spaces.Box, b: spaces.Box):
    assert isinstance(b, spaces.Box)
    assert b.shape == a.shape and b.dtype == a.dtype
    np.testing.assert_array_equal(b.low, a.low)
    np.testing.assert_array_equal(b.high, a.high)


# ----------------------------------------------------------------------------------------------
# Spaces
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint32])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4), (2, 3, 5)])
def test_box_space_keeps_shape_dtype_bounds(dtype, shape):
    if np.dtype(dtype).kind == "f":
        low, high = -0.1, 12.5
    elif np.dtype(dtype).kind == "u":
        low, high = 0, 4000
    else:
        low, high = -7, 1000
    space = spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    assert_same_box(space, roundtrip_space(space))


def test_box_space_infinite_and_decimal_bounds():
    space = spaces.Box(low=0.0, high=np.inf, shape=(2, 3), dtype=np.float64)
    assert_same_box(space, roundtrip_space(space))
    space = spaces.Box(low=-np.inf, high=0.3, shape=(4,), dtype=np.float64)
    back = roundtrip_space(space)
    assert back.high[0] == 0.3  # not 0.30000001192092896 (float32 on the wire)
    assert np.isneginf(back.low).all()


def test_int_box_full_range_bounds_survive():
    space = spaces.Box(low=np.iinfo(np.int32).min, high=np.iinfo(np.int32).max, shape=(2,), dtype=np.int32)
    assert_same_box(space, roundtrip_space(space))


def test_discrete_tuple_dict_nesting():
    space = spaces.Dict(
        {
            "load": spaces.Box(0.0, np.inf, (3, 2), np.float64),
            "mode": spaces.Discrete(5),
            "pair": spaces.Tuple((spaces.Discrete(2), spaces.Box(-1, 1, (4,), np.float32))),
            "inner": spaces.Dict({"a": spaces.Box(0, 10, (), np.int32), "b": spaces.Tuple((spaces.Discrete(3),))}),
        }
    )
    back = roundtrip_space(space)
    assert list(back.spaces) == list(space.spaces)
    assert back["mode"] == spaces.Discrete(5)
    assert_same_box(space["load"], back["load"])
    assert isinstance(back["pair"], spaces.Tuple) and back["pair"][0] == spaces.Discrete(2)
    assert_same_box(space["pair"][1], back["pair"][1])
    assert_same_box(space["inner"]["a"], back["inner"]["a"])
    assert back["inner"]["b"][0] == spaces.Discrete(3)
    # Dict keys travel in the element's name, values in an Any with the ns3opengym type URL
    desc = space_to_pb(space)
    assert desc.type == pb.Dict and desc.space.type_url == "type.googleapis.com/ns3opengym.DictSpace"
    inner = pb.DictSpace()
    desc.space.Unpack(inner)
    assert [e.name for e in inner.element] == list(space.spaces)


def test_unrepresentable_spaces_are_rejected():
    with pytest.raises(WireError, match="differs per element"):
        space_to_pb(spaces.Box(low=np.array([0.0, 1.0]), high=2.0, dtype=np.float64))
    with pytest.raises(WireError, match="no ns3opengym SpaceType"):
        space_to_pb(spaces.MultiBinary(3))
    with pytest.raises(WireError, match="starts at 0"):
        space_to_pb(spaces.Discrete(3, start=1))
    with pytest.raises(WireError, match="DictSpace"):
        bad = pb.SpaceDescription(type=pb.Dict)
        bad.space.Pack(pb.BoxSpace())
        space_from_pb(bad)


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def test_float64_round_trip_is_exact():
    rng = np.random.default_rng(0)
    value = rng.normal(size=(3, 2)) * 1e6 + 1e-9
    back = roundtrip_data(value)
    assert back.dtype == np.float64 and back.shape == (3, 2)
    np.testing.assert_array_equal(back, value)
    box = pb.BoxDataContainer()
    data_to_pb(value).data.Unpack(box)
    assert box.dtype == pb.DOUBLE and len(box.doubleData) == 6 and not box.floatData


@pytest.mark.parametrize(
    "value",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        np.arange(-5, 7, dtype=np.int32).reshape(2, 2, 3),
        np.arange(10, dtype=np.uint32),
        np.array(2.5),
        np.zeros((0,), dtype=np.float64),
        np.zeros((2, 0), dtype=np.float32),
    ],
)
def test_box_data_keeps_shape_and_dtype(value):
    back = roundtrip_data(value)
    assert back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)


def test_discrete_tuple_dict_data():
    value = {"a": np.ones((2, 3)), "k": 4, "t": (1, np.array([1.5, 2.5], np.float32), {"z": np.int32(3)})}
    back = roundtrip_data(value)
    assert list(back) == ["a", "k", "t"]
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["k"] == 4 and isinstance(back["k"], int)
    assert back["t"][0] == 1 and back["t"][1].dtype == np.float32
    assert back["t"][2] == {"z": 3}


def test_data_checked_against_space():
    space = spaces.Dict({"x": spaces.Box(0, 1, (2, 2), np.float64), "n": spaces.Discrete(3)})
    back = roundtrip_data({"n": 2, "x": [[0.1, 0.2], [0.3, 0.4]]}, space)
    assert back["x"].dtype == np.float64 and back["x"].shape == (2, 2)
    with pytest.raises(WireError, match="shape"):
        data_to_pb({"x": np.zeros(4), "n": 1}, space)
    with pytest.raises(WireError, match="keys"):
        data_to_pb({"x": np.zeros((2, 2))}, space)
    with pytest.raises(WireError, match="integer"):
        data_to_pb(1.5, spaces.Discrete(3))
    with pytest.raises(WireError, match="int32"):
        data_to_pb(np.array([2**40]))
    # space dtype wins: a float32 space sends floatData even from float64 input
    box = pb.BoxDataContainer()
    data_to_pb(np.zeros(3), spaces.Box(0, 1, (3,), np.float32)).data.Unpack(box)
    assert box.dtype == pb.FLOAT and len(box.floatData) == 3


def test_large_observation_round_trip():
    value = {f"kpi{i}": np.random.default_rng(i).random((30, 10)) for i in range(10)}  # 3000 values
    back = roundtrip_data(value)
    for k, v in value.items():
        np.testing.assert_array_equal(back[k], v)


# ----------------------------------------------------------------------------------------------
# States, actions, and values cast to their space
# ----------------------------------------------------------------------------------------------
def _state_bytes(obs, space=None, reward=0.25, game_over=False, info='{"sim_time_s": 1.5}'):
    msg = pb.EnvStateMsg(reward=reward, isGameOver=game_over, reason=pb.EnvStateMsg.GameOver if game_over else 0, info=info)
    if obs is not None:
        msg.obsData.CopyFrom(data_to_pb(obs, space))
    return msg.SerializeToString()


def _assert_identical(a, b):
    """Same structure, types, dtypes, shapes and bit patterns (NaN and -0.0 included)."""
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    elif isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b)
        for k in b:
            _assert_identical(a[k], b[k])
    elif isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_identical(x, y)
    else:
        assert type(a) is type(b) and a == b


def _nasty(rng, shape, dtype):
    """Random values with the awkward float cases: NaN, ±inf, -0.0, subnormals, tiny/huge."""
    with np.errstate(over="ignore"):  # huge values become inf in float32
        v = np.asarray(rng.standard_normal(shape) * 10.0 ** rng.integers(-300, 300, shape)).astype(dtype)
    flat = v.reshape(-1)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1 / 3], dtype=dtype)
    flat[: min(flat.size, specials.size)] = specials[: flat.size]
    return v


STATE_SPACES = {
    "kpi_dict": spaces.Dict({f"kpi{i}": spaces.Box(0.0, np.inf, (4, 3), np.float64) for i in range(11)}),
    "shapes": spaces.Dict({"s": spaces.Box(-1, 1, (), np.float64), "one": spaces.Box(-1, 1, (1,), np.float64),
                           "f32": spaces.Box(-1, 1, (2, 3, 2), np.float32), "empty": spaces.Box(-1, 1, (0, 2), np.float64)}),
    "nested": spaces.Dict({"a": spaces.Tuple((spaces.Discrete(5), spaces.Box(0, 1, (3,), np.float64))),
                           "b": spaces.Dict({"c": spaces.Box(0, 1, (2, 2), np.float32)}), "d": spaces.Discrete(9)}),
    "box": spaces.Box(-1, 1, (7,), np.float64),
    "ints": spaces.Dict({"i": spaces.Box(-9, 9, (3,), np.int32), "u": spaces.Box(0, 9, (2,), np.uint32)}),
    "discrete": spaces.Discrete(4),
}


def _sample(space, rng):
    if isinstance(space, spaces.Box):
        if space.dtype.kind == "f":
            return _nasty(rng, space.shape, space.dtype)
        return rng.integers(-9 if space.dtype.kind == "i" else 0, 9, space.shape).astype(space.dtype)
    if isinstance(space, spaces.Discrete):
        return int(rng.integers(space.n))
    if isinstance(space, spaces.Tuple):
        return tuple(_sample(s, rng) for s in space.spaces)
    return {k: _sample(s, rng) for k, s in space.spaces.items()}


@pytest.mark.parametrize("name", sorted(STATE_SPACES))
def test_state_round_trip_is_bit_exact(name):
    space = STATE_SPACES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for step in range(5):
        obs = _sample(space, rng)
        raw = _state_bytes(obs, space, reward=float(step) / 3, game_over=step == 4, info=json.dumps({"step": step}))
        state = parse_state(raw)
        _assert_identical(state.obs, obs)
        _assert_identical(conform(state.obs, space), obs)
        assert state.reward == np.float32(float(step) / 3) and state.info == {"step": step}
        assert state.game_over == (step == 4) and state.terminated == (step == 4) and not state.truncated


def test_conform_casts_to_the_space():
    space = spaces.Dict({"b": spaces.Box(0, 1, (2, 3), np.float32), "a": spaces.Tuple((spaces.Discrete(3),))})
    value = conform({"a": (np.array([2], np.int32),), "b": np.arange(6, dtype=np.float64) / 10}, space)
    assert list(value) == list(space.spaces)  # the space's key order
    assert value["b"].dtype == np.float32 and value["b"].shape == (2, 3)  # flat, as ns3-gym sends, reshaped
    assert value["a"] == (2,) and type(value["a"][0]) is int
    assert space.contains(value)
    with pytest.raises(WireError, match=r"obs\['b'\]: got 5 value"):
        conform({"a": (1,), "b": np.zeros(5)}, space, "obs")
    with pytest.raises(WireError, match="keys"):
        conform({"b": np.zeros(6)}, space)
    with pytest.raises(WireError, match="Tuple of 1"):
        conform({"a": 1, "b": np.zeros(6)}, space)


def test_malformed_state_raises_wire_error():
    raw = _state_bytes({"a": np.ones(5)})
    parse_state(raw)
    for bad in (raw[:-3], raw[:20], b"\x0a\xff"):
        with pytest.raises(WireError, match="malformed"):
            parse_state(bad)
    assert parse_state(_state_bytes(None)).obs is None


def test_info_parsing():
    assert parse_info("") == {}
    assert parse_info('{"sim_time_s": 1.5}') == {"sim_time_s": 1.5}
    assert parse_info("free text") == {"info": "free text"}
    assert parse_info("[1, 2]") == {"info": [1, 2]}


# ----------------------------------------------------------------------------------------------
# Server and peer
# ----------------------------------------------------------------------------------------------
OBS_SPACE = spaces.Dict(
    {"thr": spaces.Box(0.0, np.inf, (2, 3), np.float64), "sla": spaces.Box(0.0, 1.0, (2, 3), np.float64)}
)
ACT_SPACE = spaces.Box(0.0, 1.0, (2, 3), np.float64)


def run_thread(fn, *args):
    box: dict = {}

    def target():
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # surfaced by join()
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join(timeout=10.0):
        thread.join(timeout)
        assert not thread.is_alive(), "peer thread hung"
        if "error" in box:
            raise box["error"]
        return box.get("result")

    return join


def sim_peer_episode(endpoint, steps, reason):
    """Our simulator side (Python twin of the C++ SliceGymInterface)."""
    received = []
    with SimPeer(endpoint, OBS_SPACE, ACT_SPACE) as peer:
        assert peer.init() is False
        for step in range(steps + 1):
            last = step == steps
            obs = {"thr": np.full((2, 3), float(step)), "sla": np.full((2, 3), 0.5)}
            action, stop = peer.notify(obs, reward=step, game_over=last, reason=reason, info={"step": step})
            if stop:
                return received, step
            received.append(action)
    return received, None


@pytest.mark.parametrize("endpoint", ["tcp", "ipc"])
@pytest.mark.parametrize("reason", [pb.EnvStateMsg.SimulationEnd, pb.EnvStateMsg.GameOver])
def test_episode_with_sim_peer(endpoint, reason):
    with GymServer(endpoint, timeout_s=5) as server:
        if endpoint == "tcp":
            assert server.endpoint.startswith("tcp://127.0.0.1:") and server.port > 0
        else:
            assert server.endpoint.startswith("ipc://") and server.port is None
        join = run_thread(sim_peer_episode, server.endpoint, 4, reason)
        init = server.recv_init()
        assert init.pid == os.getpid()
        assert_same_box(OBS_SPACE["thr"], init.observation_space["thr"])
        assert_same_box(ACT_SPACE, init.action_space)
        server.ack_init()
        state = server.recv_state()
        assert state.info == {"step": 0} and not state.game_over
        sent = []
        while not state.game_over:
            action = np.full((2, 3), state.obs["thr"][0, 0] / 10)
            sent.append(action)
            server.send_action(action)
            state = server.recv_state()
        assert state.obs["thr"][0, 0] == 4.0 and state.reward == 4.0
        assert state.terminated == (reason == pb.EnvStateMsg.GameOver)
        assert state.truncated == (reason == pb.EnvStateMsg.SimulationEnd)
        server.send_stop()
        received, stopped_at = join()
        assert stopped_at == 4
        assert len(received) == 4
        for a, b in zip(sent, received):
            np.testing.assert_array_equal(a, b)
            assert b.dtype == np.float64
    if endpoint == "ipc":
        assert not os.path.exists(server.endpoint[len("ipc://"):])


def test_server_refuses_non_loopback():
    with pytest.raises(ValueError, match="loopback"):
        GymServer("tcp://0.0.0.0:0")
    with pytest.raises(ValueError, match="loopback"):
        GymServer("tcp://*:5555")


def test_server_checks_action_against_space():
    with GymServer(timeout_s=5) as server:
        def peer():
            with SimPeer(server.endpoint, OBS_SPACE, ACT_SPACE, timeout_s=5) as p:
                p.init()
                return p.notify({"thr": np.zeros((2, 3)), "sla": np.zeros((2, 3))})

        join = run_thread(peer)
        server.recv_init()
        server.ack_init()
        server.recv_state()
        with pytest.raises(WireError, match="shape"):
            server.send_action(np.zeros(6))
        server.send_stop()
        assert join() == (None, True)


def test_recv_times_out_when_peer_never_speaks():
    with GymServer(timeout_s=0.3) as server:
        t0 = time.monotonic()
        with pytest.raises(WireTimeout, match="SimInitMsg"):
            server.recv_init()
        assert 0.25 < time.monotonic() - t0 < 2.0


def test_recv_times_out_when_peer_dies_mid_episode():
    with GymServer(timeout_s=0.5) as server:
        def peer_dies():
            peer = SimPeer(server.endpoint, OBS_SPACE, ACT_SPACE, timeout_s=5)
            peer.init()
            peer._socket.send(pb.EnvStateMsg().SerializeToString())
            peer._socket.recv()  # gets the action, then dies without sending the next state
            peer.close()

        join = run_thread(peer_dies)
        server.recv_init()
        server.ack_init()
        server.recv_state()
        server.send_action(np.zeros((2, 3)))
        join()
        with pytest.raises(WireTimeout, match="EnvStateMsg"):
            server.recv_state()


def test_liveness_check_aborts_wait_early():
    calls = []

    def liveness():
        calls.append(1)
        if len(calls) >= 3:
            raise RuntimeError("ns-3 exited with code 134")

    with GymServer(timeout_s=30, liveness=liveness) as server:
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="code 134"):
            server.recv_state()
        assert time.monotonic() - t0 < 2.0


def test_sim_peer_times_out_when_client_never_answers():
    with GymServer(timeout_s=5) as server:
        peer = SimPeer(server.endpoint, OBS_SPACE, ACT_SPACE, timeout_s=0.3)
        try:
            with pytest.raises(WireTimeout, match="SimInitAck"):
                peer.init()
        finally:
            peer.close()


def test_protocol_order_is_enforced():
    with GymServer(timeout_s=1) as server:
        with pytest.raises(WireError, match="protocol order"):
            server.send_stop()


def test_recv_states_gathers_from_many_and_names_silent_peer():
    servers = [GymServer(timeout_s=5) for _ in range(3)]
    try:
        def talker(endpoint, speak):
            with SimPeer(endpoint, OBS_SPACE, ACT_SPACE, timeout_s=5) as peer:
                peer.init()
                if speak:
                    peer._socket.send(pb.EnvStateMsg(reward=1.0).SerializeToString())
                    peer._socket.poll(3000)

        joins = [run_thread(talker, s.endpoint, i != 1) for i, s in enumerate(servers)]
        for s in servers:
            s.recv_init()
            s.ack_init()
        with pytest.raises(WireTimeout, match=r"peer\(s\) \[1\]"):
            recv_states(servers, 0.5)
        for i in (0, 2):
            assert servers[i].awaiting_reply
            servers[i].send_stop()
        for j in joins:
            j()
    finally:
        for s in servers:
            s.close()


def test_no_fd_leak_over_many_servers():
    def fds():
        return len(os.listdir("/proc/self/fd"))

    with GymServer() as s:  # warm up lazily opened libzmq resources
        pass
    before = fds()
    for i in range(30):
        with GymServer("ipc" if i % 2 else "tcp") as server:
            assert server.endpoint
    time.sleep(0.1)
    assert fds() <= before + 1


# ----------------------------------------------------------------------------------------------
# Interoperation with ns3-gym-style peers (written here from the protocol, not copied)
# ----------------------------------------------------------------------------------------------
class ReferenceStyleSimulator:
    """A fake ns-3 written the way ns3-gym's C++ OpenGymInterface behaves: Init() sends SimInitMsg
    and reads the ack; NotifyCurrentState() sends a state and applies the reply (exit on
    stopSimReq); NotifySimulationEnd() sends a final state with reason SimulationEnd and only reads
    the reply. Box data go as a flat vector with shape [n] and float32 (FLOAT) values."""

    def __init__(self, endpoint, n=4, game_over_at=None):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 5000)
        self.sock.connect(endpoint)
        self.n, self.game_over_at = n, game_over_at
        self.actions, self.stopped, self.sim_end = [], False, False

    def _box_space(self, low, high):
        desc = pb.SpaceDescription(type=pb.Box)
        desc.space.Pack(pb.BoxSpace(low=low, high=high, dtype=pb.FLOAT, shape=[self.n]))
        return desc

    def init(self):
        msg = pb.SimInitMsg(simProcessId=os.getpid(), wafShellProcessId=os.getppid())
        msg.obsSpace.CopyFrom(self._box_space(0.0, 100.0))
        msg.actSpace.CopyFrom(self._box_space(0.0, 1.0))
        self.sock.send(msg.SerializeToString())
        ack = pb.SimInitAck.FromString(self.sock.recv())
        self.stopped = ack.stopSimReq

    def notify_current_state(self, t):
        box = pb.BoxDataContainer(dtype=pb.FLOAT, shape=[self.n], floatData=[t + i for i in range(self.n)])
        state = pb.EnvStateMsg(reward=float(t), info=f"t={t}")
        state.obsData.type = pb.Box
        state.obsData.data.Pack(box)
        game_over = self.sim_end or (self.game_over_at is not None and t >= self.game_over_at)
        if game_over:
            state.isGameOver = True
            state.reason = pb.EnvStateMsg.SimulationEnd if self.sim_end else pb.EnvStateMsg.GameOver
        self.sock.send(state.SerializeToString())
        reply = pb.EnvActMsg.FromString(self.sock.recv())
        if self.sim_end:
            return
        if reply.stopSimReq:
            self.stopped = True
            return
        act = pb.BoxDataContainer()
        reply.actData.data.Unpack(act)
        self.actions.append(list(act.floatData))

    def run(self, steps):
        self.init()
        for t in range(steps):
            if self.stopped:
                break
            self.notify_current_state(t)
        if not self.stopped:
            self.sim_end = True
            self.notify_current_state(steps)
        self.sock.close()
        self.ctx.term()
        return self


@pytest.mark.parametrize("game_over_at", [None, 3])
def test_our_client_drives_reference_style_simulator(game_over_at):
    with GymServer(timeout_s=5) as server:
        join = run_thread(lambda: ReferenceStyleSimulator(server.endpoint, game_over_at=game_over_at).run(6))
        init = server.recv_init()
        assert init.observation_space == spaces.Box(0.0, 100.0, (4,), np.float32)
        assert init.action_space == spaces.Box(0.0, 1.0, (4,), np.float32)
        server.ack_init()
        state = server.recv_state()
        assert state.info == {"info": "t=0"}
        steps = 0
        while not state.game_over:
            server.send_action(np.full(4, 0.25, dtype=np.float32))
            state = server.recv_state()
            steps += 1
        server.send_stop()
        sim = join()
    if game_over_at is None:
        assert state.truncated and not state.terminated and steps == 6
        assert len(sim.actions) == 6
    else:
        assert state.terminated and not state.truncated and steps == 3
        assert sim.stopped and len(sim.actions) == 3
    assert all(a == [0.25] * 4 for a in sim.actions)
    np.testing.assert_array_equal(state.obs, np.arange(steps, steps + 4, dtype=np.float32))


class ReferenceStyleClient:
    """A fake agent written the way ns3-gym's Python Ns3ZmqBridge behaves: REP socket, reads the
    SimInitMsg and acks with done=True, reads state 0, then per step sends actions packed by the
    space's dtype and reads the next state; on a game-over state it answers stopSimReq=true at
    once. (Unlike the reference it binds 127.0.0.1 and has a receive timeout.)"""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 5000)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.states = []
        self.game_over = False

    def initialize(self):
        init = pb.SimInitMsg.FromString(self.sock.recv())
        self.act_space = space_from_pb(init.actSpace)
        self.sock.send(pb.SimInitAck(done=True, stopSimReq=False).SerializeToString())
        self._rx_state()
        return init

    def _rx_state(self):
        state = pb.EnvStateMsg.FromString(self.sock.recv())
        self.states.append(state)
        if state.isGameOver:
            self.game_over = True
            self.sock.send(pb.EnvActMsg(stopSimReq=True).SerializeToString())

    def step(self, values):
        reply = pb.EnvActMsg(stopSimReq=False)
        box = pb.BoxDataContainer(dtype=pb.DOUBLE, shape=list(self.act_space.shape))
        box.doubleData.extend(np.asarray(values, dtype=float).reshape(-1).tolist())
        reply.actData.type = pb.Box
        reply.actData.data.Pack(box)
        self.sock.send(reply.SerializeToString())
        self._rx_state()

    def close(self):
        self.sock.close()
        self.ctx.term()


def test_reference_style_client_answers_our_simulator_side():
    client = ReferenceStyleClient()
    try:
        join = run_thread(sim_peer_episode, f"tcp://127.0.0.1:{client.port}", 3, pb.EnvStateMsg.SimulationEnd)
        init = client.initialize()
        assert init.simProcessId == os.getpid()
        while not client.game_over:
            client.step(np.full((2, 3), len(client.states) / 10))
        received, stopped_at = join()
    finally:
        client.close()
    assert stopped_at == 3 and len(client.states) == 4
    last = client.states[-1]
    assert last.isGameOver and last.reason == pb.EnvStateMsg.SimulationEnd
    assert json.loads(last.info) == {"step": 3}
    obs = data_from_pb(last.obsData)
    assert obs["thr"].shape == (2, 3) and obs["thr"].dtype == np.float64
    np.testing.assert_allclose([a[0, 0] for a in received], [0.1, 0.2, 0.3])


def test_encode_action_stop_without_data():
    msg = pb.EnvActMsg.FromString(encode_action(None, None, True))
    assert msg.stopSimReq and not msg.HasField("actData")


# ----------------------------------------------------------------------------------------------
# The C++ end (SliceGymInterface) through slicebridge-gym-echo: no simulation, same wire code
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def echo(gym_program):
    """The echo program (built with the ns-3 program; requesting it marks a test ``ns3``)."""
    return str(gym_program("slicebridge-gym-echo"))


def start_echo(echo, endpoint_args, *args):
    return subprocess.Popen([echo, *endpoint_args, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=10):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def share_box(values, shape):
    arr = np.asarray(values, dtype=np.float64)
    box = pb.BoxDataContainer(dtype=pb.DOUBLE, shape=list(shape), doubleData=arr.reshape(-1).tolist())
    dc = pb.DataContainer(type=pb.Box)
    dc.data.Pack(box)
    return dc


def test_cpp_end_answered_by_reference_style_client(echo):
    client = ReferenceStyleClient()
    proc = start_echo(echo, [f"--openGymPort={client.port}"], "--cells=2", "--slices=3", "--steps=5")
    try:
        init = client.initialize()
        assert init.simProcessId == proc.pid
        obs_space = space_from_pb(init.obsSpace)
        from slicebridge.bridge.kpi import KPI_NAMES, RATIO_KPIS

        assert set(obs_space.spaces) == set(KPI_NAMES)
        for name, box in obs_space.spaces.items():
            assert box.shape == (2, 3) and box.dtype == np.float64
            assert box.low.min() == 0.0
            assert box.high.max() == (1.0 if name in RATIO_KPIS else np.inf)
        assert client.act_space == spaces.Box(0.0, 1.0, (2, 3), np.float64)
        sent = []
        while not client.game_over:
            shares = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])[:, np.roll(np.arange(3), len(sent))]
            sent.append(shares)
            client.step(shares)
        code, err = finish(proc)
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert len(client.states) == 6 and len(sent) == 5
    last = client.states[-1]
    assert last.isGameOver and last.reason == pb.EnvStateMsg.SimulationEnd
    info = json.loads(last.info)
    assert info["step"] == 4 and info["last"] is True and info["pid"] == proc.pid
    for state, shares in zip(client.states[1:], sent):
        obs = data_from_pb(state.obsData)
        np.testing.assert_array_equal(obs["share_assigned"], shares)  # float64 both ways, exact


def _echo_session(echo, extra, actions, endpoint="tcp"):
    """Drive the echo program with raw actions; return (states, exit code, stderr)."""
    server = GymServer(endpoint, timeout_s=5)
    gym_arg = f"--openGymPort={server.port}" if server.port else f"--openGymEndpoint={server.endpoint}"
    proc = start_echo(echo, [gym_arg], "--cells=2", "--slices=3", f"--steps={len(actions)}", *extra)
    states = []
    try:
        server.liveness = lambda: None if proc.poll() is None else (_ for _ in ()).throw(ChildProcessError(proc.returncode))
        server.recv_init()
        server.ack_init()
        states.append(server.recv_state())
        for action in actions:
            msg = pb.EnvActMsg()
            if action is not None:
                msg.actData.CopyFrom(action)
            server.send_raw(msg.SerializeToString())
            state = server.recv_state()
            states.append(state)
            if state.game_over:
                server.send_stop()
                break
    except ChildProcessError:
        pass
    finally:
        code, err = finish(proc)
        server.close()
    return states, code, err


@pytest.mark.parametrize("endpoint", ["tcp", "ipc"])
def test_cpp_end_projects_invalid_actions(echo, endpoint):
    actions = [
        share_box([[-0.2, 1.5, 0.1], [0.2, 0.3, 0.5]], (2, 3)),  # row 0 invalid
        share_box([0.1, 0.1, 0.8, 0.6, 0.6, 0.6], (6,)),  # flat (ns3-gym style); row 1 sums to 1.8
        None,  # no action: shares stay
    ]
    states, code, err = _echo_session(echo, ["--invalid=project", "--minShare=0.1"], actions, endpoint)
    assert code == 0, err
    assert len(states) == 4
    first = states[1].obs["share_assigned"]
    np.testing.assert_allclose(first[0], [0.1, 0.8, 0.1], atol=1e-12)  # projection with min_share 0.1
    np.testing.assert_array_equal(first[1], [0.2, 0.3, 0.5])
    assert states[2].info["projected_rows"] == 1 and states[2].info["max_projection_l1"] > 0
    second = states[2].obs["share_assigned"]
    np.testing.assert_allclose(second, [[0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)
    assert states[3].info["projected_rows"] == 0 and states[2].info["action_absent"] is False
    assert states[3].info["action_absent"] is True
    np.testing.assert_array_equal(states[3].obs["share_assigned"], second)


@pytest.mark.parametrize(
    "mode, action, message",
    [
        ("reject", share_box([[-0.2, 1.2, 0.0], [0.2, 0.3, 0.5]], (2, 3)), "outside \\[0, 1\\]"),
        ("reject", share_box([[0.5, 0.4, 0.0], [0.2, 0.3, 0.5]], (2, 3)), "sum to"),
        ("project", share_box([[np.nan, 0.5, 0.5], [0.2, 0.3, 0.5]], (2, 3)), "not finite"),
        ("project", share_box([[0.5, 0.5], [0.5, 0.5]], (2, 2)), "shape \\[2, 2\\]"),
    ],
)
def test_cpp_end_rejects_invalid_actions(echo, mode, action, message):
    import re

    states, code, err = _echo_session(echo, [f"--invalid={mode}"], [action, action])
    assert code == 4, err
    assert re.search(message, err), err
    assert len(states) == 1


def test_cpp_end_exits_when_python_disappears(echo):
    server = GymServer(timeout_s=5)
    proc = start_echo(echo, [f"--openGymPort={server.port}"], "--steps=5")
    try:
        server.recv_init()
        server.ack_init()
        server.recv_state()
        t0 = time.monotonic()
        server.close()  # Python side gone while ns-3 waits for the action
        code, err = finish(proc, timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 3 and "disconnected" in err, err
    assert time.monotonic() - t0 < 5


def test_cpp_end_times_out_when_python_hangs(echo):
    with GymServer(timeout_s=5) as server:
        proc = start_echo(echo, [f"--openGymPort={server.port}", "--openGymTimeout=1"], "--steps=5")
        server.recv_init()
        server.ack_init()
        server.recv_state()  # ... and never answer
        code, err = finish(proc, timeout=10)
    assert code == 3 and "within 1 s" in err, err


def test_cpp_end_stops_on_init_stop_request(echo):
    with GymServer(timeout_s=5) as server:
        proc = start_echo(echo, [f"--openGymPort={server.port}"], "--steps=5")
        server.recv_init()
        server.ack_init(stop=True)
        code, err = finish(proc)
    assert code == 0, err
