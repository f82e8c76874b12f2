# SPDX-License-Identifier: GPL-2.0-only
"""Beyond one machine (layer 4, next to ``slicebridge.app``): evaluation runs fanned out on Ray,
federated clients on Flower. See docs/DISTRIBUTED.md.

- :mod:`slicebridge.distributed.executor`: the one fan-out code path (``Task``, a sequential executor,
  ``make_executor``); imports neither Ray nor Flower, so the core install works without the extra.
- :mod:`slicebridge.distributed.ray_executor`: the Ray executor (needs ``slicebridge[distributed]``).
- :mod:`slicebridge.distributed.edge`: an edge server's client (its simulator and SB3 agent), usable
  in-process with ``federation.server.run_federated`` and inside a Flower client.
- :mod:`slicebridge.distributed.flower`: our strategies as a Flower ``Strategy``, the Flower client,
  server and client processes (needs ``slicebridge[distributed]``).
"""

#: the one line every entry point prints when the optional extra is missing
EXTRA_HINT = "pip install 'slicebridge[distributed]'"
