// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_EDGE_SERVER_H
#define SLICE_EDGE_SERVER_H

#include "ns3/event-id.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/traced-callback.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace ns3
{

/**
 * @brief A cell's edge server: one processor-sharing queue per slice (scenario "edge";
 * bridge/contract.json "edge.about").
 *
 * The server has Capacity cycles/s. Slice s is given the share shares[s] of it and serves every job
 * it holds at the same rate, r_s / n with n jobs present (processor sharing), where r_s =
 * shares[s] * Capacity (strict, WorkConserving false: a share its slice does not use is not lent), or
 * (WorkConserving true) Capacity * shares[s] / (sum of the shares of the slices holding jobs), the
 * busy slices splitting the server equally when their shares are all 0. A job of b bits of slice
 * s needs b * cyclesPerBit[s] cycles; when its last cycle is served its completion callback gets
 * its sojourn time (arrival to completion). A slice with cyclesPerBit 0 completes every job at once
 * (sojourn 0); one with share 0 holds its jobs until it gets a share.
 *
 * Event-driven: the remaining work of every job is brought up to date at every arrival, share
 * change and completion (the rates are constant in between), and one event is scheduled at the
 * server's next completion.
 */
class SliceEdgeServer : public Object
{
  public:
    /// Called once per job with its sojourn time.
    using DoneCallback = std::function<void(Time)>;

    static TypeId GetTypeId();
    SliceEdgeServer();
    ~SliceEdgeServer() override;

    /// Cycles per bit of every slice (sets the number of slices; their shares start equal).
    void SetCyclesPerBit(const std::vector<double>& cyclesPerBit);
    /// Compute shares from now on (one per slice, each >= 0; the caller keeps them on the simplex).
    void SetShares(const std::vector<double>& shares);
    const std::vector<double>& GetShares() const;
    /// A job of @p bits for @p slice arrives now; @p done gets its sojourn when it completes.
    void Submit(uint32_t slice, double bits, DoneCallback done);
    /// Jobs of @p slice in the server (waiting or in service).
    uint32_t GetJobs(uint32_t slice) const;
    /// Cycles still to serve for @p slice, up to date at the current time.
    double GetBacklogCycles(uint32_t slice) const;

    /// Signature of the Completed trace: slice, bits, sojourn.
    typedef void (*CompletedTracedCallback)(uint32_t slice, double bits, Time sojourn);

  protected:
    void DoDispose() override;

  private:
    struct Job
    {
        double remaining; //!< cycles
        double bits;
        Time arrival;
        DoneCallback done;
    };

    struct Queue
    {
        std::vector<Job> jobs;
        double cyclesPerBit{0.0};
        double share{0.0};
    };

    double JobRate(uint32_t slice) const; //!< cycles/s each job of @p slice receives now
    void Advance();                       //!< serve every job up to now at the rates in force
    void Reschedule();                    //!< the event of the next completion
    void Complete();

    double m_capacity{1e9};
    bool m_workConserving{false};
    Time m_updated; //!< time up to which the jobs' remaining work is counted
    EventId m_next; //!< the next completion
    std::vector<Queue> m_queues;
    std::vector<double> m_shares;
    TracedCallback<uint32_t, double, Time> m_completed;
};

} // namespace ns3

#endif // SLICE_EDGE_SERVER_H
