"""Agent outputs → per-cell slice shares. The one mapping used by training, evaluation and both simulators.

Continuous mode: an agent outputs a raw vector ``a`` in [0, 1]^S per cell; the shares are
``min_share + (1 − Σ min_share) · a / Σ a`` (equal split of the free part when Σ a = 0), so every
share vector sums to 1 and respects each slice's minimum.

Discrete mode (``action.discrete_moves``): move index 0 keeps the shares. ``pair`` (the default): index
``1 + i·(S−1) + k`` moves ``delta`` of the PRBs from slice i to the k-th other slice j (as far as slice
i's minimum allows). ``updown``: index ``1 + s`` raises slice s by ``delta``, taken from the other slices
in proportion to their room above their minimums; index ``1 + S + s`` lowers slice s by ``delta`` (as far
as its minimum allows), split equally among the others. Either table has M = S(S−1) (pair) or 2S
(updown) moves per resource.

With an ``edge`` section (FDRL's second resource) a cell's share row has 2·S values, the S bandwidth
shares then the S compute shares, each on its own simplex (compute above ``edge.min_compute_share``):
continuous actions are ``[..., 2S]`` (each half mapped as above; an ``[..., S]`` action moves the
bandwidth only and keeps the compute shares). Discrete moves cover the compute per ``action.edge_moves``,
with M moves per resource, the compute moving by ``action.compute_delta`` (default ``delta``):
``either`` (1 + 2M actions): move ``1 + m`` with ``m < M`` moves bandwidth, ``1 + M + m`` moves compute, by
the same table; ``joint`` (1 + M): move ``1 + m`` applies move m to both resources alike; ``both``
((1 + M)² actions): index ``b·(1 + M) + c`` applies bandwidth move ``b`` and compute move ``c`` (0 = keep)
in the same step, so both resources can follow demand at full speed.

Absolute mode (DT-DRL): index ``a`` picks row ``a`` of :func:`absolute_splits`, every split of
``units`` equal grid units of the bandwidth with each slice at its minimum units or more, in
lexicographic order; the shares are ``units_s / units``. With one unit minimum per slice there are
C(units − 1, S − 1) splits: 171 for 20 units (1 MHz of 20 MHz), 4851 for 100 (200 kHz), 3 slices.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from slicebridge.bridge.scenario import Scenario


class InvalidActionError(ValueError):
    """An action has the wrong shape, is not finite, or is out of range under ``invalid: reject``."""


def shares_from_raw(raw: np.ndarray, min_share: np.ndarray) -> np.ndarray:
    """Map raw outputs ``[..., S]`` (≥ 0) to shares ``[..., S]`` on the simplex above ``min_share [S]``."""
    raw = np.clip(np.asarray(raw, dtype=np.float64), 0.0, None)
    total = raw.sum(axis=-1, keepdims=True)
    n = raw.shape[-1]
    weights = np.where(total > 1e-12, raw / np.where(total > 1e-12, total, 1.0), 1.0 / n)
    free = 1.0 - float(np.sum(min_share))
    return min_share + free * weights


def project_to_simplex(values: np.ndarray, min_share: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``values [..., S]`` onto ``{x : x ≥ min_share, Σ x = 1}``.

    The C++ twin is ``ProjectOntoShareSimplex`` (ns3_scenarios/model/slice-contract.cc), same operation order."""
    values = np.asarray(values, dtype=np.float64)
    min_share = np.asarray(min_share, dtype=np.float64)
    budget = 1.0 - float(min_share.sum())
    y = values - min_share
    desc = -np.sort(-y, axis=-1)
    excess = np.cumsum(desc, axis=-1) - budget
    rank = np.arange(1, y.shape[-1] + 1)
    positive = desc - excess / rank > 0
    # last rank where the condition holds; rank 1 when none does (Σ min_share = 1: θ = max y, x = min_share)
    rho = np.where(positive.any(axis=-1), y.shape[-1] - np.argmax(positive[..., ::-1], axis=-1), 1)
    theta = np.take_along_axis(excess, (rho - 1)[..., None], -1) / rho[..., None]
    return min_share + np.maximum(y - theta, 0.0)


def percent_change(shares: np.ndarray, change: np.ndarray, min_share: np.ndarray) -> np.ndarray:
    """DT-MAFL's per-slice action: scale each share by ``1 + change`` (``change [..., S]``, a fraction:
    0.2 = +20 %, clipped to [−1, 1]), renormalise to sum 1 and project onto ``{x ≥ min_share, Σ x = 1}``.

    Changes are relative to each other: if every slice asks for +50 % nothing moves (a Euclidean
    projection of the scaled shares instead would hand the excess to the largest share, so slices that
    all ask for more would end with one of them taking the cell)."""
    change = np.clip(np.asarray(change, dtype=np.float64), -1.0, 1.0)
    if not np.all(np.isfinite(change)):
        raise InvalidActionError("percent-change action: contains NaN or infinite values")
    scaled = np.asarray(shares, dtype=np.float64) * (1.0 + change)
    total = scaled.sum(axis=-1, keepdims=True)
    n = scaled.shape[-1]
    # every slice asking for -100 % leaves nothing to scale: fall back to an equal split
    normalised = np.where(total > 1e-12, scaled / np.where(total > 1e-12, total, 1.0), 1.0 / n)
    return project_to_simplex(normalised, min_share)


def validate_raw(raw: np.ndarray, shape: tuple[int, ...], policy: str, where: str = "action") -> np.ndarray:
    """Check a continuous raw action against ``shape`` and [0, 1]; clip (``project``) or raise (``reject``)."""
    arr = np.asarray(raw, dtype=np.float64)
    if arr.shape != shape:
        raise InvalidActionError(f"{where}: expected shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidActionError(f"{where}: contains NaN or infinite values")
    if np.any(arr < 0.0) or np.any(arr > 1.0):
        if policy == "reject":
            raise InvalidActionError(
                f"{where}: values must lie in [0, 1], got min {arr.min():.4g}, max {arr.max():.4g} "
                "(set action.invalid: project to clip instead)"
            )
        arr = np.clip(arr, 0.0, 1.0)
    return arr


def discrete_moves(n_slices: int) -> list[tuple[int, int]]:
    """The move table: index 0 = keep (-1, -1); then (from, to) for every ordered slice pair."""
    return [(-1, -1)] + [(i, j) for i in range(n_slices) for j in range(n_slices) if i != j]


def apply_moves(shares: np.ndarray, moves: np.ndarray, delta: float, min_share: np.ndarray) -> np.ndarray:
    """Apply discrete move indices ``moves [...]`` to ``shares [..., S]``; returns new shares."""
    table = np.array(discrete_moves(shares.shape[-1]))
    moves = np.asarray(moves, dtype=np.int64)
    if np.any(moves < 0) or np.any(moves >= len(table)):
        raise InvalidActionError(f"discrete action: move indices must lie in [0, {len(table) - 1}], got {moves}")
    src, dst = table[moves, 0], table[moves, 1]
    keep = src < 0
    src_safe, dst_safe = np.where(keep, 0, src), np.where(keep, 0, dst)
    available = np.take_along_axis(shares, src_safe[..., None], -1)[..., 0] - min_share[src_safe]
    step = np.where(keep, 0.0, np.clip(np.minimum(delta, available), 0.0, None))
    out = shares.copy()
    np.put_along_axis(out, src_safe[..., None], (np.take_along_axis(out, src_safe[..., None], -1)[..., 0] - step)[..., None], -1)
    np.put_along_axis(out, dst_safe[..., None], (np.take_along_axis(out, dst_safe[..., None], -1)[..., 0] + step)[..., None], -1)
    return out


def absolute_splits(units: int, min_units: tuple[int, ...]) -> np.ndarray:
    """Every split of ``units`` grid units over ``S = len(min_units)`` slices with slice s getting at
    least ``min_units[s]``, ``[N, S]`` int64 rows summing to ``units``, lexicographic (slice 0 first).

    Stars and bars: the ``free = units − Σ min_units`` spare units and S − 1 bars fill
    ``free + S − 1`` slots; each choice of bar slots is one split, so N = C(free + S − 1, S − 1)."""
    n_slices, free = len(min_units), units - sum(min_units)
    if free < 0:
        raise ValueError(f"absolute_splits: {units} units cannot cover the minimum units {min_units}")
    slots = free + n_slices - 1
    bars = np.array(list(combinations(range(slots), n_slices - 1)), dtype=np.int64).reshape(-1, n_slices - 1)
    edges = np.concatenate([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), slots)], axis=1)
    return np.diff(edges, axis=1) - 1 + np.asarray(min_units, dtype=np.int64)


def nearest_split(splits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute mode: index of the split in ``splits [N, S]`` (unit counts) whose shares lie closest
    (Euclidean) to ``target [..., S]``; returns ``[...]`` int64."""
    shares = splits / splits.sum(axis=1, keepdims=True)
    dist = np.sum((np.asarray(target)[..., None, :] - shares) ** 2, axis=-1)
    return np.argmin(dist, axis=-1)


def raw_from_shares(shares: np.ndarray, min_share: np.ndarray) -> np.ndarray:
    """Inverse of ``shares_from_raw``: the raw action that yields ``shares``."""
    free = max(1.0 - float(np.sum(min_share)), 1e-12)
    return np.clip((shares - min_share) / free, 0.0, 1.0)


def apply_updown(shares: np.ndarray, moves: np.ndarray, delta: float, min_share: np.ndarray) -> np.ndarray:
    """Apply ``updown`` move indices ``moves [...]`` (0 keep, ``1 + s`` raise slice s, ``1 + S + s`` lower
    it) to ``shares [..., S]``; returns new shares on the same simplex, every slice at its minimum or above."""
    S = shares.shape[-1]
    moves = np.asarray(moves, dtype=np.int64)
    if np.any(moves < 0) or np.any(moves > 2 * S):
        raise InvalidActionError(f"discrete action: move indices must lie in [0, {2 * S}], got {moves}")
    if S == 1:  # one slice holds the whole resource
        return np.array(shares, dtype=np.float64, copy=True)
    room = np.clip(shares - min_share, 0.0, None)  # [..., S] share each slice can give
    target = np.where(moves > 0, (moves - 1) % S, 0)[..., None]  # [..., 1]
    one_hot = np.arange(S) == target  # [..., S]
    others_room = np.where(one_hot, 0.0, room)
    up, down = ((moves >= 1) & (moves <= S))[..., None], (moves > S)[..., None]
    # raise: take from the others in proportion to their room; lower: give to the others equally
    up_step = np.minimum(delta, others_room.sum(-1, keepdims=True))
    taken = up_step * others_room / np.maximum(others_room.sum(-1, keepdims=True), 1e-12)
    down_step = np.minimum(delta, np.take_along_axis(room, target, -1))
    change = np.where(up, np.where(one_hot, up_step, -taken), 0.0)
    change = change + np.where(down, np.where(one_hot, -down_step, down_step / (S - 1)), 0.0)
    return shares + change


def updown_toward(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``updown`` moves: per cell, raise the most under-served slice or lower the most over-served one,
    whichever gap is larger (``current``/``target`` ``[..., S]`` → move indices ``[...]``; 0 when close)."""
    gap = target - current
    S = current.shape[-1]
    worst = np.argmax(np.abs(gap), axis=-1)
    raise_it = np.take_along_axis(gap, worst[..., None], -1)[..., 0] > 0
    move = np.where(raise_it, 1 + worst, 1 + S + worst)
    return np.where(np.max(np.abs(gap), axis=-1) < 1e-3, 0, move)


def moves_toward(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Discrete mode: per cell, the move that shifts share from the most over-served slice to the most
    under-served one (``current``/``target`` ``[..., S]`` → move indices ``[...]``; 0 when close)."""
    gap = target - current
    src, dst = np.argmin(gap, axis=-1), np.argmax(gap, axis=-1)
    table = {pair: i for i, pair in enumerate(discrete_moves(current.shape[-1]))}
    lookup = np.zeros((current.shape[-1],) * 2, dtype=np.int64)
    for (i, j), idx in table.items():
        if i >= 0:
            lookup[i, j] = idx
    move = lookup[src, dst]
    return np.where(np.max(np.abs(gap), axis=-1) < 1e-3, 0, move)


class ActionMapper:
    """Turns a batch of agent actions into share rows ``[B, C, W]`` per the scenario's action settings
    (``W = scenario.share_width``: S, or 2·S with an edge section)."""

    def __init__(self, scenario: Scenario):
        self.mode = scenario.action.mode
        self.delta = scenario.action.delta
        self.invalid = scenario.action.invalid
        self.n_cells, self.n_slices = scenario.n_cells, scenario.n_slices
        self.groups, self.width = scenario.share_groups, scenario.share_width
        self.min_share = np.array([s.min_share for s in scenario.slices])
        # per share group (bandwidth, then compute): the minimum shares [S] and the discrete step
        self.group_min = [self.min_share, np.array(scenario.min_compute_shares())][: self.groups]
        compute_delta = scenario.action.compute_delta if scenario.action.compute_delta is not None else self.delta
        self.group_delta = [self.delta, compute_delta][: self.groups]
        self.edge_moves = scenario.action.edge_moves if self.groups > 1 else "either"
        # absolute mode: the split table [N, S] in grid units; n_moves = number of actions per cell
        self.splits = absolute_splits(scenario.action.units, scenario.absolute_min_units()) if self.mode == "absolute" else None
        self.updown = scenario.action.discrete_moves == "updown"
        # M moves per share group: S(S−1) pairs or raise/lower each slice
        self._group_moves = 2 * self.n_slices if self.updown else len(discrete_moves(self.n_slices)) - 1
        self._apply, self._toward = (apply_updown, updown_toward) if self.updown else (apply_moves, moves_toward)
        counts = {"either": 1 + self.groups * self._group_moves, "joint": 1 + self._group_moves,
                  "both": (1 + self._group_moves) ** self.groups}
        self.n_moves = len(self.splits) if self.splits is not None else counts[self.edge_moves]

    def group_moves(self, index: np.ndarray) -> list[np.ndarray]:
        """Discrete mode: action indices ``[...]`` → one move index ``[...]`` per share group (0 = keep that
        resource; 1..M its moves, module docstring), per ``edge_moves``."""
        M = self._group_moves
        if self.edge_moves == "joint":
            return [index] * self.groups
        if self.edge_moves == "both":  # mixed radix, bandwidth most significant
            return [(index // (1 + M) ** (self.groups - 1 - g)) % (1 + M) for g in range(self.groups)]
        return [np.where((index - g * M >= 1) & (index - g * M <= M), index - g * M, 0) for g in range(self.groups)]

    def __call__(self, actions: np.ndarray, current: np.ndarray) -> np.ndarray:
        """``actions``: raw ``[B, C, W]`` or ``[B, C, S]`` (continuous; S: bandwidth only) or action indices
        ``[B, C]`` (discrete moves, absolute splits); ``current``: share rows ``[B, C, W]`` now in force.
        Returns the next share rows ``[B, C, W]``."""
        batch, S = current.shape[0], self.n_slices
        if self.mode == "continuous":
            width = self.width if np.shape(actions)[-1:] != (S,) else S
            raw = validate_raw(actions, (batch, self.n_cells, width), self.invalid)
            out = np.array(current, dtype=np.float64, copy=True)
            for g in range(width // S):
                out[..., g * S:(g + 1) * S] = shares_from_raw(raw[..., g * S:(g + 1) * S], self.group_min[g])
            return out
        index = np.asarray(actions)
        if index.shape != (batch, self.n_cells):
            raise InvalidActionError(f"{self.mode} action: expected shape {(batch, self.n_cells)}, got {index.shape}")
        if not np.all(np.isfinite(index)) or np.any(index != np.round(index)):
            raise InvalidActionError(f"{self.mode} action: indices must be whole numbers")
        index = index.astype(np.int64)
        if self.splits is None:
            if np.any(index < 0) or np.any(index >= self.n_moves):
                raise InvalidActionError(f"discrete action: move indices must lie in [0, {self.n_moves - 1}], got {index}")
            out = np.array(current, dtype=np.float64, copy=True)
            for g, mine in enumerate(self.group_moves(index)):
                part = slice(g * S, (g + 1) * S)
                out[..., part] = self._apply(out[..., part], mine, self.group_delta[g], self.group_min[g])
            return out
        if np.any(index < 0) or np.any(index >= self.n_moves):
            raise InvalidActionError(f"absolute action: split indices must lie in [0, {self.n_moves - 1}], got {index}")
        return self.splits[index] / float(self.splits[0].sum())

    def toward(self, current: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The action ``[...]`` (discrete/absolute modes) that brings ``current`` share rows ``[..., W]``
        closest to ``target`` (``[..., W]``, or ``[..., S]`` for the bandwidth alone): the move of
        :func:`moves_toward` (:func:`updown_toward` for ``updown`` moves) in the share group with the
        largest gap (``edge_moves`` either), in every group (both), on the gaps summed over the groups
        (joint), or the nearest absolute split."""
        if self.splits is not None:
            return nearest_split(self.splits, target)
        S = self.n_slices
        target = np.asarray(target, dtype=np.float64)
        groups = target.shape[-1] // S  # a bandwidth-only target keeps the compute where it is
        if self.edge_moves == "joint":
            return self._toward(sum(current[..., g * S:(g + 1) * S] for g in range(groups)),
                                sum(target[..., g * S:(g + 1) * S] for g in range(groups)))
        if self.edge_moves == "both":
            index = np.zeros(target.shape[:-1], dtype=np.int64)
            for g in range(self.groups):
                part = slice(g * S, (g + 1) * S)
                move = self._toward(current[..., part], target[..., part]) if g < groups else 0
                index = index * (1 + self._group_moves) + move
            return index
        best = self._toward(current[..., :S], target[..., :S])
        best_gap = np.max(np.abs(target[..., :S] - current[..., :S]), axis=-1)
        for g in range(1, groups):
            part = slice(g * S, (g + 1) * S)
            move = self._toward(current[..., part], target[..., part])
            gap = np.max(np.abs(target[..., part] - current[..., part]), axis=-1)
            better = (gap > best_gap) & (move > 0)
            best = np.where(better, move + g * self._group_moves, best)
            best_gap = np.where(better, gap, best_gap)
        return best
