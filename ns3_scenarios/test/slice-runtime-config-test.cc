// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of SliceRuntimeConfig: a valid runtime JSON is read field by field, and every kind of
// malformed input ends in one std::runtime_error that names the source, the field and the problem.

#include "slice-runtime-config.h"

#include "ns3/test.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

using namespace ns3;
using nlohmann::json;

namespace
{

/// A small valid runtime JSON (1 cell, 2 slices, 2 UEs), as bridge.runtime writes it.
json
ValidRuntime()
{
    const json profile = {{"kind", "piecewise"}, {"scale", 1.0}, {"values", {1.0, 0.5}}, {"hold_steps", 2},
                          {"amplitude", 0.5}, {"period_steps", 20}, {"phase_rad", 0.0}};
    json constant = profile;
    constant["kind"] = "constant";
    constant["scale"] = 0.8;
    return {
        {"format", "slicebridge-runtime/1"},
        {"seed", 7},
        {"scenario",
         {{"name", "unit"},
          {"topology", {{"sites", 1}, {"sectors", 1}}},
          {"radio",
           {{"technology", "lte"}, {"bandwidth_prb", 25}, {"carrier_mhz", 2120.0}, {"tx_power_dbm", 43.0},
            {"noise_figure_db", 9.0}, {"fading", false}, {"scheduler", "pf"},
            {"propagation", {{"model", "log_distance"}, {"exponent", 3.0}, {"reference_loss_db", 46.7}}},
            {"antenna", {{"beamwidth_deg", 70.0}, {"max_attenuation_db", 20.0}}}}},
          {"slices",
           {{{"name", "embb"}, {"kind", "embb"}, {"ues_per_cell", 1}, {"min_share", 0.2},
             {"traffic", {{"model", "cbr"}, {"rate_mbps", 2.0}, {"packet_size_bytes", 1200}}},
             {"load_profile", profile}},
            {{"name", "urllc"}, {"kind", "urllc"}, {"ues_per_cell", 1}, {"min_share", 0.1},
             {"traffic", {{"model", "poisson"}, {"rate_mbps", 0.5}, {"packet_size_bytes", 200}}},
             {"load_profile", constant}}}},
          {"control", {{"decision_period_ms", 100.0}, {"episode_steps", 5}, {"warmup_ms", 50.0}}},
          {"action", {{"work_conserving", false}, {"invalid", "reject"}}}}},
        {"cells", {{{"x_m", 0.0}, {"y_m", 0.0}, {"azimuth_deg", nullptr}}}},
        {"ues",
         {{{"cell", 0}, {"slice", 0}, {"x_m", 10.0}, {"y_m", 0.0}, {"shadowing_db", {0.0}}},
          {{"cell", 0}, {"slice", 1}, {"x_m", 0.0}, {"y_m", 20.0}, {"shadowing_db", {1.5}}}}},
        {"sla_delay_ms", {{50.0, 10.0}}},
        {"initial_shares", {{0.5, 0.5}}},
    };
}

/// The message Parse() throws for @p runtime (empty when it does not throw).
std::string
ParseError(const std::string& text)
{
    try
    {
        SliceRuntimeConfig::Parse(text, "unit.json");
    }
    catch (const std::runtime_error& e)
    {
        return e.what();
    }
    return "";
}

class ValidRuntimeTestCase : public TestCase
{
  public:
    ValidRuntimeTestCase()
        : TestCase("a valid runtime JSON is read field by field")
    {
    }

  private:
    void DoRun() override
    {
        const SliceRuntimeConfig cfg = SliceRuntimeConfig::Parse(ValidRuntime().dump(), "unit.json");
        NS_TEST_ASSERT_MSG_EQ(cfg.seed, 7u, "seed");
        NS_TEST_ASSERT_MSG_EQ(cfg.bandwidthPrb, 25, "bandwidth");
        NS_TEST_ASSERT_MSG_EQ(cfg.slices.size(), 2u, "slices");
        NS_TEST_ASSERT_MSG_EQ(cfg.slices[0].minShare, 0.2, "min_share of slice 0");
        NS_TEST_ASSERT_MSG_EQ(cfg.slices[1].qci, 7, "default QCI of a urllc slice");
        NS_TEST_ASSERT_MSG_EQ(cfg.actionInvalid, "reject", "action.invalid");
        NS_TEST_ASSERT_MSG_EQ(cfg.workConserving, false, "action.work_conserving");
        NS_TEST_ASSERT_MSG_EQ(cfg.cells[0].omni, true, "azimuth null: omni cell");
        NS_TEST_ASSERT_MSG_EQ(cfg.ues[1].shadowingDb[0], 1.5, "shadowing");
        NS_TEST_ASSERT_MSG_EQ(cfg.LoadScale(0, 0), 1.0, "piecewise profile, step 0");
        NS_TEST_ASSERT_MSG_EQ(cfg.LoadScale(0, 2), 0.5, "piecewise profile, step 2 (held 2 steps)");
        NS_TEST_ASSERT_MSG_EQ(cfg.LoadScale(1, 9), 0.8, "constant profile");
        NS_TEST_ASSERT_MSG_EQ(cfg.reward.name, "min_satisfaction", "no scenario.reward: min_satisfaction");
        NS_TEST_ASSERT_MSG_EQ(cfg.reward.delaySlice[0], false, "an embb slice is judged on throughput");
        NS_TEST_ASSERT_MSG_EQ(cfg.reward.delaySlice[1], true, "a urllc slice is judged on delay");
        NS_TEST_ASSERT_MSG_EQ(cfg.reward.bandwidthHz, 25 * contract::kPrbBandwidthHz, "reward bandwidth");
        NS_TEST_ASSERT_MSG_EQ(cfg.slaThroughputMbps[0][1], 0.0, "no sla_throughput_mbps: zeros");
    }
};

class RuntimeErrorsTestCase : public TestCase
{
  public:
    RuntimeErrorsTestCase()
        : TestCase("malformed runtime JSON: one clear error naming the source, the field and the problem")
    {
    }

  private:
    /// Expect that @p runtime fails with a message holding @p needle (and the source name).
    void ExpectError(const std::string& text, const std::string& needle)
    {
        const std::string message = ParseError(text);
        NS_TEST_EXPECT_MSG_EQ(message.empty(), false, "no error; expected one about: " << needle);
        NS_TEST_EXPECT_MSG_EQ(message.rfind("runtime JSON unit.json: ", 0), 0u,
                              "message does not name the source: " << message);
        NS_TEST_EXPECT_MSG_NE(message.find(needle), std::string::npos,
                              "message '" << message << "' does not mention '" << needle << "'");
    }

    void ExpectError(const json& runtime, const std::string& needle)
    {
        ExpectError(runtime.dump(), needle);
    }

    void DoRun() override
    {
        ExpectError(std::string("{\"format\": "), "not valid JSON");
        ExpectError(std::string("[1, 2]"), "format must be \"slicebridge-runtime/1\"");

        json r = ValidRuntime();
        r["format"] = "slicebridge-runtime/0";
        ExpectError(r, "format must be \"slicebridge-runtime/1\"");

        r = ValidRuntime();
        r["scenario"]["radio"].erase("bandwidth_prb");
        ExpectError(r, "missing field scenario.radio.bandwidth_prb");

        r = ValidRuntime();
        r["scenario"]["radio"]["bandwidth_prb"] = "25";
        ExpectError(r, "field scenario.radio.bandwidth_prb must be a whole number");

        r = ValidRuntime();
        r["scenario"]["radio"]["bandwidth_prb"] = 70000;
        ExpectError(r, "scenario.radio.bandwidth_prb must be a whole number in [0, 65535], got 70000");

        r = ValidRuntime();
        r["scenario"]["control"]["episode_steps"] = -3;
        ExpectError(r, "scenario.control.episode_steps must be a whole number");

        r = ValidRuntime();
        r["scenario"]["control"]["episode_steps"] = 2.5;
        ExpectError(r, "scenario.control.episode_steps must be a whole number");

        r = ValidRuntime();
        r["scenario"]["radio"]["carrier_mhz"] = "high";
        ExpectError(r, "field scenario.radio.carrier_mhz has the wrong type");

        r = ValidRuntime();
        r["scenario"]["radio"] = 3;
        ExpectError(r, "scenario.radio must be a JSON object");

        r = ValidRuntime();
        r["scenario"]["slices"] = {{"name", "x"}};
        ExpectError(r, "field scenario.slices must be a list");

        r = ValidRuntime();
        r["scenario"]["slices"][1]["load_profile"]["kind"] = "ramp";
        ExpectError(r, "scenario.slices[1].load_profile.kind: 'ramp' unknown; allowed: constant, piecewise, sinusoid");

        r = ValidRuntime();
        r["scenario"]["slices"][0]["load_profile"]["values"] = json::array();
        ExpectError(r, "scenario.slices[0].load_profile.values must not be empty");

        r = ValidRuntime();
        r["scenario"]["slices"][0]["load_profile"]["hold_steps"] = 0;
        ExpectError(r, "hold_steps and period_steps must be >= 1");

        r = ValidRuntime();
        r["scenario"]["slices"][0].erase("min_share");
        ExpectError(r, "missing field scenario.slices[0].min_share");

        r = ValidRuntime();
        r["scenario"]["action"]["invalid"] = "ignore";
        ExpectError(r, "scenario.action.invalid: 'ignore' unknown; allowed: project, reject");

        r = ValidRuntime();
        r["scenario"]["radio"]["scheduler"] = "fifo";
        ExpectError(r, "scenario.radio.scheduler: 'fifo' unknown; allowed: pf, rr");

        r = ValidRuntime();
        r["ues"][1]["cell"] = 4;
        ExpectError(r, "ues[1]: cell/slice out of range");

        r = ValidRuntime();
        r["ues"][0]["shadowing_db"] = {0.0, 1.0};
        ExpectError(r, "ues[0]: cell/slice out of range or shadowing_db does not have one value per cell");

        r = ValidRuntime();
        r["initial_shares"] = {{0.5, 0.3, 0.2}};
        ExpectError(r, "initial_shares must be [1 cells][2 slices]");

        r = ValidRuntime();
        r["scenario"]["reward"] = {{"name", "joy"}, {"alpha", 1.0}, {"beta", 0.5}, {"lam", 1.0},
                                   {"mu", 1.0}, {"phi", 1.0}, {"se_norm_bps_hz", 5.0}};
        ExpectError(r, "scenario.reward.name: 'joy' unknown; allowed: min_satisfaction, utility_cost");

        r = ValidRuntime();
        r["scenario"]["reward"] = {{"name", "se_ssr"}};
        ExpectError(r, "missing field scenario.reward.alpha");

        r = ValidRuntime();
        r["sla_throughput_mbps"] = {{1.0}};
        ExpectError(r, "sla_throughput_mbps must be [1 cells][2 slices]");

        r = ValidRuntime();
        r["cells"] = json::array();
        r["ues"] = json::array();
        r["sla_delay_ms"] = json::array();
        r["initial_shares"] = json::array();
        ExpectError(r, "no cells or no slices");

        bool threw = false;
        try
        {
            SliceRuntimeConfig::Load("/nonexistent-slicebridge-dir/missing.json");
        }
        catch (const std::runtime_error& e)
        {
            threw = std::string(e.what()).find("cannot read the runtime JSON") != std::string::npos;
        }
        NS_TEST_ASSERT_MSG_EQ(threw, true, "a missing file names the file");
    }
};

class ScenarioFeaturesTestCase : public TestCase
{
  public:
    ScenarioFeaturesTestCase()
        : TestCase("issue 11 features: per-cell load, active-UE masks, edge section and its share rows")
    {
    }

  private:
    void DoRun() override
    {
        json r = ValidRuntime();
        r["scenario"]["topology"]["cell_load_scale"] = {2.0};
        r["scenario"]["topology"]["cell_load_shift_steps"] = {1};
        const std::string activeUes(contract::kLoadAppliesTo[1]); // the mask of active UEs
        r["scenario"]["slices"][0]["load_profile"]["applies_to"] = activeUes;
        r["scenario"]["edge"] = {{"capacity_cycles_per_s", 1e9}, {"cycles_per_bit", {10.0, 0.0}},
                                 {"min_compute_share", {0.1, 0.0}}, {"work_conserving", true}};
        r["initial_shares"] = {{0.5, 0.5, 0.6, 0.4}};
        const SliceRuntimeConfig cfg = SliceRuntimeConfig::Parse(r.dump(), "unit.json");
        NS_TEST_ASSERT_MSG_EQ(cfg.LoadScale(0, 0, 0), 2.0, "cell 0 at step 0 = 2 x profile(1) = 2 x 1.0");
        NS_TEST_ASSERT_MSG_EQ(cfg.LoadScale(0, 0, 1), 1.0, "cell 0 at step 1 = 2 x profile(2) = 2 x 0.5");
        NS_TEST_ASSERT_MSG_EQ(cfg.UeRateScale(0, 0, 0, 1), 1.0, "mask 1.0 of 1 UE (capped): the UE is active");
        NS_TEST_ASSERT_MSG_EQ(cfg.UeRateScale(0, 1, 0, 1), 1.6, "a rate slice keeps its rate scale 2 x 0.8");
        NS_TEST_ASSERT_MSG_EQ(cfg.hasEdge, true, "edge section");
        NS_TEST_ASSERT_MSG_EQ(cfg.ShareWidth(), 4u, "share rows: bandwidth, then compute");
        NS_TEST_ASSERT_MSG_EQ(cfg.edgeWorkConserving, true, "edge.work_conserving");
        NS_TEST_ASSERT_MSG_EQ(cfg.minComputeShare[0], 0.1, "edge.min_compute_share");

        r["initial_shares"] = {{0.5, 0.5}};
        const std::string message = ParseError(r.dump());
        NS_TEST_ASSERT_MSG_NE(message.find("initial_shares must be [1 cells][4 shares: bandwidth, compute]"),
                              std::string::npos, "bandwidth-only initial shares with an edge section: " << message);
        r = ValidRuntime();
        r["scenario"]["slices"][0]["load_profile"]["applies_to"] = "users";
        NS_TEST_ASSERT_MSG_NE(ParseError(r.dump()).find("applies_to: 'users' unknown; allowed: rate, " + activeUes),
                              std::string::npos, "unknown applies_to");
    }
};

class SliceRuntimeConfigTestSuite : public TestSuite
{
  public:
    SliceRuntimeConfigTestSuite()
        : TestSuite("slicebridge-runtime-config", Type::UNIT)
    {
        AddTestCase(new ValidRuntimeTestCase, Duration::QUICK);
        AddTestCase(new RuntimeErrorsTestCase, Duration::QUICK);
        AddTestCase(new ScenarioFeaturesTestCase, Duration::QUICK);
    }
};

SliceRuntimeConfigTestSuite g_sliceRuntimeConfigTestSuite;

} // namespace
