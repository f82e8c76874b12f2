#!/usr/bin/env bash
# One-shot set-up on a fresh Debian 12 machine: system packages, a virtual environment with the
# CPU build of PyTorch, the ns-3 wheel, the project, and the CMake build of the ns-3 scenarios.
# Idempotent: a second run only re-checks. Set SLICEBRIDGE_SKIP_APT=1 to skip apt (no root).
# The optional extra `distributed` (Flower + Ray, docs/DISTRIBUTED.md; ~380 MB, ~30 s from a warm pip
# cache) is installed too, so its tests run; SLICEBRIDGE_NO_DISTRIBUTED=1 leaves it out (its tests then
# skip, the rest works as before).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv cmake g++ make pkg-config libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev)
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { printf '[setup] %s\n' "$*"; }

if [ "${SLICEBRIDGE_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
stamp="$VENV/.slicebridge-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python packages (torch CPU build first, then ns-3 wheel, then the project)"
  $PIP install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  # The pin takes the CPU build; an unpinned torch would pull a multi-GB CUDA build.
  $PIP install -q torch==2.13.0 2>&1 | grep -v '^WARNING: Location' || true
  # --no-deps: the wheel's cppyy dependency is only needed for Python bindings, not for our C++.
  $PIP install -q --no-deps ns3==3.44.post0 2>&1 | grep -v '^WARNING: Location' || true
  extras=dev
  if [ "${SLICEBRIDGE_NO_DISTRIBUTED:-0}" != 1 ]; then extras=dev,distributed; fi
  $PIP install -q -e ".[$extras]" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import torch, numpy, stable_baselines3, ns3" 2>/dev/null || { say "Python install failed"; exit 1; }
  if [ "$extras" = dev,distributed ]; then
    "$VENV/bin/python" -c "import flwr, ray" 2>/dev/null || { say "optional extra 'distributed' failed to install (SLICEBRIDGE_NO_DISTRIBUTED=1 skips it)"; exit 1; }
  fi
  touch "$stamp"
fi

if [ -f CMakeLists.txt ]; then
  say "building the ns-3 scenarios (cmake, Release)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$PWD/$VENV/bin/python" >/dev/null
  if ! cmake --build build -j"$(nproc)" > build/build.log 2>&1; then
    grep -E -B2 -A6 'error|Error' build/build.log | head -60
    say "CMake build failed (full log: build/build.log)"; exit 1
  fi
fi
say "done"
