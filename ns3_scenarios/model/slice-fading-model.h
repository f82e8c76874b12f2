// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_FADING_MODEL_H
#define SLICE_FADING_MODEL_H

#include "ns3/nstime.h"
#include "ns3/random-variable-stream.h"
#include "ns3/spectrum-propagation-loss-model.h"

#include <map>
#include <utility>
#include <vector>

namespace ns3
{

/**
 * @brief Rayleigh block fading per link and per resource block (frequency-selective, i.i.d.).
 *
 * Every (transmitter node, receiver node) link gets one power gain per band of the received PSD
 * (per LTE RB), drawn i.i.d. Exp(1) (the power of a unit-mean Rayleigh amplitude), held constant
 * over a coherence block of CoherenceTime and redrawn at the first transmission of the next block
 * (blocks are aligned on multiples of CoherenceTime; a link idle over a block boundary draws
 * afresh). The draws come from one ExponentialRandomVariable, so runs are deterministic for a
 * given seed once AssignStreams() has fixed its stream; the mean received power equals the
 * path-loss model's (E[gain] = 1). Links are reciprocal (the key is the unordered node pair).
 *
 * The scenario helper installs it on the DL spectrum channel and sets CoherenceTime from the UE
 * speed (CoherenceTimeForSpeed): Clarke's T_c = 0.423 / f_D with f_D = v f_c / c.
 */
class SliceFadingModel : public SpectrumPropagationLossModel
{
  public:
    static TypeId GetTypeId();
    SliceFadingModel();
    ~SliceFadingModel() override;

    /// Clarke's coherence time 0.423 / f_D for speed @p speedMps at @p carrierHz, clamped to
    /// [@p minimum, @p maximum] (speed 0 gives @p maximum).
    static Time CoherenceTimeForSpeed(double speedMps, double carrierHz, Time minimum, Time maximum);

    /// Fading power gain of band @p band on the link between nodes @p a and @p b in the block now
    /// in force (draws the block if needed).
    double GetGain(uint32_t a, uint32_t b, size_t band, size_t nBands) const;

  private:
    Ptr<SpectrumValue> DoCalcRxPowerSpectralDensity(Ptr<const SpectrumSignalParameters> params,
                                                    Ptr<const MobilityModel> a,
                                                    Ptr<const MobilityModel> b) const override;
    int64_t DoAssignStreams(int64_t stream) override;

    struct Block
    {
        int64_t index{-1};
        std::vector<double> gains;
    };

    const std::vector<double>& Gains(uint32_t a, uint32_t b, size_t nBands) const;

    Time m_coherenceTime;
    Ptr<ExponentialRandomVariable> m_rv;
    mutable std::map<std::pair<uint32_t, uint32_t>, Block> m_blocks;
};

} // namespace ns3

#endif // SLICE_FADING_MODEL_H
