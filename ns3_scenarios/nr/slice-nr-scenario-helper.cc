// SPDX-License-Identifier: GPL-2.0-only
#include "slice-nr-scenario-helper.h"

#include "slice-fading-model.h"
#include "slice-kpi-collector.h"
#include "slice-link-loss-model.h"
#include "slice-nr-mac-scheduler.h"

#include "ns3/boolean.h"
#include "ns3/config.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/angles.h"
#include "ns3/ideal-beamforming-algorithm.h"
#include "ns3/ideal-beamforming-helper.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/isotropic-antenna-model.h"
#include "ns3/mobility-model.h"
#include "ns3/multi-model-spectrum-channel.h"
#include "ns3/nr-epc-tft.h"
#include "ns3/nr-eps-bearer.h"
#include "ns3/nr-gnb-net-device.h"
#include "ns3/nr-gnb-rrc.h"
#include "ns3/nr-helper.h"
#include "ns3/nr-point-to-point-epc-helper.h"
#include "ns3/nr-ue-net-device.h"
#include "ns3/object-factory.h"
#include "ns3/parabolic-antenna-model.h"
#include "ns3/pointer.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <cmath>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceNrScenarioHelper");

namespace
{
constexpr double CHANNEL_RASTER_HZ = 100e3; //!< 5G-LENA sets channel bandwidths in 100 kHz units
constexpr double UE_TX_POWER_DBM = 23.0;    //!< UE power class 3 (38.101-1)
// TDD, synchronised in every cell: DL slots, a special slot (DL, guard, UL control), an UL slot.
// 5G-LENA's default (every slot flexible) lets one cell's DL data meet a co-sited cell's UL
// symbols: with sectors on one site the gNB-to-gNB interference then wipes out the UL control
// (HARQ feedback, CQI) and with it the DL (measured: throughput near 0 on nr_default's 3 sectors).
constexpr const char* TDD_PATTERN = "DL|DL|DL|S|UL|DL|DL|DL|S|UL|";

/// Call @p f with the slice scheduler behind @p sched (PF or RR flavour); false when it is a stock one.
template <class F>
bool
WithSliceScheduler(const Ptr<NrMacScheduler>& sched, F f)
{
    if (auto pf = DynamicCast<SliceNrMacSchedulerPf>(sched))
    {
        f(*pf);
        return true;
    }
    if (auto rr = DynamicCast<SliceNrMacSchedulerRr>(sched))
    {
        f(*rr);
        return true;
    }
    return false;
}
} // namespace

SliceNrScenarioHelper::SliceNrScenarioHelper() = default;
SliceNrScenarioHelper::~SliceNrScenarioHelper() = default;

Ptr<NrMacScheduler>
SliceNrScenarioHelper::GetCellMacScheduler(uint32_t cell) const
{
    return m_macSchedulers.at(cell);
}

void
SliceNrScenarioHelper::ConfigureDefaults()
{
    Config::SetDefault("ns3::NrGnbRrc::EpsBearerToRlcMapping", EnumValue(NrGnbRrc::RLC_UM_ALWAYS));
    Config::SetDefault("ns3::NrRlcUm::MaxTxBufferSize", UintegerValue(m_cfg.bufferBytes));
    // as in the LTE program: TxDrop then means a real tail drop at MaxTxBufferSize (the loss KPI)
    Config::SetDefault("ns3::NrRlcUm::EnablePdcpDiscarding", BooleanValue(false));
    // The scenario's carrier is exactly bandwidth_prb PRBs (see Build): no RB overhead.
    Config::SetDefault("ns3::NrGnbPhy::RbOverhead", DoubleValue(0.0));
    Config::SetDefault("ns3::NrPointToPointEpcHelper::S1uLinkDelay", TimeValue(Seconds(0)));
}

void
SliceNrScenarioHelper::Build(const SliceRuntimeConfig& config)
{
    m_cfg = config;
    if (m_cfg.technology != "nr")
    {
        throw std::runtime_error("radio.technology '" + m_cfg.technology +
                                 "' is not supported by slicebridge-nr (NR only): LTE scenarios run on slicebridge-lte");
    }
    if (m_cfg.numerology > 4)
    {
        throw std::runtime_error("radio.numerology " + std::to_string(m_cfg.numerology) + " unsupported; allowed: 0-4");
    }
    ConfigureDefaults();
    m_nr = CreateObject<NrHelper>();
    m_epc = CreateObject<NrPointToPointEpcHelper>();
    Ptr<IdealBeamformingHelper> beamforming = CreateObject<IdealBeamformingHelper>();
    // gNB quasi-omni: every UE of a cell is in the same beam, so OFDMA shares the RBGs among them
    beamforming->SetAttribute("BeamformingMethod", TypeIdValue(QuasiOmniDirectPathBeamforming::GetTypeId()));
    m_nr->SetBeamformingHelper(beamforming);
    m_nr->SetEpcHelper(m_epc);
    const bool rr = m_cfg.scheduler == "rr";
    if (m_schedulerKind == "slice")
    {
        m_nr->SetSchedulerTypeId(rr ? SliceNrMacSchedulerRr::GetTypeId() : SliceNrMacSchedulerPf::GetTypeId());
    }
    else
    {
        m_nr->SetSchedulerTypeId(TypeId::LookupByName(rr ? "ns3::NrMacSchedulerOfdmaRR" : "ns3::NrMacSchedulerOfdmaPF"));
    }
    // NR MCS/CQI table 1 (64-QAM), incremental-redundancy HARQ
    m_nr->SetDlErrorModel("ns3::NrEesmIrT1");
    m_nr->SetUlErrorModel("ns3::NrEesmIrT1");
    m_nr->SetGnbPhyAttribute("Numerology", UintegerValue(m_cfg.numerology));
    m_nr->SetGnbPhyAttribute("TxPower", DoubleValue(m_cfg.txPowerDbm));
    m_nr->SetGnbPhyAttribute("Pattern", StringValue(TDD_PATTERN));
    m_nr->SetUePhyAttribute("NoiseFigure", DoubleValue(m_cfg.noiseFigureDb));
    // 3GPP power class 3 (5G-LENA's default of 2 dBm loses the UL control: HARQ feedback, CQI)
    m_nr->SetUePhyAttribute("TxPower", DoubleValue(UE_TX_POWER_DBM));
    m_nr->SetUeAntennaAttribute("NumRows", UintegerValue(1));
    m_nr->SetUeAntennaAttribute("NumColumns", UintegerValue(1));
    m_nr->SetUeAntennaAttribute("AntennaElement", PointerValue(CreateObject<IsotropicAntennaModel>()));
    // 1x1 isotropic gNB arrays: 5G-LENA applies antenna patterns only through a phased-array channel
    // model (3GPP fast fading), which this channel has not, so the sector pattern is a link loss
    // (AddSectorPatterns)
    m_nr->SetGnbAntennaAttribute("NumRows", UintegerValue(1));
    m_nr->SetGnbAntennaAttribute("NumColumns", UintegerValue(1));
    m_nr->SetGnbAntennaAttribute("AntennaElement", PointerValue(CreateObject<IsotropicAntennaModel>()));

    auto [remoteHost, remoteAddress] = m_epc->SetupRemoteHost("100Gb/s", 1600, Seconds(0));
    m_remoteHost = remoteHost;

    InstallGnbs();
    InstallUes();
    std::vector<SliceCellScheduler*> schedulers;
    for (const auto& sched : m_macSchedulers)
    {
        SliceCellScheduler* slice = nullptr;
        WithSliceScheduler(sched, [&](auto& s) {
            s.SetWorkConserving(m_cfg.workConserving);
            s.SetSlotsPerSecond(1000.0 * (1u << m_cfg.numerology));
            slice = &s;
        });
        schedulers.push_back(slice);
    }
    InstallApplications(schedulers);
    Simulator::ScheduleDestroy(&SliceNrScenarioHelper::ReportHarq, this);
    int64_t stream = 1000;
    stream += m_nr->AssignStreams(m_gnbDevs, stream);
    stream += m_nr->AssignStreams(m_ueDevs, stream);
    stream += AssignSourceStreams(stream);
    if (m_fading)
    {
        stream += m_fading->AssignStreams(stream);
    }
}

void
SliceNrScenarioHelper::ReportHarq() const
{
    auto join = [](const std::vector<uint64_t>& v) {
        std::ostringstream out;
        for (size_t i = 0; i < v.size(); ++i)
        {
            out << (i ? "," : "") << v[i];
        }
        return out.str();
    };
    for (uint32_t c = 0; c < m_macSchedulers.size(); ++c)
    {
        WithSliceScheduler(m_macSchedulers[c], [&](const auto& s) {
            std::cout << "slicebridge-nr: cell " << c << " DL PRB-symbols per slice: all " << join(s.GetDlPrbSymbols())
                      << " harq " << join(s.GetHarqPrbSymbols()) << " harq_outside_block "
                      << join(s.GetHarqLeakPrbSymbols()) << "\n";
        });
    }
}

void
SliceNrScenarioHelper::InstallGnbs()
{
    // One band, one CC, one BWP of exactly bandwidth_prb PRBs.
    const double scsHz = 15e3 * (1u << m_cfg.numerology);
    const double prbHz = 12 * scsHz;
    const double channelHz = std::ceil(m_cfg.bandwidthPrb * prbHz / CHANNEL_RASTER_HZ - 1e-9) * CHANNEL_RASTER_HZ;
    CcBwpCreator ccBwpCreator;
    CcBwpCreator::SimpleOperationBandConf bandConf(m_cfg.carrierMhz * 1e6, channelHz, 1);
    m_band = ccBwpCreator.CreateOperationBandContiguousCc(bandConf);

    // The scenario's path loss, then the per-link shadowing; no 3GPP fast fading.
    CreateCellNodes();
    const SlicePathLoss pathLoss = PathLossFor(m_cfg);
    ObjectFactory factory(pathLoss.typeName);
    for (const auto& [name, value] : pathLoss.attributes)
    {
        factory.Set(name, *value);
    }
    Ptr<PropagationLossModel> loss = factory.Create<PropagationLossModel>();
    loss->SetNext(m_linkLoss);
    Ptr<MultiModelSpectrumChannel> channel = CreateObject<MultiModelSpectrumChannel>();
    channel->AddPropagationLossModel(loss);
    m_fading = CreateFading();
    if (m_fading)
    {
        // as in the LTE program, which has it on the DL only (NR's one TDD channel carries both)
        channel->AddSpectrumPropagationLossModel(m_fading);
    }
    m_band.GetBwpAt(0, 0)->SetChannel(channel);
    m_bwps = CcBwpCreator::GetAllBwps({m_band});

    for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
    {
        Ptr<NetDevice> dev = m_nr->InstallGnbDevice(NodeContainer(m_cellNodes.Get(c)), m_bwps).Get(0);
        m_gnbDevs.Add(dev);
        Ptr<NrGnbNetDevice> gnb = DynamicCast<NrGnbNetDevice>(dev);
        m_cellIdToCell[gnb->GetCellId()] = c;
        m_macSchedulers.push_back(NrHelper::GetScheduler(dev, 0));
    }
}

void
SliceNrScenarioHelper::AddSectorPatterns()
{
    for (uint32_t c = 0; c < m_cfg.cells.size(); ++c)
    {
        const auto& cell = m_cfg.cells[c];
        if (cell.omni)
        {
            continue;
        }
        Ptr<ParabolicAntennaModel> pattern = CreateObject<ParabolicAntennaModel>();
        pattern->SetAttribute("Beamwidth", DoubleValue(m_cfg.beamwidthDeg));
        pattern->SetAttribute("Orientation", DoubleValue(cell.azimuthDeg));
        pattern->SetAttribute("MaxAttenuation", DoubleValue(m_cfg.maxAttenuationDb));
        const Vector site = m_cellNodes.Get(c)->GetObject<MobilityModel>()->GetPosition();
        for (uint32_t u = 0; u < m_cfg.ues.size(); ++u)
        {
            const uint32_t ue = m_ueNodes.Get(u)->GetId();
            const uint32_t gnb = m_cellNodes.Get(c)->GetId();
            const Vector where = m_ueNodes.Get(u)->GetObject<MobilityModel>()->GetPosition();
            // the pattern towards the UE's initial position (UEs that move keep that angle)
            const double gainDb = pattern->GetGainDb(Angles(where, site));
            m_linkLoss->SetLinkLossDb(ue, gnb, m_linkLoss->GetLinkLossDb(ue, gnb) - gainDb);
        }
    }
}

void
SliceNrScenarioHelper::InstallUes()
{
    CreateUeNodes();
    AddSectorPatterns();
    m_ueDevs = m_nr->InstallUeDevice(m_ueNodes, m_bwps);
    InternetStackHelper internet;
    internet.Install(m_ueNodes);
    m_epc->AssignUeIpv4Address(m_ueDevs);
    ConnectUes(
        m_ueDevs,
        m_epc->GetUeDefaultGatewayAddress(),
        [](Ptr<NetDevice> dev) { return DynamicCast<NrUeNetDevice>(dev)->GetImsi(); },
        [this](uint32_t u, uint16_t port, uint8_t qci) {
            m_nr->AttachToGnb(m_ueDevs.Get(u), m_gnbDevs.Get(m_cfg.ues[u].cell));
            m_nr->ActivateDedicatedEpsBearer(m_ueDevs.Get(u), NrEpsBearer(static_cast<NrEpsBearer::Qci>(qci)),
                                            PortTft<NrEpcTft>(port));
        });
    WatchRrc("NrGnbRrc", "NrRlc");
}

} // namespace ns3
