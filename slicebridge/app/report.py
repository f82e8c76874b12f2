"""The comparison report: Markdown plus PNG plots, written from ``bridge.compare.CompareData``."""

from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import kendalltau  # noqa: E402

from slicebridge.app.calibration import GAP_KPIS, GUARD_FACTOR, GUARD_POINTS, gap_table, policy_gaps  # noqa: E402
from slicebridge.app.slice_means import DELIVERY_WEIGHTED_KPIS, MEAN_NOTE, nan_median, per_slice_means  # noqa: E402
from slicebridge.bridge import kpi as K  # noqa: E402
from slicebridge.bridge.scenario import Scenario  # noqa: E402

SUMMARY_KPIS = ("offered_mbps", "throughput_mbps", "delay_mean_ms", "delay_p95_ms", "loss_ratio", "sla_ratio", "prb_used_share")


def policy_ranking(rewards: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    """Policies sorted by mean reward, best first."""
    return sorted(((p, float(np.mean(r))) for p, r in rewards.items()), key=lambda x: -x[1])


def rank_agreement(rewards_a: dict[str, np.ndarray], rewards_b: dict[str, np.ndarray]) -> float:
    """Kendall τ between the mean rewards of the policies both simulators ran (NaN if < 2)."""
    common = sorted(set(rewards_a) & set(rewards_b))
    if len(common) < 2:
        return float("nan")
    tau = kendalltau([np.mean(rewards_a[p]) for p in common], [np.mean(rewards_b[p]) for p in common]).statistic
    return float(tau) if tau is not None else float("nan")


def _separated(a: np.ndarray, b: np.ndarray) -> float:
    """Sign of mean(a − b) when a paired comparison separates two policies' rewards, else 0.

    ``a``, ``b``: rewards ``[E, T, C]`` of two policies on the same seeds. Samples are the
    per-(episode, cell) mean differences (same seed, same cell: paired); separated when their mean
    is more than 2 standard errors from 0.
    """
    diff = (np.asarray(a) - np.asarray(b)).mean(axis=1).ravel()
    if diff.size < 2:
        return 0.0
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    return float(np.sign(diff.mean())) if abs(diff.mean()) > 2.0 * se else 0.0


def distinguishable_pairs(rewards_a: dict[str, np.ndarray], rewards_b: dict[str, np.ndarray]) -> tuple[int, int, int]:
    """Policy pairs that both simulators separate (paired mean difference > 2 standard errors in each).

    Returns ``(agree, separated_in_both, pairs)``: among the pairs separated in both simulators, how
    many are ordered the same way. Near-ties are left out: their order is noise, not a disagreement.
    """
    common = sorted(set(rewards_a) & set(rewards_b))
    agree = both = 0
    for i, p in enumerate(common):
        for q in common[i + 1:]:
            sa, sb = _separated(rewards_a[p], rewards_a[q]), _separated(rewards_b[p], rewards_b[q])
            if sa != 0 and sb != 0:
                both += 1
                agree += int(sa == sb)
    n = len(common)
    return agree, both, n * (n - 1) // 2


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _fmt(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.3g}"


def pct(v: float, digits: int = 0) -> str:
    """A relative gap in per cent; "n/a" when there was nothing to compare (NaN: no deliveries)."""
    return "n/a" if not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def _labels(data) -> list[tuple[str, str]]:
    return [(sim, pol) for sim in data.traces for pol in data.traces[sim]]


def _plot_distributions(out: Path, scenario: Scenario, data, kpi: str, fname: str) -> str:
    labels = _labels(data)
    fig, axes = plt.subplots(1, scenario.n_slices, figsize=(4 * scenario.n_slices, 3.6), squeeze=False)
    idx = K.KPI_INDEX[kpi]
    for s, name in enumerate(scenario.slice_names):
        ax = axes[0, s]
        rows = [data.traces[sim][pol][..., s, :].reshape(-1, K.N_KPIS) for sim, pol in labels]
        if kpi in DELIVERY_WEIGHTED_KPIS:  # a period that delivered nothing has no delay (it reports 0)
            rows = [r[r[:, K.THROUGHPUT] > 0] for r in rows]
        values = [r[:, idx] for r in rows]
        ax.boxplot(values, showfliers=False)
        ax.set_xticks(range(1, len(labels) + 1), [f"{pol}\n{sim}" for sim, pol in labels], rotation=60, fontsize=7)
        ax.set_title(f"{name}: {kpi} [{K.KPI_UNITS[kpi]}]", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / fname, dpi=90)
    plt.close(fig)
    return fname


def _plot_sla(out: Path, scenario: Scenario, data) -> str:
    labels = _labels(data)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels) * scenario.n_slices / 2), 3.6))
    width = 0.8 / scenario.n_slices
    for s, name in enumerate(scenario.slice_names):
        vals = [data.traces[sim][pol][..., s, K.SLA_RATIO].mean() for sim, pol in labels]
        ax.bar(np.arange(len(labels)) + s * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, [f"{pol}\n{sim}" for sim, pol in labels], rotation=60, fontsize=7)
    ax.set_ylabel("SLA ratio")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "sla_ratio.png", dpi=90)
    plt.close(fig)
    return "sla_ratio.png"


def _plot_rewards(out: Path, data) -> str:
    sims = list(data.rewards)
    fig, axes = plt.subplots(1, len(sims), figsize=(5 * len(sims), 3.4), squeeze=False, sharey=True)
    for i, sim in enumerate(sims):
        ax = axes[0, i]
        for pol, r in data.rewards[sim].items():
            ax.plot(r.mean(axis=(0, 2)), label=pol)
        ax.set_title(sim)
        ax.set_xlabel("decision step")
        ax.set_ylabel("reward (mean over cells, episodes)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "reward_over_time.png", dpi=90)
    plt.close(fig)
    return "reward_over_time.png"


def _gap_section(scenario: Scenario, lite: dict[str, np.ndarray], ns3: dict[str, np.ndarray], title: str) -> tuple[str, float]:
    policies = sorted(set(lite) & set(ns3))
    gaps = policy_gaps({p: lite[p] for p in policies}, {p: ns3[p] for p in policies})  # [P, S, K]
    header = ["slice"] + [f"{k}" for k in GAP_KPIS]
    rows = []
    for s, name in enumerate(scenario.slice_names):
        rows.append([name] + [pct(nan_median(gaps[:, s, K.KPI_INDEX[k]]), 1) for k in GAP_KPIS])
    median_thr = float(np.median(gaps[:, :, K.THROUGHPUT]))
    text = (f"#### {title}\n\nRelative gap |litesim − ns-3| / |ns-3| of the per-slice means ({MEAN_NOTE}), median over "
            f"the policies {', '.join(policies)}. Median per-slice throughput gap: **{100 * median_thr:.1f}%**.\n\n"
            + _md_table(header, rows))
    return text, median_thr


def _per_policy_gaps(scenario: Scenario, lite: dict[str, np.ndarray], ns3: dict[str, np.ndarray]) -> str:
    """One table per policy: litesim value / ns-3 value (relative gap) per slice and KPI."""
    parts = []
    for policy in sorted(set(lite) & set(ns3)):
        l_means, n_means = per_slice_means(lite[policy]), per_slice_means(ns3[policy])
        gaps = gap_table(lite[policy], ns3[policy])
        rows = [[name] + [f"{_fmt(l_means[s, K.KPI_INDEX[k]])} / {_fmt(n_means[s, K.KPI_INDEX[k]])} "
                          f"({pct(gaps[s, K.KPI_INDEX[k]])})" for k in GAP_KPIS]
                for s, name in enumerate(scenario.slice_names)]
        parts.append(f"**{policy}** (litesim / ns-3 (gap))\n\n" + _md_table(["slice", *GAP_KPIS], rows))
    return "\n\n".join([f"Per-slice means: {MEAN_NOTE}."] + parts)


def held_out_section(cal: dict) -> str:
    """Markdown: median gaps per KPI before/after calibration on the fit set and the held-out set
    (``CalibrationResult.summary()``); empty when the summary has no split."""
    split = cal.get("split")
    if not split:
        return ""
    kpis = ("throughput_mbps", "prb_used_share", "delay_mean_ms", "delay_p95_ms", "sla_ratio", "objective")
    rows = [[label] + [pct(cal[key][k], 1) if k != "objective" else f"{cal[key][k]:.3f}" for k in kpis]
            for label, key in (("fit, before", "fit_before"), ("fit, after", "fit_after"),
                               ("held-out, before", "held_before"), ("held-out, after", "held_after")) if key in cal]
    seeds = "and episodes " + ", ".join(map(str, split["held_out_episodes"])) if split["seeds_held_out"] \
        else "(one episode: the same seed, held out by policy only)"
    text = (f"#### Held-out check\n\nFitted on policies {', '.join(split['fit_policies'])} and episodes "
            f"{', '.join(map(str, split['fit_episodes']))}; held out: policies {', '.join(split['held_out_policies']) or 'none'} "
            f"{seeds}. Median per-slice gap over the set's policies and slices:\n\n" + _md_table(["set", *kpis], rows))
    if cal.get("overfit_rejected"):
        because = cal.get("rejected", {}).get("because") or ["held-out objective worse"]
        text += (f"\n\n**The fit was rejected on the held-out set ({'; '.join(because)}); litesim stays uncalibrated.** "
                 f"(Rejected when the held-out objective gets worse, or when one slice's throughput, delay or SLA gap "
                 f"grows past {GUARD_FACTOR:g}× and {100 * GUARD_POINTS:.0f} points over uncalibrated litesim's to end over its bound.)")
    return text


def write_report(out: Path, scenario: Scenario, data) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [f"# slicebridge comparison: {scenario.name}", "",
             f"Generated {now} on {platform.node()} ({platform.machine()}, Python {platform.python_version()}). "
             f"{scenario.n_cells} cells, slices {', '.join(scenario.slice_names)}, "
             f"{scenario.control.episode_steps} steps of {scenario.control.decision_period_ms:g} ms per episode, "
             f"reward `{scenario.reward.name}`."]
    if data.train_seconds is not None:
        parts.append(f"Training in litesim took {data.train_seconds:.0f} s.")

    parts += ["", "## Per-slice KPIs", "", f"Means per slice over episodes, periods and cells: {MEAN_NOTE}.", ""]
    header = ["simulator", "policy", "reward", "slice"] + [f"{k} [{K.KPI_UNITS[k]}]" for k in SUMMARY_KPIS]
    rows = []
    for sim, pol in _labels(data):
        means = per_slice_means(data.traces[sim][pol])
        reward = float(np.mean(data.rewards[sim][pol]))
        for s, name in enumerate(scenario.slice_names):
            rows.append([sim, pol, _fmt(reward), name] + [_fmt(means[s, K.KPI_INDEX[k]]) for k in SUMMARY_KPIS])
    parts.append(_md_table(header, rows))

    parts += ["", "## Plots", ""]
    for fname, caption in (
        (_plot_distributions(out, scenario, data, "throughput_mbps", "throughput.png"), "Per-slice throughput per decision period"),
        (_plot_distributions(out, scenario, data, "delay_mean_ms", "delay.png"), "Per-slice mean delay per decision period (periods that delivered something)"),
        (_plot_sla(out, scenario, data), "SLA ratio per slice"),
        (_plot_rewards(out, data), "Reward over time"),
    ):
        parts.append(f"![{caption}]({fname})\n")

    parts += ["## Policy ranking", ""]
    rankings = dict(data.rewards)
    if data.calibrated_rewards:
        rankings["litesim (calibrated)"] = data.calibrated_rewards
    for sim, rewards in rankings.items():
        ranking = policy_ranking(rewards)
        parts.append(f"- **{sim}**: " + " > ".join(f"{p} ({r:.3f})" for p, r in ranking))
    if "ns3" in rankings:
        for sim in (k for k in rankings if k.startswith("litesim")):
            tau = rank_agreement(rankings[sim], rankings["ns3"])
            same = [p for p, _ in policy_ranking(rankings[sim])] == [p for p, _ in policy_ranking(rankings["ns3"])]
            agree, both, pairs = distinguishable_pairs(rankings[sim], rankings["ns3"])
            parts.append(f"- Kendall τ between the {sim} and ns3 rankings: **{_fmt(tau)}** "
                         f"({'identical order' if same else 'orders differ'}); of the {pairs} policy pairs, "
                         f"{both} are separated in both simulators (paired mean reward difference over episode × cell "
                         f"samples > 2 standard errors) and **{agree} of those {both}** are ordered alike.")

    if {"litesim", "ns3"} <= set(data.traces):
        base = list(data.baselines) or sorted(data.traces["ns3"])
        pick = lambda traces: {p: traces[p] for p in base if p in traces}  # noqa: E731
        parts += ["", "## litesim vs ns-3", ""]
        text, _ = _gap_section(scenario, pick(data.traces["litesim"]), pick(data.traces["ns3"]), "Before calibration (baselines)")
        parts += [text, "", "#### Per baseline, before calibration", "",
                  _per_policy_gaps(scenario, pick(data.traces["litesim"]), pick(data.traces["ns3"]))]
        if data.calibrated:
            text, _ = _gap_section(scenario, pick(data.calibrated), pick(data.traces["ns3"]), "After calibration (baselines)")
            cal = data.calibration
            parts += ["", text, "",
                      f"Fitted: scheduler_efficiency {cal['scheduler_efficiency']:.3g}, se_scale "
                      f"{', '.join(f'{v:.3g}' for v in cal['se_scale'])}, slice_efficiency "
                      f"{', '.join(f'{v:.3g}' for v in cal['slice_efficiency'])}, base_delay_ms {cal['base_delay_ms']:.3g}, "
                      f"slice_delay_ms {', '.join(f'{v:.3g}' for v in cal.get('slice_delay_ms', []))} "
                      "(see calibration.json and calibrated_scenario.json)."]
            parts += ["", held_out_section(cal)]
    path = out / "report.md"
    path.write_text("\n".join(parts) + "\n")
    return path
