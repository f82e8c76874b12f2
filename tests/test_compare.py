"""The main job: calibration math, and the whole compare pipeline on tiny.yaml with real ns-3."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from slicebridge.bridge import kpi as K
from slicebridge.bridge.scenario import Scenario, load_scenario

from slicebridge.app.calibration import Split, calibrate, relative_gap
from slicebridge.app.cli import main
from slicebridge.app.evaluate import evaluate
from slicebridge.app.report import rank_agreement


def test_relative_gap():
    assert relative_gap(np.array([1.1, 0.0, 0.5]), np.array([1.0, 0.0, 0.0])) == pytest.approx([0.1, 0.0, 0.5])


def test_rank_agreement():
    a = {"x": np.array([3.0]), "y": np.array([2.0]), "z": np.array([1.0])}
    assert rank_agreement(a, a) == pytest.approx(1.0)
    assert rank_agreement(a, {"x": np.array([1.0]), "y": np.array([2.0]), "z": np.array([3.0])}) == pytest.approx(-1.0)


def _lite(scenario, policy, episodes=1):
    return np.stack([r.kpis for r in evaluate(scenario, policy, "litesim", episodes, seed=3)])


def test_calibration_recovers_a_known_litesim_truth():
    """Traces from litesim with other free parameters stand in for ns-3: the fit must close the gap."""
    data = load_scenario("default").model_dump(mode="json")
    data["slices"][0]["traffic"]["rate_mbps"] = 3.0  # saturate eMBB: throughput then depends on capacity
    data["control"]["episode_steps"] = 20
    base = Scenario.from_dict(data)
    truth = base.with_updates(litesim={"scheduler_efficiency": 0.5, "se_scale": [1.4, 1.1, 0.9]})
    policies = ("equal", "proportional")
    target = {p: _lite(truth, p) for p in policies}
    result = calibrate(base, target, lambda s, p, eps: _lite(s, p)[list(eps)],
                       split=Split(policies, (0,), (), (0,)))  # both policies fitted, nothing held out
    assert result.gap_before > 0.05
    assert result.gap_after < 0.5 * result.gap_before
    fitted = result.params
    assert fitted["se_scale"][0] == pytest.approx(1.4, rel=0.1)
    effective = np.array(fitted["slice_efficiency"]) * fitted["scheduler_efficiency"]
    assert effective[0] == pytest.approx(0.5, rel=0.2)  # the saturated slice pins the efficiency


@pytest.mark.ns3
def test_compare_pipeline_on_tiny(tmp_path, ns3_binary, capsys):
    out = tmp_path / "report"
    code = main(["compare", "tiny", "--budget", "256", "--episodes", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    for title in ("equal in litesim", "proportional in ns3", "greedy_sla in ns3", "random in litesim"):
        assert f"== {title}: mean reward" in printed  # per-slice KPI tables on stdout
    report = (out / "report.md").read_text()
    config = json.loads((out / "config.json").read_text())
    assert config["simulators"] == ["litesim", "ns3"]
    policies = ["ppo-federated-fedavg", "equal", "proportional", "greedy_sla", "random"]
    rows = [line for line in report.splitlines() if line.startswith("| litesim") or line.startswith("| ns3")]
    for sim in ("litesim", "ns3"):
        for pol in policies:
            mine = [r for r in rows if r.startswith(f"| {sim} | {pol} |")]
            assert len(mine) == 2, (sim, pol)  # one row per slice
            numbers = [float(x) for r in mine for x in r.strip("|").split("|")[2:] if re.match(r"^\s*[-0-9.e+]+\s*$", x)]
            assert numbers and all(np.isfinite(numbers))
    for header in ("offered_mbps", "throughput_mbps", "delay_mean_ms", "delay_p95_ms", "loss_ratio", "sla_ratio", "prb_used_share"):
        assert header in report
    assert "Kendall τ between the litesim and ns3" in report and "litesim (calibrated)" in report
    assert "Before calibration (baselines)" in report and "After calibration (baselines)" in report
    for png in ("throughput.png", "delay.png", "sla_ratio.png", "reward_over_time.png"):
        assert (out / png).stat().st_size > 1000
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["fit_after"]["objective"] <= cal["fit_before"]["objective"] + 1e-12  # never worse than uncalibrated
    assert set(cal["split"]["held_out_policies"]).isdisjoint(cal["split"]["fit_policies"])
    assert "Held-out check" in report
    traces = (out / "traces.csv").read_text().splitlines()
    assert len(traces) == 1 + 2 * len(policies) * 10 * 2  # header + sims × policies × steps × slices


class _InterruptingPolicy:
    """A policy that presses Ctrl-C in the middle of the second episode."""

    name = "interrupting"

    def __init__(self):
        self.calls = 0

    def reset(self):
        pass

    def act(self, obs, kpis, shares):
        self.calls += 1
        if self.calls == 15:  # tiny has 10 steps per episode
            raise KeyboardInterrupt
        return np.full(shares.shape, 0.5)


def test_interrupted_evaluation_keeps_finished_episodes(tmp_path):
    out = tmp_path / "traces.csv"
    with pytest.raises(KeyboardInterrupt):
        evaluate(load_scenario("tiny"), _InterruptingPolicy(), "litesim", episodes=3, out_csv=out)
    import pandas as pd

    traces = pd.read_csv(out)
    assert set(traces["episode"]) == {0} and len(traces) == 10 * 2
    assert np.isfinite(traces[list(K.KPI_NAMES)].to_numpy()).all()


def test_distinguishable_pairs_ignore_near_ties():
    from slicebridge.app.report import distinguishable_pairs

    rng = np.random.default_rng(0)
    noise = lambda m: m + 0.01 * rng.standard_normal((4, 10, 3))  # noqa: E731 [E, T, C]
    a = {"good": noise(0.9), "tie1": noise(0.5), "tie2": noise(0.5005), "bad": noise(0.1)}
    b = {"good": noise(0.8), "tie1": noise(0.4), "tie2": noise(0.3999), "bad": noise(0.2)}
    agree, both, pairs = distinguishable_pairs(a, b)
    assert pairs == 6 and both == 5 and agree == 5  # the tie pair is left out, the rest agree
    b["bad"] = noise(0.95)  # now 'bad' beats everyone in b: its 3 pairs disagree
    agree, both, _ = distinguishable_pairs(a, b)
    assert both == 5 and agree == 2


@pytest.mark.ns3
def test_ctrl_c_during_ns3_evaluation_keeps_results_and_leaves_no_process(tmp_path, ns3_binary):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "cmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "slicebridge.app.cli", "compare", "default", "--budget", "0", "--episodes", "2",
         "--simulators", "ns3", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # shells may start us with SIGINT ignored
    )
    lines = []
    for line in proc.stdout:  # wait until the second policy's ns-3 runs are under way
        lines.append(line)
        if "evaluating proportional in ns3" in line:
            break
    time.sleep(2.0)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children, "ns-3 should be running when Ctrl-C arrives"
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "results written so far are kept" in rest
    for pid in children:
        assert not Path(f"/proc/{pid}").exists(), f"ns-3 process {pid} survived Ctrl-C"
    import pandas as pd

    traces = pd.read_csv(out / "traces.csv")  # the finished policy's episodes are complete and readable
    assert set(traces["policy"]) == {"equal"} and len(traces) == 2 * 50 * 3 * 3
