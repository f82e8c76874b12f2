# SPDX-License-Identifier: GPL-2.0-only
"""litesim: fast, batched NumPy model of a slicebridge scenario (see litesim.simulator).

Importing the package registers it as the simulator backend ``"litesim"``."""

from slicebridge.bridge.backend import register_backend
from slicebridge.litesim.simulator import SEED_STRIDE, LiteSim

register_backend("litesim", LiteSim)

__all__ = ["LiteSim", "SEED_STRIDE"]
