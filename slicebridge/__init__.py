# SPDX-License-Identifier: GPL-2.0-only
"""slicebridge: one RAN-slicing scenario contract, two simulators (ns-3 and litesim).

The distribution installs one import name, ``slicebridge``; its sub-packages are the layers, bottom
to top (a module imports only from its own layer or below; ``tests/test_layers.py`` checks this):

0. ``slicebridge.bridge``      the contract: scenario, KPI tensor, layout, actions, observation, reward,
                               the ``Backend`` protocol and the simulator registry
1. ``slicebridge.litesim``     the vectorised NumPy simulator
   ``slicebridge.ns3``         the ns-3 backend: program lookup/build/launch, runtime JSON, wire
2. ``slicebridge.envs``        Gymnasium, PettingZoo and SB3 VecEnv views over any backend
3. ``slicebridge.federation``  averaging strategies, update validation, compression, checkpoints
   ``slicebridge.agents``      baselines, per-cell SB3 agents, lockstep training
4. ``slicebridge.app``         evaluate, compare, calibration, report, recipes, CLI
"""

__version__ = "0.2.0"
