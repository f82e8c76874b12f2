// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_CONTROLLER_H
#define SLICE_CONTROLLER_H

#include "slicebridge-contract.h" // enum SliceKpi, generated from bridge/contract.json

#include "ns3/simple-ref-count.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

using SliceKpiVector = std::array<double, KPI_COUNT>;
/// KPI tensor of one decision period: [cells][slices][KPI_COUNT].
using KpiTensor = std::vector<std::vector<SliceKpiVector>>;
/// Slice shares of every cell: [cells][slices], each row on the simplex.
using ShareMatrix = std::vector<std::vector<double>>;

/// Names of the KPIs, index = SliceKpi (contract::kKpiNames as strings; bridge.kpi.KPI_NAMES).
const std::vector<std::string>& GetSliceKpiNames();

/**
 * @brief Decides the slice shares of every cell, one decision period at a time.
 *
 * SliceKpiCollector drives it:
 *  1. at the end of the warm-up, Start(warmupKpis, initialShares) returns the shares of period 0
 *     (warmupKpis are measured over the warm-up window; a gym bridge sends them as the reset
 *     observation and waits for the first action);
 *  2. at the end of every decision period @p step (0-based), Decide(step, kpis, last) gets that
 *     period's KPIs and returns the shares for period step + 1. With @p last == true the episode
 *     ends after this call and the returned shares are ignored (a gym bridge sends the final
 *     state with its game-over flag here).
 * Returned matrices must be [cells][slices]; rows are normalised to sum 1 by the schedulers.
 */
class SliceController : public SimpleRefCount<SliceController>
{
  public:
    virtual ~SliceController();

    /// Shares for period 0. The default keeps @p initial.
    virtual ShareMatrix Start(const KpiTensor& warmupKpis, const ShareMatrix& initial);

    /// Shares for period step + 1, given the KPIs of period @p step.
    virtual ShareMatrix Decide(uint32_t step, const KpiTensor& kpis, bool last) = 0;
};

} // namespace ns3

#endif // SLICE_CONTROLLER_H
