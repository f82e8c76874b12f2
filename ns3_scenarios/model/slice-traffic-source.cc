// SPDX-License-Identifier: GPL-2.0-only
#include "slice-traffic-source.h"

#include "slice-contract.h"
#include "slice-packet-header.h"

#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/log.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket-factory.h"
#include "ns3/socket.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/uinteger.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/address.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceTrafficSource");
NS_OBJECT_ENSURE_REGISTERED(SliceTrafficSource);

TypeId
SliceTrafficSource::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::SliceTrafficSource")
            .SetParent<Application>()
            .SetGroupName("Slicebridge")
            .AddConstructor<SliceTrafficSource>()
            .AddAttribute("Remote",
                          "Destination address (InetSocketAddress of the UE's sink)",
                          AddressValue(),
                          MakeAddressAccessor(&SliceTrafficSource::m_remote),
                          MakeAddressChecker())
            .AddAttribute("TrafficModel",
                          "Traffic model",
                          EnumValue(SliceTrafficSource::CBR),
                          MakeEnumAccessor<Model>(&SliceTrafficSource::m_model),
                          MakeEnumChecker(SliceTrafficSource::CBR,
                                          "cbr",
                                          SliceTrafficSource::POISSON,
                                          "poisson",
                                          SliceTrafficSource::ONOFF,
                                          "onoff",
                                          SliceTrafficSource::PERIODIC,
                                          "periodic",
                                          SliceTrafficSource::FULL_BUFFER,
                                          "full_buffer",
                                          SliceTrafficSource::UNIFORM,
                                          "uniform",
                                          SliceTrafficSource::TRUNCATED_EXPONENTIAL,
                                          "truncated_exponential"))
            .AddAttribute("RateMbps",
                          "Rate in Mbit/s (mean for poisson, while on for onoff)",
                          DoubleValue(1.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_rateMbps),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("PacketSize",
                          "Application bytes per packet, header included",
                          UintegerValue(1200),
                          MakeUintegerAccessor(&SliceTrafficSource::m_packetSize),
                          MakeUintegerChecker<uint32_t>(SlicePacketHeader::SIZE, 65000))
            .AddAttribute("OnMs",
                          "Mean on duration (onoff), ms",
                          DoubleValue(100.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_onMs),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("OffMs",
                          "Mean off duration (onoff), ms",
                          DoubleValue(100.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_offMs),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("PeriodMs",
                          "Packet period (periodic), ms",
                          DoubleValue(20.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_periodMs),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("Jitter",
                          "Uniform inter-arrivals: half-width of their range / mean interval",
                          DoubleValue(1.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_jitter),
                          MakeDoubleChecker<double>(0.0, 1.0))
            .AddAttribute("Truncation",
                          "Truncated-exponential inter-arrivals: longest interval / mean interval (> 2)",
                          DoubleValue(3.0),
                          MakeDoubleAccessor(&SliceTrafficSource::m_truncation),
                          MakeDoubleChecker<double>(2.0))
            .AddTraceSource("Tx",
                            "A packet was sent",
                            MakeTraceSourceAccessor(&SliceTrafficSource::m_txTrace),
                            "ns3::SliceTrafficSource::TxTracedCallback");
    return tid;
}

SliceTrafficSource::SliceTrafficSource()
    : m_exp(CreateObject<ExponentialRandomVariable>()),
      m_uniform(CreateObject<UniformRandomVariable>())
{
    NS_LOG_FUNCTION(this);
}

SliceTrafficSource::~SliceTrafficSource() = default;

int64_t
SliceTrafficSource::AssignStreams(int64_t stream)
{
    m_exp->SetStream(stream);
    m_uniform->SetStream(stream + 1);
    return 2;
}

void
SliceTrafficSource::DoDispose()
{
    m_socket = nullptr;
    Application::DoDispose();
}

void
SliceTrafficSource::SetRateScale(double scale)
{
    NS_LOG_FUNCTION(this << scale);
    m_scale = std::max(0.0, scale);
    if (m_running && m_scale > 0 && m_on && !m_sendEvent.IsPending())
    {
        // resuming (e.g. switched on by an active-UE mask): a random phase, as at the start, so that
        // the sources switched on together do not send in lock-step
        ScheduleNext(NextInterval() * m_uniform->GetValue());
    }
}

double
SliceTrafficSource::GetRateScale() const
{
    return m_scale;
}

Time
SliceTrafficSource::NextInterval()
{
    if (m_model == PERIODIC)
    {
        return MilliSeconds(m_periodMs / m_scale);
    }
    double meanS = m_packetSize * 8.0 / (m_rateMbps * 1e6 * m_scale);
    if (m_model == POISSON)
    {
        return Seconds(m_exp->GetValue(meanS, 0.0));
    }
    if (m_model == UNIFORM)
    {
        return Seconds(m_uniform->GetValue(meanS * (1.0 - m_jitter), meanS * (1.0 + m_jitter)));
    }
    if (m_model == TRUNCATED_EXPONENTIAL)
    {
        // rejection keeps the exponential's shape below the bound; the scale keeps the mean at meanS
        const double theta = meanS * TruncatedExponentialScale(m_truncation);
        const double bound = meanS * m_truncation;
        double gap = m_exp->GetValue(theta, 0.0);
        while (gap > bound)
        {
            gap = m_exp->GetValue(theta, 0.0);
        }
        return Seconds(gap);
    }
    return Seconds(meanS);
}

void
SliceTrafficSource::ScheduleNext(Time delay)
{
    m_sendEvent = Simulator::Schedule(delay, &SliceTrafficSource::SendPacket, this);
}

void
SliceTrafficSource::StartApplication()
{
    NS_LOG_FUNCTION(this);
    m_running = true;
    if (!m_socket)
    {
        m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
        m_socket->Bind();
        m_socket->Connect(m_remote);
    }
    if (m_model == ONOFF)
    {
        m_on = m_uniform->GetValue() < m_onMs / (m_onMs + m_offMs);
        double mean = m_on ? m_onMs : m_offMs;
        m_toggleEvent = Simulator::Schedule(MilliSeconds(m_exp->GetValue(mean, 0.0)),
                                            &SliceTrafficSource::ToggleOnOff,
                                            this);
    }
    if (m_scale > 0 && m_on)
    {
        // random phase so that the sources of a cell do not send in lock-step
        ScheduleNext(NextInterval() * m_uniform->GetValue());
    }
}

void
SliceTrafficSource::StopApplication()
{
    NS_LOG_FUNCTION(this);
    m_running = false;
    m_sendEvent.Cancel();
    m_toggleEvent.Cancel();
}

void
SliceTrafficSource::ToggleOnOff()
{
    m_on = !m_on;
    if (m_on)
    {
        if (m_scale > 0 && !m_sendEvent.IsPending())
        {
            ScheduleNext(Seconds(0));
        }
    }
    else
    {
        m_sendEvent.Cancel();
    }
    double mean = m_on ? m_onMs : m_offMs;
    m_toggleEvent =
        Simulator::Schedule(MilliSeconds(m_exp->GetValue(mean, 0.0)), &SliceTrafficSource::ToggleOnOff, this);
}

void
SliceTrafficSource::SendPacket()
{
    if (!m_running || m_scale <= 0 || !m_on)
    {
        return;
    }
    SlicePacketHeader header;
    header.SetSeq(m_seq++);
    header.SetTxTime(Simulator::Now());
    Ptr<Packet> packet = Create<Packet>(m_packetSize - SlicePacketHeader::SIZE);
    packet->AddHeader(header);
    m_txTrace(packet);
    m_socket->Send(packet);
    ScheduleNext(NextInterval());
}

} // namespace ns3
