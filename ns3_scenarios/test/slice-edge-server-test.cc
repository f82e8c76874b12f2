// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of SliceEdgeServer against processor-sharing schedules computed by hand.

#include "slice-edge-server.h"

#include "ns3/boolean.h"
#include "ns3/double.h"
#include "ns3/simulator.h"
#include "ns3/test.h"

#include <map>
#include <string>

using namespace ns3;

namespace
{

/// Records each job's completion time and sojourn by name.
struct Log
{
    std::map<std::string, double> doneAtS;
    std::map<std::string, double> sojournS;

    SliceEdgeServer::DoneCallback Job(const std::string& name)
    {
        return [this, name](Time sojourn) {
            doneAtS[name] = Simulator::Now().GetSeconds();
            sojournS[name] = sojourn.GetSeconds();
        };
    }
};

Ptr<SliceEdgeServer>
Server(double capacity, const std::vector<double>& cyclesPerBit, const std::vector<double>& shares)
{
    Ptr<SliceEdgeServer> server = CreateObject<SliceEdgeServer>();
    server->SetAttribute("Capacity", DoubleValue(capacity));
    server->SetCyclesPerBit(cyclesPerBit);
    server->SetShares(shares);
    return server;
}

constexpr double kTol = 1e-8; // s: the nanosecond grid of the events

class ProcessorSharingScheduleTestCase : public TestCase
{
  public:
    ProcessorSharingScheduleTestCase()
        : TestCase("two overlapping jobs share the slice's rate (hand-computed PS schedule)")
    {
    }

  private:
    void DoRun() override
    {
        // 1000 cycles/s, slice 0 holds all of it, 2 cycles per bit. A: 250 bits = 500 cycles at 0;
        // B: 500 cycles at 0.25 s. A alone until 0.25 s (250 cycles done), then 500 cycles/s each:
        // A's last 250 cycles take 0.5 s (done 0.75 s), when B has 250 left, alone: done 1.0 s.
        Ptr<SliceEdgeServer> server = Server(1000.0, {2.0, 2.0}, {1.0, 0.0});
        Log log;
        Simulator::Schedule(Seconds(0), [&]() { server->Submit(0, 250, log.Job("A")); });
        Simulator::Schedule(Seconds(0.25), [&]() { server->Submit(0, 250, log.Job("B")); });
        Simulator::Schedule(Seconds(0.5), [&]() {
            NS_TEST_EXPECT_MSG_EQ(server->GetJobs(0), 2u, "both jobs in service at 0.5 s");
            NS_TEST_EXPECT_MSG_EQ_TOL(server->GetBacklogCycles(0), 500.0, 1e-6, "125 + 375 cycles left at 0.5 s");
        });
        Simulator::Run();
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["A"], 0.75, kTol, "A completes at 0.75 s");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["B"], 1.0, kTol, "B completes at 1.0 s");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.sojournS["A"], 0.75, kTol, "A's sojourn");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.sojournS["B"], 0.75, kTol, "B's sojourn");
        Simulator::Destroy();
    }
};

class ShareChangeTestCase : public TestCase
{
  public:
    ShareChangeTestCase()
        : TestCase("a share change applies from its time on; strict shares; no compute need; no share")
    {
    }

  private:
    void DoRun() override
    {
        // slice 1 at share 0.5 of 1000 cycles/s = 500 cycles/s; C: 250 cycles at 0. At 0.2 s (100 done)
        // the share drops to 0.25: 150 cycles at 250 cycles/s take 0.6 s: done 0.8 s. Slice 0 is idle
        // all along: strict shares lend it nothing. D (slice 2, 0 cycles per bit) completes at once.
        // E (slice 0, share 0 from 0.2 s) waits until its share returns at 2.0 s: 100 cycles at
        // 0.5 * 1000 cycles/s take 0.2 s, done 2.2 s.
        Ptr<SliceEdgeServer> server = Server(1000.0, {1.0, 1.0, 0.0}, {0.5, 0.5, 0.0});
        Log log;
        Simulator::Schedule(Seconds(0), [&]() { server->Submit(1, 250, log.Job("C")); });
        Simulator::Schedule(Seconds(0.2), [&]() { server->SetShares({0.0, 0.25, 0.75}); });
        Simulator::Schedule(Seconds(0.3), [&]() { server->Submit(2, 1e6, log.Job("D")); });
        Simulator::Schedule(Seconds(0.4), [&]() { server->Submit(0, 100, log.Job("E")); });
        Simulator::Schedule(Seconds(2.0), [&]() { server->SetShares({0.5, 0.25, 0.25}); });
        Simulator::Run();
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["C"], 0.8, kTol, "C completes at 0.8 s");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.sojournS["D"], 0.0, kTol, "no compute need: no delay");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["E"], 2.2, kTol, "E waits for a share");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.sojournS["E"], 1.8, kTol, "E's sojourn");
        Simulator::Destroy();
    }
};

class WorkConservingTestCase : public TestCase
{
  public:
    WorkConservingTestCase()
        : TestCase("work-conserving: a busy slice takes the idle slices' share, split by shares when both are busy")
    {
    }

  private:
    void DoRun() override
    {
        // 1000 cycles/s, shares 0.5/0.5, 1 cycle per bit. A (slice 0, 500 cycles at 0) has the whole
        // server alone: 250 cycles done at 0.25 s, when B (slice 1, 500 cycles) arrives; 500 cycles/s
        // each: A done at 0.75 s (strict shares: 1.0 s), B then has 250 left, alone: done 1.0 s.
        Ptr<SliceEdgeServer> server = Server(1000.0, {1.0, 1.0}, {0.5, 0.5});
        server->SetAttribute("WorkConserving", BooleanValue(true));
        Log log;
        Simulator::Schedule(Seconds(0), [&]() { server->Submit(0, 500, log.Job("A")); });
        Simulator::Schedule(Seconds(0.25), [&]() { server->Submit(1, 500, log.Job("B")); });
        Simulator::Run();
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["A"], 0.75, kTol, "A completes at 0.75 s");
        NS_TEST_ASSERT_MSG_EQ_TOL(log.doneAtS["B"], 1.0, kTol, "B completes at 1.0 s");
        Simulator::Destroy();
    }
};

class SliceEdgeServerTestSuite : public TestSuite
{
  public:
    SliceEdgeServerTestSuite()
        : TestSuite("slicebridge-edge-server", Type::UNIT)
    {
        AddTestCase(new ProcessorSharingScheduleTestCase, Duration::QUICK);
        AddTestCase(new ShareChangeTestCase, Duration::QUICK);
        AddTestCase(new WorkConservingTestCase, Duration::QUICK);
    }
};

SliceEdgeServerTestSuite g_sliceEdgeServerTestSuite;

} // namespace
