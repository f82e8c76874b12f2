// SPDX-License-Identifier: GPL-2.0-only
#ifndef SLICE_RBG_PARTITION_H
#define SLICE_RBG_PARTITION_H

// The arithmetic of SliceFfMacScheduler's per-TTI slice partition, free of scheduler state so that
// it can be unit-tested (ns3_scenarios/test/slice-rbg-partition-test.cc).

#include <cstdint>
#include <vector>

namespace ns3
{

/**
 * Shares the partition uses in work-conserving mode: the shares of the slices with backlog
 * (@p busy), renormalised to sum 1 (an equal split among them when their shares are all 0).
 * With no busy slice the shares stay as they are. @p shares must sum to 1.
 */
std::vector<double> WorkConservingShares(const std::vector<double>& shares, const std::vector<bool>& busy);

/**
 * RBGs per slice for one TTI: slice s gets about shares[s] * nRbg RBGs, rounded so that the
 * long-run count follows the shares exactly. @p credit (one per slice, start at 0) carries each
 * slice's rounding remainder from TTI to TTI: the target is credit + share * nRbg (credits of the
 * slices taking part re-centred on 0), each slice gets floor(target) and the RBGs left go to the
 * largest remainders; the new credit is target - count. Slices with share 0 get nothing and their
 * credit is reset. The counts sum to nRbg whenever some share is positive.
 */
std::vector<uint32_t> PartitionSliceRbgs(const std::vector<double>& shares,
                                         uint32_t nRbg,
                                         std::vector<double>& credit);

} // namespace ns3

#endif // SLICE_RBG_PARTITION_H
