# SPDX-License-Identifier: GPL-2.0-only
"""``slicebridge fidelity``: litesim against ns-3 over a set of scenarios, before and after calibration.

For each scenario the baselines (and the random policy) run in both simulators through the
evaluation code of ``app.evaluate``; litesim is calibrated with ``app.compare.calibrate_compare_data``
(fit on some policies and seeds, checked on the others). The result is a matrix, one row per
(scenario, slice, KPI): the relative gap |litesim − ns-3| / |ns-3| of the per-slice means
(``app.slice_means``: delays over delivered bytes), median over the baselines, before and after calibration; per scenario the Kendall τ of the policy rankings
and the per-policy reward gaps. Written as it goes into ``out_dir``:

- ``<scenario>/traces.csv`` (every episode as it finishes) and ``<scenario>/traces.npz`` (the ns-3
  traces: a re-run with the same scenario, policies and seeds skips ns-3, re-runs litesim and
  re-does the calibration); ``<scenario>/litesim.npz``: litesim's traces before and after calibration
  (``before|after/<policy>/kpis`` ``[E, T, C, S, K]`` and ``/rewards``), to read a cell's cause per policy;
- ``matrix.csv`` and ``scenarios.json`` (re-written after every scenario);
- ``matrix.md`` (tables, bounds check) and ``fidelity_heatmap.png`` (scenario × slice rows, KPI
  columns, before and after calibration).

ns-3 runs large scenarios at ~0.01 simulated seconds per wall-clock second on a loaded 2-core
machine, so a scenario with more than ``large_ues`` UEs in all is cut to ``large_steps`` decision
periods and ``large_episodes`` episodes (the output says which were cut). ``warmup_ms`` overrides every
scenario's warm-up (both simulators), e.g. to let hundreds of UEs attach in ns-3 before the measured
window. Matrices of several runs (each with its own window) are merged by :func:`combine`
(``slicebridge fidelity --combine DIR ...``).
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from slicebridge.app.calibration import DELAY_SLA_BOUND, GAP_KPIS, GUARD_KPIS, THROUGHPUT_BOUND, policy_gaps  # noqa: E402
from slicebridge.app.compare import BASELINE_NAMES, CompareData, calibrate_compare_data  # noqa: E402
from slicebridge.app.evaluate import episode_jobs, run_jobs  # noqa: E402
from slicebridge.app.report import held_out_section, pct, rank_agreement  # noqa: E402
from slicebridge.app.slice_means import MEAN_NOTE, nan_median, per_slice_means  # noqa: E402
from slicebridge.bridge import kpi as K  # noqa: E402
from slicebridge.bridge.scenario import Scenario, load_scenario  # noqa: E402

MATRIX_KPIS = GUARD_KPIS  # the bounds are on these (and calibration's slice guard)
MATRIX_COLUMNS = ("scenario", "slice", "kpi", "gap_before", "gap_after", "lite_before", "lite_after", "ns3")


@dataclass
class FidelityConfig:
    scenarios: Sequence[str]  # names of shipped scenarios or YAML paths
    out_dir: Path
    episodes: int = 2  # per policy and simulator, seeds seed, seed+1, …
    seed: int | None = None  # None: each scenario's own seed
    baselines: tuple[str, ...] = BASELINE_NAMES
    include_random: bool = True
    large_ues: int = 100  # a scenario with more UEs than this (cells × UEs per cell) is "large" ...
    large_steps: int = 3  # ... and runs this many decision periods
    large_episodes: int = 1  # ... in this many episodes
    ns3_step_timeout_s: float = 900.0  # a large scenario's ns-3 step can take minutes on a loaded machine
    warmup_ms: float | None = None  # None: each scenario's own control.warmup_ms
    log: object = print


@dataclass
class ScenarioFidelity:
    """One scenario's outcome; ``gaps_before/after`` are ``[S, K]`` (every KPI of ``bridge.kpi``) medians over the baselines."""

    name: str
    slices: tuple[str, ...]
    steps: int
    full_steps: int
    episodes: int
    gaps_before: np.ndarray
    gaps_after: np.ndarray
    tau_before: float
    tau_after: float
    reward_gap_before: dict[str, float]
    reward_gap_after: dict[str, float]
    calibration: dict
    means: dict = field(default_factory=dict)  # "lite_before"/"lite_after"/"ns3" → [S, K] medians over baselines
    seconds: float = 0.0
    warmup_ms: float | None = None  # the warm-up when FidelityConfig.warmup_ms overrode the scenario's

    @property
    def shortened(self) -> bool:
        return self.steps < self.full_steps

    def violations(self) -> list[str]:
        """Cells over the bounds after calibration: the median throughput gap over slices ≤ 5 %, each
        slice's delay / SLA gap ≤ 25 %."""
        out = []
        thr = float(np.median(self.gaps_after[:, K.THROUGHPUT]))
        if thr > THROUGHPUT_BOUND:
            out.append(f"median throughput gap {100 * thr:.1f}%")
        for s, name in enumerate(self.slices):
            for kpi in ("delay_mean_ms", "delay_p95_ms", "sla_ratio"):
                g = float(self.gaps_after[s, K.KPI_INDEX[kpi]])
                if g > DELAY_SLA_BOUND:
                    out.append(f"{name} {kpi} {100 * g:.0f}%")
        return out

    def to_json(self) -> dict:
        """Everything :meth:`from_json` needs (``*_all``: the ``[S, K]`` arrays over every KPI of
        ``bridge.kpi``) plus readable per-KPI gaps and the violations."""
        return {"name": self.name, "slices": list(self.slices), "steps": self.steps, "full_steps": self.full_steps,
                "episodes": self.episodes, "tau_before": self.tau_before, "tau_after": self.tau_after,
                "gaps_before": {k: self.gaps_before[:, K.KPI_INDEX[k]].tolist() for k in GAP_KPIS},
                "gaps_after": {k: self.gaps_after[:, K.KPI_INDEX[k]].tolist() for k in GAP_KPIS},
                "gaps_before_all": self.gaps_before.tolist(), "gaps_after_all": self.gaps_after.tolist(),
                "means_all": {label: np.asarray(m).tolist() for label, m in self.means.items()},
                "reward_gap_before": self.reward_gap_before, "reward_gap_after": self.reward_gap_after,
                "violations": self.violations(), "calibration": self.calibration, "seconds": self.seconds,
                "warmup_ms": self.warmup_ms}

    @classmethod
    def from_json(cls, d: dict) -> "ScenarioFidelity":
        """The result :meth:`to_json` wrote (a ``scenarios.json`` entry)."""
        if "gaps_before_all" not in d:
            raise ValueError(f"fidelity result {d.get('name')!r} was written before scenarios.json kept the whole "
                             "gap and mean arrays; re-run that scenario (its ns-3 traces are cached) to combine it")
        return cls(d["name"], tuple(d["slices"]), d["steps"], d["full_steps"], d["episodes"],
                   np.asarray(d["gaps_before_all"]), np.asarray(d["gaps_after_all"]), d["tau_before"], d["tau_after"],
                   d["reward_gap_before"], d["reward_gap_after"], d["calibration"],
                   {label: np.asarray(m) for label, m in d["means_all"].items()}, d.get("seconds", 0.0),
                   d.get("warmup_ms"))


def _log(config: FidelityConfig, msg: str) -> None:
    config.log(f"[fidelity] {msg}")


def sized(scenario: Scenario, config: FidelityConfig) -> tuple[Scenario, int]:
    """The scenario as run (large ones cut to ``large_steps`` periods, the warm-up overridden by
    ``config.warmup_ms``) and its episode count."""
    if config.warmup_ms is not None:
        scenario = scenario.with_updates(control={"warmup_ms": config.warmup_ms})
    if scenario.n_cells * scenario.ues_per_cell > config.large_ues and scenario.control.episode_steps > config.large_steps:
        return scenario.with_updates(control={"episode_steps": config.large_steps}), min(config.episodes, config.large_episodes)
    return scenario, config.episodes


def _reward_gaps(lite: dict[str, np.ndarray], ns3: dict[str, np.ndarray]) -> dict[str, float]:
    """Per policy |mean reward litesim − ns-3| / |mean reward ns-3|."""
    return {p: float(abs(np.mean(lite[p]) - np.mean(ns3[p])) / max(abs(float(np.mean(ns3[p]))), 1e-9))
            for p in sorted(set(lite) & set(ns3))}


def _ns3_key(scenario: Scenario, names: list[str], episodes: int, seed: int) -> dict:
    """What the ns-3 traces depend on: the scenario without litesim's free parameters, policies, seeds."""
    dump = scenario.model_dump(mode="json")
    dump.pop("litesim", None)
    return {"scenario": dump, "policies": names, "episodes": episodes, "seed": seed}


def _stored_key(stored) -> dict:
    """The key a cache was written with, its scenario read through today's schema: a field added to
    the schema since then takes its default (which reproduces what ns-3 did before the field
    existed), so only a real change of the scenario, policies or seeds invalidates the traces. A
    stored scenario today's schema refuses gives a key that matches nothing."""
    key = json.loads(str(stored["key"]))
    key["scenario"].pop("litesim", None)  # files written before the key left litesim out
    try:
        current = Scenario.model_validate(key["scenario"]).model_dump(mode="json")
    except ValueError:
        return key
    current.pop("litesim", None)
    return {**key, "scenario": current}


def _simulate(scenario: Scenario, names: list[str], episodes: int, seed: int, out: Path, config: FidelityConfig) -> CompareData:
    """Both simulators × policies, traces appended to ``out/traces.csv``. The ns-3 traces are cached in
    ``out/traces.npz`` (litesim is always re-run: it is quick, and its parameters may have changed)."""
    cache = out / "traces.npz"
    key = json.loads(json.dumps(_ns3_key(scenario, names, episodes, seed)))  # as stored: JSON types
    data = CompareData(baselines=tuple(n for n in names if n != "random"))
    sims = ["litesim", "ns3"]  # litesim first: quick, and its traces are on disk before ns-3 starts
    if cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if _stored_key(stored) == key:
            _log(config, f"{scenario.name}: ns-3 simulations cached in {cache}")
            data.traces["ns3"] = {n: stored[f"ns3/{n}/kpis"] for n in names}
            data.rewards["ns3"] = {n: stored[f"ns3/{n}/rewards"] for n in names}
            sims = ["litesim"]
    csv_path = out / "traces.csv"
    if "ns3" in sims:
        csv_path.unlink(missing_ok=True)
    for sim in sims:
        for name in names:
            t0 = time.perf_counter()
            kwargs = {"timeout_s": config.ns3_step_timeout_s} if sim == "ns3" else {}
            results = run_jobs([episode_jobs(scenario, name, sim, episodes, seed, **kwargs)],
                               out_csv=csv_path if "ns3" in sims else None)[0]
            steps = min(r.kpis.shape[0] for r in results)
            data.traces.setdefault(sim, {})[name] = np.stack([r.kpis[:steps] for r in results])
            data.rewards.setdefault(sim, {})[name] = np.stack([r.rewards[:steps] for r in results])
            _log(config, f"{scenario.name}: {name} in {sim}, {episodes} episode(s): {time.perf_counter() - t0:.0f} s")
    if "ns3" in sims:
        arrays = {f"ns3/{n}/{part}": getattr(data, attr)["ns3"][n] for n in names
                  for part, attr in (("kpis", "traces"), ("rewards", "rewards"))}
        np.savez_compressed(cache, key=np.array(json.dumps(key, sort_keys=True)), **arrays)
    return data


def run_scenario(spec: str, config: FidelityConfig) -> ScenarioFidelity:
    """Simulate, calibrate and measure one scenario; its files go to ``out_dir/<name>/``."""
    t0 = time.perf_counter()
    full = load_scenario(spec)
    scenario, episodes = sized(full, config)
    seed = scenario.seed if config.seed is None else config.seed
    out = config.out_dir / scenario.name
    out.mkdir(parents=True, exist_ok=True)
    cut = (f" (SHORT WINDOW: {scenario.control.episode_steps} of {full.control.episode_steps} periods, "
           f"{episodes} episode(s): ns-3 is slow on {full.n_cells * full.ues_per_cell} UEs)"
           if scenario.control.episode_steps < full.control.episode_steps else "")
    _log(config, f"{scenario.name}: {episodes} episode(s) × {scenario.control.episode_steps} periods of "
                 f"{scenario.control.decision_period_ms:g} ms after a {scenario.control.warmup_ms:g} ms warm-up "
                 f"per policy and simulator{cut}")
    names = list(config.baselines)
    if any(sl.initial_share is not None for sl in scenario.slices) and "static" not in names:
        names.append("static")  # as in compare: configured shares are a baseline of their own
    if config.include_random:
        names.append("random")
    data = _simulate(scenario, names, episodes, seed, out, config)
    _log(config, f"{scenario.name}: calibrating")
    calibrate_compare_data(scenario, data, seed)
    (out / "calibration.json").write_text(json.dumps(data.calibration, indent=1))
    np.savez_compressed(out / "litesim.npz", **{
        f"{label}/{p}/{part}": arrays[p] for label, traces, rewards in
        (("before", data.traces["litesim"], data.rewards["litesim"]), ("after", data.calibrated, data.calibrated_rewards))
        for part, arrays in (("kpis", traces), ("rewards", rewards)) for p in arrays})
    base = list(data.baselines)
    lite, ns3, cal = data.traces["litesim"], data.traces["ns3"], data.calibrated
    ns3_base = {p: ns3[p] for p in base}
    gaps_before, gaps_after = (nan_median(policy_gaps(tr, ns3_base), axis=0) for tr in (lite, cal))
    means = {label: nan_median(np.stack([per_slice_means(tr[p]) for p in base]), axis=0)
             for label, tr in (("lite_before", lite), ("lite_after", cal), ("ns3", ns3))}
    result = ScenarioFidelity(
        scenario.name, scenario.slice_names, scenario.control.episode_steps, full.control.episode_steps, episodes,
        gaps_before, gaps_after, rank_agreement(data.rewards["litesim"], data.rewards["ns3"]),
        rank_agreement(data.calibrated_rewards, data.rewards["ns3"]),
        _reward_gaps(data.rewards["litesim"], data.rewards["ns3"]), _reward_gaps(data.calibrated_rewards, data.rewards["ns3"]),
        data.calibration, means, time.perf_counter() - t0, config.warmup_ms)
    bad = result.violations()
    _log(config, f"{scenario.name}: done in {result.seconds:.0f} s; Kendall τ {result.tau_before:.2f} → {result.tau_after:.2f}; "
                 + ("within the bounds" if not bad else "over the bounds: " + "; ".join(bad)))
    return result


def write_matrix(results: list[ScenarioFidelity], out: Path, command: str = "") -> Path:
    """``matrix.csv``, ``scenarios.json``, ``matrix.md`` and ``fidelity_heatmap.png`` from the results so far."""
    with (out / "matrix.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MATRIX_COLUMNS)
        for r in results:
            for s, sl in enumerate(r.slices):
                for k in GAP_KPIS:
                    j = K.KPI_INDEX[k]
                    w.writerow([r.name, sl, k, f"{r.gaps_before[s, j]:.4g}", f"{r.gaps_after[s, j]:.4g}",
                                f"{r.means['lite_before'][s, j]:.4g}", f"{r.means['lite_after'][s, j]:.4g}",
                                f"{r.means['ns3'][s, j]:.4g}"])
    (out / "scenarios.json").write_text(json.dumps([r.to_json() for r in results], indent=1))
    plot_heatmap(results, out / "fidelity_heatmap.png")
    (out / "matrix.md").write_text(matrix_markdown(results, command))
    return out / "matrix.md"


def matrix_markdown(results: list[ScenarioFidelity], command: str = "") -> str:
    """The matrix as Markdown: per scenario and slice the gaps before → after, τ, reward gaps, bounds."""
    header = "| scenario | slice | " + " | ".join(MATRIX_KPIS) + " |"
    lines = ([f"Command: `{command}`", ""] if command else []) + [
        ("Relative gap |litesim − ns-3| / |ns-3| of per-slice means, median over the baselines, before → after "
         f"calibration. Per-slice means: {MEAN_NOTE}."),
        "", header, "|" + "---|" * (2 + len(MATRIX_KPIS))]
    for r in results:
        for s, sl in enumerate(r.slices):
            cells = [f"{pct(r.gaps_before[s, K.KPI_INDEX[k]])} → {pct(r.gaps_after[s, K.KPI_INDEX[k]])}".replace("% →", " →")
                     for k in MATRIX_KPIS]
            lines.append(f"| {r.name} | {sl} | " + " | ".join(cells) + " |")
    lines += ["", "| scenario | periods × episodes | Kendall τ before → after | max reward gap before → after | held-out objective before → after | bounds after calibration |",
              "|---|---|---|---|---|---|"]
    for r in results:
        window = (f"{r.steps} × {r.episodes}" + (f" (cut from {r.full_steps})" if r.shortened else "")
                  + (f", warm-up {r.warmup_ms:g} ms" if r.warmup_ms is not None else ""))
        held = r.calibration.get("held_before"), r.calibration.get("held_after")
        held_txt = f"{held[0]['objective']:.3f} → {held[1]['objective']:.3f}" if held[0] and held[1] else "n/a"
        rg = (max(r.reward_gap_before.values(), default=0.0), max(r.reward_gap_after.values(), default=0.0))
        bad = r.violations()
        lines.append(f"| {r.name} | {window} | {r.tau_before:.2f} → {r.tau_after:.2f} | {100 * rg[0]:.0f} → {100 * rg[1]:.0f}% "
                     f"| {held_txt}{_rejected(r.calibration)} "
                     f"| {'met' if not bad else 'over: ' + '; '.join(bad)} |")
    for r in results:
        section = held_out_section(r.calibration)
        if section:
            lines += ["", f"##### {r.name}", "", section.replace("#### Held-out check\n\n", "")]
    return "\n".join(lines) + "\n"


def _rejected(cal: dict) -> str:
    """" (fit rejected: why)" for a fit the held-out check rejected, else ""."""
    if not cal.get("overfit_rejected"):
        return ""
    return f" (fit rejected: {'; '.join(cal.get('rejected', {}).get('because') or ['held-out objective worse'])})"


def plot_heatmap(results: list[ScenarioFidelity], path: Path) -> None:
    """Rows scenario/slice, columns KPI; left before, right after calibration; colour = gap (capped at 100 %)."""
    rows = [(r, s) for r in results for s in range(len(r.slices))]
    if not rows:
        return
    cols = [K.KPI_INDEX[k] for k in MATRIX_KPIS]
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.32 * len(rows) + 1.6), sharey=True)
    for ax, attr, title in zip(axes, ("gaps_before", "gaps_after"), ("before calibration", "after calibration")):
        m = np.array([[getattr(r, attr)[s, c] for c in cols] for r, s in rows]) * 100
        im = ax.imshow(np.minimum(m, 100), cmap="RdYlGn_r", vmin=0, vmax=100, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, "n/a" if np.isnan(m[i, j]) else f"{m[i, j]:.0f}", ha="center", va="center", fontsize=6)
        ax.set_xticks(range(len(cols)), [k.replace("_", "\n") for k in MATRIX_KPIS], fontsize=7)
        ax.set_title(title, fontsize=9)
    axes[0].set_yticks(range(len(rows)), [f"{r.name}/{r.slices[s]}" for r, s in rows], fontsize=6)
    fig.colorbar(im, ax=axes, shrink=0.8, label="gap [%] (capped at 100)")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def run_fidelity(config: FidelityConfig, command: str = "") -> list[ScenarioFidelity]:
    """Every scenario in turn; the matrix files are re-written after each one. A scenario that fails
    is reported and skipped (the others still run)."""
    config.out_dir.mkdir(parents=True, exist_ok=True)
    results: list[ScenarioFidelity] = []
    for i, spec in enumerate(config.scenarios):
        _log(config, f"scenario {i + 1}/{len(config.scenarios)}: {spec}")
        try:
            results.append(run_scenario(spec, config))
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not lose the others' matrix
            _log(config, f"{spec}: FAILED ({type(exc).__name__}: {exc}); skipped")
            continue
        write_matrix(results, config.out_dir, command)
        _log(config, f"matrix so far: {config.out_dir / 'matrix.md'}")
    return results


def combine(dirs: Sequence[Path], out: Path, command: str = "") -> list[ScenarioFidelity]:
    """One matrix from several fidelity runs (each ``DIR/scenarios.json``; e.g. small scenarios on
    their whole episode and large ones on a short window, run as separate commands). A scenario in
    several runs is taken from the last. Writes the matrix files into ``out``."""
    by_name: dict[str, ScenarioFidelity] = {}
    for d in dirs:
        path = Path(d) / "scenarios.json"
        if not path.exists():
            raise FileNotFoundError(f"fidelity --combine: {path} missing (not the --out of a fidelity run?)")
        for entry in json.loads(path.read_text()):
            by_name[entry["name"]] = ScenarioFidelity.from_json(entry)
    out.mkdir(parents=True, exist_ok=True)
    results = list(by_name.values())
    write_matrix(results, out, command)
    return results
