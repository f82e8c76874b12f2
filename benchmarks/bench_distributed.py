# SPDX-License-Identifier: GPL-2.0-only
"""Beyond one machine, measured on this one: Ray fan-out of ns-3 evaluations, Flower's cost per round.

1. Ray: the same ns-3 evaluation (``--episodes`` episodes of the equal-shares baseline on
   ``--scenario``) run sequentially and as Ray tasks on a local Ray of ``--ray-cpus`` workers; the two
   alternate ``--reps`` times (interleaved, so a change in the machine's load hits both), and the
   medians give the speed-up. Ray's start-up (once per command) is reported apart. The traces are
   checked to be identical.
2. Flower: ``--rounds`` rounds of the federation (``--clients`` edge clients, tiny scenario, PPO) in
   one process (``run_federated`` over the same ``EdgeClient``s) and as ``slicebridge flower local``
   (one server and the clients in their own processes over 127.0.0.1), interleaved; the median round
   in-process against the Flower server's median round (configure_fit to the end of aggregate_fit),
   and the wall time of each whole run.

The 1-minute load average is sampled around every run: other jobs share the machine. Results go to
docs/BENCHMARKS.md ("## distributed (Ray, Flower)") with ``--write-doc``.

    python benchmarks/bench_distributed.py --write-doc
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model, write_doc_section  # noqa: E402

from slicebridge.app.evaluate import evaluate  # noqa: E402
from slicebridge.bridge.scenario import load_scenario  # noqa: E402
from slicebridge.federation.server import run_federated  # noqa: E402
from slicebridge.distributed.edge import EdgeClient, EdgeConfig, FederationSpec, make_server  # noqa: E402
from slicebridge.distributed.ray_executor import RayExecutor  # noqa: E402


def load() -> float:
    return os.getloadavg()[0]


def timed(fn) -> tuple[float, object, float]:
    before = load()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out, max(before, load())


def bench_ray(args) -> dict:
    scenario = load_scenario(args.scenario)
    t0 = time.perf_counter()
    executor = RayExecutor(num_cpus=args.ray_cpus)
    startup = time.perf_counter() - t0
    seq_t, ray_t, loads = [], [], []
    try:
        evaluate(scenario, "equal", "ns3", args.ray_cpus, seed=100, executor=executor)  # warm every worker's imports
        for rep in range(args.reps):
            s, seq, l1 = timed(lambda: evaluate(scenario, "equal", "ns3", args.episodes, seed=rep))
            r, fan, l2 = timed(lambda: evaluate(scenario, "equal", "ns3", args.episodes, seed=rep, executor=executor))
            assert all(np.array_equal(a.kpis, b.kpis) for a, b in zip(seq, fan)), "Ray traces differ from sequential"
            seq_t.append(s)
            ray_t.append(r)
            loads += [l1, l2]
            print(f"[ray] rep {rep}: sequential {s:.1f} s, Ray {r:.1f} s (load {l1:.1f}/{l2:.1f})", flush=True)
    finally:
        executor.close()
    return {"startup": startup, "seq": seq_t, "ray": ray_t, "loads": loads}


def flower_run(args, out: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "slicebridge.app.cli", "flower", "local", "--scenario", "tiny", "--clients", str(args.clients),
           "--rounds", str(args.rounds), "--local-steps", "16", "--num-envs", "2", "--seed", "3", "--out", str(out), "--no-resume"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    found = re.search(r"done: \d+ rounds, ([\d.]+) s per round", proc.stdout)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"flower local failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, float(found.group(1))


def in_process_round_seconds(cfg: EdgeConfig, fed: FederationSpec, rounds: int) -> tuple[float, list[float]]:
    """Set-up time and the wall time of each round of the in-process federation (one run_federated
    call per round: each continues the same server and clients by one round)."""
    t0 = time.perf_counter()
    server = make_server(cfg, fed)
    clients = {k: EdgeClient(cfg, k) for k in range(fed.clients)}
    setup = time.perf_counter() - t0
    per_round = []
    try:
        for r in range(1, rounds + 1):
            t0 = time.perf_counter()
            run_federated(server, clients, r)
            per_round.append(time.perf_counter() - t0)
    finally:
        for c in clients.values():
            c.close()
    return setup, per_round


def bench_flower(args) -> dict:
    cfg = EdgeConfig(scenario="tiny", local_steps=16, num_envs=2, seed=3)
    fed = FederationSpec(clients=args.clients)
    inproc, setup, fl_round, fl_wall, loads = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="sbflower-") as tmp:
        for rep in range(args.reps):
            l0 = load()
            s0, rounds = in_process_round_seconds(cfg, fed, args.rounds)
            l1 = load()
            w, r = flower_run(args, Path(tmp) / f"run{rep}")
            l2 = load()
            setup.append(s0)
            inproc.append(statistics.median(rounds))
            fl_round.append(r)
            fl_wall.append(w)
            loads += [l0, l1, l2]
            print(f"[flower] rep {rep}: in-process {inproc[-1]:.2f} s/round (set-up {s0:.1f} s), "
                  f"Flower {r:.2f} s/round (whole run {w:.1f} s) (load {l0:.1f}/{l1:.1f}/{l2:.1f})", flush=True)
    return {"inproc": inproc, "setup": setup, "round": fl_round, "wall": fl_wall, "loads": loads}


def section(args, ray_res: dict | None, fl_res: dict | None) -> str:
    med = statistics.median
    lines = ["## distributed (Ray, Flower)", "",
             f"`python benchmarks/bench_distributed.py --write-doc` on {cpu_model()}, {os.cpu_count()} cores, "
             f"{dt.date.today().isoformat()}, Ray 2.55.1, Flower 1.42.0. Other jobs shared the machine: the 1-minute load "
             "average sampled around the runs is given; sequential and distributed runs alternate (interleaved) and the "
             "medians are compared.", ""]
    if ray_res:
        s, r = med(ray_res["seq"]), med(ray_res["ray"])
        lines += [f"**Ray fan-out of ns-3 evaluations** (`{args.scenario}`, equal shares, {args.episodes} episodes of "
                  f"{load_scenario(args.scenario).control.episode_steps} steps, local Ray with {args.ray_cpus} workers, "
                  f"{args.reps} interleaved repetitions; traces identical to sequential in every repetition):", "",
                  "| | median wall time | runs |", "|---|---|---|",
                  f"| sequential | {s:.1f} s | {', '.join(f'{x:.1f}' for x in ray_res['seq'])} |",
                  f"| Ray | {r:.1f} s | {', '.join(f'{x:.1f}' for x in ray_res['ray'])} |", "",
                  f"Speed-up {s / r:.2f}× on {args.ray_cpus} workers; Ray's start-up (once per command, not in the times "
                  f"above) {ray_res['startup']:.1f} s; load average {min(ray_res['loads']):.1f}–{max(ray_res['loads']):.1f} "
                  f"on {os.cpu_count()} cores.", ""]
    if fl_res:
        i, f = med(fl_res["inproc"]), med(fl_res["round"])
        lines += [f"**Flower per round** ({args.clients} edge clients, tiny scenario, PPO, 16 decision steps × 2 instances "
                  f"per round, {args.rounds} rounds, {args.reps} interleaved repetitions):", "",
                  "| | median per round | runs |", "|---|---|---|",
                  f"| in-process (`run_federated`) | {i:.2f} s | {', '.join(f'{x:.2f}' for x in fl_res['inproc'])} |",
                  f"| Flower, {args.clients} client processes over 127.0.0.1 | {f:.2f} s | {', '.join(f'{x:.2f}' for x in fl_res['round'])} |",
                  "",
                  f"Flower's overhead {f - i:+.2f} s per round ({f / i:.2f}×: gRPC, serialisation, and the clients training "
                  f"in parallel processes instead of one after the other). A whole `flower local` run took "
                  f"{med(fl_res['wall']):.0f} s (median) against {med(fl_res['setup']) + args.rounds * i:.0f} s in-process: "
                  f"starting {args.clients + 1} Python processes (torch, SB3, Flower imports) dominates at this size. "
                  f"Load average {min(fl_res['loads']):.1f}–{max(fl_res['loads']):.1f}.", ""]
    lines += ["Caveat: on a shared machine a run with more processes (Ray workers each driving an ns-3 process, against one "
              "sequentially) also gets a larger share of the CPUs from the scheduler, so a Ray speed-up measured under load is "
              "not only parallelism; on an idle machine it cannot exceed the worker count, and Ray's start-up is paid once per "
              "command. The Flower figures are per round of training (start-up excluded): the in-process loop trains the "
              "clients one after the other, Flower's clients train at the same time in their processes, which hides the gRPC "
              "and serialisation cost at this model size (a few thousand parameters).", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="default")
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--ray-cpus", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--only", choices=["ray", "flower"], default=None)
    p.add_argument("--write-doc", action="store_true")
    args = p.parse_args()
    ray_res = bench_ray(args) if args.only in (None, "ray") else None
    fl_res = bench_flower(args) if args.only in (None, "flower") else None
    text = section(args, ray_res, fl_res)
    print(text)
    if args.write_doc:
        print(f"written: {write_doc_section(text)}")


if __name__ == "__main__":
    main()
