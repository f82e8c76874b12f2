# SPDX-License-Identifier: GPL-2.0-only
"""Scenario features of issue 11 in both simulators: per-cell load (non-IID cells), traffic masks that
scale the number of active UEs, UE mobility, and the per-cell edge-computing resource."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.bridge import contract
from slicebridge.bridge.actions import ActionMapper
from slicebridge.bridge.kpi import ACTIVE_UES, COMPUTE_DELAY, COMPUTE_SHARE, DELAY_MEAN, OFFERED, SPECTRAL_EFF, THROUGHPUT
from slicebridge.bridge.scenario import Scenario, ScenarioError, load_scenario
from slicebridge.envs.slicing import make_core
from slicebridge.litesim import LiteSim
from slicebridge.ns3.backend import Ns3Backend
from slicebridge.ns3.run import run_ns3

STEPS = 4


@pytest.fixture(scope="module")
def tiny():
    return load_scenario("tiny")


def _three_cells(tiny, **topology):
    """tiny on one site of 3 sectors (4 UEs per cell), CBR eMBB only loaded so the offered load is exact."""
    return tiny.with_updates(topology={"sites": 1, "sectors": 3, **topology})


def _litesim_kpis(scenario, steps=STEPS, seed=1):
    sim = LiteSim(scenario, num_envs=1)
    sim.reset(seed=seed)
    shares = np.tile(np.asarray(scenario.initial_shares()), (1, scenario.n_cells, 1))
    out = np.stack([sim.step(shares)[0] for _ in range(steps)])
    sim.close()
    return out  # [steps, C, S, K]


# -- per-cell load -----------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value,message", [
    ("cell_load_scale", [1.0, 2.0], "needs one value per cell: 3"),
    ("cell_load_scale", [1.0, -1.0, 2.0], "must lie in [0, 100]"),
    ("cell_load_shift_steps", [0, 1, 2, 3], "needs one value per cell: 3"),
])
def test_per_cell_load_refusals_name_the_field(tiny, field, value, message):
    with pytest.raises(ScenarioError) as err:
        _three_cells(tiny, **{field: value})
    assert f"topology: {field}" in str(err.value) or field in str(err.value)
    assert message in str(err.value)


def test_cell_load_scale_formula():
    sine = load_scenario("tiny").slices[0].load_profile.model_copy(
        update={"kind": "sinusoid", "scale": 1.0, "amplitude": 0.5, "period_steps": 4})
    got = contract.cell_load_scale(sine, np.arange(4), [1.0, 2.0], [0, 1])  # [steps, C]
    base = contract.load_scale(sine, np.arange(5))
    np.testing.assert_allclose(got[:, 0], base[:4])
    np.testing.assert_allclose(got[:, 1], 2.0 * base[1:5])


def _offered_by_cell(kpis):
    return kpis[..., OFFERED].sum(axis=-1).mean(axis=0)  # [C] Mbit/s, mean over steps


def test_litesim_offered_load_follows_cell_scale(tiny):
    kpis = _litesim_kpis(_three_cells(tiny, cell_load_scale=[0.5, 1.0, 2.0]))
    plain = _litesim_kpis(_three_cells(tiny))
    off, ref = _offered_by_cell(kpis), _offered_by_cell(plain)
    assert off[0] < off[1] < off[2]
    np.testing.assert_allclose(off / ref, [0.5, 1.0, 2.0], rtol=0.1)


def test_litesim_cell_shift_moves_the_peak(tiny):
    profile = {"kind": "piecewise", "values": [0.2, 1.0], "hold_steps": 1}
    slices = [dict(s.model_dump(mode="json"), load_profile=profile) for s in tiny.slices]
    sc = _three_cells(tiny, cell_load_shift_steps=[0, 1, 0]).with_updates(slices=slices)
    off = _litesim_kpis(sc)[..., OFFERED].sum(-1)  # [steps, C]
    assert off[0, 1] > 2 * off[0, 0] and off[1, 0] > 2 * off[1, 1]  # cell 1 peaks when cell 0 is low
    np.testing.assert_allclose(off[:, 0], off[:, 2], rtol=0.2)


@pytest.mark.ns3
def test_ns3_offered_load_follows_cell_scale(ns3_binary, tiny):
    kpis = run_ns3(_three_cells(tiny, cell_load_scale=[0.5, 1.0, 2.0]), seed=1, steps=STEPS, binary=ns3_binary)
    off = _offered_by_cell(kpis)
    assert off[0] < off[1] < off[2]
    np.testing.assert_allclose(off / off[1], [0.5, 1.0, 2.0], rtol=0.2)
    lite = _offered_by_cell(_litesim_kpis(_three_cells(tiny, cell_load_scale=[0.5, 1.0, 2.0])))
    np.testing.assert_allclose(off, lite, rtol=0.2)


# -- traffic masks that scale the number of active UEs ------------------------------------------------
MASK = [1.0, 0.5, 0.0, 0.25]  # of 4 eMBB UEs: 4, 2, 0, 1 active


def _masked(tiny, applies_to="active_ues"):
    """tiny with 4 light CBR eMBB UEs (never backlogged) whose load profile is MASK, held one step each."""
    embb = dict(tiny.slices[0].model_dump(mode="json"), ues_per_cell=4,
                traffic={"model": "cbr", "rate_mbps": 1.0, "packet_size_bytes": 1200},
                load_profile={"kind": "piecewise", "values": MASK, "applies_to": applies_to})
    return tiny.with_updates(slices=[embb, tiny.slices[1].model_dump(mode="json")])


def test_active_ue_count_rounds_half_up_and_caps():
    np.testing.assert_array_equal(contract.active_ue_count(np.array([0.0, 0.1, 0.125, 0.5, 0.99, 1.0, 3.0]), 4),
                                  [0, 0, 1, 2, 4, 4, 4])


def test_active_ues_mask_above_one_is_refused(tiny):
    embb = dict(tiny.slices[0].model_dump(mode="json"),
                load_profile={"kind": "sinusoid", "scale": 0.8, "amplitude": 0.5, "applies_to": "active_ues"})
    with pytest.raises(ScenarioError) as err:
        tiny.with_updates(slices=[embb, tiny.slices[1].model_dump(mode="json")])
    assert "slices[0].load_profile" in str(err.value) and "must stay within [0, 1]" in str(err.value)
    with pytest.raises(ScenarioError, match="applies_to"):
        tiny.with_updates(slices=[dict(embb, load_profile={"applies_to": "ues"}), tiny.slices[1].model_dump(mode="json")])


def _check_mask(kpis):
    """active_ues follows the mask and the offered load is proportional to the active UEs."""
    embb = kpis[:, 0, 0]  # [steps, K]
    np.testing.assert_array_equal(embb[:, ACTIVE_UES], [4, 2, 0, 1])
    np.testing.assert_allclose(embb[:, OFFERED], 1.0 * np.array([4, 2, 0, 1]), rtol=0.1, atol=0.05)


def test_litesim_active_ue_mask(tiny):
    kpis = _litesim_kpis(_masked(tiny))
    _check_mask(kpis)
    rate = _litesim_kpis(_masked(tiny, "rate"))  # the same profile on the rate: every UE stays active
    assert set(rate[:, 0, 0, ACTIVE_UES].tolist()) <= {4.0, 0.0} and rate[1, 0, 0, ACTIVE_UES] == 4
    np.testing.assert_allclose(rate[:, 0, 0, OFFERED], kpis[:, 0, 0, OFFERED], rtol=0.1, atol=0.05)
    sim = LiteSim(_masked(tiny), num_envs=1)
    sim.reset(seed=1)
    np.testing.assert_allclose(sim.offered_load_mbps()[0, 0, 0], 4.0)  # the oracle counts active UEs too
    sim.close()


@pytest.mark.ns3
def test_ns3_active_ue_mask(ns3_binary, tiny):
    _check_mask(run_ns3(_masked(tiny), seed=1, steps=STEPS, binary=ns3_binary))


# -- edge computing -------------------------------------------------------------------------------------
# URLLC (Poisson, 200-byte packets) of tiny at 50 packets/s in all (2 UEs x 0.04 Mbit/s), 625 cycles per
# bit on a 1e8 cycles/s server: a packet needs x = 1600 bits x 625 / 1e8 = 10 ms of the whole server.
# eMBB needs no compute. Periods of 1 s so that each holds ~50 packets.
X_MS = 10.0
PACKETS_PER_S = 50.0


def _edge(tiny, **edge):
    urllc = dict(tiny.slices[1].model_dump(mode="json"),
                 traffic={"model": "poisson", "rate_mbps": PACKETS_PER_S * 1600 / 2 / 1e6, "packet_size_bytes": 200},
                 sla={"throughput_mbps": 0.01, "delay_ms": 1000})
    return tiny.with_updates(slices=[tiny.slices[0].model_dump(mode="json"), urllc],
                             control={"decision_period_ms": 1000, "warmup_ms": 0, "episode_steps": 20},
                             edge={"capacity_cycles_per_s": 1e8, "cycles_per_bit": [0.0, 625.0], **edge})


def _ps_mean_sojourn_ms(share: float, packets_per_s: float | np.ndarray = PACKETS_PER_S) -> float | np.ndarray:
    """M/G/1-PS: a job of service time x at rate share·C stays x / (1 − ρ) on average, ρ = λ x."""
    x = X_MS / share
    rho = packets_per_s * x / 1000.0
    return x / (1.0 - rho)


def _check_ps(kpis, share):
    """Slice 1's compute delay against M/G/1-PS at each period's measured load (packets of 1600 bits)."""
    packets_per_s = kpis[:, 0, 1, THROUGHPUT] * 1e6 / 1600
    expected = _ps_mean_sojourn_ms(share, packets_per_s)
    w = kpis[:, 0, 1, THROUGHPUT]
    return float((kpis[:, 0, 1, COMPUTE_DELAY] * w).sum() / w.sum()), float((expected * w).sum() / w.sum())


@pytest.mark.parametrize("edge,message", [
    ({"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1.0]}, "edge.cycles_per_bit needs one value per slice (2"),
    ({"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1.0, -1.0]}, "cycles_per_bit values must lie in [0, 100000]"),
    ({"capacity_cycles_per_s": 0, "cycles_per_bit": [1.0, 1.0]}, "edge.capacity_cycles_per_s"),
    ({"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1.0, 1.0], "min_compute_share": [0.6, 0.6]}, "sum to more than 1"),
    ({"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1.0, 1.0], "initial_compute_share": [0.6, 0.6]}, "must sum to 1"),
])
def test_edge_refusals(tiny, edge, message):
    with pytest.raises(ScenarioError) as err:
        tiny.with_updates(edge=edge)
    assert message in str(err.value)


def test_edge_refuses_the_absolute_action_mode(tiny):
    with pytest.raises(ScenarioError, match="edge computing needs action.mode continuous or discrete"):
        tiny.with_updates(action={"mode": "absolute", "units": 10}, edge={"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1, 1]})


def test_edge_actions_move_bandwidth_and_compute_on_their_own_simplexes(tiny):
    sc = tiny.with_updates(edge={"capacity_cycles_per_s": 1e9, "cycles_per_bit": [1, 1], "min_compute_share": [0.2, 0.0]})
    mapper = ActionMapper(sc)
    current = np.tile(np.asarray(sc.initial_share_row()), (1, 1, 1))  # [1, 1, 4]
    np.testing.assert_allclose(current[0, 0], [0.5, 0.5, 0.6, 0.4])
    out = mapper(np.array([[[1.0, 0.0, 0.0, 1.0]]]), current)
    np.testing.assert_allclose(out[0, 0], [0.9, 0.1, 0.2, 0.8])  # bandwidth above min_share 0.1, compute above 0.2
    kept = mapper(np.array([[[0.0, 1.0]]]), out)  # S values: bandwidth only
    np.testing.assert_allclose(kept[0, 0], [0.1, 0.9, 0.2, 0.8])
    disc = ActionMapper(sc.with_updates(action={"mode": "discrete", "delta": 0.1}))
    assert disc.n_moves == 1 + 2 * 2
    moved = disc(np.array([[3]]), current)  # 1 + S(S−1) + 0: compute from slice 0 to slice 1
    np.testing.assert_allclose(moved[0, 0], [0.5, 0.5, 0.5, 0.5])
    assert disc.toward(current, np.array([[[0.5, 0.5, 0.3, 0.7]]]))[0, 0] == 3
    assert disc.toward(current, np.array([[[0.8, 0.2]]]))[0, 0] == 2  # bandwidth target alone: slice 1 -> 0


def _edge_litesim(scenario, compute, steps=8):
    sim = LiteSim(scenario, num_envs=1)
    sim.reset(seed=1)
    row = np.array([[scenario.initial_shares() + list(compute)]])
    out = np.stack([sim.step(row)[0] for _ in range(steps)])
    sim.close()
    return out


def test_litesim_edge_delay_is_mg1_ps_and_follows_the_compute_share(tiny):
    sc = _edge(tiny)
    for share in (1.0, 0.8):
        kpis = _edge_litesim(sc, [1.0 - share, share])
        np.testing.assert_allclose(kpis[:, 0, :, COMPUTE_SHARE], np.tile([1.0 - share, share], (len(kpis), 1)))
        np.testing.assert_allclose(*_check_ps(kpis, share), rtol=0.02)
        assert np.all(kpis[:, 0, 0, COMPUTE_DELAY] == 0)  # eMBB needs no compute
        assert np.all(kpis[:, 0, 1, DELAY_MEAN] >= kpis[:, 0, 1, COMPUTE_DELAY])  # part of the end-to-end delay
    starved = _edge_litesim(sc, [0.9, 0.1], steps=4)  # 10 % of the server cannot carry the load
    assert starved[-1, 0, 1, THROUGHPUT] < 0.6 * starved[-1, 0, 1, OFFERED]
    assert starved[-1, 0, 1, COMPUTE_DELAY] > starved[0, 0, 1, COMPUTE_DELAY] > 5 * _ps_mean_sojourn_ms(1.0)


def test_litesim_without_edge_reports_zero_compute(tiny):
    kpis = _litesim_kpis(tiny)
    assert np.all(kpis[..., COMPUTE_SHARE] == 0) and np.all(kpis[..., COMPUTE_DELAY] == 0)


@pytest.mark.ns3
def test_ns3_edge_delay_is_mg1_ps_and_follows_the_compute_share(ns3_binary, tiny):
    sc = _edge(tiny)
    with Ns3Backend(sc, binary=ns3_binary) as backend:
        backend.reset(seed=1)
        for share in (1.0, 0.8):
            row = np.array([[sc.initial_shares() + [1.0 - share, share]]])
            kpis = np.stack([backend.step(row)[0] for _ in range(8)])
            np.testing.assert_allclose(kpis[:, 0, :, COMPUTE_SHARE], np.tile([1.0 - share, share], (8, 1)))
            np.testing.assert_allclose(*_check_ps(kpis, share), rtol=0.25)
            assert np.all(kpis[:, 0, 0, COMPUTE_DELAY] == 0)
            assert np.all(kpis[:, 0, 1, DELAY_MEAN] >= kpis[:, 0, 1, COMPUTE_DELAY])
        kept = backend.step(np.array([[sc.initial_shares()]]))  # bandwidth only: the compute shares stay
        np.testing.assert_allclose(kept[0, 0, :, COMPUTE_SHARE], [0.2, 0.8])


# -- mobility ---------------------------------------------------------------------------------------------
def _mobile(tiny, speed_mps):
    """tiny in a larger cell (mid-range CQIs) with UEs walking at ``speed_mps`` for 12 periods."""
    return tiny.with_updates(topology={"inter_site_distance_m": 1500, "cell_radius_m": 700},
                             mobility={"model": "random_walk", "speed_mps": speed_mps},
                             control={"episode_steps": 12})


def _se_changes(kpis):
    """How many period-to-period changes of any slice's spectral efficiency (per-cell mean over UEs)."""
    se = kpis[:, 0, :, SPECTRAL_EFF]
    return int(np.sum(np.abs(np.diff(se, axis=0)) > 1e-9))


def test_litesim_ues_move(tiny):
    sim = LiteSim(_mobile(tiny, 30.0), num_envs=1)
    sim.reset(seed=1)
    start = sim.state.ue_xy.copy()
    shares = np.tile(np.asarray(tiny.initial_shares()), (1, 1, 1))
    kpis = np.stack([sim.step(shares)[0] for _ in range(12)])
    moved = np.hypot(*(sim.state.ue_xy - start)[..., :].reshape(-1, 2).T)
    sim.close()
    assert np.all(moved > 0) and moved.max() <= 30.0 * 1.2 + 1e-6  # every UE moved, no faster than its speed
    assert _se_changes(kpis) > 0
    assert _se_changes(_litesim_kpis(_mobile(tiny, 0.0), steps=12)) == 0


@pytest.mark.ns3
def test_ns3_ues_move(ns3_binary, tiny):
    """Positions are not reported by ns-3: the UEs' CQI (spectral efficiency KPI) changes as they walk and
    stays put when they do not (one cell, no fading: the channel only changes with the position)."""
    walking = run_ns3(_mobile(tiny, 30.0), seed=1, steps=12, binary=ns3_binary)
    still = run_ns3(_mobile(tiny, 0.0), seed=1, steps=12, binary=ns3_binary)
    assert _se_changes(walking) > 0
    assert _se_changes(still[1:]) == 0  # from the first full period on


@pytest.mark.parametrize("mode", ["continuous", "discrete"])
def test_slicing_core_acts_on_both_resources(tiny, mode):
    sc = _edge(tiny).with_updates(action={"mode": mode, "delta": 0.2})
    core = make_core(sc, "litesim", num_envs=2, seed=3)
    core.reset()
    assert core.shares.shape == (2, 1, 4)
    if mode == "continuous":
        assert core.cell_action_space.shape == (4,)
        action = np.tile([0.5, 0.5, 0.0, 1.0], (2, 1, 1))  # all compute to URLLC
        want = [0.0, 1.0]
    else:
        assert core.cell_action_space.n == 5
        action = np.full((2, 1), 4)  # compute move: URLLC -> eMBB
        want = [0.7, 0.3]
    _, rewards, *_ = core.step(action)
    np.testing.assert_allclose(core.kpis[:, 0, :, COMPUTE_SHARE], np.tile(want, (2, 1)))
    assert np.all(np.isfinite(rewards))
    core.close()


def _lending(tiny, work_conserving):
    """eMBB needs 100 cycles/bit (~0.8e9 cycles/s at its load) with 30 % of a 1.2e9 cycles/s server; URLLC needs none."""
    return tiny.with_updates(edge={"capacity_cycles_per_s": 1.2e9, "cycles_per_bit": [100.0, 0.0],
                                   "initial_compute_share": [0.3, 0.7], "work_conserving": work_conserving})


def _lending_check(strict, lent):
    """Strict: eMBB's processing is capped at 0.3 x 1.2e9 / 100 = 3.6 Mbit/s (overloaded, a real PS queue
    spreads that over ever more unfinished packets, so fewer complete); work-conserving: it gets the idle
    URLLC share and keeps up with the radio."""
    assert 1.0 < strict[2:, 0, 0, THROUGHPUT].mean() <= 3.6 * 1.02
    assert lent[2:, 0, 0, THROUGHPUT].mean() > 5.0
    assert lent[2:, 0, 0, COMPUTE_DELAY].mean() < 0.2 * strict[2:, 0, 0, COMPUTE_DELAY].mean()


def test_litesim_work_conserving_compute_lends_idle_shares(tiny):
    strict = _litesim_kpis(_lending(tiny, False), steps=8)
    _lending_check(strict, _litesim_kpis(_lending(tiny, True), steps=8))
    np.testing.assert_allclose(strict[2:, 0, 0, THROUGHPUT], 3.6, rtol=0.01)  # the fluid twin completes at capacity


@pytest.mark.ns3
def test_ns3_work_conserving_compute_lends_idle_shares(ns3_binary, tiny):
    strict, lent = (run_ns3(_lending(tiny, wc), seed=1, steps=8, binary=ns3_binary) for wc in (False, True))
    _lending_check(strict, lent)


def test_yaml_exponent_floats_are_numbers(tmp_path):
    """PyYAML reads 2e9 / 1.0e9 as text (YAML 1.1); the scenario reader takes them as numbers (YAML 1.2)."""
    path = tmp_path / "edge.yaml"
    path.write_text("slices: [{name: a, ues_per_cell: 1, traffic: {model: cbr, rate_mbps: 1.0}}]\n"
                    "edge: {capacity_cycles_per_s: 2e9, cycles_per_bit: [1.0e2]}\n", encoding="utf-8")
    edge = Scenario.from_yaml(path).edge
    assert edge.capacity_cycles_per_s == 2e9 and edge.cycles_per_bit == (100.0,)
