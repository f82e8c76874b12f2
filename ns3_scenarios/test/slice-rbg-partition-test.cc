// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of the slice scheduler's arithmetic: RBG size rule, schedulable RBGs, the per-TTI
// partition with carried rounding credit, and the work-conserving shares.

#include "slice-contract.h"
#include "slice-rbg-partition.h"

#include "ns3/test.h"

#include <cmath>
#include <numeric>
#include <stdexcept>

using namespace ns3;

namespace
{

class RbgSizeTestCase : public TestCase
{
  public:
    RbgSizeTestCase()
        : TestCase("RBG size (36.213 Table 7.1.6.1-1) and schedulable RBGs (no partial last RBG)")
    {
    }

  private:
    void DoRun() override
    {
        const uint32_t prbs[] = {6, 10, 11, 15, 25, 26, 27, 50, 63, 64, 75, 100};
        const uint32_t sizes[] = {1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4};
        const uint32_t rbgs[] = {6, 10, 5, 7, 12, 13, 9, 16, 21, 16, 18, 25};
        for (std::size_t i = 0; i < std::size(prbs); ++i)
        {
            NS_TEST_ASSERT_MSG_EQ(SliceRbgSize(prbs[i]), sizes[i], "RBG size of " << prbs[i] << " PRBs");
            NS_TEST_ASSERT_MSG_EQ(SliceSchedulableRbgs(prbs[i]), rbgs[i], "RBGs of " << prbs[i] << " PRBs");
        }
    }
};

class PartitionFollowsSharesTestCase : public TestCase
{
  public:
    PartitionFollowsSharesTestCase()
        : TestCase("every TTI hands out all RBGs; over time each slice gets exactly share x RBGs")
    {
    }

  private:
    void DoRun() override
    {
        const std::vector<double> shares{0.7, 0.3};
        std::vector<double> credit(2, 0.0);
        std::vector<uint32_t> total(2, 0);
        for (int tti = 0; tti < 50; ++tti)
        {
            const auto count = PartitionSliceRbgs(shares, 12, credit);
            NS_TEST_ASSERT_MSG_EQ(count[0] + count[1], 12u, "TTI " << tti << ": all 12 RBGs");
            // 0.7 x 12 = 8.4: every TTI 8 or 9 RBGs, never further from the target
            NS_TEST_ASSERT_MSG_EQ((count[0] == 8 || count[0] == 9), true, "TTI " << tti << ": " << count[0]);
            total[0] += count[0];
            total[1] += count[1];
            NS_TEST_ASSERT_MSG_LT(std::abs(credit[0] + credit[1]), 1e-9, "credits sum to 0");
            NS_TEST_ASSERT_MSG_LT(std::abs(credit[0]), 1.0, "credit stays below one RBG");
        }
        NS_TEST_ASSERT_MSG_EQ(total[0], 420u, "50 TTIs x 8.4 RBGs");
        NS_TEST_ASSERT_MSG_EQ(total[1], 180u, "50 TTIs x 3.6 RBGs");
    }
};

class CreditRoundingTestCase : public TestCase
{
  public:
    CreditRoundingTestCase()
        : TestCase("rounding credit: three equal slices on 16 RBGs take turns for the extra RBG")
    {
    }

  private:
    void DoRun() override
    {
        const std::vector<double> shares(3, 1.0 / 3.0);
        std::vector<double> credit(3, 0.0);
        std::vector<uint32_t> total(3, 0);
        for (int tti = 0; tti < 3; ++tti)
        {
            const auto count = PartitionSliceRbgs(shares, 16, credit);
            for (std::size_t s = 0; s < 3; ++s)
            {
                NS_TEST_ASSERT_MSG_EQ((count[s] == 5 || count[s] == 6), true, "slice " << s << ": " << count[s]);
                total[s] += count[s];
            }
        }
        for (std::size_t s = 0; s < 3; ++s)
        {
            NS_TEST_ASSERT_MSG_EQ(total[s], 16u, "slice " << s << " after 3 TTIs");
            NS_TEST_ASSERT_MSG_LT(std::abs(credit[s]), 1e-9, "credit back to 0 after a full round");
        }
        // carried credit shifts the targets: 5 - 0.3, 2.5 - 0.2, 2.5 + 0.5 = 4.7, 2.3, 3.0
        std::vector<double> owed{-0.3, -0.2, 0.5};
        const auto count = PartitionSliceRbgs(std::vector<double>{0.5, 0.25, 0.25}, 10, owed);
        NS_TEST_ASSERT_MSG_EQ(count[0], 5u, "4.7: floor 4 plus the leftover RBG (largest remainder)");
        NS_TEST_ASSERT_MSG_EQ(count[1], 2u, "2.3: floor 2");
        NS_TEST_ASSERT_MSG_EQ(count[2], 3u, "3.0: exactly 3");
        NS_TEST_ASSERT_MSG_EQ_TOL(owed[0], -0.3, 1e-12, "new credit 4.7 - 5");
        NS_TEST_ASSERT_MSG_EQ_TOL(owed[1], 0.3, 1e-12, "new credit 2.3 - 2");
    }
};

class ZeroShareTestCase : public TestCase
{
  public:
    ZeroShareTestCase()
        : TestCase("a slice with share 0 gets no RBG and its credit is reset; bad credit size throws")
    {
    }

  private:
    void DoRun() override
    {
        std::vector<double> credit{0.3, 0.4, -0.3};
        const auto count = PartitionSliceRbgs(std::vector<double>{0.5, 0.0, 0.5}, 13, credit);
        NS_TEST_ASSERT_MSG_EQ(count[1], 0u, "no RBG for share 0");
        NS_TEST_ASSERT_MSG_EQ(credit[1], 0.0, "credit of share 0 reset");
        NS_TEST_ASSERT_MSG_EQ(count[0] + count[2], 13u, "all RBGs to the others");
        std::vector<double> none(3, 0.0);
        const auto empty = PartitionSliceRbgs(std::vector<double>(3, 0.0), 13, none);
        NS_TEST_ASSERT_MSG_EQ(empty[0] + empty[1] + empty[2], 0u, "all shares 0: nothing handed out");
        bool threw = false;
        std::vector<double> wrong(2, 0.0);
        try
        {
            PartitionSliceRbgs(std::vector<double>{0.5, 0.5, 0.0}, 13, wrong);
        }
        catch (const std::invalid_argument&)
        {
            threw = true;
        }
        NS_TEST_ASSERT_MSG_EQ(threw, true, "2 credits for 3 slices must throw");
    }
};

class WorkConservingSharesTestCase : public TestCase
{
  public:
    WorkConservingSharesTestCase()
        : TestCase("work-conserving shares: renormalised over the busy slices")
    {
    }

  private:
    void DoRun() override
    {
        const auto eff = WorkConservingShares({0.2, 0.3, 0.5}, {true, false, true});
        NS_TEST_ASSERT_MSG_EQ_TOL(eff[0], 0.2 / 0.7, 1e-15, "busy slice 0");
        NS_TEST_ASSERT_MSG_EQ(eff[1], 0.0, "idle slice 1 drops out");
        NS_TEST_ASSERT_MSG_EQ_TOL(eff[2], 0.5 / 0.7, 1e-15, "busy slice 2");
        const auto equal = WorkConservingShares({0.0, 0.0, 1.0}, {true, true, false});
        NS_TEST_ASSERT_MSG_EQ(equal[0], 0.5, "busy slices with share 0 split equally");
        NS_TEST_ASSERT_MSG_EQ(equal[2], 0.0, "idle slice");
        const auto idle = WorkConservingShares({0.2, 0.8}, {false, false});
        NS_TEST_ASSERT_MSG_EQ(idle[1], 0.8, "no busy slice: shares unchanged");
    }
};

class SliceRbgPartitionTestSuite : public TestSuite
{
  public:
    SliceRbgPartitionTestSuite()
        : TestSuite("slicebridge-rbg-partition", Type::UNIT)
    {
        AddTestCase(new RbgSizeTestCase, Duration::QUICK);
        AddTestCase(new PartitionFollowsSharesTestCase, Duration::QUICK);
        AddTestCase(new CreditRoundingTestCase, Duration::QUICK);
        AddTestCase(new ZeroShareTestCase, Duration::QUICK);
        AddTestCase(new WorkConservingSharesTestCase, Duration::QUICK);
    }
};

SliceRbgPartitionTestSuite g_sliceRbgPartitionTestSuite;

} // namespace
