// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-nr: packet-level 5G NR RAN-slicing scenario of slicebridge, on 5G-LENA (the ns-3 nr
// module), the NR counterpart of slicebridge-lte: same runtime JSON, KPI lines, gym wire and options.
//
//   slicebridge-nr --config=runtime.json --output=kpis.jsonl [--shares=0.8,0.2] [--simSeed=N]
//                  [--steps=N] [--scheduler=slice|pf] [--openGymPort=PORT [--openGymCompat=1]]
//
// --scheduler: slice (SliceNrMacScheduler around 5G-LENA's OFDMA PF, or RR with radio.scheduler rr)
// or pf (5G-LENA's stock OFDMA scheduler, no slicing: backlog, PRB share and spectral efficiency are
// then reported as 0). The scenario is built by SliceNrScenarioHelper (numerology, bandwidth part,
// TDD pattern: see its description and docs/NR.md).

#include "slice-kpi-collector.h"
#include "slice-nr-scenario-helper.h"
#include "slice-program.h"
#include "slice-runtime-config.h"

#include "ns3/command-line.h"

#include <iostream>

using namespace ns3;

int
main(int argc, char* argv[])
{
    SliceProgramOptions options;
    CommandLine cmd(__FILE__);
    cmd.Usage("Packet-level 5G NR (5G-LENA) RAN-slicing scenario of slicebridge.");
    options.AddArguments(cmd);
    cmd.Parse(argc, argv);

    SliceRuntimeConfig cfg;
    SliceNrScenarioHelper helper;
    ShareMatrix shares;
    try
    {
        cfg = options.Prepare(shares);
        helper.SetSchedulerKind(options.scheduler);
        helper.Build(cfg);
    }
    catch (const std::exception& e)
    {
        std::cerr << "slicebridge-nr: " << e.what() << "\n";
        return 2;
    }
    RunSliceEpisode(cfg, helper.GetCollector(), shares, options);
    return 0;
}
