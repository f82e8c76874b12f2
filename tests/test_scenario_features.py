# SPDX-License-Identifier: GPL-2.0-only
"""Scenario features of issue 11 in both simulators: per-cell load (non-IID cells), traffic masks that
scale the number of active UEs, UE mobility, and the per-cell edge-computing resource."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.bridge import contract
from slicebridge.bridge.kpi import ACTIVE_UES, OFFERED
from slicebridge.bridge.scenario import ScenarioError, load_scenario
from slicebridge.litesim import LiteSim
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
