// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_SCENARIO_HELPER_H
#define SLICE_SCENARIO_HELPER_H

#include "slice-runtime-config.h"

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
class SliceKpiCollector;
class SliceLinkLossModel;
class SliceFadingModel;
class SliceTrafficSource;

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
 * decision periods.
 */
class SliceScenarioHelper
{
  public:
    SliceScenarioHelper();
    ~SliceScenarioHelper();

    /// "slice" (SliceFfMacScheduler around PF; default) or "pf" (stock PF, no slicing).
    void SetSchedulerKind(const std::string& kind);

    /// Build everything; throws std::runtime_error for unsupported scenario features.
    void Build(const SliceRuntimeConfig& config);

    Ptr<SliceKpiCollector> GetCollector() const;
    /// Scheduler of @p cell, or null in "pf" mode.
    Ptr<SliceFfMacScheduler> GetCellScheduler(uint32_t cell) const;

    /// Apply the load profile of decision step @p step to every source.
    void ApplyLoad(uint32_t step);

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
    void OnConnectionEstablished(std::string context, uint64_t imsi, uint16_t cellId, uint16_t rnti);
    void OnNewUeContext(uint32_t cell, uint16_t cellId, uint16_t rnti);
    void OnDrbCreated(uint64_t imsi, uint16_t cellId, uint16_t rnti, uint8_t lcid);

    SliceRuntimeConfig m_cfg;
    std::string m_schedulerKind{"slice"};
    Ptr<LteHelper> m_lte;
    Ptr<PointToPointEpcHelper> m_epc;
    Ptr<SliceLinkLossModel> m_linkLoss;
    Ptr<SliceFadingModel> m_fading; //!< DL Rayleigh fading (radio.fading), else null
    Ptr<SliceKpiCollector> m_collector;
    NodeContainer m_enbNodes;
    NodeContainer m_ueNodes;
    Ptr<Node> m_remoteHost;
    NetDeviceContainer m_enbDevs;
    NetDeviceContainer m_ueDevs;
    std::vector<Ptr<SliceFfMacScheduler>> m_schedulers;
    std::vector<Ptr<SliceTrafficSource>> m_sources; //!< one per UE (index = UE index)
    std::vector<uint32_t> m_ueRank; //!< per UE: its rank among its slice's UEs of its cell
    std::map<uint64_t, uint32_t> m_imsiToUe;
    std::map<uint16_t, uint32_t> m_cellIdToCell;
};

} // namespace ns3

#endif // SLICE_SCENARIO_HELPER_H
