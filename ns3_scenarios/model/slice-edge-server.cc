// SPDX-License-Identifier: GPL-2.0-only
#include "slice-edge-server.h"

#include "ns3/abort.h"
#include "ns3/double.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/trace-source-accessor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceEdgeServer");
NS_OBJECT_ENSURE_REGISTERED(SliceEdgeServer);

namespace
{
// A job whose remaining work the server serves in less than this counts as done: completions are
// scheduled on ns-3's nanosecond grid, so a rounded-down event leaves a few cycles behind.
constexpr double kDoneWithinS = 2e-9;
} // namespace

TypeId
SliceEdgeServer::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::SliceEdgeServer")
            .SetParent<Object>()
            .SetGroupName("Slicebridge")
            .AddConstructor<SliceEdgeServer>()
            .AddAttribute("Capacity",
                          "Processing capacity of the server, cycles/s (scenario edge.capacity_cycles_per_s)",
                          DoubleValue(1e9),
                          MakeDoubleAccessor(&SliceEdgeServer::m_capacity),
                          MakeDoubleChecker<double>(0.0))
            .AddTraceSource("Completed",
                            "A job finished processing: slice, bits, sojourn",
                            MakeTraceSourceAccessor(&SliceEdgeServer::m_completed),
                            "ns3::SliceEdgeServer::CompletedTracedCallback");
    return tid;
}

SliceEdgeServer::SliceEdgeServer() = default;
SliceEdgeServer::~SliceEdgeServer() = default;

void
SliceEdgeServer::DoDispose()
{
    for (Queue& q : m_queues)
    {
        q.next.Cancel();
        q.jobs.clear();
    }
    Object::DoDispose();
}

void
SliceEdgeServer::SetCyclesPerBit(const std::vector<double>& cyclesPerBit)
{
    NS_ABORT_MSG_IF(cyclesPerBit.empty(), "SliceEdgeServer: no slices");
    m_queues.assign(cyclesPerBit.size(), Queue());
    for (std::size_t s = 0; s < cyclesPerBit.size(); ++s)
    {
        NS_ABORT_MSG_IF(!(cyclesPerBit[s] >= 0), "SliceEdgeServer: cycles per bit of slice " << s << " < 0");
        m_queues[s].cyclesPerBit = cyclesPerBit[s];
        m_queues[s].updated = Simulator::Now();
    }
    SetShares(std::vector<double>(cyclesPerBit.size(), 1.0 / cyclesPerBit.size()));
}

void
SliceEdgeServer::SetShares(const std::vector<double>& shares)
{
    NS_LOG_FUNCTION(this);
    NS_ABORT_MSG_IF(shares.size() != m_queues.size(),
                    "SliceEdgeServer: " << shares.size() << " shares for " << m_queues.size() << " slices");
    for (uint32_t s = 0; s < m_queues.size(); ++s)
    {
        NS_ABORT_MSG_IF(!(shares[s] >= 0), "SliceEdgeServer: negative or NaN share of slice " << s);
        Advance(m_queues[s]); // the work done so far at the old rate
        m_queues[s].share = shares[s];
        Reschedule(s);
    }
    m_shares = shares;
}

const std::vector<double>&
SliceEdgeServer::GetShares() const
{
    return m_shares;
}

double
SliceEdgeServer::Rate(const Queue& q) const
{
    return q.jobs.empty() ? 0.0 : q.share * m_capacity / q.jobs.size();
}

void
SliceEdgeServer::Advance(Queue& q)
{
    const Time now = Simulator::Now();
    const double served = Rate(q) * (now - q.updated).GetSeconds();
    for (Job& job : q.jobs)
    {
        job.remaining -= served;
    }
    q.updated = now;
}

void
SliceEdgeServer::Reschedule(uint32_t slice)
{
    Queue& q = m_queues[slice];
    q.next.Cancel();
    const double rate = Rate(q);
    if (q.jobs.empty() || rate <= 0)
    {
        return; // idle, or no share: the jobs wait
    }
    double least = std::numeric_limits<double>::infinity();
    for (const Job& job : q.jobs)
    {
        least = std::min(least, job.remaining);
    }
    q.next = Simulator::Schedule(Seconds(std::max(least, 0.0) / rate), &SliceEdgeServer::Complete, this, slice);
}

void
SliceEdgeServer::Complete(uint32_t slice)
{
    Queue& q = m_queues[slice];
    Advance(q);
    const double tolerance = Rate(q) * kDoneWithinS;
    std::vector<Job> done;
    auto finished = [tolerance](const Job& job) { return job.remaining <= tolerance; };
    std::copy_if(q.jobs.begin(), q.jobs.end(), std::back_inserter(done), finished);
    q.jobs.erase(std::remove_if(q.jobs.begin(), q.jobs.end(), finished), q.jobs.end());
    Reschedule(slice);
    const Time now = Simulator::Now();
    for (Job& job : done)
    {
        m_completed(slice, job.bits, now - job.arrival);
        job.done(now - job.arrival);
    }
}

void
SliceEdgeServer::Submit(uint32_t slice, double bits, DoneCallback done)
{
    NS_LOG_FUNCTION(this << slice << bits);
    NS_ABORT_MSG_IF(slice >= m_queues.size(), "SliceEdgeServer: slice " << slice << " out of range");
    Queue& q = m_queues[slice];
    if (q.cyclesPerBit <= 0)
    {
        m_completed(slice, bits, Seconds(0));
        done(Seconds(0)); // nothing to compute
        return;
    }
    Advance(q);
    q.jobs.push_back(Job{bits * q.cyclesPerBit, bits, Simulator::Now(), std::move(done)});
    Reschedule(slice);
}

uint32_t
SliceEdgeServer::GetJobs(uint32_t slice) const
{
    return m_queues.at(slice).jobs.size();
}

double
SliceEdgeServer::GetBacklogCycles(uint32_t slice) const
{
    const Queue& q = m_queues.at(slice);
    const double served = Rate(q) * (Simulator::Now() - q.updated).GetSeconds();
    double total = 0.0;
    for (const Job& job : q.jobs)
    {
        total += std::max(job.remaining - served, 0.0);
    }
    return total;
}

} // namespace ns3
