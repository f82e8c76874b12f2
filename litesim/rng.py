# SPDX-License-Identifier: GPL-2.0-only
"""Counter-based random numbers: every draw is a hash of (instance key, period, stream, element).

A batch of instances cannot share one sequential generator without making instance ``b``'s numbers
depend on the batch size, and one ``numpy.random.Generator`` per instance would need a Python loop
over the batch every period. Hashing counters gives independent, reproducible streams for every
instance in one vectorised call: the value drawn for element ``i`` of instance ``b`` at period ``t``
in stream ``s`` depends only on (seed of ``b``, ``t``, ``s``, ``i``).

The mixer is the SplitMix64 finaliser (Steele, Lea, Flood 2014), applied to a Weyl-sequence
combination of the counters.

Every kind of draw has its own stream, named in :class:`Stream`; the numbers are part of the bits
(renumbering one changes every run that uses it).
"""

from __future__ import annotations

import enum

import numpy as np


class Stream(enum.IntEnum):
    """The random streams of litesim (value = the stream number hashed into every draw)."""

    TRAFFIC_PHASE = 100  # initial fractional packet phase of every source (deterministic sources use it)
    ONOFF_START_ON = 101  # whether an on/off source starts in its on state
    ONOFF_FIRST_DURATION = 102  # remaining duration of an on/off source's first state, Exp(1)
    POISSON_SMALL_MEAN = 110  # uniforms of Poisson arrivals drawn by inversion (small means)
    POISSON_LARGE_MEAN = 111  # standard normals of Poisson arrivals by the normal approximation
    RENEWAL_COUNT = 112  # standard normals of renewal-source counts (uniform, truncated exponential)
    MOBILITY_HEADING = 300  # direction of each random-walk step
    ONOFF_TOGGLES = 1000  # first of ONOFF_MAX_TOGGLES streams: duration after the i-th toggle of a period


#: on/off state changes per source and period that get their own stream (:func:`onoff_toggle_stream`)
ONOFF_MAX_TOGGLES = 256
#: :meth:`CounterRng.normal` takes its second uniform (Box–Muller) from stream ``stream + NORMAL_PAIR_OFFSET``
NORMAL_PAIR_OFFSET = 1_000_003


def onoff_toggle_stream(i: int) -> int:
    """Stream of the durations drawn at the ``i``-th on/off toggle of a period (``0 <= i < ONOFF_MAX_TOGGLES``)."""
    if not 0 <= i < ONOFF_MAX_TOGGLES:
        raise ValueError(f"on/off toggle {i} outside 0..{ONOFF_MAX_TOGGLES - 1}")
    return int(Stream.ONOFF_TOGGLES) + i

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_K_PERIOD = np.uint64(0xD1B54A32D192ED03)
_K_STREAM = np.uint64(0xAEF17502108EF2D9)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
_TO_UNIT = np.float32(2.0**-24)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, elementwise on uint64 (in place on a fresh array)."""
    x = x ^ (x >> _S30)
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def instance_keys(seeds: np.ndarray) -> np.ndarray:
    """One 64-bit key per instance from its integer seed."""
    with np.errstate(over="ignore"):
        return mix64(np.asarray(seeds, dtype=np.uint64) * _GOLDEN + np.uint64(0x5B1DE))


class CounterRng:
    """Uniform / exponential / normal / Poisson draws for a batch, addressed by counters.

    ``element_ids`` (uint64, any shape ``E``) numbers the elements of one instance; draws have shape
    ``[B, *E]`` (or a subset of the batch via ``rows``).
    """

    def __init__(self, element_shape: tuple[int, ...]):
        n = int(np.prod(element_shape))
        with np.errstate(over="ignore"):
            self.element_ids = (np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN).reshape(element_shape)
        self.shape = element_shape

    def bits(self, keys: np.ndarray, periods: np.ndarray, stream: int, cols: slice | None = None) -> np.ndarray:
        """uint64 hashes ``[B, *E]`` for instance ``keys [B]`` at per-instance ``periods [B]`` in
        ``stream`` (a :class:`Stream`, or :func:`onoff_toggle_stream`); ``cols`` restricts the last
        element axis (the value of an element never depends on it)."""
        ids = self.element_ids if cols is None else self.element_ids[..., cols]
        with np.errstate(over="ignore"):
            base = keys + periods.astype(np.uint64) * _K_PERIOD + np.uint64(stream) * _K_STREAM
            base = mix64(base)
            x = base.reshape(base.shape + (1,) * len(self.shape)) + ids
            return mix64(x)

    def uniform(self, keys: np.ndarray, periods: np.ndarray, stream: int, cols: slice | None = None) -> np.ndarray:
        """float32 in the open interval (0, 1)."""
        top = (self.bits(keys, periods, stream, cols) >> _S40).astype(np.float32)
        top += np.float32(0.5)
        top *= _TO_UNIT
        return top

    def exponential(self, keys: np.ndarray, periods: np.ndarray, stream: int, cols: slice | None = None) -> np.ndarray:
        """Exp(1) samples, float32."""
        u = self.uniform(keys, periods, stream, cols)
        np.log(u, out=u)
        np.negative(u, out=u)
        return u

    def normal(self, keys: np.ndarray, periods: np.ndarray, stream: int, cols: slice | None = None) -> np.ndarray:
        """Standard normal samples (Box–Muller from two streams), float32."""
        u1 = self.uniform(keys, periods, stream, cols)
        u2 = self.uniform(keys, periods, stream + NORMAL_PAIR_OFFSET, cols)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(np.float32(2 * np.pi) * u2)


POISSON_SMALL = 15.0  # poisson_from_uniform: below this mean by inversion, from it on by the normal approximation


def poisson_from_uniform(mean: np.ndarray, u, z: np.ndarray, small: float = POISSON_SMALL) -> np.ndarray:
    """Poisson(mean) samples from a uniform ``u`` (inversion, mean < ``small``) and a standard normal
    ``z`` (rounded normal approximation with continuity correction, mean ≥ ``small``).

    ``u`` may be a callable returning the uniforms: it is then only called if some mean is small
    (drawing them costs as much as the rest)."""
    mean = np.asarray(mean, dtype=np.float32)
    out = np.floor(mean + np.sqrt(mean) * z + np.float32(0.5))
    np.maximum(out, 0.0, out=out)
    low = mean < small
    if np.any(low):
        if callable(u):
            u = u()
        lam = np.broadcast_to(mean, u.shape)[low]
        uu = u[low].astype(np.float64)
        p = np.exp(-lam.astype(np.float64))
        cdf = p.copy()
        k = np.zeros_like(p)
        active = uu > cdf
        i = 0
        while np.any(active) and i < 80:
            i += 1
            p = np.where(active, p * lam / i, p)
            k += active
            cdf += np.where(active, p, 0.0)
            active &= uu > cdf
        out[low] = k
    return out
