"""Shared pytest fixtures (keep minimal; append new fixtures below)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ns3_binary() -> Path:
    """The built ns-3 program. Builds it with CMake when it is missing; a failed build or a
    missing program FAILS the test (with the build instructions), it never skips."""
    from slicebridge.ns3 import build as ns3_build

    try:
        return ns3_build.find_binary()
    except ns3_build.Ns3BuildError as missing:
        try:
            ns3_build.build()
            return ns3_build.find_binary()
        except ns3_build.Ns3BuildError as failed:
            pytest.fail(f"{missing}\nautomatic build failed: {failed}", pytrace=False)
