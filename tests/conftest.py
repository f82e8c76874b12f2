"""Shared pytest fixtures (keep minimal; append new fixtures below)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Any test that needs the built ns-3 program (the ``ns3_binary`` fixture, directly or through
    another fixture) is an ``ns3`` test, so ``pytest -m "not ns3"`` runs on a clone without the build."""
    for item in items:
        if "ns3_binary" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ns3)


@pytest.fixture(scope="session")
def ns3_binary() -> Path:
    """The built ns-3 program. Builds it with CMake when it is missing; a failed build or a
    missing program FAILS the test (with the build instructions), it never skips."""
    from slicebridge.ns3 import launcher

    try:
        return launcher.find_program()
    except launcher.Ns3BuildError as missing:
        try:
            launcher.build()
            return launcher.find_program()
        except launcher.Ns3BuildError as failed:
            pytest.fail(f"{missing}\nautomatic build failed: {failed}", pytrace=False)


@pytest.fixture(scope="session")
def gym_program(ns3_binary):
    """``name -> Path`` of a test program CMake builds next to the ns-3 program
    (slicebridge-gym-echo, slicebridge-gym-spaces, the C++ unit tests slicebridge-tests, the parity
    probe slicebridge-spec-check), built when missing from the repository's build; a missing one
    FAILS the test."""
    from slicebridge.ns3 import launcher

    def find(name: str) -> Path:
        path = ns3_binary.with_name(name)
        if not path.is_file() and path.parent == launcher.BUILD_DIR / "ns3_scenarios":
            try:
                launcher.build(targets=(name,))
            except launcher.Ns3BuildError as failed:
                pytest.fail(f"{name} is not built and building it failed: {failed}", pytrace=False)
        if not path.is_file():
            pytest.fail(f"{name} not built next to {ns3_binary} ({launcher.BUILD_COMMAND})", pytrace=False)
        return path

    return find


# Caches third-party libraries keep in TMPDIR on purpose (one per user, reused by later runs): not leaks.
SHARED_CACHES = ("torchinductor_",)


@pytest.fixture(scope="session", autouse=True)
def private_tmpdir(tmp_path_factory: pytest.TempPathFactory):
    """The session's temporary directory (``TMPDIR``, ``tempfile``) is a private, initially empty
    folder that must be empty again when the session ends: tests clean up what they write, and so does
    the code under test (SB3 logger folders, ns-3 run folders and logs, ipc sockets, runtime JSON).
    ns-3 and other child processes inherit ``TMPDIR``. Test files belong in ``tmp_path``, which lies
    elsewhere (pytest's base temp, created before this fixture moves ``TMPDIR``)."""
    folder = tmp_path_factory.mktemp("tmpdir")
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
    leftovers = sorted(p.name for p in folder.iterdir() if not p.name.startswith(SHARED_CACHES))
    assert not leftovers, f"the test session left {len(leftovers)} temporary files/folders in {folder}: {leftovers[:10]}"


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (small models run fastest so, and the suite shares two cores)."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
