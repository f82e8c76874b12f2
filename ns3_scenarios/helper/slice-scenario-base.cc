// SPDX-License-Identifier: GPL-2.0-only
#include "slice-scenario-base.h"

#include "slice-cell-scheduler.h"
#include "slice-edge-server.h"
#include "slice-fading-model.h"
#include "slice-kpi-collector.h"
#include "slice-link-loss-model.h"
#include "slice-traffic-sink.h"
#include "slice-traffic-source.h"

#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/config.h"
#include "ns3/double.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4-static-routing.h"
#include "ns3/ipv4.h"
#include "ns3/mobility-helper.h"
#include "ns3/mobility-model.h"
#include "ns3/rectangle.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <sstream>
#include <stdexcept>

namespace ns3
{

SliceScenarioBase::SliceScenarioBase() = default;
SliceScenarioBase::~SliceScenarioBase() = default;

void
SliceScenarioBase::SetSchedulerKind(const std::string& kind)
{
    if (kind != "slice" && kind != "pf")
    {
        throw std::runtime_error("--scheduler must be 'slice' or 'pf', got '" + kind + "'");
    }
    m_schedulerKind = kind;
}

Ptr<SliceFadingModel>
SliceScenarioBase::CreateFading() const
{
    if (!m_cfg.fading)
    {
        return nullptr;
    }
    const double pedestrianMps = 3.0 / 3.6;
    const double speed = std::max(m_cfg.speedMps, pedestrianMps);
    Ptr<SliceFadingModel> fading = CreateObject<SliceFadingModel>();
    fading->SetAttribute("CoherenceTime",
                         TimeValue(SliceFadingModel::CoherenceTimeForSpeed(
                             speed, m_cfg.carrierMhz * 1e6, MilliSeconds(1), Seconds(1))));
    return fading;
}

Ptr<SliceKpiCollector>
SliceScenarioBase::GetCollector() const
{
    return m_collector;
}

SlicePathLoss
SliceScenarioBase::PathLossFor(const SliceRuntimeConfig& cfg)
{
    const std::string& pm = cfg.propagationModel;
    if (pm == "log_distance")
    {
        return {"ns3::LogDistancePropagationLossModel",
                {{"Exponent", Create<DoubleValue>(cfg.exponent)},
                 {"ReferenceDistance", Create<DoubleValue>(1.0)},
                 {"ReferenceLoss", Create<DoubleValue>(cfg.referenceLossDb)}}};
    }
    if (pm == "friis")
    {
        return {"ns3::FriisPropagationLossModel", {}};
    }
    if (pm == "cost231")
    {
        return {"ns3::Cost231PropagationLossModel",
                {{"BSAntennaHeight", Create<DoubleValue>(CELL_HEIGHT_M)},
                 {"SSAntennaHeight", Create<DoubleValue>(UE_HEIGHT_M)}}};
    }
    if (pm == "okumura_hata")
    {
        return {"ns3::OkumuraHataPropagationLossModel", {}};
    }
    throw std::runtime_error("radio.propagation.model '" + pm +
                             "' unknown; allowed: log_distance, friis, cost231, okumura_hata");
}

double
SliceScenarioBase::CellHeight() const
{
    return m_cfg.propagationModel == "okumura_hata" ? CELL_HEIGHT_M : 0.0;
}

double
SliceScenarioBase::UeHeight() const
{
    return m_cfg.propagationModel == "okumura_hata" ? UE_HEIGHT_M : 0.0;
}

void
SliceScenarioBase::CreateCellNodes()
{
    m_linkLoss = CreateObject<SliceLinkLossModel>(); // filled by CreateUeNodes, chained by the radio helper
    m_cellNodes.Create(m_cfg.cells.size());
    MobilityHelper mobility;
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(m_cellNodes);
    for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
    {
        const auto& cell = m_cfg.cells[c];
        m_cellNodes.Get(c)->GetObject<MobilityModel>()->SetPosition(Vector(cell.x, cell.y, CellHeight()));
    }
}

void
SliceScenarioBase::CreateUeNodes()
{
    const uint32_t nUes = m_cfg.ues.size();
    m_ueNodes.Create(nUes);
    MobilityHelper mobility;
    if (m_cfg.mobilityModel == "random_walk" && m_cfg.speedMps > 0)
    {
        double minX = 1e18, minY = 1e18, maxX = -1e18, maxY = -1e18;
        for (const auto& u : m_cfg.ues)
        {
            minX = std::min(minX, u.x);
            maxX = std::max(maxX, u.x);
            minY = std::min(minY, u.y);
            maxY = std::max(maxY, u.y);
        }
        for (const auto& c : m_cfg.cells)
        {
            minX = std::min(minX, c.x);
            maxX = std::max(maxX, c.x);
            minY = std::min(minY, c.y);
            maxY = std::max(maxY, c.y);
        }
        const double margin = 10.0;
        mobility.SetMobilityModel(
            "ns3::RandomWalk2dMobilityModel",
            "Bounds",
            RectangleValue(Rectangle(minX - margin, maxX + margin, minY - margin, maxY + margin)),
            "Speed",
            StringValue("ns3::ConstantRandomVariable[Constant=" + std::to_string(m_cfg.speedMps) + "]"),
            "Mode",
            StringValue("Time"),
            "Time",
            TimeValue(Seconds(1.0)));
    }
    else if (m_cfg.mobilityModel == "random_walk" || m_cfg.mobilityModel == "static")
    {
        mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    }
    else
    {
        throw std::runtime_error("mobility.model '" + m_cfg.mobilityModel +
                                 "' unknown; allowed: static, random_walk");
    }
    mobility.Install(m_ueNodes);
    for (uint32_t u = 0; u < nUes; ++u)
    {
        const auto& ue = m_cfg.ues[u];
        m_ueNodes.Get(u)->GetObject<MobilityModel>()->SetPosition(Vector(ue.x, ue.y, UeHeight()));
        for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
        {
            m_linkLoss->SetLinkLossDb(m_ueNodes.Get(u)->GetId(), m_cellNodes.Get(c)->GetId(), ue.shadowingDb[c]);
        }
    }
}

void
SliceScenarioBase::InstallApplications(const std::vector<SliceCellScheduler*>& schedulers)
{
    const uint32_t nCells = m_cfg.cells.size();
    const uint32_t nSlices = m_cfg.slices.size();
    m_cellSchedulers = schedulers;
    m_collector = CreateObject<SliceKpiCollector>();
    m_collector->SetDimensions(nCells, nSlices, m_cfg.bandwidthPrb);
    m_collector->SetSlaDelayMs(m_cfg.slaDelayMs);
    for (uint32_t c = 0; c < nCells; ++c)
    {
        m_collector->SetCellScheduler(c, m_cellSchedulers.at(c));
        if (m_cfg.hasEdge)
        {
            // the cell's edge server sits on its base-station node (mobile edge computing next to the radio)
            Ptr<SliceEdgeServer> server = CreateObject<SliceEdgeServer>();
            server->SetAttribute("Capacity", DoubleValue(m_cfg.edgeCapacityCyclesPerS));
            server->SetAttribute("WorkConserving", BooleanValue(m_cfg.edgeWorkConserving));
            server->SetCyclesPerBit(m_cfg.edgeCyclesPerBit);
            m_cellNodes.Get(c)->AggregateObject(server);
            m_collector->SetEdgeServer(c, server);
        }
    }
    // rank of each UE among its slice's UEs in its cell (runtime-JSON order): active_ues masks switch
    // on the first ones
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> seen;
    for (const auto& ue : m_cfg.ues)
    {
        m_ueRank.push_back(seen[{ue.cell, ue.slice}]++);
    }
    for (uint32_t u = 0; u < m_cfg.ues.size(); ++u)
    {
        const auto& ue = m_cfg.ues[u];
        const auto& slice = m_cfg.slices[ue.slice];
        uint32_t index = m_collector->AddUe(ue.cell, ue.slice);
        uint16_t port = SLICE_PORT_BASE + ue.slice;

        Ptr<SliceTrafficSink> sink = CreateObject<SliceTrafficSink>();
        sink->SetAttribute("Port", UintegerValue(port));
        m_ueNodes.Get(u)->AddApplication(sink);
        sink->SetStartTime(Seconds(0));
        sink->TraceConnectWithoutContext("Rx", MakeCallback(&SliceKpiCollector::NotifyRx, m_collector, index));

        Ipv4Address ueAddr = m_ueNodes.Get(u)->GetObject<Ipv4>()->GetAddress(1, 0).GetLocal();
        Ptr<SliceTrafficSource> src = CreateObject<SliceTrafficSource>();
        src->SetAttribute("Remote", AddressValue(InetSocketAddress(ueAddr, port)));
        src->SetAttribute("TrafficModel", StringValue(slice.trafficModel));
        src->SetAttribute("PacketSize", UintegerValue(slice.packetSizeBytes));
        if (slice.trafficModel == "periodic")
        {
            src->SetAttribute("PeriodMs", DoubleValue(slice.periodMs));
        }
        else
        {
            src->SetAttribute("RateMbps", DoubleValue(slice.rateMbps));
        }
        if (slice.trafficModel == "onoff")
        {
            src->SetAttribute("OnMs", DoubleValue(slice.onMs));
            src->SetAttribute("OffMs", DoubleValue(slice.offMs));
        }
        src->SetAttribute("Jitter", DoubleValue(slice.jitter));
        src->SetAttribute("Truncation", DoubleValue(slice.truncation));
        m_remoteHost->AddApplication(src);
        src->SetStartTime(Seconds(0));
        src->TraceConnectWithoutContext("Tx", MakeCallback(&SliceKpiCollector::NotifyTx, m_collector, index));
        m_sources.push_back(src);
    }
    m_collector->SetStepStartCallback(MakeCallback(&SliceScenarioBase::ApplyLoad, this));
}

int64_t
SliceScenarioBase::AssignSourceStreams(int64_t stream)
{
    const int64_t first = stream;
    for (auto& src : m_sources)
    {
        stream += src->AssignStreams(stream);
    }
    return stream - first;
}

void
SliceScenarioBase::ApplyLoad(uint32_t step)
{
    for (uint32_t u = 0; u < m_sources.size(); ++u)
    {
        const auto& ue = m_cfg.ues[u];
        m_sources[u]->SetRateScale(m_cfg.UeRateScale(ue.cell, ue.slice, m_ueRank[u], step));
    }
}

void
SliceScenarioBase::ConnectUes(const NetDeviceContainer& ueDevs,
                              Ipv4Address gateway,
                              const std::function<uint64_t(Ptr<NetDevice>)>& imsiOf,
                              const std::function<void(uint32_t ue, uint16_t port, uint8_t qci)>& attach)
{
    Ipv4StaticRoutingHelper routing;
    for (uint32_t u = 0; u < m_cfg.ues.size(); ++u)
    {
        Ptr<Ipv4StaticRouting> r = routing.GetStaticRouting(m_ueNodes.Get(u)->GetObject<Ipv4>());
        r->SetDefaultRoute(gateway, 1);
        m_imsiToUe[imsiOf(ueDevs.Get(u))] = u;
        const uint32_t slice = m_cfg.ues[u].slice;
        attach(u, SLICE_PORT_BASE + slice, m_cfg.slices[slice].qci);
    }
}

void
SliceScenarioBase::WatchRrc(const std::string& rrcName, const std::string& rlcName)
{
    m_rrcName = rrcName;
    m_rlcName = rlcName;
    Config::Connect("/NodeList/*/DeviceList/*/" + rrcName + "/ConnectionEstablished",
                    MakeCallback(&SliceScenarioBase::OnConnectionEstablished, this));
    // RLC buffer drops count as loss when they happen (SliceKpiCollector::NotifyRlcDrop): every
    // new UE context -> its DRBs -> their RLC's TxDrop trace
    for (uint32_t c = 0; c < m_cellNodes.GetN(); ++c)
    {
        std::ostringstream path;
        path << "/NodeList/" << m_cellNodes.Get(c)->GetId() << "/DeviceList/*/" << rrcName << "/NewUeContext";
        Config::ConnectWithoutContext(path.str(), MakeCallback(&SliceScenarioBase::OnNewUeContext, this, c));
    }
}

void
SliceScenarioBase::OnNewUeContext(uint32_t cell, uint16_t cellId, uint16_t rnti)
{
    std::ostringstream path;
    path << "/NodeList/" << m_cellNodes.Get(cell)->GetId() << "/DeviceList/*/" << m_rrcName << "/UeMap/" << rnti
         << "/DrbCreated";
    bool ok = Config::ConnectWithoutContextFailSafe(path.str(),
                                                    MakeCallback(&SliceScenarioBase::OnDrbCreated, this, cell));
    NS_ABORT_MSG_IF(!ok, "cannot connect the DRB trace " << path.str());
}

void
SliceScenarioBase::OnDrbCreated(uint32_t cell, uint64_t imsi, uint16_t cellId, uint16_t rnti, uint8_t lcid)
{
    auto ue = m_imsiToUe.find(imsi);
    if (!m_collector || ue == m_imsiToUe.end())
    {
        return;
    }
    // both radios' PDCP headers have the layout SliceKpiCollector::NotifyRlcDrop parses
    std::ostringstream path;
    path << "/NodeList/" << m_cellNodes.Get(cell)->GetId() << "/DeviceList/*/" << m_rrcName << "/UeMap/" << rnti
         << "/DataRadioBearerMap/" << static_cast<uint32_t>(lcid - 2) << "/" << m_rlcName << "/TxDrop";
    bool ok = Config::ConnectWithoutContextFailSafe(
        path.str(),
        MakeCallback(&SliceKpiCollector::NotifyRlcDrop, m_collector, ue->second));
    NS_ABORT_MSG_IF(!ok, "cannot connect the RLC drop trace " << path.str());
    m_collector->SetUeBearerUp(ue->second);
}

void
SliceScenarioBase::OnConnectionEstablished(std::string context, uint64_t imsi, uint16_t cellId, uint16_t rnti)
{
    auto ue = m_imsiToUe.find(imsi);
    auto cell = m_cellIdToCell.find(cellId);
    if (ue == m_imsiToUe.end() || cell == m_cellIdToCell.end())
    {
        return;
    }
    NS_ABORT_MSG_IF(cell->second != m_cfg.ues[ue->second].cell,
                    "UE " << ue->second << " connected to cell " << cell->second << " instead of its cell "
                          << m_cfg.ues[ue->second].cell << " (the program supports no re-selection)");
    m_collector->SetUeRnti(ue->second, rnti);
    if (m_cellSchedulers.at(cell->second))
    {
        m_cellSchedulers[cell->second]->SetUeSlice(rnti, m_cfg.ues[ue->second].slice);
    }
}

} // namespace ns3
