// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-lte: packet-level LTE RAN-slicing scenario of slicebridge.
//
//   slicebridge-lte --config=runtime.json --output=kpis.jsonl [--shares=0.8,0.2] [--simSeed=N]
//                   [--steps=N] [--scheduler=slice|pf] [--openGymPort=PORT [--openGymCompat=1]]
//                   [--traceDir=DIR]
//
// --config: runtime JSON of bridge.runtime.write_runtime_json. --output: one JSON line per decision
// period {"step", "time_s", "kpi": [cells][slices][kpis]} (order of bridge.kpi.KPI_NAMES).
// --shares: fixed bandwidth shares for every cell (default: the runtime's initial_shares; with an edge
// section the compute shares stay the initial ones). --simSeed: ns-3
// RngRun (default: the runtime's seed). --steps: overrides control.episode_steps. --scheduler:
// slice (SliceFfMacScheduler around PF; radio.scheduler picks PF or our round robin inside each
// slice) or pf (stock PF, no slicing; backlog, PRB share and spectral efficiency are then reported
// as 0). radio.fading adds Rayleigh block fading on the DL (SliceFadingModel). --openGymPort=PORT / --openGymEndpoint=ipc://PATH: hand every decision
// to the Python gym bridge (ns3gym wire, see gym/slice-gym-interface.h); --openGymCompat=1: flat
// observation and action Boxes for ns3-gym's reference client (docs/NS3GYM.md). Every state carries
// the scenario's reward, computed in C++ (model/slice-reward.cc). --traceDir=DIR: per-packet delays and
// per-transport-block HARQ outcomes as CSV in DIR (model/slice-delay-trace.h; docs/FIDELITY.md).

#include "fixed-shares-slice-controller.h"
#include "slice-delay-trace.h"
#include "slice-gym-interface.h"
#include "slice-kpi-collector.h"
#include "slice-runtime-config.h"
#include "slice-scenario-helper.h"

#include "ns3/command-line.h"
#include "ns3/log.h"
#include "ns3/nstime.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <iostream>
#include <sstream>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("SlicebridgeLte");

namespace
{

std::vector<double>
ParseShares(const std::string& text)
{
    std::vector<double> values;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
    {
        size_t used = 0;
        double v = std::stod(item, &used);
        if (used != item.size() || !(v >= 0))
        {
            throw std::invalid_argument(item);
        }
        values.push_back(v);
    }
    return values;
}

} // namespace

int
main(int argc, char* argv[])
{
    std::string configPath;
    std::string outputPath;
    std::string sharesText;
    std::string scheduler = "slice";
    int64_t simSeed = -1;
    int64_t steps = -1;
    std::string traceDir;
    SliceGymOptions gym; // --openGymPort / --openGymEndpoint / --openGymTimeout (gym bridge)

    CommandLine cmd(__FILE__);
    cmd.Usage("Packet-level LTE RAN-slicing scenario of slicebridge.");
    cmd.AddValue("config", "runtime JSON written by bridge.runtime.write_runtime_json", configPath);
    cmd.AddValue("output", "KPI JSON lines output file", outputPath);
    cmd.AddValue("shares", "fixed slice shares for every cell, e.g. 0.8,0.2", sharesText);
    cmd.AddValue("simSeed", "ns-3 RngRun (default: the runtime's seed)", simSeed);
    cmd.AddValue("steps", "number of decision periods (default: control.episode_steps)", steps);
    cmd.AddValue("scheduler", "slice | pf", scheduler);
    cmd.AddValue("traceDir", "write packets.csv and tb.csv (per-packet delay, per-TB HARQ) into this directory", traceDir);
    gym.AddArguments(cmd);
    cmd.Parse(argc, argv);

    if (configPath.empty())
    {
        std::cerr << "slicebridge-lte: --config=PATH is required\n";
        return 2;
    }
    SliceRuntimeConfig cfg;
    SliceScenarioHelper helper;
    ShareMatrix shares;
    Ptr<SliceDelayTrace> trace;
    try
    {
        cfg = SliceRuntimeConfig::Load(configPath);
        if (steps > 0)
        {
            cfg.episodeSteps = static_cast<uint32_t>(steps);
        }
        else if (steps == 0)
        {
            throw std::runtime_error("--steps must be >= 1");
        }
        shares = cfg.initialShares;
        if (!sharesText.empty())
        {
            std::vector<double> row;
            try
            {
                row = ParseShares(sharesText);
            }
            catch (const std::exception&)
            {
                throw std::runtime_error("--shares must be comma-separated non-negative numbers, got '" +
                                         sharesText + "'");
            }
            if (row.size() != cfg.slices.size())
            {
                throw std::runtime_error("--shares has " + std::to_string(row.size()) + " values; the scenario has " +
                                         std::to_string(cfg.slices.size()) + " slices");
            }
            double sum = 0;
            for (double v : row)
            {
                sum += v;
            }
            if (sum <= 0)
            {
                throw std::runtime_error("--shares sum to 0");
            }
            for (auto& cellRow : shares) // the bandwidth shares; compute shares (edge) stay the initial ones
            {
                std::copy(row.begin(), row.end(), cellRow.begin());
            }
        }
        RngSeedManager::SetSeed(1);
        RngSeedManager::SetRun(simSeed >= 0 ? static_cast<uint64_t>(simSeed) : cfg.seed);
        helper.SetSchedulerKind(scheduler);
        helper.Build(cfg);
        if (!traceDir.empty())
        {
            trace = Create<SliceDelayTrace>(traceDir);
        }
    }
    catch (const std::exception& e)
    {
        std::cerr << "slicebridge-lte: " << e.what() << "\n";
        return 2;
    }

    Ptr<SliceKpiCollector> collector = helper.GetCollector();
    collector->SetAttribute("DecisionPeriod", TimeValue(MilliSeconds(cfg.decisionPeriodMs)));
    collector->SetAttribute("Warmup", TimeValue(MilliSeconds(cfg.warmupMs)));
    collector->SetAttribute("Steps", UintegerValue(cfg.episodeSteps));
    collector->SetAttribute("OutputPath", StringValue(outputPath));
    collector->SetInitialShares(shares);
    if (gym.Enabled())
    {
        collector->SetController(CreateSliceGymController(gym, cfg));
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
    return 0;
}
