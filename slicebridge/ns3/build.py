"""Locating (and, on request, building) the ns-3 program ``slicebridge-lte``.

The C++ side is built with CMake against the ns-3 of the PyPI wheel ``ns3``::

    cmake -S . -B build && cmake --build build -j2

which leaves the program at ``build/ns3_scenarios/slicebridge-lte``. The environment variable
``SLICEBRIDGE_NS3_BINARY`` points at another build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / "build"
PROGRAM = "slicebridge-lte"
ENV_BINARY = "SLICEBRIDGE_NS3_BINARY"
BUILD_COMMAND = "cmake -S . -B build && cmake --build build -j2"


class Ns3BuildError(RuntimeError):
    """The ns-3 program is missing or could not be built."""


def default_binary() -> Path:
    return BUILD_DIR / "ns3_scenarios" / PROGRAM


def find_binary() -> Path:
    """Path of the built program: $SLICEBRIDGE_NS3_BINARY, else build/ns3_scenarios/slicebridge-lte."""
    env = os.environ.get(ENV_BINARY)
    path = Path(env) if env else default_binary()
    if path.is_file() and os.access(path, os.X_OK):
        return path
    where = f"${ENV_BINARY}={env}" if env else str(path)
    raise Ns3BuildError(
        f"the ns-3 program {PROGRAM} is not built ({where} not found); build it in {REPO_ROOT} with "
        f"`{BUILD_COMMAND}` (needs `pip install --no-deps ns3==3.44.post0` and "
        f"`apt-get install libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev`)"
    )


def build(jobs: int = 2, build_dir: Path | None = None, timeout_s: float = 1800.0) -> Path:
    """Configure (when needed) and build with CMake; returns the program path. Raises
    :class:`Ns3BuildError` with the tail of CMake's output when a step fails."""
    build_dir = Path(build_dir) if build_dir is not None else BUILD_DIR
    steps = []
    if not (build_dir / "CMakeCache.txt").is_file():
        steps.append(["cmake", "-S", str(REPO_ROOT), "-B", str(build_dir), f"-DPython3_EXECUTABLE={sys.executable}"])
    steps.append(["cmake", "--build", str(build_dir), "-j", str(jobs), "--target", PROGRAM])
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except FileNotFoundError:
            raise Ns3BuildError(f"cmake is not installed (apt-get install cmake); then run `{BUILD_COMMAND}`") from None
        except subprocess.TimeoutExpired:
            raise Ns3BuildError(f"`{' '.join(cmd)}` took more than {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise Ns3BuildError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return build_dir / "ns3_scenarios" / PROGRAM
