// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_LINK_LOSS_MODEL_H
#define SLICE_LINK_LOSS_MODEL_H

#include "ns3/propagation-loss-model.h"

#include <map>
#include <utility>

namespace ns3
{

/**
 * @brief Fixed extra loss per (node, node) link: the per-link shadowing drawn by the Python side.
 *
 * The runtime JSON carries, for every UE, its shadowing towards every cell; the scenario helper
 * enters it with SetLinkLossDb(ueNodeId, enbNodeId, dB). The loss is symmetric (DL and UL) and
 * 0 dB for links without an entry. Chain it after the main path-loss model (SpectrumChannel::
 * AddPropagationLossModel, or SetNext).
 */
class SliceLinkLossModel : public PropagationLossModel
{
  public:
    static TypeId GetTypeId();
    SliceLinkLossModel();
    ~SliceLinkLossModel() override;

    void SetLinkLossDb(uint32_t nodeA, uint32_t nodeB, double lossDb);
    double GetLinkLossDb(uint32_t nodeA, uint32_t nodeB) const;

  private:
    double DoCalcRxPower(double txPowerDbm, Ptr<MobilityModel> a, Ptr<MobilityModel> b) const override;
    int64_t DoAssignStreams(int64_t stream) override;

    std::map<std::pair<uint32_t, uint32_t>, double> m_lossDb;
};

} // namespace ns3

#endif // SLICE_LINK_LOSS_MODEL_H
