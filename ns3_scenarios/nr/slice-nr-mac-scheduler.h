// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_NR_MAC_SCHEDULER_H
#define SLICE_NR_MAC_SCHEDULER_H

#include "slice-cell-scheduler.h"

#include "ns3/nr-mac-scheduler-ofdma-pf.h"
#include "ns3/nr-mac-scheduler-ofdma-rr.h"

#include <map>
#include <vector>

namespace ns3
{

/**
 * @brief RAN-slicing MAC scheduler for 5G-LENA: per-cell per-slice RBG confinement on top of one of
 * 5G-LENA's OFDMA schedulers (@p Base: NrMacSchedulerOfdmaPF or NrMacSchedulerOfdmaRR).
 *
 * Every slot the RBGs of the bandwidth part are split into one contiguous block per slice, sized by
 * the slice shares with the rounding credit of the LTE scheduler (PartitionSliceRbgs, so the
 * long-run RBG count follows the shares exactly). New DL data: AssignDLRBG runs the base OFDMA
 * assignment once per slice, on that slice's active UEs, with the DL notch mask set to the slice's
 * block (5G-LENA's OFDMA assignment takes only RBGs the mask allows), then restores the mask.
 * UL: AssignULRBG does the same per slice and moves each slice's RBGs into its block (5G-LENA's UL
 * OFDMA assignment counts the allowed RBGs but numbers them from 0). UEs without a slice yet
 * (RRC connection set-up) are served first on the whole band; the slices then share what they
 * left. Modes (SetWorkConserving): strict — an idle slice's block stays empty; work-conserving —
 * only slices with active UEs in the slot take part (WorkConservingShares), as in the LTE scheduler.
 *
 * HARQ retransmissions are scheduled by 5G-LENA before new data (ScheduleDlHarq/ScheduleUlHarq) on
 * the RBGs of the first transmission, i.e. inside the block the slice had then. The ScheduleDlHarq
 * override moves a DL retransmission that left its slice's block onto free RBGs of the block (same
 * RBG count, so the same TB size), or leaves it when the block has too few free RBGs; the
 * PRB-symbols still outside are reported as the leak (GetHarqLeakPrbSymbols). UL retransmissions
 * are not moved.
 * Accounting: per slice, the PRB x symbols of every DL data DCI (new and retransmitted).
 */
template <class Base>
class SliceNrMacSchedulerT : public Base, public SliceCellScheduler
{
  public:
    using typename Base::ActiveHarqMap;
    using typename Base::ActiveUeMap;
    using typename Base::BeamSymbolMap;
    using typename Base::PointInFTPlane;

    // SliceCellScheduler
    void SetShares(std::vector<double> shares) override;
    void SetUeSlice(uint16_t rnti, uint32_t slice) override;
    uint64_t GetUeBacklogBytes(uint16_t rnti) const override;
    int GetUeWidebandCqi(uint16_t rnti) const override;
    const std::vector<uint64_t>& GetCumulativeSlicePrbs() const override;
    double GetSlotsPerSecond() const override;

    void SetWorkConserving(bool enabled);
    /// Slots per second of the bandwidth part (1000 * 2^numerology), set by the scenario helper.
    void SetSlotsPerSecond(double slots);
    /// Slice of @p rnti, or -1 when not known.
    int32_t GetUeSlice(uint16_t rnti) const;
    /// Per slice: DL PRB x symbols of all data DCIs, of HARQ retransmissions, and of the part of
    /// those retransmissions outside the slice's block of the slot before (the leak).
    const std::vector<uint64_t>& GetDlPrbSymbols() const;
    const std::vector<uint64_t>& GetHarqPrbSymbols() const;
    const std::vector<uint64_t>& GetHarqLeakPrbSymbols() const;

    // 5G-LENA scheduler SAP (public in NrMacSchedulerNs3): observed, then passed to the base
    void DoSchedDlRlcBufferReq(const NrMacSchedSapProvider::SchedDlRlcBufferReqParameters& params) override;
    void DoSchedDlCqiInfoReq(const NrMacSchedSapProvider::SchedDlCqiInfoReqParameters& params) override;
    void DoCschedUeReleaseReq(const NrMacCschedSapProvider::CschedUeReleaseReqParameters& params) override;

  protected:
    BeamSymbolMap AssignDLRBG(uint32_t symAvail, const ActiveUeMap& activeDl) const override;
    BeamSymbolMap AssignULRBG(uint32_t symAvail, const ActiveUeMap& activeUl) const override;
    std::shared_ptr<DciInfoElementTdma> CreateDlDci(PointInFTPlane* spoint,
                                                    const std::shared_ptr<NrMacSchedulerUeInfo>& ueInfo,
                                                    uint32_t maxSym) const override;
    uint8_t ScheduleDlHarq(PointInFTPlane* startingPoint,
                           uint8_t symAvail,
                           const ActiveHarqMap& activeDlHarq,
                           const std::unordered_map<uint16_t, UePtr>& ueMap,
                           std::vector<DlHarqInfo>* dlHarqToRetransmit,
                           const std::vector<DlHarqInfo>& dlHarqFeedback,
                           SlotAllocInfo* slotAlloc) const override;

  private:
    /// The slot's RBG blocks: owner slice per RBG (-1: none), from the shares and the busy slices.
    std::vector<int32_t> PartitionRbgs(const std::vector<bool>& busy) const;
    /// One base assignment per slice (and one for UEs without a slice) confined by the notch mask.
    BeamSymbolMap AssignPerSlice(uint32_t symAvail, const ActiveUeMap& active, bool downlink) const;
    uint64_t PrbSymbols(const DciInfoElementTdma& dci) const;

    std::vector<double> m_shares;
    bool m_workConserving{true};
    double m_slotsPerSecond{1000.0};
    std::map<uint16_t, uint32_t> m_ueSlice;
    std::map<uint16_t, std::map<uint8_t, uint64_t>> m_backlog; //!< rnti -> LCID -> bytes
    std::map<uint16_t, int> m_wbCqi;
    // Scheduling happens in const methods of 5G-LENA's interface: the slice state they update is mutable.
    mutable std::vector<double> m_credit;
    mutable std::vector<int32_t> m_dlOwner; //!< owner slice per RBG in the last DL assignment
    mutable std::vector<uint64_t> m_dlPrbSym;
    mutable std::vector<uint64_t> m_harqPrbSym;
    mutable std::vector<uint64_t> m_harqLeakPrbSym;
    mutable std::vector<uint64_t> m_prbSlots; //!< m_dlPrbSym / symbols per slot, refreshed on query
};

/// SliceNrMacSchedulerT around 5G-LENA's OFDMA proportional-fair scheduler (radio.scheduler pf).
class SliceNrMacSchedulerPf : public SliceNrMacSchedulerT<NrMacSchedulerOfdmaPF>
{
  public:
    static TypeId GetTypeId();
};

/// SliceNrMacSchedulerT around 5G-LENA's OFDMA round-robin scheduler (radio.scheduler rr).
class SliceNrMacSchedulerRr : public SliceNrMacSchedulerT<NrMacSchedulerOfdmaRR>
{
  public:
    static TypeId GetTypeId();
};

} // namespace ns3

#endif // SLICE_NR_MAC_SCHEDULER_H
