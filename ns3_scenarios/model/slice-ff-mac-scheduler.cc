// SPDX-License-Identifier: GPL-2.0-only
#include "slice-ff-mac-scheduler.h"

#include "slice-contract.h"
#include "slice-rbg-partition.h"

#include "ns3/boolean.h"
#include "ns3/log.h"
#include "ns3/object-factory.h"
#include "ns3/string.h"
#include "ns3/trace-source-accessor.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceFfMacScheduler");
NS_OBJECT_ENSURE_REGISTERED(SliceFfMacScheduler);

/// Forwards the inner scheduler's indications to the MAC, counting the DL allocations on the way.
class SliceFfMacScheduler::SchedSapUserForwarder : public FfMacSchedSapUser
{
  public:
    explicit SchedSapUserForwarder(SliceFfMacScheduler* owner)
        : m_owner(owner)
    {
    }

    void SchedDlConfigInd(const SchedDlConfigIndParameters& params) override
    {
        m_owner->OnDlConfigInd(params);
        m_owner->m_macSchedSapUser->SchedDlConfigInd(params);
    }

    void SchedUlConfigInd(const SchedUlConfigIndParameters& params) override
    {
        m_owner->m_macSchedSapUser->SchedUlConfigInd(params);
    }

  private:
    SliceFfMacScheduler* m_owner;
};

TypeId
SliceFfMacScheduler::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::SliceFfMacScheduler")
            .SetParent<FfMacScheduler>()
            .SetGroupName("Slicebridge")
            .AddConstructor<SliceFfMacScheduler>()
            .AddAttribute("InnerType",
                          "TypeId name of the wrapped scheduler (it must query the FFR SAP per UE, "
                          "as PfFfMacScheduler does)",
                          StringValue("ns3::PfFfMacScheduler"),
                          MakeStringAccessor(&SliceFfMacScheduler::m_innerType),
                          MakeStringChecker())
            .AddAttribute("WorkConserving",
                          "Give the RBGs of slices without backlog to backlogged slices",
                          BooleanValue(true),
                          MakeBooleanAccessor(&SliceFfMacScheduler::m_workConserving),
                          MakeBooleanChecker())
            .AddAttribute("IntraSliceScheduler",
                          "Scheduler among the UEs of a slice: pf (the inner scheduler's choice) or "
                          "rr (round robin, chosen by this class)",
                          StringValue("pf"),
                          MakeStringAccessor(&SliceFfMacScheduler::SetIntraSliceScheduler,
                                             &SliceFfMacScheduler::GetIntraSliceScheduler),
                          MakeStringChecker())
            .AddTraceSource("SliceRbgUse",
                            "RBGs and PRBs used by each slice in a DL TTI",
                            MakeTraceSourceAccessor(&SliceFfMacScheduler::m_sliceRbgUseTrace),
                            "ns3::SliceFfMacScheduler::SliceRbgUseTracedCallback");
    return tid;
}

SliceFfMacScheduler::SliceFfMacScheduler()
    : m_cschedSapProvider(std::make_unique<MemberCschedSapProvider<SliceFfMacScheduler>>(this)),
      m_schedSapProvider(std::make_unique<MemberSchedSapProvider<SliceFfMacScheduler>>(this)),
      m_schedSapUserForwarder(std::make_unique<SchedSapUserForwarder>(this)),
      m_ffrSapProvider(std::make_unique<MemberLteFfrSapProvider<SliceFfMacScheduler>>(this))
{
    NS_LOG_FUNCTION(this);
}

SliceFfMacScheduler::~SliceFfMacScheduler() = default;

void
SliceFfMacScheduler::EnsureInner()
{
    if (m_inner)
    {
        return;
    }
    ObjectFactory factory;
    factory.SetTypeId(m_innerType);
    m_inner = factory.Create<FfMacScheduler>();
    NS_ABORT_MSG_IF(!m_inner, "SliceFfMacScheduler: InnerType " << m_innerType << " is not a scheduler");
    m_innerCsched = m_inner->GetFfMacCschedSapProvider();
    m_innerSched = m_inner->GetFfMacSchedSapProvider();
    m_inner->SetFfMacSchedSapUser(m_schedSapUserForwarder.get());
    m_inner->SetLteFfrSapProvider(m_ffrSapProvider.get());
}

Ptr<FfMacScheduler>
SliceFfMacScheduler::GetInnerScheduler()
{
    EnsureInner();
    return m_inner;
}

void
SliceFfMacScheduler::DoInitialize()
{
    EnsureInner();
    m_inner->Initialize();
    FfMacScheduler::DoInitialize();
}

void
SliceFfMacScheduler::DoDispose()
{
    if (m_inner)
    {
        m_inner->Dispose();
        m_inner = nullptr;
    }
    FfMacScheduler::DoDispose();
}

void
SliceFfMacScheduler::SetFfMacCschedSapUser(FfMacCschedSapUser* s)
{
    EnsureInner();
    m_inner->SetFfMacCschedSapUser(s); // confirmations go straight to the MAC
}

void
SliceFfMacScheduler::SetFfMacSchedSapUser(FfMacSchedSapUser* s)
{
    EnsureInner();
    m_macSchedSapUser = s;
}

FfMacCschedSapProvider*
SliceFfMacScheduler::GetFfMacCschedSapProvider()
{
    EnsureInner();
    return m_cschedSapProvider.get();
}

FfMacSchedSapProvider*
SliceFfMacScheduler::GetFfMacSchedSapProvider()
{
    EnsureInner();
    return m_schedSapProvider.get();
}

void
SliceFfMacScheduler::SetLteFfrSapProvider(LteFfrSapProvider* s)
{
    EnsureInner();
    m_enbFfrSapProvider = s;
}

LteFfrSapUser*
SliceFfMacScheduler::GetLteFfrSapUser()
{
    EnsureInner();
    return m_inner->GetLteFfrSapUser();
}

// ------------------------------------------------------------------------------------------------
// slices
// ------------------------------------------------------------------------------------------------
void
SliceFfMacScheduler::SetShares(std::vector<double> shares)
{
    NS_LOG_FUNCTION(this);
    NS_ABORT_MSG_IF(shares.empty(), "SliceFfMacScheduler::SetShares: empty share vector");
    double sum = 0;
    for (double& s : shares)
    {
        NS_ABORT_MSG_IF(!std::isfinite(s) || s < 0, "SliceFfMacScheduler::SetShares: share " << s);
        sum += s;
    }
    NS_ABORT_MSG_IF(sum <= 0, "SliceFfMacScheduler::SetShares: shares sum to 0");
    for (double& s : shares)
    {
        s /= sum;
    }
    if (shares.size() != m_shares.size())
    {
        m_credit.assign(shares.size(), 0.0);
        m_cumulativePrbs.resize(shares.size(), 0);
    }
    m_shares = std::move(shares);
}

std::vector<double>
SliceFfMacScheduler::GetShares() const
{
    return m_shares;
}

void
SliceFfMacScheduler::SetUeSlice(uint16_t rnti, uint32_t slice)
{
    NS_LOG_FUNCTION(this << rnti << slice);
    m_ueSlice[rnti] = slice;
}

int32_t
SliceFfMacScheduler::GetUeSlice(uint16_t rnti) const
{
    auto it = m_ueSlice.find(rnti);
    return it == m_ueSlice.end() ? -1 : static_cast<int32_t>(it->second);
}

void
SliceFfMacScheduler::SetIntraSliceScheduler(std::string kind)
{
    NS_ABORT_MSG_IF(kind != "pf" && kind != "rr",
                    "SliceFfMacScheduler: IntraSliceScheduler must be pf or rr, got '" << kind << "'");
    m_roundRobin = kind == "rr";
}

std::string
SliceFfMacScheduler::GetIntraSliceScheduler() const
{
    return m_roundRobin ? "rr" : "pf";
}

void
SliceFfMacScheduler::AssignRoundRobin(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params)
{
    m_rbgUe.assign(m_rbgOwner.size(), 0);
    std::set<uint16_t> retx;
    for (const auto& info : params.m_dlInfoList)
    {
        for (auto status : info.m_harqStatus)
        {
            if (status == DlInfoListElement_s::NACK)
            {
                retx.insert(info.m_rnti);
            }
        }
    }
    std::map<uint32_t, std::vector<uint16_t>> ues; // slice -> backlogged UEs, by RNTI
    for (const auto& [rnti, slice] : m_ueSlice)
    {
        if (!retx.count(rnti) && GetUeBacklogBytes(rnti) > 0)
        {
            ues[slice].push_back(rnti);
        }
    }
    for (auto& [slice, list] : ues)
    {
        std::vector<uint32_t> rbgs;
        for (uint32_t i = 0; i < m_rbgOwner.size(); ++i)
        {
            if (m_rbgOwner[i] == static_cast<int32_t>(slice))
            {
                rbgs.push_back(i);
            }
        }
        if (rbgs.empty())
        {
            continue;
        }
        const size_t nUes = list.size();
        const uint16_t last = m_rrLast.count(slice) ? m_rrLast[slice] : 0;
        const size_t start = std::upper_bound(list.begin(), list.end(), last) - list.begin();
        const size_t served = std::min(nUes, rbgs.size());
        const size_t base = rbgs.size() / served;
        const size_t extra = rbgs.size() % served;
        size_t k = 0;
        for (size_t i = 0; i < served; ++i)
        {
            const uint16_t rnti = list[(start + i) % nUes];
            for (size_t n = 0; n < base + (i < extra ? 1 : 0); ++n)
            {
                m_rbgUe[rbgs[k++]] = rnti;
            }
        }
        // Next round starts after the last UE served; when all were served, rotate by one so
        // that the leftover RBGs go round too.
        m_rrLast[slice] = list[(start + (served < nUes ? served - 1 : 0)) % nUes];
    }
}

void
SliceFfMacScheduler::SetWorkConserving(bool enabled)
{
    m_workConserving = enabled;
}

bool
SliceFfMacScheduler::GetWorkConserving() const
{
    return m_workConserving;
}

uint64_t
SliceFfMacScheduler::GetUeBacklogBytes(uint16_t rnti) const
{
    auto it = m_lcBacklog.find(rnti);
    if (it == m_lcBacklog.end())
    {
        return 0;
    }
    uint64_t total = 0;
    for (const auto& [lcid, q] : it->second)
    {
        total += q.tx + q.retx + q.status;
    }
    return total;
}

uint64_t
SliceFfMacScheduler::GetSliceBacklogBytes(uint32_t slice) const
{
    uint64_t total = 0;
    for (const auto& [rnti, s] : m_ueSlice)
    {
        if (s == slice)
        {
            total += GetUeBacklogBytes(rnti);
        }
    }
    return total;
}

int
SliceFfMacScheduler::GetUeWidebandCqi(uint16_t rnti) const
{
    auto it = m_ueCqi.find(rnti);
    return it == m_ueCqi.end() ? -1 : it->second;
}

const std::vector<uint64_t>&
SliceFfMacScheduler::GetCumulativeSlicePrbs() const
{
    return m_cumulativePrbs;
}

double
SliceFfMacScheduler::GetSlotsPerSecond() const
{
    return 1000.0;
}

uint16_t
SliceFfMacScheduler::GetDlBandwidth() const
{
    return m_dlBandwidth;
}

void
SliceFfMacScheduler::UpdateRbgOwners()
{
    const size_t nSlices = m_shares.size();
    const uint32_t nRbg = SliceSchedulableRbgs(m_dlBandwidth);
    m_rbgOwner.assign(nRbg, -1);
    if (nSlices == 0 || nRbg == 0)
    {
        return;
    }
    // Effective shares: in work-conserving mode only backlogged slices take part.
    std::vector<double> eff = m_shares;
    if (m_workConserving)
    {
        std::vector<bool> busy(nSlices, false);
        for (const auto& [rnti, s] : m_ueSlice)
        {
            if (s < nSlices && !busy[s] && GetUeBacklogBytes(rnti) > 0)
            {
                busy[s] = true;
            }
        }
        eff = WorkConservingShares(m_shares, busy);
    }
    const std::vector<uint32_t> count = PartitionSliceRbgs(eff, nRbg, m_credit);
    uint32_t rbg = 0;
    for (size_t s = 0; s < nSlices; ++s)
    {
        for (uint32_t k = 0; k < count[s]; ++k)
        {
            m_rbgOwner[rbg++] = static_cast<int32_t>(s);
        }
    }
}

void
SliceFfMacScheduler::OnDlConfigInd(const FfMacSchedSapUser::SchedDlConfigIndParameters& params)
{
    const size_t nSlices = m_shares.size();
    if (nSlices == 0 || m_dlBandwidth == 0)
    {
        return;
    }
    const uint32_t rbgSize = SliceRbgSize(m_dlBandwidth);
    const uint32_t nRbg = SliceSchedulableRbgs(m_dlBandwidth);
    std::vector<uint32_t> rbgs(nSlices, 0);
    std::vector<uint32_t> prbs(nSlices, 0);
    for (const auto& data : params.m_buildDataList)
    {
        // RLC reports its buffer on arrivals, not when a transmission empties it: deduct what was
        // scheduled (status PDU first, then retransmissions, then new data), as the stock
        // schedulers do with their own copy of the reports.
        auto ueIt = m_lcBacklog.find(data.m_rnti);
        if (ueIt != m_lcBacklog.end())
        {
            for (const auto& layer : data.m_rlcPduList)
            {
                for (const auto& pdu : layer)
                {
                    auto lcIt = ueIt->second.find(pdu.m_logicalChannelIdentity);
                    if (lcIt == ueIt->second.end())
                    {
                        continue;
                    }
                    LcBuffer& q = lcIt->second;
                    uint64_t left = pdu.m_size;
                    for (uint64_t* part : {&q.status, &q.retx, &q.tx})
                    {
                        uint64_t take = std::min(*part, left);
                        *part -= take;
                        left -= take;
                    }
                }
            }
        }
        int32_t slice = GetUeSlice(data.m_rnti);
        if (slice < 0 || static_cast<size_t>(slice) >= nSlices || data.m_dci.m_resAlloc != 0)
        {
            continue;
        }
        for (uint32_t i = 0; i < nRbg && i < 32; ++i)
        {
            if (data.m_dci.m_rbBitmap & (1u << i))
            {
                rbgs[slice]++;
                prbs[slice] += std::min<uint32_t>(rbgSize, m_dlBandwidth - i * rbgSize);
            }
        }
    }
    for (size_t s = 0; s < nSlices; ++s)
    {
        m_cumulativePrbs[s] += prbs[s];
    }
    m_sliceRbgUseTrace(rbgs, prbs);
}

// ------------------------------------------------------------------------------------------------
// CSCHED SAP
// ------------------------------------------------------------------------------------------------
void
SliceFfMacScheduler::DoCschedCellConfigReq(
    const FfMacCschedSapProvider::CschedCellConfigReqParameters& params)
{
    m_dlBandwidth = params.m_dlBandwidth;
    m_innerCsched->CschedCellConfigReq(params);
}

void
SliceFfMacScheduler::DoCschedUeConfigReq(const FfMacCschedSapProvider::CschedUeConfigReqParameters& params)
{
    m_innerCsched->CschedUeConfigReq(params);
}

void
SliceFfMacScheduler::DoCschedLcConfigReq(const FfMacCschedSapProvider::CschedLcConfigReqParameters& params)
{
    m_innerCsched->CschedLcConfigReq(params);
}

void
SliceFfMacScheduler::DoCschedLcReleaseReq(
    const FfMacCschedSapProvider::CschedLcReleaseReqParameters& params)
{
    auto it = m_lcBacklog.find(params.m_rnti);
    if (it != m_lcBacklog.end())
    {
        for (uint8_t lcid : params.m_logicalChannelIdentity)
        {
            it->second.erase(lcid);
        }
    }
    m_innerCsched->CschedLcReleaseReq(params);
}

void
SliceFfMacScheduler::DoCschedUeReleaseReq(
    const FfMacCschedSapProvider::CschedUeReleaseReqParameters& params)
{
    m_lcBacklog.erase(params.m_rnti);
    m_ueCqi.erase(params.m_rnti);
    m_ueSlice.erase(params.m_rnti);
    m_innerCsched->CschedUeReleaseReq(params);
}

// ------------------------------------------------------------------------------------------------
// SCHED SAP
// ------------------------------------------------------------------------------------------------
void
SliceFfMacScheduler::DoSchedDlRlcBufferReq(
    const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& params)
{
    LcBuffer& q = m_lcBacklog[params.m_rnti][params.m_logicalChannelIdentity];
    q.tx = params.m_rlcTransmissionQueueSize;
    q.retx = params.m_rlcRetransmissionQueueSize;
    q.status = params.m_rlcStatusPduSize;
    m_innerSched->SchedDlRlcBufferReq(params);
}

void
SliceFfMacScheduler::DoSchedDlPagingBufferReq(
    const FfMacSchedSapProvider::SchedDlPagingBufferReqParameters& params)
{
    m_innerSched->SchedDlPagingBufferReq(params);
}

void
SliceFfMacScheduler::DoSchedDlMacBufferReq(
    const FfMacSchedSapProvider::SchedDlMacBufferReqParameters& params)
{
    m_innerSched->SchedDlMacBufferReq(params);
}

void
SliceFfMacScheduler::DoSchedDlTriggerReq(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params)
{
    UpdateRbgOwners();
    if (m_roundRobin)
    {
        AssignRoundRobin(params);
    }
    m_innerSched->SchedDlTriggerReq(params);
}

void
SliceFfMacScheduler::DoSchedDlRachInfoReq(
    const FfMacSchedSapProvider::SchedDlRachInfoReqParameters& params)
{
    m_innerSched->SchedDlRachInfoReq(params);
}

void
SliceFfMacScheduler::DoSchedDlCqiInfoReq(const FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params)
{
    for (const auto& cqi : params.m_cqiList)
    {
        if (!cqi.m_wbCqi.empty())
        {
            m_ueCqi[cqi.m_rnti] = cqi.m_wbCqi.front();
        }
    }
    m_innerSched->SchedDlCqiInfoReq(params);
}

void
SliceFfMacScheduler::DoSchedUlTriggerReq(const FfMacSchedSapProvider::SchedUlTriggerReqParameters& params)
{
    m_innerSched->SchedUlTriggerReq(params);
}

void
SliceFfMacScheduler::DoSchedUlNoiseInterferenceReq(
    const FfMacSchedSapProvider::SchedUlNoiseInterferenceReqParameters& params)
{
    m_innerSched->SchedUlNoiseInterferenceReq(params);
}

void
SliceFfMacScheduler::DoSchedUlSrInfoReq(const FfMacSchedSapProvider::SchedUlSrInfoReqParameters& params)
{
    m_innerSched->SchedUlSrInfoReq(params);
}

void
SliceFfMacScheduler::DoSchedUlMacCtrlInfoReq(
    const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params)
{
    m_innerSched->SchedUlMacCtrlInfoReq(params);
}

void
SliceFfMacScheduler::DoSchedUlCqiInfoReq(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params)
{
    m_innerSched->SchedUlCqiInfoReq(params);
}

// ------------------------------------------------------------------------------------------------
// FFR SAP (answers the inner scheduler; the eNB's FFR algorithm still has the last word)
// ------------------------------------------------------------------------------------------------
std::vector<bool>
SliceFfMacScheduler::DoGetAvailableDlRbg()
{
    return m_enbFfrSapProvider->GetAvailableDlRbg();
}

bool
SliceFfMacScheduler::DoIsDlRbgAvailableForUe(int rbg, uint16_t rnti)
{
    if (!m_enbFfrSapProvider->IsDlRbgAvailableForUe(rbg, rnti))
    {
        return false;
    }
    int32_t slice = GetUeSlice(rnti);
    if (slice < 0 || m_rbgOwner.empty())
    {
        return true;
    }
    if (rbg < 0 || static_cast<size_t>(rbg) >= m_rbgOwner.size() || m_rbgOwner[rbg] != slice)
    {
        return false;
    }
    return !m_roundRobin || (static_cast<size_t>(rbg) < m_rbgUe.size() && m_rbgUe[rbg] == rnti);
}

std::vector<bool>
SliceFfMacScheduler::DoGetAvailableUlRbg()
{
    return m_enbFfrSapProvider->GetAvailableUlRbg();
}

bool
SliceFfMacScheduler::DoIsUlRbgAvailableForUe(int rbg, uint16_t rnti)
{
    return m_enbFfrSapProvider->IsUlRbgAvailableForUe(rbg, rnti);
}

void
SliceFfMacScheduler::DoReportDlCqiInfo(const FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params)
{
    m_enbFfrSapProvider->ReportDlCqiInfo(params);
}

void
SliceFfMacScheduler::DoReportUlCqiInfo(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params)
{
    m_enbFfrSapProvider->ReportUlCqiInfo(params);
}

void
SliceFfMacScheduler::DoReportUlCqiInfo(std::map<uint16_t, std::vector<double>> ulCqiMap)
{
    m_enbFfrSapProvider->ReportUlCqiInfo(ulCqiMap);
}

uint8_t
SliceFfMacScheduler::DoGetTpc(uint16_t rnti)
{
    return m_enbFfrSapProvider->GetTpc(rnti);
}

uint16_t
SliceFfMacScheduler::DoGetMinContinuousUlBandwidth()
{
    return m_enbFfrSapProvider->GetMinContinuousUlBandwidth();
}

} // namespace ns3
