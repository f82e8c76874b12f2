"""Gym bridge benchmarks: protocol overhead per step, and the vector-env speed-up on real ns-3.

1. **Overhead per step** with a peer that simulates nothing. A fake ns-3 peer (a separate process,
   ZeroMQ REQ) sends the same pre-encoded ``EnvStateMsg`` every step and waits for the answer. The
   observation is a Dict of 10 float64 Box KPIs of ``n/10`` values each (``n`` = 10, 300, 3000), the
   action a float64 Box of ``n/10`` values. Per step the bridge (``GymServer``) receives the state,
   decodes it to NumPy arrays, encodes the action and sends it. In the same run, on the same socket
   and peer, a bare pyzmq REQ/REP echo receives the same bytes and answers the same action bytes
   without touching protobuf: ``overhead = bridge / echo``.
   Also measured: the full ``Ns3Backend.step`` path against the C++ ``slicebridge-gym-echo``
   (the real C++ end of the wire, no simulation) for KPI tensors of 11, 308 and 3003 values.
2. **Codec against a real ns-3 step** (scenarios tiny and default): the wall time of
   ``Ns3Backend.step`` running slicebridge-lte, and the part of it that is protobuf codec work in
   Python — decoding the state ns-3 sent (``parse_state`` + stacking the KPI tensor) and encoding
   the action (``encode_action``), timed in-process on the frames captured during those steps. This
   is the number that decides whether a hand-written fast path for the wire is worth its code.
3. **Vector-env speed-up** on real ns-3 (scenarios/default.yaml, where ns-3 simulates 3 cells × 10
   UEs per step): env-steps per second of an ``Ns3Backend`` with 2 concurrent ns-3 processes over
   one with 1, over the steps alone and over whole episodes with resets, and how much CPU the ns-3
   processes got per wall second (concurrency actually obtained on the shared cores).

    python benchmarks/bench_bridge.py [--quick] [--parts overhead,cpp,real,vec] [--write-docs]

``--write-docs`` replaces the section "## gym bridge" of docs/BENCHMARKS.md (created if absent).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import timeit
from pathlib import Path

import numpy as np
import zmq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_model, write_doc_section  # noqa: E402
from slicebridge.ns3.wire import GymServer, pb  # noqa: E402
from slicebridge.ns3.wire.codec import data_to_pb  # noqa: E402

STOP = pb.EnvActMsg(stopSimReq=True).SerializeToString()

# The fake ns-3: handshake through SimPeer, then the same state bytes every step, as fast as it can.
PEER = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, sys.argv[3])
    from gymnasium import spaces
    from slicebridge.ns3.wire import SimPeer, pb
    from slicebridge.ns3.wire.codec import data_to_pb
    endpoint, n = sys.argv[1], int(sys.argv[2])
    shape = (1,) if n == 10 else ((5, 6) if n == 300 else (30, n // 300))
    obs_space = spaces.Dict({f"kpi{k}": spaces.Box(0.0, np.inf, shape, np.float64) for k in range(10)})
    act_space = spaces.Box(0.0, 1.0, shape, np.float64)
    peer = SimPeer(endpoint, obs_space, act_space, timeout_s=60)
    peer.init()
    rng = np.random.default_rng(0)
    msg = pb.EnvStateMsg(reward=0.0, info='{"sim_time_s": 0.0}')
    msg.obsData.CopyFrom(data_to_pb({k: rng.random(shape) for k in obs_space.spaces}, obs_space))
    state = msg.SerializeToString()
    stop = pb.EnvActMsg(stopSimReq=True).SerializeToString()
    sock = peer._socket
    while True:
        sock.send(state)
        if not sock.poll(60000):
            sys.exit(3)
        if sock.recv() == stop:
            break
    peer.close()
    """
)


def _shape(n: int) -> tuple[int, ...]:
    return (1,) if n == 10 else ((5, 6) if n == 300 else (30, n // 300))


def _peer_state_bytes(n: int) -> bytes:
    """The state the fake peer sends (same construction as PEER)."""
    from gymnasium import spaces

    shape = _shape(n)
    obs_space = spaces.Dict({f"kpi{k}": spaces.Box(0.0, np.inf, shape, np.float64) for k in range(10)})
    rng = np.random.default_rng(0)
    msg = pb.EnvStateMsg(reward=0.0, info='{"sim_time_s": 0.0}')
    msg.obsData.CopyFrom(data_to_pb({k: rng.random(shape) for k in obs_space.spaces}, obs_space))
    return msg.SerializeToString()


def bench_overhead(n: int, steps: int, rounds: int) -> dict:
    server = GymServer(timeout_s=60)
    proc = subprocess.Popen([sys.executable, "-c", PEER, server.endpoint, str(n), str(ROOT)])
    try:
        server.recv_init()
        server.ack_init()
        server_action_space = server.action_space
        action = np.full(_shape(n), 0.5)
        action_bytes = pb.EnvActMsg(actData=data_to_pb(action, server.action_space)).SerializeToString()
        sock = server.socket
        state_bytes = 0

        def echo(k: int) -> float:
            t0 = time.perf_counter()
            for _ in range(k):
                while True:  # the socket has the bridge's 50 ms RCVTIMEO slices
                    try:
                        sock.recv()
                        break
                    except zmq.Again:
                        continue
                sock.send(action_bytes)
            return (time.perf_counter() - t0) / k

        def bridge(k: int) -> float:
            t0 = time.perf_counter()
            for _ in range(k):
                state = server.recv_state()
                server.send_action(action)
            assert state.obs["kpi0"].shape == _shape(n)
            return (time.perf_counter() - t0) / k

        state_bytes = len(server.recv_raw())  # size of the state frame, then back in step
        server.send_raw(action_bytes)
        echo(steps // 5)
        bridge(steps // 5)  # warm-up
        # Short alternating blocks: load from other jobs on the shared cores hits both alike.
        block = max(50, steps // rounds)
        e, b = [], []
        for _ in range(rounds):
            e.append(echo(block))
            b.append(bridge(block))
        server.recv_raw()
        server.send_raw(STOP)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    # the bridge's own work per step without sockets: decode the state, encode the action
    from slicebridge.ns3.wire.server import encode_action, parse_state

    raw_state = _peer_state_bytes(n)
    codec = min(timeit.repeat(lambda: (parse_state(raw_state), encode_action(action, server_action_space)), number=500, repeat=5)) / 500
    echo_us, bridge_us = statistics.median(e) * 1e6, statistics.median(b) * 1e6
    ratio = statistics.median(bb / ee for bb, ee in zip(b, e))  # paired blocks
    return {"values": n, "state_bytes": state_bytes, "echo_us": echo_us, "bridge_us": bridge_us, "ratio": ratio,
            "codec_us": codec * 1e6,
            "echo_min_us": min(e) * 1e6, "bridge_min_us": min(b) * 1e6}


def bench_cpp_echo(cells: int, slices: int, steps: int) -> dict | None:
    """Ns3Backend.step against slicebridge-gym-echo (C++ end, no simulation)."""
    from slicebridge.bridge.scenario import load_scenario

    from slicebridge.ns3.backend import Ns3Backend
    from slicebridge.ns3.launcher import ECHO_PROGRAM, Ns3Error, find_program

    try:
        program = find_program(name=ECHO_PROGRAM)
    except Ns3Error:
        return None
    scenario = load_scenario("tiny")
    # the backend only checks the tensor shape against the scenario: give it a matching one
    slices_list = [dict(s.model_dump(mode="json"), name=f"s{j}", min_share=0.0) for j, s in enumerate([scenario.slices[0]] * slices)]
    scenario = scenario.with_updates(topology={"sites": cells}, slices=slices_list)
    episode = steps + 10
    backend = Ns3Backend(scenario, binary=program, extra_args=[f"--cells={cells}", f"--slices={slices}", f"--steps={episode}"])
    try:
        backend.reset()
        shares = np.full((1, cells, slices), 1.0 / slices)
        for _ in range(5):
            backend.step(shares)
        t0 = time.perf_counter()
        for _ in range(steps):
            backend.step(shares)
        per_step = (time.perf_counter() - t0) / steps
    finally:
        backend.close()
    return {"values": cells * slices * 11, "cells": cells, "slices": slices, "step_us": per_step * 1e6}


REAL_SCENARIOS = ("tiny", "default")


def bench_real_step(name: str, steps: int) -> dict | None:
    """Median wall time of ``Ns3Backend.step`` on scenario ``name`` (real slicebridge-lte), and the
    codec's share of it: decode + stack + encode of the frames those steps exchanged, in-process."""
    from slicebridge.bridge.kpi import KPI_NAMES
    from slicebridge.bridge.scenario import load_scenario
    from slicebridge.ns3 import backend as ns3_backend
    from slicebridge.ns3.launcher import Ns3Error, find_program
    from slicebridge.ns3.wire.server import encode_action, parse_state

    try:
        find_program()
    except Ns3Error:
        return None
    frames: list[bytes] = []

    def recording_parse_state(raw: bytes):  # the backend's own decode, with the frame kept
        frames.append(raw)
        return parse_state(raw)

    scenario = load_scenario(name).with_updates(control={"episode_steps": steps + 1})
    shares = np.tile(np.asarray(scenario.initial_shares()), (1, scenario.n_cells, 1))
    original, ns3_backend.parse_state = ns3_backend.parse_state, recording_parse_state
    backend = ns3_backend.Ns3Backend(scenario, seed=11)
    try:
        backend.reset()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            backend.step(shares)
            times.append(time.perf_counter() - t0)
    finally:
        ns3_backend.parse_state = original
        backend.close()
    from gymnasium import spaces

    action_space = spaces.Box(0.0, 1.0, shares.shape[1:], np.float64)  # as slicebridge-lte announces it

    def codec_step(raw: bytes) -> None:
        obs = parse_state(raw).obs
        np.stack([obs[k] for k in KPI_NAMES], axis=-1)
        encode_action(shares[0], action_space)

    number = 200
    codec = statistics.median(min(timeit.repeat(lambda raw=raw: codec_step(raw), number=number, repeat=3)) / number
                              for raw in frames[1:])
    step_s = statistics.median(times)
    return {"scenario": name, "cells": scenario.n_cells, "slices": scenario.n_slices, "steps": steps,
            "state_bytes": len(frames[-1]), "step_ms": step_s * 1e3, "codec_us": codec * 1e6,
            "share": codec / step_s}


VEC_SCENARIO, VEC_STEPS = "default", 5
PARTS = "overhead,cpp,real,vec"


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by the processes ``pids`` (from /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def bench_vec_speedup(episodes: int, steps: int = VEC_STEPS) -> dict | None:
    """1 vs 2 concurrent ns-3 processes on a scenario where ns-3 works per step (default.yaml:
    3 cells × 10 UEs). Both actions go out before either state is awaited (``Ns3Backend.step``)."""
    from slicebridge.bridge.scenario import load_scenario

    from slicebridge.ns3.backend import Ns3Backend
    from slicebridge.ns3.launcher import Ns3Error, find_program

    try:
        find_program()
    except Ns3Error:
        return None
    scenario = load_scenario(VEC_SCENARIO).with_updates(control={"episode_steps": steps})
    backends = {n: Ns3Backend(scenario, num_envs=n, seed=100) for n in (1, 2)}
    step_rate: dict[int, list[float]] = {1: [], 2: []}
    episode_rate: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}  # ns-3 CPU seconds per wall second while stepping
    try:
        for backend in backends.values():
            backend.reset()  # warm caches
        for _ in range(episodes):  # alternate 1-env and 2-env episodes: shared-core load hits both
            for n, backend in backends.items():
                shares = np.tile(np.asarray(scenario.initial_shares()), (n, scenario.n_cells, 1))
                t0 = time.perf_counter()
                backend.reset()
                t1 = time.perf_counter()
                cpu0 = _cpu_seconds(backend.pids)
                for _ in range(steps - 1):  # the last step ends the episode (processes exit)
                    backend.step(shares)
                t2 = time.perf_counter()
                cpu1 = _cpu_seconds(backend.pids)
                backend.step(shares)
                t3 = time.perf_counter()
                step_rate[n].append(n * (steps - 1) / (t2 - t1))
                episode_rate[n].append(n * steps / (t3 - t0))
                busy[n].append((cpu1 - cpu0) / (t2 - t1))
    finally:
        for backend in backends.values():
            backend.close()
    med = statistics.median
    return {
        "scenario": VEC_SCENARIO, "steps": steps, "episodes": episodes,
        "step_1": med(step_rate[1]), "step_2": med(step_rate[2]),
        "step_speedup": med(b / a for a, b in zip(step_rate[1], step_rate[2])),
        "best_step_speedup": max(step_rate[2]) / max(step_rate[1]),
        "episode_1": med(episode_rate[1]), "episode_2": med(episode_rate[2]),
        "episode_speedup": med(b / a for a, b in zip(episode_rate[1], episode_rate[2])),
        "busy_1": med(busy[1]), "busy_2": med(busy[2]),
    }


def machine() -> str:
    cpu = cpu_model()
    import google.protobuf
    import zmq
    from google.protobuf.internal import api_implementation

    return (
        f"{cpu}, {os.cpu_count()} cores (shared), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()}), "
        f"protobuf {google.protobuf.__version__} ({api_implementation.Type()})"
    )


def report(overhead: list[dict], cpp: list[dict], real: list[dict], vec: dict | None, args: argparse.Namespace) -> str:
    lines = [
        "## gym bridge",
        "",
        f"`python benchmarks/bench_bridge.py{' --quick' if args.quick else ''}{' --parts ' + args.parts if args.parts != PARTS else ''}` — {dt.date.today().isoformat()}; {machine()}; "
        f"1-min load average {args.load_before:.1f} before / {os.getloadavg()[0]:.1f} after the run (other jobs shared the cores).",
        "",
        "Overhead per step against a fake ns-3 peer that simulates nothing (separate process, same",
        "pre-encoded EnvStateMsg every step; observation = Dict of 10 float64 KPI boxes, action = float64",
        "box of n/10 values). *echo* = bare pyzmq REP receiving the same bytes and answering the same",
        "action bytes; *bridge* = `GymServer.recv_state()` (decode to NumPy) + `send_action()` (encode).",
        "Both in the same run, on the same socket and peer, in alternating blocks of steps; medians over blocks",
        "(ratio: median of the paired blocks' ratios), and the fastest block of each. *codec alone*: decoding",
        "the state and encoding the action in-process, no sockets (best of 5 × 500).",
        "",
        "| obs values | state bytes | echo µs/step | bridge µs/step | bridge / echo | best blocks: echo / bridge µs | codec alone µs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if not overhead:
        lines = lines[:4]
    for r in overhead:
        lines.append(
            f"| {r['values']} | {r['state_bytes']} | {r['echo_us']:.0f} | {r['bridge_us']:.0f} | {r['ratio']:.2f}× "
            f"| {r['echo_min_us']:.0f} / {r['bridge_min_us']:.0f} | {r['codec_us']:.0f} |"
        )
    lines.append("")
    if real:
        lines += [
            "Codec against a real ns-3 step: median wall time of `Ns3Backend.step` running slicebridge-lte",
            "(one process), and the protobuf codec work of one step in Python — `parse_state` of the state",
            "ns-3 sent, stacking the KPI tensor, `encode_action` of the shares — timed in-process on the",
            "frames captured during those steps (median over frames of the best of 3 × 200).",
            "",
            "| scenario | cells × slices | state bytes | steps | ns-3 step ms | codec µs/step | codec / step |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in real:
            lines.append(f"| {r['scenario']} | {r['cells']} × {r['slices']} | {r['state_bytes']} | {r['steps']} | "
                         f"{r['step_ms']:.1f} | {r['codec_us']:.0f} | {r['share'] * 100:.2f} % |")
        lines.append("")
    if cpp:
        lines += [
            "Full backend path: `Ns3Backend.step` (shares → EnvActMsg, EnvStateMsg → KPI tensor) against the",
            "C++ end of the wire (`slicebridge-gym-echo`: SliceGymInterface without a simulation):",
            "",
            "| KPI tensor values (cells × slices × 11) | µs/step |",
            "|---:|---:|",
        ]
        for r in cpp:
            lines.append(f"| {r['values']} ({r['cells']} × {r['slices']} × 11) | {r['step_us']:.0f} |")
        lines.append("")
    if vec:
        lines += [
            f"Vector env on real ns-3 (scenarios/{vec['scenario']}.yaml — 3 cells × 10 UEs, 100 ms per step — with",
            f"episodes of reset + {vec['steps']} steps; {vec['episodes']} episodes per configuration, alternating 1-env and 2-env",
            "episodes). `Ns3Backend.step` sends every process its action before waiting on any state, so the",
            "ns-3 processes simulate concurrently. *steps only*: env-steps/s over the steps that leave the",
            "processes running; *with resets*: whole episodes including process start-up. *ns-3 CPU/wall*:",
            "CPU seconds the ns-3 processes used per wall second while stepping (2.0 = both cores busy).",
            f"Medians of the paired episodes' ratios; best-episode steps-only speed-up {vec['best_step_speedup']:.2f}×.",
            "",
            "| envs | env-steps/s, steps only | speed-up | env-steps/s, with resets | speed-up | ns-3 CPU / wall |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| 1 | {vec['step_1']:.1f} | 1.00× | {vec['episode_1']:.1f} | 1.00× | {vec['busy_1']:.2f} |",
            f"| 2 | {vec['step_2']:.1f} | {vec['step_speedup']:.2f}× | {vec['episode_2']:.1f} | {vec['episode_speedup']:.2f}× | {vec['busy_2']:.2f} |",
            "",
            "The machine's 2 cores are shared with other jobs: the speed-up is bounded by the cores they leave free.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (smoke run)")
    parser.add_argument("--parts", default=PARTS, help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--write-docs", action="store_true", help="update the '## gym bridge' section of docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.load_before = os.getloadavg()[0]
    parts = set(args.parts.split(","))
    steps, rounds = (600, 6) if args.quick else (6000, 30)
    overhead = []
    for n in (10, 300, 3000) if "overhead" in parts else ():
        r = bench_overhead(n, steps, rounds)
        print(f"obs {n:5d} values ({r['state_bytes']} B): echo {r['echo_us']:.0f} µs, bridge {r['bridge_us']:.0f} µs, "
              f"x{r['ratio']:.2f}; codec alone {r['codec_us']:.0f} µs", flush=True)
        overhead.append(r)
    cpp = []
    for cells, slices in ((1, 1), (4, 7), (39, 7)) if "cpp" in parts else ():
        r = bench_cpp_echo(cells, slices, steps // 3)
        if r is None:
            print("slicebridge-gym-echo not built: skipping the C++ peer benchmark")
            break
        print(f"Ns3Backend.step vs C++ echo, {r['values']} values: {r['step_us']:.0f} µs", flush=True)
        cpp.append(r)
    real = []
    for name in REAL_SCENARIOS if "real" in parts else ():
        r = bench_real_step(name, 10 if args.quick else 40)
        if r is None:
            print("slicebridge-lte not built: skipping the real-step codec benchmark")
            break
        print(f"{name}: ns-3 step {r['step_ms']:.1f} ms, codec {r['codec_us']:.0f} µs ({r['share'] * 100:.2f} %)", flush=True)
        real.append(r)
    vec = bench_vec_speedup(3 if args.quick else 10) if "vec" in parts else None
    if vec is None and "vec" in parts:
        print("slicebridge-lte not built: skipping the vector-env speed-up")
    elif vec is not None:
        print(f"ns-3 {vec['scenario']}: steps only 1 env {vec['step_1']:.1f}/s, 2 envs {vec['step_2']:.1f}/s, x{vec['step_speedup']:.2f} "
              f"(ns-3 CPU/wall {vec['busy_1']:.2f} / {vec['busy_2']:.2f}); with resets x{vec['episode_speedup']:.2f}", flush=True)
    section = report(overhead, cpp, real, vec, args)
    print()
    print(section)
    if args.write_docs:
        print(f"wrote {write_doc_section(section)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
