# SPDX-License-Identifier: GPL-2.0-only
"""What a simulator must provide to sit behind the environments, and the registry that finds one by name.

A *backend* simulates ``B = num_envs`` independent instances of one scenario in lockstep. Every
call returns the KPI tensor ``[B, C, S, N_KPIS]`` (``bridge.kpi`` names the last axis; units in the
names) of the decision period that just ended:

- ``reset(seed)`` starts a new episode in every instance and returns state 0 (after the warm-up).
  With ``seed=None`` each instance continues its own seed sequence: instance ``b`` of the ``k``-th
  unseeded reset after ``reset(s)`` uses seed ``s + b + k·SEED_STRIDE``, in every simulator.
- ``step(shares [B, C, S])`` applies the per-cell slice shares (rows on the simplex) for one decision
  period. A backend never resets itself: when an episode ends, the caller decides (see
  ``slicebridge.envs``: auto-reset lives in the VecEnv, as in SB3's ``DummyVecEnv``).
- ``close()`` frees every process, socket and file; calling it twice is harmless.

Optional capabilities are separate protocols, tested with ``isinstance`` (``runtime_checkable``):
:class:`DemandOracle` for simulators that know the coming period's offered load. Simulators are
registered by name with :func:`register_backend` (litesim and ns-3 do so on import) and built by
:func:`make_backend`, so adding one touches no ``if`` chain.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
from slicebridge.bridge.scenario import Scenario

# Seeds of successive unseeded resets are this far apart, so instance b's k-th episode never reuses
# another instance's seed for any batch below 2^20 instances.
SEED_STRIDE = 1 << 20


@runtime_checkable
class Backend(Protocol):
    """A batched simulator of one scenario (see the module docstring for the semantics)."""

    num_envs: int

    def reset(self, seed: int | None = None) -> np.ndarray: ...

    def step(self, shares: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


@runtime_checkable
class DemandOracle(Protocol):
    """Capability: the offered load ``[B, C, S]`` (Mbit/s) of the period the next ``step`` simulates."""

    def offered_load_mbps(self) -> np.ndarray: ...


BackendFactory = Callable[..., Backend]
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory(scenario, num_envs=, seed=, **kwargs) -> Backend`` available as ``name``."""
    if name in _REGISTRY and _REGISTRY[name] is not factory:
        raise ValueError(f"a simulator backend named {name!r} is already registered")
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def make_backend(scenario: Scenario, simulator: str = "litesim", num_envs: int = 1, seed: int | None = None, **kwargs: Any) -> Backend:
    """Build the registered simulator ``simulator`` for ``num_envs`` instances of ``scenario``."""
    try:
        factory = _REGISTRY[simulator]
    except KeyError:
        raise ValueError(f"unknown simulator {simulator!r}; allowed: {backend_names()}") from None
    return factory(scenario, num_envs=num_envs, seed=seed, **kwargs)


def next_seeds(base: int, num_envs: int, resets: int) -> np.ndarray:
    """Seeds ``[B]`` of the ``resets``-th unseeded reset after ``reset(base)`` (the rule above)."""
    return base + np.arange(num_envs, dtype=np.int64) + resets * SEED_STRIDE
