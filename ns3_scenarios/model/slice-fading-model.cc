// SPDX-License-Identifier: GPL-2.0-only
#include "slice-fading-model.h"

#include "ns3/double.h"
#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"
#include "ns3/simulator.h"
#include "ns3/spectrum-signal-parameters.h"
#include "ns3/spectrum-value.h"

#include <algorithm>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("SliceFadingModel");
NS_OBJECT_ENSURE_REGISTERED(SliceFadingModel);

TypeId
SliceFadingModel::GetTypeId()
{
    static TypeId tid = TypeId("ns3::SliceFadingModel")
                            .SetParent<SpectrumPropagationLossModel>()
                            .SetGroupName("Slicebridge")
                            .AddConstructor<SliceFadingModel>()
                            .AddAttribute("CoherenceTime",
                                          "Duration of a fading block (gains constant inside it)",
                                          TimeValue(MilliSeconds(1)),
                                          MakeTimeAccessor(&SliceFadingModel::m_coherenceTime),
                                          MakeTimeChecker(MilliSeconds(1)));
    return tid;
}

SliceFadingModel::SliceFadingModel()
    : m_rv(CreateObject<ExponentialRandomVariable>())
{
    m_rv->SetAttribute("Mean", DoubleValue(1.0));
    m_rv->SetAttribute("Bound", DoubleValue(0.0)); // unbounded
}

SliceFadingModel::~SliceFadingModel() = default;

Time
SliceFadingModel::CoherenceTimeForSpeed(double speedMps, double carrierHz, Time minimum, Time maximum)
{
    constexpr double SPEED_OF_LIGHT = 299792458.0;
    double doppler = speedMps * carrierHz / SPEED_OF_LIGHT;
    if (doppler <= 0)
    {
        return maximum;
    }
    return std::clamp(Seconds(0.423 / doppler), minimum, maximum);
}

const std::vector<double>&
SliceFadingModel::Gains(uint32_t a, uint32_t b, size_t nBands) const
{
    Block& block = m_blocks[{std::min(a, b), std::max(a, b)}];
    const int64_t index = Simulator::Now().GetTimeStep() / m_coherenceTime.GetTimeStep();
    if (block.index != index || block.gains.size() != nBands)
    {
        block.index = index;
        block.gains.resize(nBands);
        for (double& g : block.gains)
        {
            g = m_rv->GetValue();
        }
    }
    return block.gains;
}

double
SliceFadingModel::GetGain(uint32_t a, uint32_t b, size_t band, size_t nBands) const
{
    return Gains(a, b, nBands).at(band);
}

Ptr<SpectrumValue>
SliceFadingModel::DoCalcRxPowerSpectralDensity(Ptr<const SpectrumSignalParameters> params,
                                               Ptr<const MobilityModel> a,
                                               Ptr<const MobilityModel> b) const
{
    Ptr<SpectrumValue> rx = params->psd->Copy();
    Ptr<Node> na = a->GetObject<Node>();
    Ptr<Node> nb = b->GetObject<Node>();
    if (!na || !nb)
    {
        return rx;
    }
    const size_t nBands = rx->GetValuesN();
    const std::vector<double>& gains = Gains(na->GetId(), nb->GetId(), nBands);
    auto it = rx->ValuesBegin();
    for (size_t i = 0; i < nBands; ++i, ++it)
    {
        *it *= gains[i];
    }
    return rx;
}

int64_t
SliceFadingModel::DoAssignStreams(int64_t stream)
{
    m_rv->SetStream(stream);
    return 1;
}

} // namespace ns3
