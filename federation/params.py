"""Model parameters as plain arrays: validation of client updates, update compression, byte counts.

A model's parameters travel as ``list[np.ndarray]`` (one array per tensor, fixed order). A client's
*update* is the difference ``w_local − w_global``. Codecs act on that delta:

- ``none``: float32 delta, 4 bytes per value;
- ``fp16``: delta cast to float16, 2 bytes per value;
- ``int8``: per-tensor symmetric quantisation ``q = round(d / s)``, ``s = max|d| / 127``; 1 byte per
  value plus a 4-byte float32 scale per tensor. A non-finite delta encodes to a NaN scale, so it
  decodes to NaN and is still rejected by validation.

The server rebuilds ``w_global + decode(encode(delta))``: that is what it aggregates and validates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

Params = list[np.ndarray]
CODECS = ("none", "fp16", "int8")


def copy_params(params: Params) -> Params:
    return [np.array(p, copy=True) for p in params]


def params_nbytes(params: Params, bytes_per_value: int = 4) -> int:
    """Bytes to send ``params`` uncompressed as float32 (``bytes_per_value`` each)."""
    return int(sum(int(np.asarray(p).size) for p in params) * bytes_per_value)


def flat_norm(arrays: Params) -> float:
    """L2 norm of all arrays taken together (NaN if any value is not finite)."""
    total = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        total += float(np.sum(a * a))
    return float(np.sqrt(total))


@dataclass
class Encoded:
    """A compressed update: the payload arrays as they would travel, and their size in bytes."""

    codec: str
    payload: list[tuple[np.ndarray, float]]  # (values, scale); scale is 1.0 except for int8
    nbytes: int


def encode_update(delta: Params, codec: str = "none") -> Encoded:
    if codec not in CODECS:
        raise ValueError(f"unknown update codec {codec!r}; allowed: {list(CODECS)}")
    payload: list[tuple[np.ndarray, float]] = []
    nbytes = 0
    for d in delta:
        d = np.asarray(d, dtype=np.float64)
        if codec == "none":
            values, scale = d.astype(np.float32), 1.0
        elif codec == "fp16":
            values, scale = d.astype(np.float16), 1.0
        else:
            finite = bool(np.all(np.isfinite(d)))
            peak = float(np.max(np.abs(d))) if d.size and finite else 0.0
            scale = (peak / 127.0 if peak > 0 else 1.0) if finite else float("nan")
            safe = d / scale if finite else np.zeros_like(d)
            values = np.clip(np.rint(safe), -127, 127).astype(np.int8)
            nbytes += 4  # the float32 scale
        payload.append((values, scale))
        nbytes += values.nbytes
    return Encoded(codec, payload, int(nbytes))


def decode_update(encoded: Encoded) -> Params:
    return [values.astype(np.float64) * scale for values, scale in encoded.payload]


def compress_params(local: Params, global_params: Params, codec: str = "none") -> tuple[Params, int]:
    """What the server receives from a client: ``(w_global + decoded delta, bytes sent)``.

    Shapes that do not match the global model are passed through unchanged (validation rejects
    them); their byte count is that of float32 values.
    """
    if len(local) != len(global_params) or any(np.shape(a) != np.shape(b) for a, b in zip(local, global_params)):
        return [np.asarray(a) for a in local], params_nbytes(local)
    delta = [np.asarray(a, dtype=np.float64) - np.asarray(g, dtype=np.float64) for a, g in zip(local, global_params)]
    encoded = encode_update(delta, codec)
    rebuilt = [np.asarray(g, dtype=np.float64) + d for g, d in zip(global_params, decode_update(encoded))]
    return [r.astype(np.asarray(g).dtype) for r, g in zip(rebuilt, global_params)], encoded.nbytes


#: Default adaptive bound: an update may be at most this many times the round's median update norm.
DEFAULT_NORM_FACTOR = 10.0


@dataclass(frozen=True)
class UpdateValidator:
    """Rejects broken or poisoned updates before aggregation.

    Checks, in order: same number of tensors and shapes as the global model, every value finite,
    and the L2 norm of ``w_local − w_global`` (all tensors together) within a bound:

    - ``max_update_norm`` when the user sets one (a fixed bound, same every round);
    - otherwise ``norm_factor × m`` with ``m`` the *lower* median of the norms of this round's
      well-formed updates, so the bound adapts to how far honest clients move this round. The lower
      median is an honest norm while fewer than half of the updates are poisoned (with two clients:
      the smaller norm), so one update of norm 1e30 cannot raise the bound to admit itself. A single
      update is its own median: norm poisoning cannot be told apart then (shape and finiteness
      still are). ``norm_factor=None`` and no ``max_update_norm``: no norm bound at all.

    ``check`` tests one update against the fixed bound only; ``check_round`` tests a round's updates
    together (that is what the strategies call). Each returns None for an acceptable update, else
    the reason.
    """

    max_update_norm: float | None = None
    norm_factor: float | None = DEFAULT_NORM_FACTOR

    def __post_init__(self) -> None:
        for name in ("max_update_norm", "norm_factor"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"UpdateValidator: {name} must be a positive finite number or None, got {value!r}")

    @staticmethod
    def _malformed(params: Params, global_params: Params) -> str | None:
        if len(params) != len(global_params):
            return f"{len(params)} tensors, the global model has {len(global_params)}"
        for i, (p, g) in enumerate(zip(params, global_params)):
            if np.shape(p) != np.shape(g):
                return f"tensor {i} has shape {np.shape(p)}, expected {np.shape(g)}"
        for i, p in enumerate(params):
            if not np.all(np.isfinite(p)):
                return f"tensor {i} holds NaN or infinite values"
        return None

    @staticmethod
    def _norm(params: Params, global_params: Params) -> float:
        with np.errstate(over="ignore"):  # an overflow is an infinite norm, which the bound rejects
            return flat_norm([np.asarray(p, dtype=np.float64) - g for p, g in zip(params, global_params)])

    @staticmethod
    def _over(norm: float, bound: float, kind: str) -> str | None:
        return None if norm <= bound else f"update norm {norm:.4g} exceeds the {kind} bound {bound:.4g}"

    def check(self, params: Params, global_params: Params) -> str | None:
        reason = self._malformed(params, global_params)
        if reason is None and self.max_update_norm is not None:
            reason = self._over(self._norm(params, global_params), self.max_update_norm, "fixed")
        return reason

    def round_bound(self, norms: Sequence[float]) -> float | None:
        """The adaptive bound for a round whose well-formed updates have these norms (None: no bound)."""
        if self.max_update_norm is not None:
            return self.max_update_norm
        if self.norm_factor is None or not norms:
            return None
        ordered = sorted(norms)
        return self.norm_factor * ordered[(len(ordered) - 1) // 2]

    def check_round(self, updates: Sequence[Params], global_params: Params) -> list[str | None]:
        reasons: list[str | None] = [self._malformed(p, global_params) for p in updates]
        norms = {i: self._norm(p, global_params) for i, p in enumerate(updates) if reasons[i] is None}
        bound = self.round_bound(list(norms.values()))
        if bound is not None:
            kind = "fixed" if self.max_update_norm is not None else f"adaptive ({self.norm_factor:g} × median norm)"
            for i, norm in norms.items():
                reasons[i] = self._over(norm, bound, kind)
        return reasons
