"""The runtime JSON handed to the ns-3 program: the validated scenario plus the drawn layout.

Format (all units in the key names)::

    {"format": "slicebridge-runtime/1",
     "scenario": {...Scenario.model_dump(mode="json")...},
     "seed": int,
     "cells": [{"x_m", "y_m", "azimuth_deg" (null for omni), "site"}],
     "ues": [{"cell", "slice", "x_m", "y_m", "shadowing_db": [one value per cell]}],
     "sla_throughput_mbps": [[cells][slices]], "sla_delay_ms": [[cells][slices]],
     "initial_shares": [[cells][W]]}

W = slices, or 2 x slices with an edge section (bandwidth shares, then compute shares).

UEs are listed cell by cell, and inside a cell slice by slice (the order of Scenario.ue_slice_index).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from slicebridge.bridge.layout import cell_layout, drop_ues, layout_rng
from slicebridge.bridge.scenario import Scenario

RUNTIME_FORMAT = "slicebridge-runtime/1"


def runtime_dict(scenario: Scenario, seed: int, shares: np.ndarray | None = None) -> dict:
    layout = cell_layout(scenario)
    drop = drop_ues(scenario, layout_rng(seed), batch=1)
    ue_slice = scenario.ue_slice_index()
    cells = [
        {
            "x_m": float(layout.cell_xy_m[c, 0]),
            "y_m": float(layout.cell_xy_m[c, 1]),
            "azimuth_deg": None if np.isnan(layout.cell_azimuth_deg[c]) else float(layout.cell_azimuth_deg[c]),
            "site": int(layout.cell_site[c]),
        }
        for c in range(scenario.n_cells)
    ]
    ues = [
        {
            "cell": c,
            "slice": ue_slice[u],
            "x_m": float(drop.ue_xy_m[0, c, u, 0]),
            "y_m": float(drop.ue_xy_m[0, c, u, 1]),
            "shadowing_db": [float(v) for v in drop.shadowing_db[0, c, u]],
        }
        for c in range(scenario.n_cells)
        for u in range(scenario.ues_per_cell)
    ]
    thr, dly = scenario.sla_matrix()
    if shares is None:
        shares = np.tile(np.asarray(scenario.initial_share_row()), (scenario.n_cells, 1))
    elif np.shape(shares)[-1] != scenario.share_width:  # bandwidth shares only: the initial compute shares
        compute = np.tile(np.asarray(scenario.initial_compute_shares()), (scenario.n_cells, 1))
        shares = np.concatenate([np.asarray(shares, dtype=float), compute], axis=-1)
    return {
        "format": RUNTIME_FORMAT,
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "cells": cells,
        "ues": ues,
        "sla_throughput_mbps": thr,
        "sla_delay_ms": dly,
        "initial_shares": np.asarray(shares, dtype=float).tolist(),
    }


def write_runtime_json(scenario: Scenario, seed: int, path: str | Path, shares: np.ndarray | None = None) -> Path:
    path = Path(path)
    path.write_text(json.dumps(runtime_dict(scenario, seed, shares)))
    return path
