# SPDX-License-Identifier: GPL-2.0-only
"""Packet-level confirmation for recipes: every final policy and baseline judged in litesim AND ns-3.

:func:`confirm_in_ns3` evaluates each row (a method's per-seed final policies, or one baseline) with
:func:`slicebridge.app.recipes.common.greedy_episodes` (so :func:`slicebridge.app.evaluate.evaluate`:
one evaluation loop) three ways on the same scenario and episode seeds:

- ``litesim``: ``litesim_episodes`` full episodes (the recipe's main table);
- ``litesim_window``: litesim on the ns-3 window, ``ns3_episodes`` episodes of ``ns3_steps`` steps;
- ``ns3``: ns-3 on that same window (ns-3 is 10-1000x slower than litesim at recipe sizes, hence the window).

:meth:`Confirmation.table` renders the recipe's metrics side by side (litesim window | ns-3 | gap,
mean ± sd over a row's seeds), the Kendall τ between the two simulators' reward rankings and both
orders; :meth:`Confirmation.advantage` is the paired per-seed reward difference of a row over a
baseline with its standard error (for "beats equal shares beyond 2 standard errors").
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from slicebridge.app.recipes.common import greedy_episodes
from slicebridge.app.report import rank_agreement
from slicebridge.bridge.scenario import Scenario

#: ``metrics(kpis [E, T, C, S, 11], rewards [E, T, C]) -> {name: value}``; "reward" is added by the helper.
MetricsFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]
SIMULATORS = ("litesim", "litesim_window", "ns3")


@dataclass
class Confirmation:
    """Per-seed metric values: ``values[sim][row]`` is one ``{metric: value}`` per policy of the row
    (a method's seeds; one for a baseline); a row missing from ``values["ns3"]`` could not run there
    (``skipped[row]`` says why)."""

    metrics: tuple[str, ...]
    values: dict[str, dict[str, list[dict[str, float]]]]
    litesim_episodes: int
    litesim_steps: int
    ns3_episodes: int
    ns3_steps: int
    seed: int
    ns3_wall_s: float
    ns3_sim_s: float
    skipped: dict[str, str] = field(default_factory=dict)

    def per_seed(self, sim: str, row: str, metric: str = "reward") -> np.ndarray:
        return np.array([v[metric] for v in self.values[sim][row]])

    def mean_sd(self, sim: str, row: str, metric: str = "reward") -> tuple[float, float]:
        x = self.per_seed(sim, row, metric)
        return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0

    def rows(self, sim: str = "litesim") -> list[str]:
        return list(self.values[sim])

    def tau(self) -> float:
        """Kendall τ between the litesim-window and ns-3 rankings of the rows' mean rewards (NaN if < 2 rows)."""
        return rank_agreement({r: self.per_seed("litesim_window", r) for r in self.values["ns3"]},
                              {r: self.per_seed("ns3", r) for r in self.values["ns3"]})

    def order(self, sim: str) -> list[str]:
        """Rows best first by mean reward in ``sim``."""
        return sorted(self.values[sim], key=lambda r: -self.per_seed(sim, r).mean())

    def advantage(self, row: str, baseline: str, sim: str, metric: str = "reward") -> tuple[float, float]:
        """Mean over ``row``'s seeds of (row − baseline) and its standard error sd/√n (0 for one seed).

        Both are evaluated on the same episode seeds, so the difference is paired; the baseline's mean
        over its own (deterministic) entries is subtracted from every seed of ``row``."""
        d = self.per_seed(sim, row, metric) - self.per_seed(sim, baseline, metric).mean()
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0

    def settings(self) -> str:
        speed = self.ns3_sim_s / self.ns3_wall_s if self.ns3_wall_s > 0 else float("nan")
        return (f"litesim: {self.litesim_episodes} episodes × {self.litesim_steps} steps from seed {self.seed}; ns-3 window "
                f"(and litesim on the same window for the gap): {self.ns3_episodes} episode(s) × {self.ns3_steps} steps from "
                f"seed {self.seed}; ns-3 took {self.ns3_wall_s:.0f} s wall for {self.ns3_sim_s:.1f} simulated s "
                f"({speed:.3f} simulated s per wall s, warm-up and start-up included)")

    def table(self, labels: dict[str, str] | None = None, percent: Sequence[str] = ()) -> str:
        """Markdown: per metric litesim (ns-3 window) | ns-3 | gap (ns-3 − litesim), mean ± sd over seeds;
        then τ and both orders. ``labels``: column titles per metric; ``percent``: metrics shown in %."""
        labels = labels or {}
        scale = {m: 100.0 if m in percent else 1.0 for m in self.metrics}
        unit = {m: " %" if m in percent else "" for m in self.metrics}
        digits = {m: 1 if m in percent else 3 for m in self.metrics}

        def cell(sim: str, row: str, m: str) -> str:
            if row not in self.values[sim]:
                return "—"
            mean, sd = self.mean_sd(sim, row, m)
            pm = f" ± {scale[m] * sd:.{digits[m]}f}" if len(self.values[sim][row]) > 1 else ""
            return f"{scale[m] * mean:.{digits[m]}f}{pm}{unit[m]}"

        head = ["method"]
        for m in self.metrics:
            head += [f"{labels.get(m, m)} litesim", f"{labels.get(m, m)} ns-3", "gap"]
        lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        for row in self.values["litesim_window"]:
            cells = [row]
            for m in self.metrics:
                gap = "—"
                if row in self.values["ns3"]:
                    g = (self.per_seed("ns3", row, m) - self.per_seed("litesim_window", row, m)).mean()
                    gap = f"{scale[m] * g:+.{digits[m]}f}{unit[m]}"
                cells += [cell("litesim_window", row, m), cell("ns3", row, m), gap]
            lines.append("| " + " | ".join(cells) + " |")
        if not self.values["ns3"]:
            return "\n".join([*lines, "", "ns-3 was not run."]) + "\n"
        tau = self.tau()
        if np.isfinite(tau):
            holds = "holds" if tau > 1.0 - 1e-9 else "does not hold fully"  # τ of identical orders can be 0.999…
        else:
            holds = "cannot be judged (fewer than 2 rows in ns-3, or all rewards tied)"

        lines += [
            "",
            f"Ranking by reward, litesim (ns-3 window): {' > '.join(r for r in self.order('litesim_window') if r in self.values['ns3'])}; "
            f"ns-3: {' > '.join(self.order('ns3'))}. Kendall τ = {tau:.2f}: the ranking {holds}.",
        ]
        for row, why in self.skipped.items():
            lines.append(f"Not run in ns-3: {row} ({why}).")
        return "\n".join(lines) + "\n"


def _summarise(results: list[Any], metrics: MetricsFn) -> dict[str, float]:
    steps = min(r.kpis.shape[0] for r in results)
    kpis = np.stack([r.kpis[:steps] for r in results])
    rewards = np.stack([r.rewards[:steps] for r in results])
    return {"reward": float(rewards.mean()), **metrics(kpis, rewards)}


def confirm_in_ns3(
    scenario: Scenario,
    rows: dict[str, Sequence[Any]],
    metrics: MetricsFn,
    *,
    litesim_episodes: int = 2,
    ns3_episodes: int = 1,
    ns3_steps: int = 20,
    seed: int = 1000,
    ns3_workers: int = 1,
    ns3: bool = True,
    litesim_only: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> Confirmation:
    """Evaluate every row in litesim and ns-3 on the same scenario and episode seeds.

    ``rows``: ``{name: [policy, ...]}``, one entry per seed of a trained method (a Policy) or a single
    baseline (a baseline name such as ``"equal"``, ``"random"``, or a factory ``core -> Policy`` such as
    :func:`~slicebridge.app.recipes.common.oracle_proportional`; a factory that refuses ns-3 with a
    ``ValueError`` is reported in ``skipped``). ``metrics`` maps the stacked KPI tensors and rewards of
    one policy's episodes to its metrics. ns-3 runs ``ns3_episodes`` × ``ns3_steps`` (fewer than
    litesim's full episodes; the table says so), ``ns3_workers`` ns-3 processes at a time (each a
    thread waiting on its own process). ``ns3=False`` skips ns-3 (for tests and litesim-only runs);
    ``litesim_only`` names rows kept out of ns-3 to save its time (listed under the table).
    """
    if ns3_steps < 1 or ns3_episodes < 1:
        raise ValueError(f"confirm_in_ns3: ns3_steps and ns3_episodes must be ≥ 1, got {ns3_steps} and {ns3_episodes}")
    window = scenario.with_updates(control={"episode_steps": min(ns3_steps, scenario.control.episode_steps)})
    values: dict[str, dict[str, list[dict[str, float]]]] = {s: {} for s in SIMULATORS}
    for name, policies in rows.items():
        values["litesim"][name] = [_summarise(greedy_episodes(scenario, p, litesim_episodes, seed), metrics) for p in policies]
        values["litesim_window"][name] = [_summarise(greedy_episodes(window, p, ns3_episodes, seed), metrics) for p in policies]
    skipped = {name: "kept to litesim to save ns-3 time" for name in litesim_only if name in rows and ns3}
    jobs = [(name, i, p) for name, policies in rows.items() if name not in skipped for i, p in enumerate(policies)] if ns3 else []

    def one(job: tuple[str, int, Any]) -> tuple[str, int, dict[str, float] | str]:
        name, i, policy = job
        t0 = time.perf_counter()
        try:
            out = _summarise(greedy_episodes(window, policy, ns3_episodes, seed, simulator="ns3"), metrics)
        except ValueError as exc:
            if hasattr(policy, "act") or not callable(policy):
                raise
            # a policy factory that refuses ns-3 (e.g. the oracle baseline: ns-3 cannot tell the coming demand)
            return name, i, str(exc).split(";")[0]
        log(f"[confirm] ns-3 {name} #{i + 1}: reward {out['reward']:.3f} ({time.perf_counter() - t0:.0f} s)")
        return name, i, out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, ns3_workers)) as pool:
        done = list(pool.map(one, jobs))
    wall = time.perf_counter() - t0
    for name, i, out in sorted(done, key=lambda d: (list(rows).index(d[0]), d[1])):
        if isinstance(out, str):
            skipped[name] = out
        else:
            values["ns3"].setdefault(name, []).append(out)
    ran = sum(1 for d in done if not isinstance(d[2], str))
    ctl = window.control
    sim_s = ran * ns3_episodes * (ctl.episode_steps * ctl.decision_period_ms + ctl.warmup_ms) / 1e3
    first = next((v[0] for v in values["litesim"].values() if v), {"reward": 0.0})
    return Confirmation(tuple(first), values, litesim_episodes, scenario.control.episode_steps, ns3_episodes, ctl.episode_steps,
                        seed, wall, sim_s, skipped)
