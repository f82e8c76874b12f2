// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-spec-check: pushes vectors through the C++ side of the Python/C++ contract, for
// tests/test_spec_parity.py to compare with the Python twins.
//
//   slicebridge-spec-check < request.json > answer.json
//
// Request (every key optional):
//   {"rbg_prbs": [n, ...], "cqis": [k, ...],
//    "projections": [{"row": [...], "min_share": [...]}, ...],
//    "runtime": <runtime JSON of bridge.runtime>, "load_steps": [step, ...], "truncations": [c, ...],
//    "reward_kpis": [KPI tensor [cells][slices][kpis], ...] (needs "runtime": its scenario's reward)}
// Answer: {"contract": {the constants of the generated header}, "rbg_size": [...],
//          "schedulable_rbgs": [...], "cqi_efficiency": [...], "projections": [[...], ...],
//          "truncated_exponential_scale": [...],
//          "runtime": {"min_share": [...], "action_invalid": "...", "load_scale": [[slice][step]],
//                      "cell_load_scale": [[[cell][slice][step]]], "ues_with_traffic": [[[cell][slice][step]]],
//                      "reward_name": "...", "cell_rewards": [[cell], ...] (one row per reward_kpis tensor)}}
// Bad input: a message on stderr and exit code 2.

#include "slice-contract.h"
#include "slice-reward.h"
#include "slice-runtime-config.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

using namespace ns3;
using nlohmann::json;

namespace
{

json
ContractConstants()
{
    return {{"kpi_names", contract::kKpiNames},
            {"kpi_units", contract::kKpiUnits},
            {"kpi_ratio", contract::kKpiIsRatio},
            {"cqi_efficiency_bps_hz", contract::kCqiEfficiencyBpsHz},
            {"mcs_efficiency_bps_hz", contract::kMcsEfficiencyBpsHz},
            {"prb_bandwidth_hz", contract::kPrbBandwidthHz},
            {"rbg_thresholds_prb", contract::kRbgThresholdsPrb},
            {"rbg_sizes_prb", contract::kRbgSizesPrb},
            {"load_profile_kinds", contract::kLoadProfileKinds},
            {"traffic_models", contract::kTrafficModels},
            {"reward_names", contract::kRewardNames},
            {"delay_slice_kinds", contract::kDelaySliceKinds},
            {"sigmoid_exponent_clip", contract::kSigmoidExponentClip},
            {"spectral_efficiency_floor_bps_hz", contract::kSpectralEfficiencyFloorBpsHz}};
}

json
Answer(const json& request)
{
    json answer = {{"contract", ContractConstants()}};
    json rbg = json::array();
    json schedulable = json::array();
    for (uint32_t prbs : request.value("rbg_prbs", std::vector<uint32_t>{}))
    {
        rbg.push_back(SliceRbgSize(prbs));
        schedulable.push_back(SliceSchedulableRbgs(prbs));
    }
    answer["rbg_size"] = rbg;
    answer["schedulable_rbgs"] = schedulable;
    json se = json::array();
    for (int cqi : request.value("cqis", std::vector<int>{}))
    {
        se.push_back(SliceCqiSpectralEfficiency(cqi));
    }
    answer["cqi_efficiency"] = se;
    json projected = json::array();
    for (const json& p : request.value("projections", json::array()))
    {
        projected.push_back(ProjectOntoShareSimplex(p.at("row").get<std::vector<double>>(),
                                                    p.at("min_share").get<std::vector<double>>()));
    }
    answer["projections"] = projected;
    json truncScale = json::array();
    for (double c : request.value("truncations", std::vector<double>{}))
    {
        truncScale.push_back(TruncatedExponentialScale(c));
    }
    answer["truncated_exponential_scale"] = truncScale;
    if (request.contains("runtime"))
    {
        const SliceRuntimeConfig cfg = SliceRuntimeConfig::Parse(request.at("runtime").dump(), "request.runtime");
        json minShare = json::array();
        json scale = json::array();
        const auto steps = request.value("load_steps", std::vector<uint32_t>{});
        for (uint32_t s = 0; s < cfg.slices.size(); ++s)
        {
            minShare.push_back(cfg.slices[s].minShare);
            json row = json::array();
            for (uint32_t step : steps)
            {
                row.push_back(cfg.LoadScale(s, step));
            }
            scale.push_back(row);
        }
        json cellScale = json::array(); // [cell][slice][step]
        json activeUes = json::array();  // [cell][slice][step] UEs with a positive rate
        for (uint32_t c = 0; c < cfg.cells.size(); ++c)
        {
            json cell = json::array();
            json activeCell = json::array();
            for (uint32_t s = 0; s < cfg.slices.size(); ++s)
            {
                json row = json::array();
                json activeRow = json::array();
                for (uint32_t step : steps)
                {
                    row.push_back(cfg.LoadScale(c, s, step));
                    // active UEs: how many of the slice's UEs of the cell get a positive rate
                    uint32_t active = 0;
                    for (uint32_t rank = 0; rank < cfg.slices[s].uesPerCell; ++rank)
                    {
                        active += cfg.UeRateScale(c, s, rank, step) > 0 ? 1 : 0;
                    }
                    activeRow.push_back(active);
                }
                cell.push_back(row);
                activeCell.push_back(activeRow);
            }
            cellScale.push_back(cell);
            activeUes.push_back(activeCell);
        }
        json rewards = json::array();
        for (const json& tensor : request.value("reward_kpis", json::array()))
        {
            rewards.push_back(SliceCellRewards(cfg.reward, tensor.get<SliceRewardKpis>()));
        }
        answer["runtime"] = {{"min_share", minShare},
                             {"action_invalid", cfg.actionInvalid},
                             {"load_scale", scale},
                             {"cell_load_scale", cellScale},
                             {"ues_with_traffic", activeUes},
                             {"reward_name", cfg.reward.name},
                             {"cell_rewards", rewards}};
    }
    return answer;
}

} // namespace

int
main()
{
    try
    {
        const json request = json::parse(std::cin);
        std::cout << Answer(request).dump() << std::endl;
    }
    catch (const std::exception& e)
    {
        std::cerr << "slicebridge-spec-check: " << e.what() << std::endl;
        return 2;
    }
    return 0;
}
