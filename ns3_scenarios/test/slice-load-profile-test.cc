// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of SliceLoadScale (the C++ twin of bridge.contract.load_scale).

#include "slice-contract.h"

#include "ns3/test.h"

using namespace ns3;

namespace
{

SliceLoadProfile
Profile(const std::string& kind)
{
    SliceLoadProfile p;
    p.kind = kind;
    return p;
}

class LoadProfileTestCase : public TestCase
{
  public:
    LoadProfileTestCase()
        : TestCase("constant, piecewise (held, cycled) and sinusoid profiles; clamped at 0")
    {
    }

  private:
    void DoRun() override
    {
        SliceLoadProfile constant = Profile("constant");
        constant.scale = 0.7;
        NS_TEST_ASSERT_MSG_EQ(SliceLoadScale(constant, 0), 0.7, "constant at step 0");
        NS_TEST_ASSERT_MSG_EQ(SliceLoadScale(constant, 1000), 0.7, "constant at step 1000");

        SliceLoadProfile piecewise = Profile("piecewise");
        piecewise.values = {1.0, 0.0, 2.0};
        piecewise.holdSteps = 2;
        const double expected[] = {1, 1, 0, 0, 2, 2, 1, 1};
        for (uint32_t step = 0; step < 8; ++step)
        {
            NS_TEST_ASSERT_MSG_EQ(SliceLoadScale(piecewise, step), expected[step], "piecewise step " << step);
        }

        SliceLoadProfile sine = Profile("sinusoid");
        sine.amplitude = 0.5;
        sine.periodSteps = 4;
        const double wave[] = {1.0, 1.5, 1.0, 0.5};
        for (uint32_t step = 0; step < 4; ++step)
        {
            NS_TEST_ASSERT_MSG_EQ_TOL(SliceLoadScale(sine, step), wave[step], 1e-12, "sinusoid step " << step);
        }
        sine.amplitude = 2.0; // beyond the Python validator's range: still never negative
        NS_TEST_ASSERT_MSG_EQ(SliceLoadScale(sine, 3), 0.0, "clamped at 0");

        NS_TEST_ASSERT_MSG_EQ(IsSliceLoadProfileKind("sinusoid"), true, "a kind of the contract");
        NS_TEST_ASSERT_MSG_EQ(IsSliceLoadProfileKind("ramp"), false, "not a kind of the contract");
    }
};

class SliceLoadProfileTestSuite : public TestSuite
{
  public:
    SliceLoadProfileTestSuite()
        : TestSuite("slicebridge-load-profile", Type::UNIT)
    {
        AddTestCase(new LoadProfileTestCase, Duration::QUICK);
    }
};

SliceLoadProfileTestSuite g_sliceLoadProfileTestSuite;

} // namespace
