// SPDX-License-Identifier: GPL-2.0-only
#include "slice-rbg-partition.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ns3
{

std::vector<double>
WorkConservingShares(const std::vector<double>& shares, const std::vector<bool>& busy)
{
    const std::size_t n = shares.size();
    const std::size_t nBusy = std::count(busy.begin(), busy.end(), true);
    if (nBusy == 0)
    {
        return shares;
    }
    std::vector<double> eff(n, 0.0);
    double sum = 0;
    for (std::size_t s = 0; s < n; ++s)
    {
        eff[s] = (s < busy.size() && busy[s]) ? shares[s] : 0.0;
        sum += eff[s];
    }
    for (std::size_t s = 0; s < n; ++s)
    {
        const bool isBusy = s < busy.size() && busy[s];
        eff[s] = sum > 0 ? eff[s] / sum : (isBusy ? 1.0 / nBusy : 0.0);
    }
    return eff;
}

std::vector<uint32_t>
PartitionSliceRbgs(const std::vector<double>& shares, uint32_t nRbg, std::vector<double>& credit)
{
    const std::size_t nSlices = shares.size();
    if (credit.size() != nSlices)
    {
        throw std::invalid_argument("PartitionSliceRbgs: " + std::to_string(credit.size()) +
                                    " credits for " + std::to_string(nSlices) + " slices");
    }
    std::vector<uint32_t> count(nSlices, 0);
    // Targets with carried rounding credit; the active slices' credits sum to zero.
    double creditSum = 0;
    std::size_t nActive = 0;
    for (std::size_t s = 0; s < nSlices; ++s)
    {
        if (shares[s] > 0)
        {
            creditSum += credit[s];
            ++nActive;
        }
        else
        {
            credit[s] = 0;
        }
    }
    if (nActive == 0)
    {
        return count;
    }
    std::vector<double> target(nSlices, 0.0);
    uint32_t assigned = 0;
    for (std::size_t s = 0; s < nSlices; ++s)
    {
        if (shares[s] > 0)
        {
            target[s] = credit[s] - creditSum / nActive + shares[s] * nRbg;
            count[s] = static_cast<uint32_t>(std::floor(std::max(target[s], 0.0)));
            assigned += count[s];
        }
    }
    while (assigned < nRbg) // largest remainder
    {
        std::size_t best = nSlices;
        double bestRem = -1e9;
        for (std::size_t s = 0; s < nSlices; ++s)
        {
            if (shares[s] > 0 && target[s] - count[s] > bestRem)
            {
                bestRem = target[s] - count[s];
                best = s;
            }
        }
        count[best]++;
        assigned++;
    }
    while (assigned > nRbg) // cannot happen with consistent credits; keep the invariant anyway
    {
        const std::size_t worst = std::max_element(count.begin(), count.end()) - count.begin();
        count[worst]--;
        assigned--;
    }
    for (std::size_t s = 0; s < nSlices; ++s)
    {
        if (shares[s] > 0)
        {
            credit[s] = target[s] - count[s];
        }
    }
    return count;
}

} // namespace ns3
