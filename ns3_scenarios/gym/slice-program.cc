// SPDX-License-Identifier: GPL-2.0-only
#include "slice-program.h"

#include "fixed-shares-slice-controller.h"
#include "slice-kpi-collector.h"
#include "slice-runtime-config.h"

#include "ns3/command-line.h"
#include "ns3/nstime.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace ns3
{

void
SliceProgramOptions::AddArguments(CommandLine& cmd)
{
    cmd.AddValue("config", "runtime JSON written by bridge.runtime.write_runtime_json", configPath);
    cmd.AddValue("output", "KPI JSON lines output file", outputPath);
    cmd.AddValue("shares", "fixed slice shares for every cell, e.g. 0.8,0.2", sharesText);
    cmd.AddValue("simSeed", "ns-3 RngRun (default: the runtime's seed)", simSeed);
    cmd.AddValue("steps", "number of decision periods (default: control.episode_steps)", steps);
    cmd.AddValue("scheduler", "slice | pf", scheduler);
    gym.AddArguments(cmd);
}

SliceRuntimeConfig
SliceProgramOptions::Prepare(ShareMatrix& shares) const
{
    if (configPath.empty())
    {
        throw std::runtime_error("--config=PATH is required");
    }
    SliceRuntimeConfig cfg = SliceRuntimeConfig::Load(configPath);
    if (steps == 0)
    {
        throw std::runtime_error("--steps must be >= 1");
    }
    if (steps > 0)
    {
        cfg.episodeSteps = static_cast<uint32_t>(steps);
    }
    shares = SharesFromArgument(cfg, sharesText);
    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(simSeed >= 0 ? static_cast<uint64_t>(simSeed) : cfg.seed);
    return cfg;
}

ShareMatrix
SharesFromArgument(const SliceRuntimeConfig& cfg, const std::string& sharesText)
{
    ShareMatrix shares = cfg.initialShares;
    if (sharesText.empty())
    {
        return shares;
    }
    std::vector<double> row;
    std::stringstream ss(sharesText);
    std::string item;
    double sum = 0;
    while (std::getline(ss, item, ','))
    {
        size_t used = 0;
        double v = -1;
        try
        {
            v = std::stod(item, &used);
        }
        catch (const std::exception&)
        {
            used = 0;
        }
        if (used != item.size() || !(v >= 0))
        {
            throw std::runtime_error("--shares must be comma-separated non-negative numbers, got '" +
                                     sharesText + "'");
        }
        row.push_back(v);
        sum += v;
    }
    if (row.size() != cfg.slices.size())
    {
        throw std::runtime_error("--shares has " + std::to_string(row.size()) + " values; the scenario has " +
                                 std::to_string(cfg.slices.size()) + " slices");
    }
    if (sum <= 0)
    {
        throw std::runtime_error("--shares sum to 0");
    }
    for (auto& cellRow : shares)
    {
        std::copy(row.begin(), row.end(), cellRow.begin());
    }
    return shares;
}

void
RunSliceEpisode(const SliceRuntimeConfig& cfg,
                Ptr<SliceKpiCollector> collector,
                const ShareMatrix& shares,
                const SliceProgramOptions& options)
{
    collector->SetAttribute("DecisionPeriod", TimeValue(MilliSeconds(cfg.decisionPeriodMs)));
    collector->SetAttribute("Warmup", TimeValue(MilliSeconds(cfg.warmupMs)));
    collector->SetAttribute("Steps", UintegerValue(cfg.episodeSteps));
    collector->SetAttribute("OutputPath", StringValue(options.outputPath));
    collector->SetInitialShares(shares);
    if (options.gym.Enabled())
    {
        collector->SetController(CreateSliceGymController(options.gym, cfg));
    }
    else
    {
        collector->SetController(Create<FixedSharesSliceController>(shares));
    }
    collector->Start();
    // Safety net: the collector stops the simulation after the last period.
    Simulator::Stop(MilliSeconds(cfg.warmupMs + cfg.decisionPeriodMs * (cfg.episodeSteps + 1.0)));
    Simulator::Run();
    Simulator::Destroy();
}

} // namespace ns3
