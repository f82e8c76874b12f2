# SPDX-License-Identifier: GPL-2.0-only
"""`slicebridge recipe dt_drl` at a tiny budget: table shape, finiteness, outputs."""

from __future__ import annotations

import json
import math
import re

import pytest
from slicebridge.app.recipes import RECIPES, build_parser
from slicebridge.app.recipes.dt_drl import run, smoothed_hit
from tests.test_dt_drl_loop import tiny_agent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_curve_helpers():
    curve = [{"real": 0, "reward": 0.1}, {"real": 200, "reward": 0.9}, {"real": 400, "reward": 0.5}, {"real": 600, "reward": 1.0}]
    assert smoothed_hit(curve, 0.8, 1) == 200
    assert smoothed_hit(curve, 0.75, 2) == 600  # (0.5 + 1.0) / 2: the first full window of rounds
    assert smoothed_hit(curve, 0.7, 2) == 400  # (0.9 + 0.5) / 2; the start point never counts
    assert smoothed_hit(curve, 2.0, 1) is None


def test_recipe_smoke(tmp_path):
    assert "dt_drl" in RECIPES
    build_parser().parse_args(["dt_drl", "--real-steps", "10", "--no-ns3"])  # its options parse
    table = run(out_dir=tmp_path, methods=("ddqn",), seeds=2, real_steps=6, round_steps=3, twin_steps=5, eval_steps=2,
                ns3=False, progress=False, agent=tiny_agent())
    rows = [line for line in table.splitlines() if line.startswith("| ddqn |")]
    assert len(rows) == 2  # with and without the twin
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 7
        final = float(cells[4].split("±")[0])
        assert math.isfinite(final)
    assert "| paper (reward 0.8" in table and re.search(r"Target \d\.\d{3}", table)
    assert (tmp_path / "dt_drl.md").read_text() == table
    assert (tmp_path / "dt_drl_litesim.png").stat().st_size > 1000
    data = json.loads((tmp_path / "dt_drl.json").read_text())
    assert len(data["litesim"]["ddqn-True"]) == 2
