# SPDX-License-Identifier: GPL-2.0-only
"""``radio.cqi_source``: the CQI against the data channel's interference (pdsch, ns-3's default) or the
control channel's (pdcch: every neighbour at full load), in litesim against a hand-computed queue and
in the real ns-3 program against litesim."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, ScenarioError, load_scenario
from slicebridge.litesim.channel import se_from_cqi
from slicebridge.litesim.simulator import LiteSim
from slicebridge.ns3.run import run_ns3


def _three_sectors(cqi_source: str) -> Scenario:
    return Scenario.model_validate({
        "name": "three_sectors", "seed": 3,
        "topology": {"sites": 1, "sectors": 3, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": 6, "cqi_source": cqi_source,
                  "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "s", "kind": "embb", "ues_per_cell": 1,
                    "traffic": {"model": "poisson", "rate_mbps": 5.0, "packet_size_bytes": 200},
                    "sla": {"throughput_mbps": 0.01, "delay_ms": 6.0}}],
        "control": {"decision_period_ms": 20.0, "episode_steps": 2, "warmup_ms": 20.0},
        "action": {"work_conserving": False},
    })


def _db(x: float) -> float:
    return 10.0 ** (x / 10.0)


def _one_period(sc: Scenario, load1: float, load2: float) -> np.ndarray:
    """KPIs of cell 0 (its one UE at 30 dB SNR; sector 1 alone would leave 10.5 dB, sector 2 alone
    17.5 dB, both 9.75 dB: CQI 6, 1.18 bit/s/Hz) after the neighbours used ``load1`` / ``load2`` of
    their PRBs, from an empty queue; the rate from the MCS efficiency (``sim.tbs = False``; the TBS
    table's rate: tests/test_litesim_tbs.py)."""
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.tbs = False
    sim.reset()
    st, noise = sim.state, np.float32(sim.noise_mw)
    s = _db(30.0) * noise
    st.gain_own[0, 0, 0] = s
    st.gain_int[0, 0, :] = [0.0, s / _db(10.5) - noise, s / _db(17.5) - noise]
    st.strong[...], st.strong_gain[...] = sim._strong_interferers(st.gain_int)
    st.slice_used_prev[0, :, 0] = [0.0, load1, load2]
    st.queue[...] = st.age_old[...] = st.age_new[...] = 0.0
    return sim.step(np.ones((1, 3, 1)))[0, 0, 0]


def test_pdcch_sizes_every_tb_for_full_load_and_never_retransmits() -> None:
    """With the CQI from the control channel the UE reports CQI 6 (both neighbours on) whatever their
    data load, so its rate is 1.18 bit/s/Hz idle neighbours or not, and no TB fails (the TB meets at
    most the interference its CQI saw): the delay has no HARQ term. Above the rate (6 PRBs · 1.18 ·
    16.875 · 20 ms · 200/232 = 2.06 kB per period, 0.82 Mbit/s, against 5 Mbit/s offered) the queued
    bytes' delays are uniform on [0, T(1 − μ/λ)] plus the 3.5 ms pipeline, plus the TTIs a 200-byte
    packet spends beyond the first: a TTI of the 6 PRBs carries 6 · 1.18 · 16.875 · 200/232 = 103
    payload bytes, so 200 / 103 − 1 = 0.95 ms.

    With pdsch (the mixture over the four busy/idle states, tests/test_litesim_rate_states.py) the
    same UE carries 2.4526 bit/s/Hz at loads 0.5 / 0.2 and 5.55 with idle neighbours, and a third of
    its TBs is retransmitted."""
    se_full = float(se_from_cqi(np.array([6]))[0])
    assert se_full == pytest.approx(1.18, abs=5e-3)
    pdcch, pdsch = _three_sectors("pdcch"), _three_sectors("pdsch")
    idle, loaded = _one_period(pdcch, 0.0, 0.0), _one_period(pdcch, 0.5, 0.2)
    T = 20.0
    tb = 6 * se_full * 16.875 * 200.0 / 232.0  # payload bytes per TTI
    rate = tb * 8 / 1000.0  # Mbit/s
    for kp in (idle, loaded):
        assert kp[K.THROUGHPUT] == pytest.approx(rate, rel=2e-3)
        assert kp[K.SPECTRAL_EFF] == pytest.approx(se_full, rel=1e-3)
        lam, mu = kp[K.OFFERED], kp[K.THROUGHPUT]
        assert kp[K.DELAY_MEAN] == pytest.approx(T * (1 - mu / lam) / 2 + 3.5 + (200.0 / tb - 1.0), rel=1e-3)
    data_loaded = _one_period(pdsch, 0.5, 0.2)
    assert data_loaded[K.THROUGHPUT] / loaded[K.THROUGHPUT] == pytest.approx(3.262 / 1.33 / se_full, rel=3e-3)


def test_pdcch_is_lte_only(tmp_path) -> None:
    """5G-LENA has no such switch: an NR scenario asking for it is refused with the field named."""
    nr = load_scenario("nr_tiny").model_dump(mode="json")
    nr["radio"]["cqi_source"] = "pdcch"
    path = tmp_path / "nr.yaml"
    path.write_text(yaml.safe_dump(nr))
    with pytest.raises(ScenarioError, match=r"radio.*cqi_source 'pdcch' is LTE only"):
        Scenario.from_yaml(path)


@pytest.mark.ns3
def test_ns3_reports_the_full_load_cqi_litesim_predicts(ns3_binary) -> None:
    """The real program on the default site (3 sectors, equal shares, 4 periods): with pdcch every
    slice's CQI (the SE KPI) is below pdsch's, where the neighbours idle part of the time, and equals
    litesim's full-load prediction for the same drop; the TBs sized for full load are not lost
    (pdsch loses some of URLLC's on this seed)."""
    sc = load_scenario("default")
    shares = (1 / 3, 1 / 3, 1 / 3)
    ns3 = {src: run_ns3(sc.with_updates(radio={"cqi_source": src}), seed=3, shares=shares, steps=4,
                        binary=ns3_binary) for src in ("pdsch", "pdcch")}
    se = {src: k[..., K.SPECTRAL_EFF].mean(axis=(0, 1)) for src, k in ns3.items()}
    assert np.all(se["pdcch"] < 0.95 * se["pdsch"]), se
    sim = LiteSim(sc.with_updates(radio={"cqi_source": "pdcch"}), num_envs=1, seed=3)
    sim.reset()
    lite = np.stack([sim.step(np.full((1, sc.n_cells, sc.n_slices), 1 / 3))[0] for _ in range(4)])
    assert lite[..., K.SPECTRAL_EFF].mean(axis=(0, 1)) == pytest.approx(se["pdcch"], rel=0.03)
    loss = {src: k[..., K.LOSS].mean() for src, k in ns3.items()}
    assert loss["pdcch"] <= 0.25 * loss["pdsch"] and loss["pdsch"] > 0, loss
