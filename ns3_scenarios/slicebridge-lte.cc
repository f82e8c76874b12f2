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

#include "slice-delay-trace.h"
#include "slice-gym-interface.h"
#include "slice-kpi-collector.h"
#include "slice-program.h"
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

int
main(int argc, char* argv[])
{
    SliceProgramOptions options;
    std::string traceDir;
    CommandLine cmd(__FILE__);
    cmd.Usage("Packet-level LTE RAN-slicing scenario of slicebridge.");
    options.AddArguments(cmd);
    cmd.AddValue("traceDir", "write packets.csv and tb.csv (per-packet delay, per-TB HARQ) into this directory", traceDir);
    cmd.Parse(argc, argv);

    SliceRuntimeConfig cfg;
    SliceScenarioHelper helper;
    ShareMatrix shares;
    Ptr<SliceDelayTrace> trace;
    try
    {
        cfg = options.Prepare(shares);
        helper.SetSchedulerKind(options.scheduler);
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
    RunSliceEpisode(cfg, helper.GetCollector(), shares, options);
    return 0;
}
