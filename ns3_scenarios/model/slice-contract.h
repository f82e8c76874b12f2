// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_CONTRACT_H
#define SLICE_CONTRACT_H

// The functions the C++ side shares with Python, built on the constants of bridge/contract.json
// (generated header slicebridge-contract.h). Each has one Python twin, named below;
// tests/test_spec_parity.py pushes the same vectors through both (via slicebridge-spec-check).
// Nothing here depends on the ns-3 libraries.

#include "slicebridge-contract.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

/// PRBs per RBG of the type-0 DL allocation for @p dlBandwidthPrb PRBs (bridge.contract.rbg_size).
uint32_t SliceRbgSize(uint32_t dlBandwidthPrb);

/**
 * RBGs the stock ns-3 schedulers allocate: floor(dlBandwidthPrb / RBG size). The last, partial RBG
 * of 36.213 (e.g. RBG 12 of 25 PRBs, 1 PRB) is never scheduled by them, so the slicing partition
 * must not hand it to a slice either.
 */
uint32_t SliceSchedulableRbgs(uint32_t dlBandwidthPrb);

/// Spectral efficiency (bit/s/Hz) of wideband CQI @p cqi; 0 outside [0, 15] (litesim: se_from_cqi).
double SliceCqiSpectralEfficiency(int cqi);

/**
 * Euclidean projection of @p row onto {x : x_j >= minShares_j, sum_j x_j = 1}
 * (bridge.actions.project_to_simplex). Requires sum(minShares) <= 1 and finite values.
 */
std::vector<double> ProjectOntoShareSimplex(const std::vector<double>& row,
                                            const std::vector<double>& minShares);

/// A slice's load profile (bridge.scenario.LoadProfile; kinds: contract::kLoadProfileKinds).
struct SliceLoadProfile
{
    std::string kind{"constant"};
    double scale{1.0};
    std::vector<double> values; //!< piecewise: non-empty
    uint32_t holdSteps{1};      //!< piecewise: >= 1
    double amplitude{0.0};
    uint32_t periodSteps{1};    //!< sinusoid: >= 1
    double phaseRad{0.0};
    bool activeUes{false}; //!< applies_to: active_ues (a mask of the UEs offering traffic), else rate
};

/// Offered-load multiplier of @p profile at decision step @p step, >= 0 (bridge.contract.load_scale).
double SliceLoadScale(const SliceLoadProfile& profile, uint32_t step);

/// Multiplier of @p profile in a cell at step @p step: @p cellScale * SliceLoadScale(profile, step +
/// @p cellShiftSteps) (per-cell load, bridge.contract.cell_load_scale).
double SliceCellLoadScale(const SliceLoadProfile& profile, uint32_t step, double cellScale, uint32_t cellShiftSteps);

/// UEs of a (cell, slice) of @p nUes offering traffic under an active_ues mask @p mask:
/// min(nUes, floor(mask nUes + 1/2)) (bridge.contract.active_ue_count).
uint32_t SliceActiveUeCount(double mask, uint32_t nUes);

/// True when @p kind is one of contract::kLoadProfileKinds.
bool IsSliceLoadProfileKind(const std::string& kind);

/// True when @p model is one of contract::kTrafficModels.
bool IsSliceTrafficModel(const std::string& model);

/// theta/m of the truncated-exponential inter-arrival model: Exp(theta) redrawn above
/// @p truncation * m has mean m (bridge.contract.truncated_exponential_scale, same bisection).
/// @p truncation must exceed 2.
double TruncatedExponentialScale(double truncation);

} // namespace ns3

#endif // SLICE_CONTRACT_H
