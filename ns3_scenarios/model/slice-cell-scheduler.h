// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_CELL_SCHEDULER_H
#define SLICE_CELL_SCHEDULER_H

#include <cstdint>
#include <vector>

namespace ns3
{

/**
 * @brief What SliceKpiCollector and the scenario helpers need from a cell's slice scheduler,
 * whatever the radio: SliceFfMacScheduler (LTE) and SliceNrMacScheduler (NR, 5G-LENA) implement it.
 *
 * A plain interface (no ns3::Object): the scheduler objects are owned by their MAC, which outlives
 * the collector's use of them (both end with Simulator::Destroy).
 */
class SliceCellScheduler
{
  public:
    virtual ~SliceCellScheduler() = default;

    /// The slice shares (one per slice, >= 0; normalised to sum 1); apply from the next slot/TTI.
    virtual void SetShares(std::vector<double> shares) = 0;
    /// Assign the UE with @p rnti to slice @p slice.
    virtual void SetUeSlice(uint16_t rnti, uint32_t slice) = 0;
    /// DL RLC bytes queued for @p rnti as last reported (transmission + retransmission + status).
    virtual uint64_t GetUeBacklogBytes(uint16_t rnti) const = 0;
    /// Last wideband DL CQI of @p rnti (4-bit CQI, table of 36.213 7.2.3-1 = 38.214 5.2.2.1-2), or -1.
    virtual int GetUeWidebandCqi(uint16_t rnti) const = 0;
    /// DL resource use per slice since the start, in PRB-slots (LTE: PRB-TTIs; NR: PRB x symbols / 14).
    virtual const std::vector<uint64_t>& GetCumulativeSlicePrbs() const = 0;
    /// Scheduling slots per second (LTE: 1000 TTIs; NR: 1000 * 2^numerology), the PRB-share base.
    virtual double GetSlotsPerSecond() const = 0;
};

} // namespace ns3

#endif // SLICE_CELL_SCHEDULER_H
