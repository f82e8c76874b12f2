// SPDX-License-Identifier: GPL-2.0-only
#include "slice-delay-trace.h"

#include "slice-packet-header.h"

#include "ns3/callback.h"
#include "ns3/config.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/node-list.h"
#include "ns3/node.h"
#include "ns3/simulator.h"

#include <stdexcept>

namespace ns3
{

namespace
{

std::ofstream
OpenCsv(const std::string& path, const char* header)
{
    std::ofstream out(path);
    if (!out)
    {
        throw std::runtime_error("--traceDir: cannot write " + path + " (does the directory exist?)");
    }
    out << header << '\n';
    return out;
}

} // namespace

int64_t
SliceDelayTrace::UeOf(const std::string& context) const
{
    const std::string prefix = "/NodeList/"; // a trace context starts "/NodeList/<id>/"
    auto it = m_ueOfNode.find(static_cast<uint32_t>(std::stoul(context.substr(prefix.size()))));
    return it == m_ueOfNode.end() ? -1 : it->second;
}

SliceDelayTrace::SliceDelayTrace(const std::string& dir)
    : m_packets(OpenCsv(dir + "/packets.csv", "rx_us,ue,seq,bytes,delay_us")),
      m_tb(OpenCsv(dir + "/tb.csv", "ms,ue,cell_id,rnti,mcs,size_bytes,rv,ndi,correct"))
{
    // UE index = IMSI - 1 (the helper installs the UE devices in runtime-JSON order)
    for (auto it = NodeList::Begin(); it != NodeList::End(); ++it)
    {
        for (uint32_t d = 0; d < (*it)->GetNDevices(); ++d)
        {
            if (auto ue = DynamicCast<LteUeNetDevice>((*it)->GetDevice(d)))
            {
                m_ueOfNode[(*it)->GetId()] = static_cast<int64_t>(ue->GetImsi()) - 1;
            }
        }
    }
    Config::Connect("/NodeList/*/ApplicationList/*/$ns3::SliceTrafficSink/Rx",
                    MakeCallback(&SliceDelayTrace::OnRx, this));
    Config::Connect(
        "/NodeList/*/DeviceList/*/ComponentCarrierMapUe/*/LteUePhy/DlSpectrumPhy/DlPhyReception",
        MakeCallback(&SliceDelayTrace::OnTb, this));
}

void
SliceDelayTrace::OnRx(std::string context, Ptr<const Packet> packet, Time delay, uint32_t /*lost*/)
{
    SlicePacketHeader header;
    packet->PeekHeader(header);
    m_packets << Simulator::Now().GetMicroSeconds() << ',' << UeOf(context) << ',' << header.GetSeq() << ','
              << packet->GetSize() << ',' << delay.GetMicroSeconds() << '\n';
}

void
SliceDelayTrace::OnTb(std::string context, PhyReceptionStatParameters p)
{
    m_tb << p.m_timestamp << ',' << UeOf(context) << ',' << p.m_cellId << ',' << p.m_rnti << ','
         << static_cast<uint32_t>(p.m_mcs) << ',' << p.m_size << ',' << static_cast<uint32_t>(p.m_rv) << ','
         << static_cast<uint32_t>(p.m_ndi) << ',' << static_cast<uint32_t>(p.m_correctness) << '\n';
}

} // namespace ns3
