"""Recipes (slicebridge.app.recipes): a tiny-budget TL-MADRL run (transfer included) produces the full tables with finite numbers."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

import pytest

from slicebridge.app.recipes import RECIPES, TlMadrlConfig, main, run_tl_madrl

COLUMNS = ["method", "mean satisfaction", "samples under 0.95", "max per-slice delay per sample", "mean reward", "training time"]
GAIN_COLUMNS = ["comparison", "TL (most similar)", "TL (least similar)", "MADRL", "gain, most similar", "gain, least similar"]


def _tables(table: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every Markdown table of ``table``: (header, rows)."""
    out, block = [], []
    for ln in table.splitlines() + [""]:
        if ln.startswith("|"):
            block.append([c.strip() for c in ln.strip("|").split("|")])
        elif block:
            out.append((block[0], block[2:]))
            block = []
    return out


def _number(cell: str) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", cell.split("±")[0]))


def test_tl_madrl_tiny_budget(tmp_path):
    cfg = TlMadrlConfig(out_dir=tmp_path, steps=60, explore=20, transfer_steps=40, num_envs=2, local_steps=5, n_seeds=2, vae_steps=10,
                        vae_epochs=3, early_steps=20, eval_episodes=1, ns3=False, progress=False)
    table = run_tl_madrl(cfg, log=lambda msg: None)
    (header, rows), (gain_header, gain_rows) = _tables(table)
    assert header == COLUMNS and gain_header == GAIN_COLUMNS
    assert [r[0] for r in rows] == ["MADRL (no transfer)", "TL (most similar source)", "TL (least similar source)",
                                    "source agents, no fine-tuning", "proportional (oracle)", "equal shares"]
    for row in rows:
        assert len(row) == len(COLUMNS)
        assert "±" in row[1]  # two seeds: mean ± sd
        values = [_number(c) for c in row[1:5]]
        assert all(math.isfinite(v) for v in values), row
        assert 0.0 <= values[0] <= 1.0 and 0.0 <= values[1] <= 100.0
    assert rows[0][5].endswith(" s") and rows[4][5] == "—"
    assert gain_rows[0][0] == "training reward over the first 40 transitions" and "%" in gain_rows[0][4]
    assert all(math.isfinite(_number(c)) for c in gain_rows[0][1:6])
    assert re.fullmatch(r"[+-]\d+\.\d ± \d+\.\d % \(SE \d+\.\d\)", gain_rows[0][4])  # two seeds: mean ± sd and the SE
    assert [r[0] for r in gain_rows] == ["training reward over the first 40 transitions", "training reward over the first 20 transitions",
                                         "greedy evaluation reward, TL after 40 vs MADRL after 60",
                                         "most vs least similar source, first 20 transitions", "most vs least similar source, first 40 transitions"]
    assert "In words, at equal step counts: over the first 40 transitions" in table and table.count("2 SE") == 5
    assert re.search(r"Wall time [0-9.]+ min, of which training [0-9.]+ min\.", table)
    assert (tmp_path / "tl_madrl.md").read_text() == table
    assert (tmp_path / "tl_madrl_distances.png").stat().st_size > 0 and (tmp_path / "tl_madrl_curves.png").stat().st_size > 0
    for seed in (4, 5):
        run = tmp_path / "runs" / f"seed{seed}"
        assert (run / "madrl" / "policy" / "meta.json").is_file() and (run / "tl" / "policy" / "meta.json").is_file()
        assert np.load(run / "distances.npy").shape == (12, 12)
    again = run_tl_madrl(dataclasses.replace(cfg, reuse=True), log=lambda msg: None)  # rebuilt from the finished runs
    assert [r[:5] for r in _tables(again)[0][1]] == [r[:5] for r in rows]
    assert _tables(again)[1] == _tables(table)[1]  # the gains come from the stored training curves
    assert "it reused 6 of the 6 training runs" in again  # the invocation's wall time is not read as the training's


def test_recipe_cli_rejects_other_recipes_options(capsys):
    assert {"fdrl", "mfrl", "tl_madrl"} <= set(RECIPES)
    with pytest.raises(SystemExit):
        main(["tl_madrl", "--rounds", "3"])
    assert "unrecognized arguments: --rounds" in capsys.readouterr().err
