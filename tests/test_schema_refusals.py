# SPDX-License-Identifier: GPL-2.0-only
"""The schema refuses what no simulator supports yet (issue 18): ``technology: nr`` until an NR backend exists."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from slicebridge.bridge.scenario import SIMULATED_TECHNOLOGIES, Scenario, ScenarioError, scenarios_dir
from slicebridge.ns3.runtime import runtime_dict


def nr_scenario(tmp_path):
    data = yaml.safe_load((scenarios_dir() / "tiny.yaml").read_text())
    data["radio"].update(technology="nr", bandwidth_prb=52, numerology=1)
    path = tmp_path / "nr.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_nr_is_refused_with_what_to_do(tmp_path):
    assert "nr" not in SIMULATED_TECHNOLOGIES
    path = nr_scenario(tmp_path)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    message = str(err.value)
    assert str(path) in message and "radio" in message
    assert "'nr' has no simulator yet" in message and "radio.technology: lte" in message


def test_nr_cannot_sneak_in_through_updates():
    with pytest.raises(ScenarioError, match="no simulator yet"):
        Scenario.from_yaml(scenarios_dir() / "tiny.yaml").with_updates(radio={"technology": "nr"})


def test_scenarios_validate_on_an_nr_scenario_fails_clearly(tmp_path):
    path = nr_scenario(tmp_path)
    run = subprocess.run([sys.executable, "-m", "slicebridge.app.cli", "scenarios", "validate", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "no simulator yet" in run.stderr and str(path) in run.stderr
    assert "Traceback" not in run.stderr


def test_the_ns3_program_refuses_nr_too(ns3_binary, tmp_path):
    """A runtime JSON that claims NR (written past the schema) is refused by slicebridge-lte with what to do."""
    runtime = runtime_dict(Scenario.from_yaml(scenarios_dir() / "tiny.yaml"), seed=1)
    runtime["scenario"]["radio"]["technology"] = "nr"
    config = tmp_path / "nr.json"
    config.write_text(json.dumps(runtime))
    run = subprocess.run([str(ns3_binary), f"--config={config}", f"--output={tmp_path / 'kpis.jsonl'}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "'nr' is not supported by slicebridge-lte" in run.stderr and "radio.technology: lte" in run.stderr
