// SPDX-License-Identifier: GPL-2.0-only
#include "slice-contract.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ns3
{

uint32_t
SliceRbgSize(uint32_t dlBandwidthPrb)
{
    const auto& thresholds = contract::kRbgThresholdsPrb;
    const auto above = std::count_if(thresholds.begin(), thresholds.end(), [&](uint32_t t) {
        return dlBandwidthPrb > t;
    });
    return contract::kRbgSizesPrb[above];
}

uint32_t
SliceSchedulableRbgs(uint32_t dlBandwidthPrb)
{
    return dlBandwidthPrb / SliceRbgSize(dlBandwidthPrb);
}

double
SliceCqiSpectralEfficiency(int cqi)
{
    const auto& table = contract::kCqiEfficiencyBpsHz;
    return (cqi >= 0 && static_cast<std::size_t>(cqi) < table.size()) ? table[cqi] : 0.0;
}

std::vector<double>
ProjectOntoShareSimplex(const std::vector<double>& row, const std::vector<double>& minShares)
{
    const std::size_t n = row.size();
    const double budget = 1.0 - std::accumulate(minShares.begin(), minShares.end(), 0.0);
    std::vector<double> y(n);
    for (std::size_t j = 0; j < n; ++j)
    {
        y[j] = row[j] - minShares[j];
    }
    // Projection of y onto {z >= 0, sum z = budget}: z = max(y - theta, 0), theta from the last
    // rank k (descending order) where sorted[k] - (cumsum[k] - budget) / (k + 1) > 0.
    std::vector<double> sorted(y);
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    double cumsum = 0.0;
    // rank 1 when no rank qualifies (sum(minShares) = 1: theta = max y, the result is minShares)
    double theta = n > 0 ? sorted[0] - budget : 0.0;
    for (std::size_t k = 0; k < n; ++k)
    {
        cumsum += sorted[k];
        const double t = (cumsum - budget) / static_cast<double>(k + 1);
        if (sorted[k] - t > 0)
        {
            theta = t;
        }
    }
    std::vector<double> out(n);
    for (std::size_t j = 0; j < n; ++j)
    {
        out[j] = minShares[j] + std::max(y[j] - theta, 0.0);
    }
    return out;
}

double
SliceLoadScale(const SliceLoadProfile& profile, uint32_t step)
{
    double scale = profile.scale; // constant
    if (profile.kind == "piecewise")
    {
        scale = profile.values.at((step / profile.holdSteps) % profile.values.size());
    }
    else if (profile.kind == "sinusoid")
    {
        scale = profile.scale * (1.0 + profile.amplitude * std::sin(2.0 * M_PI * step / profile.periodSteps +
                                                                    profile.phaseRad));
    }
    return std::max(scale, 0.0);
}

double
SliceCellLoadScale(const SliceLoadProfile& profile, uint32_t step, double cellScale, uint32_t cellShiftSteps)
{
    return cellScale * SliceLoadScale(profile, step + cellShiftSteps);
}

uint32_t
SliceActiveUeCount(double mask, uint32_t nUes)
{
    const double n = std::floor(std::max(mask, 0.0) * nUes + 0.5);
    return n >= nUes ? nUes : static_cast<uint32_t>(n);
}

bool
IsSliceLoadProfileKind(const std::string& kind)
{
    const auto& kinds = contract::kLoadProfileKinds;
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool
IsSliceTrafficModel(const std::string& model)
{
    const auto& models = contract::kTrafficModels;
    return std::find(models.begin(), models.end(), model) != models.end();
}

double
TruncatedExponentialScale(double truncation)
{
    const double c = truncation;
    if (!(c > 2.0))
    {
        throw std::invalid_argument("truncated_exponential truncation must exceed 2, got " + std::to_string(c));
    }
    // x = c m / theta; the residual x/c - 1 + x/(e^x - 1) is < 0 below the root and > 0 above it
    double lo = 0.0;
    double hi = c;
    for (int i = 0; i < 60; ++i)
    {
        const double mid = 0.5 * (lo + hi);
        if (mid / c - 1.0 + mid * std::exp(-mid) / -std::expm1(-mid) < 0.0) // x/(e^x - 1) without overflow
        {
            lo = mid;
        }
        else
        {
            hi = mid;
        }
    }
    return c / (0.5 * (lo + hi));
}

} // namespace ns3
