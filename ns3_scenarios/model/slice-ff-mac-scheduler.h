// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_FF_MAC_SCHEDULER_H
#define SLICE_FF_MAC_SCHEDULER_H

#include "slice-cell-scheduler.h"

#include "ns3/ff-mac-csched-sap.h"
#include "ns3/ff-mac-sched-sap.h"
#include "ns3/ff-mac-scheduler.h"
#include "ns3/lte-ffr-sap.h"
#include "ns3/traced-callback.h"

#include <map>
#include <memory>
#include <vector>

namespace ns3
{

/**
 * @brief Downlink RAN-slicing MAC scheduler that wraps a stock FemtoForum scheduler.
 *
 * The stock ns-3 schedulers keep their scheduling state private, so this class does not derive
 * from one: it creates the scheduler named by the InnerType attribute (default
 * ns3::PfFfMacScheduler), interposes on all of its SAPs, and answers its frequency-reuse (FFR)
 * SAP queries. Every TTI (SCHED_DL_TRIGGER_REQ) the cell's RBGs are split into one contiguous
 * block per slice, sized by the slice shares (with a carried-over rounding credit so that the
 * long-run RBG count follows the shares exactly), and IsDlRbgAvailableForUe() confines each UE to
 * the RBGs of its slice. The inner scheduler therefore does all per-UE scheduling (PF, HARQ,
 * AMC) inside each slice's block.
 *
 * Modes (attribute WorkConserving): strict — an idle slice's RBGs stay empty; work-conserving —
 * the RBGs of slices without DL backlog (from the RLC buffer status reports forwarded to the
 * inner scheduler) are shared by the backlogged slices in proportion to their shares.
 *
 * Intra-slice scheduling (attribute IntraSliceScheduler): "pf" — the inner scheduler's own choice
 * among the slice's UEs (proportional fair with the default InnerType); "rr" — round robin of our
 * own: every TTI the slice's RBGs are split equally among its backlogged UEs (at most one UE per
 * RBG, leftover RBGs to the first ones), starting after the UE served first in the previous TTI,
 * and IsDlRbgAvailableForUe() admits only the chosen UE on each RBG, so the inner PF merely builds
 * the DCIs (AMC, HARQ, RLC PDUs). ns-3's RrFfMacScheduler cannot be used inside: it never queries
 * the FFR SAP for the DL. UEs with a NACK in the TTI's HARQ feedback are left out of the round
 * (the inner scheduler retransmits them first).
 *
 * The slice of a UE is set with SetUeSlice(rnti, slice) (the scenario helper does it when RRC
 * connects the UE); UEs without a slice (e.g. before RRC connection) may use any RBG. Uplink is
 * not sliced. The SliceRbgUse trace reports per TTI the RBGs and PRBs each slice got, counted
 * from the DCIs of SCHED_DL_CONFIG_IND.
 */
class SliceFfMacScheduler : public FfMacScheduler, public SliceCellScheduler
{
  public:
    static TypeId GetTypeId();
    SliceFfMacScheduler();
    ~SliceFfMacScheduler() override;

    // FfMacScheduler
    void SetFfMacCschedSapUser(FfMacCschedSapUser* s) override;
    void SetFfMacSchedSapUser(FfMacSchedSapUser* s) override;
    FfMacCschedSapProvider* GetFfMacCschedSapProvider() override;
    FfMacSchedSapProvider* GetFfMacSchedSapProvider() override;
    void SetLteFfrSapProvider(LteFfrSapProvider* s) override;
    LteFfrSapUser* GetLteFfrSapUser() override;

    /** Set the slice shares (one per slice, >= 0; normalised to sum 1). Applies from the next TTI. */
    void SetShares(std::vector<double> shares) override;
    std::vector<double> GetShares() const;
    /** Assign the UE with @p rnti to slice @p slice. */
    void SetUeSlice(uint16_t rnti, uint32_t slice) override;
    /** Slice of @p rnti, or -1 when not known. */
    int32_t GetUeSlice(uint16_t rnti) const;
    void SetWorkConserving(bool enabled);
    /** Intra-slice scheduler: "pf" or "rr" (see the class description). */
    void SetIntraSliceScheduler(std::string kind);
    std::string GetIntraSliceScheduler() const;
    bool GetWorkConserving() const;

    /** DL RLC bytes queued for @p rnti as last reported (transmission + retransmission + status). */
    uint64_t GetUeBacklogBytes(uint16_t rnti) const override;
    /** Sum of GetUeBacklogBytes over the UEs of @p slice. */
    uint64_t GetSliceBacklogBytes(uint32_t slice) const;
    /** Last wideband DL CQI of @p rnti, or -1 when none was reported yet. */
    int GetUeWidebandCqi(uint16_t rnti) const override;
    /** PRBs used per slice (DL, from the DCIs) since the start of the simulation. */
    const std::vector<uint64_t>& GetCumulativeSlicePrbs() const override;
    /** 1000: one TTI per ms. */
    double GetSlotsPerSecond() const override;
    /** DL bandwidth in PRBs (known after the cell configuration, else 0). */
    uint16_t GetDlBandwidth() const;

    /** The scheduler this one wraps (created on first use). */
    Ptr<FfMacScheduler> GetInnerScheduler();

    /** Signature of the SliceRbgUse trace: RBGs and PRBs used per slice in one TTI. */
    typedef void (*SliceRbgUseTracedCallback)(const std::vector<uint32_t>& rbgs,
                                              const std::vector<uint32_t>& prbs);

  protected:
    void DoInitialize() override;
    void DoDispose() override;

  private:
    friend class MemberSchedSapProvider<SliceFfMacScheduler>;
    friend class MemberCschedSapProvider<SliceFfMacScheduler>;
    friend class MemberLteFfrSapProvider<SliceFfMacScheduler>;
    class SchedSapUserForwarder;

    void EnsureInner();
    void UpdateRbgOwners();
    void AssignRoundRobin(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params);
    void OnDlConfigInd(const FfMacSchedSapUser::SchedDlConfigIndParameters& params);

    // CSCHED SAP provider (from the MAC)
    void DoCschedCellConfigReq(const FfMacCschedSapProvider::CschedCellConfigReqParameters& params);
    void DoCschedUeConfigReq(const FfMacCschedSapProvider::CschedUeConfigReqParameters& params);
    void DoCschedLcConfigReq(const FfMacCschedSapProvider::CschedLcConfigReqParameters& params);
    void DoCschedLcReleaseReq(const FfMacCschedSapProvider::CschedLcReleaseReqParameters& params);
    void DoCschedUeReleaseReq(const FfMacCschedSapProvider::CschedUeReleaseReqParameters& params);

    // SCHED SAP provider (from the MAC)
    void DoSchedDlRlcBufferReq(const FfMacSchedSapProvider::SchedDlRlcBufferReqParameters& params);
    void DoSchedDlPagingBufferReq(const FfMacSchedSapProvider::SchedDlPagingBufferReqParameters& params);
    void DoSchedDlMacBufferReq(const FfMacSchedSapProvider::SchedDlMacBufferReqParameters& params);
    void DoSchedDlTriggerReq(const FfMacSchedSapProvider::SchedDlTriggerReqParameters& params);
    void DoSchedDlRachInfoReq(const FfMacSchedSapProvider::SchedDlRachInfoReqParameters& params);
    void DoSchedDlCqiInfoReq(const FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params);
    void DoSchedUlTriggerReq(const FfMacSchedSapProvider::SchedUlTriggerReqParameters& params);
    void DoSchedUlNoiseInterferenceReq(
        const FfMacSchedSapProvider::SchedUlNoiseInterferenceReqParameters& params);
    void DoSchedUlSrInfoReq(const FfMacSchedSapProvider::SchedUlSrInfoReqParameters& params);
    void DoSchedUlMacCtrlInfoReq(const FfMacSchedSapProvider::SchedUlMacCtrlInfoReqParameters& params);
    void DoSchedUlCqiInfoReq(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params);

    // FFR SAP provider (queried by the inner scheduler)
    std::vector<bool> DoGetAvailableDlRbg();
    bool DoIsDlRbgAvailableForUe(int rbg, uint16_t rnti);
    std::vector<bool> DoGetAvailableUlRbg();
    bool DoIsUlRbgAvailableForUe(int rbg, uint16_t rnti);
    void DoReportDlCqiInfo(const FfMacSchedSapProvider::SchedDlCqiInfoReqParameters& params);
    void DoReportUlCqiInfo(const FfMacSchedSapProvider::SchedUlCqiInfoReqParameters& params);
    void DoReportUlCqiInfo(std::map<uint16_t, std::vector<double>> ulCqiMap);
    uint8_t DoGetTpc(uint16_t rnti);
    uint16_t DoGetMinContinuousUlBandwidth();

    std::string m_innerType{"ns3::PfFfMacScheduler"};
    Ptr<FfMacScheduler> m_inner;
    bool m_workConserving{true};
    bool m_roundRobin{false};          //!< IntraSliceScheduler == "rr"
    std::vector<uint16_t> m_rbgUe;     //!< rr: UE admitted on each RBG this TTI (0: none)
    std::map<uint32_t, uint16_t> m_rrLast; //!< rr: per slice, the UE the round last started after

    std::unique_ptr<FfMacCschedSapProvider> m_cschedSapProvider;
    std::unique_ptr<FfMacSchedSapProvider> m_schedSapProvider;
    std::unique_ptr<FfMacSchedSapUser> m_schedSapUserForwarder;
    std::unique_ptr<LteFfrSapProvider> m_ffrSapProvider;
    FfMacSchedSapUser* m_macSchedSapUser{nullptr};
    LteFfrSapProvider* m_enbFfrSapProvider{nullptr};
    FfMacCschedSapProvider* m_innerCsched{nullptr};
    FfMacSchedSapProvider* m_innerSched{nullptr};

    uint16_t m_dlBandwidth{0};
    std::vector<double> m_shares;
    std::vector<double> m_credit;      //!< per-slice RBG rounding credit
    std::vector<int32_t> m_rbgOwner;   //!< slice owning each RBG this TTI (-1: none)
    std::map<uint16_t, uint32_t> m_ueSlice;
    /// DL RLC queues of one logical channel (bytes), as reported and minus what was scheduled since.
    struct LcBuffer
    {
        uint64_t tx{0};
        uint64_t retx{0};
        uint64_t status{0};
    };

    std::map<uint16_t, std::map<uint8_t, LcBuffer>> m_lcBacklog; //!< rnti -> lcid -> queues
    std::map<uint16_t, int> m_ueCqi;
    std::vector<uint64_t> m_cumulativePrbs;

    TracedCallback<const std::vector<uint32_t>&, const std::vector<uint32_t>&> m_sliceRbgUseTrace;
};

} // namespace ns3

#endif // SLICE_FF_MAC_SCHEDULER_H
