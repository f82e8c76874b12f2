// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_KPI_COLLECTOR_H
#define SLICE_KPI_COLLECTOR_H

#include "slice-cell-scheduler.h"
#include "slice-controller.h"

#include "ns3/callback.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/traced-callback.h"

#include <fstream>
#include <set>
#include <vector>

namespace ns3
{

class Packet;
class SliceEdgeServer;

/**
 * @brief Measures the per-cell, per-slice KPIs of every decision period and runs the period loop.
 *
 * Time line: [0, Warmup) warm-up; then Steps periods of DecisionPeriod. At the end of the warm-up
 * the controller's Start() gives the shares of period 0; at the end of period k the KPI tensor
 * is computed, written as one JSON line to OutputPath ({"step", "time_s", "kpi"}; flushed per
 * line), fired on the Kpis trace, and handed to the controller's Decide(); the returned shares
 * go to the cells' slice schedulers (SliceCellScheduler) and the step-start callback is called with k + 1 (the
 * helper uses it to set the load profile). After the last period the simulation stops.
 *
 * KPI definitions follow bridge/kpi.py: offered/throughput are application bits generated/
 * received in the period; delay mean and p95 over packets received in the period (p95 with
 * linear interpolation, as numpy.percentile); loss = (packets dropped by the eNB's RLC transmission
 * buffer in the period, NotifyRlcDrop, + sequence-gap losses detected at the sink in the period that
 * were not such drops, i.e. lost on the air) / packets offered — RLC drops are counted when they
 * happen, also for a UE that never receives another packet (a gap at the sink is only seen when a
 * later packet arrives); sla = packets received within the delay budget / packets offered (1 when
 * nothing was offered nor received); backlog = DL RLC bytes of the slice's UEs from the
 * scheduler's buffer reports at the end of the period; active = UEs with packets offered in the
 * period or backlog at its end; PRB share = PRBs in the slice's DCIs / (PRBs x TTIs of the
 * period) — a slot is a TTI (LTE) or an NR slot, PRBs count symbols / 14 in NR —; spectral efficiency = mean over the slice's UEs of the 36.213 Table 7.2.3-1 efficiency
 * of their last wideband CQI. Without a slice scheduler (stock scheduler runs) the backlog,
 * PRB share and spectral efficiency are reported as 0.
 *
 * Edge computing (SetEdgeServer, scenario "edge"): a packet received by its UE is handed to its
 * cell's SliceEdgeServer and counts as received (throughput, delay, sla) when its processing there
 * completes, with the radio delay plus the processing sojourn as its delay; compute delay = mean
 * sojourn of those packets, compute share = the slice's share of the server. Share rows then have
 * 2 x slices values (bandwidth, then compute); a row of slices values moves the bandwidth only.
 */
class SliceKpiCollector : public Object
{
  public:
    static TypeId GetTypeId();
    SliceKpiCollector();
    ~SliceKpiCollector() override;

    /// Set the dimensions; all UEs are added afterwards with AddUe().
    void SetDimensions(uint32_t nCells, uint32_t nSlices, uint16_t bandwidthPrb);
    /// Register a UE; returns its index (used by the Notify* methods).
    uint32_t AddUe(uint32_t cell, uint32_t slice);
    void SetUeRnti(uint32_t ue, uint16_t rnti);
    /// The UE's data radio bearer exists: from now on its packets reach an RLC queue. Packets the
    /// UE's source sends before (attach not finished, or never: out of coverage) are dropped in the
    /// EPC without a trace, so NotifyTx counts them as lost.
    void SetUeBearerUp(uint32_t ue);
    void SetSlaDelayMs(const ShareMatrix& delayMs);
    /// The slice scheduler of @p cell (LTE or NR), or null for a stock scheduler; not owned.
    void SetCellScheduler(uint32_t cell, SliceCellScheduler* scheduler);
    /// The edge server of @p cell (scenario "edge"); without one, packets count when the UE receives them.
    void SetEdgeServer(uint32_t cell, Ptr<SliceEdgeServer> server);
    void SetController(Ptr<SliceController> controller);
    /// Shares in force from time 0 (also applied to the schedulers).
    void SetInitialShares(const ShareMatrix& shares);
    /// Called with the step index when a decision period starts (warm-up counts as step 0).
    void SetStepStartCallback(Callback<void, uint32_t> cb);

    /// Schedule the warm-up end and the periods; call before Simulator::Run().
    void Start();

    /// Trace adapters (bind the UE index first).
    void NotifyTx(uint32_t ue, Ptr<const Packet> packet);
    void NotifyRx(uint32_t ue, Ptr<const Packet> packet, Time delay, uint32_t lost);
    /// A PDCP PDU of the UE was dropped by its RLC transmission buffer (LteRlc TxDrop trace).
    void NotifyRlcDrop(uint32_t ue, Ptr<const Packet> pdcpPdu);

    typedef void (*KpisTracedCallback)(uint32_t step, const KpiTensor& kpis);

  protected:
    void DoDispose() override;

  private:
    struct Counters
    {
        uint64_t offeredBytes{0};
        uint64_t offeredPackets{0};
        uint64_t rxBytes{0};
        uint64_t rxPackets{0};
        uint64_t withinBudget{0};
        uint64_t lost{0};
        std::vector<double> delaysMs;
        double computeDelaySumMs{0.0};
    };

    struct Ue
    {
        uint32_t cell{0};
        uint32_t slice{0};
        uint16_t rnti{0};
        bool offered{false};
        bool bearerUp{false};
        std::set<uint32_t> rlcDropped; //!< sequence numbers counted as lost (RLC drop or no bearer), not yet passed at the sink
    };

    KpiTensor Measure(double periodS);
    /// Count a packet of @p bytes of @p ue as delivered with end-to-end delay @p delayMs, of which
    /// @p computeMs at the edge server.
    void Deliver(uint32_t ue, uint32_t bytes, double delayMs, double computeMs);
    /// The share rows in force [cells][slices or 2 x slices] (bandwidth, then compute with edge servers).
    ShareMatrix SharesInForce() const;
    void ResetPeriod();
    void ApplyShares(const ShareMatrix& shares);
    void EndWarmup();
    void EndPeriod(uint32_t step);

    Time m_period;
    Time m_warmup;
    uint32_t m_steps{1};
    std::string m_outputPath;
    std::ofstream m_out;

    uint32_t m_nCells{0};
    uint32_t m_nSlices{0};
    uint16_t m_bandwidthPrb{0};
    std::vector<Ue> m_ues;
    ShareMatrix m_slaDelayMs;
    ShareMatrix m_shares;
    std::vector<SliceCellScheduler*> m_schedulers; //!< per cell, null for a stock scheduler
    std::vector<Ptr<SliceEdgeServer>> m_edges; //!< per cell, null without edge computing
    std::vector<std::vector<uint64_t>> m_prbMark; //!< cumulative PRBs at the period start
    std::vector<std::vector<Counters>> m_counters;
    Ptr<SliceController> m_controller;
    Callback<void, uint32_t> m_stepStart;
    Time m_periodStart;

    TracedCallback<uint32_t, const KpiTensor&> m_kpisTrace;
};

} // namespace ns3

#endif // SLICE_KPI_COLLECTOR_H
