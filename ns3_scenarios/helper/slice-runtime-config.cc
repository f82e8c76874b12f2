// SPDX-License-Identifier: GPL-2.0-only
#include "slice-runtime-config.h"

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ns3
{

namespace
{

using nlohmann::json;

const json&
At(const json& j, const std::string& key, const std::string& where)
{
    if (!j.is_object() || !j.contains(key))
    {
        throw std::runtime_error("runtime JSON: missing field " + where + key);
    }
    return j.at(key);
}

template <typename T>
T
Get(const json& j, const std::string& key, const std::string& where)
{
    try
    {
        return At(j, key, where).get<T>();
    }
    catch (const json::exception& e)
    {
        throw std::runtime_error("runtime JSON: field " + where + key + " has the wrong type (" +
                                 e.what() + ")");
    }
}

template <typename T>
T
GetOr(const json& j, const std::string& key, T fallback)
{
    if (j.is_object() && j.contains(key) && !j.at(key).is_null())
    {
        return j.at(key).get<T>();
    }
    return fallback;
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
    json root;
    try
    {
        root = json::parse(in);
    }
    catch (const json::exception& e)
    {
        throw std::runtime_error(path + ": not valid JSON: " + e.what());
    }
    if (GetOr<std::string>(root, "format", "") != "slicebridge-runtime/1")
    {
        throw std::runtime_error(path + ": format must be \"slicebridge-runtime/1\"");
    }
    SliceRuntimeConfig cfg;
    const json& sc = At(root, "scenario", "");
    cfg.name = GetOr<std::string>(sc, "name", "unnamed");
    cfg.seed = Get<uint32_t>(root, "seed", "");

    const json& topo = At(sc, "topology", "scenario.");
    cfg.sites = Get<uint32_t>(topo, "sites", "scenario.topology.");
    cfg.sectors = Get<uint32_t>(topo, "sectors", "scenario.topology.");

    const json& radio = At(sc, "radio", "scenario.");
    cfg.technology = Get<std::string>(radio, "technology", "scenario.radio.");
    cfg.bandwidthPrb = Get<uint16_t>(radio, "bandwidth_prb", "scenario.radio.");
    cfg.carrierMhz = Get<double>(radio, "carrier_mhz", "scenario.radio.");
    cfg.txPowerDbm = Get<double>(radio, "tx_power_dbm", "scenario.radio.");
    cfg.noiseFigureDb = Get<double>(radio, "noise_figure_db", "scenario.radio.");
    cfg.fading = Get<bool>(radio, "fading", "scenario.radio.");
    cfg.scheduler = GetOr<std::string>(radio, "scheduler", "pf");
    if (cfg.scheduler != "pf" && cfg.scheduler != "rr")
    {
        throw std::runtime_error("scenario.radio.scheduler: '" + cfg.scheduler + "' unknown; allowed: pf, rr");
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
    const json& slices = At(sc, "slices", "scenario.");
    for (size_t i = 0; i < slices.size(); ++i)
    {
        const std::string where = "scenario.slices[" + std::to_string(i) + "].";
        const json& js = slices[i];
        Slice s;
        s.name = Get<std::string>(js, "name", where);
        s.kind = GetOr<std::string>(js, "kind", "other");
        s.uesPerCell = Get<uint32_t>(js, "ues_per_cell", where);
        const json& tr = At(js, "traffic", where);
        s.trafficModel = Get<std::string>(tr, "model", where + "traffic.");
        s.rateMbps = GetOr<double>(tr, "rate_mbps", 0.0);
        s.packetSizeBytes = GetOr<uint32_t>(tr, "packet_size_bytes", 1200);
        s.onMs = GetOr<double>(tr, "on_ms", 0.0);
        s.offMs = GetOr<double>(tr, "off_ms", 0.0);
        s.periodMs = GetOr<double>(tr, "period_ms", 0.0);
        if (js.contains("load_profile"))
        {
            const json& lp = js.at("load_profile");
            s.loadProfile.kind = GetOr<std::string>(lp, "kind", "constant");
            s.loadProfile.scale = GetOr<double>(lp, "scale", 1.0);
            s.loadProfile.values = GetOr<std::vector<double>>(lp, "values", {});
            s.loadProfile.holdSteps = std::max<uint32_t>(1, GetOr<uint32_t>(lp, "hold_steps", 1));
            s.loadProfile.amplitude = GetOr<double>(lp, "amplitude", 0.5);
            s.loadProfile.periodSteps = std::max<uint32_t>(1, GetOr<uint32_t>(lp, "period_steps", 20));
            s.loadProfile.phaseRad = GetOr<double>(lp, "phase_rad", 0.0);
        }
        auto it = defaultQci.find(s.kind);
        s.qci = GetOr<uint8_t>(js, "qci", it == defaultQci.end() ? 5 : it->second);
        cfg.slices.push_back(s);
    }

    if (sc.contains("mobility"))
    {
        cfg.mobilityModel = GetOr<std::string>(sc.at("mobility"), "model", "static");
        cfg.speedMps = GetOr<double>(sc.at("mobility"), "speed_mps", 0.0);
    }
    const json& control = At(sc, "control", "scenario.");
    cfg.decisionPeriodMs = Get<double>(control, "decision_period_ms", "scenario.control.");
    cfg.episodeSteps = Get<uint32_t>(control, "episode_steps", "scenario.control.");
    cfg.warmupMs = Get<double>(control, "warmup_ms", "scenario.control.");
    cfg.workConserving = GetOr<bool>(GetOr<json>(sc, "action", json::object()), "work_conserving", true);
    cfg.bufferBytes = GetOr<uint32_t>(GetOr<json>(sc, "litesim", json::object()), "buffer_bytes", 102400);

    const json& cells = At(root, "cells", "");
    for (size_t c = 0; c < cells.size(); ++c)
    {
        const std::string where = "cells[" + std::to_string(c) + "].";
        Cell cell;
        cell.x = Get<double>(cells[c], "x_m", where);
        cell.y = Get<double>(cells[c], "y_m", where);
        cell.omni = !cells[c].contains("azimuth_deg") || cells[c].at("azimuth_deg").is_null();
        cell.azimuthDeg = cell.omni ? 0.0 : cells[c].at("azimuth_deg").get<double>();
        cfg.cells.push_back(cell);
    }
    const json& ues = At(root, "ues", "");
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
            throw std::runtime_error("runtime JSON: " + where + " cell/slice out of range or shadowing_db "
                                     "does not have one value per cell");
        }
        cfg.ues.push_back(ue);
    }
    cfg.slaDelayMs = Get<std::vector<std::vector<double>>>(root, "sla_delay_ms", "");
    cfg.initialShares = Get<std::vector<std::vector<double>>>(root, "initial_shares", "");
    const size_t nC = cfg.cells.size();
    const size_t nS = cfg.slices.size();
    auto checkShape = [&](const std::vector<std::vector<double>>& m, const std::string& what) {
        bool ok = m.size() == nC;
        for (const auto& row : m)
        {
            ok = ok && row.size() == nS;
        }
        if (!ok)
        {
            throw std::runtime_error("runtime JSON: " + what + " must be [" + std::to_string(nC) +
                                     " cells][" + std::to_string(nS) + " slices]");
        }
    };
    checkShape(cfg.slaDelayMs, "sla_delay_ms");
    checkShape(cfg.initialShares, "initial_shares");
    if (nC == 0 || nS == 0)
    {
        throw std::runtime_error("runtime JSON: no cells or no slices");
    }
    return cfg;
}

double
SliceRuntimeConfig::LoadScale(uint32_t slice, uint32_t step) const
{
    const LoadProfile& p = slices.at(slice).loadProfile;
    if (p.kind == "piecewise" && !p.values.empty())
    {
        return p.values[(step / p.holdSteps) % p.values.size()];
    }
    if (p.kind == "sinusoid")
    {
        return std::max(0.0,
                        p.scale * (1.0 + p.amplitude * std::sin(2.0 * M_PI * step / p.periodSteps +
                                                                p.phaseRad)));
    }
    return p.scale;
}

} // namespace ns3
