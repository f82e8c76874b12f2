// SPDX-License-Identifier: GPL-2.0-only
#include "slice-nr-mac-scheduler.h"

#include "slice-rbg-partition.h"

#include "ns3/log.h"

#include <algorithm>
#include <numeric>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceNrMacScheduler");

namespace
{
constexpr uint32_t SYMBOLS_PER_SLOT = 14; //!< normal cyclic prefix
} // namespace

template <class Base>
void
SliceNrMacSchedulerT<Base>::SetShares(std::vector<double> shares)
{
    const double sum = std::accumulate(shares.begin(), shares.end(), 0.0);
    NS_ABORT_MSG_IF(shares.empty() || !(sum > 0), "slice shares must be >= 0 with a positive sum");
    for (double& s : shares)
    {
        s /= sum;
    }
    if (shares.size() != m_shares.size())
    {
        m_credit.assign(shares.size(), 0.0);
        m_dlPrbSym.resize(shares.size(), 0);
        m_harqPrbSym.resize(shares.size(), 0);
        m_harqLeakPrbSym.resize(shares.size(), 0);
    }
    m_shares = std::move(shares);
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::SetUeSlice(uint16_t rnti, uint32_t slice)
{
    m_ueSlice[rnti] = slice;
}

template <class Base>
int32_t
SliceNrMacSchedulerT<Base>::GetUeSlice(uint16_t rnti) const
{
    auto it = m_ueSlice.find(rnti);
    return (it == m_ueSlice.end() || it->second >= m_shares.size()) ? -1 : static_cast<int32_t>(it->second);
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::SetWorkConserving(bool enabled)
{
    m_workConserving = enabled;
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::SetSlotsPerSecond(double slots)
{
    m_slotsPerSecond = slots;
}

template <class Base>
double
SliceNrMacSchedulerT<Base>::GetSlotsPerSecond() const
{
    return m_slotsPerSecond;
}

template <class Base>
uint64_t
SliceNrMacSchedulerT<Base>::GetUeBacklogBytes(uint16_t rnti) const
{
    auto it = m_backlog.find(rnti);
    if (it == m_backlog.end())
    {
        return 0;
    }
    uint64_t sum = 0;
    for (const auto& [lcid, bytes] : it->second)
    {
        sum += bytes;
    }
    return sum;
}

template <class Base>
int
SliceNrMacSchedulerT<Base>::GetUeWidebandCqi(uint16_t rnti) const
{
    auto it = m_wbCqi.find(rnti);
    return it == m_wbCqi.end() ? -1 : it->second;
}

template <class Base>
const std::vector<uint64_t>&
SliceNrMacSchedulerT<Base>::GetCumulativeSlicePrbs() const
{
    m_prbSlots.resize(m_dlPrbSym.size());
    for (size_t s = 0; s < m_dlPrbSym.size(); ++s)
    {
        m_prbSlots[s] = m_dlPrbSym[s] / SYMBOLS_PER_SLOT;
    }
    return m_prbSlots;
}

template <class Base>
const std::vector<uint64_t>&
SliceNrMacSchedulerT<Base>::GetDlPrbSymbols() const
{
    return m_dlPrbSym;
}

template <class Base>
const std::vector<uint64_t>&
SliceNrMacSchedulerT<Base>::GetHarqPrbSymbols() const
{
    return m_harqPrbSym;
}

template <class Base>
const std::vector<uint64_t>&
SliceNrMacSchedulerT<Base>::GetHarqLeakPrbSymbols() const
{
    return m_harqLeakPrbSym;
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::DoSchedDlRlcBufferReq(
    const NrMacSchedSapProvider::SchedDlRlcBufferReqParameters& params)
{
    m_backlog[params.m_rnti][params.m_logicalChannelIdentity] =
        uint64_t(params.m_rlcTransmissionQueueSize) + params.m_rlcRetransmissionQueueSize + params.m_rlcStatusPduSize;
    Base::DoSchedDlRlcBufferReq(params);
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::DoSchedDlCqiInfoReq(const NrMacSchedSapProvider::SchedDlCqiInfoReqParameters& params)
{
    for (const auto& cqi : params.m_cqiList)
    {
        if (cqi.m_cqiType == DlCqiInfo::WB)
        {
            m_wbCqi[cqi.m_rnti] = cqi.m_wbCqi;
        }
    }
    Base::DoSchedDlCqiInfoReq(params);
}

template <class Base>
void
SliceNrMacSchedulerT<Base>::DoCschedUeReleaseReq(const NrMacCschedSapProvider::CschedUeReleaseReqParameters& params)
{
    m_backlog.erase(params.m_rnti);
    m_wbCqi.erase(params.m_rnti);
    m_ueSlice.erase(params.m_rnti);
    Base::DoCschedUeReleaseReq(params);
}

template <class Base>
std::vector<int32_t>
SliceNrMacSchedulerT<Base>::PartitionRbgs(const std::vector<bool>& busy) const
{
    const uint32_t nRbg = this->GetBandwidthInRbg();
    std::vector<int32_t> owner(nRbg, -1);
    const std::vector<double> eff = m_workConserving ? WorkConservingShares(m_shares, busy) : m_shares;
    const std::vector<uint32_t> count = PartitionSliceRbgs(eff, nRbg, m_credit);
    uint32_t rbg = 0;
    for (size_t s = 0; s < count.size(); ++s)
    {
        for (uint32_t k = 0; k < count[s] && rbg < nRbg; ++k)
        {
            owner[rbg++] = static_cast<int32_t>(s);
        }
    }
    return owner;
}

template <class Base>
typename SliceNrMacSchedulerT<Base>::BeamSymbolMap
SliceNrMacSchedulerT<Base>::AssignPerSlice(uint32_t symAvail, const ActiveUeMap& active, bool downlink) const
{
    const size_t nSlices = m_shares.size();
    // groups 0..S-1: the slices' active UEs; group S: UEs without a slice
    std::vector<ActiveUeMap> groups(nSlices + 1);
    for (const auto& [beam, ues] : active)
    {
        for (const auto& ue : ues)
        {
            const int32_t s = GetUeSlice(ue.first->m_rnti);
            groups[s < 0 ? nSlices : static_cast<size_t>(s)][beam].push_back(ue);
        }
    }
    std::vector<bool> busy(nSlices);
    for (size_t s = 0; s < nSlices; ++s)
    {
        busy[s] = !groups[s].empty();
    }
    const std::vector<int32_t> owner = PartitionRbgs(busy);
    if (downlink)
    {
        m_dlOwner = owner;
    }
    const uint32_t nRbg = owner.size();
    auto* self = const_cast<SliceNrMacSchedulerT<Base>*>(this); // the notch mask is the base's input
    const std::vector<bool> savedMask = downlink ? this->GetDlNotchedRbgMask() : this->GetUlNotchedRbgMask();
    std::vector<bool> taken(nRbg, false); // RBGs the UEs without a slice took
    BeamSymbolMap result;
    auto run = [&](const ActiveUeMap& group, const std::vector<bool>& mask) {
        downlink ? self->SetDlNotchedRbgMask(mask) : self->SetUlNotchedRbgMask(mask);
        BeamSymbolMap got = downlink ? Base::AssignDLRBG(symAvail, group) : Base::AssignULRBG(symAvail, group);
        for (const auto& [beam, sym] : got)
        {
            result[beam] = std::max(result[beam], sym);
        }
    };
    auto rbgsOf = [downlink](const UePtr& ue) -> std::vector<uint16_t>& {
        return downlink ? ue->m_dlRBG : ue->m_ulRBG;
    };
    if (!groups[nSlices].empty())
    {
        run(groups[nSlices], std::vector<bool>(nRbg, true));
        for (const auto& [beam, ues] : groups[nSlices])
        {
            for (const auto& ue : ues)
            {
                for (uint16_t r : rbgsOf(ue.first))
                {
                    taken.at(r) = true;
                }
            }
        }
    }
    for (size_t s = 0; s < nSlices; ++s)
    {
        std::vector<bool> mask(nRbg, false);
        std::vector<uint16_t> block; // the slice's free RBGs in order (UL numbering maps onto it)
        for (uint32_t r = 0; r < nRbg; ++r)
        {
            if (owner[r] == static_cast<int32_t>(s) && !taken[r])
            {
                mask[r] = true;
                block.push_back(r);
            }
        }
        if (groups[s].empty() || block.empty())
        {
            continue;
        }
        run(groups[s], mask);
        if (!downlink)
        {
            // 5G-LENA's UL OFDMA numbers the allowed RBGs 0..n-1: map them onto the slice's block
            for (const auto& [beam, ues] : groups[s])
            {
                for (const auto& ue : ues)
                {
                    for (uint16_t& r : rbgsOf(ue.first))
                    {
                        r = block.at(std::min<size_t>(r, block.size() - 1));
                    }
                }
            }
        }
    }
    downlink ? self->SetDlNotchedRbgMask(savedMask) : self->SetUlNotchedRbgMask(savedMask);
    return result;
}

template <class Base>
typename SliceNrMacSchedulerT<Base>::BeamSymbolMap
SliceNrMacSchedulerT<Base>::AssignDLRBG(uint32_t symAvail, const ActiveUeMap& activeDl) const
{
    return m_shares.empty() ? Base::AssignDLRBG(symAvail, activeDl) : AssignPerSlice(symAvail, activeDl, true);
}

template <class Base>
typename SliceNrMacSchedulerT<Base>::BeamSymbolMap
SliceNrMacSchedulerT<Base>::AssignULRBG(uint32_t symAvail, const ActiveUeMap& activeUl) const
{
    return m_shares.empty() ? Base::AssignULRBG(symAvail, activeUl) : AssignPerSlice(symAvail, activeUl, false);
}

template <class Base>
uint64_t
SliceNrMacSchedulerT<Base>::PrbSymbols(const DciInfoElementTdma& dci) const
{
    const auto rbgs = std::count(dci.m_rbgBitmask.begin(), dci.m_rbgBitmask.end(), true);
    return static_cast<uint64_t>(rbgs) * this->GetNumRbPerRbg() * dci.m_numSym;
}

template <class Base>
std::shared_ptr<DciInfoElementTdma>
SliceNrMacSchedulerT<Base>::CreateDlDci(PointInFTPlane* spoint,
                                        const std::shared_ptr<NrMacSchedulerUeInfo>& ueInfo,
                                        uint32_t maxSym) const
{
    auto dci = Base::CreateDlDci(spoint, ueInfo, maxSym);
    const int32_t s = GetUeSlice(ueInfo->m_rnti);
    if (dci && s >= 0)
    {
        m_dlPrbSym[s] += PrbSymbols(*dci);
    }
    return dci;
}

template <class Base>
uint8_t
SliceNrMacSchedulerT<Base>::ScheduleDlHarq(PointInFTPlane* startingPoint,
                                           uint8_t symAvail,
                                           const ActiveHarqMap& activeDlHarq,
                                           const std::unordered_map<uint16_t, UePtr>& ueMap,
                                           std::vector<DlHarqInfo>* dlHarqToRetransmit,
                                           const std::vector<DlHarqInfo>& dlHarqFeedback,
                                           SlotAllocInfo* slotAlloc) const
{
    const size_t before = slotAlloc->m_varTtiAllocInfo.size();
    const uint8_t used = Base::ScheduleDlHarq(startingPoint, symAvail, activeDlHarq, ueMap, dlHarqToRetransmit,
                                              dlHarqFeedback, slotAlloc);
    auto& allocs = slotAlloc->m_varTtiAllocInfo;
    auto isSlicedDlData = [this](const std::shared_ptr<DciInfoElementTdma>& dci) {
        return dci && dci->m_format == DciInfoElementTdma::DL && dci->m_type == DciInfoElementTdma::DATA &&
               GetUeSlice(dci->m_rnti) >= 0;
    };
    auto overlaps = [](const DciInfoElementTdma& a, const DciInfoElementTdma& b) {
        return a.m_symStart < b.m_symStart + b.m_numSym && b.m_symStart < a.m_symStart + a.m_numSym;
    };
    for (size_t i = before; i < allocs.size(); ++i)
    {
        const auto& dci = allocs[i].m_dci;
        if (!isSlicedDlData(dci) || m_dlOwner.size() != dci->m_rbgBitmask.size())
        {
            continue;
        }
        const int32_t s = GetUeSlice(dci->m_rnti);
        // Move a retransmission that left its slice's block (the block moved since the first
        // transmission) onto free RBGs of the block: same RBG count, hence the same TB size.
        std::vector<bool> busy(m_dlOwner.size(), false); // RBGs of the other retransmissions in these symbols
        for (size_t j = before; j < allocs.size(); ++j)
        {
            const auto& other = allocs[j].m_dci;
            if (j != i && other && other->m_rbgBitmask.size() == busy.size() && overlaps(*dci, *other))
            {
                for (size_t r = 0; r < busy.size(); ++r)
                {
                    busy[r] = busy[r] || other->m_rbgBitmask[r];
                }
            }
        }
        const size_t need = std::count(dci->m_rbgBitmask.begin(), dci->m_rbgBitmask.end(), true);
        bool outside = false;
        std::vector<size_t> free;
        for (size_t r = 0; r < busy.size(); ++r)
        {
            outside = outside || (dci->m_rbgBitmask[r] && m_dlOwner[r] != s);
            if (m_dlOwner[r] == s && !busy[r])
            {
                free.push_back(r);
            }
        }
        if (outside && free.size() >= need)
        {
            std::vector<bool> moved(busy.size(), false);
            for (size_t k = 0; k < need; ++k)
            {
                moved[free[k]] = true;
            }
            dci->m_rbgBitmask = moved;
        }
    }
    for (size_t i = before; i < allocs.size(); ++i)
    {
        const auto& dci = allocs[i].m_dci;
        if (!isSlicedDlData(dci))
        {
            continue;
        }
        const int32_t s = GetUeSlice(dci->m_rnti);
        const uint64_t prbSym = PrbSymbols(*dci);
        m_dlPrbSym[s] += prbSym;
        m_harqPrbSym[s] += prbSym;
        uint64_t outside = 0;
        for (size_t r = 0; r < dci->m_rbgBitmask.size(); ++r)
        {
            if (dci->m_rbgBitmask[r] && (r >= m_dlOwner.size() || m_dlOwner[r] != s))
            {
                outside++;
            }
        }
        m_harqLeakPrbSym[s] += outside * this->GetNumRbPerRbg() * dci->m_numSym;
    }
    return used;
}

template class SliceNrMacSchedulerT<NrMacSchedulerOfdmaPF>;
template class SliceNrMacSchedulerT<NrMacSchedulerOfdmaRR>;

NS_OBJECT_ENSURE_REGISTERED(SliceNrMacSchedulerPf);
NS_OBJECT_ENSURE_REGISTERED(SliceNrMacSchedulerRr);

TypeId
SliceNrMacSchedulerPf::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SliceNrMacSchedulerPf")
                            .SetParent<NrMacSchedulerOfdmaPF>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SliceNrMacSchedulerPf>();
    return tid;
}

TypeId
SliceNrMacSchedulerRr::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SliceNrMacSchedulerRr")
                            .SetParent<NrMacSchedulerOfdmaRR>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SliceNrMacSchedulerRr>();
    return tid;
}

} // namespace ns3
