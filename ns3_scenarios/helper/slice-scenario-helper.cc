// SPDX-License-Identifier: GPL-2.0-only
#include "slice-scenario-helper.h"

#include "slice-fading-model.h"
#include "slice-ff-mac-scheduler.h"
#include "slice-kpi-collector.h"
#include "slice-link-loss-model.h"

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
    // radio.cqi_source: pdcch measures the CQI against the control channel, which every eNB sends in every
    // TTI (full-load interference); pdsch against the data channel of the measured TTI.
    Config::SetDefault("ns3::LteHelper::UsePdschForCqiGeneration", BooleanValue(m_cfg.cqiSource == "pdsch"));
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
    const SlicePathLoss pathLoss = PathLossFor(m_cfg);
    m_lte->SetPathlossModelType(TypeId::LookupByName(pathLoss.typeName));
    for (const auto& [name, value] : pathLoss.attributes)
    {
        m_lte->SetPathlossModelAttribute(name, *value);
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
    CreateCellNodes();
    for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
    {
        const auto& cell = m_cfg.cells[c];
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
        Ptr<NetDevice> dev = m_lte->InstallEnbDevice(NodeContainer(m_cellNodes.Get(c))).Get(0);
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
    // Per-link shadowing (CreateCellNodes made it), appended to the end of the path-loss chain of both channels.
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
    m_fading = CreateFading();
    if (m_fading)
    {
        // on the DL only: data, control and reference signals, hence CQI too
        m_lte->GetDownlinkSpectrumChannel()->AddSpectrumPropagationLossModel(m_fading);
    }
}

void
SliceScenarioHelper::InstallUes()
{
    CreateUeNodes();
    m_ueDevs = m_lte->InstallUeDevice(m_ueNodes);
    InternetStackHelper internet;
    internet.Install(m_ueNodes);
    m_epc->AssignUeIpv4Address(m_ueDevs);
    ConnectUes(
        m_ueDevs,
        m_epc->GetUeDefaultGatewayAddress(),
        [](Ptr<NetDevice> dev) { return DynamicCast<LteUeNetDevice>(dev)->GetImsi(); },
        [this](uint32_t u, uint16_t port, uint8_t qci) {
            m_lte->Attach(m_ueDevs.Get(u), m_enbDevs.Get(m_cfg.ues[u].cell));
            m_lte->ActivateDedicatedEpsBearer(m_ueDevs.Get(u), EpsBearer(static_cast<EpsBearer::Qci>(qci)),
                                             PortTft<EpcTft>(port));
        });
    WatchRrc("LteEnbRrc", "LteRlc");
}

void
SliceScenarioHelper::InstallTraffic()
{
    std::vector<SliceCellScheduler*> schedulers;
    for (const auto& sched : m_schedulers)
    {
        schedulers.push_back(PeekPointer(sched));
    }
    InstallApplications(schedulers);
    // 2 streams per source, after the LTE stack's streams.
    int64_t stream = 1000;
    stream += m_lte->AssignStreams(m_enbDevs, stream);
    stream += m_lte->AssignStreams(m_ueDevs, stream);
    stream += AssignSourceStreams(stream);
    if (m_fading)
    {
        stream += m_fading->AssignStreams(stream);
    }
}

} // namespace ns3
