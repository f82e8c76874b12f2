"""Speed of the ns-3 program: simulated seconds per wall second, slice scheduler vs stock PF, memory.

    .venv/bin/python benchmarks/bench_ns3.py [--quick] [--no-write]

For tiny, default and a 12-cell scenario (scenarios/tl_madrl_12cell.yaml, else default with
4 sites x 3 sectors) the program runs with the slice scheduler and with stock PF, alternately
(side by side on the same machine state, the order swapped every repetition), ``reps`` times each.
The reported ratio is the median over repetitions of slice wall / PF wall of the same pair; the
speeds are from the best wall time of each. The load average before and after is recorded.
Peak memory is the maximum resident set of the child process (``os.wait4`` rusage). Results are
printed and written to docs/BENCHMARKS.md under "## ns-3 scenario" (other sections untouched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from slicebridge.bridge.scenario import Scenario, load_scenario  # noqa: E402

from benchmarks.common import cpu_model, write_doc_section  # noqa: E402
from slicebridge.ns3.launcher import find_program  # noqa: E402
from slicebridge.ns3.run import ns3_command  # noqa: E402
from slicebridge.ns3.runtime import write_runtime_json  # noqa: E402

SECTION = "## ns-3 scenario"


def twelve_cell() -> Scenario:
    path = REPO / "scenarios" / "tl_madrl_12cell.yaml"
    if path.exists():
        return Scenario.from_yaml(path)
    return load_scenario("default").with_updates(name="default_12cell", topology={"sites": 4, "sectors": 3})


def run_once(binary: Path, scenario: Scenario, seed: int, steps: int, scheduler: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run."""
    with tempfile.TemporaryDirectory(prefix="bench-ns3-") as tmp:
        config = write_runtime_json(scenario, seed, Path(tmp) / "runtime.json")
        cmd = ns3_command(binary, config, Path(tmp) / "kpis.jsonl", seed, None, steps, scheduler)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"{scenario.name}/{scheduler} exited {proc.returncode}: {err[-2000:]}")
        return wall, usage.ru_maxrss / 1024.0


def bench(binary: Path, scenario: Scenario, steps: int, reps: int) -> dict:
    seed = scenario.seed
    sim_s = (scenario.control.warmup_ms + steps * scenario.control.decision_period_ms) / 1000.0
    walls = {"slice": [], "pf": []}
    mem = {"slice": 0.0, "pf": 0.0}
    for rep in range(reps):
        for sched in ("slice", "pf") if rep % 2 == 0 else ("pf", "slice"):
            wall, rss = run_once(binary, scenario, seed, steps, sched)
            walls[sched].append(wall)
            mem[sched] = max(mem[sched], rss)
    best = {k: min(v) for k, v in walls.items()}
    ratios = [a / b for a, b in zip(walls["slice"], walls["pf"])]
    return {
        "name": scenario.name,
        "cells": scenario.n_cells,
        "ues": scenario.n_cells * scenario.ues_per_cell,
        "prb": scenario.radio.bandwidth_prb,
        "sim_s": sim_s,
        "wall_slice": best["slice"],
        "wall_pf": best["pf"],
        "speed_slice": sim_s / best["slice"],
        "speed_pf": sim_s / best["pf"],
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "mem_slice": mem["slice"],
        "mem_pf": mem["pf"],
        "reps": reps,
    }


LTE_NOTE = ("Target: slice / PF ≤ 1.10. The cost is the LTE PHY and grows with cells × UEs × PRBs; the "
            "slice scheduler adds a per-TTI RBG partition and per-RBG FFR answers on top of PF.")


def markdown(rows: list[dict], load: tuple[tuple[float, ...], tuple[float, ...]], section: str = SECTION,
             script: str = "benchmarks/bench_ns3.py", build: str = "ns-3.44 (PyPI wheel)", note: str = LTE_NOTE) -> str:
    """The benchmark section: machine, load, method, one table row per scenario, then ``note``."""
    cpu = cpu_model()
    lines = [
        section,
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.node() or 'host'}: {cpu}, {os.cpu_count()} cores "
        f"(shared with other jobs), {platform.system()} {platform.release()}, {build}, Release build. "
        f"Command: `.venv/bin/python {script}`.",
        "",
        "Machine load (1/5/15-min load average) before: "
        + " / ".join(f"{v:.2f}" for v in load[0])
        + ", after: "
        + " / ".join(f"{v:.2f}" for v in load[1])
        + " (2 cores: above 2 the runs competed for CPU).",
        "",
        "Speed is simulated seconds (warm-up included) per wall second, from the best wall time of "
        "`reps`; the ratio is the median over repetitions of the slice scheduler's wall time over "
        "stock PF's in the same pair (same scenario and seed, run back to back, order swapped every "
        "repetition); all pair ratios are listed. Memory is the peak RSS of the ns-3 process.",
        "",
        "| scenario | cells | UEs | PRB | simulated s | slice: sim s / wall s | PF: sim s / wall s "
        "| slice / PF time (median) | pair ratios | peak RSS slice / PF (MiB) | reps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['cells']} | {r['ues']} | {r['prb']} | {r['sim_s']:.2f} | {r['speed_slice']:.3f} "
            f"| {r['speed_pf']:.3f} | {r['ratio']:.3f} | {', '.join(f'{x:.2f}' for x in r['ratios'])} "
            f"| {r['mem_slice']:.0f} / {r['mem_pf']:.0f} | {r['reps']} |"
        )
    lines += ["", note, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps and one repetition")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    binary = find_program()
    plan = [
        (load_scenario("tiny"), 10, 1 if args.quick else 7),
        (load_scenario("default"), 5 if args.quick else 20, 1 if args.quick else 5),
        (twelve_cell(), 1 if args.quick else 2, 1 if args.quick else 2),
    ]
    load_before = os.getloadavg()
    rows = []
    for scenario, steps, reps in plan:
        row = bench(binary, scenario, steps, reps)
        rows.append(row)
        print(
            f"{row['name']:>16}: {row['cells']} cells {row['ues']} UEs, {row['sim_s']:.2f} sim s | slice "
            f"{row['speed_slice']:.3f} sim s/s, PF {row['speed_pf']:.3f} sim s/s, ratio {row['ratio']:.3f} | "
            f"peak RSS {row['mem_slice']:.0f}/{row['mem_pf']:.0f} MiB",
            flush=True,
        )
    text = markdown(rows, (load_before, os.getloadavg()))
    if not args.no_write:
        write_doc_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
