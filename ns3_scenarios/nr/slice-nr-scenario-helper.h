// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_NR_SCENARIO_HELPER_H
#define SLICE_NR_SCENARIO_HELPER_H

#include "slice-scenario-base.h"

#include "ns3/cc-bwp-helper.h"
#include "ns3/net-device-container.h"

#include <string>
#include <vector>

namespace ns3
{

class NrHelper;
class NrPointToPointEpcHelper;
class NrMacScheduler;
class SliceFadingModel;

/**
 * @brief Builds the packet-level NR (5G-LENA) slicing scenario of a runtime JSON: the NR
 * counterpart of SliceScenarioHelper, sharing everything that is not radio (SliceScenarioBase).
 *
 * One gNB per cell at the cell's position with one component carrier and one bandwidth part of
 * radio.bandwidth_prb PRBs at numerology radio.numerology (subcarrier spacing 15·2^µ kHz; the carrier
 * is the PRBs' width rounded up to 100 kHz, no RB overhead, so 5G-LENA counts exactly those PRBs)
 * centred on radio.carrier_mhz; 1x1 isotropic antennas and quasi-omni gNB beams, so all UEs of a
 * cell share one beam and are multiplexed in frequency (OFDMA); sector cells get the scenario's
 * parabolic pattern as a per-link loss (5G-LENA applies antenna patterns only through a 3GPP
 * phased-array channel); a TDD pattern synchronised in all cells (DL|DL|DL|S|UL, twice per frame:
 * no gNB-to-gNB interference between co-sited sectors); one spectrum channel with the scenario's path-loss
 * model followed by the per-link shadowing (no 3GPP fast fading; radio.fading adds SliceFadingModel);
 * 5G-LENA's NR error model of MCS/CQI table 1 (NrEesmIrT1: QPSK to 64-QAM, CQI table = LTE's);
 * RLC UM with the scenario's buffer; EPC with one remote host (100 Gbit/s, no delay); per UE one
 * dedicated bearer with its slice's 5QI; per cell a SliceNrMacSchedulerPf/Rr (radio.scheduler), or
 * 5G-LENA's stock OFDMA PF/RR scheduler in "ofdma" mode.
 */
class SliceNrScenarioHelper : public SliceScenarioBase
{
  public:
    SliceNrScenarioHelper();
    ~SliceNrScenarioHelper() override;

    /// Build everything; throws std::runtime_error for unsupported scenario features.
    void Build(const SliceRuntimeConfig& config);
    /// The 5G-LENA scheduler of @p cell's bandwidth part.
    Ptr<NrMacScheduler> GetCellMacScheduler(uint32_t cell) const;

  private:
    /// At the end of the run (Simulator::Destroy): one line per cell on stdout with the DL PRB-symbols
    /// per slice — all data, HARQ retransmissions, and retransmissions outside the slice's block.
    void ReportHarq() const;
    /// Sector cells: the parabolic pattern (beamwidth, cell azimuth, maximum attenuation), as a
    /// per-link loss towards each UE (the LTE program has it as the eNB antenna).
    void AddSectorPatterns();
    void ConfigureDefaults();
    void InstallGnbs();
    void InstallUes();

    Ptr<NrHelper> m_nr;
    Ptr<NrPointToPointEpcHelper> m_epc;
    Ptr<SliceFadingModel> m_fading;
    std::vector<Ptr<NrMacScheduler>> m_macSchedulers;
    OperationBandInfo m_band;          //!< the one band (owns the BWP the devices point at)
    BandwidthPartInfoPtrVector m_bwps; //!< its one bandwidth part
    NetDeviceContainer m_gnbDevs;
    NetDeviceContainer m_ueDevs;
};

} // namespace ns3

#endif // SLICE_NR_SCENARIO_HELPER_H
