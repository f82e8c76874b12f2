# SPDX-License-Identifier: GPL-2.0-only
"""litesim's LTE rate from the 3GPP TBS table and the slice scheduler's whole RBGs (issue 10,
docs/FIDELITY.md "Bits per PRB from the TBS table"), against hand-computed queues.

ns-3's eNB sizes a TB from 3GPP TS 36.213 Table 7.1.7.2.1-1 for the MCS and the PRBs of the UE's RBGs,
and slicebridge-lte's slice scheduler hands out whole RBGs only: floor(25 / 2) = 12 RBGs, 24 of 25 PRBs;
every TB loses ``TB_OVERHEAD_BYTES`` = 3 bytes to RLC headers beyond the packets' own 32. The model
before carried ``SE · 180 kHz · 0.75`` per PRB on ``share · 25`` PRBs. One omni cell (no
interference), every UE within 50 m (CQI 15: MCS 28, TBS index 26), T = 100 ms, strict slicing.
"""

from __future__ import annotations

import numpy as np
import pytest

from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim.air import air_interface
from slicebridge.litesim.simulator import LiteSim
from slicebridge.litesim.tbs import TB_OVERHEAD_BYTES, tbs_bits


def _scenario(n_slices: int, traffic: dict) -> Scenario:
    return Scenario.model_validate({
        "name": f"tbs_{n_slices}", "seed": 3,
        "topology": {"sites": 1, "sectors": 1, "cell_radius_m": 50.0},
        "radio": {"bandwidth_prb": 25, "propagation": {"model": "log_distance", "exponent": 3.0, "shadowing_std_db": 0.0}},
        "slices": [{"name": f"s{i}", "kind": "embb", "ues_per_cell": 1, "traffic": {"packet_size_bytes": 1200, **traffic}, "min_share": 0.0,
                    "sla": {"throughput_mbps": 0.01, "delay_ms": 50.0}} for i in range(n_slices)],
        "control": {"decision_period_ms": 100.0, "episode_steps": 2, "warmup_ms": 100.0},
        "action": {"work_conserving": False},
    })


def test_the_3gpp_table_as_ns3_reads_it() -> None:
    """Sizes ns-3's tb.csv shows on the default scenario's 8-PRB blocks (bytes 41, 137, 325 at MCS 2, 8, 18)."""
    assert [int(tbs_bits(m, 8)) for m in (2, 8, 18)] == [41 * 8, 137 * 8, 325 * 8]
    assert int(tbs_bits(28, 24)) == 17568 and int(tbs_bits(28, 8)) == 5992 and int(tbs_bits(28, 110)) == 75376
    assert air_interface(_scenario(1, {"model": "full_buffer", "rate_mbps": 50.0})).slice_prbs == 24


@pytest.mark.parametrize("n_slices", [1, 3])
def test_a_saturated_slice_carries_the_tbs_of_its_whole_rbgs(n_slices: int) -> None:
    """A full-buffer UE alone in its slice, share 1/n of the 24 schedulable PRBs: one TB of MCS 28 on
    24 PRBs (17568 bits) resp. 8 PRBs (5992 bits) every TTI, 24 bits of it RLC headers, the rest 1200/1232
    payload (1200-byte packets, 32 header bytes): 17.0883 resp. 5.8130 Mbit/s, PRB use 24/25 resp. 8/25.
    The model before:
    25 resp. 8.33 PRBs at 5.55 · 180 kHz · 0.75 = 18.731 resp. 6.244 Mbit/s on the air (18.245 / 6.082
    of payload), PRB use 1 resp. 1/3."""
    sim = LiteSim(_scenario(n_slices, {"model": "full_buffer", "rate_mbps": 50.0}), num_envs=1, seed=3)
    sim.reset()
    shares = np.full((1, 1, n_slices), 1.0 / n_slices)
    k = np.stack([sim.step(shares)[0, 0] for _ in range(2)])  # [steps, S, N]
    prbs = 24 // n_slices
    payload_mbps = (tbs_bits(28, prbs) - 8 * TB_OVERHEAD_BYTES) * 1e3 / 1e6 * 1200 / 1232
    assert payload_mbps == pytest.approx(17.0883 if n_slices == 1 else 5.8130, abs=1e-4)
    np.testing.assert_allclose(k[..., K.THROUGHPUT], payload_mbps, rtol=1e-4)
    np.testing.assert_allclose(k[..., K.PRB_USED], prbs / 25, rtol=1e-5)
    np.testing.assert_allclose(k[..., K.SPECTRAL_EFF], 5.55, rtol=1e-6)  # the KPI stays the MCS efficiency


def test_a_light_ues_bursts_fill_tbs_of_the_table() -> None:
    """A 1200-byte packet every 20 ms (5 bursts per period) on 8 PRBs (share 1/3): the TB of MCS 28 on
    8 PRBs is 749 bytes, 746 after the RLC headers, 746 · 1200/1232 = 726.62 of payload, so a packet takes
    1200 / 726.62 = 1.6515 TBs, served as ``bytes/TB + ½`` = 2.1515 TTIs (its last one under-filled):
    g = 5 · 2.1515 / 100 = 0.10757 of the TTIs alone, f = 5 · 1.6515 / 100 = 0.08257 at full TBs; its
    bursts merge while it has data (κ = 1: a periodic source does not wait), b = g / (1 + g − f) =
    0.104950, PRB use 8/25 · b = 0.033584; each packet waits 3.5 ms (pipeline) + 0.6515 TTI (its TBs
    beyond the first) = 4.1515 ms.
    The model before (the TB 6.244 Mbit/s · 1 ms = 780.5 bytes, 760.2 of payload, on 8.33 PRBs) gave
    1.5785 TBs per packet, PRB use 0.033797 and 4.0785 ms."""
    sc = _scenario(3, {"model": "periodic", "period_ms": 20.0, "packet_size_bytes": 1200})
    sim = LiteSim(sc, num_envs=1, seed=3)
    sim.reset()
    k = sim.step(np.full((1, 1, 3), 1.0 / 3))[0, 0]
    tb_payload = (5992 / 8 - TB_OVERHEAD_BYTES) * 1200 / 1232
    per_packet = 1200 / tb_payload
    assert per_packet == pytest.approx(1.6515, abs=1e-4)
    g, f = 5 * (per_packet + 0.5) / 100, 5 * per_packet / 100
    np.testing.assert_allclose(k[:, K.PRB_USED], 8 / 25 * g / (1 + g - f), rtol=1e-4)
    assert 8 / 25 * g / (1 + g - f) == pytest.approx(0.033584, abs=1e-6)
    np.testing.assert_allclose(k[:, K.DELAY_MEAN], 3.5 + (per_packet - 1.0), rtol=1e-4)
