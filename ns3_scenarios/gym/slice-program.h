// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_PROGRAM_H
#define SLICE_PROGRAM_H

// The command-line life of the scenario programs slicebridge-lte and slicebridge-nr:
// the --shares argument and the episode run (decision periods, controller: fixed shares or the
// gym bridge). What differs between the programs is only the scenario helper that builds the radio.

#include "slice-contract.h"
#include "slice-gym-interface.h"

#include "ns3/ptr.h"

#include <string>

namespace ns3
{

class CommandLine;
class SliceKpiCollector;
class SliceRuntimeConfig;

/// The options every scenario program takes (see slicebridge-lte.cc for their meaning).
struct SliceProgramOptions
{
    std::string configPath;
    std::string outputPath;
    std::string sharesText;
    std::string scheduler{"slice"};
    int64_t simSeed{-1};
    int64_t steps{-1};
    SliceGymOptions gym; //!< --openGymPort / --openGymEndpoint / --openGymTimeout (gym bridge)

    /// Register --config, --output, --shares, --simSeed, --steps, --scheduler and the gym options.
    void AddArguments(CommandLine& cmd);
    /**
     * Load the runtime JSON (--steps applied), seed ns-3's RNG run (--simSeed, else the runtime's
     * seed) and set @p shares to the starting shares (SharesFromArgument). Throws
     * std::runtime_error naming the problem (also when --config is missing).
     */
    SliceRuntimeConfig Prepare(ShareMatrix& shares) const;
};

/**
 * The bandwidth shares every cell starts with: the runtime's initial shares, with the bandwidth
 * part of each row replaced by @p sharesText ("0.8,0.2": one non-negative number per slice, positive
 * sum) when it is not empty (compute shares of an edge section stay the initial ones).
 * Throws std::runtime_error naming the problem.
 */
ShareMatrix SharesFromArgument(const SliceRuntimeConfig& cfg, const std::string& sharesText);

/**
 * Run one episode: the collector's decision periods (cfg.decisionPeriodMs after cfg.warmupMs,
 * cfg.episodeSteps of them, KPI lines to options.outputPath), the controller (the gym bridge when
 * options.gym is enabled, else the fixed @p shares), then Simulator::Destroy.
 */
void RunSliceEpisode(const SliceRuntimeConfig& cfg,
                     Ptr<SliceKpiCollector> collector,
                     const ShareMatrix& shares,
                     const SliceProgramOptions& options);

} // namespace ns3

#endif // SLICE_PROGRAM_H
