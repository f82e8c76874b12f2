# SPDX-License-Identifier: GPL-2.0-only
"""litesim's scheduler serving several UEs per TTI (issue 10, docs/FIDELITY.md "UEs per TTI"), against
hand-computed queues. ns-3's RR splits a slice's RBGs among its UEs with data every TTI, and PF on a
Rayleigh-faded channel gives each RBG to its best UE; PF without fading gives one UE the whole block
(tests/test_litesim_rate_states.py keeps that case). Each test states the numbers of the
one-UE-per-TTI model, which it rejects.

Common constants as in tests/test_litesim_rate_states.py: LTE, scheduler efficiency 0.75, so one PRB
for one TTI carries ``SE · 16.875`` bytes on the air, ``payload / (payload + 32)`` of them payload;
``T`` TTIs per period of ``T`` ms; the fixed latency is the 3.5 ms LTE pipeline; one cell, so no
interference and no HARQ failures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim.simulator import LiteSim


def _scenario(name: str, ues: int, packet_bytes: int, scheduler: str, fading: bool) -> Scenario:
    """One omni cell of 6 PRBs (RBG = 1 PRB), one slice with every PRB (strict), ``ues`` UEs within
    50 m (CQI 15 without fading), a packet of ``packet_bytes`` every 20 ms per UE, T = 100 ms."""
    return Scenario.model_validate({
        "name": name, "seed": 3,
        "topology": {"sites": 1, "sectors": 1, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": 6, "scheduler": scheduler, "fading": fading,
                  "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": "s", "kind": "embb", "ues_per_cell": ues,
                    "traffic": {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": packet_bytes},
                    "sla": {"throughput_mbps": 0.01, "delay_ms": 6.0}}],
        "control": {"decision_period_ms": 100.0, "episode_steps": 2, "warmup_ms": 100.0},
        "action": {"work_conserving": False},
    })


def _block_part(others_busy: float) -> float:
    """E[1/(1 + X)], X ~ Poisson(others_busy): a UE's mean share of the block in its TTIs with data."""
    return -math.expm1(-others_busy) / others_busy


def test_round_robin_splits_the_block_among_the_ues_with_data() -> None:
    """Ten UEs (CQI 15: 5.55 bit/s/Hz), each a 100-byte packet every 20 ms: 5 bursts of one packet per
    period, each a single TTI (the whole block's TB is 6 · 5.55 · 16.875 · 100/132 = 425.7 payload
    bytes). One periodic source per UE has c²ₐ = 0: no random wait, so κ = 1 in every period.

    RR serves every UE with data in the TTI on its part of the 6 PRBs. A UE's busy TTI share with the
    whole block: b₀ = g / (1 + g − f) = 0.05 / 1.038255 = 0.048158 (g = 5/100 TTIs, f = its 500 bytes at
    full TBs, 500 / (5.55 · 1687.5 · 100/132) / 6 = 0.011745). The nine others with data in one of its
    TTIs: Poisson with mean λ = 9 · 0.048158 = 0.43342, so its part of the block is
    (1 − e^(−λ))/λ = 0.81148 and its TB 345.5 bytes (still one TTI per packet); at full TBs it needs
    f / 0.81148 = 0.014474 of its TTIs, so b = 0.05 / (1 + 0.05 − 0.014474) = 0.048285 and the slice
    uses 10 · 0.81148 · 0.048285 = 0.39182 of the PRBs. Every packet goes out in the TTI after it
    arrives: the mean and p95 delay are the 3.5 ms pipeline, every packet within the 6 ms budget.

    One UE per TTI (the model before, and PF without fading): PRB use 0.47427 and 0.47448, mean delay
    3.9532 and 3.9536 ms (the ten UEs' bursts queue for the block, Kingman over c²ₐ = 0.9)."""
    sim = LiteSim(_scenario("rr_ten_light_ues", 10, 100, "rr", False), num_envs=1, seed=3)
    sim.tbs = False  # the rate of the module docstring (MCS efficiency); the TBS table: test_litesim_tbs.py
    sim.reset()
    k = np.stack([sim.step(np.ones((1, 1, 1)))[0, 0, 0] for _ in range(2)])
    assert np.all(sim.state.queue == 0) and np.all(k[:, K.LOSS] == 0)
    np.testing.assert_allclose(k[:, K.SPECTRAL_EFF], 5.55, rtol=1e-6)
    lam = 9 * 0.05 / (1 + 0.05 - 0.011745)
    part = _block_part(lam)
    b = 0.05 / (1 + 0.05 - 0.011745 / part)
    assert part == pytest.approx(0.81148, abs=1e-5) and 10 * part * b == pytest.approx(0.39182, abs=1e-5)
    np.testing.assert_allclose(k[:, K.PRB_USED], 10 * part * b, rtol=2e-4)
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], 3.5, rtol=1e-5)
    np.testing.assert_allclose(k[:, K.DELAY_P95], 3.5, rtol=1e-5)
    np.testing.assert_allclose(k[:, K.SLA_RATIO], 1.0)


def test_pf_on_a_faded_channel_gives_each_ue_its_part_of_the_block() -> None:
    """PF with Rayleigh fading: each RBG goes to its best UE, so a UE with data shares the block with
    the others that have data. Three UEs at 55-57 dB (the fading table's expected efficiency with
    three competing UEs: 5.55 bit/s/Hz, CQI 15 in nearly every draw), each a 1200-byte packet every
    20 ms (c²ₐ = 0 per UE: κ = 1, no random wait).

    With the whole block a TB is 6 · 5.55 · 16.875 · 1200/1232 = 547.34 bytes, a packet 2.1924 TBs:
    2.6924 TTIs per burst, g = 5 · 2.6924/100 = 0.13462, f = 6000 / 547.34 / 100 = 0.10962,
    b₀ = g / (1 + g − f) = 0.13134. The two others have data in one of its TTIs with mean
    λ = 2 · 0.13134 = 0.26268: its part of the block (1 − e^(−λ))/λ = 0.87944, its TB 481.36 bytes, a
    packet 2.4930 TBs (2.9930 TTIs): g = 0.14965, f = 0.10962 / 0.87944 = 0.12465,
    b = 0.14965 / (1 + 0.025) = 0.14600, PRB use 3 · 0.87944 · 0.14600 = 0.38519. A packet leaves
    1.4930 TTIs after its first: mean and p95 delay 3.5 + 1.4930 = 4.9930 ms, all within 6 ms.

    One UE per TTI (the model before): PRB use 0.39194, mean delay 5.338 ms, p95 6.420 ms, SLA 0.859
    (a packet over 2.1924 TBs, plus the Kingman wait of the three UEs' bursts for the whole block at
    c²ₐ = 2/3)."""
    sim = LiteSim(_scenario("pf_fading_three_ues", 3, 1200, "pf", True), num_envs=1, seed=3)
    sim.reset()
    k = np.stack([sim.step(np.ones((1, 1, 1)))[0, 0, 0] for _ in range(2)])
    assert np.all(sim.state.queue == 0) and np.all(k[:, K.LOSS] == 0)
    np.testing.assert_allclose(k[:, K.SPECTRAL_EFF], 5.55, rtol=1e-5)
    tb = 6 * 5.55 * 16.875 * 1200 / 1232
    g, f = 5 * (1200 / tb + 0.5) / 100, 6000 / tb / 100
    part = _block_part(2 * g / (1 + g - f))
    pkt = 1200 / (tb * part)
    b = 5 * (pkt + 0.5) / 100 / (1 + 5 * (pkt + 0.5) / 100 - f / part)
    assert part == pytest.approx(0.87944, abs=1e-5) and 3 * part * b == pytest.approx(0.38519, abs=1e-5)
    np.testing.assert_allclose(k[:, K.PRB_USED], 3 * part * b, rtol=2e-4)
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], 3.5 + pkt - 1, rtol=1e-4)
    np.testing.assert_allclose(k[:, K.DELAY_P95], 3.5 + pkt - 1, rtol=1e-4)
    np.testing.assert_allclose(k[:, K.SLA_RATIO], 1.0)
