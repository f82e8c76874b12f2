// SPDX-License-Identifier: GPL-2.0-only
#include "slice-controller.h"

namespace ns3
{

const std::vector<std::string>&
GetSliceKpiNames()
{
    static const std::vector<std::string> names{"offered_mbps",
                                                "throughput_mbps",
                                                "delay_mean_ms",
                                                "delay_p95_ms",
                                                "loss_ratio",
                                                "sla_ratio",
                                                "backlog_bytes",
                                                "active_ues",
                                                "prb_used_share",
                                                "share_assigned",
                                                "spectral_eff_bps_hz"};
    return names;
}

SliceController::~SliceController() = default;

ShareMatrix
SliceController::Start(const KpiTensor& warmupKpis, const ShareMatrix& initial)
{
    return initial;
}

} // namespace ns3
