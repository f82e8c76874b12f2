"""Federation strategies over plain arrays, shaped like Flower's ``Strategy`` (no transport).

A strategy holds the global model (``list[np.ndarray]``) and, each round,

- ``configure_round(server_round, clients, rng)`` picks the clients that train this round: a
  fraction ``fraction_fit`` of them (rounded, at least ``min_fit_clients`` and at least 1), drawn
  without replacement from ``rng``;
- ``client_config(server_round)`` is what those clients are told (e.g. FedProx's ``proximal_mu``);
- ``aggregate(results, failures)`` validates each :class:`FitRes` (shape, finiteness, update-norm
  bound: fixed when ``max_update_norm`` is set, else ``norm_factor`` × the round's median update
  norm, see :class:`~slicebridge.federation.params.UpdateValidator`; a rejected update is logged
  and appended to ``failures``), weights the accepted ones and combines them into the new global
  model, which it returns and keeps. Every strategy validates so by default.

Strategies (``make_strategy(name)``):

=================  =====================================  =========================================
name               weights                                combination
=================  =====================================  =========================================
fedavg             local samples n_i / Σ n                weighted mean
fedprox            local samples (server side = FedAvg)   weighted mean; clients add μ/2‖w−w_g‖²
success            reported success rate η_i / Σ η        weighted mean
uniform            1 / K                                  mean
median             —                                      coordinate-wise median
trimmed_mean       —                                      coordinate-wise mean after dropping the
                                                          ⌈β·K⌉ lowest and highest values
=================  =====================================  =========================================

``success`` is MFRL's rule ``W = Σ η_i W_i / Σ η_i`` with η_i whatever the client reports as its
success rate (metric ``success_rate``, in [0, 1]); the strategy does not define success. The
callers do: the MFRL trainer (``agents.mfrl``) reports a UE's cumulative channel-assignment success
rate β_i / T (steps without a collision on its subchannel and with its SNR above the floor, over
all its steps so far), as in the paper; the slicing trainer (``agents.training``) reports a client's
cumulative SLA success rate (its cell-steps since training started in which every slice's SLA
satisfaction reached ``success_threshold``, over all its cell-steps).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from slicebridge.federation.params import DEFAULT_NORM_FACTOR, Params, UpdateValidator, copy_params

log = logging.getLogger("slicebridge.federation")


@dataclass
class FitRes:
    """One client's result for a round: its new local parameters, sample count and metrics."""

    client_id: int
    params: Params
    num_samples: int
    metrics: dict[str, float] = field(default_factory=dict)


class Strategy:
    """Base strategy: selection, validation, weighting and combination (weighted mean)."""

    name = "base"

    def __init__(
        self,
        fraction_fit: float = 1.0,
        min_fit_clients: int = 1,
        max_update_norm: float | None = None,
        norm_factor: float | None = DEFAULT_NORM_FACTOR,
    ):
        if not 0.0 < fraction_fit <= 1.0:
            raise ValueError(f"fraction_fit must lie in (0, 1], got {fraction_fit}")
        self.fraction_fit = float(fraction_fit)
        self.min_fit_clients = max(1, int(min_fit_clients))
        self.validator = UpdateValidator(max_update_norm, norm_factor)
        self.global_params: Params | None = None

    # -- server state ----------------------------------------------------------------------------
    def initialize(self, params: Params) -> Params:
        self.global_params = copy_params(params)
        return self.global_params

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "global_params": copy_params(self.global_params or [])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"checkpoint holds strategy {state.get('name')!r}, this run uses {self.name!r}")
        self.global_params = copy_params(state["global_params"])

    # -- a round -----------------------------------------------------------------------------------
    def num_fit_clients(self, num_available: int) -> int:
        wanted = max(int(round(self.fraction_fit * num_available)), self.min_fit_clients, 1)
        return min(wanted, num_available)

    def configure_round(self, server_round: int, clients: Sequence[int], rng: np.random.Generator) -> list[int]:
        clients = list(clients)
        if not clients:
            return []
        n = self.num_fit_clients(len(clients))
        chosen = rng.choice(len(clients), size=n, replace=False)
        return sorted(clients[i] for i in chosen)

    def client_config(self, server_round: int) -> dict[str, Any]:
        return {"server_round": server_round}

    def aggregate(self, results: Sequence[FitRes], failures: list | None = None) -> Params:
        if self.global_params is None:
            raise RuntimeError("aggregate() before initialize()")
        failures = failures if failures is not None else []
        accepted = []
        reasons = self.validator.check_round([r.params for r in results], self.global_params)
        for res, reason in zip(results, reasons):
            if reason is None:
                accepted.append(res)
            else:
                log.warning("rejected the update of client %s: %s", res.client_id, reason)
                failures.append((res.client_id, reason))
        if not accepted:
            log.warning("no acceptable update this round; the global model is unchanged")
            return self.global_params
        stacked = [np.stack([np.asarray(r.params[i], dtype=np.float64) for r in accepted]) for i in range(len(self.global_params))]
        combined = self.combine(stacked, accepted)
        self.global_params = [c.astype(np.asarray(g).dtype) for c, g in zip(combined, self.global_params)]
        return self.global_params

    # -- overridable pieces ------------------------------------------------------------------------
    def weights(self, results: Sequence[FitRes]) -> np.ndarray:
        n = np.array([max(r.num_samples, 0) for r in results], dtype=np.float64)
        return _normalise(n)

    def combine(self, stacked: list[np.ndarray], results: Sequence[FitRes]) -> list[np.ndarray]:
        """``stacked[i]``: tensor i of every accepted client, ``[K, *shape]``."""
        w = self.weights(results)
        return [np.tensordot(w, s, axes=1) for s in stacked]


def _normalise(weights: np.ndarray) -> np.ndarray:
    """Weights summing to 1; uniform when they are all zero (or not finite)."""
    weights = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    total = weights.sum()
    if total <= 0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / total


class FedAvg(Strategy):
    """McMahan et al.: ``w = Σ (n_i / N) w_i`` with n_i the client's local samples."""

    name = "fedavg"


class FedProx(FedAvg):
    """Li et al.: FedAvg on the server; clients add ``μ/2 ‖w − w_global‖²`` to their local loss
    (see :mod:`federation.fedprox`), told through ``client_config``."""

    name = "fedprox"

    def __init__(self, proximal_mu: float = 0.1, **kwargs: Any):
        super().__init__(**kwargs)
        if proximal_mu < 0:
            raise ValueError(f"proximal_mu must be >= 0, got {proximal_mu}")
        self.proximal_mu = float(proximal_mu)

    def client_config(self, server_round: int) -> dict[str, Any]:
        return {**super().client_config(server_round), "proximal_mu": self.proximal_mu}


class SuccessWeighted(Strategy):
    """MFRL: ``W = Σ η_i W_i / Σ η_i``, η_i the success rate the client reports (metric ``success_rate``
    by default; see the module docstring for what success means for each trainer)."""

    name = "success"

    def __init__(self, metric: str = "success_rate", **kwargs: Any):
        super().__init__(**kwargs)
        self.metric = metric

    def weights(self, results: Sequence[FitRes]) -> np.ndarray:
        missing = [r.client_id for r in results if self.metric not in r.metrics]
        if missing:
            raise ValueError(f"strategy 'success': clients {missing} reported no {self.metric!r} metric; "
                             f"the client must report its success rate (e.g. η = β / T) in FitRes.metrics")
        eta = np.array([float(r.metrics[self.metric]) for r in results], dtype=np.float64)
        return _normalise(eta)


class Uniform(Strategy):
    """Plain mean of the clients' models."""

    name = "uniform"

    def weights(self, results: Sequence[FitRes]) -> np.ndarray:
        return np.full(len(results), 1.0 / len(results))


class FedMedian(Strategy):
    """Coordinate-wise median (Yin et al., 2018): robust to a minority of arbitrary updates."""

    name = "median"

    def combine(self, stacked: list[np.ndarray], results: Sequence[FitRes]) -> list[np.ndarray]:
        return [np.median(s, axis=0) for s in stacked]


class FedTrimmedMean(Strategy):
    """Coordinate-wise trimmed mean: drop the ⌈β·K⌉ smallest and largest values (at most (K−1)/2 each
    side, so at least one value is left), average the rest. Rounding up means a few clients are still
    trimmed (β = 0.1, K = 3: one each side, the median); with K ≤ 2 nothing can be trimmed, which is
    logged as a warning each round."""

    name = "trimmed_mean"

    def __init__(self, trim_fraction: float = 0.1, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0.0 <= trim_fraction < 0.5:
            raise ValueError(f"trim_fraction must lie in [0, 0.5), got {trim_fraction}")
        self.trim_fraction = float(trim_fraction)

    def combine(self, stacked: list[np.ndarray], results: Sequence[FitRes]) -> list[np.ndarray]:
        k = len(results)
        cut = min(int(math.ceil(self.trim_fraction * k - 1e-9)), (k - 1) // 2)
        if self.trim_fraction > 0 and cut == 0:
            log.warning("trimmed_mean cannot trim with %d accepted update(s): this round is their plain mean", k)
        out = []
        for s in stacked:
            ordered = np.sort(s, axis=0)
            out.append(ordered[cut : k - cut].mean(axis=0))
        return out


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (FedAvg, FedProx, SuccessWeighted, Uniform, FedMedian, FedTrimmedMean)
}


def make_strategy(name: str, **kwargs: Any) -> Strategy:
    """Build a strategy by name; ``kwargs`` are its constructor arguments (see the table above)."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown federation strategy {name!r}; allowed: {sorted(STRATEGIES)}") from None
    return cls(**kwargs)
