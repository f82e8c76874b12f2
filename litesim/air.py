# SPDX-License-Identifier: GPL-2.0-only
"""The air interface litesim models, chosen by ``scenario.radio.technology``: LTE (FDD, 1 ms TTIs) or
5G NR (TDD, numerology µ) as the ns-3 programs configure them. One simulator reads these numbers;
nothing else in litesim differs between the technologies.

LTE (``slicebridge-lte``, ns-3's LTE module): PRBs of 180 kHz, a 1 ms TTI, every TTI carries DL data,
RBGs by the type-0 table (:func:`bridge.contract.rbg_size`), CQI/MCS efficiencies of ns-3's
``lte-amc.cc`` (``bridge/contract.json``). The latency floor and the HARQ delay were measured per
packet in ns-3 (docs/FIDELITY.md, "The LTE latency floor").

NR (``slicebridge-nr``, 5G-LENA 4.0; ``ns3_scenarios/nr/slice-nr-scenario-helper.cc``):

- numerology µ: subcarriers of 15·2^µ kHz, a PRB (12 subcarriers) 180·2^µ kHz wide, slots of
  1/2^µ ms with 14 OFDM symbols; ``bandwidth_prb`` PRBs, RBGs of one PRB (the NR slice scheduler
  splits PRBs);
- TDD pattern ``DL|DL|DL|S|UL`` (:data:`NR_TDD_PATTERN`). 5G-LENA's scheduler puts one DL control
  symbol at the start of every DL and S slot and one UL control symbol at the end of an S slot
  (``DlCtrlSymbols`` = ``UlCtrlSymbols`` = 1, no guard symbols), so DL data has 13 symbols in a DL
  slot, 12 in an S slot and none in an UL slot: 51 of every 70 symbols (0.729; ns-3 measured 0.73);
- allocation: 5G-LENA's OFDMA scheduler (run per slice block) hands RBGs to UEs until their
  buffers are covered, so a burst leaves at most one RBG under-filled instead of the whole block
  LTE's slice scheduler gives one UE per TTI;
- spectral efficiency: the program uses error model ``NrEesmIrT1``, i.e. the CQI and MCS tables 1
  of 3GPP TS 38.214 (Table 5.2.2.1-2: CQI, 64-QAM; Table 5.1.3.1-1: MCS, efficiency = Qm · R/1024),
  and 5G-LENA picks the highest MCS whose efficiency does not exceed the CQI's, as LTE does. The NR
  CQI table 1 has LTE's efficiencies;
- latency floor: the same pipeline as LTE, counted in slots (the packet waits for the next slot that
  can carry DL data; 5G-LENA's MAC decides ``L1L2CtrlLatency`` = 2 slots ahead; one slot on the
  air), plus the UE's TB decode latency (``TbDecodeLatency``, 100 µs);
- HARQ: the NACK goes out in the first slot with UL control (S or UL) at least ``N1Delay`` = 2 slots
  after the TB, the retransmission is scheduled ``L1L2CtrlLatency`` slots after the slot that follows
  the feedback, in the next slot that carries DL data (:func:`harq_rtt_slots`).

What litesim keeps from LTE for NR (first order, named so that nothing is silent; docs/NR.md):
the CQI is the Shannon-gap mapping of :mod:`litesim.channel` (LTE's PiroEW2010 rule) on the NR
tables, whereas 5G-LENA's ``NrAmc`` picks the highest MCS whose EESM BLER is at most 10 %; the TB
carries ``SE · PRB width · DL data symbols`` (no DMRS or TB-size quantisation); the HARQ failure
model (:func:`litesim.simulator.harq_retx_probability`: stale CQI meets a busy neighbour) is LTE's
and the NR HARQ delay is derived from 5G-LENA's configured delays, not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from slicebridge.bridge.contract import CQI_EFFICIENCY, MCS_EFFICIENCY, PRB_BANDWIDTH_HZ, rbg_size
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim.channel import mcs_of_cqi
from slicebridge.litesim.tbs import tbs_efficiency

SYMBOLS_PER_SLOT = 14
# LTE, measured in ns-3 (docs/FIDELITY.md): the scheduler's decision reaches the air 2 TTIs later
# (LteEnbPhy::MacToChannelDelay) and a failed TB is retransmitted 7 TTIs after its first transmission
LTE_MAC_TO_CHANNEL_TTIS = 2
LTE_HARQ_RETX_TTIS = 7
# NR, 5G-LENA 4.0 defaults the NR program keeps: NrPhy::GetL1L2CtrlLatency (slots from the MAC's
# decision to the air), NrGnbPhy N1Delay (slots from a DL TB to its earliest HARQ feedback),
# TbDecodeLatency (UE), NrMacSchedulerNs3 DlCtrlSymbols / UlCtrlSymbols
NR_L1L2_CTRL_SLOTS = 2
NR_N1_SLOTS = 2
NR_TB_DECODE_MS = 0.1
NR_DL_CTRL_SYMBOLS = 1
NR_UL_CTRL_SYMBOLS = 1
# the pattern slicebridge-nr configures (TDD_PATTERN there: this, twice)
NR_TDD_PATTERN = ("DL", "DL", "DL", "S", "UL")

# 3GPP TS 38.214 Table 5.1.3.1-1 (MCS index table 1 for PDSCH, up to 64-QAM): modulation order Qm
# and target code rate R x 1024 of MCS 0..28; efficiency = Qm·R/1024 bit/s/Hz
_NR_MCS_TABLE1 = ((2, 120), (2, 157), (2, 193), (2, 251), (2, 308), (2, 379), (2, 449), (2, 526), (2, 602),
                  (2, 679), (4, 340), (4, 378), (4, 434), (4, 490), (4, 553), (4, 616), (4, 658), (6, 438),
                  (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719), (6, 772), (6, 822), (6, 873),
                  (6, 910), (6, 948))
# 3GPP TS 38.214 Table 5.2.2.1-2 (CQI table 1): Qm and R x 1024 of CQI 1..15 (CQI 0: out of range)
_NR_CQI_TABLE1 = ((2, 78), (2, 120), (2, 193), (2, 308), (2, 449), (2, 602), (4, 378), (4, 490), (4, 616),
                  (6, 466), (6, 567), (6, 666), (6, 772), (6, 873), (6, 948))
NR_MCS_EFFICIENCY = np.array([q * r / 1024.0 for q, r in _NR_MCS_TABLE1])  # [29] bit/s/Hz
NR_CQI_EFFICIENCY = np.array([0.0] + [q * r / 1024.0 for q, r in _NR_CQI_TABLE1])  # [16], index = CQI


@dataclass(frozen=True)
class AirInterface:
    """What litesim needs of the radio frame of a technology. Times in ms, widths in Hz.

    ``dl_data_fraction``: share of the carrier's symbol-time that can carry DL data (1 for LTE as
    litesim has always modelled it: the control region is inside ns-3's TB tables); ``dl_slots_per_ms``
    scheduling opportunities for DL data per ms; ``cqi_efficiency [16]`` / ``mcs_efficiency [M]`` the
    tables the CQI → MCS choice uses; ``slice_prbs`` the PRBs the slice scheduler hands out (LTE: whole
    RBGs only, ``floor(n_prb / rbg)`` of them, slicebridge-lte's ``SliceSchedulableRbgs``: 24 of 25
    PRBs); ``tbs_efficiency`` (LTE) ``[16, 111]`` bit/s/Hz a TB carries per CQI and PRB count
    (:func:`litesim.tbs.tbs_efficiency`), None where the rate is the MCS efficiency; ``tb_fills_block``:
    a transmitting slice gives its whole RBG block to one UE for the TTI (slicebridge-lte's slice
    scheduler), else RBGs go to UEs one at a time up to their buffers' need (5G-LENA's OFDMA
    ``AssignDLRBG`` that the NR slice scheduler runs inside each slice's block)."""

    technology: str
    prb_hz: float
    slot_ms: float
    dl_data_fraction: float
    dl_slots_per_ms: float
    rbg_prbs: int
    slice_prbs: int
    pipeline_ms: float
    harq_retx_ms: float
    cqi_efficiency: np.ndarray
    mcs_efficiency: np.ndarray
    tb_fills_block: bool
    tbs_efficiency: np.ndarray | None = None

    def peak_rate_mbps(self, n_prb: int) -> float:
        """DL rate (Mbit/s) of ``n_prb`` PRBs at the highest MCS, over every DL data symbol."""
        return n_prb * self.prb_hz * self.dl_data_fraction * float(self.mcs_efficiency[-1]) / 1e6


def alignment_wait_slots(carries_dl: tuple[bool, ...]) -> float:
    """Mean wait (slots) from a uniform arrival to the next slot boundary whose slot carries DL data.

    With gaps ``g`` (slots) between consecutive DL-capable slots of the cyclic pattern the residual
    wait is ``E[g²] / (2 E[g])``: 0.5 when every slot carries DL (LTE), 0.7 for DL|DL|DL|S|UL."""
    idx = [i for i, dl in enumerate(carries_dl) if dl]
    if not idx:
        raise ValueError("the TDD pattern has no slot that carries DL data")
    n = len(carries_dl)
    gaps = np.diff(idx + [idx[0] + n]).astype(np.float64)
    return float((gaps ** 2).sum() / (2.0 * gaps.sum()))


def harq_rtt_slots(pattern: tuple[str, ...], n1_slots: int = NR_N1_SLOTS,
                   l1l2_slots: int = NR_L1L2_CTRL_SLOTS) -> float:
    """Mean slots from a DL TB to its retransmission, over the pattern's DL-capable slots.

    A TB in slot ``t`` is NACKed in the first slot ``f ≥ t + n1_slots`` with UL control (S or UL);
    the MAC hears it by the next slot and schedules ``l1l2_slots`` ahead, in the first slot
    ``r ≥ f + 1 + l1l2_slots`` that carries DL data."""
    n = len(pattern)
    dl = [p in ("DL", "S") for p in pattern]
    ul_ctrl = [p in ("S", "UL") for p in pattern]

    def first(from_slot: int, ok: list[bool]) -> int:
        k = from_slot
        while not ok[k % n]:
            k += 1
        return k

    rtts = [first(first(t + n1_slots, ul_ctrl) + 1 + l1l2_slots, dl) - t for t in range(n) if dl[t]]
    return float(np.mean(rtts))


def air_interface(scenario: Scenario) -> AirInterface:
    """The :class:`AirInterface` of ``scenario.radio`` (technology, numerology)."""
    radio = scenario.radio
    if radio.technology == "lte":
        rbg = rbg_size(radio.bandwidth_prb)
        return AirInterface(
            technology="lte", prb_hz=PRB_BANDWIDTH_HZ, slot_ms=1.0, dl_data_fraction=1.0, dl_slots_per_ms=1.0,
            rbg_prbs=rbg, slice_prbs=radio.bandwidth_prb // rbg * rbg,
            pipeline_ms=alignment_wait_slots((True,)) + LTE_MAC_TO_CHANNEL_TTIS + 1.0,
            harq_retx_ms=float(LTE_HARQ_RETX_TTIS), cqi_efficiency=CQI_EFFICIENCY, mcs_efficiency=MCS_EFFICIENCY,
            tb_fills_block=True,
            tbs_efficiency=tbs_efficiency(mcs_of_cqi(CQI_EFFICIENCY, MCS_EFFICIENCY), PRB_BANDWIDTH_HZ))
    if radio.technology == "nr":
        slot_ms = 1.0 / 2 ** radio.numerology
        dl_symbols = {"DL": SYMBOLS_PER_SLOT - NR_DL_CTRL_SYMBOLS,
                      "S": SYMBOLS_PER_SLOT - NR_DL_CTRL_SYMBOLS - NR_UL_CTRL_SYMBOLS, "UL": 0}
        carries_dl = tuple(dl_symbols[p] > 0 for p in NR_TDD_PATTERN)
        n = len(NR_TDD_PATTERN)
        return AirInterface(
            technology="nr", prb_hz=radio.prb_khz * 1e3, slot_ms=slot_ms,
            dl_data_fraction=sum(dl_symbols[p] for p in NR_TDD_PATTERN) / (SYMBOLS_PER_SLOT * n),
            dl_slots_per_ms=sum(carries_dl) / (n * slot_ms), rbg_prbs=1, slice_prbs=radio.bandwidth_prb,
            pipeline_ms=(alignment_wait_slots(carries_dl) + NR_L1L2_CTRL_SLOTS + 1.0) * slot_ms + NR_TB_DECODE_MS,
            harq_retx_ms=harq_rtt_slots(NR_TDD_PATTERN) * slot_ms,
            cqi_efficiency=NR_CQI_EFFICIENCY, mcs_efficiency=NR_MCS_EFFICIENCY, tb_fills_block=False)
    raise ValueError(f"litesim has no air interface for radio.technology {radio.technology!r} "
                     f"(scenario {scenario.name!r}); it models 'lte' and 'nr'")
