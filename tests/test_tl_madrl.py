"""TL-MADRL recipe helpers: the paper's per-(cell, step) metrics by hand, equal-step curve means, the one-site cut-out."""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.app.recipes.tl_madrl import cutout_policy, mean_up_to, paper_metrics, relative_gain, sign_word, site_cutout
from slicebridge.bridge import kpi as K
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import load_scenario


def test_paper_metrics_take_the_worst_slice_per_cell_and_step():
    s = load_scenario("tl_madrl_12cell")
    rf = RewardFunction(s)
    kpis = np.zeros((2, s.n_cells, s.n_slices, len(K.KPI_NAMES)))  # 2 steps
    kpis[..., K.ACTIVE_UES] = 2.0
    kpis[..., K.OFFERED] = 10.0  # above SLA × 2 UEs everywhere: φ* = 2 × SLA rate
    kpis[..., K.THROUGHPUT] = 2.0 * rf.thr_sla[None]  # every slice exactly at its SLA
    kpis[..., K.DELAY_MEAN] = 5.0
    c = 6  # cell 7 (group A: 0.36/0.27/0.18/0.09 Mbit/s)
    kpis[0, c, 2, K.THROUGHPUT] = 0.5 * 2.0 * rf.thr_sla[c, 2]  # step 0: slice 3 at half its SLA
    kpis[0, c, 1, K.DELAY_MEAN] = 40.0  # and slice 2 slow
    kpis[1, c, 3, K.THROUGHPUT] = 0.0  # step 1: slice 4 delivered nothing (no delay sample)
    kpis[1, c, 0, K.DELAY_MEAN] = 7.0
    rewards = np.full((2, s.n_cells), 0.8)
    m = paper_metrics(kpis, rewards, rf, cells=[c, c + 1])
    # samples (cell 7, step 0): worst 0.5; (7, 1): worst 0; (8, 0) and (8, 1): 1
    assert m["satisfaction"] == pytest.approx((0.5 + 0.0 + 1.0 + 1.0) / 4)
    assert m["under"] == pytest.approx(2 / 4)
    assert m["max_delay"] == pytest.approx((40.0 + 7.0 + 5.0 + 5.0) / 4)
    assert m["reward"] == pytest.approx(0.8)


def test_mean_up_to_weights_windows_by_length_and_stops_at_the_budget():
    history = [{"core_steps": 10, "cell_reward": [0.0, 1.0]}, {"core_steps": 30, "cell_reward": [0.0, 4.0]},
               {"core_steps": 40, "cell_reward": [0.0, 9.0]}]
    # num_envs 2: windows end at 20, 60, 80 transitions per cell, widths 20, 40, 20
    assert mean_up_to(history, [1], 2, upto=60) == pytest.approx((1.0 * 20 + 4.0 * 40) / 60)
    assert mean_up_to(history, [0, 1], 2, upto=80) == pytest.approx((0.5 * 20 + 2.0 * 40 + 4.5 * 20) / 80)
    assert np.isnan(mean_up_to(history, [1], 2, upto=10))


def test_site_cutout_keeps_the_cells_loads_and_slas():
    s = load_scenario("tl_madrl_12cell")
    a = site_cutout(s, (6, 7, 8))
    assert (a.n_cells, a.topology.sites) == (3, 1)
    assert list(a.cell_load()[0]) == [s.cell_load()[0][c] for c in (6, 7, 8)]
    full, cut = RewardFunction(s), RewardFunction(a)
    assert np.allclose(cut.thr_sla, full.thr_sla[6:9]) and np.allclose(cut.delay_sla, full.delay_sla[6:9])
    b = site_cutout(s, (3, 4, 5))  # the other SLA group: the overrides follow the cells
    assert np.allclose(RewardFunction(b).thr_sla, full.thr_sla[3:6])
    assert not np.allclose(RewardFunction(b).thr_sla, cut.thr_sla)
    with pytest.raises(ValueError, match="sectors of one site"):
        site_cutout(s, (5, 6, 7))


def test_cutout_policy_routes_each_cell_to_its_model():
    class Model:
        def __init__(self, value):
            self.value = value

        def predict(self, obs, deterministic=True):
            return np.full((obs.shape[0], 4), self.value), None

    from slicebridge.agents.policy import MultiCellPolicy

    full = MultiCellPolicy([Model(float(k)) for k in range(12)], list(range(12)), {"action_mode": "continuous"})
    cut = cutout_policy(full, (9, 10, 11))
    act = cut.act(np.zeros((3, 16), np.float32))
    assert act[:, 0].tolist() == [9.0, 10.0, 11.0]


def test_relative_gain_states_sd_se_and_whether_the_mean_clears_two_se():
    # gains 5, 6, 7 %: mean 6, sd 1, SE 1/√3 ≈ 0.58 → 6 > 2 SE
    assert relative_gain([0.05, 0.06, 0.07], judge=True) == "+6.0 ± 1.0 % (SE 0.6, beyond 2 SE)"
    # −1, +1, −3 %: mean −1, sd 2, SE 1.15 → within 2 SE of 0
    assert relative_gain([-0.01, 0.01, -0.03], judge=True) == "-1.0 ± 2.0 % (SE 1.2, within 2 SE of 0)"
    assert relative_gain([-0.01, 0.01, -0.03]) == "-1.0 ± 2.0 % (SE 1.2)"
    assert relative_gain([0.02]) == "+2.0 % (one seed: no SE)" and relative_gain([]) == "—"
    assert sign_word([-0.01, 0.01, -0.03], "ahead of", "behind") == "behind" and sign_word([0.05], "more", "less") == "more"
