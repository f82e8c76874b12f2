# SPDX-License-Identifier: GPL-2.0-only
"""Packet-level confirmation helper (slicebridge.app.recipes.confirm) on the tiny scenario, real ns-3."""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.agents.training import cell_metrics
from slicebridge.app.evaluate import evaluate
from slicebridge.app.recipes.common import oracle_proportional
from slicebridge.app.recipes.confirm import confirm_in_ns3
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import Scenario, scenarios_dir

STEPS = 4


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return Scenario.from_yaml(scenarios_dir() / "tiny.yaml")


def _metrics(scenario: Scenario):
    reward = RewardFunction(scenario)

    def metrics(kpis: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        assert kpis.ndim == 5 and rewards.shape == kpis.shape[:3]  # [E, T, C, S, 11], [E, T, C]
        return {"utilisation": float(cell_metrics(kpis, reward)["utilisation"].mean())}

    return metrics


def test_every_row_is_judged_in_both_simulators_on_the_same_window(tiny, ns3_binary):
    rows = {"equal": ["equal"], "random": ["random"], "oracle": [oracle_proportional(tiny)], "greedy": ["greedy_sla"]}
    conf = confirm_in_ns3(tiny, rows, _metrics(tiny), litesim_episodes=2, ns3_episodes=1, ns3_steps=STEPS, seed=7, litesim_only=("greedy",),
                          log=lambda m: None)
    assert conf.metrics == ("reward", "utilisation")
    assert conf.ns3_steps == STEPS and conf.litesim_steps == tiny.control.episode_steps
    assert set(conf.values["ns3"]) == {"equal", "random"}  # the oracle needs litesim's demand oracle
    assert "oracle" in conf.skipped and "oracle" in conf.values["litesim"]
    assert "litesim" in conf.skipped["greedy"] and "greedy" in conf.values["litesim_window"]
    # the ns-3 numbers are those of evaluate() on the same window and seed (one evaluation loop)
    window = tiny.with_updates(control={"episode_steps": STEPS})
    direct = evaluate(window, "equal", "ns3", episodes=1, seed=7)
    assert conf.per_seed("ns3", "equal")[0] == pytest.approx(direct[0].rewards.mean())
    assert conf.values["ns3"]["equal"][0]["utilisation"] != conf.values["litesim_window"]["equal"][0]["utilisation"]
    table = conf.table(percent=("utilisation",))
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    assert header == ["method", "reward litesim", "reward ns-3", "gap", "utilisation litesim", "utilisation ns-3", "gap"]
    gap = conf.values["ns3"]["equal"][0]["utilisation"] - conf.values["litesim_window"]["equal"][0]["utilisation"]
    assert f"{100 * gap:+.1f} %" in table
    assert "Kendall τ" in table and "Not run in ns-3: oracle" in table
    assert f"{STEPS} steps" in conf.settings() and conf.ns3_wall_s > 0


def test_advantage_is_paired_per_seed_with_its_standard_error(tiny):
    conf = confirm_in_ns3(tiny, {"equal": ["equal"], "greedy": ["greedy_sla"]}, _metrics(tiny), ns3=False, ns3_steps=STEPS,
                          litesim_episodes=1)
    conf.values["litesim"]["three"] = [{"reward": r} for r in (0.5, 0.6, 0.7)]
    conf.values["litesim"]["equal"] = [{"reward": 0.4}]
    mean, se = conf.advantage("three", "equal", "litesim")
    assert mean == pytest.approx(0.2)
    assert se == pytest.approx(0.1 / np.sqrt(3))
    assert conf.values["ns3"] == {} and conf.ns3_wall_s >= 0
    assert "—" in conf.table()  # nothing ran in ns-3


def test_ranking_agreement_reads_both_orders(tiny):
    conf = confirm_in_ns3(tiny, {"equal": ["equal"]}, _metrics(tiny), ns3=False, ns3_steps=STEPS, litesim_episodes=1)
    for sim, rewards in (("litesim_window", (0.1, 0.2, 0.3)), ("ns3", (0.1, 0.3, 0.2))):
        conf.values[sim] = {name: [{"reward": r, "utilisation": 0.5}] for name, r in zip("abc", rewards)}
    assert conf.order("ns3") == ["b", "c", "a"]
    assert conf.tau() == pytest.approx(1 / 3)
    assert "does not hold fully" in conf.table()
    conf.values["ns3"] = {name: [{"reward": r + 0.1, "utilisation": 0.5}] for name, r in zip("abc", (0.1, 0.2, 0.3))}
    assert "the ranking holds" in conf.table()
