# SPDX-License-Identifier: GPL-2.0-only
"""The schema refuses what no simulator supports (issue 18); NR scenarios validate and each simulator decides (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
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


def test_nr_scenarios_validate_and_the_simulators_decide(tmp_path):
    """Issue 15: the schema accepts NR (with its numerology's PRB width) and litesim models it with
    that PRB width (its NR twin, litesim/air.py; the ns-3 side is tested below)."""
    assert "nr" in SIMULATED_TECHNOLOGIES
    scenario = Scenario.from_yaml(nr_scenario(tmp_path))
    assert scenario.radio.prb_khz == 360.0 and scenario.radio.channel_mhz == 52 * 0.36
    from slicebridge.litesim.simulator import LiteSim

    sim = LiteSim(scenario)
    assert sim.air.technology == "nr" and sim.air.prb_hz == 360e3
    sim.reset()
    assert np.isfinite(sim.step(np.asarray([scenario.initial_shares()] * scenario.n_cells)[None])).all()


def test_an_nr_carrier_wider_than_nr_allows_is_refused():
    with pytest.raises(ScenarioError, match="wider than an NR carrier"):
        Scenario.from_yaml(scenarios_dir() / "tiny.yaml").with_updates(
            radio={"technology": "nr", "bandwidth_prb": 275, "numerology": 4})


def test_scenarios_validate_accepts_an_nr_scenario(tmp_path):
    path = nr_scenario(tmp_path)
    run = subprocess.run([sys.executable, "-m", "slicebridge.app.cli", "scenarios", "validate", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_an_nr_run_without_the_nr_program_names_the_remedy(tmp_path, monkeypatch):
    """Without a 5G-LENA build there is no slicebridge-nr; running an NR scenario says how to build it."""
    from slicebridge.ns3 import launcher
    from slicebridge.ns3.run import run_ns3

    monkeypatch.setattr(launcher, "BUILD_DIR", tmp_path / "no-build")
    monkeypatch.delenv(launcher.ENV_BINARY, raising=False)
    with pytest.raises(launcher.Ns3BuildError) as err:
        run_ns3(Scenario.from_yaml(nr_scenario(tmp_path)), seed=1)
    message = str(err.value)
    assert "slicebridge-nr is not built" in message and "scripts/build-nr.sh" in message and "NS3_NR_DIR" in message


def test_the_ns3_program_refuses_nr_too(ns3_binary, tmp_path):
    """A runtime JSON that claims NR is refused by slicebridge-lte, which names the NR program."""
    runtime = runtime_dict(Scenario.from_yaml(scenarios_dir() / "tiny.yaml"), seed=1)
    runtime["scenario"]["radio"]["technology"] = "nr"
    config = tmp_path / "nr.json"
    config.write_text(json.dumps(runtime))
    run = subprocess.run([str(ns3_binary), f"--config={config}", f"--output={tmp_path / 'kpis.jsonl'}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "'nr' is not supported by slicebridge-lte" in run.stderr and "slicebridge-nr" in run.stderr
