// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_RUNTIME_CONFIG_H
#define SLICE_RUNTIME_CONFIG_H

#include "slice-contract.h"
#include "slice-reward.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

/**
 * @brief The runtime JSON written by bridge.runtime.write_runtime_json (format
 * "slicebridge-runtime/1"): the validated scenario plus the drawn layout.
 *
 * Load() reads and checks a file, Parse() a text; errors throw std::runtime_error naming the
 * source, the JSON field and what is wrong with it.
 */
class SliceRuntimeConfig
{
  public:
    using LoadProfile = SliceLoadProfile;

    struct Slice
    {
        std::string name;
        std::string kind;
        uint32_t uesPerCell{0};
        std::string trafficModel; //!< one of contract::kTrafficModels
        double rateMbps{0.0};
        uint32_t packetSizeBytes{1200};
        double onMs{0.0};
        double offMs{0.0};
        double periodMs{0.0};
        double jitter{1.0};     //!< uniform: interval half-width / mean interval
        double truncation{3.0}; //!< truncated_exponential: longest interval / mean interval
        LoadProfile loadProfile;
        double minShare{0.0}; //!< floor of the slice's share (invalid actions are projected above it)
        uint8_t qci{9};
    };

    struct Cell
    {
        double x{0};
        double y{0};
        bool omni{true};
        double azimuthDeg{0};
    };

    struct Ue
    {
        uint32_t cell{0};
        uint32_t slice{0};
        double x{0};
        double y{0};
        std::vector<double> shadowingDb; //!< towards every cell
    };

    static SliceRuntimeConfig Load(const std::string& path);
    /// Parse the runtime JSON @p text; @p source names it in error messages (e.g. the file path).
    static SliceRuntimeConfig Parse(const std::string& text, const std::string& source);

    /// Load multiplier of @p slice at decision step @p step (bridge.scenario.LoadProfile).
    double LoadScale(uint32_t slice, uint32_t step) const;
    /// ... in @p cell: with the cell's topology.cell_load_scale and cell_load_shift_steps.
    double LoadScale(uint32_t cell, uint32_t slice, uint32_t step) const;
    /// Rate multiplier of the UE of rank @p rank among the slice's UEs of @p cell at @p step: the
    /// load scale (applies_to: rate) or 1 / 0 for the first SliceActiveUeCount UEs / the others (active_ues).
    double UeRateScale(uint32_t cell, uint32_t slice, uint32_t rank, uint32_t step) const;

    std::string name;
    uint32_t seed{1};
    std::string technology{"lte"};
    uint32_t numerology{0}; //!< NR only: subcarrier spacing 15·2^µ kHz, slot 1/2^µ ms
    uint32_t sites{1};
    uint32_t sectors{1};
    uint16_t bandwidthPrb{25};
    double carrierMhz{2120};
    double txPowerDbm{43};
    double noiseFigureDb{9};
    std::string propagationModel{"log_distance"};
    double exponent{3.0};
    double referenceLossDb{46.6777};
    double beamwidthDeg{70};
    double maxAttenuationDb{20};
    bool fading{false};
    std::string scheduler{"pf"}; //!< radio.scheduler: intra-slice scheduler, pf | rr
    std::string cqiSource{"pdsch"}; //!< radio.cqi_source: CQI against the data (pdsch) or control (pdcch) interference
    std::string mobilityModel{"static"};
    double speedMps{0};
    double decisionPeriodMs{100};
    uint32_t episodeSteps{1};
    double warmupMs{0};
    bool workConserving{true};
    std::string actionInvalid{"project"}; //!< scenario.action.invalid: project | reject
    uint32_t bufferBytes{102400};
    std::vector<Slice> slices;
    std::vector<Cell> cells;
    std::vector<double> cellLoadScale;        //!< [cells] topology.cell_load_scale (1 when not given)
    std::vector<uint32_t> cellLoadShiftSteps; //!< [cells] topology.cell_load_shift_steps (0 when not given)
    std::vector<Ue> ues;
    std::vector<std::vector<double>> slaDelayMs;      //!< [cells][slices]
    std::vector<std::vector<double>> slaThroughputMbps; //!< [cells][slices] per UE (optional: zeros)
    /// scenario.reward with the SLAs, slice kinds and bandwidth it needs (no scenario.reward:
    /// min_satisfaction)
    SliceRewardSpec reward;
    std::vector<std::vector<double>> initialShares;   //!< [cells][ShareWidth()]: bandwidth, then (edge) compute

    /// scenario.edge (bridge.scenario.Edge): absent unless hasEdge.
    bool hasEdge{false};
    double edgeCapacityCyclesPerS{0.0};
    std::vector<double> edgeCyclesPerBit; //!< [slices]
    std::vector<double> minComputeShare;  //!< [slices] (zeros when not given)
    bool edgeWorkConserving{false};       //!< edge.work_conserving
    /// Values per cell in a share row: slices, or 2 x slices with an edge section (bandwidth, then compute).
    std::size_t ShareWidth() const
    {
        return slices.size() * (hasEdge ? 2 : 1);
    }
};

} // namespace ns3

#endif // SLICE_RUNTIME_CONFIG_H
