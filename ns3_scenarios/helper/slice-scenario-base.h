// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_SCENARIO_BASE_H
#define SLICE_SCENARIO_BASE_H

#include "slice-runtime-config.h"

#include "ns3/attribute.h"
#include "ns3/ipv4-address.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/ptr.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ns3
{

class SliceCellScheduler;
class SliceFadingModel;
class SliceKpiCollector;
class SliceLinkLossModel;
class SliceTrafficSource;

/// A path-loss model of the runtime JSON: ns-3 TypeId name and attributes (radio.propagation).
struct SlicePathLoss
{
    std::string typeName;
    std::vector<std::pair<std::string, Ptr<AttributeValue>>> attributes;
};

/**
 * @brief What the LTE and NR scenario helpers share: everything of a runtime JSON that does not
 * depend on the radio.
 *
 * Cell sites (one node per cell at the cell's position), UEs (positions, static or RandomWalk2d
 * mobility, per-link shadowing in SliceLinkLossModel, which the radio helper appends to its channels'
 * path-loss chain), the path-loss model (PathLossFor), the remote host's applications (per UE a
 * SliceTrafficSource on the remote host -> SliceTrafficSink on the UE at port 10000 + slice), the
 * per-cell edge servers, the SliceKpiCollector wiring and the load profile (ApplyLoad). The radio
 * helpers (SliceScenarioHelper: LTE; SliceNrScenarioHelper: NR) install the devices and the EPC,
 * and hand the UEs to ConnectUes and the RRC to WatchRrc.
 */
class SliceScenarioBase
{
  public:
    SliceScenarioBase();
    virtual ~SliceScenarioBase();

    /// "slice" (the slice scheduler; default) or "pf" (the radio's stock scheduler, no slicing).
    void SetSchedulerKind(const std::string& kind);

    Ptr<SliceKpiCollector> GetCollector() const;
    /// Apply the load profile of decision step @p step to every source.
    void ApplyLoad(uint32_t step);
    /// The path-loss model of radio.propagation; throws std::runtime_error for an unknown model.
    static SlicePathLoss PathLossFor(const SliceRuntimeConfig& cfg);

  protected:
    static constexpr uint16_t SLICE_PORT_BASE = 10000; //!< UDP port of slice s on the UEs: base + s
    static constexpr double CELL_HEIGHT_M = 30.0;      //!< antenna heights, used by okumura_hata only
    static constexpr double UE_HEIGHT_M = 1.5;

    /// Antenna height of the cells resp. UEs: the constants above for okumura_hata, else 0.
    double CellHeight() const;
    double UeHeight() const;
    /// m_cellNodes: one node per cell at its position (constant position); creates m_linkLoss.
    void CreateCellNodes();
    /// m_ueNodes with their mobility and, in m_linkLoss, their shadowing towards every cell node.
    void CreateUeNodes();
    /// Collector (dimensions, SLA budgets, @p schedulers per cell, null for a stock one), edge
    /// servers, and per UE the sink and the source (after the UEs have IPv4 addresses).
    void InstallApplications(const std::vector<SliceCellScheduler*>& schedulers);
    /// The Rayleigh block fading of radio.fading (null without it): UEs slower than a pedestrian
    /// count as one (moving scatterers), which also bounds the block length: 3 km/h at 2.12 GHz gives
    /// T_c = 72 ms, well above the CQI feedback delay, so PF can exploit the fading.
    Ptr<SliceFadingModel> CreateFading() const;
    /// A traffic flow template (EpcTft or NrEpcTft) for the DL packets to local UDP port @p port.
    template <class Tft>
    static Ptr<Tft> PortTft(uint16_t port)
    {
        Ptr<Tft> tft = Create<Tft>();
        typename Tft::PacketFilter filter;
        filter.localPortStart = port;
        filter.localPortEnd = port;
        tft->Add(filter);
        return tft;
    }
    /// Streams of the traffic sources from @p stream on; returns the number used.
    int64_t AssignSourceStreams(int64_t stream);
    /**
     * Per UE: default route to @p gateway, its IMSI (@p imsiOf), then @p attach(ue, port, qci), which
     * attaches the UE to its cell and opens its slice's dedicated bearer (QCI/5QI @p qci) for the
     * DL traffic to UDP port @p port.
     */
    void ConnectUes(const NetDeviceContainer& ueDevs,
                    Ipv4Address gateway,
                    const std::function<uint64_t(Ptr<NetDevice>)>& imsiOf,
                    const std::function<void(uint32_t ue, uint16_t port, uint8_t qci)>& attach);
    /**
     * Follow the RRC of every cell (its TypeId name @p rrcName, e.g. LteEnbRrc): on connection the
     * collector learns the UE's RNTI and the scheduler its slice (the programs support no
     * re-selection: a UE connected to another cell aborts); on each data radio bearer the drops
     * of its RLC transmission buffer (attribute @p rlcName of the bearer, TxDrop) count as losses.
     */
    void WatchRrc(const std::string& rrcName, const std::string& rlcName);

    SliceRuntimeConfig m_cfg;
    std::string m_schedulerKind{"slice"};
    Ptr<SliceKpiCollector> m_collector;
    Ptr<SliceLinkLossModel> m_linkLoss;
    NodeContainer m_cellNodes;
    NodeContainer m_ueNodes;
    Ptr<Node> m_remoteHost;
    std::vector<SliceCellScheduler*> m_cellSchedulers; //!< per cell, null for a stock scheduler
    std::vector<Ptr<SliceTrafficSource>> m_sources;    //!< one per UE (index = UE index)
    std::vector<uint32_t> m_ueRank; //!< per UE: its rank among its slice's UEs of its cell
    std::map<uint64_t, uint32_t> m_imsiToUe;
    std::map<uint16_t, uint32_t> m_cellIdToCell;

  private:
    void OnConnectionEstablished(std::string context, uint64_t imsi, uint16_t cellId, uint16_t rnti);
    void OnNewUeContext(uint32_t cell, uint16_t cellId, uint16_t rnti);
    void OnDrbCreated(uint32_t cell, uint64_t imsi, uint16_t cellId, uint16_t rnti, uint8_t lcid);

    std::string m_rrcName;
    std::string m_rlcName;
};

} // namespace ns3

#endif // SLICE_SCENARIO_BASE_H
