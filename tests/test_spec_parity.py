# SPDX-License-Identifier: GPL-2.0-only
"""One source of truth across C++ and Python (``bridge/contract.json``).

The first tests need no build: Python reads every shared constant from the contract, and no hand-kept
copy is left in the sources. The ``ns3`` tests push the same vectors through both languages: the C++
answers come from ``slicebridge-spec-check`` (built by CMake with the generated header), the Python
ones from the functions the simulators and the environments call.
"""

from __future__ import annotations

import json
import re
import subprocess
import typing
from pathlib import Path

import numpy as np
import pytest
from slicebridge.bridge import contract, kpi, observation
from slicebridge.bridge.actions import project_to_simplex
from slicebridge.bridge.scenario import LoadProfile, load_scenario
from slicebridge.litesim import air, channel
from slicebridge.ns3.runtime import runtime_dict

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------
# Python side: everything from the contract, no second copy anywhere
# ------------------------------------------------------------------------------------------------
def test_python_takes_the_shared_constants_from_the_contract():
    assert kpi.KPI_NAMES is contract.KPI_NAMES
    assert channel.CQI_EFFICIENCY is contract.CQI_EFFICIENCY
    assert channel.MCS_EFFICIENCY is contract.MCS_EFFICIENCY
    assert channel.PRB_BANDWIDTH_HZ == contract.PRB_BANDWIDTH_HZ == 180e3
    assert air.rbg_size is contract.rbg_size  # litesim's LTE RBGs (litesim.air)
    tiny = load_scenario("tiny")
    assert observation.peak_rate_mbps(tiny) == tiny.radio.bandwidth_prb * 180e3 * contract.CQI_EFFICIENCY[-1] / 1e6
    # litesim's efficiency of a CQI (the MCS ns-3 picks for it) is the contract's CQI table itself,
    # so both simulators report the same spectral_eff_bps_hz for the same CQI
    np.testing.assert_array_equal(channel.se_from_cqi(np.arange(16)), contract.CQI_EFFICIENCY)


def test_contract_tables_are_consistent():
    assert len(contract.KPI_NAMES) == len(set(contract.KPI_NAMES)) == 13
    assert contract.RATIO_KPIS == {"loss_ratio", "sla_ratio", "prb_used_share", "share_assigned", "compute_share"}
    assert contract.CQI_EFFICIENCY.shape == (16,) and contract.MCS_EFFICIENCY.shape == (29,)
    assert np.all(np.diff(contract.CQI_EFFICIENCY) > 0) and np.all(np.diff(contract.MCS_EFFICIENCY) > 0)
    with pytest.raises(ValueError):
        contract.CQI_EFFICIENCY[3] = 1.0  # read-only: nobody patches the shared table in place
    assert typing.get_args(LoadProfile.model_fields["kind"].annotation) == contract.LOAD_PROFILE_KINDS


def test_rbg_rule_is_36213_table():
    expected = {6: 1, 10: 1, 11: 2, 15: 2, 25: 2, 26: 2, 27: 3, 50: 3, 63: 3, 64: 4, 75: 4, 100: 4}
    assert {n: contract.rbg_size(n) for n in expected} == expected


def test_no_hand_kept_copy_left_in_the_sources():
    cpp = [p for p in (REPO / "ns3_scenarios").rglob("*") if p.suffix in (".cc", ".h")]
    assert cpp
    for path in cpp:
        text = path.read_text(encoding="utf-8")
        names = [n for n in contract.KPI_NAMES if f'"{n}"' in text]
        assert not names, f"{path}: KPI names {names} spelled out; use contract::kKpiNames / enum SliceKpi"
        assert not re.search(r"\b(5\.5547|0\.1523|2\.4063)\b", text), f"{path}: a copy of a CQI efficiency table"
    python = [p for d in ("bridge", "litesim", "slicebridge") for p in (REPO / d).rglob("*.py")]
    for path in python:
        text = path.read_text(encoding="utf-8")
        assert "0.15, 0.23, 0.38" not in text, f"{path}: a copy of the CQI efficiency table"
        assert "def rbg_size" not in text or path.name == "contract.py", f"{path}: a second RBG rule"


# ------------------------------------------------------------------------------------------------
# The same vectors through C++ (slicebridge-spec-check) and Python
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec_check(gym_program):
    """Sends a request to slicebridge-spec-check, returns its JSON answer."""
    program = gym_program("slicebridge-spec-check")

    def ask(request: dict) -> dict:
        proc = subprocess.run([str(program)], check=False, input=json.dumps(request), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"slicebridge-spec-check failed: {proc.stderr}"
        return json.loads(proc.stdout)

    return ask


def test_cpp_header_holds_the_python_constants(spec_check):
    answer = spec_check({})["contract"]
    assert answer == {
        "kpi_names": list(contract.KPI_NAMES),
        "kpi_units": [contract.KPI_UNITS[n] for n in contract.KPI_NAMES],
        "kpi_ratio": [n in contract.RATIO_KPIS for n in contract.KPI_NAMES],
        "cqi_efficiency_bps_hz": contract.CQI_EFFICIENCY.tolist(),  # exact: JSON round-trips doubles
        "mcs_efficiency_bps_hz": contract.MCS_EFFICIENCY.tolist(),
        "prb_bandwidth_hz": contract.PRB_BANDWIDTH_HZ,
        "rbg_thresholds_prb": list(contract.RBG_THRESHOLDS_PRB),
        "rbg_sizes_prb": list(contract.RBG_SIZES_PRB),
        "load_profile_kinds": list(contract.LOAD_PROFILE_KINDS),
        "traffic_models": list(contract.TRAFFIC_MODELS),
        "reward_names": list(contract.REWARD_NAMES),
        "delay_slice_kinds": list(contract.DELAY_SLICE_KINDS),
        "sigmoid_exponent_clip": contract.SIGMOID_EXPONENT_CLIP,
        "spectral_efficiency_floor_bps_hz": contract.SPECTRAL_EFFICIENCY_FLOOR_BPS_HZ,
    }


def test_rbg_rule_and_cqi_table_parity(spec_check):
    prbs = list(range(1, 111))
    cqis = list(range(-1, 17))
    answer = spec_check({"rbg_prbs": prbs, "cqis": cqis})
    assert answer["rbg_size"] == [contract.rbg_size(n) for n in prbs]
    assert answer["schedulable_rbgs"] == [n // contract.rbg_size(n) for n in prbs]
    in_range = np.clip(cqis, 0, 15)
    python = np.where((np.array(cqis) >= 0) & (np.array(cqis) <= 15), channel.se_from_cqi(in_range), 0.0)
    assert answer["cqi_efficiency"] == python.tolist()


def _projection_rows(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    rows = []
    for n in (2, 3, 4, 6):
        for scale in (0.5, 3.0):
            for _ in range(40):
                mins = rng.dirichlet(np.ones(n)) * rng.uniform(0.0, 0.95)
                rows.append((rng.uniform(-scale, scale + 1.0, n), mins))
        rows.append((np.ones(n), np.zeros(n)))  # ties
        rows.append((np.zeros(n), np.full(n, 1.0 / n)))  # min shares sum to 1
        rows.append((np.linspace(0.0, 1.0, n), np.zeros(n)))
    return rows


def test_share_projection_parity(spec_check):
    rows = _projection_rows(np.random.default_rng(20261124))
    answer = spec_check({"projections": [{"row": r.tolist(), "min_share": m.tolist()} for r, m in rows]})
    assert len(answer["projections"]) == len(rows)
    for (row, mins), cpp in zip(rows, answer["projections"]):
        python = project_to_simplex(row, mins)
        # same operation order in both languages: bit for bit
        np.testing.assert_array_equal(np.array(cpp), python, err_msg=f"row {row.tolist()} min {mins.tolist()}")
        assert abs(python.sum() - 1.0) < 1e-12 and np.all(python >= mins - 1e-15)


def test_load_profile_and_runtime_parity(spec_check):
    tiny = load_scenario("tiny")
    assert tiny.n_slices == 2
    profiles = [
        {"kind": "piecewise", "values": [1.0, 0.0, 2.5, 0.3], "hold_steps": 3},
        {"kind": "sinusoid", "scale": 0.8, "amplitude": 1.0, "period_steps": 7, "phase_rad": 1.3},
    ]
    slices = [dict(s.model_dump(mode="json"), load_profile=p, min_share=m)
              for s, p, m in zip(tiny.slices, profiles, (0.15, 0.05))]
    scenario = tiny.with_updates(slices=slices, action={"invalid": "reject"})
    steps = np.arange(200)
    answer = spec_check({"runtime": runtime_dict(scenario, seed=3), "load_steps": steps.tolist()})["runtime"]
    # what the gym controller now takes from the helper's parsed config
    assert answer["min_share"] == [0.15, 0.05]
    assert answer["action_invalid"] == "reject"
    cpp = np.array(answer["load_scale"])
    np.testing.assert_array_equal(cpp[0], contract.load_scale(scenario.slices[0].load_profile, steps))
    sinusoid = contract.load_scale(scenario.slices[1].load_profile, steps)
    # sin() of the C library and of NumPy may differ in the last bit
    np.testing.assert_allclose(cpp[1], sinusoid, rtol=1e-15, atol=1e-15)


def _three_cell_profile(profile: dict, cell_scale: list, cell_shift: list, **slice_fields):
    """tiny on 3 sectors, every slice with ``profile``, the given per-cell load."""
    tiny = load_scenario("tiny")
    slices = [dict(s.model_dump(mode="json"), load_profile=profile, **slice_fields) for s in tiny.slices]
    return tiny.with_updates(slices=slices, topology={"sites": 1, "sectors": 3, "cell_load_scale": cell_scale,
                                                      "cell_load_shift_steps": cell_shift})


def _cell_answer(spec_check, scenario, steps: np.ndarray, key: str) -> np.ndarray:
    return np.array(spec_check({"runtime": runtime_dict(scenario, seed=3), "load_steps": steps.tolist()})["runtime"][key])


def test_per_cell_load_parity(spec_check):
    """topology.cell_load_scale / cell_load_shift_steps: the C++ runtime config gives every (cell, slice,
    step) the multiplier of contract.cell_load_scale."""
    profile = {"kind": "piecewise", "values": [1.0, 0.0, 2.5, 0.3], "hold_steps": 2}
    scenario = _three_cell_profile(profile, [0.5, 1.0, 3.0], [0, 1, 5])
    steps = np.arange(40)
    cpp = _cell_answer(spec_check, scenario, steps, "cell_load_scale")  # [C, S, steps]
    scale, shift = scenario.cell_load()
    for s, sl in enumerate(scenario.slices):
        np.testing.assert_array_equal(cpp[:, s, :], contract.cell_load_scale(sl.load_profile, steps, scale, shift).T)


def test_active_ue_mask_parity(spec_check):
    """applies_to: active_ues: the C++ switches on as many UEs per (cell, slice, step) as contract.active_ue_count."""
    profile = {"kind": "sinusoid", "scale": 0.5, "amplitude": 1.0, "period_steps": 9, "applies_to": "active_ues"}
    scenario = _three_cell_profile(profile, [0.3, 1.0, 2.0], [0, 2, 4], ues_per_cell=7)
    steps = np.arange(30)
    cpp = _cell_answer(spec_check, scenario, steps, "ues_with_traffic")  # [C, S, steps]
    scale, shift = scenario.cell_load()
    mask = contract.cell_load_scale(scenario.slices[0].load_profile, steps, scale, shift).T  # [C, steps]
    np.testing.assert_array_equal(cpp[:, 0, :], contract.active_ue_count(mask, 7))
    assert len(np.unique(cpp)) > 4  # the sweep covers several counts


def test_truncated_exponential_scale_parity(spec_check):
    truncations = [2.0001, 2.5, 3.0, 7.25, 100.0, 1000.0]
    answer = spec_check({"truncations": truncations})
    # same 60 bisection steps in both languages: bit for bit
    assert answer["truncated_exponential_scale"] == [contract.truncated_exponential_scale(c) for c in truncations]
