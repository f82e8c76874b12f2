// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_DELAY_TRACE_H
#define SLICE_DELAY_TRACE_H

#include "ns3/lte-common.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/simple-ref-count.h"

#include <fstream>
#include <map>
#include <string>

namespace ns3
{

/**
 * Per-packet and per-transport-block traces for decomposing the DL delay (issue 10: where litesim's
 * delay model departs from ns-3's), written as CSV into a directory:
 *
 *  - packets.csv: one row per application packet received by a UE's SliceTrafficSink:
 *    ``rx_us,ue,seq,bytes,delay_us`` (receive time and one-way delay, microseconds; ``ue`` is the
 *    UE's index in the runtime JSON, i.e. its IMSI - 1).
 *  - tb.csv: one row per DL transport block a UE's PHY decoded or failed to decode:
 *    ``ms,ue,cell_id,rnti,mcs,size_bytes,rv,ndi,correct`` (``rv`` > 0: a HARQ retransmission).
 *
 * Connect after the scenario is built (the UEs' applications and PHYs exist then).
 */
class SliceDelayTrace : public SimpleRefCount<SliceDelayTrace>
{
  public:
    /** Opens ``dir``/packets.csv and ``dir``/tb.csv and connects every sink and UE PHY; throws
     * std::runtime_error naming the file it cannot write. */
    explicit SliceDelayTrace(const std::string& dir);

  private:
    void OnRx(std::string context, Ptr<const Packet> packet, Time delay, uint32_t lost);
    void OnTb(std::string context, PhyReceptionStatParameters params);
    /** UE index of the node in a trace context (-1: not a UE). */
    int64_t UeOf(const std::string& context) const;

    std::ofstream m_packets;
    std::ofstream m_tb;
    std::map<uint32_t, int64_t> m_ueOfNode; //!< node id -> UE index
};

} // namespace ns3

#endif // SLICE_DELAY_TRACE_H
