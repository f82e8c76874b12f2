// SPDX-License-Identifier: GPL-2.0-only
#include "slice-controller.h"

namespace ns3
{

const std::vector<std::string>&
GetSliceKpiNames()
{
    static const std::vector<std::string> names(contract::kKpiNames.begin(), contract::kKpiNames.end());
    return names;
}

SliceController::~SliceController() = default;

ShareMatrix
SliceController::Start(const KpiTensor& warmupKpis, const ShareMatrix& initial)
{
    return initial;
}

} // namespace ns3
