// SPDX-License-Identifier: GPL-2.0-only
#include "slice-edge-server.h"

#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/double.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/trace-source-accessor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

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
            .AddAttribute("WorkConserving",
                          "Lend the share of slices without jobs to the busy ones, in proportion to their "
                          "shares (scenario edge.work_conserving); false: strict shares",
                          BooleanValue(false),
                          MakeBooleanAccessor(&SliceEdgeServer::m_workConserving),
                          MakeBooleanChecker())
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
    m_next.Cancel();
    m_queues.clear();
    Object::DoDispose();
}

void
SliceEdgeServer::SetCyclesPerBit(const std::vector<double>& cyclesPerBit)
{
    NS_ABORT_MSG_IF(cyclesPerBit.empty(), "SliceEdgeServer: no slices");
    m_next.Cancel();
    m_queues.assign(cyclesPerBit.size(), Queue());
    for (std::size_t s = 0; s < cyclesPerBit.size(); ++s)
    {
        NS_ABORT_MSG_IF(!(cyclesPerBit[s] >= 0), "SliceEdgeServer: cycles per bit of slice " << s << " < 0");
        m_queues[s].cyclesPerBit = cyclesPerBit[s];
    }
    m_updated = Simulator::Now();
    SetShares(std::vector<double>(cyclesPerBit.size(), 1.0 / cyclesPerBit.size()));
}

void
SliceEdgeServer::SetShares(const std::vector<double>& shares)
{
    NS_LOG_FUNCTION(this);
    NS_ABORT_MSG_IF(shares.size() != m_queues.size(),
                    "SliceEdgeServer: " << shares.size() << " shares for " << m_queues.size() << " slices");
    Advance(); // the work done so far at the old rates
    for (uint32_t s = 0; s < m_queues.size(); ++s)
    {
        NS_ABORT_MSG_IF(!(shares[s] >= 0), "SliceEdgeServer: negative or NaN share of slice " << s);
        m_queues[s].share = shares[s];
    }
    m_shares = shares;
    Reschedule();
}

const std::vector<double>&
SliceEdgeServer::GetShares() const
{
    return m_shares;
}

double
SliceEdgeServer::JobRate(uint32_t slice) const
{
    const Queue& q = m_queues[slice];
    if (q.jobs.empty())
    {
        return 0.0;
    }
    double rate = q.share * m_capacity;
    if (m_workConserving)
    {
        double busyShares = 0.0;
        uint32_t busy = 0;
        for (const Queue& other : m_queues)
        {
            busyShares += other.jobs.empty() ? 0.0 : other.share;
            busy += other.jobs.empty() ? 0 : 1;
        }
        rate = busyShares > 0 ? m_capacity * q.share / busyShares : m_capacity / busy;
    }
    return rate / q.jobs.size();
}

void
SliceEdgeServer::Advance()
{
    const Time now = Simulator::Now();
    const double elapsedS = (now - m_updated).GetSeconds();
    for (uint32_t s = 0; s < m_queues.size(); ++s)
    {
        const double served = JobRate(s) * elapsedS;
        for (Job& job : m_queues[s].jobs)
        {
            job.remaining -= served;
        }
    }
    m_updated = now;
}

void
SliceEdgeServer::Reschedule()
{
    m_next.Cancel();
    double soonestS = std::numeric_limits<double>::infinity();
    for (uint32_t s = 0; s < m_queues.size(); ++s)
    {
        const double rate = JobRate(s);
        for (const Job& job : m_queues[s].jobs)
        {
            if (rate > 0)
            {
                soonestS = std::min(soonestS, std::max(job.remaining, 0.0) / rate);
            }
        }
    }
    if (std::isfinite(soonestS)) // else idle, or the jobs have no share and wait
    {
        m_next = Simulator::Schedule(Seconds(soonestS), &SliceEdgeServer::Complete, this);
    }
}

void
SliceEdgeServer::Complete()
{
    Advance();
    std::vector<std::pair<uint32_t, Job>> done;
    for (uint32_t s = 0; s < m_queues.size(); ++s)
    {
        const double tolerance = JobRate(s) * kDoneWithinS;
        auto& jobs = m_queues[s].jobs;
        for (auto it = jobs.begin(); it != jobs.end();)
        {
            if (it->remaining <= tolerance)
            {
                done.emplace_back(s, std::move(*it));
                it = jobs.erase(it);
            }
            else
            {
                ++it;
            }
        }
    }
    Reschedule();
    const Time now = Simulator::Now();
    for (auto& [slice, job] : done)
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
    Advance();
    q.jobs.push_back(Job{bits * q.cyclesPerBit, bits, Simulator::Now(), std::move(done)});
    Reschedule();
}

uint32_t
SliceEdgeServer::GetJobs(uint32_t slice) const
{
    return m_queues.at(slice).jobs.size();
}

double
SliceEdgeServer::GetBacklogCycles(uint32_t slice) const
{
    const double served = JobRate(slice) * (Simulator::Now() - m_updated).GetSeconds();
    double total = 0.0;
    for (const Job& job : m_queues.at(slice).jobs)
    {
        total += std::max(job.remaining - served, 0.0);
    }
    return total;
}

} // namespace ns3
