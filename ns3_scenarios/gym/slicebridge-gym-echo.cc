// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-gym-echo: the gym bridge without a simulation. It speaks the ns3opengym wire exactly
// as slicebridge-lte does (same SliceGymInterface), but its "KPIs" are synthetic and produced
// instantly: share_assigned and prb_used_share echo the shares in force, offered_mbps is the step.
// Used to measure the bridge's own overhead and to test the C++ end of the protocol.
//
//   slicebridge-gym-echo --openGymPort=PORT [--cells=1 --slices=2 --steps=10 --invalid=project]

#include "slice-gym-interface.h"

#include "ns3/command-line.h"
#include "ns3/simulator.h"

#include <string>
#include <vector>

using namespace ns3;

namespace
{

KpiTensor
Synthetic(uint32_t cells, uint32_t slices, const ShareMatrix& shares, double step)
{
    KpiTensor kpis(cells, std::vector<SliceKpiVector>(slices));
    for (uint32_t c = 0; c < cells; ++c)
    {
        for (uint32_t s = 0; s < slices; ++s)
        {
            SliceKpiVector& v = kpis[c][s];
            v.fill(0.0);
            v[KPI_OFFERED_MBPS] = step;
            v[KPI_THROUGHPUT_MBPS] = step * shares[c][s];
            v[KPI_SLA_RATIO] = 1.0;
            v[KPI_PRB_USED_SHARE] = shares[c][s];
            v[KPI_SHARE_ASSIGNED] = shares[c][s];
            v[KPI_ACTIVE_UES] = c + s;
        }
    }
    return kpis;
}

} // namespace

int
main(int argc, char* argv[])
{
    SliceGymOptions gym;
    uint32_t cells = 1;
    uint32_t slices = 2;
    uint32_t steps = 10;
    uint32_t simSeed = 1;
    std::string invalid = "project";
    std::string minShare = "0";
    std::string config;
    CommandLine cmd(__FILE__);
    gym.AddArguments(cmd);
    cmd.AddValue("cells", "number of cells", cells);
    cmd.AddValue("slices", "number of slices", slices);
    cmd.AddValue("steps", "decision periods per episode", steps);
    cmd.AddValue("invalid", "invalid actions: project | reject", invalid);
    cmd.AddValue("minShare", "min_share of every slice", minShare);
    cmd.AddValue("simSeed", "ignored (accepted like slicebridge-lte)", simSeed);
    cmd.AddValue("config", "ignored (accepted like slicebridge-lte)", config);
    cmd.Parse(argc, argv);
    if (!gym.Enabled())
    {
        std::cerr << "slicebridge-gym-echo: --openGymPort or --openGymEndpoint is required" << std::endl;
        return 2;
    }

    std::vector<double> mins(slices, std::stod(minShare));
    Ptr<SliceGymInterface> controller = Create<SliceGymInterface>(gym.Address(),
                                                                  cells,
                                                                  slices,
                                                                  mins,
                                                                  ParseSliceGymInvalidAction(invalid),
                                                                  gym.timeoutS);
    ShareMatrix shares(cells, std::vector<double>(slices, 1.0 / slices));
    shares = controller->Start(Synthetic(cells, slices, shares, 0), shares);
    for (uint32_t step = 0; step < steps && !controller->StopRequested(); ++step)
    {
        shares = controller->Decide(step, Synthetic(cells, slices, shares, step + 1), step + 1 == steps);
    }
    Simulator::Destroy();
    return 0;
}
