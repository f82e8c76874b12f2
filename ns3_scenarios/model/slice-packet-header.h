// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_PACKET_HEADER_H
#define SLICE_PACKET_HEADER_H

#include "ns3/header.h"
#include "ns3/nstime.h"

namespace ns3
{

/**
 * @brief Application header of every slicebridge data packet: sequence number and send time.
 *
 * 12 bytes on the wire (uint32 sequence, int64 send time in ns), so that the receiver measures
 * end-to-end delay and detects losses as sequence gaps.
 */
class SlicePacketHeader : public Header
{
  public:
    static TypeId GetTypeId();
    TypeId GetInstanceTypeId() const override;

    SlicePacketHeader();

    void SetSeq(uint32_t seq);
    uint32_t GetSeq() const;
    void SetTxTime(Time t);
    Time GetTxTime() const;

    uint32_t GetSerializedSize() const override;
    void Serialize(Buffer::Iterator start) const override;
    uint32_t Deserialize(Buffer::Iterator start) override;
    void Print(std::ostream& os) const override;

    static constexpr uint32_t SIZE = 12; //!< serialized size in bytes

  private:
    uint32_t m_seq{0};
    int64_t m_txTimeNs{0};
};

} // namespace ns3

#endif // SLICE_PACKET_HEADER_H
