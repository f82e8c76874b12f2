# SPDX-License-Identifier: GPL-2.0-only
"""The C++ unit tests (ns-3 TestSuites in ns3_scenarios/test/), run through the README's pytest command.

``slicebridge-tests`` is ns-3's TestRunner over our suites; ns-3 runs one suite per process, so each
suite is one test here. Failures show the runner's verbose report (file, line, actual and limit).
"""

from __future__ import annotations

import re
import subprocess

import pytest

SUITES = (
    "slicebridge-rbg-partition",
    "slicebridge-share-projection",
    "slicebridge-load-profile",
    "slicebridge-runtime-config",
    "slicebridge-edge-server",
)


@pytest.fixture(scope="module")
def unit_tests(gym_program):
    return gym_program("slicebridge-tests")


def test_the_program_registers_every_suite(unit_tests):
    proc = subprocess.run([str(unit_tests), "--print-test-name-list"], check=False, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted(SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_cpp_suite_passes(unit_tests, suite, tmp_path):
    proc = subprocess.run(
        [str(unit_tests), f"--test-name={suite}", "--verbose", f"--tempdir={tmp_path}"],
        check=False, capture_output=True, text=True, timeout=120,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"C++ suite {suite} failed:\n{report}"
    assert re.search(rf"^PASS {re.escape(suite)} ", proc.stdout, re.MULTILINE), report
    cases = re.findall(r"^\s+(PASS|FAIL) ", proc.stdout, re.MULTILINE)
    assert cases and set(cases) == {"PASS"}, report  # at least one test case ran, none failed
