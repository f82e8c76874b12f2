# SPDX-License-Identifier: GPL-2.0-only
"""The ns-3 simulator backend: the C++ program's lookup, build and launch, its runtime JSON, and the
ns3-gym wire (ZeroMQ + protobuf) it speaks.

Importing the package registers it as the simulator backend ``"ns3"``.
"""

from slicebridge.bridge.backend import register_backend
from slicebridge.ns3.backend import Ns3Backend, Ns3Error

register_backend("ns3", Ns3Backend)

__all__ = ["Ns3Backend", "Ns3Error"]
