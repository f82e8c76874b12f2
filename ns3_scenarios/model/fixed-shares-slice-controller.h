// SPDX-License-Identifier: GPL-2.0-only
#ifndef FIXED_SHARES_SLICE_CONTROLLER_H
#define FIXED_SHARES_SLICE_CONTROLLER_H

#include "slice-controller.h"

namespace ns3
{

/**
 * @brief SliceController that keeps the same shares in every period.
 */
class FixedSharesSliceController : public SliceController
{
  public:
    /// Keep @p shares ([cells][slices]) for the whole episode.
    explicit FixedSharesSliceController(ShareMatrix shares);

    ShareMatrix Start(const KpiTensor& warmupKpis, const ShareMatrix& initial) override;
    ShareMatrix Decide(uint32_t step, const KpiTensor& kpis, bool last) override;

  private:
    ShareMatrix m_shares;
};

} // namespace ns3

#endif // FIXED_SHARES_SLICE_CONTROLLER_H
