"""The scenario contract: every shipped file validates; every error names file, field and allowed values."""

import numpy as np
import pytest
import yaml
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


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("slices: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        Scenario.from_yaml(bad)
    with pytest.raises(ScenarioError, match="not found"):
        Scenario.from_yaml(tmp_path / "nope.yaml")


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
    assert drop.ue_xy_m.shape == (2, 3, 10, 2)
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
    assert len(a["ues"]) == 30 and [u["slice"] for u in a["ues"][:10]] == s.ue_slice_index()
