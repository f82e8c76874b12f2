// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-gym-spaces: a small ns3-gym-style simulation script with non-slicing spaces, the C++
// end that the generic Python env (slicebridge.envs.ns3gym.Ns3GymEnv) is tested against. It talks
// the way a script built on ns3-gym's OpenGymInterface does: a ZeroMQ REQ socket connected to
// tcp://localhost:PORT announces the spaces in SimInitMsg, then one EnvStateMsg per step event
// (observation, reward, game-over flag, info) whose reply carries the action to apply; a reply with
// stopSimReq ends the program (exit code 0); when the simulated time is over a last state with
// reason SimulationEnd is sent and only its reply is read.
//
//   slicebridge-gym-spaces --openGymPort=PORT [--simSeed=1 --space=box|discrete|tuple|dict
//                          --steps=5 --end=simulation|gameover --crashAt=-1 --hangAt=-1]
//
// Observations are drawn from the observation space with ns-3's random streams (run = simSeed), so
// one seed gives one episode; the reward is the sum of the action's numbers (a Discrete counts as
// its index); info is the JSON object {"step": k, "seed": simSeed, "action_dtypes": "..."} (the wire
// dtypes of the last action's Box containers, e.g. "FLOAT,DOUBLE"). An action outside the action
// space ends the program with exit code 4 and a message on stderr. For liveness tests --crashAt=K
// exits with code 7 instead of sending state K, and --hangAt=K stops answering there.

#include "ns3opengym.pb.h"

#include "ns3/command-line.h"
#include "ns3/nstime.h"
#include "ns3/random-variable-stream.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"

#include <zmq.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace ns3;
namespace pb = ns3opengym;

namespace
{

constexpr int kExitPeerLost = 3;
constexpr int kExitInvalidAction = 4;
constexpr int kExitCrash = 7;
constexpr int kPollSliceMs = 100;

[[noreturn]] void
Die(int code, const std::string& message)
{
    std::cerr << "slicebridge-gym-spaces: " << message << " (exit code " << code << ")" << std::endl;
    std::_Exit(code);
}

// ---- spaces -------------------------------------------------------------------------------------
pb::SpaceDescription
Box(float low, float high, std::vector<uint32_t> shape, pb::Dtype dtype, const std::string& name = "")
{
    pb::BoxSpace box;
    box.set_low(low);
    box.set_high(high);
    box.set_dtype(dtype);
    for (uint32_t d : shape)
    {
        box.add_shape(d);
    }
    pb::SpaceDescription desc;
    desc.set_type(pb::Box);
    desc.mutable_space()->PackFrom(box);
    desc.set_name(name);
    return desc;
}

pb::SpaceDescription
Discrete(int32_t n, const std::string& name = "")
{
    pb::DiscreteSpace discrete;
    discrete.set_n(n);
    pb::SpaceDescription desc;
    desc.set_type(pb::Discrete);
    desc.mutable_space()->PackFrom(discrete);
    desc.set_name(name);
    return desc;
}

/// A Tuple (type Tuple) or Dict (type Dict, elements named) of @p elements.
pb::SpaceDescription
Composite(pb::SpaceType type, const std::vector<pb::SpaceDescription>& elements)
{
    pb::SpaceDescription desc;
    desc.set_type(type);
    if (type == pb::Tuple)
    {
        pb::TupleSpace tuple;
        for (const auto& e : elements)
        {
            *tuple.add_element() = e;
        }
        desc.mutable_space()->PackFrom(tuple);
    }
    else
    {
        pb::DictSpace dict;
        for (const auto& e : elements)
        {
            *dict.add_element() = e;
        }
        desc.mutable_space()->PackFrom(dict);
    }
    return desc;
}

/// (observation space, action space) of each --space kind.
std::pair<pb::SpaceDescription, pb::SpaceDescription>
SpacesOf(const std::string& kind)
{
    if (kind == "box")
    {
        return {Box(-1.0F, 1.0F, {2, 3}, pb::FLOAT), Box(0.0F, 1.0F, {2}, pb::DOUBLE)};
    }
    if (kind == "discrete")
    {
        return {Discrete(5), Discrete(3)};
    }
    if (kind == "tuple")
    {
        return {Composite(pb::Tuple, {Box(0.0F, 10.0F, {3}, pb::DOUBLE), Discrete(4), Box(0.0F, 50.0F, {2}, pb::UINT)}),
                Composite(pb::Tuple, {Discrete(2), Box(-1.0F, 1.0F, {2}, pb::FLOAT)})};
    }
    if (kind == "dict")
    {
        return {Composite(pb::Dict,
                          {Box(0.0F, 100.0F, {4}, pb::INT, "queue"),
                           Box(0.0F, 5.0F, {2, 2}, pb::DOUBLE, "rate"),
                           Discrete(3, "mode")}),
                Composite(pb::Dict, {Discrete(4, "channel"), Box(0.0F, 1.0F, {3}, pb::FLOAT, "power")})};
    }
    Die(2, "--space must be box, discrete, tuple or dict, got '" + kind + "'");
}

template <typename Message>
Message
Unpacked(const google::protobuf::Any& any)
{
    Message message;
    any.UnpackTo(&message);
    return message;
}

/// The element spaces of a Tuple or Dict space.
std::vector<pb::SpaceDescription>
Elements(const pb::SpaceDescription& space)
{
    if (space.type() == pb::Tuple)
    {
        const auto tuple = Unpacked<pb::TupleSpace>(space.space());
        return {tuple.element().begin(), tuple.element().end()};
    }
    const auto dict = Unpacked<pb::DictSpace>(space.space());
    return {dict.element().begin(), dict.element().end()};
}

/// The element containers of a Tuple or Dict container.
std::vector<pb::DataContainer>
Elements(const pb::DataContainer& data)
{
    if (data.type() == pb::Tuple)
    {
        const auto tuple = Unpacked<pb::TupleDataContainer>(data.data());
        return {tuple.element().begin(), tuple.element().end()};
    }
    const auto dict = Unpacked<pb::DictDataContainer>(data.data());
    return {dict.element().begin(), dict.element().end()};
}

// ---- data ---------------------------------------------------------------------------------------
/// A value drawn uniformly from @p space.
pb::DataContainer
Sample(const pb::SpaceDescription& space, const Ptr<UniformRandomVariable>& rng)
{
    pb::DataContainer data;
    data.set_type(space.type());
    data.set_name(space.name());
    if (space.type() == pb::Discrete)
    {
        pb::DiscreteDataContainer value;
        const int32_t n = Unpacked<pb::DiscreteSpace>(space.space()).n();
        value.set_data(std::min(n - 1, static_cast<int32_t>(rng->GetValue(0.0, n))));
        data.mutable_data()->PackFrom(value);
    }
    else if (space.type() == pb::Box)
    {
        const auto box = Unpacked<pb::BoxSpace>(space.space());
        pb::BoxDataContainer value;
        value.set_dtype(box.dtype());
        uint32_t count = 1;
        for (uint32_t d : box.shape())
        {
            value.add_shape(d);
            count *= d;
        }
        for (uint32_t i = 0; i < count; ++i)
        {
            const double x = rng->GetValue(box.low(), box.high());
            switch (box.dtype())
            {
            case pb::INT:
                value.add_intdata(static_cast<int32_t>(std::floor(x)));
                break;
            case pb::UINT:
                value.add_uintdata(static_cast<uint32_t>(std::floor(x)));
                break;
            case pb::DOUBLE:
                value.add_doubledata(x);
                break;
            default:
                value.add_floatdata(static_cast<float>(x));
            }
        }
        data.mutable_data()->PackFrom(value);
    }
    else
    {
        pb::TupleDataContainer tuple;
        pb::DictDataContainer dict;
        for (const auto& element : Elements(space))
        {
            *(space.type() == pb::Tuple ? tuple.add_element() : dict.add_element()) = Sample(element, rng);
        }
        if (space.type() == pb::Tuple)
        {
            data.mutable_data()->PackFrom(tuple);
        }
        else
        {
            data.mutable_data()->PackFrom(dict);
        }
    }
    return data;
}

/// The numbers of @p box, whichever of its four data fields carries them.
std::vector<double>
BoxNumbers(const pb::BoxDataContainer& box)
{
    std::vector<double> numbers(box.intdata().begin(), box.intdata().end());
    numbers.insert(numbers.end(), box.uintdata().begin(), box.uintdata().end());
    numbers.insert(numbers.end(), box.floatdata().begin(), box.floatdata().end());
    numbers.insert(numbers.end(), box.doubledata().begin(), box.doubledata().end());
    return numbers;
}

/// What the script reports about an action: the sum of its numbers and its Boxes' wire dtypes.
struct ActionSummary
{
    double sum = 0.0;
    std::string boxDtypes; ///< comma-separated Dtype names, in message order
};

/// Why @p data is not a value of @p space ("" when it is); adds it to @p summary.
std::string
Check(const pb::DataContainer& data,
      const pb::SpaceDescription& space,
      const std::string& where,
      ActionSummary& summary)
{
    if (data.type() != space.type())
    {
        return where + ": container type " + pb::SpaceType_Name(data.type()) + ", the space is " +
               pb::SpaceType_Name(space.type());
    }
    if (space.type() == pb::Discrete)
    {
        const int32_t value = Unpacked<pb::DiscreteDataContainer>(data.data()).data();
        const int32_t n = Unpacked<pb::DiscreteSpace>(space.space()).n();
        if (value < 0 || value >= n)
        {
            return where + ": " + std::to_string(value) + " is not in Discrete(" + std::to_string(n) + ")";
        }
        summary.sum += value;
        return "";
    }
    if (space.type() == pb::Box)
    {
        const auto box = Unpacked<pb::BoxSpace>(space.space());
        const auto container = Unpacked<pb::BoxDataContainer>(data.data());
        const std::vector<double> values = BoxNumbers(container);
        summary.boxDtypes += (summary.boxDtypes.empty() ? "" : ",") + pb::Dtype_Name(container.dtype());
        std::size_t count = 1;
        for (uint32_t d : box.shape())
        {
            count *= d;
        }
        if (values.size() != count)
        {
            return where + ": " + std::to_string(values.size()) + " values, the Box has " + std::to_string(count);
        }
        for (double v : values)
        {
            const double slack = 1e-6 * (1.0 + std::abs(v));
            if (!(v >= box.low() - slack && v <= box.high() + slack))
            {
                std::ostringstream msg;
                msg << where << ": value " << v << " is outside [" << box.low() << ", " << box.high() << "]";
                return msg.str();
            }
            summary.sum += v;
        }
        return "";
    }
    const std::vector<pb::SpaceDescription> elements = Elements(space);
    const std::vector<pb::DataContainer> given = Elements(data);
    if (given.size() != elements.size())
    {
        return where + ": " + std::to_string(given.size()) + " elements, the space has " +
               std::to_string(elements.size());
    }
    for (std::size_t i = 0; i < elements.size(); ++i)
    {
        int match = static_cast<int>(i);
        if (space.type() == pb::Dict)
        {
            match = -1;
            for (std::size_t j = 0; j < given.size(); ++j)
            {
                match = given[j].name() == elements[i].name() ? static_cast<int>(j) : match;
            }
            if (match < 0)
            {
                return where + ": no element '" + elements[i].name() + "'";
            }
        }
        const std::string inner = where + "[" +
                                  (space.type() == pb::Dict ? "'" + elements[i].name() + "'" : std::to_string(i)) + "]";
        const std::string problem = Check(given[match], elements[i], inner, summary);
        if (!problem.empty())
        {
            return problem;
        }
    }
    return "";
}

// ---- the script -----------------------------------------------------------------------------------
class SpacesScript
{
  public:
    SpacesScript(const std::string& address, const std::string& kind, uint32_t seed, double timeoutS)
        : m_address(address),
          m_seed(seed),
          m_timeoutS(timeoutS),
          m_spaces(SpacesOf(kind)),
          m_rng(CreateObject<UniformRandomVariable>()),
          m_req(m_context, zmq::socket_type::req)
    {
        m_parent = ::getppid();
        m_req.set(zmq::sockopt::linger, 0);
        m_req.connect(m_address);
    }

    void Init()
    {
        pb::SimInitMsg init;
        init.set_simprocessid(static_cast<uint64_t>(::getpid()));
        init.set_wafshellprocessid(static_cast<uint64_t>(::getppid()));
        *init.mutable_obsspace() = m_spaces.first;
        *init.mutable_actspace() = m_spaces.second;
        pb::SimInitAck ack;
        ack.ParseFromString(Request(init.SerializeAsString(), "SimInitAck"));
        if (ack.stopsimreq())
        {
            std::exit(0);
        }
    }

    /// State @p step; the game is over there when @p gameOver.
    void Step(int step, bool gameOver, int crashAt, int hangAt)
    {
        if (step == crashAt)
        {
            Die(kExitCrash, "crashing on purpose before state " + std::to_string(step) + " (--crashAt)");
        }
        if (step == hangAt)
        {
            std::cerr << "slicebridge-gym-spaces: hanging on purpose before state " << step << " (--hangAt)"
                      << std::endl;
            while (true)
            {
                WatchParent("nothing (--hangAt)");
                std::this_thread::sleep_for(std::chrono::milliseconds(kPollSliceMs));
            }
        }
        const pb::EnvActMsg act = Exchange(step, gameOver, pb::EnvStateMsg::GameOver);
        if (act.stopsimreq())
        {
            std::cout.flush();
            std::exit(0); // as ns3-gym scripts do: the Python side asked to stop
        }
        m_action = ActionSummary();
        const std::string problem = Check(act.actdata(), m_spaces.second, "action", m_action);
        if (!problem.empty())
        {
            Die(kExitInvalidAction, "invalid action at step " + std::to_string(step) + ": " + problem);
        }
    }

    /// The last state of a run whose simulated time is over (reason SimulationEnd).
    void NotifySimulationEnd(int step)
    {
        Exchange(step, true, pb::EnvStateMsg::SimulationEnd);
    }

  private:
    pb::EnvActMsg Exchange(int step, bool gameOver, pb::EnvStateMsg::Reason reason)
    {
        pb::EnvStateMsg state;
        *state.mutable_obsdata() = Sample(m_spaces.first, m_rng);
        state.set_reward(static_cast<float>(m_action.sum));
        state.set_isgameover(gameOver);
        if (gameOver)
        {
            state.set_reason(reason);
        }
        state.set_info("{\"step\": " + std::to_string(step) + ", \"seed\": " + std::to_string(m_seed) +
                       ", \"action_dtypes\": \"" + m_action.boxDtypes + "\"}");
        pb::EnvActMsg act;
        act.ParseFromString(Request(state.SerializeAsString(), "EnvActMsg"));
        return act;
    }

    void WatchParent(const std::string& what)
    {
        if (m_parent != 1 && ::getppid() != m_parent)
        {
            Die(kExitPeerLost, "the parent process exited while waiting for " + what);
        }
    }

    std::string Request(const std::string& payload, const std::string& what)
    {
        m_req.send(zmq::buffer(payload), zmq::send_flags::none);
        const auto start = std::chrono::steady_clock::now();
        while (true)
        {
            zmq::pollitem_t items[] = {{m_req.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 1, std::chrono::milliseconds(kPollSliceMs));
            if (items[0].revents & ZMQ_POLLIN)
            {
                zmq::message_t reply;
                (void)m_req.recv(reply, zmq::recv_flags::none);
                return reply.to_string();
            }
            WatchParent(what);
            if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > m_timeoutS)
            {
                Die(kExitPeerLost, "no " + what + " from " + m_address + " within " + std::to_string(m_timeoutS) + " s");
            }
        }
    }

    std::string m_address;
    uint32_t m_seed;
    double m_timeoutS;
    std::pair<pb::SpaceDescription, pb::SpaceDescription> m_spaces;
    Ptr<UniformRandomVariable> m_rng;
    zmq::context_t m_context{1};
    zmq::socket_t m_req;
    pid_t m_parent = 0;
    ActionSummary m_action; // of the last action: its sum is the reward sent with the next state
};

} // namespace

int
main(int argc, char* argv[])
{
    uint32_t port = 0;
    std::string endpoint;
    uint32_t simSeed = 1;
    std::string space = "box";
    uint32_t steps = 5;
    std::string end = "simulation";
    int crashAt = -1;
    int hangAt = -1;
    double timeoutS = 600;
    CommandLine cmd(__FILE__);
    cmd.AddValue("openGymPort", "connect to tcp://localhost:PORT (as ns3-gym scripts do)", port);
    cmd.AddValue("openGymEndpoint", "any ZeroMQ endpoint instead of the port (ipc://PATH, tcp://HOST:PORT)", endpoint);
    cmd.AddValue("openGymTimeout", "longest wait for one answer from Python, seconds", timeoutS);
    cmd.AddValue("simSeed", "run number of ns-3's random streams", simSeed);
    cmd.AddValue("space", "the spaces announced: box | discrete | tuple | dict", space);
    cmd.AddValue("steps", "steps per episode", steps);
    cmd.AddValue("end", "how the episode ends: simulation (SimulationEnd) | gameover (GameOver)", end);
    cmd.AddValue("crashAt", "exit with code 7 instead of sending this state (-1: never)", crashAt);
    cmd.AddValue("hangAt", "stop answering before this state (-1: never)", hangAt);
    cmd.Parse(argc, argv);
    if (port == 0 && endpoint.empty())
    {
        Die(2, "--openGymPort or --openGymEndpoint is required");
    }
    if (end != "simulation" && end != "gameover")
    {
        Die(2, "--end must be simulation or gameover, got '" + end + "'");
    }
    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(simSeed);

    const Time period = MilliSeconds(100);
    SpacesScript script(endpoint.empty() ? "tcp://localhost:" + std::to_string(port) : endpoint,
                        space,
                        simSeed,
                        timeoutS);
    script.Init();
    // State k at k * period: states 0 .. steps-1 with SimulationEnd after them, or 0 .. steps with
    // the last one a GameOver.
    const bool gameOver = end == "gameover";
    const uint32_t events = gameOver ? steps + 1 : steps;
    for (uint32_t k = 0; k < events; ++k)
    {
        Simulator::Schedule(period * k,
                            &SpacesScript::Step,
                            &script,
                            static_cast<int>(k),
                            gameOver && k == steps,
                            crashAt,
                            hangAt);
    }
    Simulator::Stop(period * events);
    Simulator::Run();
    script.NotifySimulationEnd(static_cast<int>(events));
    Simulator::Destroy();
    return 0;
}
