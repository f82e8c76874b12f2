// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_SCENARIO_HELPER_H
#define SLICE_SCENARIO_HELPER_H

#include "slice-scenario-base.h"

#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/ptr.h"

#include <map>
#include <string>
#include <vector>

namespace ns3
{

class LteHelper;
class PointToPointEpcHelper;
class SliceFfMacScheduler;
class SliceFadingModel;

/**
 * @brief Builds the packet-level LTE slicing scenario of a runtime JSON.
 *
 * One eNB per cell at the cell's position (omni: isotropic antenna; sectors: parabolic pattern
 * with the scenario's beamwidth and maximum attenuation, oriented at the cell azimuth), the
 * scenario's bandwidth, carrier (FDD band chosen by DlEarfcnForCarrier), power, UE noise figure
 * and path-loss model followed by the per-link shadowing of the JSON (SliceLinkLossModel); EPC
 * with one remote host (100 Gbit/s, 0 delay link); UEs at the JSON positions attached to their
 * own cell (no handover), static or RandomWalk2d; per UE one dedicated EPS bearer with its slice's
 * QCI carrying the slice's downlink traffic (SliceTrafficSource on the remote host ->
 * SliceTrafficSink on the UE); CQI by LteAmc's PiroEW2010 model (as litesim), RLC UM with the
 * scenario's litesim.buffer_bytes as transmission buffer, no radio-link-failure detection; per cell a SliceFfMacScheduler (or the stock PF scheduler when the
 * scheduler kind is "pf"); with an edge section, one SliceEdgeServer per cell aggregated to its eNB
 * node (processor-sharing compute after radio delivery); and the SliceKpiCollector that runs the
 * decision periods. What is not LTE-specific is in SliceScenarioBase (shared with the NR helper).
 */
class SliceScenarioHelper : public SliceScenarioBase
{
  public:
    SliceScenarioHelper();
    ~SliceScenarioHelper() override;

    /// Build everything; throws std::runtime_error for unsupported scenario features.
    void Build(const SliceRuntimeConfig& config);

    /// Scheduler of @p cell, or null in "pf" mode.
    Ptr<SliceFfMacScheduler> GetCellScheduler(uint32_t cell) const;

    /**
     * DL/UL EARFCN of the LTE FDD band whose DL range contains @p carrierMhz (bands 1, 3, 5, 7,
     * 8, 20; EARFCN = NOffs + 10 (f - FLow)). Outside all of them the nearest band edge is used
     * and @p exact is set to false. @p dlMhz receives the DL centre frequency actually used.
     */
    static void DlEarfcnForCarrier(double carrierMhz,
                                   uint32_t& dlEarfcn,
                                   uint32_t& ulEarfcn,
                                   double& dlMhz,
                                   bool& exact);

  private:
    void ConfigureDefaults();
    void ConfigureChannel();
    void InstallEnbs();
    void InstallUes();
    void InstallTraffic();

    Ptr<LteHelper> m_lte;
    Ptr<PointToPointEpcHelper> m_epc;
    Ptr<SliceFadingModel> m_fading; //!< DL Rayleigh fading (radio.fading), else null
    NetDeviceContainer m_enbDevs;
    NetDeviceContainer m_ueDevs;
    std::vector<Ptr<SliceFfMacScheduler>> m_schedulers;
};

} // namespace ns3

#endif // SLICE_SCENARIO_HELPER_H
