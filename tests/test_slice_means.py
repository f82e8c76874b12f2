# SPDX-License-Identifier: GPL-2.0-only
"""The per-slice means behind every litesim-vs-ns-3 gap (issue 10): delays over delivered bytes, a
period that delivered nothing left out, a slice that delivered nothing NaN (not 0 ms)."""

import numpy as np
import pytest

from slicebridge.app.calibration import gap_table, median_gaps, objective, policy_gaps
from slicebridge.app.slice_means import nan_median, per_slice_means
from slicebridge.app.summary import summarise_arrays
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import load_scenario


def _trace(rows: list[tuple[float, float, float]], slices: int = 1) -> np.ndarray:
    """(throughput Mbit/s, mean delay ms, p95 ms) per period → traces ``[E=1, T, C=1, S, K]``, every
    slice alike; SLA ratio 1 in every period."""
    out = np.zeros((1, len(rows), 1, slices, K.N_KPIS))
    for t, (thr, mean, p95) in enumerate(rows):
        out[0, t, 0, :, K.THROUGHPUT], out[0, t, 0, :, K.DELAY_MEAN], out[0, t, 0, :, K.DELAY_P95] = thr, mean, p95
        out[0, t, 0, :, K.SLA_RATIO] = 1.0
    return out


def test_delays_are_means_over_delivered_bytes():
    # hand-computed: (1 × 10 + 3 × 20) / 4 = 17.5 ms; p95 (1 × 30 + 3 × 40) / 4 = 37.5 ms; the two
    # empty periods (0 Mbit/s, reported 0 ms) do not count; a plain mean over periods gives 7.5 ms
    trace = _trace([(1.0, 10.0, 30.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (3.0, 20.0, 40.0)])
    means = per_slice_means(trace)
    assert means[0, K.DELAY_MEAN] == pytest.approx(17.5) and means[0, K.DELAY_P95] == pytest.approx(37.5)
    assert means[0, K.THROUGHPUT] == pytest.approx(1.0)  # throughput: a plain mean, empty periods carried 0
    assert means[0, K.SLA_RATIO] == pytest.approx(1.0)


def test_empty_periods_do_not_make_a_gap():
    """ns-3 delivers in half the periods, litesim in all, every delivered packet 10 ms late in both:
    the delays agree. The old mean over periods (empty = 0 ms) made that a 100 % gap."""
    ns3 = _trace([(2.0, 10.0, 12.0), (0.0, 0.0, 0.0), (2.0, 10.0, 12.0), (0.0, 0.0, 0.0)])
    lite = _trace([(1.0, 10.0, 12.0)] * 4)
    gaps = gap_table(lite, ns3)
    assert gaps[0, K.DELAY_MEAN] == pytest.approx(0.0) and gaps[0, K.DELAY_P95] == pytest.approx(0.0)
    assert gaps[0, K.THROUGHPUT] == pytest.approx(0.0)
    old_lite, old_ns3 = (t.reshape(-1, K.N_KPIS).mean(axis=0)[K.DELAY_MEAN] for t in (lite, ns3))  # the old mean
    assert abs(old_lite - old_ns3) / old_ns3 == pytest.approx(1.0)


def test_a_slice_that_delivered_nothing_has_no_delay_to_compare():
    lite = _trace([(1.0, 5.0, 8.0)] * 3, slices=2)
    ns3 = _trace([(1.0, 6.0, 8.0)] * 3, slices=2)
    ns3[..., 1, :] = 0.0  # slice 1 delivered nothing in ns-3
    ns3[..., 1, K.SLA_RATIO] = 1.0
    means = per_slice_means(ns3)
    assert np.isnan(means[1, K.DELAY_MEAN]) and np.isnan(means[1, K.DELAY_P95]) and np.isnan(means[1, K.COMPUTE_DELAY])
    assert means[1, K.THROUGHPUT] == 0.0 and means[1, K.SLA_RATIO] == 1.0
    table = policy_gaps({"equal": lite}, {"equal": ns3})  # [1, 2, K]
    assert np.isnan(table[0, 1, K.DELAY_MEAN]) and table[0, 1, K.THROUGHPUT] == pytest.approx(1.0)
    med = median_gaps(table)
    # the NaN is left out of the median (slice 0 alone: 1/6), not counted as a 0 % or a 100 % gap
    assert med["delay_mean_ms"] == pytest.approx(1.0 / 6.0) and med["delay_p95_ms"] == pytest.approx(0.0)
    nothing = median_gaps(np.full((1, 2, K.N_KPIS), np.nan))
    assert np.isnan(nothing["delay_mean_ms"]) and objective(nothing) == 0.0
    assert np.isnan(nan_median([np.nan, np.nan]))


def test_the_printed_summary_uses_the_same_means():
    scenario = load_scenario("tiny")
    trace = _trace([(1.0, 10.0, 30.0), (0.0, 0.0, 0.0), (3.0, 20.0, 40.0)], slices=scenario.n_slices)
    summary = summarise_arrays(trace, np.zeros((1, 3, 1)), scenario)
    assert summary["slices"][scenario.slice_names[0]]["delay_mean_ms"] == pytest.approx(17.5)


def test_report_and_matrix_say_which_mean_and_show_no_delay_as_na(tmp_path):
    from slicebridge.app.compare import CompareData
    from slicebridge.app.fidelity import ScenarioFidelity, write_matrix
    from slicebridge.app.report import write_report

    scenario = load_scenario("tiny")
    lite = _trace([(1.0, 5.0, 8.0)] * 3, slices=2)
    ns3 = lite.copy()
    ns3[..., 1, :] = 0.0  # ns-3's slice 1 delivered nothing: no delay to compare
    data = CompareData(traces={"litesim": {"equal": lite}, "ns3": {"equal": ns3}},
                       rewards={"litesim": {"equal": np.zeros((1, 3, 1))}, "ns3": {"equal": np.zeros((1, 3, 1))}},
                       baselines=("equal",))
    report = write_report(tmp_path / "report", scenario, data).read_text()
    assert "means over delivered bytes" in report and "5 / nan (n/a)" in report
    assert f"| {scenario.slice_names[1]} | 100.0% | n/a | n/a |" in report

    gaps = np.zeros((2, K.N_KPIS))
    gaps[1, K.DELAY_MEAN] = np.nan
    means = {k: np.ones((2, K.N_KPIS)) for k in ("lite_before", "lite_after", "ns3")}
    result = ScenarioFidelity("one", ("a", "b"), 3, 3, 1, gaps, gaps, 1.0, 1.0, {}, {},
                              {"overfit_rejected": True, "rejected": {"because": ["a delay_p95_ms 8% → 246%"]}}, means)
    text = write_matrix([result], tmp_path).read_text()
    assert "| one | b | 0 → 0% | n/a → n/a |" in text and "means over delivered bytes" in text
    assert "(fit rejected: a delay_p95_ms 8% → 246%)" in text and result.violations() == []
