// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_TRAFFIC_SINK_H
#define SLICE_TRAFFIC_SINK_H

#include "ns3/application.h"
#include "ns3/nstime.h"
#include "ns3/traced-callback.h"

namespace ns3
{

class Socket;
class Packet;

/**
 * @brief UDP receiver of one UE's slice traffic: end-to-end delay and loss at the application.
 *
 * Reads the SlicePacketHeader of every packet; the delay is now minus the send time, and a jump
 * of the sequence number counts the skipped packets as lost (RLC UM delivers in order, so a gap
 * means the packets were dropped). The Rx trace reports (packet, delay, packets lost just before).
 */
class SliceTrafficSink : public Application
{
  public:
    static TypeId GetTypeId();
    SliceTrafficSink();
    ~SliceTrafficSink() override;

    uint64_t GetReceivedPackets() const;
    uint64_t GetLostPackets() const;

    /** Signature of the Rx trace. */
    typedef void (*RxTracedCallback)(Ptr<const Packet> packet, Time delay, uint32_t lost);

  protected:
    void DoDispose() override;

  private:
    void StartApplication() override;
    void StopApplication() override;
    void HandleRead(Ptr<Socket> socket);

    uint16_t m_port{9};
    Ptr<Socket> m_socket;
    uint32_t m_expectedSeq{0};
    uint64_t m_received{0};
    uint64_t m_lost{0};
    TracedCallback<Ptr<const Packet>, Time, uint32_t> m_rxTrace;
};

} // namespace ns3

#endif // SLICE_TRAFFIC_SINK_H
