// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_REWARD_H
#define SLICE_REWARD_H

// The scenario's reward on the C++ side: the twin of bridge/reward.py (RewardFunction), from the
// same definitions (formulas: bridge/reward.py's docstring; names, delay-slice kinds and numeric
// guards: contract.json "reward", generated into slicebridge-contract.h). tests/test_spec_parity.py
// pushes the same KPI tensors through both (via slicebridge-spec-check). No ns-3 dependency.

#include "slicebridge-contract.h"

#include <array>
#include <string>
#include <vector>

namespace ns3
{

/// What a reward needs besides the KPIs: the scenario's reward block and per-cell SLAs.
struct SliceRewardSpec
{
    std::string name{"min_satisfaction"}; //!< one of contract::kRewardNames
    double alpha{1.0};                    //!< utility_cost: weight of U; se_ssr: weight of SE
    double beta{0.5};                     //!< utility_cost: weight of C; se_ssr: weight of SSR
    double lam{1.0};                      //!< sigmoid_utility: weight of Omega
    double mu{1.0};                       //!< sigmoid_utility: weight of the per-UE utility
    double phi{1.0};                      //!< sigmoid_utility: steepness
    double seNormBpsHz{1.0};              //!< se_ssr: spectral-efficiency normaliser, bit/s/Hz
    std::vector<std::vector<double>> slaThroughputMbps; //!< [cells][slices] per UE, Mbit/s
    std::vector<std::vector<double>> slaDelayMs;        //!< [cells][slices] delay budget, ms
    std::vector<bool> delaySlice;                       //!< [slices] kind in contract::kDelaySliceKinds
    double bandwidthHz{0.0};                            //!< carrier bandwidth, Hz
};

/// KPI tensor [cells][slices][KPI_COUNT] (the type of SliceController's KpiTensor).
using SliceRewardKpis = std::vector<std::vector<std::array<double, KPI_COUNT>>>;

/// True when @p name is one of contract::kRewardNames.
bool IsSliceRewardName(const std::string& name);

/// True when slices of @p kind are judged on delay (contract::kDelaySliceKinds).
bool IsDelaySliceKind(const std::string& kind);

/// Per-cell rewards [cells] of @p kpis (bridge.reward.RewardFunction.__call__).
/// Throws std::invalid_argument on an unknown name or a tensor that does not match the SLAs.
std::vector<double> SliceCellRewards(const SliceRewardSpec& spec, const SliceRewardKpis& kpis);

/// The network reward of one decision period: the mean over cells of SliceCellRewards (SlicingEnv's reward).
double SliceNetworkReward(const SliceRewardSpec& spec, const SliceRewardKpis& kpis);

} // namespace ns3

#endif // SLICE_REWARD_H
