"""The slicebridge command line: help on every command, clear errors and exit codes on misuse."""

import csv
import subprocess
import sys

import pytest

from slicebridge.app.cli import build_parser, main

COMMANDS = ["scenarios", "eval", "baselines", "train", "compare", "recipe", "bench"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: slicebridge" in capsys.readouterr().out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "slicebridge.app.cli", "scenarios", "list"], capture_output=True, text=True, check=True)
    assert "tiny" in out.stdout and "default" in out.stdout


def test_validate_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slices: []\n")
    assert main(["scenarios", "validate", "tiny", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "ok    tiny" in captured.out and f"{bad}: slices" in captured.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "nosuch"], "scenario file not found"),
        (["eval", "tiny", "--policy", "baseline:nope"], "unknown baseline"),
        (["eval", "tiny", "--policy", "/no/such/run"], "not a baseline:NAME"),
        (["scenarios", "validate"], "give at least one scenario file"),
    ],
)
def test_misuse_exits_2_with_a_clear_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("slicebridge: error:") and message in err


def test_unknown_command_is_an_argparse_error():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["frobnicate"])
    assert exc.value.code == 2


def test_eval_writes_traces_and_prints_kpis(tmp_path, capsys):
    out = tmp_path / "traces.csv"
    assert main(["eval", "tiny", "--policy", "baseline:proportional", "--episodes", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "proportional in litesim" in text and "embb" in text
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 10 * 2  # episodes × steps × slices (one cell)
    assert {r["episode"] for r in rows} == {"0", "1"} and {r["slice"] for r in rows} == {"embb", "urllc"}
    assert all(float(r["offered_mbps"]) > 0 and 0 <= float(r["sla_ratio"]) <= 1 for r in rows)


def test_baselines_command_prints_every_baseline(capsys):
    assert main(["baselines", "default"]) == 0
    out = capsys.readouterr().out
    for name in ("equal", "static", "proportional", "greedy_sla"):
        assert f"baseline {name} in litesim" in out
    for slice_name in ("embb", "urllc", "mmtc"):
        assert slice_name in out


def test_train_federation_flags_reach_the_config(monkeypatch, tmp_path, capsys):
    import slicebridge.app.cli as cli

    seen = {}

    def fake_train(cfg):
        seen["cfg"] = cfg
        return type("Result", (), {"resumed_round": None, "run_dir": tmp_path})()

    monkeypatch.setattr(cli, "train", fake_train)
    assert main(["train", "tiny", "--strategy", "trimmed_mean", "--trim-fraction", "0.3", "--update-norm-factor", "0",
                 "--max-update-norm", "5", "--out", str(tmp_path)]) == 0
    cfg = seen["cfg"]
    assert (cfg.max_update_norm, cfg.update_norm_factor, cfg.strategy_kwargs) == (5.0, None, {"trim_fraction": 0.3})
    main(["train", "tiny", "--out", str(tmp_path)])
    assert seen["cfg"].update_norm_factor == 10.0 and seen["cfg"].max_update_norm is None
    assert main(["train", "tiny", "--max-update-norm", "-1", "--out", str(tmp_path)]) == 2
    assert "--max-update-norm must be > 0" in capsys.readouterr().err


def test_resume_flags_are_shown_and_a_changed_configuration_is_explained(monkeypatch, tmp_path, capsys):
    import slicebridge.app.cli as cli
    from slicebridge.agents.training import ConfigChangedError

    for command in ("train", "compare"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--resume, --no-resume" in capsys.readouterr().out
    seen = {}

    def changed(cfg):
        seen["resume"] = cfg.resume
        raise ConfigChangedError(tmp_path / "checkpoints" / "round_00002", [("total_steps", 2000, 4000)])

    monkeypatch.setattr(cli, "train", changed)
    assert main(["train", "tiny", "--budget", "4000", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--budget (total_steps): 2000 in the checkpoint, 4000 now" in err
    assert "--no-resume" in err and "another --out" in err and "Traceback" not in err
    assert seen["resume"] is True
    main(["train", "tiny", "--no-resume", "--out", str(tmp_path)])
    assert seen["resume"] is False
