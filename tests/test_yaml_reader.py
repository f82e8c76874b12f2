# SPDX-License-Identifier: GPL-2.0-only
"""The scenario reader refuses what YAML would accept silently or crash on, naming the place:
duplicate keys, absurd nesting, integers of thousands of digits, booleans for numbers."""

from __future__ import annotations

import pytest

from slicebridge.bridge.scenario import Scenario, ScenarioError, scenarios_dir
from slicebridge.app.cli import main

TINY = (scenarios_dir() / "tiny.yaml").read_text()


def _refusal(tmp_path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    return message


def test_a_duplicate_key_is_refused_with_both_places(tmp_path):
    message = _refusal(tmp_path, TINY + "\nname: again\n")
    first = 1 + TINY.splitlines().index(next(l for l in TINY.splitlines() if l.startswith("name:")))
    assert "duplicate key 'name'" in message and f"first given at line {first}, column 1" in message
    assert "duplicate key 'b'" in _refusal(tmp_path, "a: {b: 1, b: 2}\n")


def test_merge_keys_may_still_be_overridden(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("x: &base {b: 1, c: 1}\ny:\n  <<: *base\n  b: 2\n")
    with pytest.raises(ScenarioError) as err:  # a schema error (unknown fields x, y), not a YAML one
        Scenario.from_yaml(path)
    assert "unknown field" in str(err.value) and "duplicate" not in str(err.value)


def test_100000_nested_brackets_are_refused_without_recursion_error(tmp_path):
    message = _refusal(tmp_path, "name: x\nslices: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "line 2, column 40: nested too deeply" in message


def test_a_5000_digit_integer_is_refused_with_its_place(tmp_path):
    message = _refusal(tmp_path, TINY.replace("seed:", "seed: " + "9" * 5000 + "\nx_seed:", 1))
    assert "an integer of 5000 digits" in message and "line " in message


def test_a_boolean_is_not_a_number(tmp_path):
    text = TINY.replace("sites: 1", "sites: true") if "sites: 1" in TINY else TINY + "\ntopology: {sites: true}\n"
    message = _refusal(tmp_path, text)
    assert "topology.sites" in message and "true/false is not a number" in message


@pytest.mark.parametrize("old, new, place, what", [
    ("sites: 1", 'sites: "3"', "topology.sites", "'3' is text, not a number"),
    ("bandwidth_prb: 25", "bandwidth_prb: '25'", "radio.bandwidth_prb", "'25' is text, not a number"),
    ("rate_mbps: 4.0", 'rate_mbps: "4.0"', "slices[0].traffic.rate_mbps", "'4.0' is text, not a number"),
    ("ues_per_cell: 2", "ues_per_cell: 2.0", "slices[0].ues_per_cell", "2.0 is not an integer"),
])
def test_a_quoted_number_or_a_float_for_an_integer_is_not_coerced(tmp_path, old, new, place, what):
    assert old in TINY
    message = _refusal(tmp_path, TINY.replace(old, new, 1))
    assert place in message and what in message


def test_a_yaml_integer_is_still_a_valid_float(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.replace("rate_mbps: 4.0", "rate_mbps: 4", 1))
    assert Scenario.from_yaml(path).slices[0].traffic.rate_mbps == 4.0


@pytest.mark.parametrize("path", sorted(scenarios_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_under_the_strict_numbers(path):
    assert Scenario.from_yaml(path).n_cells >= 1


def test_scenarios_validate_prints_the_place(tmp_path, capsys):
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nname: b\n")
    assert main(["scenarios", "validate", str(path)]) == 1
    assert "line 2, column 1: duplicate key 'name'" in capsys.readouterr().err
