# SPDX-License-Identifier: GPL-2.0-only
"""Memory estimate of a litesim run, checked before anything is allocated.

litesim's largest arrays are the per-instance UE-to-cell tensors ``[C, U, C]`` (shadowing, received
power, interference and their step temporaries), so a run's peak grows as ``num_envs × C² × U``.
The coefficient is measured with :mod:`tracemalloc` (peak over construction, reset and two steps,
2026-11-24, x86_64): 58.7-60.4 bytes per C²·U unit from 21 cells × 80 UEs to 57 cells × 160 UEs,
2, 3 and 4 slices alike, on top of ~3.5 MB of tables that do not depend on the batch.
"""

from __future__ import annotations

from slicebridge.bridge.scenario import Scenario

#: measured peak bytes per instance per cell² × UE per cell (upper end of 58.7-60.4, rounded up)
BYTES_PER_CELL2_UE = 61
#: measured peak bytes shared by all instances (lookup tables, sorting network, scratch headers)
FIXED_BYTES = 4 << 20


def instance_bytes(scenario: Scenario) -> int:
    """Estimated peak bytes one litesim instance of ``scenario`` adds (cells² × UEs per cell × 61)."""
    return BYTES_PER_CELL2_UE * scenario.n_cells**2 * max(1, scenario.ues_per_cell)


def run_bytes(scenario: Scenario, num_envs: int) -> int:
    """Estimated peak bytes of a ``LiteSim(scenario, num_envs)`` over reset and steps."""
    return FIXED_BYTES + int(num_envs) * instance_bytes(scenario)


def available_bytes() -> int | None:
    """Memory the machine can give now (``MemAvailable`` of /proc/meminfo, else psutil); None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil  # optional: only where /proc/meminfo is missing (not a slicebridge package)
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps it at least 1 (B, KiB, MiB, GiB, TiB)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def check_fits(scenario: Scenario, num_envs: int) -> None:
    """Raise :class:`MemoryError` naming the estimate and the available memory if the run will not fit."""
    need, have = run_bytes(scenario, num_envs), available_bytes()
    if have is None or need <= have:
        return
    one = instance_bytes(scenario)
    fit = max(0, (have - FIXED_BYTES) // one)
    raise MemoryError(
        f"litesim: scenario '{scenario.name}' ({scenario.n_cells} cells, {scenario.ues_per_cell} UEs per cell) "
        f"with {num_envs} instances needs an estimated {format_bytes(need)} ({format_bytes(one)} per instance), "
        f"but only {format_bytes(have)} is available (MemAvailable); "
        + (f"use at most {fit} instances (num_envs / --envs), " if fit else "")
        + "or a smaller scenario (fewer sites or sectors, fewer UEs per cell)")
