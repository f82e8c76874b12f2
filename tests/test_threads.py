# SPDX-License-Identifier: GPL-2.0-only
"""Torch's thread count for the command line and the recipes (``agents.threads``)."""

from __future__ import annotations

import pytest
import torch

from slicebridge.agents.threads import TORCH_THREADS_ENV, configured_torch_threads, torch_threads
from slicebridge.app import cli


def test_default_is_one_thread_and_env_overrides(monkeypatch):
    monkeypatch.delenv(TORCH_THREADS_ENV, raising=False)
    assert configured_torch_threads() == 1
    monkeypatch.setenv(TORCH_THREADS_ENV, " 3 ")
    assert configured_torch_threads() == 3


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_bad_env_value_names_the_variable(monkeypatch, text):
    monkeypatch.setenv(TORCH_THREADS_ENV, text)
    with pytest.raises(ValueError, match=TORCH_THREADS_ENV):
        configured_torch_threads()


def test_context_restores_the_previous_count_even_on_error():
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    with pytest.raises(RuntimeError):
        with torch_threads(target):
            assert torch.get_num_threads() == target
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_cli_runs_commands_on_the_configured_threads(monkeypatch, capsys):
    seen = []
    parser = cli.build_parser()

    def build_parser():
        return parser

    def record(args):
        seen.append(torch.get_num_threads())
        return 0

    # the 'scenarios validate' sub-command's handler replaced by one that records the thread count
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            sub.set_defaults(func=record)
    monkeypatch.setattr(cli, "build_parser", build_parser)
    before = torch.get_num_threads()
    monkeypatch.delenv(TORCH_THREADS_ENV, raising=False)
    assert cli.main(["scenarios", "validate", "scenarios/tiny.yaml"]) == 0
    monkeypatch.setenv(TORCH_THREADS_ENV, "2")
    assert cli.main(["scenarios", "validate", "scenarios/tiny.yaml"]) == 0
    assert seen == [1, 2]
    assert torch.get_num_threads() == before
    monkeypatch.setenv(TORCH_THREADS_ENV, "none")
    assert cli.main(["scenarios", "validate", "scenarios/tiny.yaml"]) == cli.EXIT_USAGE
    assert TORCH_THREADS_ENV in capsys.readouterr().err
