# SPDX-License-Identifier: GPL-2.0-only
"""Stand-alone runs of the ns-3 program: scenario in, KPI tensor out.

:func:`run_ns3` writes the runtime JSON (:mod:`slicebridge.ns3.runtime`) to a temporary directory, runs
``slicebridge-lte --config=... --output=...`` with fixed shares, and parses its KPI JSON lines
(one per decision period, ``{"step", "time_s", "kpi": [cells][slices][11]}``) into an array
``[steps, cells, slices, len(KPI_NAMES)]``. The program is found, started and reaped by
:mod:`slicebridge.ns3.launcher`, as for the live backend.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from slicebridge.bridge.kpi import N_KPIS
from slicebridge.bridge.scenario import Scenario
from slicebridge.ns3.launcher import Ns3Error, Ns3Process, find_program, make_run_dir, program_for
from slicebridge.ns3.runtime import write_runtime_json


class Ns3RunError(Ns3Error):
    """The ns-3 program failed, timed out or wrote unexpected output."""


def ns3_command(
    binary: Path,
    config: Path,
    output: Path,
    seed: int,
    shares: Sequence[float] | None = None,
    steps: int | None = None,
    scheduler: str = "slice",
) -> list[str]:
    cmd = [str(binary), f"--config={config}", f"--output={output}", f"--simSeed={int(seed)}", f"--scheduler={scheduler}"]
    if shares is not None:
        cmd.append("--shares=" + ",".join(repr(float(v)) for v in shares))
    if steps is not None:
        cmd.append(f"--steps={int(steps)}")
    return cmd


def read_kpi_lines(path: Path, n_cells: int, n_slices: int) -> np.ndarray:
    """Parse the program's KPI JSON lines into ``[steps, cells, slices, N_KPIS]``."""
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines()):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("step") != number:
            raise Ns3RunError(f"{path}: line {number + 1} has step {record.get('step')}, expected {number}")
        rows.append(record["kpi"])
    kpis = np.asarray(rows, dtype=np.float64)
    if kpis.size == 0:
        return np.zeros((0, n_cells, n_slices, N_KPIS))
    if kpis.shape[1:] != (n_cells, n_slices, N_KPIS):
        raise Ns3RunError(f"{path}: KPI shape {kpis.shape[1:]}, expected {(n_cells, n_slices, N_KPIS)}")
    return kpis


def run_ns3(
    scenario: Scenario,
    seed: int,
    shares: Sequence[float] | None = None,
    steps: int | None = None,
    scheduler: str = "slice",
    timeout_s: float = 600.0,
    binary: Path | None = None,
) -> np.ndarray:
    """Run the scenario in ns-3 with fixed ``shares`` (one per slice, every cell; default: the
    scenario's initial shares) and return the KPIs ``[steps, cells, slices, N_KPIS]``.

    ``scheduler``: ``"slice"`` (slice scheduler) or ``"pf"`` (stock PF without slicing). On a
    timeout the process group is killed and reaped; failures raise :class:`Ns3RunError` naming the
    exit code and the tail of the program's output.
    """
    if scheduler not in ("slice", "pf"):
        raise ValueError(f"scheduler must be 'slice' or 'pf', got {scheduler!r}")
    if shares is not None and len(shares) != scenario.n_slices:
        raise ValueError(f"shares has {len(shares)} values; the scenario has {scenario.n_slices} slices")
    binary = find_program(binary, program_for(scenario.radio.technology))
    n_steps = steps if steps is not None else scenario.control.episode_steps
    tmp = make_run_dir()
    try:
        config = write_runtime_json(scenario, seed, tmp / "runtime.json")
        output = tmp / "kpis.jsonl"
        run = Ns3Process(ns3_command(binary, config, output, seed, shares, steps, scheduler), log_dir=tmp)
        try:
            code = run.wait(timeout_s)
            if code is None:
                run.kill()
                raise Ns3RunError(f"{binary.name} timed out after {timeout_s:.0f} s ({scenario.name}, seed {seed}); "
                                  f"output tail:\n{run.tail()}")
            if code != 0:
                raise Ns3RunError(f"{binary.name} failed ({scenario.name}, seed {seed}): {run.describe_exit()}; "
                                  f"command: {run.command}\noutput tail:\n{run.tail()}")
        finally:
            run.stop()
        kpis = read_kpi_lines(output, scenario.n_cells, scenario.n_slices) if output.exists() else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if kpis is None or kpis.shape[0] != n_steps:
        got = 0 if kpis is None else kpis.shape[0]
        raise Ns3RunError(f"{binary.name} wrote {got} KPI lines, expected {n_steps}")
    return kpis
