"""Recipes (slicebridge.app.recipes): a tiny-budget TL-MADRL run produces the full table with finite numbers."""

from __future__ import annotations

import math
import re

import pytest

from slicebridge.app.recipes import RECIPES, TlMadrlConfig, main, run_tl_madrl

COLUMNS = ["method", "mean satisfaction", "samples under 0.95 throughput satisfaction", "max per-slice mean delay", "mean reward",
           "training time"]


def _rows(table: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in table.splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return cells[0], cells[2:]


def test_tl_madrl_tiny_budget(tmp_path):
    cfg = TlMadrlConfig(out_dir=tmp_path, steps=240, explore=80, num_envs=2, local_steps=20, methods=("fedavg",), eval_episodes=1,
                        progress=False)
    table = run_tl_madrl(cfg, log=lambda msg: None)
    header, rows = _rows(table)
    assert header == COLUMNS
    assert [r[0] for r in rows] == ["TD3 fedavg", "proportional (oracle)", "equal"]
    for row in rows:
        assert len(row) == len(COLUMNS)
        values = [float(re.sub(r"[^0-9.eE+-]", "", c)) for c in row[1:5]]
        assert all(math.isfinite(v) for v in values), row
        assert 0.0 <= values[0] <= 1.0 and 0.0 <= values[1] <= 100.0
    assert rows[0][5].endswith(" s") and rows[1][5] == "—"
    assert (tmp_path / "tl_madrl.md").read_text() == table
    assert (tmp_path / "fedavg" / "policy" / "meta.json").is_file()


def test_recipe_cli_rejects_other_recipes_options(capsys):
    assert {"fdrl", "mfrl", "tl_madrl"} <= set(RECIPES)
    with pytest.raises(SystemExit):
        main(["tl_madrl", "--rounds", "3"])
    assert "unrecognized arguments: --rounds" in capsys.readouterr().err
