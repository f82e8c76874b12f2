// SPDX-License-Identifier: GPL-2.0-only
#include "slice-packet-header.h"

#include "ns3/log.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SlicePacketHeader");
NS_OBJECT_ENSURE_REGISTERED(SlicePacketHeader);

TypeId
SlicePacketHeader::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SlicePacketHeader")
                            .SetParent<Header>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SlicePacketHeader>();
    return tid;
}

TypeId
SlicePacketHeader::GetInstanceTypeId() const
{
    return GetTypeId();
}

SlicePacketHeader::SlicePacketHeader() = default;

void
SlicePacketHeader::SetSeq(uint32_t seq)
{
    m_seq = seq;
}

uint32_t
SlicePacketHeader::GetSeq() const
{
    return m_seq;
}

void
SlicePacketHeader::SetTxTime(Time t)
{
    m_txTimeNs = t.GetNanoSeconds();
}

Time
SlicePacketHeader::GetTxTime() const
{
    return NanoSeconds(m_txTimeNs);
}

uint32_t
SlicePacketHeader::GetSerializedSize() const
{
    return SIZE;
}

void
SlicePacketHeader::Serialize(Buffer::Iterator start) const
{
    start.WriteHtonU32(m_seq);
    start.WriteHtonU64(static_cast<uint64_t>(m_txTimeNs));
}

uint32_t
SlicePacketHeader::Deserialize(Buffer::Iterator start)
{
    m_seq = start.ReadNtohU32();
    m_txTimeNs = static_cast<int64_t>(start.ReadNtohU64());
    return SIZE;
}

void
SlicePacketHeader::Print(std::ostream& os) const
{
    os << "seq=" << m_seq << " txTime=" << m_txTimeNs << "ns";
}

} // namespace ns3
