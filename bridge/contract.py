# SPDX-License-Identifier: GPL-2.0-only
"""The constants Python and the C++ ns-3 program share, read from ``bridge/contract.json``.

That file is the only copy: CMake turns it into the C++ header ``slicebridge-contract.h``
(``cmake/SlicebridgeContract.cmake``) and this module loads it. Built on the constants, once per
language, are the RBG rule and the load profile (here; C++: ``ns3_scenarios/model/slice-contract.cc``)
and the share projection (:func:`slicebridge.bridge.actions.project_to_simplex`);
``tests/test_spec_parity.py`` pushes the same vectors through both languages.

Arrays are read-only float64.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

CONTRACT_PATH = Path(__file__).with_name("contract.json")
FORMAT = "slicebridge-contract/1"


def _load(path: Path) -> dict:
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("format") != FORMAT:
        raise RuntimeError(f"{path}: format must be {FORMAT!r}, got {spec.get('format')!r} (reinstall slicebridge)")
    return spec


def _frozen(values: Sequence[float]) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    out.flags.writeable = False
    return out


_SPEC = _load(CONTRACT_PATH)

# -- KPIs: order = last axis of every KPI tensor ------------------------------------------------
KPI_NAMES: tuple[str, ...] = tuple(k["name"] for k in _SPEC["kpis"])
KPI_UNITS: dict[str, str] = {k["name"]: k["unit"] for k in _SPEC["kpis"]}
KPI_MEANINGS: dict[str, str] = {k["name"]: k["meaning"] for k in _SPEC["kpis"]}
RATIO_KPIS: frozenset[str] = frozenset(k["name"] for k in _SPEC["kpis"] if k["ratio"])  # bounded by [0, 1]

# -- LTE radio tables -----------------------------------------------------------------------------
_LTE = _SPEC["lte"]
CQI_EFFICIENCY: np.ndarray = _frozen(_LTE["cqi_efficiency_bps_hz"])  # [16] bit/s/Hz, index = CQI
MCS_EFFICIENCY: np.ndarray = _frozen(_LTE["mcs_efficiency_bps_hz"])  # [29] bit/s/Hz, index = MCS
MAX_SPECTRAL_EFFICIENCY: float = float(CQI_EFFICIENCY[-1])  # bit/s/Hz of CQI 15
PRB_BANDWIDTH_HZ: float = float(_LTE["prb_bandwidth_hz"])
RBG_THRESHOLDS_PRB: tuple[int, ...] = tuple(int(v) for v in _LTE["rbg_thresholds_prb"])
RBG_SIZES_PRB: tuple[int, ...] = tuple(int(v) for v in _LTE["rbg_sizes_prb"])

# -- traffic models -------------------------------------------------------------------------------
TRAFFIC_MODELS: tuple[str, ...] = tuple(_SPEC["traffic"]["models"])
TRUNCATION_BISECTION_STEPS = 60


def truncated_exponential_scale(truncation: float) -> float:
    """θ/m of the truncated-exponential inter-arrival model (``traffic.about`` in ``contract.json``):
    the exponential's mean θ, in units of the wanted mean m, such that Exp(θ) conditioned on
    ``≤ truncation·m`` has mean m. ``truncation`` must exceed 2 (a bound of 2m or less cannot keep mean m).

    The C++ twin is ``TruncatedExponentialScale`` (ns3_scenarios/model/slice-contract.cc), same steps."""
    c = float(truncation)
    if not c > 2.0:
        raise ValueError(f"truncated_exponential truncation must exceed 2 (got {c:g})")
    lo, hi = 0.0, c  # x = c·m/θ: the residual x/c − 1 + x/(e^x − 1) is < 0 below the root, > 0 above
    for _ in range(TRUNCATION_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if mid / c - 1.0 + mid * math.exp(-mid) / -math.expm1(-mid) < 0.0:  # x/(e^x − 1) without overflow
            lo = mid
        else:
            hi = mid
    return c / (0.5 * (lo + hi))


# -- rewards (formulas in bridge/reward.py; C++ twin: ns3_scenarios/model/slice-reward.cc) ------
_REWARD = _SPEC["reward"]
REWARD_NAMES: tuple[str, ...] = tuple(_REWARD["names"])
DELAY_SLICE_KINDS: tuple[str, ...] = tuple(_REWARD["delay_slice_kinds"])  # judged on delay by sigmoid_utility
SIGMOID_EXPONENT_CLIP: float = float(_REWARD["sigmoid_exponent_clip"])  # exp() overflows above ~709
SPECTRAL_EFFICIENCY_FLOOR_BPS_HZ: float = float(_REWARD["spectral_efficiency_floor_bps_hz"])

# -- load profiles --------------------------------------------------------------------------------
LOAD_PROFILE_KINDS: tuple[str, ...] = tuple(_SPEC["load_profile"]["kinds"])
LOAD_APPLIES_TO: tuple[str, ...] = tuple(_SPEC["load_profile"]["applies_to"])


def rbg_size(n_prb: int) -> int:
    """PRBs per resource-block group of the LTE type-0 DL allocation for a carrier of ``n_prb`` PRBs."""
    return RBG_SIZES_PRB[sum(1 for t in RBG_THRESHOLDS_PRB if n_prb > t)]


class LoadProfileLike(Protocol):
    """The fields of :class:`slicebridge.bridge.scenario.LoadProfile` that :func:`load_scale` reads."""

    kind: str
    scale: float
    values: Sequence[float]
    hold_steps: int
    amplitude: float
    period_steps: int
    phase_rad: float


def load_scale(profile: LoadProfileLike, steps: np.ndarray) -> np.ndarray:
    """Offered-load multiplier of ``profile`` at decision steps ``steps [...]`` (int ≥ 0); float64, ≥ 0.

    The formulas are those of ``load_profile.about`` in ``contract.json``."""
    steps = np.asarray(steps, dtype=np.int64)
    if profile.kind == "constant":
        out = np.full(steps.shape, float(profile.scale))
    elif profile.kind == "piecewise":
        values = np.asarray(profile.values, dtype=np.float64)
        out = values[(steps // profile.hold_steps) % len(values)]
    elif profile.kind == "sinusoid":
        # operation order as in the C++ (2π·k first): the two languages then agree to the last ulp of sin
        out = profile.scale * (1.0 + profile.amplitude * np.sin(2 * np.pi * steps / profile.period_steps + profile.phase_rad))
    else:
        raise ValueError(f"load profile kind {profile.kind!r} unknown; allowed: {', '.join(LOAD_PROFILE_KINDS)}")
    return np.maximum(out, 0.0)


def cell_load_scale(profile: LoadProfileLike, steps: np.ndarray, cell_scale: Sequence[float],
                    cell_shift: Sequence[int]) -> np.ndarray:
    """Per-cell multiplier ``[..., C]`` of ``profile`` at decision steps ``steps [...]``: cell c's value is
    ``cell_scale[c] · load_scale(profile, steps + cell_shift[c])`` (``load_profile.about_cells`` in
    ``contract.json``; C++ twin ``SliceCellLoadScale``)."""
    shifted = np.asarray(steps, dtype=np.int64)[..., None] + np.asarray(cell_shift, dtype=np.int64)
    return np.asarray(cell_scale, dtype=np.float64) * load_scale(profile, shifted)


def active_ue_count(mask: np.ndarray, n_ues: int) -> np.ndarray:
    """UEs of a (cell, slice) offering traffic under an ``applies_to: active_ues`` mask ``mask [...]`` (≥ 0)
    with ``n_ues`` UEs: ``min(N, ⌊mask·N + ½⌋)`` (``load_profile.about_active_ues``; C++ twin
    ``SliceActiveUeCount``); float64 whole numbers, same shape as ``mask``."""
    n = float(n_ues)
    return np.minimum(n, np.floor(np.asarray(mask, dtype=np.float64) * n + 0.5))
