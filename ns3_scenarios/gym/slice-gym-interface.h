// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_GYM_INTERFACE_H
#define SLICE_GYM_INTERFACE_H

#include "slice-contract.h" // ProjectOntoShareSimplex
#include "slice-controller.h"
#include "slice-reward.h"

#include "ns3/ptr.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ns3
{

class CommandLine;
class SliceRuntimeConfig;

/// Command-line options of the gym bridge (all optional; the bridge is off unless a peer is named).
struct SliceGymOptions
{
    uint32_t port = 0;      ///< --openGymPort: connect to tcp://127.0.0.1:PORT
    std::string endpoint;   ///< --openGymEndpoint: any ZeroMQ endpoint (ipc://PATH, tcp://127.0.0.1:PORT)
    double timeoutS = 600;  ///< --openGymTimeout: longest wait for one Python answer, seconds
    bool compat = false;    ///< --openGymCompat: flat spaces for ns3-gym's reference client (see SliceGymInterface)

    /// Register --openGymPort, --openGymEndpoint, --openGymTimeout and --openGymCompat on @p cmd.
    void AddArguments(CommandLine& cmd);
    /// True when a port or an endpoint was given.
    bool Enabled() const;
    /// The endpoint to connect to (endpoint if given, else tcp://127.0.0.1:port).
    std::string Address() const;
};

/// What to do with an action that is not a valid share matrix (scenario action.invalid).
enum class SliceGymInvalidAction
{
    Project, ///< project each row onto {share >= min_share, sum 1}; NaN/inf or a wrong shape still abort
    Reject,  ///< abort the run with a message naming the offending cell, slice and value
};

/// Parse "project" / "reject" (anything else aborts with a message).
SliceGymInvalidAction ParseSliceGymInvalidAction(const std::string& text);

/**
 * @brief SliceController that hands every decision to a Python agent over the ns3opengym wire.
 *
 * ZeroMQ REQ socket connected to the Python REP endpoint (ns3-gym's protocol, messages of
 * proto/ns3opengym.proto). Start() sends SimInitMsg (observation space: a Dict of one Box per KPI,
 * each [cells, slices] float64 with its real bounds; action space: Box [cells, slices] of shares in
 * [0, 1], float64, or [cells, 2 x slices] with edge servers: bandwidth, then compute shares), waits for SimInitAck, sends the warm-up KPIs as state 0 and returns the first
 * action. Decide() sends one EnvStateMsg per decision period (info: a JSON object with the
 * simulated time, step, and action diagnostics) and returns the next action; the last period's state
 * carries isGameOver with reason SimulationEnd and only the stop reply is read.
 *
 * Every state's reward is the scenario's reward of its KPIs, the mean over cells of
 * SliceCellRewards (the C++ twin of bridge/reward.py); info["cell_rewards"] lists the per-cell
 * values in double precision. slicebridge's own environments ignore it and compute it in Python.
 *
 * Compatibility mode (compat, --openGymCompat) is for ns3-gym's reference client, which packs an
 * action as a flat list of floats: the observation is one Box of the KPI tensor flattened row-major
 * [cells * slices * KPI_COUNT] (float64, bounds [0, inf)), the action a flat Box [cells * slices]
 * of shares in [0, 1] (float32). An action that cannot be used there (wrong size, not finite, or
 * outside the rules with action.invalid = reject) is answered with a game-over state (reason
 * GameOver, info {"error": ...}) whose stop reply is read before the exit with code 4, so such a
 * client sees the episode end instead of waiting forever.
 *
 * Every receive polls in short slices: when the Python peer disconnects, the parent process
 * disappears (re-parenting), or no answer arrives within the timeout, the program prints a message
 * to stderr and exits with code 3. A stop request (stopSimReq) stops the simulation cleanly. Invalid
 * actions are projected or rejected (exit code 4) per SliceGymInvalidAction, never used as is; a
 * malformed message exits with code 5.
 */
class SliceGymInterface : public SliceController
{
  public:
    static constexpr int EXIT_PEER_LOST = 3;
    static constexpr int EXIT_INVALID_ACTION = 4;
    static constexpr int EXIT_PROTOCOL = 5;

    /**
     * @param address ZeroMQ endpoint of the Python side
     * @param cells, slices tensor dimensions
     * @param minShares per-slice minimum share (size slices)
     * @param invalid projection or rejection of invalid actions
     * @param timeoutS longest wait for one answer
     * @param reward the scenario's reward (reported in every state)
     * @param compat flat spaces for ns3-gym's reference client
     * @param groups share vectors per cell: 1 (bandwidth) or 2 (bandwidth, then compute, with edge
     *        servers); the action is then [cells, groups * slices] and @p minShares holds the
     *        minimums of every group, each row part projected onto its own simplex
     */
    SliceGymInterface(std::string address,
                      uint32_t cells,
                      uint32_t slices,
                      std::vector<double> minShares,
                      SliceGymInvalidAction invalid,
                      double timeoutS,
                      SliceRewardSpec reward = {},
                      bool compat = false,
                      uint32_t groups = 1);
    ~SliceGymInterface() override;

    ShareMatrix Start(const KpiTensor& warmupKpis, const ShareMatrix& initial) override;
    ShareMatrix Decide(uint32_t step, const KpiTensor& kpis, bool last) override;

    /// True once Python asked to stop (the simulation was stopped).
    bool StopRequested() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/**
 * The gym controller for a slicebridge-lte run: cells, slices, every slice's min_share,
 * action.invalid and the reward from the parsed runtime JSON @p config.
 */
Ptr<SliceGymInterface> CreateSliceGymController(const SliceGymOptions& options,
                                                const SliceRuntimeConfig& config);

} // namespace ns3

#endif // SLICE_GYM_INTERFACE_H
