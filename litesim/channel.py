# SPDX-License-Identifier: GPL-2.0-only
"""Radio model of litesim: path loss, sector antennas, SINR and the LTE CQI / spectral-efficiency maps.

Everything here follows the ns-3 models the packet-level program uses, so that the same scenario gives
the same link budget in both simulators:

- path loss (``scenario.radio.propagation.model``):

  ``log_distance``  ns-3 ``LogDistancePropagationLossModel``: ``L0 + 10 n log10(d / 1 m)`` (``L0``
                    below the 1 m reference distance);
  ``friis``         ns-3 ``FriisPropagationLossModel``: ``-10 log10(λ² / (16 π² d²))``, at least 0 dB;
  ``cost231``       ns-3 ``Cost231PropagationLossModel`` with BS/UE heights :data:`BS_HEIGHT_M` /
                    :data:`UE_HEIGHT_M` (set as attributes by the ns-3 program) and the fixed 10 dB
                    "shadowing" term that model always adds;
  ``okumura_hata``  ns-3 ``OkumuraHataPropagationLossModel`` (urban, large city), heights
                    :data:`BS_HEIGHT_M` / :data:`UE_HEIGHT_M` (the ns-3 program places its nodes at
                    these heights: that model reads them from the mobility models);

- sector antennas: ns-3 ``ParabolicAntennaModel``, gain ``-min(12 (φ/θ3dB)², Am)`` dB with φ the
  azimuth off the boresight; omni cells have 0 dB (``IsotropicAntennaModel``);
- the transmit power is spread evenly over all PRBs of the carrier; noise per PRB is
  ``-174 dBm/Hz + 10 log10(PRB width) + NF`` (180 kHz in LTE, 180·2^µ kHz in NR);
- CQI: ns-3 ``LteAmc`` with ``AmcModel=PiroEW2010``: ``s = log2(1 + SINR / (-ln(5 BER) / 1.5))``,
  BER 5e-5, CQI = number of table efficiencies below ``s``; the MCS is the highest whose efficiency
  does not exceed the CQI's, and its efficiency (bit/s/Hz) is what a PRB carries. NR uses the same
  rule on the 3GPP TS 38.214 tables 1 (:mod:`litesim.air`).
"""

from __future__ import annotations

import numpy as np
from slicebridge.bridge.contract import CQI_EFFICIENCY, MCS_EFFICIENCY, PRB_BANDWIDTH_HZ  # noqa: F401 (LTE's, re-exported)
from slicebridge.bridge.scenario import Scenario
from slicebridge.litesim.kernels import StepLookup

BS_HEIGHT_M = 30.0  # cost231 and okumura_hata (ENB_HEIGHT_M / UE_HEIGHT_M of the ns-3 program)
UE_HEIGHT_M = 1.5
COST231_FIXED_LOSS_DB = 10.0  # ns-3 Cost231PropagationLossModel::m_shadowing, always added
SPEED_OF_LIGHT = 299792458.0
THERMAL_NOISE_DBM_HZ = -174.0
AMC_BER = 0.00005

# CQI_EFFICIENCY / MCS_EFFICIENCY (3GPP R1-081483 as in ns-3's lte-amc.cc, index = CQI resp. MCS) and
# PRB_BANDWIDTH_HZ come from bridge/contract.json, shared with the C++ program.


def shannon_gap() -> float:
    """Γ of PiroEW2010: ``-ln(5·BER)/1.5``."""
    return -np.log(5.0 * AMC_BER) / 1.5


def cqi_from_sinr(sinr: np.ndarray) -> np.ndarray:
    """Wideband CQI (0..15) from linear SINR, as ns-3 LteAmc (PiroEW2010)."""
    s = np.log2(1.0 + np.asarray(sinr, dtype=np.float64) / shannon_gap())
    return np.searchsorted(CQI_EFFICIENCY[1:], s, side="left")


def se_from_cqi(cqi: np.ndarray) -> np.ndarray:
    """Spectral efficiency (bit/s/Hz) of the MCS ns-3 picks for ``cqi``; 0 for CQI 0 (not scheduled)."""
    return _SE_OF_CQI[np.asarray(cqi)]


def mcs_of_cqi(cqi_efficiency: np.ndarray, mcs_efficiency: np.ndarray) -> np.ndarray:
    """``[16]`` int MCS picked for each CQI: the highest MCS (scanning up from MCS 0 while the next one
    does not exceed the CQI's efficiency) — ns-3's ``LteAmc`` and 5G-LENA's ``NrAmc::GetMcsFromCqi``
    both pick so; -1 for CQI 0 (not scheduled). ``cqi_efficiency [16]`` indexed by CQI."""
    out = np.full(16, -1, dtype=np.int64)
    for cqi in range(1, 16):
        mcs = 0
        while mcs < len(mcs_efficiency) - 1 and mcs_efficiency[mcs + 1] <= cqi_efficiency[cqi]:
            mcs += 1
        out[cqi] = mcs
    return out


def se_of_cqi(cqi_efficiency: np.ndarray, mcs_efficiency: np.ndarray) -> np.ndarray:
    """``[16]`` efficiency (bit/s/Hz) of the MCS picked for each CQI (:func:`mcs_of_cqi`); 0 for CQI 0."""
    mcs = mcs_of_cqi(cqi_efficiency, mcs_efficiency)
    return np.where(mcs >= 0, np.asarray(mcs_efficiency, dtype=np.float64)[np.maximum(mcs, 0)], 0.0)


def sinr_thresholds(cqi_efficiency: np.ndarray) -> np.ndarray:
    """SINR (linear) at which CQI k (k = 1..15) is first reached: ``s > eff[k]  <=>  sinr > Γ (2^eff[k] - 1)``."""
    return shannon_gap() * (2.0 ** np.asarray(cqi_efficiency)[1:] - 1.0)


_SE_OF_CQI = se_of_cqi(CQI_EFFICIENCY, MCS_EFFICIENCY)
SINR_THRESHOLDS = sinr_thresholds(CQI_EFFICIENCY)  # LTE's (and NR table 1's: the same CQI efficiencies)


class SeMapper(StepLookup):
    """SINR (linear, float32) → spectral efficiency (float32) of the CQI it reaches:
    ``se_from_cqi(searchsorted(SINR_THRESHOLDS, sinr, side="left"))`` — CQI k needs ``sinr`` strictly
    above threshold k — by the table lookup of :class:`litesim.kernels.StepLookup`. Tables: LTE's by
    default, else ``cqi_efficiency [16]`` / ``mcs_efficiency`` (e.g. :mod:`litesim.air`'s NR tables)."""

    def __init__(self, cqi_efficiency: np.ndarray = CQI_EFFICIENCY, mcs_efficiency: np.ndarray = MCS_EFFICIENCY) -> None:
        super().__init__(sinr_thresholds(cqi_efficiency).astype(np.float32),
                         se_of_cqi(cqi_efficiency, mcs_efficiency).astype(np.float32))


class FadingSeTable:
    """Expected spectral efficiency under Rayleigh fading, as a lookup table over mean SINR (dB).

    A decision period spans many TTIs and fading coherence times, so what a UE carries in it is the
    expectation of the CQI-mapped efficiency over the fading distribution. With a single draw (RR)
    the fading power gain is Exp(1); a proportional-fair scheduler serves a UE on its best TTIs,
    modelled as the maximum of ``n`` independent Exp(1) gains, ``n`` = backlogged UEs competing.
    As the efficiency is a step function of SINR with steps at ``SINR_THRESHOLDS``:
    ``E[SE] = Σ_k ΔSE_k · P(γ X > thr_k)`` and ``P(X_max > y) = 1 − (1 − e^(−y))^n``.
    """

    LO_DB, HI_DB, STEP_DB = -30.0, 60.0, 0.05

    def __init__(self, max_users: int, cqi_efficiency: np.ndarray = CQI_EFFICIENCY,
                 mcs_efficiency: np.ndarray = MCS_EFFICIENCY) -> None:
        """Tables as :class:`SeMapper`'s (LTE's by default)."""
        self.max_users = max(1, int(max_users))
        grid_db = np.arange(self.LO_DB, self.HI_DB + self.STEP_DB / 2, self.STEP_DB)
        self.n_grid = grid_db.size
        gamma = 10.0 ** (grid_db / 10.0)
        d_se = np.diff(se_of_cqi(cqi_efficiency, mcs_efficiency))  # [15], step at the CQI thresholds
        y = sinr_thresholds(cqi_efficiency)[None, :] / gamma[:, None]  # [G, 15]
        p_single = -np.expm1(-y)  # P(X <= y)
        n = np.arange(1, self.max_users + 1)[:, None, None]
        p_exceed = 1.0 - p_single[None] ** n  # [N, G, 15]
        self.table = (p_exceed @ d_se).astype(np.float32).reshape(-1)  # [N * G]

    def __call__(self, sinr: np.ndarray, users: np.ndarray | None = None) -> np.ndarray:
        """``sinr`` linear (float32); ``users`` competing backlogged UEs (≥ 1, same shape) or None (1)."""
        pos = np.log10(np.maximum(sinr, np.float32(1e-30)))
        pos *= np.float32(10.0 / self.STEP_DB)
        pos += np.float32(-self.LO_DB / self.STEP_DB + 0.5)
        np.clip(pos, 0, self.n_grid - 1, out=pos)
        idx = pos.astype(np.int32)
        if users is not None:
            idx += (np.clip(users, 1, self.max_users).astype(np.int32) - 1) * np.int32(self.n_grid)
        return np.take(self.table, idx)  # faster than fancy indexing


# ----------------------------------------------------------------------------------------------
# Path loss
# ----------------------------------------------------------------------------------------------
def path_loss_db(scenario: Scenario, distance_m: np.ndarray) -> np.ndarray:
    """Path loss (dB, positive) of ``scenario.radio.propagation.model`` at ``distance_m``."""
    prop = scenario.radio.propagation
    f_mhz = scenario.radio.carrier_mhz
    d = np.asarray(distance_m, dtype=np.float64)
    if prop.model == "log_distance":
        return log_distance_db(d, prop.reference_loss_db, prop.exponent)
    if prop.model == "friis":
        lam = SPEED_OF_LIGHT / (f_mhz * 1e6)
        loss = -10.0 * np.log10(lam**2 / (16.0 * np.pi**2 * np.maximum(d, 1e-9) ** 2))
        return np.maximum(loss, 0.0)
    if prop.model == "cost231":
        log_f = np.log10(f_mhz)
        hb, hm = BS_HEIGHT_M, UE_HEIGHT_M
        c_h = 0.8 + (1.11 * log_f - 0.7) * hm - 1.56 * log_f
        loss = (46.3 + 33.9 * log_f - 13.82 * np.log10(hb) - c_h
                + (44.9 - 6.55 * np.log10(hb)) * np.log10(np.maximum(d, 0.5) * 1e-3) + COST231_FIXED_LOSS_DB)
        return np.where(d <= 0.5, 0.0, loss)
    if prop.model == "okumura_hata":
        return _okumura_hata_db(f_mhz, d)
    raise ValueError(f"unknown propagation model {prop.model!r}")


def log_distance_db(distance_m: np.ndarray, reference_loss_db: float, exponent: float) -> np.ndarray:
    """Log-distance path loss (dB, positive): ``L0 + 10 n log10(d / 1 m)``, ``L0`` below 1 m.

    E.g. the 3GPP-style ``32.4 + 20 log10(f / GHz) + 30 log10(d / m)`` is ``L0 = 32.4 + 20 log10(f)``,
    ``n = 3``."""
    return reference_loss_db + 10.0 * exponent * np.log10(np.maximum(np.asarray(distance_m, dtype=np.float64), 1.0))


def lognormal_shadowing_db(rng: np.random.Generator, std_db: float, shape: tuple[int, ...]) -> np.ndarray:
    """Log-normal shadowing: extra loss in dB, ``N(0, std_db²)`` i.i.d. over ``shape`` (zeros for std 0)."""
    return rng.normal(0.0, std_db, shape) if std_db > 0 else np.zeros(shape)


def rayleigh_power_gain(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Rayleigh fading power gain ``|h|²`` with ``E|h|² = 1``: i.i.d. Exp(1) over ``shape``."""
    return rng.exponential(1.0, shape)


def _okumura_hata_db(f_mhz: float, d: np.ndarray) -> np.ndarray:
    hb, hm = BS_HEIGHT_M, UE_HEIGHT_M
    log_f = np.log10(f_mhz)
    log_hb = np.log10(hb)
    d_km = np.maximum(d, 1e-3) / 1000.0
    slope = (44.9 - 6.55 * log_hb) * np.log10(d_km)
    if f_mhz <= 1500.0:
        if f_mhz < 200.0:
            a_hm = 8.29 * np.log10(1.54 * hm) ** 2 - 1.1
        else:
            a_hm = 3.2 * np.log10(11.75 * hm) ** 2 - 4.97
        return 69.55 + 26.16 * log_f - 13.82 * log_hb + slope - a_hm
    a_hm = 3.2 * np.log10(11.75 * hm) ** 2
    return 46.3 + 33.9 * log_f - 13.82 * log_hb + slope - a_hm + 3.0


def antenna_gain_db(scenario: Scenario, azimuth_deg: np.ndarray, boresight_deg: np.ndarray) -> np.ndarray:
    """ns-3 ParabolicAntennaModel gain; 0 dB where ``boresight_deg`` is NaN (omni cell)."""
    ant = scenario.radio.antenna
    phi = np.mod(np.asarray(azimuth_deg) - boresight_deg + 180.0, 360.0) - 180.0
    gain = -np.minimum(12.0 * (phi / ant.beamwidth_deg) ** 2, ant.max_attenuation_db)
    return np.where(np.isnan(boresight_deg), 0.0, gain)


def noise_per_prb_mw(scenario: Scenario) -> float:
    """Thermal noise plus the noise figure over one PRB of the scenario (180 kHz LTE, 180·2^µ kHz NR), mW."""
    noise_dbm = THERMAL_NOISE_DBM_HZ + 10.0 * np.log10(scenario.radio.prb_khz * 1e3) + scenario.radio.noise_figure_db
    return float(10.0 ** (noise_dbm / 10.0))


def link_gains_mw(scenario: Scenario, ue_xy_m: np.ndarray, shadowing_db: np.ndarray,
                  cell_xy_m: np.ndarray, cell_azimuth_deg: np.ndarray) -> np.ndarray:
    """Received power per PRB (mW) of every cell's transmission at every UE.

    ``ue_xy_m [..., 2]`` (e.g. ``[B, C, U, 2]``), ``shadowing_db [..., C]``; returns ``[..., C]``.
    """
    delta = ue_xy_m[..., None, :] - cell_xy_m  # [..., C, 2]
    dist = np.hypot(delta[..., 0], delta[..., 1])
    az = np.degrees(np.arctan2(delta[..., 1], delta[..., 0]))
    tx_per_prb_dbm = scenario.radio.tx_power_dbm - 10.0 * np.log10(scenario.radio.bandwidth_prb)
    rx_dbm = tx_per_prb_dbm + antenna_gain_db(scenario, az, cell_azimuth_deg) - path_loss_db(scenario, dist) - shadowing_db
    return 10.0 ** (rx_dbm / 10.0)
