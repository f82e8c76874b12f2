// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of ProjectOntoShareSimplex (the C++ twin of bridge.actions.project_to_simplex).

#include "slice-contract.h"

#include "ns3/test.h"

#include <numeric>

using namespace ns3;

namespace
{

class ProjectionTestCase : public TestCase
{
  public:
    ProjectionTestCase()
        : TestCase("projection onto {x >= min_share, sum x = 1}: known values, feasibility, idempotence")
    {
    }

  private:
    void DoRun() override
    {
        const std::vector<double> min{0.1, 0.1, 0.1};
        // y = row - min = (0.2, 0.8, 0), budget 0.7: theta = 0.15 -> (0.05, 0.65, 0) + min
        const auto x = ProjectOntoShareSimplex({0.3, 0.9, 0.1}, min);
        NS_TEST_ASSERT_MSG_EQ_TOL(x[0], 0.15, 1e-15, "slice 0");
        NS_TEST_ASSERT_MSG_EQ_TOL(x[1], 0.75, 1e-15, "slice 1");
        NS_TEST_ASSERT_MSG_EQ_TOL(x[2], 0.1, 1e-15, "slice 2 held at its minimum");

        const std::vector<std::vector<double>> rows{
            {0.2, 0.3, 0.5}, {-1.0, 0.0, 5.0}, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0}, {7.0, -3.0, 0.45}};
        for (const auto& row : rows)
        {
            const auto p = ProjectOntoShareSimplex(row, min);
            NS_TEST_ASSERT_MSG_EQ_TOL(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12, "sums to 1");
            for (std::size_t j = 0; j < p.size(); ++j)
            {
                NS_TEST_ASSERT_MSG_GT_OR_EQ(p[j], min[j], "above min_share");
            }
            const auto again = ProjectOntoShareSimplex(p, min);
            for (std::size_t j = 0; j < p.size(); ++j)
            {
                NS_TEST_ASSERT_MSG_EQ_TOL(again[j], p[j], 1e-12, "projecting twice changes nothing");
            }
        }
        const auto inside = ProjectOntoShareSimplex({0.2, 0.3, 0.5}, min);
        NS_TEST_ASSERT_MSG_EQ_TOL(inside[1], 0.3, 1e-15, "a feasible row stays as it is");
        const auto equal = ProjectOntoShareSimplex({1.0, 1.0, 1.0, 1.0}, {0, 0, 0, 0});
        NS_TEST_ASSERT_MSG_EQ_TOL(equal[3], 0.25, 1e-15, "equal values: equal shares");
    }
};

class FullMinimumTestCase : public TestCase
{
  public:
    FullMinimumTestCase()
        : TestCase("min shares summing to 1: the projection is the minimum shares")
    {
    }

  private:
    void DoRun() override
    {
        const auto x = ProjectOntoShareSimplex({1.0, 0.0}, {0.5, 0.5});
        NS_TEST_ASSERT_MSG_EQ(x[0], 0.5, "slice 0 at its minimum");
        NS_TEST_ASSERT_MSG_EQ(x[1], 0.5, "slice 1 at its minimum");
    }
};

class SliceShareProjectionTestSuite : public TestSuite
{
  public:
    SliceShareProjectionTestSuite()
        : TestSuite("slicebridge-share-projection", Type::UNIT)
    {
        AddTestCase(new ProjectionTestCase, Duration::QUICK);
        AddTestCase(new FullMinimumTestCase, Duration::QUICK);
    }
};

SliceShareProjectionTestSuite g_sliceShareProjectionTestSuite;

} // namespace
