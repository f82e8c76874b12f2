// SPDX-License-Identifier: GPL-2.0-only
#include "slice-reward.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ns3
{

namespace
{

/// num/den, or 1 where den is 0 (nothing asked: satisfied); bridge.reward.ratio_or_one.
double
RatioOrOne(double num, double den)
{
    return den > 0 ? num / den : 1.0;
}

/// Mean of @p values over the slices with traffic (offered > 0), 1 when none has; bridge.reward.masked_mean.
double
MeanOverOffered(const std::vector<double>& values, const std::vector<std::array<double, KPI_COUNT>>& cell)
{
    double total = 0.0;
    double count = 0.0;
    for (std::size_t s = 0; s < cell.size(); ++s)
    {
        if (cell[s][KPI_OFFERED_MBPS] > 0)
        {
            total += values[s];
            count += 1.0;
        }
    }
    return count > 0 ? total / count : 1.0;
}

double
MinSatisfaction(const SliceRewardSpec& p, std::size_t c, const std::vector<std::array<double, KPI_COUNT>>& cell)
{
    double worst = 1.0;
    for (std::size_t s = 0; s < cell.size(); ++s)
    {
        const auto& k = cell[s];
        const double target = std::min(p.slaThroughputMbps[c][s] * k[KPI_ACTIVE_UES], k[KPI_OFFERED_MBPS]);
        const double thrTerm = RatioOrOne(k[KPI_THROUGHPUT_MBPS], target);
        const double delayTerm = RatioOrOne(p.slaDelayMs[c][s], k[KPI_DELAY_MEAN_MS]);
        worst = std::min(worst, std::min(std::min(thrTerm, delayTerm), 1.0));
    }
    return worst;
}

double
UtilityCost(const SliceRewardSpec& p, const std::vector<std::array<double, KPI_COUNT>>& cell)
{
    std::vector<double> served(cell.size());
    double cost = 0.0;
    for (std::size_t s = 0; s < cell.size(); ++s)
    {
        served[s] = std::min(RatioOrOne(cell[s][KPI_THROUGHPUT_MBPS], cell[s][KPI_OFFERED_MBPS]), 1.0);
        cost += cell[s][KPI_PRB_USED_SHARE];
    }
    return p.alpha * MeanOverOffered(served, cell) - p.beta * cost;
}

double
SigmoidUtility(const SliceRewardSpec& p, std::size_t c, const std::vector<std::array<double, KPI_COUNT>>& cell)
{
    double total = 0.0;
    for (std::size_t s = 0; s < cell.size(); ++s)
    {
        const auto& k = cell[s];
        const double se = std::max(k[KPI_SPECTRAL_EFF_BPS_HZ], contract::kSpectralEfficiencyFloorBpsHz);
        const double needed = k[KPI_OFFERED_MBPS] * 1e6 / (se * p.bandwidthHz);
        const double omega = std::min(RatioOrOne(k[KPI_PRB_USED_SHARE], needed), 1.0);
        const double n = k[KPI_ACTIVE_UES];
        const double rate = n > 0 ? k[KPI_THROUGHPUT_MBPS] / std::max(n, 1.0) : 0.0;
        const double margin = p.delaySlice[s] ? p.slaDelayMs[c][s] - k[KPI_DELAY_MEAN_MS]
                                              : rate - p.slaThroughputMbps[c][s];
        const double exponent = std::clamp(-p.phi * margin, -contract::kSigmoidExponentClip,
                                           contract::kSigmoidExponentClip);
        const double userUtility = n > 0 ? 1.0 / (1.0 + std::exp(exponent)) : 1.0;
        total += p.lam * omega + p.mu * userUtility;
    }
    return total / static_cast<double>(cell.size());
}

double
SeSsr(const SliceRewardSpec& p, const std::vector<std::array<double, KPI_COUNT>>& cell)
{
    double delivered = 0.0;
    std::vector<double> ssr(cell.size());
    for (std::size_t s = 0; s < cell.size(); ++s)
    {
        delivered += cell[s][KPI_THROUGHPUT_MBPS];
        ssr[s] = cell[s][KPI_SLA_RATIO];
    }
    const double se = delivered * 1e6 / p.bandwidthHz;
    return p.alpha * se / p.seNormBpsHz + p.beta * MeanOverOffered(ssr, cell);
}

} // namespace

bool
IsSliceRewardName(const std::string& name)
{
    return std::find(contract::kRewardNames.begin(), contract::kRewardNames.end(), name) !=
           contract::kRewardNames.end();
}

bool
IsDelaySliceKind(const std::string& kind)
{
    return std::find(contract::kDelaySliceKinds.begin(), contract::kDelaySliceKinds.end(), kind) !=
           contract::kDelaySliceKinds.end();
}

std::vector<double>
SliceCellRewards(const SliceRewardSpec& spec, const SliceRewardKpis& kpis)
{
    const std::size_t cells = kpis.size();
    if (spec.slaThroughputMbps.size() != cells || spec.slaDelayMs.size() != cells)
    {
        throw std::invalid_argument("reward: KPI tensor has " + std::to_string(cells) +
                                    " cells, the SLA matrices " + std::to_string(spec.slaThroughputMbps.size()));
    }
    std::vector<double> rewards(cells);
    for (std::size_t c = 0; c < cells; ++c)
    {
        const auto& cell = kpis[c];
        if (cell.empty() || spec.slaThroughputMbps[c].size() != cell.size() ||
            spec.slaDelayMs[c].size() != cell.size() || spec.delaySlice.size() != cell.size())
        {
            throw std::invalid_argument("reward: cell " + std::to_string(c) + " has " + std::to_string(cell.size()) +
                                        " slices, the SLAs " + std::to_string(spec.slaThroughputMbps[c].size()));
        }
        if (spec.name == "min_satisfaction")
        {
            rewards[c] = MinSatisfaction(spec, c, cell);
        }
        else if (spec.name == "utility_cost")
        {
            rewards[c] = UtilityCost(spec, cell);
        }
        else if (spec.name == "sigmoid_utility")
        {
            rewards[c] = SigmoidUtility(spec, c, cell);
        }
        else if (spec.name == "se_ssr")
        {
            rewards[c] = SeSsr(spec, cell);
        }
        else
        {
            throw std::invalid_argument("reward '" + spec.name + "' unknown (contract.json reward.names)");
        }
    }
    return rewards;
}

double
SliceNetworkReward(const SliceRewardSpec& spec, const SliceRewardKpis& kpis)
{
    const std::vector<double> rewards = SliceCellRewards(spec, kpis);
    double total = 0.0;
    for (double r : rewards)
    {
        total += r;
    }
    return rewards.empty() ? 0.0 : total / static_cast<double>(rewards.size());
}

} // namespace ns3
