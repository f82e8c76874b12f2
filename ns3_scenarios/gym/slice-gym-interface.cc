// SPDX-License-Identifier: GPL-2.0-only
#include "slice-gym-interface.h"

#include "ns3opengym.pb.h"
#include "slice-runtime-config.h"

#include "ns3/command-line.h"
#include "ns3/simulator.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace ns3
{

namespace
{

constexpr int kPollSliceMs = 100;
constexpr double kShareTolerance = 1e-6;

[[noreturn]] void
Die(int code, const std::string& message)
{
    std::cout.flush();
    std::cerr << "slicebridge-lte: gym bridge: " << message << " (exit code " << code << ")"
              << std::endl;
    std::cerr.flush();
    // _Exit: no static destructors while the simulator is in the middle of an event.
    std::_Exit(code);
}

ns3opengym::SpaceDescription
BoxSpaceDescription(float low,
                    float high,
                    const std::vector<uint32_t>& shape,
                    ns3opengym::Dtype dtype,
                    const std::string& name)
{
    ns3opengym::BoxSpace box;
    box.set_low(low);
    box.set_high(high);
    box.set_dtype(dtype);
    for (uint32_t n : shape)
    {
        box.add_shape(n);
    }
    ns3opengym::SpaceDescription desc;
    desc.set_type(ns3opengym::Box);
    desc.mutable_space()->PackFrom(box);
    desc.set_name(name);
    return desc;
}

std::vector<double>
BoxValues(const ns3opengym::BoxDataContainer& box)
{
    switch (box.dtype())
    {
    case ns3opengym::INT:
        return {box.intdata().begin(), box.intdata().end()};
    case ns3opengym::UINT:
        return {box.uintdata().begin(), box.uintdata().end()};
    case ns3opengym::DOUBLE:
        return {box.doubledata().begin(), box.doubledata().end()};
    default: // FLOAT, and NoDType as ns3-gym reads it
        return {box.floatdata().begin(), box.floatdata().end()};
    }
}

std::string
ShapeText(const ns3opengym::BoxDataContainer& box)
{
    std::ostringstream out;
    out << "[";
    for (int i = 0; i < box.shape_size(); ++i)
    {
        out << (i ? ", " : "") << box.shape(i);
    }
    out << "]";
    return out.str();
}

} // namespace

// ------------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------------
void
SliceGymOptions::AddArguments(CommandLine& cmd)
{
    cmd.AddValue("openGymPort",
                 "Python gym bridge: connect to tcp://127.0.0.1:PORT (0 = no bridge)",
                 port);
    cmd.AddValue("openGymEndpoint",
                 "Python gym bridge: ZeroMQ endpoint (ipc://PATH or tcp://HOST:PORT), overrides the port",
                 endpoint);
    cmd.AddValue("openGymTimeout",
                 "Python gym bridge: longest wait for one answer from Python, seconds",
                 timeoutS);
    cmd.AddValue("openGymCompat",
                 "Python gym bridge: flat observation and action Boxes for ns3-gym's reference client",
                 compat);
}

bool
SliceGymOptions::Enabled() const
{
    return port != 0 || !endpoint.empty();
}

std::string
SliceGymOptions::Address() const
{
    return endpoint.empty() ? "tcp://127.0.0.1:" + std::to_string(port) : endpoint;
}

SliceGymInvalidAction
ParseSliceGymInvalidAction(const std::string& text)
{
    if (text == "project")
    {
        return SliceGymInvalidAction::Project;
    }
    if (text == "reject")
    {
        return SliceGymInvalidAction::Reject;
    }
    Die(SliceGymInterface::EXIT_PROTOCOL,
        "action.invalid must be 'project' or 'reject', got '" + text + "'");
}

// ------------------------------------------------------------------------------------------------
// The interface
// ------------------------------------------------------------------------------------------------
struct SliceGymInterface::Impl
{
    std::string address;
    uint32_t cells;
    uint32_t slices;
    uint32_t groups = 1;           // share vectors per cell: bandwidth (and compute, with edge servers)
    std::vector<double> minShares; // [groups * slices]
    SliceGymInvalidAction invalid;
    double timeoutS;
    SliceRewardSpec reward;
    bool compat = false;

    zmq::context_t context{1};
    zmq::socket_t req;
    zmq::socket_t monitor;
    pid_t parent = 0;
    bool initialised = false;
    bool stopped = false;
    ShareMatrix shares;
    // diagnostics of the last action, reported in the next state's info
    uint32_t projectedRows = 0;
    double maxProjection = 0.0;
    bool actionAbsent = false;
    KpiTensor lastKpis; // of the last state sent (the game-over state of a rejected action repeats it)
    int64_t lastStep = -1;

    void Connect();
    std::string Request(const std::string& payload, const char* what);
    void SendInit();
    /// The state message of @p kpis (observation in the mode's layout, reward, info).
    ns3opengym::EnvStateMsg StateMessage(const KpiTensor& kpis, int64_t step, bool last) const;
    /// Sends a state; returns false when Python asked to stop.
    bool Exchange(const KpiTensor& kpis, int64_t step, bool last);
    void ApplyAction(const ns3opengym::EnvActMsg& act);
    /// Row @p row of share group @p g (0 bandwidth, 1 compute) of cell @p c, checked against [0, 1],
    /// the minimums @p mins and sum 1: returned as is, projected, or rejected (action.invalid).
    std::vector<double> CheckedRow(std::vector<double> row, const std::vector<double>& mins, uint32_t c, uint32_t g);
    /// An unusable action: exit with EXIT_INVALID_ACTION; in compat mode first end the episode
    /// with a game-over state naming the error (and read its stop reply).
    [[noreturn]] void RejectAction(const std::string& message);
    void Stop();
};

void
SliceGymInterface::Impl::Connect()
{
    parent = ::getppid();
    req = zmq::socket_t(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    // Watch the connection: a disconnect while waiting means the Python side is gone.
    const std::string monitorAddress = "inproc://slicebridge-gym-monitor";
    if (zmq_socket_monitor(req.handle(), monitorAddress.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
    {
        Die(EXIT_PEER_LOST, std::string("cannot monitor the ZeroMQ socket: ") + zmq_strerror(zmq_errno()));
    }
    monitor = zmq::socket_t(context, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(monitorAddress);
    try
    {
        req.connect(address);
    }
    catch (const zmq::error_t& e)
    {
        Die(EXIT_PEER_LOST, "cannot connect to the Python gym endpoint " + address + ": " + e.what());
    }
}

std::string
SliceGymInterface::Impl::Request(const std::string& payload, const char* what)
{
    req.send(zmq::buffer(payload), zmq::send_flags::none);
    const auto start = std::chrono::steady_clock::now();
    while (true)
    {
        zmq::pollitem_t items[] = {{req.handle(), 0, ZMQ_POLLIN, 0},
                                   {monitor.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 2, std::chrono::milliseconds(kPollSliceMs));
        if (items[0].revents & ZMQ_POLLIN)
        {
            zmq::message_t reply;
            (void)req.recv(reply, zmq::recv_flags::none);
            return reply.to_string();
        }
        if (items[1].revents & ZMQ_POLLIN)
        {
            zmq::message_t event;
            zmq::message_t endpoint;
            (void)monitor.recv(event, zmq::recv_flags::none);
            if (event.more())
            {
                (void)monitor.recv(endpoint, zmq::recv_flags::none);
            }
            uint16_t id = 0;
            if (event.size() >= sizeof(id))
            {
                std::memcpy(&id, event.data(), sizeof(id));
            }
            if (id == ZMQ_EVENT_DISCONNECTED)
            {
                Die(EXIT_PEER_LOST,
                    "the Python peer at " + address + " disconnected while ns-3 waited for " + what);
            }
        }
        if (parent != 1 && ::getppid() != parent)
        {
            Die(EXIT_PEER_LOST,
                "the parent process (pid " + std::to_string(parent) + ") exited while ns-3 waited for " + what);
        }
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (waited > timeoutS)
        {
            std::ostringstream msg;
            msg << "no " << what << " from the Python peer at " << address << " within " << timeoutS
                << " s";
            Die(EXIT_PEER_LOST, msg.str());
        }
    }
}

void
SliceGymInterface::Impl::SendInit()
{
    ns3opengym::SimInitMsg init;
    init.set_simprocessid(static_cast<uint64_t>(::getpid()));
    init.set_wafshellprocessid(static_cast<uint64_t>(::getppid()));
    const float inf = std::numeric_limits<float>::infinity();
    if (compat)
    {
        // flat: the reference client packs an action as one list of floats ([len(action)])
        const uint32_t n = cells * slices;
        *init.mutable_obsspace() =
            BoxSpaceDescription(0.0F, inf, {n * static_cast<uint32_t>(KPI_COUNT)}, ns3opengym::DOUBLE, "kpis");
        *init.mutable_actspace() = BoxSpaceDescription(0.0F, 1.0F, {n * groups}, ns3opengym::FLOAT, "shares");
    }
    else
    {
        const auto& names = GetSliceKpiNames();
        ns3opengym::DictSpace dict;
        for (std::size_t k = 0; k < KPI_COUNT; ++k)
        {
            const float high = contract::kKpiIsRatio[k] ? 1.0F : inf;
            *dict.add_element() = BoxSpaceDescription(0.0F, high, {cells, slices}, ns3opengym::DOUBLE, names[k]);
        }
        init.mutable_obsspace()->set_type(ns3opengym::Dict);
        init.mutable_obsspace()->mutable_space()->PackFrom(dict);
        *init.mutable_actspace() =
            BoxSpaceDescription(0.0F, 1.0F, {cells, slices * groups}, ns3opengym::DOUBLE, "");
    }

    ns3opengym::SimInitAck ack;
    const std::string raw = Request(init.SerializeAsString(), "SimInitAck");
    if (!ack.ParseFromString(raw))
    {
        Die(EXIT_PROTOCOL, "malformed SimInitAck (" + std::to_string(raw.size()) + " bytes)");
    }
    initialised = true;
    if (ack.stopsimreq())
    {
        Stop();
    }
}

ns3opengym::EnvStateMsg
SliceGymInterface::Impl::StateMessage(const KpiTensor& kpis, int64_t step, bool last) const
{
    if (kpis.size() != cells)
    {
        Die(EXIT_PROTOCOL, "KPI tensor has " + std::to_string(kpis.size()) + " cells, expected " +
                               std::to_string(cells));
    }
    auto value = [&](uint32_t c, uint32_t s, std::size_t k) {
        return s < kpis[c].size() ? kpis[c][s][k] : 0.0;
    };
    ns3opengym::EnvStateMsg state;
    if (compat)
    {
        ns3opengym::BoxDataContainer box; // [cells][slices][kpis] row-major, as bridge.kpi's tensor
        box.set_dtype(ns3opengym::DOUBLE);
        box.add_shape(cells * slices * static_cast<uint32_t>(KPI_COUNT));
        for (uint32_t c = 0; c < cells; ++c)
        {
            for (uint32_t s = 0; s < slices; ++s)
            {
                for (std::size_t k = 0; k < KPI_COUNT; ++k)
                {
                    box.add_doubledata(value(c, s, k));
                }
            }
        }
        state.mutable_obsdata()->set_type(ns3opengym::Box);
        state.mutable_obsdata()->mutable_data()->PackFrom(box);
    }
    else
    {
        const auto& names = GetSliceKpiNames();
        ns3opengym::DictDataContainer dict;
        for (std::size_t k = 0; k < KPI_COUNT; ++k)
        {
            ns3opengym::BoxDataContainer box;
            box.set_dtype(ns3opengym::DOUBLE);
            box.add_shape(cells);
            box.add_shape(slices);
            auto* values = box.mutable_doubledata();
            values->Reserve(static_cast<int>(cells * slices));
            for (uint32_t c = 0; c < cells; ++c)
            {
                for (uint32_t s = 0; s < slices; ++s)
                {
                    values->Add(value(c, s, k));
                }
            }
            ns3opengym::DataContainer* element = dict.add_element();
            element->set_type(ns3opengym::Box);
            element->set_name(names[k]);
            element->mutable_data()->PackFrom(box);
        }
        state.mutable_obsdata()->set_type(ns3opengym::Dict);
        state.mutable_obsdata()->mutable_data()->PackFrom(dict);
    }
    std::vector<double> cellRewards; // none without a scenario (slicebridge-gym-echo): reward 0
    try
    {
        if (!reward.slaDelayMs.empty())
        {
            cellRewards = SliceCellRewards(reward, kpis);
        }
    }
    catch (const std::exception& e)
    {
        Die(EXIT_PROTOCOL, std::string("cannot compute the reward: ") + e.what());
    }
    double total = 0.0;
    for (double r : cellRewards)
    {
        total += r;
    }
    state.set_reward(cellRewards.empty() ? 0.0F : static_cast<float>(total / static_cast<double>(cells)));
    state.set_isgameover(last);
    state.set_reason(ns3opengym::EnvStateMsg::SimulationEnd);
    nlohmann::json info = {{"sim_time_s", Simulator::Now().GetSeconds()},
                           {"step", step},
                           {"last", last},
                           {"pid", static_cast<int64_t>(::getpid())},
                           {"projected_rows", projectedRows},
                           {"max_projection_l1", maxProjection},
                           {"action_absent", actionAbsent},
                           {"reward_name", reward.name},
                           {"cell_rewards", cellRewards}};
    state.set_info(info.dump());
    return state;
}

bool
SliceGymInterface::Impl::Exchange(const KpiTensor& kpis, int64_t step, bool last)
{
    const ns3opengym::EnvStateMsg state = StateMessage(kpis, step, last);
    lastKpis = kpis;
    lastStep = step;

    ns3opengym::EnvActMsg act;
    const std::string raw = Request(state.SerializeAsString(), "EnvActMsg");
    if (!act.ParseFromString(raw))
    {
        Die(EXIT_PROTOCOL, "malformed EnvActMsg (" + std::to_string(raw.size()) + " bytes)");
    }
    if (last)
    {
        return true; // the episode ends here: only the (stop) reply is read
    }
    if (act.stopsimreq())
    {
        Stop();
        return false;
    }
    ApplyAction(act);
    return true;
}

void
SliceGymInterface::Impl::ApplyAction(const ns3opengym::EnvActMsg& act)
{
    projectedRows = 0;
    maxProjection = 0.0;
    actionAbsent = !act.has_actdata();
    if (actionAbsent)
    {
        return; // no action: the shares in force stay (reported as action_absent)
    }
    const auto& data = act.actdata();
    ns3opengym::BoxDataContainer box;
    if (data.type() != ns3opengym::Box || !data.data().UnpackTo(&box))
    {
        RejectAction("the action must be a Box DataContainer of shares [cells, slices] (flat: [cells * slices])");
    }
    const std::vector<double> values = BoxValues(box);
    const uint32_t width = slices * groups; // a cell's row: bandwidth shares, then (edge) compute shares
    const std::size_t n = static_cast<std::size_t>(cells) * width;
    const bool shapeOk =
        (box.shape_size() == 2 && box.shape(0) == cells && box.shape(1) == width) ||
        (box.shape_size() == 1 && box.shape(0) == n); // flat, row-major, as ns3-gym clients send
    if (!shapeOk || values.size() != n)
    {
        std::ostringstream msg;
        msg << "action rejected: shape " << ShapeText(box) << " with " << values.size()
            << " values; expected [" << cells << ", " << width << "] or flat [" << n << "]"
            << (groups > 1 ? " (per cell: bandwidth shares, then compute shares)" : "");
        RejectAction(msg.str());
    }
    ShareMatrix next(cells, std::vector<double>(width));
    for (uint32_t c = 0; c < cells; ++c)
    {
        for (uint32_t g = 0; g < groups; ++g)
        {
            const auto first = values.begin() + c * width + g * slices;
            const std::vector<double> mins(minShares.begin() + g * slices, minShares.begin() + (g + 1) * slices);
            const std::vector<double> row = CheckedRow(std::vector<double>(first, first + slices), mins, c, g);
            std::copy(row.begin(), row.end(), next[c].begin() + g * slices);
        }
    }
    shares = std::move(next);
}

std::vector<double>
SliceGymInterface::Impl::CheckedRow(std::vector<double> row, const std::vector<double>& mins, uint32_t c, uint32_t g)
{
    const char* what = g == 0 ? "share" : "compute share";
    std::string problem;
    double sum = 0.0;
    for (uint32_t s = 0; s < slices && problem.empty(); ++s)
    {
        std::ostringstream where;
        where << "cell " << c << " slice " << s << " " << what << " " << row[s];
        if (!std::isfinite(row[s]))
        {
            RejectAction("action rejected: " + where.str() + " is not finite");
        }
        if (row[s] < -kShareTolerance || row[s] > 1.0 + kShareTolerance)
        {
            problem = where.str() + " is outside [0, 1]";
        }
        else if (row[s] < mins[s] - kShareTolerance)
        {
            problem = where.str() + " is below the slice's minimum " + std::to_string(mins[s]);
        }
        sum += row[s];
    }
    if (problem.empty() && std::abs(sum - 1.0) > kShareTolerance)
    {
        problem = "cell " + std::to_string(c) + " " + what + "s sum to " + std::to_string(sum) + ", not 1";
    }
    if (problem.empty())
    {
        return row;
    }
    if (invalid == SliceGymInvalidAction::Reject)
    {
        RejectAction("action rejected (scenario action.invalid = reject): " + problem);
    }
    const std::vector<double> projected = ProjectOntoShareSimplex(row, mins);
    double l1 = 0.0;
    for (uint32_t s = 0; s < slices; ++s)
    {
        l1 += std::abs(projected[s] - row[s]);
    }
    maxProjection = std::max(maxProjection, l1);
    ++projectedRows;
    return projected;
}

void
SliceGymInterface::Impl::RejectAction(const std::string& message)
{
    if (compat)
    {
        ns3opengym::EnvStateMsg state = StateMessage(lastKpis, lastStep, true);
        state.set_reason(ns3opengym::EnvStateMsg::GameOver);
        nlohmann::json info = nlohmann::json::parse(state.info());
        info["error"] = message;
        state.set_info(info.dump());
        (void)Request(state.SerializeAsString(), "the reply to the game-over state of a rejected action");
    }
    Die(EXIT_INVALID_ACTION, message);
}

void
SliceGymInterface::Impl::Stop()
{
    stopped = true;
    Simulator::Stop();
}

SliceGymInterface::SliceGymInterface(std::string address,
                                     uint32_t cells,
                                     uint32_t slices,
                                     std::vector<double> minShares,
                                     SliceGymInvalidAction invalid,
                                     double timeoutS,
                                     SliceRewardSpec reward,
                                     bool compat,
                                     uint32_t groups)
    : m_impl(std::make_unique<Impl>())
{
    m_impl->address = std::move(address);
    m_impl->cells = cells;
    m_impl->slices = slices;
    m_impl->groups = std::max(groups, 1u);
    m_impl->minShares = std::move(minShares);
    m_impl->minShares.resize(slices * m_impl->groups, 0.0);
    m_impl->invalid = invalid;
    m_impl->timeoutS = timeoutS;
    m_impl->reward = std::move(reward);
    m_impl->compat = compat;
    m_impl->Connect();
}

SliceGymInterface::~SliceGymInterface() = default;

ShareMatrix
SliceGymInterface::Start(const KpiTensor& warmupKpis, const ShareMatrix& initial)
{
    m_impl->shares = initial;
    if (!m_impl->initialised)
    {
        m_impl->SendInit();
    }
    if (!m_impl->stopped)
    {
        m_impl->Exchange(warmupKpis, -1, false);
    }
    return m_impl->shares;
}

ShareMatrix
SliceGymInterface::Decide(uint32_t step, const KpiTensor& kpis, bool last)
{
    if (!m_impl->stopped)
    {
        m_impl->Exchange(kpis, step, last);
    }
    return m_impl->shares;
}

bool
SliceGymInterface::StopRequested() const
{
    return m_impl->stopped;
}

Ptr<SliceGymInterface>
CreateSliceGymController(const SliceGymOptions& options, const SliceRuntimeConfig& config)
{
    std::vector<double> minShares; // bandwidth, then (edge) compute minimums
    for (const auto& slice : config.slices)
    {
        minShares.push_back(slice.minShare);
    }
    if (config.hasEdge)
    {
        minShares.insert(minShares.end(), config.minComputeShare.begin(), config.minComputeShare.end());
    }
    return Create<SliceGymInterface>(options.Address(),
                                     config.cells.size(),
                                     config.slices.size(),
                                     minShares,
                                     ParseSliceGymInvalidAction(config.actionInvalid),
                                     options.timeoutS,
                                     config.reward,
                                     options.compat,
                                     config.hasEdge ? 2 : 1);
}

} // namespace ns3
