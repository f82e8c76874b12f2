# SPDX-License-Identifier: GPL-2.0-only
"""Environments over any registered simulator backend (layer 2).

- :mod:`slicebridge.envs.mfrl`: the MFRL subchannel-and-power problem (batched core, Gymnasium, PettingZoo).
- :mod:`slicebridge.envs.ns3gym`: ``Ns3GymEnv``, a Gymnasium env for any ns3-gym simulation script.
- :mod:`slicebridge.envs.slicing`: the slicing core and its Gymnasium, PettingZoo and SB3 VecEnv views.
"""

from slicebridge.envs.mfrl import MfrlConfig, MfrlCore, MfrlEnv, MfrlParallelEnv
from slicebridge.envs.ns3gym import Ns3GymEnv
from slicebridge.envs.slicing import SlicingCore, SlicingEnv, SlicingParallelEnv, SlicingVecEnv, autoreset, make_core

__all__ = ["MfrlConfig", "MfrlCore", "MfrlEnv", "MfrlParallelEnv", "Ns3GymEnv", "SlicingCore", "SlicingEnv", "SlicingParallelEnv", "SlicingVecEnv", "autoreset", "make_core"]
