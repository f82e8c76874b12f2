# SPDX-License-Identifier: GPL-2.0-only
"""Speed of the NR program slicebridge-nr (5G-LENA): simulated seconds per wall second, the NR slice
scheduler vs 5G-LENA's stock OFDMA PF scheduler, median of interleaved pairs, memory.

    .venv/bin/python benchmarks/bench_nr.py [--quick] [--no-write]

Same method as benchmarks/bench_ns3.py (its ``bench``: pairs run back to back, order swapped every
repetition; the ratio is the median over pairs), on scenarios/nr_tiny.yaml and scenarios/nr_default.yaml.
Needs slicebridge-nr (docs/NR.md). Results go to docs/BENCHMARKS.md under "## ns-3 NR scenario".
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from slicebridge.bridge.scenario import load_scenario  # noqa: E402

from benchmarks.bench_ns3 import bench, markdown  # noqa: E402
from benchmarks.common import write_doc_section  # noqa: E402
from slicebridge.ns3.launcher import NR_PROGRAM, find_program  # noqa: E402

SECTION = "## ns-3 NR scenario"
NOTE = ("\"PF\" is 5G-LENA's stock OFDMA PF scheduler (`--scheduler=pf`); the slice scheduler runs that "
        "scheduler's RBG assignment once per slice per slot (docs/NR.md). NR simulates 2^µ slots per ms "
        "(µ = 1 here) with 5G-LENA's PHY on 5G-LENA 4.0 built against the wheel (scripts/build-nr.sh).")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps and one repetition")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    binary = find_program(name=NR_PROGRAM)
    plan = [
        (load_scenario("nr_tiny"), 10, 1 if args.quick else 7),
        (load_scenario("nr_default"), 5 if args.quick else 10, 1 if args.quick else 3),
    ]
    load_before = os.getloadavg()
    rows = [bench(binary, scenario, steps, reps) for scenario, steps, reps in plan]
    text = markdown(rows, (load_before, os.getloadavg()), section=SECTION, script="benchmarks/bench_nr.py",
                    build="ns-3.44 (PyPI wheel) + 5G-LENA 4.0", note=NOTE)
    if not args.no_write:
        write_doc_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
