# SPDX-License-Identifier: GPL-2.0-only
"""The NR program slicebridge-nr (5G-LENA) on scenarios/nr_tiny.yaml (issue 15).

Marked ``nr``: they run the real program when it is built (scripts/build-nr.sh, then CMake with
-DNS3_NR_DIR; docs/NR.md) and are skipped, with that remedy as the reason, when it is not.
Run them alone with ``.venv/bin/python -m pytest -q -m nr``.
"""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.bridge.kpi import KPI_INDEX, N_KPIS
from slicebridge.bridge.scenario import load_scenario
from slicebridge.ns3 import launcher
from slicebridge.ns3.backend import Ns3Backend
from slicebridge.ns3.run import run_ns3

pytestmark = pytest.mark.nr

PRB, SHARE, THR = KPI_INDEX["prb_used_share"], KPI_INDEX["share_assigned"], KPI_INDEX["throughput_mbps"]


@pytest.fixture(scope="module")
def nr_program():
    try:
        return launcher.find_program(name=launcher.NR_PROGRAM)
    except launcher.Ns3BuildError as missing:
        pytest.skip(f"NR program not available ({missing}).")


@pytest.fixture(scope="module")
def nr_tiny():
    return load_scenario("nr_tiny")


def overloaded(scenario, work_conserving: bool):
    """Both slices backlogged far beyond the cell's capacity, so each uses all it is given."""
    slices = [s.model_dump() for s in scenario.slices]
    slices[0]["traffic"] = {"model": "cbr", "rate_mbps": 60.0, "packet_size_bytes": 1200}
    slices[1]["traffic"] = {"model": "cbr", "rate_mbps": 40.0, "packet_size_bytes": 1200}
    return scenario.with_updates(slices=slices, action={"work_conserving": work_conserving})


def prb_split(kpis: np.ndarray) -> np.ndarray:
    """Each slice's fraction of the PRB-symbols used, over steps [T, C, S, K] -> [S]."""
    used = kpis[1:, 0, :, PRB].sum(axis=0)  # the first period includes the start-up transient
    return used / used.sum()


@pytest.mark.parametrize("split", [(0.7, 0.3), (0.25, 0.75)])
def test_strict_shares_are_followed_within_a_few_percent(nr_program, nr_tiny, split):
    kpis = run_ns3(overloaded(nr_tiny, work_conserving=False), seed=1, shares=split, steps=6)
    assert kpis.shape == (6, 1, 2, N_KPIS) and np.all(np.isfinite(kpis))
    np.testing.assert_allclose(prb_split(kpis), split, atol=0.03)
    thr = kpis[1:, 0, :, THR].sum(axis=0)
    assert thr[0] > 0 and thr[1] > 0
    # throughput follows the PRBs (same channel for both slices' UEs, up to their positions)
    assert (thr[0] > thr[1]) == (split[0] > split[1])


def test_kpis_are_finite_and_sensible(nr_program, nr_tiny):
    kpis = run_ns3(nr_tiny, seed=3)
    assert kpis.shape == (nr_tiny.control.episode_steps, 1, 2, N_KPIS) and np.all(np.isfinite(kpis))
    last = kpis[2:, 0]
    offered = last[:, :, KPI_INDEX["offered_mbps"]].mean(axis=0)
    np.testing.assert_allclose(offered, [8.0, 2.0], rtol=0.15)  # 2 UEs x 4 resp. 1 Mbit/s
    np.testing.assert_allclose(last[:, :, THR].mean(axis=0), offered, rtol=0.15)  # light load: all carried
    assert np.all(last[:, :, KPI_INDEX["spectral_eff_bps_hz"]] > 0)
    assert np.all((last[:, :, KPI_INDEX["sla_ratio"]] >= 0) & (last[:, :, KPI_INDEX["sla_ratio"]] <= 1))


def test_work_conserving_gives_an_idle_slices_prbs_away(nr_program, nr_tiny):
    scenario = overloaded(nr_tiny, work_conserving=True)
    slices = [s.model_dump() for s in scenario.slices]
    slices[1]["traffic"] = {"model": "periodic", "period_ms": 1000.0, "packet_size_bytes": 100}
    kpis = run_ns3(scenario.with_updates(slices=slices), seed=1, shares=(0.3, 0.7), steps=5)
    assert prb_split(kpis)[0] > 0.9  # eMBB takes the URLLC slice's unused RBGs


def test_live_control_over_the_wire_moves_prbs(nr_program, nr_tiny):
    scenario = overloaded(nr_tiny, work_conserving=False)
    with Ns3Backend(scenario) as backend:
        assert backend.program.name == launcher.NR_PROGRAM
        kpis = backend.reset(seed=2)
        assert kpis.shape == (1, 1, 2, N_KPIS) and np.all(np.isfinite(kpis))
        first = [backend.step(np.array([[[0.8, 0.2]]]))[0, 0] for _ in range(3)]
        second = [backend.step(np.array([[[0.2, 0.8]]]))[0, 0] for _ in range(3)]
    np.testing.assert_allclose(second[-1][:, SHARE], [0.2, 0.8])
    a = np.array([k[:, PRB] for k in first[1:]]).sum(axis=0)
    b = np.array([k[:, PRB] for k in second[1:]]).sum(axis=0)  # skip the transition period
    np.testing.assert_allclose(a / a.sum(), [0.8, 0.2], atol=0.03)
    np.testing.assert_allclose(b / b.sum(), [0.2, 0.8], atol=0.03)
