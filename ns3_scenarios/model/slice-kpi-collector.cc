// SPDX-License-Identifier: GPL-2.0-only
#include "slice-kpi-collector.h"

#include "slice-contract.h"
#include "slice-edge-server.h"
#include "slice-packet-header.h"

#include "ns3/abort.h"
#include "ns3/ipv4-header.h"
#include "ns3/lte-pdcp-header.h"
#include "ns3/udp-header.h"
#include "ns3/log.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceKpiCollector");
NS_OBJECT_ENSURE_REGISTERED(SliceKpiCollector);

TypeId
SliceKpiCollector::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::SliceKpiCollector")
            .SetParent<Object>()
            .SetGroupName("Slicebridge")
            .AddConstructor<SliceKpiCollector>()
            .AddAttribute("DecisionPeriod",
                          "Length of one decision period",
                          TimeValue(MilliSeconds(100)),
                          MakeTimeAccessor(&SliceKpiCollector::m_period),
                          MakeTimeChecker(MilliSeconds(1)))
            .AddAttribute("Warmup",
                          "Warm-up before period 0",
                          TimeValue(Seconds(0)),
                          MakeTimeAccessor(&SliceKpiCollector::m_warmup),
                          MakeTimeChecker(Seconds(0)))
            .AddAttribute("Steps",
                          "Number of decision periods",
                          UintegerValue(1),
                          MakeUintegerAccessor(&SliceKpiCollector::m_steps),
                          MakeUintegerChecker<uint32_t>(1))
            .AddAttribute("OutputPath",
                          "File for the KPI JSON lines (empty: none)",
                          StringValue(""),
                          MakeStringAccessor(&SliceKpiCollector::m_outputPath),
                          MakeStringChecker())
            .AddTraceSource("Kpis",
                            "KPI tensor at the end of a decision period",
                            MakeTraceSourceAccessor(&SliceKpiCollector::m_kpisTrace),
                            "ns3::SliceKpiCollector::KpisTracedCallback");
    return tid;
}

SliceKpiCollector::SliceKpiCollector() = default;
SliceKpiCollector::~SliceKpiCollector() = default;

void
SliceKpiCollector::DoDispose()
{
    m_schedulers.clear();
    m_edges.clear();
    m_controller = nullptr;
    if (m_out.is_open())
    {
        m_out.close();
    }
    Object::DoDispose();
}

void
SliceKpiCollector::SetDimensions(uint32_t nCells, uint32_t nSlices, uint16_t bandwidthPrb)
{
    m_nCells = nCells;
    m_nSlices = nSlices;
    m_bandwidthPrb = bandwidthPrb;
    m_schedulers.assign(nCells, nullptr);
    m_edges.assign(nCells, nullptr);
    m_prbMark.assign(nCells, std::vector<uint64_t>(nSlices, 0));
    m_counters.assign(nCells, std::vector<Counters>(nSlices));
    m_shares.assign(nCells, std::vector<double>(nSlices, 1.0 / nSlices));
    m_slaDelayMs.assign(nCells, std::vector<double>(nSlices, 1e9));
}

uint32_t
SliceKpiCollector::AddUe(uint32_t cell, uint32_t slice)
{
    NS_ABORT_MSG_IF(cell >= m_nCells || slice >= m_nSlices, "SliceKpiCollector::AddUe out of range");
    Ue u;
    u.cell = cell;
    u.slice = slice;
    m_ues.push_back(u);
    return m_ues.size() - 1;
}

void
SliceKpiCollector::SetUeRnti(uint32_t ue, uint16_t rnti)
{
    m_ues.at(ue).rnti = rnti;
}

void
SliceKpiCollector::SetUeBearerUp(uint32_t ue)
{
    m_ues.at(ue).bearerUp = true;
}

void
SliceKpiCollector::SetSlaDelayMs(const ShareMatrix& delayMs)
{
    m_slaDelayMs = delayMs;
}

void
SliceKpiCollector::SetCellScheduler(uint32_t cell, SliceCellScheduler* scheduler)
{
    m_schedulers.at(cell) = scheduler;
}

void
SliceKpiCollector::SetEdgeServer(uint32_t cell, Ptr<SliceEdgeServer> server)
{
    m_edges.at(cell) = server;
}

ShareMatrix
SliceKpiCollector::SharesInForce() const
{
    ShareMatrix rows = m_shares;
    for (uint32_t c = 0; c < m_nCells; ++c)
    {
        if (m_edges[c])
        {
            const auto& compute = m_edges[c]->GetShares();
            rows[c].insert(rows[c].end(), compute.begin(), compute.end());
        }
    }
    return rows;
}

void
SliceKpiCollector::SetController(Ptr<SliceController> controller)
{
    m_controller = controller;
}

void
SliceKpiCollector::SetInitialShares(const ShareMatrix& shares)
{
    ApplyShares(shares);
}

void
SliceKpiCollector::SetStepStartCallback(Callback<void, uint32_t> cb)
{
    m_stepStart = cb;
}

void
SliceKpiCollector::ApplyShares(const ShareMatrix& shares)
{
    NS_ABORT_MSG_IF(shares.size() != m_nCells, "share matrix has " << shares.size() << " rows, expected "
                                                                    << m_nCells << " cells");
    for (uint32_t c = 0; c < m_nCells; ++c)
    {
        // a row is [bandwidth shares] or, with an edge server, [bandwidth shares, compute shares]
        const uint32_t groups = shares[c].size() / m_nSlices;
        NS_ABORT_MSG_IF(shares[c].size() % m_nSlices != 0 || groups < 1 || groups > (m_edges[c] ? 2u : 1u),
                        "share row of cell " << c << " has " << shares[c].size() << " values, expected "
                                             << m_nSlices << (m_edges[c] ? " or twice that (bandwidth, compute)" : ""));
        for (uint32_t g = 0; g < groups; ++g)
        {
            double sum = 0;
            for (uint32_t s = 0; s < m_nSlices; ++s)
            {
                const double v = shares[c][g * m_nSlices + s];
                NS_ABORT_MSG_IF(!(v >= 0), "negative or NaN share in cell " << c);
                sum += v;
            }
            NS_ABORT_MSG_IF(sum <= 0, "shares of cell " << c << " sum to 0");
            std::vector<double> row(m_nSlices);
            for (uint32_t s = 0; s < m_nSlices; ++s)
            {
                row[s] = shares[c][g * m_nSlices + s] / sum;
            }
            if (g == 1)
            {
                m_edges[c]->SetShares(row);
                continue;
            }
            m_shares[c] = row;
            if (m_schedulers[c])
            {
                m_schedulers[c]->SetShares(m_shares[c]);
            }
        }
    }
}

void
SliceKpiCollector::Start()
{
    NS_ABORT_MSG_IF(!m_controller, "SliceKpiCollector: no controller");
    if (!m_outputPath.empty())
    {
        m_out.open(m_outputPath, std::ios::out | std::ios::trunc);
        NS_ABORT_MSG_IF(!m_out, "cannot open KPI output " << m_outputPath);
    }
    m_periodStart = Simulator::Now();
    if (!m_stepStart.IsNull())
    {
        m_stepStart(0);
    }
    Simulator::Schedule(m_warmup, &SliceKpiCollector::EndWarmup, this);
}

void
SliceKpiCollector::NotifyTx(uint32_t ue, Ptr<const Packet> packet)
{
    Ue& u = m_ues[ue];
    Counters& k = m_counters[u.cell][u.slice];
    k.offeredBytes += packet->GetSize();
    k.offeredPackets++;
    u.offered = true;
    if (!u.bearerUp)
    {
        // no radio bearer yet: the EPC drops the packet silently; count it once (the sink's sequence
        // gap will skip it, as for an RLC drop)
        SlicePacketHeader header;
        if (packet->GetSize() >= SlicePacketHeader::SIZE)
        {
            packet->PeekHeader(header);
            u.rlcDropped.insert(header.GetSeq());
        }
        k.lost++;
    }
}

void
SliceKpiCollector::NotifyRlcDrop(uint32_t ue, Ptr<const Packet> pdcpPdu)
{
    Ue& u = m_ues.at(ue);
    // PDCP PDU = PDCP header + IPv4 + UDP + our header: its sequence number lets the sink tell
    // these drops from losses on the air
    Ptr<Packet> p = pdcpPdu->Copy();
    LtePdcpHeader pdcp;
    Ipv4Header ip;
    UdpHeader udp;
    SlicePacketHeader header;
    if (p->RemoveHeader(pdcp) == 0 || p->RemoveHeader(ip) == 0 || p->RemoveHeader(udp) == 0 ||
        p->GetSize() < SlicePacketHeader::SIZE)
    {
        return; // not one of our application packets
    }
    p->PeekHeader(header);
    u.rlcDropped.insert(header.GetSeq());
    m_counters[u.cell][u.slice].lost++;
}

void
SliceKpiCollector::NotifyRx(uint32_t ue, Ptr<const Packet> packet, Time delay, uint32_t lost)
{
    Ue& u = m_ues[ue];
    Counters& k = m_counters[u.cell][u.slice];
    double ms = delay.GetSeconds() * 1e3;
    // the gap [seq - lost, seq) was lost: RLC drops are already counted, the rest was lost on the air
    SlicePacketHeader header;
    packet->PeekHeader(header);
    const uint32_t seq = header.GetSeq();
    uint32_t known = 0;
    for (auto it = u.rlcDropped.begin(); it != u.rlcDropped.end() && *it < seq;)
    {
        known += *it + lost >= seq ? 1 : 0;
        it = u.rlcDropped.erase(it);
    }
    k.lost += lost > known ? lost - known : 0;
    const uint32_t bytes = packet->GetSize();
    if (!m_edges[u.cell])
    {
        Deliver(ue, bytes, ms, 0.0);
        return;
    }
    // processed at the cell's edge server first: delivered when that completes
    m_edges[u.cell]->Submit(u.slice, bytes * 8.0, [this, ue, bytes, ms](Time sojourn) {
        const double computeMs = sojourn.GetSeconds() * 1e3;
        Deliver(ue, bytes, ms + computeMs, computeMs);
    });
}

void
SliceKpiCollector::Deliver(uint32_t ue, uint32_t bytes, double delayMs, double computeMs)
{
    const Ue& u = m_ues[ue];
    Counters& k = m_counters[u.cell][u.slice];
    k.rxBytes += bytes;
    k.rxPackets++;
    k.delaysMs.push_back(delayMs);
    k.computeDelaySumMs += computeMs;
    if (delayMs <= m_slaDelayMs[u.cell][u.slice])
    {
        k.withinBudget++;
    }
}

KpiTensor
SliceKpiCollector::Measure(double periodS)
{
    KpiTensor kpis(m_nCells, std::vector<SliceKpiVector>(m_nSlices));
    std::vector<std::vector<double>> seSum(m_nCells, std::vector<double>(m_nSlices, 0.0));
    std::vector<std::vector<uint32_t>> seCount(m_nCells, std::vector<uint32_t>(m_nSlices, 0));
    for (auto& row : kpis)
    {
        for (auto& v : row)
        {
            v.fill(0.0);
        }
    }
    for (const Ue& u : m_ues)
    {
        auto& v = kpis[u.cell][u.slice];
        const SliceCellScheduler* sched = m_schedulers[u.cell];
        uint64_t backlog = (sched && u.rnti) ? sched->GetUeBacklogBytes(u.rnti) : 0;
        v[KPI_BACKLOG_BYTES] += static_cast<double>(backlog);
        if (u.offered || backlog > 0)
        {
            v[KPI_ACTIVE_UES] += 1;
        }
        int cqi = (sched && u.rnti) ? sched->GetUeWidebandCqi(u.rnti) : -1;
        if (cqi >= 0)
        {
            seSum[u.cell][u.slice] += SliceCqiSpectralEfficiency(cqi);
            seCount[u.cell][u.slice]++;
        }
    }
    for (uint32_t c = 0; c < m_nCells; ++c)
    {
        const double slotsPerS = m_schedulers[c] ? m_schedulers[c]->GetSlotsPerSecond() : 1000.0;
        const double ttis = std::max(1.0, std::round(periodS * slotsPerS));
        for (uint32_t s = 0; s < m_nSlices; ++s)
        {
            Counters& k = m_counters[c][s];
            auto& v = kpis[c][s];
            v[KPI_OFFERED_MBPS] = k.offeredBytes * 8.0 / periodS / 1e6;
            v[KPI_THROUGHPUT_MBPS] = k.rxBytes * 8.0 / periodS / 1e6;
            if (!k.delaysMs.empty())
            {
                std::vector<double>& d = k.delaysMs;
                double sum = 0;
                for (double x : d)
                {
                    sum += x;
                }
                v[KPI_DELAY_MEAN_MS] = sum / d.size();
                std::sort(d.begin(), d.end());
                double pos = 0.95 * (d.size() - 1);
                size_t lo = static_cast<size_t>(std::floor(pos));
                size_t hi = std::min(lo + 1, d.size() - 1);
                v[KPI_DELAY_P95_MS] = d[lo] + (pos - lo) * (d[hi] - d[lo]);
            }
            if (k.offeredPackets > 0)
            {
                v[KPI_LOSS_RATIO] = std::min(1.0, double(k.lost) / k.offeredPackets);
                v[KPI_SLA_RATIO] = std::min(1.0, double(k.withinBudget) / k.offeredPackets);
            }
            else
            {
                v[KPI_LOSS_RATIO] = 0.0;
                v[KPI_SLA_RATIO] = k.rxPackets > 0 ? double(k.withinBudget) / k.rxPackets : 1.0;
            }
            if (m_schedulers[c] && m_bandwidthPrb > 0)
            {
                const auto& cum = m_schedulers[c]->GetCumulativeSlicePrbs();
                uint64_t used = s < cum.size() ? cum[s] - m_prbMark[c][s] : 0;
                v[KPI_PRB_USED_SHARE] = std::min(1.0, used / (m_bandwidthPrb * ttis));
            }
            v[KPI_SHARE_ASSIGNED] = m_shares[c][s];
            if (m_edges[c])
            {
                v[KPI_COMPUTE_SHARE] = m_edges[c]->GetShares()[s];
                v[KPI_COMPUTE_DELAY_MS] = k.rxPackets ? k.computeDelaySumMs / k.rxPackets : 0.0;
            }
            v[KPI_SPECTRAL_EFF_BPS_HZ] = seCount[c][s] ? seSum[c][s] / seCount[c][s] : 0.0;
        }
    }
    return kpis;
}

void
SliceKpiCollector::ResetPeriod()
{
    for (uint32_t c = 0; c < m_nCells; ++c)
    {
        for (uint32_t s = 0; s < m_nSlices; ++s)
        {
            m_counters[c][s] = Counters();
            if (m_schedulers[c])
            {
                const auto& cum = m_schedulers[c]->GetCumulativeSlicePrbs();
                m_prbMark[c][s] = s < cum.size() ? cum[s] : 0;
            }
        }
    }
    for (Ue& u : m_ues)
    {
        u.offered = false;
    }
    m_periodStart = Simulator::Now();
}

void
SliceKpiCollector::EndWarmup()
{
    double periodS = (Simulator::Now() - m_periodStart).GetSeconds();
    KpiTensor warm = periodS > 0 ? Measure(periodS) : KpiTensor(m_nCells, std::vector<SliceKpiVector>(m_nSlices));
    ApplyShares(m_controller->Start(warm, SharesInForce()));
    ResetPeriod();
    Simulator::Schedule(m_period, &SliceKpiCollector::EndPeriod, this, 0);
}

void
SliceKpiCollector::EndPeriod(uint32_t step)
{
    KpiTensor kpis = Measure(m_period.GetSeconds());
    bool last = step + 1 >= m_steps;
    if (m_out.is_open())
    {
        nlohmann::json line;
        line["step"] = step;
        line["time_s"] = Simulator::Now().GetSeconds();
        nlohmann::json cells = nlohmann::json::array();
        for (const auto& row : kpis)
        {
            nlohmann::json slices = nlohmann::json::array();
            for (const auto& v : row)
            {
                slices.push_back(std::vector<double>(v.begin(), v.end()));
            }
            cells.push_back(slices);
        }
        line["kpi"] = cells;
        m_out << line.dump() << '\n';
        m_out.flush();
    }
    m_kpisTrace(step, kpis);
    ShareMatrix next = m_controller->Decide(step, kpis, last);
    if (last)
    {
        Simulator::Stop();
        return;
    }
    ApplyShares(next);
    if (!m_stepStart.IsNull())
    {
        m_stepStart(step + 1);
    }
    ResetPeriod();
    Simulator::Schedule(m_period, &SliceKpiCollector::EndPeriod, this, step + 1);
}

} // namespace ns3
