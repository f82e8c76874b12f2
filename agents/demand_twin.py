# SPDX-License-Identifier: GPL-2.0-only
"""Demand twins (DT-MAFL, docs/RESEARCH.md system 2): one-step-ahead forecasts of every slice's demand.

A forecaster sees a window of the last ``W`` demand values of all ``S`` slices and predicts the next
value of each slice: ``predict(window [..., W, S]) -> [..., S]`` (same units as the series; the
slicing recipes use the needed PRB share, dimensionless). ``fit(series [T, S])`` learns from a
training trace. Four kinds, compared by RMSE in the DT-MAFL recipe:

- :class:`PersistenceForecaster`: the last value (the baseline every model must beat);
- :class:`ArimaForecaster`: one ARIMA(p, d, q) per slice from ``statsmodels`` (no cross-slice input);
- :class:`LstmForecaster`: an LSTM over the window of all slices, a linear head per step;
- :class:`GatForecaster`: the paper's twin, a graph-attention network over the slices (nodes) with a
  learned adjacency: node i's message is ``Σ_j α_ij W h_j`` with
  ``α_ij = softmax_j(LeakyReLU(aᵀ[W h_i ‖ W h_j]) + A_ij)``, ``h_i`` an embedding of slice i's window and
  ``A`` a free ``[S, S]`` matrix learned with the rest, so the model can find which slices lead which.

The neural forecasters predict the change from the last value, on series standardised per slice,
trained by Adam on the mean squared error (full batch; the traces are short).

:func:`correlated_loads` draws demand with cross-slice correlation — a shared latent load process seen
by each slice with its own lag and weight — used to build scenario load profiles and in tests.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn


def correlated_loads(n_slices: int, steps: int, *, lags: tuple[int, ...], weights: tuple[float, ...], seed: int,
                     base: float = 1.0, noise: float = 0.05, period: float = 40.0, ar: float = 0.9,
                     floor: float = 0.2, cap: float = 2.0) -> np.ndarray:
    """Load multipliers ``[steps, n_slices]``: ``base + w_s · z(t − lag_s) + noise · ε_s(t)``, clipped to
    ``[floor, cap]``. ``z`` (unit scale) is a sinusoid of ``period`` steps with a random phase plus an AR(1)
    process (coefficient ``ar``), shared by every slice; ``ε_s`` is each slice's own white noise."""
    if len(lags) != n_slices or len(weights) != n_slices:
        raise ValueError(f"correlated_loads: need one lag and one weight per slice ({n_slices}), got {len(lags)} and {len(weights)}")
    rng = np.random.default_rng(seed)
    lead = max(lags)
    n = steps + lead
    t = np.arange(n)
    ar_part = np.zeros(n)
    shocks = rng.normal(0.0, np.sqrt(1 - ar**2), n)
    for k in range(1, n):
        ar_part[k] = ar * ar_part[k - 1] + shocks[k]
    z = 0.6 * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi)) + 0.4 * ar_part
    out = np.empty((steps, n_slices))
    for s, (lag, w) in enumerate(zip(lags, weights)):
        out[:, s] = base + w * z[lead - lag : lead - lag + steps] + noise * rng.normal(size=steps)
    return np.clip(out, floor, cap)


def windows(series: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Supervised pairs from ``series [T, S]``: inputs ``[T − W, W, S]`` and next values ``[T − W, S]``."""
    series = np.asarray(series, dtype=np.float64)
    if series.ndim != 2 or series.shape[0] <= width:
        raise ValueError(f"windows: need a [T, S] series longer than the window {width}, got shape {series.shape}")
    idx = np.arange(width)[None, :] + np.arange(series.shape[0] - width)[:, None]
    return series[idx], series[width:]


def rmse(forecaster: "Forecaster", series: np.ndarray, width: int) -> np.ndarray:
    """One-step-ahead RMSE per slice ``[S]`` of ``forecaster`` over ``series [T, S]``."""
    x, y = windows(series, width)
    return np.sqrt(np.mean((forecaster.predict(x) - y) ** 2, axis=0))


class Forecaster(Protocol):
    name: str

    def fit(self, series: np.ndarray) -> "Forecaster": ...

    def predict(self, window: np.ndarray) -> np.ndarray: ...


class PersistenceForecaster:
    """Next value = last value."""

    name = "persistence"

    def fit(self, series: np.ndarray) -> "PersistenceForecaster":
        return self

    def predict(self, window: np.ndarray) -> np.ndarray:
        return np.asarray(window, dtype=np.float64)[..., -1, :]


class ArimaForecaster:
    """One ``statsmodels`` ARIMA(order) per slice, fitted on the training series; a prediction applies
    the fitted parameters to the given window (no refit) and forecasts one step."""

    name = "arima"

    def __init__(self, order: tuple[int, int, int] = (2, 0, 1)):
        self.order = order
        self.results: list = []

    def fit(self, series: np.ndarray) -> "ArimaForecaster":
        from statsmodels.tsa.arima.model import ARIMA  # heavy import, only when ARIMA is used

        series = np.asarray(series, dtype=np.float64)
        self.results = [ARIMA(series[:, s], order=self.order).fit() for s in range(series.shape[1])]
        return self

    def predict(self, window: np.ndarray) -> np.ndarray:
        window = np.asarray(window, dtype=np.float64)
        flat = window.reshape(-1, *window.shape[-2:])
        out = np.empty((flat.shape[0], flat.shape[-1]))
        for s, res in enumerate(self.results):
            for i, w in enumerate(flat):
                out[i, s] = res.apply(w[:, s]).forecast(1)[0]
        return out.reshape(window.shape[:-2] + (window.shape[-1],))

    def rolling(self, series: np.ndarray, width: int) -> np.ndarray:
        """One-step predictions ``[T − W, S]`` over a whole series with the fitted parameters and the
        full past as state (faster than window by window; what the RMSE table uses)."""
        series = np.asarray(series, dtype=np.float64)
        preds = [np.asarray(res.apply(series[:, s]).predict(start=width, end=series.shape[0] - 1)) for s, res in enumerate(self.results)]
        return np.stack(preds, axis=-1)


class _NeuralForecaster:
    """Shared training loop: standardise per slice, learn the change from the last value (MSE, Adam)."""

    name = "neural"

    def __init__(self, width: int, hidden: int = 32, epochs: int = 300, lr: float = 1e-2, seed: int = 0):
        self.width, self.hidden, self.epochs, self.lr, self.seed = width, hidden, epochs, lr, seed
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.net: nn.Module | None = None

    def _build(self, n_slices: int) -> nn.Module:
        raise NotImplementedError

    def fit(self, series: np.ndarray) -> "_NeuralForecaster":
        series = np.asarray(series, dtype=np.float64)
        self.mean, self.std = series.mean(axis=0), series.std(axis=0) + 1e-6
        x, y = windows((series - self.mean) / self.std, self.width)
        torch.manual_seed(self.seed)
        self.net = self._build(series.shape[1])
        xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
        target = yt - xt[:, -1, :]
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.net.train()
        for _ in range(self.epochs):
            opt.zero_grad()
            loss = torch.mean((self.net(xt) - target) ** 2)
            loss.backward()
            opt.step()
        self.net.eval()
        return self

    def predict(self, window: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError(f"{self.name} forecaster: call fit() before predict()")
        window = np.asarray(window, dtype=np.float64)
        flat = ((window - self.mean) / self.std).reshape(-1, *window.shape[-2:])
        with torch.no_grad():
            xt = torch.as_tensor(flat, dtype=torch.float32)
            z = (xt[:, -1, :] + self.net(xt)).numpy().astype(np.float64)
        return (z * self.std + self.mean).reshape(window.shape[:-2] + (window.shape[-1],))


class _LstmNet(nn.Module):
    def __init__(self, n_slices: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(n_slices, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_slices)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, W, S] -> [N, S]
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class LstmForecaster(_NeuralForecaster):
    name = "lstm"

    def _build(self, n_slices: int) -> nn.Module:
        return _LstmNet(n_slices, self.hidden)


class _GatNet(nn.Module):
    """One graph-attention layer over slices with a learned additive adjacency, then a linear head."""

    def __init__(self, n_slices: int, width: int, hidden: int):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(width, hidden), nn.ELU())  # a node's own window → h_i
        self.proj = nn.Linear(hidden, hidden, bias=False)  # W
        self.att_src = nn.Parameter(torch.randn(hidden) * 0.1)  # a = [a_src ‖ a_dst]
        self.att_dst = nn.Parameter(torch.randn(hidden) * 0.1)
        self.adjacency = nn.Parameter(torch.zeros(n_slices, n_slices))  # A, learned
        self.head = nn.Linear(2 * hidden, 1)

    def _nodes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Node embeddings h ``[N, S, H]``, W h ``[N, S, H]`` and attention ``[N, S, S]`` (row i receives from j)."""
        h = self.embed(x.transpose(1, 2))
        wh = self.proj(h)
        scores = (wh @ self.att_dst)[:, :, None] + (wh @ self.att_src)[:, None, :]
        return h, wh, torch.softmax(nn.functional.leaky_relu(scores, 0.2) + self.adjacency, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, W, S] -> [N, S]
        h, wh, alpha = self._nodes(x)
        msg = nn.functional.elu(alpha @ wh)
        return self.head(torch.cat([h, msg], dim=-1)).squeeze(-1)


class GatForecaster(_NeuralForecaster):
    name = "gat"

    def _build(self, n_slices: int) -> nn.Module:
        return _GatNet(n_slices, self.width, self.hidden)

    def learned_adjacency(self) -> np.ndarray:
        """The learned additive adjacency ``A [S, S]`` (row i: how much slice i listens to slice j)."""
        if self.net is None:
            raise RuntimeError("gat forecaster: call fit() before learned_adjacency()")
        return self.net.adjacency.detach().numpy().copy()


FORECASTERS = {"persistence": PersistenceForecaster, "arima": ArimaForecaster, "lstm": LstmForecaster, "gat": GatForecaster}
