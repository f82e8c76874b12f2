# SPDX-License-Identifier: GPL-2.0-only
"""``slicebridge fidelity``: sizing, warm-up override, bounds, matrix files, the ns-3 cache key, merged runs,
and the whole command on tiny with real ns-3."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from slicebridge.app.calibration import GAP_KPIS
from slicebridge.app.cli import main
from slicebridge.app.fidelity import FidelityConfig, ScenarioFidelity, _ns3_key, _stored_key, combine, sized, write_matrix
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import load_scenario


def _result(name: str, after: float, thr_after: float = 0.01) -> ScenarioFidelity:
    gaps_after = np.full((2, K.N_KPIS), after)
    gaps_after[:, K.THROUGHPUT] = thr_after
    means = {k: np.ones((2, K.N_KPIS)) for k in ("lite_before", "lite_after", "ns3")}
    return ScenarioFidelity(name, ("a", "b"), 3, 50, 1, np.full((2, K.N_KPIS), 0.5), gaps_after, 0.5, 1.0,
                            {"equal": 0.2}, {"equal": 0.05}, {}, means)


def test_large_scenarios_get_a_short_window(tmp_path):
    config = FidelityConfig(scenarios=[], out_dir=tmp_path, episodes=2, large_ues=100, large_steps=3, large_episodes=1)
    big, eps = sized(load_scenario("bench_13cell"), config)
    assert big.control.episode_steps == 3 and eps == 1
    small, eps = sized(load_scenario("default"), config)
    assert small.control.episode_steps == load_scenario("default").control.episode_steps and eps == 2


def test_bounds_name_the_cells_over_them():
    assert _result("ok", 0.2).violations() == []
    bad = _result("bad", 0.3, thr_after=0.08).violations()
    assert "median throughput gap 8.0%" in bad and "a delay_mean_ms 30%" in bad and "b sla_ratio 30%" in bad


def test_matrix_files(tmp_path):
    path = write_matrix([_result("one", 0.2), _result("two", 0.4)], tmp_path, command="slicebridge fidelity x")
    text = path.read_text()
    assert "`slicebridge fidelity x`" in text and "| two | b | 50 → 1% | 50 → 40% |" in text
    assert "over: a delay_mean_ms 40%" in text and "| one | 3 × 1 (cut from 50) | 0.50 → 1.00 |" in text
    rows = list(csv.DictReader((tmp_path / "matrix.csv").open()))
    assert len(rows) == 2 * 2 * len(GAP_KPIS) and rows[0]["scenario"] == "one"
    assert json.loads((tmp_path / "scenarios.json").read_text())[1]["violations"]
    assert (tmp_path / "fidelity_heatmap.png").stat().st_size > 2000


def test_fidelity_command_on_tiny(tmp_path, ns3_binary, capsys):
    out = tmp_path / "fid"
    assert main(["fidelity", "tiny", "--episodes", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[fidelity] tiny: equal in ns3" in printed and "calibrating" in printed
    rows = [r for r in csv.DictReader((out / "matrix.csv").open()) if r["kpi"] == "delay_mean_ms"]
    assert [r["slice"] for r in rows] == ["embb", "urllc"]
    assert all(np.isfinite(float(r["gap_before"])) and np.isfinite(float(r["gap_after"])) for r in rows)
    cal = json.loads((out / "tiny" / "calibration.json").read_text())
    assert cal["fit_after"]["objective"] <= cal["fit_before"]["objective"]
    assert cal["split"]["held_out_policies"] == ["proportional", "random"] and cal["split"]["held_out_episodes"] == [1]
    assert (out / "tiny" / "traces.csv").read_text().count("\n") == 1 + 2 * 4 * 2 * 10 * 2  # sims×policies×eps×steps×slices
    lite = np.load(out / "tiny" / "litesim.npz")
    assert lite["before/random/kpis"].shape == lite["after/random/kpis"].shape == (2, 10, 1, 2, K.N_KPIS)
    assert lite["after/equal/rewards"].shape == (2, 10, 1)
    assert "Held-out check" not in (out / "matrix.md").read_text() and "held out: policies proportional" in (out / "matrix.md").read_text()
    # a second run with the same settings reuses the simulations
    assert main(["fidelity", "tiny", "--episodes", "2", "--out", str(out)]) == 0
    assert "ns-3 simulations cached" in capsys.readouterr().out


def _write_cache(path, key: dict) -> None:
    np.savez_compressed(path, key=np.array(json.dumps(key, sort_keys=True)))


def test_cache_written_before_a_schema_field_existed_still_matches(tmp_path):
    """A field added to the schema since the traces were written takes its default, which is what ns-3
    did before; a real change of the scenario still invalidates the cache."""
    tiny = load_scenario("tiny")
    key = json.loads(json.dumps(_ns3_key(tiny, ["equal"], 2, 7)))
    old = json.loads(json.dumps(key))
    del old["scenario"]["action"]["discrete_moves"]  # as written before the field existed
    _write_cache(tmp_path / "old.npz", old)
    assert _stored_key(np.load(tmp_path / "old.npz")) == key
    changed = json.loads(json.dumps(old))
    changed["scenario"]["control"]["warmup_ms"] = 300.0
    _write_cache(tmp_path / "changed.npz", changed)
    assert _stored_key(np.load(tmp_path / "changed.npz")) != key


def test_warmup_override_reaches_the_scenario_and_the_matrix(tmp_path):
    config = FidelityConfig(scenarios=[], out_dir=tmp_path, warmup_ms=1500.0)
    sc, _ = sized(load_scenario("tiny"), config)
    assert sc.control.warmup_ms == 1500.0
    assert sized(load_scenario("tiny"), FidelityConfig(scenarios=[], out_dir=tmp_path))[0].control.warmup_ms == 100.0
    r = _result("one", 0.2)
    r.warmup_ms = 1500.0
    assert "| one | 3 × 1 (cut from 50), warm-up 1500 ms |" in write_matrix([r], tmp_path).read_text()


def test_combine_merges_runs_into_one_matrix(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
    first = _result("one", 0.2)
    first.means["ns3"] = np.arange(2 * K.N_KPIS, dtype=float).reshape(2, K.N_KPIS)
    write_matrix([first, _result("two", 0.4)], a)
    write_matrix([_result("two", 0.1)], b)  # a later run of "two" replaces the first
    assert main(["fidelity", "--combine", str(a), str(b), "--out", str(tmp_path / "all")]) == 0
    assert "2 scenarios from 2 runs" in capsys.readouterr().out
    merged = json.loads((tmp_path / "all" / "scenarios.json").read_text())
    assert [m["name"] for m in merged] == ["one", "two"] and merged[1]["violations"] == []
    assert merged[0]["means_all"]["ns3"] == first.means["ns3"].tolist()
    text = (tmp_path / "all" / "matrix.md").read_text()
    assert "`slicebridge fidelity --combine" in text and "| two | b | 50 → 1% | 50 → 10% |" in text
    old = json.loads((a / "scenarios.json").read_text())
    del old[0]["gaps_before_all"]
    (a / "scenarios.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="re-run that scenario"):
        combine([a], tmp_path / "x")


def test_dt_mafl_stand_in_is_the_shipped_scenario_at_ns3_size():
    """docs/fidelity/dt_mafl_6slice_ns3scale.yaml (the matrix's dt_mafl row) is scenarios/dt_mafl_6slice.yaml
    with 5x fewer devices at 5x the rate, within the UEs an ns-3 LTE cell attaches (320 SRS indices)."""
    base = load_scenario("dt_mafl_6slice")
    small = load_scenario(Path(__file__).resolve().parents[1] / "docs" / "fidelity" / "dt_mafl_6slice_ns3scale.yaml")
    k = 5
    assert small.n_cells * small.ues_per_cell <= 320 < base.n_cells * base.ues_per_cell
    for b, s in zip(base.slices, small.slices, strict=True):
        assert s.ues_per_cell * k == b.ues_per_cell and s.load_profile == b.load_profile
        assert s.traffic.rate_mbps == pytest.approx(k * b.traffic.rate_mbps)
        assert s.sla.throughput_mbps == pytest.approx(k * b.sla.throughput_mbps)
    assert small.reward.mu == pytest.approx(k * base.reward.mu)
    rest = [x.model_dump(exclude={"name", "description", "slices", "reward"}) for x in (base, small)]
    assert rest[0] == rest[1]
    assert base.reward.model_dump(exclude={"mu"}) == small.reward.model_dump(exclude={"mu"})
    strip = {"ues_per_cell", "traffic", "sla"}
    assert [s.model_dump(exclude=strip) for s in base.slices] == [s.model_dump(exclude=strip) for s in small.slices]
