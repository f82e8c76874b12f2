// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_TRAFFIC_SOURCE_H
#define SLICE_TRAFFIC_SOURCE_H

#include "ns3/address.h"
#include "ns3/application.h"
#include "ns3/event-id.h"
#include "ns3/random-variable-stream.h"
#include "ns3/traced-callback.h"

namespace ns3
{

class Socket;
class Packet;

/**
 * @brief UDP source of one UE's slice traffic (downlink, runs on the remote host).
 *
 * Traffic models (attribute TrafficModel): CBR, POISSON (exponential inter-arrivals), ONOFF
 * (CBR while on, exponential on/off durations), PERIODIC (one packet every PeriodMs),
 * FULL_BUFFER (CBR at RateMbps, meant to exceed the cell capacity), UNIFORM (inter-arrivals
 * uniform on m [1 - Jitter, 1 + Jitter]) and TRUNCATED_EXPONENTIAL (exponential inter-arrivals
 * redrawn above Truncation * m, with the mean kept at m), m the mean interval of RateMbps. Every packet is PacketSize
 * bytes of application data and starts with a SlicePacketHeader (sequence number, send time).
 * SetRateScale() multiplies the rate (PERIODIC: divides the period) from the next packet on;
 * a scale of 0 stops the source until the scale is positive again.
 */
class SliceTrafficSource : public Application
{
  public:
    enum Model
    {
        CBR,
        POISSON,
        ONOFF,
        PERIODIC,
        FULL_BUFFER,
        UNIFORM,
        TRUNCATED_EXPONENTIAL
    };

    static TypeId GetTypeId();
    SliceTrafficSource();
    ~SliceTrafficSource() override;

    /** Multiply the configured rate by @p scale (load profile of the current decision step). */
    void SetRateScale(double scale);
    double GetRateScale() const;

    /** Fix the random streams used by this source; returns the number of streams used. */
    int64_t AssignStreams(int64_t stream);

    /** Signature of the Tx trace: the packet (with its header) handed to the socket. */
    typedef void (*TxTracedCallback)(Ptr<const Packet> packet);

  protected:
    void DoDispose() override;

  private:
    void StartApplication() override;
    void StopApplication() override;

    Time NextInterval();
    void ScheduleNext(Time delay);
    void SendPacket();
    void ToggleOnOff();

    Address m_remote;
    Model m_model{CBR};
    double m_rateMbps{1.0};
    uint32_t m_packetSize{1200};
    double m_onMs{100.0};
    double m_offMs{100.0};
    double m_periodMs{20.0};
    double m_jitter{1.0};
    double m_truncation{3.0};

    double m_scale{1.0};
    bool m_running{false};
    bool m_on{true};
    uint32_t m_seq{0};
    Ptr<Socket> m_socket;
    EventId m_sendEvent;
    EventId m_toggleEvent;
    Ptr<ExponentialRandomVariable> m_exp;
    Ptr<UniformRandomVariable> m_uniform;

    TracedCallback<Ptr<const Packet>> m_txTrace;
};

} // namespace ns3

#endif // SLICE_TRAFFIC_SOURCE_H
