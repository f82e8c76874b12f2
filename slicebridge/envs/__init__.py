# SPDX-License-Identifier: GPL-2.0-only
"""Environments over any registered simulator backend (layer 2).

- :mod:`slicebridge.envs.slicing`: the slicing core and its Gymnasium, PettingZoo and SB3 VecEnv views.
"""

from slicebridge.envs.slicing import SlicingCore, SlicingEnv, SlicingParallelEnv, SlicingVecEnv, autoreset, make_core

__all__ = ["SlicingCore", "SlicingEnv", "SlicingParallelEnv", "SlicingVecEnv", "autoreset", "make_core"]
