# SPDX-License-Identifier: GPL-2.0-only
"""litesim: fast, batched NumPy model of a slicebridge scenario (see litesim.simulator)."""

from litesim.simulator import SEED_STRIDE, LiteSim

__all__ = ["LiteSim", "SEED_STRIDE"]
