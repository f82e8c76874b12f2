// SPDX-License-Identifier: GPL-2.0-only
#include "slice-link-loss-model.h"

#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceLinkLossModel");
NS_OBJECT_ENSURE_REGISTERED(SliceLinkLossModel);

TypeId
SliceLinkLossModel::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SliceLinkLossModel")
                            .SetParent<PropagationLossModel>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SliceLinkLossModel>();
    return tid;
}

SliceLinkLossModel::SliceLinkLossModel() = default;
SliceLinkLossModel::~SliceLinkLossModel() = default;

void
SliceLinkLossModel::SetLinkLossDb(uint32_t nodeA, uint32_t nodeB, double lossDb)
{
    m_lossDb[{std::min(nodeA, nodeB), std::max(nodeA, nodeB)}] = lossDb;
}

double
SliceLinkLossModel::GetLinkLossDb(uint32_t nodeA, uint32_t nodeB) const
{
    auto it = m_lossDb.find({std::min(nodeA, nodeB), std::max(nodeA, nodeB)});
    return it == m_lossDb.end() ? 0.0 : it->second;
}

double
SliceLinkLossModel::DoCalcRxPower(double txPowerDbm, Ptr<MobilityModel> a, Ptr<MobilityModel> b) const
{
    Ptr<Node> na = a->GetObject<Node>();
    Ptr<Node> nb = b->GetObject<Node>();
    if (!na || !nb)
    {
        return txPowerDbm;
    }
    return txPowerDbm - GetLinkLossDb(na->GetId(), nb->GetId());
}

int64_t
SliceLinkLossModel::DoAssignStreams(int64_t stream)
{
    return 0;
}

} // namespace ns3
