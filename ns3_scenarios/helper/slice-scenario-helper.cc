// SPDX-License-Identifier: GPL-2.0-only
#include "slice-scenario-helper.h"

#include "slice-edge-server.h"
#include "slice-fading-model.h"
#include "slice-ff-mac-scheduler.h"
#include "slice-kpi-collector.h"
#include "slice-link-loss-model.h"
#include "slice-traffic-sink.h"
#include "slice-traffic-source.h"

#include "ns3/boolean.h"
#include "ns3/component-carrier-enb.h"
#include "ns3/config.h"
#include "ns3/data-rate.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/epc-tft.h"
#include "ns3/eps-bearer.h"
#include "ns3/inet-socket-address.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4-static-routing.h"
#include "ns3/log.h"
#include "ns3/lte-amc.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-helper.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/mobility-helper.h"
#include "ns3/mobility-model.h"
#include "ns3/point-to-point-epc-helper.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/pointer.h"
#include "ns3/rectangle.h"
#include "ns3/spectrum-channel.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceScenarioHelper");

namespace
{
constexpr uint16_t SLICE_PORT_BASE = 10000; //!< UDP port of slice s on the UEs: base + s
constexpr double ENB_HEIGHT_M = 30.0;       //!< antenna heights, used by okumura_hata only
constexpr double UE_HEIGHT_M = 1.5;
constexpr double PEDESTRIAN_SPEED_MPS = 3.0 / 3.6; //!< slowest speed the fading model assumes

struct FddBand
{
    double dlLowMhz;
    uint32_t dlOffset;
    uint32_t dlCount; //!< number of channel numbers
    uint32_t ulOffset;
};

// 36.101 Table 5.7.3-1 (FDD bands that ns-3's EARFCN table knows).
const FddBand FDD_BANDS[] = {
    {2110.0, 0, 600, 18000},    // band 1
    {1805.0, 1200, 750, 19200}, // band 3
    {869.0, 2400, 250, 20400},  // band 5
    {2620.0, 2750, 700, 20750}, // band 7
    {925.0, 3450, 350, 21450},  // band 8
    {791.0, 6150, 300, 24150},  // band 20
};
} // namespace

SliceScenarioHelper::SliceScenarioHelper() = default;
SliceScenarioHelper::~SliceScenarioHelper() = default;

void
SliceScenarioHelper::SetSchedulerKind(const std::string& kind)
{
    if (kind != "slice" && kind != "pf")
    {
        throw std::runtime_error("--scheduler must be 'slice' or 'pf', got '" + kind + "'");
    }
    m_schedulerKind = kind;
}

Ptr<SliceKpiCollector>
SliceScenarioHelper::GetCollector() const
{
    return m_collector;
}

Ptr<SliceFfMacScheduler>
SliceScenarioHelper::GetCellScheduler(uint32_t cell) const
{
    return m_schedulers.at(cell);
}

void
SliceScenarioHelper::DlEarfcnForCarrier(double carrierMhz,
                                        uint32_t& dlEarfcn,
                                        uint32_t& ulEarfcn,
                                        double& dlMhz,
                                        bool& exact)
{
    const FddBand* best = nullptr;
    double bestDist = 1e18;
    double bestF = carrierMhz;
    for (const FddBand& b : FDD_BANDS)
    {
        double hi = b.dlLowMhz + 0.1 * (b.dlCount - 1);
        double f = std::min(std::max(carrierMhz, b.dlLowMhz), hi);
        double dist = std::abs(f - carrierMhz);
        if (dist < bestDist)
        {
            bestDist = dist;
            best = &b;
            bestF = f;
        }
    }
    uint32_t n = static_cast<uint32_t>(std::lround((bestF - best->dlLowMhz) * 10.0));
    dlEarfcn = best->dlOffset + n;
    ulEarfcn = best->ulOffset + n;
    dlMhz = best->dlLowMhz + 0.1 * n;
    exact = bestDist < 0.05;
}

void
SliceScenarioHelper::ConfigureDefaults()
{
    uint32_t uesPerCell = 0;
    for (const auto& s : m_cfg.slices)
    {
        uesPerCell += s.uesPerCell;
    }
    // SRS periodicity bounds the UEs per cell; keep headroom for the RRC's allocation.
    uint32_t srs = 40;
    for (uint32_t p : {40u, 80u, 160u, 320u})
    {
        srs = p;
        if (uesPerCell + 3 <= p)
        {
            break;
        }
    }
    Config::SetDefault("ns3::LteEnbRrc::SrsPeriodicity", UintegerValue(srs));
    Config::SetDefault("ns3::LteEnbRrc::EpsBearerToRlcMapping", EnumValue(LteEnbRrc::RLC_UM_ALWAYS));
    Config::SetDefault("ns3::LteRlcUm::MaxTxBufferSize", UintegerValue(m_cfg.bufferBytes));
    // ns-3.44's RLC UM "PDCP discarding" fires the TxDrop trace for an SDU arriving behind a
    // head-of-line delay above the bearer's delay budget but still queues it (no discard): off,
    // so that TxDrop means a real tail drop at MaxTxBufferSize (the loss KPI counts those).
    Config::SetDefault("ns3::LteRlcUm::EnablePdcpDiscarding", BooleanValue(false));
    Config::SetDefault("ns3::LteEnbPhy::TxPower", DoubleValue(m_cfg.txPowerDbm));
    Config::SetDefault("ns3::LteUePhy::NoiseFigure", DoubleValue(m_cfg.noiseFigureDb));
    // CQI from the SINR by the Piro model (litesim uses the same mapping).
    Config::SetDefault("ns3::LteAmc::AmcModel", EnumValue(LteAmc::PiroEW2010));
    // UEs stay attached to their own cell for the whole run: no radio-link-failure re-selection.
    Config::SetDefault("ns3::LteUePhy::EnableRlfDetection", BooleanValue(false));
}

void
SliceScenarioHelper::Build(const SliceRuntimeConfig& config)
{
    m_cfg = config;
    if (m_cfg.technology != "lte")
    {
        throw std::runtime_error("radio.technology '" + m_cfg.technology +
                                 "' is not supported by slicebridge-lte (LTE only): NR scenarios run on "
                                 "slicebridge-nr, built with 5G-LENA (docs/NR.md)");
    }
    ConfigureDefaults();
    m_lte = CreateObject<LteHelper>();
    m_epc = CreateObject<PointToPointEpcHelper>();
    m_lte->SetEpcHelper(m_epc);
    m_lte->SetHandoverAlgorithmType("ns3::NoOpHandoverAlgorithm");
    if (m_schedulerKind == "slice")
    {
        m_lte->SetSchedulerType("ns3::SliceFfMacScheduler");
        m_lte->SetSchedulerAttribute("WorkConserving", BooleanValue(m_cfg.workConserving));
        m_lte->SetSchedulerAttribute("IntraSliceScheduler", StringValue(m_cfg.scheduler));
    }
    else
    {
        m_lte->SetSchedulerType("ns3::PfFfMacScheduler");
    }
    const std::string& pm = m_cfg.propagationModel;
    if (pm == "log_distance")
    {
        m_lte->SetPathlossModelType(TypeId::LookupByName("ns3::LogDistancePropagationLossModel"));
        m_lte->SetPathlossModelAttribute("Exponent", DoubleValue(m_cfg.exponent));
        m_lte->SetPathlossModelAttribute("ReferenceDistance", DoubleValue(1.0));
        m_lte->SetPathlossModelAttribute("ReferenceLoss", DoubleValue(m_cfg.referenceLossDb));
    }
    else if (pm == "friis")
    {
        m_lte->SetPathlossModelType(TypeId::LookupByName("ns3::FriisPropagationLossModel"));
    }
    else if (pm == "cost231")
    {
        m_lte->SetPathlossModelType(TypeId::LookupByName("ns3::Cost231PropagationLossModel"));
        m_lte->SetPathlossModelAttribute("BSAntennaHeight", DoubleValue(ENB_HEIGHT_M));
        m_lte->SetPathlossModelAttribute("SSAntennaHeight", DoubleValue(UE_HEIGHT_M));
    }
    else if (pm == "okumura_hata")
    {
        m_lte->SetPathlossModelType(TypeId::LookupByName("ns3::OkumuraHataPropagationLossModel"));
    }
    else
    {
        throw std::runtime_error("radio.propagation.model '" + pm +
                                 "' unknown; allowed: log_distance, friis, cost231, okumura_hata");
    }

    uint32_t dlEarfcn = 0;
    uint32_t ulEarfcn = 0;
    double dlMhz = 0;
    bool exact = true;
    DlEarfcnForCarrier(m_cfg.carrierMhz, dlEarfcn, ulEarfcn, dlMhz, exact);
    if (!exact)
    {
        std::cerr << "slicebridge-lte: warning: carrier " << m_cfg.carrierMhz
                  << " MHz is outside the supported LTE FDD bands; using " << dlMhz << " MHz (DL EARFCN "
                  << dlEarfcn << ")\n";
    }
    m_lte->SetEnbDeviceAttribute("DlEarfcn", UintegerValue(dlEarfcn));
    m_lte->SetEnbDeviceAttribute("UlEarfcn", UintegerValue(ulEarfcn));
    m_lte->SetEnbDeviceAttribute("DlBandwidth", UintegerValue(m_cfg.bandwidthPrb));
    m_lte->SetEnbDeviceAttribute("UlBandwidth", UintegerValue(m_cfg.bandwidthPrb));

    // Remote host behind the PGW.
    NodeContainer remote;
    remote.Create(1);
    m_remoteHost = remote.Get(0);
    InternetStackHelper internet;
    internet.Install(remote);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate("100Gb/s")));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1600));
    p2p.SetChannelAttribute("Delay", TimeValue(Seconds(0)));
    NetDeviceContainer internetDevs = p2p.Install(m_epc->GetPgwNode(), m_remoteHost);
    Ipv4AddressHelper ipv4h;
    ipv4h.SetBase("1.0.0.0", "255.0.0.0");
    ipv4h.Assign(internetDevs);
    Ipv4StaticRoutingHelper routing;
    Ptr<Ipv4StaticRouting> remoteRouting = routing.GetStaticRouting(m_remoteHost->GetObject<Ipv4>());
    remoteRouting->AddNetworkRouteTo(Ipv4Address("7.0.0.0"), Ipv4Mask("255.0.0.0"), 1);

    InstallEnbs();
    ConfigureChannel();
    InstallUes();
    InstallTraffic();
}

void
SliceScenarioHelper::InstallEnbs()
{
    const double z = m_cfg.propagationModel == "okumura_hata" ? ENB_HEIGHT_M : 0.0;
    m_enbNodes.Create(m_cfg.cells.size());
    MobilityHelper mobility;
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(m_enbNodes);
    for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
    {
        const auto& cell = m_cfg.cells[c];
        m_enbNodes.Get(c)->GetObject<MobilityModel>()->SetPosition(Vector(cell.x, cell.y, z));
        if (cell.omni)
        {
            m_lte->SetEnbAntennaModelType("ns3::IsotropicAntennaModel");
        }
        else
        {
            m_lte->SetEnbAntennaModelType("ns3::ParabolicAntennaModel");
            m_lte->SetEnbAntennaModelAttribute("Beamwidth", DoubleValue(m_cfg.beamwidthDeg));
            m_lte->SetEnbAntennaModelAttribute("Orientation", DoubleValue(cell.azimuthDeg));
            m_lte->SetEnbAntennaModelAttribute("MaxAttenuation", DoubleValue(m_cfg.maxAttenuationDb));
        }
        Ptr<NetDevice> dev = m_lte->InstallEnbDevice(NodeContainer(m_enbNodes.Get(c))).Get(0);
        m_enbDevs.Add(dev);
        Ptr<LteEnbNetDevice> enb = DynamicCast<LteEnbNetDevice>(dev);
        m_cellIdToCell[enb->GetCellId()] = c;
        Ptr<ComponentCarrierEnb> cc = DynamicCast<ComponentCarrierEnb>(enb->GetCcMap().at(0));
        Ptr<FfMacScheduler> sched = cc->GetFfMacScheduler();
        m_schedulers.push_back(DynamicCast<SliceFfMacScheduler>(sched));
    }
}

void
SliceScenarioHelper::ConfigureChannel()
{
    // Per-link shadowing, appended to the end of the path-loss chain of both channels.
    m_linkLoss = CreateObject<SliceLinkLossModel>();
    for (Ptr<SpectrumChannel> ch : {m_lte->GetDownlinkSpectrumChannel(), m_lte->GetUplinkSpectrumChannel()})
    {
        Ptr<PropagationLossModel> model = ch->GetPropagationLossModel();
        if (!model)
        {
            throw std::runtime_error("LTE channel has no path-loss model to chain the shadowing to");
        }
        while (model->GetNext())
        {
            model = model->GetNext();
        }
        model->SetNext(m_linkLoss);
    }
    if (m_cfg.fading)
    {
        // Rayleigh block fading on the DL (data, control and reference signals, hence CQI too).
        // UEs slower than a pedestrian count as one (moving scatterers), which also bounds the
        // block length: 3 km/h at 2.12 GHz gives T_c = 72 ms, well above the CQI feedback delay
        // (a few ms), so PF can exploit the fading (multi-user diversity).
        const double speed = std::max(m_cfg.speedMps, PEDESTRIAN_SPEED_MPS);
        m_fading = CreateObject<SliceFadingModel>();
        m_fading->SetAttribute("CoherenceTime",
                               TimeValue(SliceFadingModel::CoherenceTimeForSpeed(
                                   speed, m_cfg.carrierMhz * 1e6, MilliSeconds(1), Seconds(1))));
        m_lte->GetDownlinkSpectrumChannel()->AddSpectrumPropagationLossModel(m_fading);
    }
}

void
SliceScenarioHelper::InstallUes()
{
    const double z = m_cfg.propagationModel == "okumura_hata" ? UE_HEIGHT_M : 0.0;
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
        m_ueNodes.Get(u)->GetObject<MobilityModel>()->SetPosition(Vector(ue.x, ue.y, z));
        for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
        {
            m_linkLoss->SetLinkLossDb(m_ueNodes.Get(u)->GetId(), m_enbNodes.Get(c)->GetId(), ue.shadowingDb[c]);
        }
    }
    m_ueDevs = m_lte->InstallUeDevice(m_ueNodes);
    InternetStackHelper internet;
    internet.Install(m_ueNodes);
    m_epc->AssignUeIpv4Address(m_ueDevs);
    Ipv4StaticRoutingHelper routing;
    for (uint32_t u = 0; u < nUes; ++u)
    {
        Ptr<Ipv4StaticRouting> r = routing.GetStaticRouting(m_ueNodes.Get(u)->GetObject<Ipv4>());
        r->SetDefaultRoute(m_epc->GetUeDefaultGatewayAddress(), 1);
        m_imsiToUe[DynamicCast<LteUeNetDevice>(m_ueDevs.Get(u))->GetImsi()] = u;
        m_lte->Attach(m_ueDevs.Get(u), m_enbDevs.Get(m_cfg.ues[u].cell));
        // The slice's dedicated bearer carries the DL traffic to the slice port.
        const auto& slice = m_cfg.slices[m_cfg.ues[u].slice];
        Ptr<EpcTft> tft = Create<EpcTft>();
        EpcTft::PacketFilter pf;
        pf.localPortStart = SLICE_PORT_BASE + m_cfg.ues[u].slice;
        pf.localPortEnd = pf.localPortStart;
        tft->Add(pf);
        m_lte->ActivateDedicatedEpsBearer(m_ueDevs.Get(u), EpsBearer(static_cast<EpsBearer::Qci>(slice.qci)), tft);
    }
    Config::Connect("/NodeList/*/DeviceList/*/LteEnbRrc/ConnectionEstablished",
                    MakeCallback(&SliceScenarioHelper::OnConnectionEstablished, this));
    // RLC buffer drops count as loss when they happen (SliceKpiCollector::NotifyRlcDrop): every
    // new UE context -> its DRBs -> their RLC's TxDrop trace
    for (uint32_t c = 0; c < m_enbDevs.GetN(); ++c)
    {
        Ptr<LteEnbRrc> rrc = DynamicCast<LteEnbNetDevice>(m_enbDevs.Get(c))->GetRrc();
        rrc->TraceConnectWithoutContext("NewUeContext",
                                        MakeCallback(&SliceScenarioHelper::OnNewUeContext, this, c));
    }
}

void
SliceScenarioHelper::InstallTraffic()
{
    const uint32_t nCells = m_cfg.cells.size();
    const uint32_t nSlices = m_cfg.slices.size();
    m_collector = CreateObject<SliceKpiCollector>();
    m_collector->SetDimensions(nCells, nSlices, m_cfg.bandwidthPrb);
    m_collector->SetSlaDelayMs(m_cfg.slaDelayMs);
    for (uint32_t c = 0; c < nCells; ++c)
    {
        m_collector->SetCellScheduler(c, m_schedulers[c]);
        if (m_cfg.hasEdge)
        {
            // the cell's edge server sits on its eNB node (mobile edge computing next to the radio)
            Ptr<SliceEdgeServer> server = CreateObject<SliceEdgeServer>();
            server->SetAttribute("Capacity", DoubleValue(m_cfg.edgeCapacityCyclesPerS));
            server->SetAttribute("WorkConserving", BooleanValue(m_cfg.edgeWorkConserving));
            server->SetCyclesPerBit(m_cfg.edgeCyclesPerBit);
            m_enbNodes.Get(c)->AggregateObject(server);
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
    // 2 streams per source, after the LTE stack's streams.
    int64_t stream = 1000;
    stream += m_lte->AssignStreams(m_enbDevs, stream);
    stream += m_lte->AssignStreams(m_ueDevs, stream);
    for (auto& src : m_sources)
    {
        stream += src->AssignStreams(stream);
    }
    if (m_fading)
    {
        stream += m_fading->AssignStreams(stream);
    }
    m_collector->SetStepStartCallback(MakeCallback(&SliceScenarioHelper::ApplyLoad, this));
}

void
SliceScenarioHelper::ApplyLoad(uint32_t step)
{
    for (uint32_t u = 0; u < m_sources.size(); ++u)
    {
        const auto& ue = m_cfg.ues[u];
        m_sources[u]->SetRateScale(m_cfg.UeRateScale(ue.cell, ue.slice, m_ueRank[u], step));
    }
}

void
SliceScenarioHelper::OnNewUeContext(uint32_t cell, uint16_t cellId, uint16_t rnti)
{
    Ptr<LteEnbRrc> rrc = DynamicCast<LteEnbNetDevice>(m_enbDevs.Get(cell))->GetRrc();
    rrc->GetUeManager(rnti)->TraceConnectWithoutContext("DrbCreated",
                                                        MakeCallback(&SliceScenarioHelper::OnDrbCreated, this));
}

void
SliceScenarioHelper::OnDrbCreated(uint64_t imsi, uint16_t cellId, uint16_t rnti, uint8_t lcid)
{
    auto ue = m_imsiToUe.find(imsi);
    auto cell = m_cellIdToCell.find(cellId);
    if (!m_collector || ue == m_imsiToUe.end() || cell == m_cellIdToCell.end())
    {
        return;
    }
    std::ostringstream path;
    path << "/NodeList/" << m_enbNodes.Get(cell->second)->GetId() << "/DeviceList/*/LteEnbRrc/UeMap/" << rnti
         << "/DataRadioBearerMap/" << static_cast<uint32_t>(lcid - 2) << "/LteRlc/TxDrop";
    bool ok = Config::ConnectWithoutContextFailSafe(
        path.str(),
        MakeCallback(&SliceKpiCollector::NotifyRlcDrop, m_collector, ue->second));
    NS_ABORT_MSG_IF(!ok, "cannot connect the RLC drop trace " << path.str());
    m_collector->SetUeBearerUp(ue->second);
}

void
SliceScenarioHelper::OnConnectionEstablished(std::string context, uint64_t imsi, uint16_t cellId, uint16_t rnti)
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
    if (m_schedulers[cell->second])
    {
        m_schedulers[cell->second]->SetUeSlice(rnti, m_cfg.ues[ue->second].slice);
    }
}

} // namespace ns3
