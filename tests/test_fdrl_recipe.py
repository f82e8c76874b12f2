# SPDX-License-Identifier: GPL-2.0-only
"""FDRL recipe (slicebridge.app.recipes.fdrl): tiny-budget smoke run, sweep scenarios, the oracle, fixed ε."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from slicebridge.app.recipes import main
from slicebridge.app.recipes.fdrl import FdrlConfig, NeedFirstShares, heterogeneous, run_fdrl, with_clients
from slicebridge.bridge import kpi as K
from slicebridge.bridge.contract import PRB_BANDWIDTH_HZ
from slicebridge.bridge.scenario import load_scenario


@pytest.fixture(scope="module")
def fdrl_scenario():
    return load_scenario("fdrl_10edge")


def _tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text`` as rows of cells (header first, separator dropped)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-:"):
                current.append([c.strip() for c in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def _number(cell: str) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", cell.split("±")[0]))


def test_fdrl_tiny_budget(tmp_path, fdrl_scenario):
    short = fdrl_scenario.with_updates(control={"episode_steps": 10})  # short evaluation episodes keep the test fast
    cfg = FdrlConfig(scenario=short, out_dir=tmp_path, rounds=2, local_steps=10, num_envs=1, seeds=(1, 2), eval_episodes=1, heterogeneity=(0.0,),
                     clients=(3,), sweep_methods=("fedavg",), ns3=False, progress=False, probe_every=1, probe_steps=5)
    table = run_fdrl(cfg, log=lambda msg: None)
    main_t, advantage, side, het, clients = _tables(table)
    assert [r[0] for r in main_t[1:]] == ["FDRL (FedAvg)", "FDRL (FedProx)", "centralised DRL", "non-federated DRL",
                                          "oracle (need-first, known demand)", "equal shares", "random moves"]
    for row in main_t[1:]:
        assert len(row) == len(main_t[0])
        assert all(math.isfinite(_number(c)) for c in row[1:4]), row
    assert all("±" in r[1] for r in main_t[1:5])  # two seeds: mean ± sd
    assert main_t[1][-1] == "85.2 % / 92.7 % / 80"  # the paper's numbers beside ours
    assert [r[0] for r in advantage[1:]] == [r[0] for r in main_t[1:5]] and advantage[1][3] == "—"  # no ns-3 here
    assert "ns-3 was not run." in table
    assert [r[0] for r in het[1:]] == ["0", "1 (main)"] and [r[0] for r in clients[1:]] == ["3", "10 (main)"]
    assert all(math.isfinite(_number(r[1])) for r in het[1:] + clients[1:])
    assert (tmp_path / "fdrl.md").read_text() == table
    record = json.loads((tmp_path / "fdrl.json").read_text())
    assert set(record["histories"]) == {f"{m}-s{s}" for m in cfg.methods for s in (1, 2)}
    # convergence probes: the hook after round 1, the final policy after round 2 (the last round)
    assert all(math.isfinite(h["greedy_reward"]) for runs in record["histories"].values() for h in runs)
    for run in ("main/fedavg-s1", "het0/fedavg-s2", "clients3/fedavg-s1"):
        assert (tmp_path / run / "policy" / "meta.json").is_file()


def test_epsilon_is_fixed_at_the_papers_value():
    dqn = FdrlConfig().dqn
    assert dqn["exploration_initial_eps"] == dqn["exploration_final_eps"] == 0.1


def test_sweep_scenarios(fdrl_scenario):
    scales, shifts = fdrl_scenario.cell_load()
    assert len(set(scales)) > 1 and len(set(shifts)) > 1  # the shipped cells are non-IID
    iid = heterogeneous(fdrl_scenario, 0.0)
    assert iid.cell_load() == ([1.0] * 10, [0] * 10)
    half = heterogeneous(fdrl_scenario, 0.5)
    assert half.cell_load()[0] == pytest.approx([1 + 0.5 * (s - 1) for s in scales])
    five = with_clients(fdrl_scenario, 5)
    assert five.n_cells == 5 and five.cell_load()[0] == [scales[i] for i in (0, 2, 4, 7, 9)]
    with pytest.raises(ValueError, match="between 1 and"):
        with_clients(fdrl_scenario, 11)


def test_need_first_oracle_gives_each_slice_its_need():
    sc = load_scenario("fdrl_10edge_compute")
    kpis = np.zeros((1, sc.n_cells, sc.n_slices, len(K.KPI_NAMES)))
    kpis[..., K.SPECTRAL_EFF] = 2.0
    cell_mbps = 2.0 * sc.radio.bandwidth_prb * PRB_BANDWIDTH_HZ / 1e6
    demand = np.tile([0.5, 0.1, 0.01], (sc.n_cells, 1)) * cell_mbps  # needs 60 %, 12 %, 1.2 % with headroom 1.2
    shares = NeedFirstShares(sc, lambda: demand).act(kpis)[0]
    assert shares.shape == (sc.n_cells, 2 * sc.n_slices)  # bandwidth, then edge compute
    need = np.maximum(1.2 * np.array([0.5, 0.1, 0.01]), 0.05)
    assert shares[0, :3] == pytest.approx(need + (1 - need.sum()) / 3)
    compute_need = np.maximum(1.2 * demand[0] * 1e6 * np.array(sc.edge.cycles_per_bit) / sc.edge.capacity_cycles_per_s,
                              sc.min_compute_shares())
    expected = compute_need / compute_need.sum() if compute_need.sum() > 1 else compute_need + (1 - compute_need.sum()) / 3
    assert shares[0, 3:] == pytest.approx(expected)
    overloaded = NeedFirstShares(sc, lambda: demand * 4).act(kpis)[0]  # needs exceed the cell: scaled in proportion
    assert overloaded[:, :3].sum(-1) == pytest.approx(np.ones(sc.n_cells)) and overloaded[0, 0] > 0.6
    bandwidth_only = load_scenario("fdrl_10edge")
    assert NeedFirstShares(bandwidth_only, lambda: demand).act(kpis)[0] == pytest.approx(shares[:, :3])


def test_cli_passes_the_recipes_options(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr("slicebridge.app.recipes.fdrl.run_fdrl", lambda cfg: seen.setdefault("cfg", cfg) and "table")
    assert main(["fdrl", "--out", str(tmp_path), "--seeds", "1,2", "--heterogeneity", "0,0.5", "--clients", "4", "--no-ns3",
                 "--rounds", "3"]) == 0
    cfg = seen["cfg"]
    assert cfg.seeds == (1, 2) and cfg.heterogeneity == (0.0, 0.5) and cfg.clients == (4,) and cfg.ns3 is False and cfg.rounds == 3


@pytest.mark.parametrize("mode", ["federated", "independent"])
def test_round_hook_sees_the_policy_as_it_stands(tmp_path, mode):
    from slicebridge.agents.training import TrainConfig, train

    seen = []

    def hook(round_no, policy, record):
        seen.append((round_no, len(policy.models)))
        record["probe"] = round_no

    sc = load_scenario("tiny")
    res = train(TrainConfig(scenario=sc, algorithm="ppo", mode=mode, total_steps=3 * 8 * 2, num_envs=2, local_steps=8, seed=3,
                            run_dir=tmp_path, progress=False, tensorboard=False, round_hook=hook, algo_kwargs={"n_steps": 8, "batch_size": 8}))
    assert [r for r, _ in seen] == [1, 2]  # every round but the last
    assert all(n == 1 for _, n in seen)  # one cell: federated sends the global model, independent has one model
    assert [h.get("probe") for h in res.history] == [1, 2, None]
    assert json.loads((tmp_path / "history.json").read_text())[0]["probe"] == 1
