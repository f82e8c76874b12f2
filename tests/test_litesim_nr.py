# SPDX-License-Identifier: GPL-2.0-only
"""litesim's NR twin (issue 15): the air interface of ``radio.technology: nr`` against hand-computed
numbers (numerology, the TDD pattern slicebridge-nr configures, the 3GPP TS 38.214 tables 1) and an
NR scenario stepped end to end. LTE's numbers are in tests/test_litesim_delay_floor.py, unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, load_scenario
from slicebridge.litesim.air import (NR_TDD_PATTERN, air_interface, alignment_wait_slots, harq_rtt_slots)
from slicebridge.litesim.channel import se_of_cqi
from slicebridge.litesim.simulator import LiteSim, fixed_latency_ms


def _nr(numerology: int, n_prb: int = 52, delay_budget_ms: float = 50.0, period_ms: float = 20.0) -> Scenario:
    """One NR cell, one UE near the site sending 100 bytes every 20 ms (no neighbour: no interference,
    no HARQ; a single deterministic source: no random wait; the packet fits one slot's TB)."""
    return Scenario.model_validate({
        "name": f"nr_mu{numerology}", "seed": 3,
        "topology": {"sites": 1, "cell_radius_m": 50.0},
        "radio": {"technology": "nr", "numerology": numerology, "bandwidth_prb": n_prb, "carrier_mhz": 3500,
                  "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "m", "kind": "mmtc", "ues_per_cell": 1,
                    "traffic": {"model": "periodic", "period_ms": period_ms, "packet_size_bytes": 100},
                    "sla": {"throughput_mbps": 0.01, "delay_ms": delay_budget_ms}}],
        "control": {"decision_period_ms": 100, "episode_steps": 4, "warmup_ms": 100},
    })


@pytest.mark.parametrize("mu, prb_hz, slot_ms, peak_mbps", [
    # 52 PRBs x 180 kHz x 51/70 DL data symbols x 948·6/1024 bit/s/Hz (MCS 28 of table 1)
    (0, 180e3, 1.0, 37.87982142857143),
    (1, 360e3, 0.5, 75.75964285714286),
])
def test_numerology_sets_prb_width_slot_and_peak_rate(mu, prb_hz, slot_ms, peak_mbps) -> None:
    air = air_interface(_nr(mu))
    assert air.prb_hz == prb_hz
    assert air.slot_ms == slot_ms
    # DL|DL|DL|S|UL: 13 + 13 + 13 + 12 + 0 DL data symbols of 5 x 14
    assert air.dl_data_fraction == pytest.approx(51 / 70)
    assert air.dl_slots_per_ms == pytest.approx(4 / 5 / slot_ms)
    assert air.rbg_prbs == 1
    assert air.peak_rate_mbps(52) == pytest.approx(peak_mbps)


def test_nr_tables_are_38_214_table_1() -> None:
    air = air_interface(_nr(1))
    assert air.mcs_efficiency.size == 29
    assert air.mcs_efficiency[0] == pytest.approx(0.2344, abs=1e-4)  # QPSK, R = 120/1024
    assert air.mcs_efficiency[10] == pytest.approx(1.3281, abs=1e-4)  # 16QAM, R = 340/1024
    assert air.mcs_efficiency[28] == pytest.approx(5.5547, abs=1e-4)  # 64QAM, R = 948/1024
    assert air.cqi_efficiency[15] == pytest.approx(5.5547, abs=1e-4)
    se = se_of_cqi(air.cqi_efficiency, air.mcs_efficiency)
    assert se[0] == 0.0
    assert se[1] == pytest.approx(0.2344, abs=1e-4)  # CQI 1 (0.1523) is below every MCS: MCS 0
    assert se[7] == pytest.approx(1.4766, abs=1e-4)  # CQI 7 = MCS 11 exactly
    assert se[15] == pytest.approx(5.5547, abs=1e-4)


def test_tdd_waits_and_harq_round_trip_by_hand() -> None:
    assert alignment_wait_slots((True,)) == 0.5  # LTE: every TTI carries DL
    # gaps between DL-capable slots 1, 1, 1, 2: (1 + 1 + 1 + 4) / (2 x 5)
    assert alignment_wait_slots((True, True, True, True, False)) == pytest.approx(0.7)
    # TB in slot 0: NACK in S (3), decided in 4 for slot 6 -> 6; slot 1 -> 5; slot 2: NACK in UL (4),
    # decided in 5 for 7 -> 5; S (3): NACK in the next S (8), decided in 9 for 11 -> 8; mean 6
    assert harq_rtt_slots(NR_TDD_PATTERN) == pytest.approx(6.0)


@pytest.mark.parametrize("mu, floor_ms", [(0, (0.7 + 2 + 1) * 1.0 + 0.1), (1, (0.7 + 2 + 1) * 0.5 + 0.1)])
def test_light_load_delay_is_the_nr_pipeline_in_slots(mu, floor_ms) -> None:
    sc = _nr(mu)
    assert fixed_latency_ms(sc) == pytest.approx([floor_ms])
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.reset()
    k = np.stack([sim.step(np.ones((1, 1, 1))) for _ in range(3)])[:, 0, 0, 0]
    assert np.all(k[:, K.THROUGHPUT] == pytest.approx(k[:, K.OFFERED]))
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], floor_ms, rtol=1e-5)
    np.testing.assert_allclose(k[:, K.DELAY_P95], floor_ms, rtol=1e-5)


@pytest.mark.parametrize("name", ["nr_tiny", "nr_default"])
def test_nr_scenarios_step_with_finite_kpis(name) -> None:
    sc = load_scenario(name)
    sim = LiteSim(sc, num_envs=2, seed=1)
    assert np.isfinite(sim.reset()).all()
    shares = np.broadcast_to(np.asarray(sc.initial_shares()), (2, sc.n_cells, sc.n_slices))
    k = np.stack([sim.step(shares) for _ in range(4)])
    assert np.isfinite(k).all()
    assert (k[..., K.THROUGHPUT] > 0).all()
    # nothing above the carrier's peak: PRBs used within the carrier, throughput within the peak rate
    assert (k[..., K.PRB_USED].sum(-1) <= 1.0 + 1e-6).all()
    assert (k[..., K.THROUGHPUT].sum(-1) <= air_interface(sc).peak_rate_mbps(sc.radio.bandwidth_prb)).all()


def test_saturated_nr_carrier_rate_scales_with_the_numerology() -> None:
    """The same 52 PRBs at µ = 1 are twice as wide as at µ = 0: a saturated UE near the site gets
    twice the rate (its SINR per PRB falls by 3 dB with the wider PRB's noise, still above CQI 15)."""
    rates = []
    for mu in (0, 1):
        sc = _nr(mu, period_ms=0.01)  # 100 bytes every 10 µs: 80 Mbit/s offered
        sim = LiteSim(sc, num_envs=1, seed=3)
        sim.reset()
        k = np.stack([sim.step(np.ones((1, 1, 1))) for _ in range(3)])[:, 0, 0, 0]
        assert np.all(k[:, K.SPECTRAL_EFF] == pytest.approx(5.5547, abs=1e-3))
        # every DL data symbol used: ns-3's prb_used_share counts PRB-symbols over all 14 of every slot
        assert k[-1, K.PRB_USED] == pytest.approx(51 / 70, rel=1e-4)
        rates.append(k[-1, K.THROUGHPUT])
    assert rates[1] == pytest.approx(2 * rates[0], rel=1e-3)


def test_nr_bursts_leave_half_an_rbg_not_the_whole_block() -> None:
    """5G-LENA's OFDMA gives a UE RBGs (1 PRB) up to its buffer's need: each of the 5 packets of a
    period costs its bits plus half a PRB for one slot, where LTE's slice scheduler holds the slice's
    whole block (here all 52 PRBs) for the TTI."""
    sc = _nr(1)
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.reset()
    k = sim.step(np.ones((1, 1, 1)))[0, 0, 0]
    # payload bytes per PRB held over the 100 ms period at CQI 15 (MCS 28), headers of 32 bytes ride along
    r = 948 * 6 / 1024 * 360e3 * 51 / 70 * 0.1 / 8 * sc.litesim.scheduler_efficiency * 100 / 132
    fluid = 500 / r  # PRB-periods for the period's 5 packets of 100 bytes
    gran = fluid + 5 * 0.5 / 160  # + half a PRB for one of the period's 160 DL slots per packet
    busy = (gran / 52) / (1 + (gran - fluid) / 52)  # bursts that merge (simulator docstring)
    need = fluid + (gran - fluid) * (1 - busy)
    assert k[K.PRB_USED] == pytest.approx(need * 51 / 70 / 52, rel=1e-5)
    whole_block = 5 * 52 / 160  # LTE's rule: each packet's slot holds the whole block
    assert k[K.PRB_USED] < 0.1 * whole_block * 51 / 70 / 52
