"""The scenario contract: every shipped file validates; every error names file, field and allowed values."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from slicebridge.app.cli import main as cli_main
from slicebridge.bridge.layout import cell_layout, drop_ues, hex_sites
from slicebridge.bridge.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenarios_dir,
)
from slicebridge.ns3.runtime import runtime_dict

SHIPPED = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_validate(name):
    s = load_scenario(name)
    assert s.n_cells >= 1 and s.ues_per_cell >= 1
    assert abs(sum(s.initial_shares()) - 1.0) < 1e-9


def test_required_files_exist():
    for name in ("tiny", "default", "fdrl_10edge", "tl_madrl_12cell", "dt_drl_3slice"):
        assert name in SHIPPED


def _write(tmp_path, data):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _base():
    return yaml.safe_load((scenarios_dir() / "tiny.yaml").read_text())


@pytest.mark.parametrize(
    "mutate, field, hint",
    [
        (lambda d: d["radio"].update(technology="wifi"), "radio.technology", "'lte' or 'nr'"),
        (lambda d: d["radio"].update(bandwidth_prb=30), "radio", "[6, 15, 25, 50, 75, 100]"),
        (lambda d: d["topology"].update(sectors=2), "topology.sectors", "1 or 3"),
        (lambda d: d["control"].update(decision_period_ms=0), "control.decision_period_ms", "greater than or equal to 1"),
        (lambda d: d["slices"][1]["traffic"].update(model="burst"), "slices[1].traffic", "'cbr', 'poisson'"),
        (lambda d: d["slices"][0]["traffic"].update(rate_mbps=-1), "slices[0].traffic.rate_mbps", "greater than 0"),
        (lambda d: d["slices"][0].update(colour="red"), "slices[0].colour", "allowed: ["),
        (lambda d: d["reward"].update(name="joy"), "reward.name", "'min_satisfaction'"),
        (lambda d: d["observation"].update(features=["latency"]), "observation", "allowed: ['offered_mbps'"),
        (lambda d: d["slices"][0].update(min_share=0.95), "<top>", "min_share values sum to more than 1"),
        (lambda d: d["slices"][1].update(name="embb"), "<top>", "slice names must be unique"),
        (lambda d: d.pop("slices"), "slices", "required field is missing"),
        # found by the fuzzer: 1.2e-38 made litesim's per-PRB rate overflow float32 into NaN KPIs
        (lambda d: d.update(litesim={"slice_efficiency": [1.175494351e-38] * len(d["slices"])}), "<top>",
         "litesim.slice_efficiency values must lie in [0.001, 10]"),
    ],
)
def test_schema_errors_name_file_field_and_allowed_values(tmp_path, mutate, field, hint):
    data = _base()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    message = str(err.value)
    assert str(path) in message
    assert f": {field}" in message or f": {field}." in message, message
    assert hint in message, message


@pytest.mark.parametrize(
    "mutate, field, hint",
    [
        (lambda d: d["slices"][0]["traffic"].update(rate_mbps=float("inf")), "slices[0].traffic.rate_mbps", "finite number"),
        (lambda d: d["slices"][0]["traffic"].update(rate_mbps=float("nan")), "slices[0].traffic.rate_mbps", "finite number"),
        (lambda d: d["slices"][0]["traffic"].update(rate_mbps=1e35), "slices[0].traffic.rate_mbps", "less than or equal to 10000"),
        (lambda d: d["slices"][1]["sla"].update(delay_ms=-float("inf")), "slices[1].sla.delay_ms", "finite number"),
        (lambda d: d["slices"][0].update(load_profile={"kind": "piecewise", "values": [1.0, float("inf")]}),
         "slices[0].load_profile.values[1]", "finite number"),
        (lambda d: d["slices"][0].update(load_profile={"scale": 1e9}), "slices[0].load_profile.scale", "less than or equal to 100"),
        (lambda d: d["slices"][0].update(ues_per_cell=True), "slices[0].ues_per_cell", "true/false is not a number"),
        (lambda d: d["radio"].update(tx_power_dbm=False), "radio.tx_power_dbm", "true/false is not a number"),
        (lambda d: d["topology"].update(sectors=True), "topology.sectors", "true/false is not a number"),
        (lambda d: d["topology"].update(inter_site_distance_m=1e300), "topology.inter_site_distance_m", "less than or equal to 100000"),
        (lambda d: d["control"].update(warmup_ms=1e7), "control.warmup_ms", "less than or equal to 3600000"),
        (lambda d: d["control"].update(warmup_ms=200_000), "control", "at most 1000 decision periods"),
        (lambda d: d["control"].update(episode_steps=10**30), "control.episode_steps", "less than or equal to 1000000"),
        (lambda d: d.update(litesim={"buffer_bytes": 2**70}), "litesim.buffer_bytes", "less than or equal to 1000000000"),
        (lambda d: d["reward"].update(phi=1e-400), "reward.phi", "greater than 0"),
        (lambda d: d["slices"][0].update(traffic={"model": "truncated_exponential", "rate_mbps": 1.0, "truncation": 2.000001}),
         "slices[0].traffic.truncation", "greater than or equal to 2.05"),
    ],
)
def test_numbers_must_be_finite_and_in_range(tmp_path, mutate, field, hint):
    """Non-finite, overflowing or boolean numbers are schema errors (``.inf`` used to reach litesim as NaN KPIs)."""
    data = _base()
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")  # safe_dump writes .inf / .nan for the floats
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    message = str(err.value)
    assert f"{path}: {field}:" in message, message
    assert hint in message, message


def _tiny_text() -> str:
    return (scenarios_dir() / "tiny.yaml").read_text(encoding="utf-8")


# Each way a scenario file can be broken beyond the schema: (file name, how to make it, hint).
BROKEN_FILES = [
    ("latin1.yaml", lambda p: p.write_bytes(_tiny_text().replace("CI smoke", "Café").encode("latin-1")), "not UTF-8 text (byte 0xe9 at line 3)"),
    ("utf16.yaml", lambda p: p.write_bytes(_tiny_text().encode("utf-16")), "not UTF-8 text"),
    ("empty.yaml", lambda p: p.write_bytes(b""), "the scenario is empty"),
    ("comments.yaml", lambda p: p.write_text("# nothing but a comment\n\n"), "the scenario is empty"),
    ("syntax.yaml", lambda p: p.write_text("slices: [unclosed"), "not valid YAML"),
    ("tab.yaml", lambda p: p.write_text("slices:\n\t- name: a\n"), "not valid YAML"),
    ("list.yaml", lambda p: p.write_text("- name: tiny\n- seed: 1\n"), "<top>: the top level must be a mapping of fields (allowed: ["),
    ("scalar.yaml", lambda p: p.write_text("42\n"), "the top level must be a mapping"),
    ("binary.yaml", lambda p: p.write_bytes(bytes(range(256)) * 4), "not UTF-8 text"),
    ("nul.yaml", lambda p: p.write_bytes(b"name: x\x00\n"), "not valid YAML"),
    ("deep.yaml", lambda p: p.write_text("[" * 50_000), "line 1, column 33: nested too deeply"),
    ("dir.yaml", lambda p: p.mkdir(), "is a directory"),
    ("missing.yaml", lambda p: None, "scenario file not found"),
    ("missing", lambda p: None, "nor a shipped scenario of that name; shipped: ['bench_13cell', 'default'"),
]


@pytest.mark.parametrize("name, make, hint", BROKEN_FILES, ids=[b[0] for b in BROKEN_FILES])
def test_broken_files_give_one_scenario_error(tmp_path, name, make, hint):
    path = tmp_path / name
    make(path)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert hint in message, message


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(_tiny_text().encode("utf-8-sig"))
    assert Scenario.from_yaml(path) == load_scenario("tiny")


def test_a_list_of_many_bad_values_gives_a_bounded_message(tmp_path):
    data = _base()
    data["slices"][0]["load_profile"] = {"kind": "piecewise", "values": ["x"] * 5000}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(_write(tmp_path, data))
    lines = str(err.value).splitlines()
    assert len(lines) == 21 and lines[-1].endswith("... and 4980 more errors"), lines[-3:]


def _broken_files(tmp_path) -> list[Path]:
    paths = []
    for name, make, _ in BROKEN_FILES:
        paths.append(tmp_path / name)
        make(paths[-1])
    return paths


def test_cli_validate_reports_every_broken_file_without_traceback(tmp_path, capsys):
    paths = _broken_files(tmp_path)
    good = scenarios_dir() / "tiny.yaml"
    assert cli_main(["scenarios", "validate", str(good), *map(str, paths)]) == 1
    out, err = capsys.readouterr()
    assert f"ok    {good}" in out
    assert "Traceback" not in err
    for path, (_, _, hint) in zip(paths, BROKEN_FILES):
        assert f"error {path}: " in err and hint in err, (path, err)


def test_cli_validate_in_a_fresh_process_exits_non_zero_without_traceback(tmp_path):
    """What a user sees: the console command on a non-UTF-8 file and a directory (no traceback)."""
    latin1, directory = tmp_path / "latin1.yaml", tmp_path / "folder"
    latin1.write_bytes(_tiny_text().replace("CI smoke", "Café").encode("latin-1"))
    directory.mkdir()
    run = subprocess.run([sys.executable, "-m", "slicebridge.app.cli", "scenarios", "validate", str(latin1), str(directory)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr and "not UTF-8 text" in run.stderr and "is a directory" in run.stderr, run.stderr


def test_scenario_is_immutable_and_updates_revalidate():
    s = load_scenario("tiny")
    with pytest.raises(Exception):
        s.seed = 3
    assert s.with_updates(seed=3).seed == 3
    with pytest.raises(ScenarioError):
        s.with_updates(control={"episode_steps": 0})


def test_sla_overrides_apply_per_cell():
    s = load_scenario("tl_madrl_12cell")
    thr, dly = s.sla_matrix()
    assert thr[0] == [0.36, 0.27, 0.18, 0.09] and dly[0] == [30.0, 20.0, 10.0, 10.0]
    assert thr[4] == [0.22, 0.18, 0.14, 0.09] and dly[4] == [10.0, 10.0, 10.0, 10.0]
    assert thr[6] == thr[0] and thr[9] == thr[4]


def test_hex_layout_and_ue_drop_geometry():
    sites = hex_sites(7, 500.0)
    assert np.allclose(np.hypot(*sites[1:].T), 500.0)
    s = load_scenario("default")
    drop = drop_ues(s, np.random.default_rng(0), batch=2)
    layout = cell_layout(s)
    assert drop.ue_xy_m.shape == (2, 3, s.ues_per_cell, 2)
    d = drop.ue_xy_m - layout.cell_xy_m[None, :, None, :]
    r = np.hypot(d[..., 0], d[..., 1])
    assert r.min() >= s.topology.min_ue_distance_m - 1e-9 and r.max() <= s.topology.drop_radius_m + 1e-9
    # each sector's UEs lie within ±60° of its azimuth
    ang = np.rad2deg(np.arctan2(d[..., 1], d[..., 0]))
    off = (ang - layout.cell_azimuth_deg[None, :, None] + 180) % 360 - 180
    assert np.abs(off).max() <= 60 + 1e-9


def test_runtime_json_is_deterministic_for_a_seed():
    s = load_scenario("default")
    a, b, c = runtime_dict(s, 5), runtime_dict(s, 5), runtime_dict(s, 6)
    assert a == b and a["ues"] != c["ues"]
    n = s.ues_per_cell
    assert len(a["ues"]) == 3 * n and [u["slice"] for u in a["ues"][:n]] == s.ue_slice_index()
