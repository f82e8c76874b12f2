// SPDX-License-Identifier: GPL-2.0-only
#include "fixed-shares-slice-controller.h"

namespace ns3
{

FixedSharesSliceController::FixedSharesSliceController(ShareMatrix shares)
    : m_shares(std::move(shares))
{
}

ShareMatrix
FixedSharesSliceController::Start(const KpiTensor& warmupKpis, const ShareMatrix& initial)
{
    return m_shares;
}

ShareMatrix
FixedSharesSliceController::Decide(uint32_t step, const KpiTensor& kpis, bool last)
{
    return m_shares;
}

} // namespace ns3
