// SPDX-License-Identifier: GPL-2.0-only
#include "slice-runtime-config.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace ns3
{

namespace
{

using nlohmann::json;

const json&
At(const json& j, const std::string& key, const std::string& where)
{
    if (!j.is_object())
    {
        throw std::runtime_error("field " + where.substr(0, where.empty() ? 0 : where.size() - 1) +
                                 " must be a JSON object");
    }
    if (!j.contains(key))
    {
        throw std::runtime_error("missing field " + where + key);
    }
    return j.at(key);
}

/// @p j as T; integers must be whole numbers within T's range (nlohmann would wrap or truncate).
template <typename T>
T
As(const json& j, const std::string& field)
{
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    {
        const bool whole = std::is_unsigned_v<T> ? j.is_number_unsigned() : j.is_number_integer();
        if (!whole || j.get<long double>() > static_cast<long double>(std::numeric_limits<T>::max()) ||
            j.get<long double>() < static_cast<long double>(std::numeric_limits<T>::min()))
        {
            throw std::runtime_error("field " + field + " must be a whole number in [" +
                                     std::to_string(+std::numeric_limits<T>::min()) + ", " +
                                     std::to_string(+std::numeric_limits<T>::max()) + "], got " +
                                     j.dump());
        }
    }
    try
    {
        return j.get<T>();
    }
    catch (const json::exception& e)
    {
        throw std::runtime_error("field " + field + " has the wrong type, got " + j.dump() + " (" +
                                 e.what() + ")");
    }
}

template <typename T>
T
Get(const json& j, const std::string& key, const std::string& where)
{
    return As<T>(At(j, key, where), where + key);
}

template <typename T>
T
GetOr(const json& j, const std::string& key, const std::string& where, T fallback)
{
    if (j.is_object() && j.contains(key) && !j.at(key).is_null())
    {
        return As<T>(j.at(key), where + key);
    }
    return fallback;
}

const json&
ArrayAt(const json& j, const std::string& key, const std::string& where)
{
    const json& a = At(j, key, where);
    if (!a.is_array())
    {
        throw std::runtime_error("field " + where + key + " must be a list, got " + a.type_name());
    }
    return a;
}

SliceRuntimeConfig::LoadProfile
ParseLoadProfile(const json& lp, const std::string& where)
{
    SliceRuntimeConfig::LoadProfile p;
    p.kind = Get<std::string>(lp, "kind", where);
    if (!IsSliceLoadProfileKind(p.kind))
    {
        std::string allowed;
        for (auto k : contract::kLoadProfileKinds)
        {
            allowed += (allowed.empty() ? "" : ", ") + std::string(k);
        }
        throw std::runtime_error("field " + where + "kind: '" + p.kind + "' unknown; allowed: " + allowed);
    }
    // every field is written by bridge.runtime (the validated scenario): no second set of defaults
    p.scale = Get<double>(lp, "scale", where);
    p.values = Get<std::vector<double>>(lp, "values", where);
    p.holdSteps = Get<uint32_t>(lp, "hold_steps", where);
    p.amplitude = Get<double>(lp, "amplitude", where);
    p.periodSteps = Get<uint32_t>(lp, "period_steps", where);
    p.phaseRad = Get<double>(lp, "phase_rad", where);
    const auto appliesTo = GetOr<std::string>(lp, "applies_to", where, "rate");
    // contract order: rate (each UE's rate), then the mask of active UEs
    const auto& targets = contract::kLoadAppliesTo;
    if (std::find(targets.begin(), targets.end(), appliesTo) == targets.end())
    {
        throw std::runtime_error("field " + where + "applies_to: '" + appliesTo + "' unknown; allowed: " +
                                 std::string(targets[0]) + ", " + std::string(targets[1]));
    }
    p.activeUes = appliesTo == targets[1];
    if (p.holdSteps == 0 || p.periodSteps == 0)
    {
        throw std::runtime_error("fields " + where + "hold_steps and period_steps must be >= 1");
    }
    if (p.kind == "piecewise" && p.values.empty())
    {
        throw std::runtime_error("field " + where + "values must not be empty for a piecewise profile");
    }
    return p;
}

} // namespace

namespace
{

/// scenario.reward (all parameters required when the block is there) with the SLAs and slice kinds.
SliceRewardSpec
RewardFromJson(const json& sc, const SliceRuntimeConfig& cfg)
{
    SliceRewardSpec spec;
    if (sc.contains("reward"))
    {
        const json& r = sc.at("reward");
        const std::string where = "scenario.reward.";
        spec.name = Get<std::string>(r, "name", where);
        spec.alpha = Get<double>(r, "alpha", where);
        spec.beta = Get<double>(r, "beta", where);
        spec.lam = Get<double>(r, "lam", where);
        spec.mu = Get<double>(r, "mu", where);
        spec.phi = Get<double>(r, "phi", where);
        spec.seNormBpsHz = Get<double>(r, "se_norm_bps_hz", where);
    }
    if (!IsSliceRewardName(spec.name))
    {
        std::string allowed;
        for (const auto& n : contract::kRewardNames)
        {
            allowed += (allowed.empty() ? "" : ", ") + std::string(n);
        }
        throw std::runtime_error("field scenario.reward.name: '" + spec.name + "' unknown; allowed: " + allowed);
    }
    spec.slaThroughputMbps = cfg.slaThroughputMbps;
    spec.slaDelayMs = cfg.slaDelayMs;
    for (const auto& slice : cfg.slices)
    {
        spec.delaySlice.push_back(IsDelaySliceKind(slice.kind));
    }
    spec.bandwidthHz = cfg.bandwidthPrb * contract::kPrbBandwidthHz;
    return spec;
}

SliceRuntimeConfig
FromJson(const json& root)
{
    using Slice = SliceRuntimeConfig::Slice;
    using Cell = SliceRuntimeConfig::Cell;
    using Ue = SliceRuntimeConfig::Ue;
    if (GetOr<std::string>(root, "format", "", "") != "slicebridge-runtime/1")
    {
        throw std::runtime_error("field format must be \"slicebridge-runtime/1\"");
    }
    SliceRuntimeConfig cfg;
    const json& sc = At(root, "scenario", "");
    cfg.name = GetOr<std::string>(sc, "name", "scenario.", "unnamed");
    cfg.seed = Get<uint32_t>(root, "seed", "");

    const json& topo = At(sc, "topology", "scenario.");
    cfg.sites = Get<uint32_t>(topo, "sites", "scenario.topology.");
    cfg.sectors = Get<uint32_t>(topo, "sectors", "scenario.topology.");

    const json& radio = At(sc, "radio", "scenario.");
    cfg.technology = Get<std::string>(radio, "technology", "scenario.radio.");
    cfg.numerology = GetOr<uint32_t>(radio, "numerology", "scenario.radio.", 0);
    cfg.bandwidthPrb = Get<uint16_t>(radio, "bandwidth_prb", "scenario.radio.");
    cfg.carrierMhz = Get<double>(radio, "carrier_mhz", "scenario.radio.");
    cfg.txPowerDbm = Get<double>(radio, "tx_power_dbm", "scenario.radio.");
    cfg.noiseFigureDb = Get<double>(radio, "noise_figure_db", "scenario.radio.");
    cfg.fading = Get<bool>(radio, "fading", "scenario.radio.");
    cfg.scheduler = GetOr<std::string>(radio, "scheduler", "scenario.radio.", "pf");
    if (cfg.scheduler != "pf" && cfg.scheduler != "rr")
    {
        throw std::runtime_error("field scenario.radio.scheduler: '" + cfg.scheduler + "' unknown; allowed: pf, rr");
    }
    cfg.cqiSource = GetOr<std::string>(radio, "cqi_source", "scenario.radio.", "pdsch");
    if (cfg.cqiSource != "pdsch" && cfg.cqiSource != "pdcch")
    {
        throw std::runtime_error("field scenario.radio.cqi_source: '" + cfg.cqiSource + "' unknown; allowed: pdsch, pdcch");
    }
    const json& prop = At(radio, "propagation", "scenario.radio.");
    cfg.propagationModel = Get<std::string>(prop, "model", "scenario.radio.propagation.");
    cfg.exponent = Get<double>(prop, "exponent", "scenario.radio.propagation.");
    cfg.referenceLossDb = Get<double>(prop, "reference_loss_db", "scenario.radio.propagation.");
    const json& ant = At(radio, "antenna", "scenario.radio.");
    cfg.beamwidthDeg = Get<double>(ant, "beamwidth_deg", "scenario.radio.antenna.");
    cfg.maxAttenuationDb = Get<double>(ant, "max_attenuation_db", "scenario.radio.antenna.");

    static const std::map<std::string, uint8_t> defaultQci{
        {"embb", 9}, {"urllc", 7}, {"mmtc", 8}, {"volte", 1}, {"video", 6}, {"other", 5}};
    const json& slices = ArrayAt(sc, "slices", "scenario.");
    for (size_t i = 0; i < slices.size(); ++i)
    {
        const std::string where = "scenario.slices[" + std::to_string(i) + "].";
        const json& js = slices[i];
        Slice s;
        s.name = Get<std::string>(js, "name", where);
        s.kind = GetOr<std::string>(js, "kind", where, "other");
        s.uesPerCell = Get<uint32_t>(js, "ues_per_cell", where);
        const json& tr = At(js, "traffic", where);
        s.trafficModel = Get<std::string>(tr, "model", where + "traffic.");
        s.rateMbps = GetOr<double>(tr, "rate_mbps", where + "traffic.", 0.0);
        s.packetSizeBytes = GetOr<uint32_t>(tr, "packet_size_bytes", where + "traffic.", 1200);
        s.onMs = GetOr<double>(tr, "on_ms", where + "traffic.", 0.0);
        s.offMs = GetOr<double>(tr, "off_ms", where + "traffic.", 0.0);
        s.periodMs = GetOr<double>(tr, "period_ms", where + "traffic.", 0.0);
        s.jitter = GetOr<double>(tr, "jitter", where + "traffic.", 1.0);
        s.truncation = GetOr<double>(tr, "truncation", where + "traffic.", 3.0);
        if (!IsSliceTrafficModel(s.trafficModel))
        {
            std::string allowed;
            for (auto m : contract::kTrafficModels)
            {
                allowed += (allowed.empty() ? "" : ", ") + std::string(m);
            }
            throw std::runtime_error("field " + where + "traffic.model: '" + s.trafficModel + "' unknown; allowed: " +
                                     allowed);
        }
        if (s.trafficModel == "truncated_exponential" && !(s.truncation > 2.0))
        {
            throw std::runtime_error("field " + where + "traffic.truncation: must exceed 2");
        }
        s.minShare = Get<double>(js, "min_share", where);
        if (js.contains("load_profile"))
        {
            s.loadProfile = ParseLoadProfile(js.at("load_profile"), where + "load_profile.");
        }
        auto it = defaultQci.find(s.kind);
        s.qci = GetOr<uint8_t>(js, "qci", where, it == defaultQci.end() ? 5 : it->second);
        cfg.slices.push_back(s);
    }

    if (sc.contains("mobility"))
    {
        cfg.mobilityModel = GetOr<std::string>(sc.at("mobility"), "model", "scenario.mobility.", "static");
        cfg.speedMps = GetOr<double>(sc.at("mobility"), "speed_mps", "scenario.mobility.", 0.0);
    }
    const json& control = At(sc, "control", "scenario.");
    cfg.decisionPeriodMs = Get<double>(control, "decision_period_ms", "scenario.control.");
    cfg.episodeSteps = Get<uint32_t>(control, "episode_steps", "scenario.control.");
    cfg.warmupMs = Get<double>(control, "warmup_ms", "scenario.control.");
    const json action = GetOr<json>(sc, "action", "scenario.", json::object());
    cfg.workConserving = GetOr<bool>(action, "work_conserving", "scenario.action.", true);
    cfg.actionInvalid = GetOr<std::string>(action, "invalid", "scenario.action.", "project");
    if (cfg.actionInvalid != "project" && cfg.actionInvalid != "reject")
    {
        throw std::runtime_error("field scenario.action.invalid: '" + cfg.actionInvalid +
                                 "' unknown; allowed: project, reject");
    }
    cfg.bufferBytes = GetOr<uint32_t>(GetOr<json>(sc, "litesim", "scenario.", json::object()), "buffer_bytes",
                                      "scenario.litesim.", 102400);

    if (sc.contains("edge") && !sc.at("edge").is_null())
    {
        const json& edge = sc.at("edge");
        const std::string where = "scenario.edge.";
        cfg.hasEdge = true;
        cfg.edgeCapacityCyclesPerS = Get<double>(edge, "capacity_cycles_per_s", where);
        cfg.edgeCyclesPerBit = Get<std::vector<double>>(edge, "cycles_per_bit", where);
        cfg.minComputeShare = GetOr<std::vector<double>>(edge, "min_compute_share", where, {});
        cfg.edgeWorkConserving = GetOr<bool>(edge, "work_conserving", where, false);
        cfg.minComputeShare.resize(cfg.minComputeShare.empty() ? cfg.slices.size() : cfg.minComputeShare.size(), 0.0);
        if (cfg.edgeCyclesPerBit.size() != cfg.slices.size() || cfg.minComputeShare.size() != cfg.slices.size())
        {
            throw std::runtime_error("fields " + where + "cycles_per_bit and min_compute_share need one value per slice (" +
                                     std::to_string(cfg.slices.size()) + ")");
        }
        if (!(cfg.edgeCapacityCyclesPerS > 0))
        {
            throw std::runtime_error("field " + where + "capacity_cycles_per_s must be > 0");
        }
    }

    const json& cells = ArrayAt(root, "cells", "");
    for (size_t c = 0; c < cells.size(); ++c)
    {
        const std::string where = "cells[" + std::to_string(c) + "].";
        Cell cell;
        cell.x = Get<double>(cells[c], "x_m", where);
        cell.y = Get<double>(cells[c], "y_m", where);
        cell.omni = !cells[c].contains("azimuth_deg") || cells[c].at("azimuth_deg").is_null();
        cell.azimuthDeg = cell.omni ? 0.0 : Get<double>(cells[c], "azimuth_deg", where);
        cfg.cells.push_back(cell);
    }
    const json& ues = ArrayAt(root, "ues", "");
    for (size_t u = 0; u < ues.size(); ++u)
    {
        const std::string where = "ues[" + std::to_string(u) + "].";
        Ue ue;
        ue.cell = Get<uint32_t>(ues[u], "cell", where);
        ue.slice = Get<uint32_t>(ues[u], "slice", where);
        ue.x = Get<double>(ues[u], "x_m", where);
        ue.y = Get<double>(ues[u], "y_m", where);
        ue.shadowingDb = Get<std::vector<double>>(ues[u], "shadowing_db", where);
        if (ue.cell >= cells.size() || ue.slice >= cfg.slices.size() ||
            ue.shadowingDb.size() != cells.size())
        {
            throw std::runtime_error("entry " + where.substr(0, where.size() - 1) +
                                     ": cell/slice out of range or shadowing_db does not have one value "
                                     "per cell (" + std::to_string(cells.size()) + " cells, " +
                                     std::to_string(cfg.slices.size()) + " slices)");
        }
        cfg.ues.push_back(ue);
    }
    cfg.slaDelayMs = Get<std::vector<std::vector<double>>>(root, "sla_delay_ms", "");
    cfg.initialShares = Get<std::vector<std::vector<double>>>(root, "initial_shares", "");
    const size_t nC = cfg.cells.size();
    const size_t nS = cfg.slices.size();
    auto checkShape = [&](const std::vector<std::vector<double>>& m, const std::string& what, std::size_t width) {
        bool ok = m.size() == nC;
        for (const auto& row : m)
        {
            ok = ok && row.size() == width;
        }
        if (!ok)
        {
            throw std::runtime_error("field " + what + " must be [" + std::to_string(nC) + " cells][" +
                                     std::to_string(width) + (width == nS ? " slices]" : " shares: bandwidth, compute]"));
        }
    };
    cfg.cellLoadScale = GetOr<std::vector<double>>(topo, "cell_load_scale", "scenario.topology.", {});
    cfg.cellLoadShiftSteps =
        GetOr<std::vector<uint32_t>>(topo, "cell_load_shift_steps", "scenario.topology.", {});
    cfg.cellLoadScale.resize(cfg.cellLoadScale.empty() ? nC : cfg.cellLoadScale.size(), 1.0);
    cfg.cellLoadShiftSteps.resize(cfg.cellLoadShiftSteps.empty() ? nC : cfg.cellLoadShiftSteps.size(), 0);
    if (cfg.cellLoadScale.size() != nC || cfg.cellLoadShiftSteps.size() != nC)
    {
        throw std::runtime_error("fields scenario.topology.cell_load_scale and cell_load_shift_steps need one "
                                 "value per cell (" + std::to_string(nC) + ")");
    }
    checkShape(cfg.slaDelayMs, "sla_delay_ms", nS);
    checkShape(cfg.initialShares, "initial_shares", cfg.ShareWidth());
    cfg.slaThroughputMbps = root.contains("sla_throughput_mbps")
                                ? Get<std::vector<std::vector<double>>>(root, "sla_throughput_mbps", "")
                                : std::vector<std::vector<double>>(nC, std::vector<double>(nS, 0.0));
    checkShape(cfg.slaThroughputMbps, "sla_throughput_mbps", nS);
    cfg.reward = RewardFromJson(sc, cfg);
    if (nC == 0 || nS == 0)
    {
        throw std::runtime_error("no cells or no slices");
    }
    return cfg;
}

} // namespace

SliceRuntimeConfig
SliceRuntimeConfig::Load(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
    {
        throw std::runtime_error("cannot read the runtime JSON " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return Parse(text.str(), path);
}

SliceRuntimeConfig
SliceRuntimeConfig::Parse(const std::string& text, const std::string& source)
{
    json root;
    try
    {
        root = json::parse(text);
    }
    catch (const json::exception& e)
    {
        throw std::runtime_error("runtime JSON " + source + ": not valid JSON: " + e.what());
    }
    try
    {
        return FromJson(root);
    }
    catch (const std::runtime_error& e)
    {
        throw std::runtime_error("runtime JSON " + source + ": " + e.what() +
                                 " (write it with slicebridge.ns3.runtime.write_runtime_json)");
    }
}

double
SliceRuntimeConfig::LoadScale(uint32_t slice, uint32_t step) const
{
    return SliceLoadScale(slices.at(slice).loadProfile, step);
}

double
SliceRuntimeConfig::UeRateScale(uint32_t cell, uint32_t slice, uint32_t rank, uint32_t step) const
{
    const double m = LoadScale(cell, slice, step);
    if (!slices.at(slice).loadProfile.activeUes)
    {
        return m;
    }
    return rank < SliceActiveUeCount(m, slices.at(slice).uesPerCell) ? 1.0 : 0.0;
}

double
SliceRuntimeConfig::LoadScale(uint32_t cell, uint32_t slice, uint32_t step) const
{
    return SliceCellLoadScale(slices.at(slice).loadProfile, step, cellLoadScale.at(cell), cellLoadShiftSteps.at(cell));
}

} // namespace ns3
