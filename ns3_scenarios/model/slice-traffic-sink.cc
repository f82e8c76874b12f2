// SPDX-License-Identifier: GPL-2.0-only
#include "slice-traffic-sink.h"

#include "slice-packet-header.h"

#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/log.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/uinteger.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceTrafficSink");
NS_OBJECT_ENSURE_REGISTERED(SliceTrafficSink);

TypeId
SliceTrafficSink::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SliceTrafficSink")
                            .SetParent<Application>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SliceTrafficSink>()
                            .AddAttribute("Port",
                                          "UDP port to listen on",
                                          UintegerValue(9),
                                          MakeUintegerAccessor(&SliceTrafficSink::m_port),
                                          MakeUintegerChecker<uint16_t>())
                            .AddTraceSource("Rx",
                                            "A packet was received: packet, delay, lost before it",
                                            MakeTraceSourceAccessor(&SliceTrafficSink::m_rxTrace),
                                            "ns3::SliceTrafficSink::RxTracedCallback");
    return tid;
}

SliceTrafficSink::SliceTrafficSink() = default;
SliceTrafficSink::~SliceTrafficSink() = default;

uint64_t
SliceTrafficSink::GetReceivedPackets() const
{
    return m_received;
}

uint64_t
SliceTrafficSink::GetLostPackets() const
{
    return m_lost;
}

void
SliceTrafficSink::DoDispose()
{
    m_socket = nullptr;
    Application::DoDispose();
}

void
SliceTrafficSink::StartApplication()
{
    NS_LOG_FUNCTION(this);
    if (!m_socket)
    {
        m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
        if (m_socket->Bind(InetSocketAddress(Ipv4Address::GetAny(), m_port)) == -1)
        {
            NS_FATAL_ERROR("SliceTrafficSink: cannot bind UDP port " << m_port);
        }
    }
    m_socket->SetRecvCallback(MakeCallback(&SliceTrafficSink::HandleRead, this));
}

void
SliceTrafficSink::StopApplication()
{
    if (m_socket)
    {
        m_socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
    }
}

void
SliceTrafficSink::HandleRead(Ptr<Socket> socket)
{
    Ptr<Packet> packet;
    Address from;
    while ((packet = socket->RecvFrom(from)))
    {
        if (packet->GetSize() < SlicePacketHeader::SIZE)
        {
            continue;
        }
        SlicePacketHeader header;
        packet->PeekHeader(header);
        Time delay = Simulator::Now() - header.GetTxTime();
        uint32_t lost = 0;
        uint32_t seq = header.GetSeq();
        if (seq >= m_expectedSeq)
        {
            lost = seq - m_expectedSeq;
            m_expectedSeq = seq + 1;
        }
        m_received++;
        m_lost += lost;
        m_rxTrace(packet, delay, lost);
    }
}

} // namespace ns3
