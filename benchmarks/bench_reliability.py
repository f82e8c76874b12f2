# SPDX-License-Identifier: GPL-2.0-only
"""Reliability figures (counts, not speed): faults injected and what became of them.

1. **Poisoned updates**: for every strategy, ``--rounds`` random rounds of K = 2..10 honest clients
   (updates of random direction, norms spread over a factor 3) plus up to ⌈K/2⌉−1 poisoned ones
   (norm 1e30, 1e3 × the honest scale, NaN, inf, wrong shape), default settings (adaptive bound).
   Reported: poisoned updates rejected / injected, honest ones rejected, and the largest distance of
   the global model from the honest clients' mean, relative to the honest scale.
2. **Truncated checkpoints**: a 6-round federated run is cut after round 4; the latest state file
   is truncated at ``--cuts`` random lengths; each resume must go back to round 3 and end equal to an
   uninterrupted run.
3. **Stray messages** (needs the ns-3 build): one ns-3 env on the default ipc channel and one on TCP
   take ``--steps`` steps each with a stray connection sending garbage before every step.

    python benchmarks/bench_reliability.py [--rounds 300] [--cuts 20] [--steps 100]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np

from slicebridge.federation import FederatedServer, FitRes, make_strategy, run_federated
from slicebridge.federation.strategies import STRATEGIES

SHAPES = [(8, 4), (4,)]


def poisoned_rounds(rounds: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    kinds = ["norm 1e30", "1e3 x scale", "NaN", "inf", "shape"]
    for name in sorted(STRATEGIES):
        injected = rejected_bad = rejected_honest = 0
        worst = 0.0
        for _ in range(rounds):
            k = int(rng.integers(2, 11))
            n_bad = int(rng.integers(0, max(1, (k + 1) // 2)))  # fewer than the honest ones
            scale = float(10 ** rng.uniform(-4, 2))
            honest = []
            for _ in range(k):
                norm = scale * rng.uniform(1, 3)
                vec = rng.normal(size=sum(int(np.prod(s)) for s in SHAPES))
                vec *= norm / np.linalg.norm(vec)
                honest.append([vec[:32].reshape(8, 4), vec[32:]])
            bad = []
            for _ in range(n_bad):
                kind = kinds[int(rng.integers(len(kinds)))]
                p = [np.full(s, 1.0) for s in SHAPES]
                if kind == "norm 1e30":
                    p = [x * 1e30 for x in p]
                elif kind == "1e3 x scale":
                    p = [x * 1e3 * scale for x in p]
                elif kind == "NaN":
                    p[0][0, 0] = np.nan
                elif kind == "inf":
                    p[1][0] = np.inf
                else:
                    p = [np.ones((4, 8)), np.ones(4)]
                bad.append(p)
            results = [FitRes(i, p, 10, {"success_rate": 0.5}) for i, p in enumerate(honest)]
            results += [FitRes(100 + i, p, 10, {"success_rate": 0.5}) for i, p in enumerate(bad)]
            order = rng.permutation(len(results))
            strategy = make_strategy(name)
            strategy.initialize([np.zeros(s) for s in SHAPES])
            failures: list = []
            out = strategy.aggregate([results[i] for i in order], failures)
            ids = {c for c, _ in failures}
            injected += n_bad
            rejected_bad += sum(1 for c in ids if c >= 100)
            rejected_honest += sum(1 for c in ids if c < 100)
            mean = [np.mean([h[t] for h in honest], axis=0) for t in range(len(SHAPES))]
            dist = np.sqrt(sum(float(np.sum((o - m) ** 2)) for o, m in zip(out, mean)))
            worst = max(worst, dist / scale if np.isfinite(dist) else float("inf"))
        print(f"| {name} | {rounds} | {injected} | {rejected_bad} | {rejected_honest} | {worst:.3g} |")


class _Client:
    def __init__(self, cid: int):
        self.rng = np.random.default_rng(cid)

    def fit(self, params, config):
        return [params[0] + self.rng.normal(size=3) * 0.1], 10, {"success_rate": 0.5}

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]


def _run(root: Path, stop_after=None) -> FederatedServer:
    clients = {c: _Client(c) for c in range(4)}
    server = FederatedServer(make_strategy("fedavg"), list(clients), seed=1)
    server.initialize([np.zeros(3)])
    run_federated(server, clients, 6, checkpoint_dir=root, stop_after=stop_after)
    return server


def truncated_checkpoints(cuts: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ok = 0
    with tempfile.TemporaryDirectory() as tmp:
        full = _run(Path(tmp) / "full")
        for i in range(cuts):
            root = Path(tmp) / f"cut{i}"
            _run(root, stop_after=4)
            state = root / "round_00004" / "state.pkl"
            raw = state.read_bytes()
            state.write_bytes(raw[: int(rng.integers(0, len(raw)))])
            resumed = _run(root)
            ok += int(np.array_equal(resumed.global_params[0], full.global_params[0])
                      and [r.to_dict() for r in resumed.history] == [r.to_dict() for r in full.history])
    print(f"truncated latest checkpoints: {cuts}; resumed from the previous round and ended equal to an uninterrupted run: {ok}")


def _send_stray(ctx, endpoint: str, payload: bytes) -> None:
    """Another local process: connect, send one message as ns-3 would frame it, leave."""
    import zmq

    sock = ctx.socket(zmq.DEALER)
    sock.connect(endpoint)
    sock.send_multipart([b"", payload])
    sock.close()


def stray_messages(steps: int) -> None:
    import zmq

    from slicebridge.bridge.scenario import load_scenario
    from slicebridge.ns3.backend import Ns3Backend

    tiny = load_scenario("tiny")
    for endpoint in ("ipc", "tcp"):
        with Ns3Backend(tiny, endpoint=endpoint) as backend:
            backend.reset(seed=1)
            ctx = zmq.Context()
            dropped = resets = 0
            ctx.setsockopt(zmq.LINGER, 1000)
            done = 0
            for k in range(steps):
                if backend.terminated.any() or backend.truncated.any():
                    dropped += backend._res.runs[0].server.strays
                    resets += 1
                    backend.reset()  # a new run on a new endpoint
                _send_stray(ctx, backend._res.runs[0].server.endpoint, b"\x00garbage" * (k % 7))
                kpis = backend.step(np.array([[[0.6, 0.4]]]))
                done += int(np.all(np.isfinite(kpis)))
            if not (backend.terminated.any() or backend.truncated.any()):
                backend.step(np.array([[[0.6, 0.4]]]))  # the last stray message is read during a step
            dropped += backend._res.runs[0].server.strays
            ctx.term()
            print(f"ns-3 on {endpoint}: {steps} steps ({resets} resets) with a stray message before each: {done} completed, "
                  f"{dropped} stray messages dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--parts", default="poison,checkpoints,stray")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # thousands of rejections are expected here
    parts = args.parts.split(",")
    if "poison" in parts:
        print("| strategy | rounds | poisoned injected | poisoned rejected | honest rejected | max ‖global − honest mean‖ / scale |")
        print("|---|---|---|---|---|---|")
        poisoned_rounds(args.rounds)
    if "checkpoints" in parts:
        truncated_checkpoints(args.cuts)
    if "stray" in parts:
        stray_messages(args.steps)


if __name__ == "__main__":
    main()
