# SPDX-License-Identifier: GPL-2.0-only
"""litesim's delay-model changes of issue 10 against hand-computed queues (docs/FIDELITY.md "The rate
from the interference states"): the rate from the neighbours' busy and idle TTIs instead of the mean
interference, the Kingman wait of the UEs without backlog only, and the HARQ delay of a packet that
spans several TBs. Each test states the numbers of the model before the change, which it rejects.

Common constants: LTE, scheduler efficiency 0.75 (the default), the rate from the MCS efficiency rather than
the 3GPP TBS table (``sim.tbs = False``; the table: tests/test_litesim_tbs.py), so a PRB held for a whole period of
``T`` ms carries ``SE · 180 kHz · T/1000 · 0.75 / 8`` bytes (``SE · 16.875 · T`` bytes) on the air, of
which ``payload / (payload + 32)`` is payload (header bytes ride along); ``T`` TTIs per period.
"""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim import simulator
from slicebridge.litesim.channel import se_from_cqi, sinr_thresholds
from slicebridge.litesim.simulator import LiteSim


def _scenario(name: str, sectors: int, prb: int, ues: int, traffic: dict, period_ms: float, warmup_ms: float) -> Scenario:
    return Scenario.model_validate({
        "name": name, "seed": 3,
        "topology": {"sites": 1, "sectors": sectors, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": prb, "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "s", "kind": "embb", "ues_per_cell": ues, "traffic": traffic,
                    "sla": {"throughput_mbps": 0.01, "delay_ms": 6.0}}],
        "control": {"decision_period_ms": period_ms, "episode_steps": 2, "warmup_ms": warmup_ms},
        "action": {"work_conserving": False},  # strict: a slice's interference comes from the blocks overlapping it
    })


def _mcs_rate_sim(sc: Scenario) -> LiteSim:
    """One reset instance (seed 3) with the rate of the module docstring: the MCS efficiency, not the TBS
    table (tests/test_litesim_tbs.py)."""
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.tbs = False
    sim.reset()
    return sim


def _db(x: float) -> float:
    return 10.0 ** (x / 10.0)


def test_rate_is_the_mixture_of_the_neighbours_busy_and_idle_ttis() -> None:
    """Cell 0 of a 3-sector site, its one UE at SINR 30 dB without interference (CQI 15: 5.55
    bit/s/Hz); with only sector 1 transmitting 10.5 dB (CQI 7: 1.48), only sector 2 17.5 dB (CQI 11:
    3.32), both 9.75 dB (CQI 6: 1.18). In the previous period sector 1 used 0.5 of its PRBs, sector 2
    0.2 (one slice, share 1, strict: the UE's block is the whole carrier), so the four states have
    probabilities 0.5·0.8 = 0.4 (none), 0.5·0.8 = 0.4 (sector 1 only), 0.5·0.2 = 0.1 (sector 2 only)
    and 0.1 (both).

    A TB sized in one state fails in a state of lower efficiency: 0.4·0.6 (none over the others) +
    0.4·0.1 (sector 1 over both) + 0.1·0.5 (sector 2 over sector 1 and both) = 0.33. Efficiency
    carried: (0.4·5.55 + 0.4·1.48 + 0.1·3.32 + 0.1·1.18) / 1.33 = 3.262 / 1.33 = 2.4526, 0.4415 of the
    idle-neighbour 5.5547. The model before (efficiency at the mean interference, 0.5·g1 + 0.2·g2:
    13.15 dB, CQI 8, 1.91) gave 0.344.

    The queue: 200-byte Poisson packets at 5 Mbit/s on 6 PRBs, T = 20 ms, from empty: above the
    rate in both cases (6 · 5.55 · 337.5 · 200/232 bytes per 20 ms = 3.9 Mbit/s without interference),
    so the throughput is the rate and the ratio of the two runs' throughputs is
    0.4415. The delivered bytes queued in the fluid: delays uniform on [0, T(1 − μ/λ)], plus the
    3.5 ms pipeline and the mean retransmission delay 0.33 · 7 ms."""
    sc = _scenario("three_sectors", 3, 6, 1, {"model": "poisson", "rate_mbps": 5.0, "packet_size_bytes": 200},
                   20.0, 20.0)
    snr_db, s1_db, s2_db = 30.0, 10.5, 17.5

    def run(load1: float, load2: float) -> np.ndarray:
        sim = _mcs_rate_sim(sc)
        st, noise = sim.state, np.float32(sim.noise_mw)
        s = _db(snr_db) * noise
        g1, g2 = s / _db(s1_db) - noise, s / _db(s2_db) - noise  # S / (g + N) = the single-interferer SINR
        st.gain_own[0, 0, 0] = s
        st.gain_int[0, 0, :] = [0.0, g1, g2]
        st.strong[...], st.strong_gain[...] = sim._strong_interferers(st.gain_int)
        st.slice_used_prev[0, :, 0] = [0.0, load1, load2]
        st.queue[...] = st.age_old[...] = st.age_new[...] = 0.0  # from empty after a warm-up period (no cap at T)
        return sim.step(np.ones((1, 3, 1)))[0, 0, 0]

    both_db = 10 * np.log10(_db(snr_db) / (_db(snr_db) / _db(s1_db) + _db(snr_db) / _db(s2_db) - 1.0))
    thr = sinr_thresholds(np.array(simulator.air_interface(sc).cqi_efficiency))
    cqi = [int(np.searchsorted(10 * np.log10(thr), x)) for x in (snr_db, s1_db, s2_db, both_db)]
    assert cqi == [15, 7, 11, 6] and se_from_cqi(np.array(cqi)).tolist() == pytest.approx([5.55, 1.48, 3.32, 1.18], abs=1e-3)
    clean, loaded = run(0.0, 0.0), run(0.5, 0.2)
    assert loaded[K.THROUGHPUT] / clean[K.THROUGHPUT] == pytest.approx(3.262 / 1.33 / 5.5547, rel=2e-3)
    lam, mu, T = loaded[K.OFFERED], loaded[K.THROUGHPUT], 20.0
    assert lam > 1.5 * mu and loaded[K.LOSS] == 0
    assert loaded[K.DELAY_MEAN] == pytest.approx(T * (1 - mu / lam) / 2 + 3.5 + 0.33 * 7.0, rel=1e-3)
    assert loaded[K.DELAY_P95] == pytest.approx(0.95 * T * (1 - mu / lam) + 3.5 + 0.33 * 7.0, rel=1e-3)


def test_a_backlogged_ue_does_not_queue_the_other_ues_bursts() -> None:
    """One cell, 6 PRBs, two UEs near the site (CQI 15: 5.55) with periodic 100-byte packets every
    20 ms (5 per 100 ms period each; two deterministic sources: c²ₐ = 1 − 1/2). UE A starts the period
    with 70 kB queued (ages 0), more than the 6 PRBs carry in a period (6 · 5.55 · 1687.5 · 100/132 =
    42.6 kB): it holds every PRB the other UE leaves, so its delivered bytes are the backlog's first,
    queued 0..T: mean T/2 = 50 ms. UE B's packets are served on arrival; their Kingman wait counts the
    UEs without backlog only (PF serves B's new packet before A's queue): B's 5 bursts of one TTI each
    (a TB is 6 · 5.55 · 1687.5 · 100/132 / 100 = 426 bytes) on 100 TTIs, its busy fraction
    0.05 / (1 + 0.05 − 0.0117) = 0.0482 (0.0117: its 500 bytes at full TBs over the 6 PRBs' period),
    wait 0.0482/0.9518 · 0.25 · 1 ms = 0.0127 ms (mean 1.117 × that). The slice's mean: 3.5 + (served_A · 50 + 500 · 0.014) / (served_A + 500) ms.

    Before, the slice's busy fraction with A (1, capped at 0.95) and the TTIs per burst over both UEs
    (A: 5 bursts of 70.5 kB / 5 / 426 B + ½ = 33.6 TTIs; B: 5 of 1: 17.3 TTIs) gave B a wait of
    19 · 0.25 · 17.3 = 82 ms."""
    sc = _scenario("one_backlog", 1, 6, 2, {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": 100},
                   100.0, 200.0)
    sim = _mcs_rate_sim(sc)
    st = sim.state
    assert np.all(st.queue == 0)
    st.queue[0, 0, 0] = 70_000.0
    st.age_old[0, 0, 0] = st.age_new[0, 0, 0] = 0.0
    k = sim.step(np.ones((1, 1, 1)))[0, 0, 0]
    T = 100.0
    served = k[K.THROUGHPUT] * T / 8e-3  # bytes delivered in the period
    served_a = served - 500.0
    assert 30_000 < served_a < 42_600 and k[K.LOSS] == 0
    wait = 0.0482 / 0.9518 * 0.25 * 1.0 * 1.117
    assert k[K.DELAY_MEAN] == pytest.approx(3.5 + (served_a * T / 2 + 500.0 * wait) / served, abs=0.02)


def test_a_packet_over_several_tbs_is_retransmitted_if_any_of_them_fails(monkeypatch) -> None:
    """One cell, 6 PRBs, one UE near the site (CQI 15: 5.55) sending a 1200-byte packet every 20 ms
    (one deterministic source: no random wait), a retransmitted TB share p = 0.2 (forced). The
    retransmissions take TTIs: 5.55 / 1.2 = 4.625 bit/s/Hz are carried, a TB is
    6 · 4.625 · 1687.5 · 1200/1232 / 100 = 456.1 bytes, a packet k = 2.631 TBs: 1.631 TTIs beyond
    the first (its transmission time). A packet waits for a retransmission if any of its k TBs fails:
    1 − 0.8^k = 0.4444 of them, 7 ms later: mean 3.5 + 1.631 + 0.4444 · 7 = 8.242 ms, and within a
    6 ms budget 1 − 0.4444 = 0.556 of them. Before (one TB's p per packet): 3.5 + 1.631 + 1.4 = 6.53 ms
    and 0.8."""
    monkeypatch.setattr(simulator, "harq_retx_probability", lambda probs, ses: np.full_like(ses[0], 0.2))
    sc = _scenario("one_large_packet_ue", 1, 6, 1, {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": 1200},
                   100.0, 100.0)
    sim = _mcs_rate_sim(sc)
    k = np.stack([sim.step(np.ones((1, 1, 1)))[0, 0, 0] for _ in range(2)])
    tb = 6 * 4.625 * 1687.5 * 1200 / 1232 / 100
    pkt = 1200 / tb
    assert tb == pytest.approx(456.1, abs=0.1)
    retx = 1 - 0.8 ** pkt
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], 3.5 + (pkt - 1) + retx * 7.0, rtol=1e-4)
    np.testing.assert_allclose(k[:, K.SLA_RATIO], 1 - retx, rtol=1e-4)


def test_a_ues_bursts_merge_only_while_it_has_data() -> None:
    """One cell, 6 PRBs (strict, share 1: the slice's width W is the carrier), ten UEs near the site
    (CQI 15: 5.55) each sending a 100-byte packet every 20 ms: 5 bursts per 100 ms period, one TTI each
    (a TB carries 6 · 5.55 · 1687.5 · 100/132 / 100 = 425.7 bytes). ns-3 gives one UE all the slice's
    RBGs of a TTI, so a UE's packet rides a TB of its own unless that UE still has data waiting or in
    service, a share o = κ·b of the time (κ = (wait + service) / service of the previous period's
    bursts, Little). Per UE b = f + (g − f)(1 − κb), g = 5/100 (bursts alone), f = its bytes at full
    TBs, 500 / (5.55 · 1687.5 · 100/132) / 6 = 0.011745: b = g / (1 + (g − f)·κ); the slice uses 10·b of
    its PRBs; the Kingman wait (ten periodic sources, c²ₐ = 0.9, one TTI per burst) is
    W = 10b / (1 − 10b) · 0.45 ms, and the mean delay 3.5 + 1.1165·W.

    Warm-up period (κ = 1): b = 0.05 / 1.038255 = 0.048158, W = 0.41802 ms, so κ = 1.41802 for step 1:
    b = 0.05 / (1 + 0.038255 · 1.41802) = 0.047427, PRB use 0.47427, W = 0.40596 ms, mean 3.95322 ms;
    step 2 (κ = 1.40596): b = 0.047448, PRB use 0.47448, mean 3.95360 ms.

    Before, bursts merged with any UE's transmission (the slice's b from f = 0.11745, g = 0.5:
    0.36165): PRB use 0.36165, mean delay 3.5 + 1.1165 · 0.36165/0.63835 · 0.45 = 3.785 ms."""
    sc = _scenario("ten_light_ues", 1, 6, 10, {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": 100},
                   100.0, 100.0)
    sim = _mcs_rate_sim(sc)
    k = np.stack([sim.step(np.ones((1, 1, 1)))[0, 0, 0] for _ in range(2)])
    assert np.all(sim.state.queue == 0)
    np.testing.assert_allclose(k[:, K.PRB_USED], [0.47427, 0.47448], rtol=2e-4)
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], [3.95322, 3.95360], rtol=1e-4)
