#!/usr/bin/env bash
# Builds 5G-LENA (the ns-3 `nr` module) out of tree against the ns-3 of the PyPI wheel in the
# project's virtual environment, and installs it where the project's CMake finds it.
#
#   scripts/build-nr.sh SRC_DIR [PREFIX] [BUILD_DIR]
#     SRC_DIR    a 5G-LENA source tree; release 4.0 pairs with the wheel's ns-3.44, e.g.
#                a checkout of https://gitlab.com/cttc-lena/nr (or a mirror) at its v4.0 release
#     PREFIX     where to install (default: ./nr-install, git-ignored); it gets
#                lib/libns3.44-nr.so, include/ns3/*.h, lib/cmake/ns3-nr/ns3-nrConfig.cmake (ns3::nr)
#     BUILD_DIR  the build tree (default: ./build-nr-module)
#   then:  cmake -S . -B build -DNS3_NR_DIR=PREFIX && cmake --build build -j2
#          (the default PREFIX is found without -DNS3_NR_DIR)
#
# Environment: JOBS (default 2; each compile job needs ~1 GB of memory), PYTHON (default
# .venv/bin/python: the Python whose ns3 wheel is linked). Takes ~9 min on 2 idle cores.
# Eigen3 is optional (5G-LENA's MIMO matrices); without it 5G-LENA warns once and builds without.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
src="$(cd "$1" && pwd)" || { echo "build-nr: source tree '$1' does not exist" >&2; exit 2; }
prefix="${2:-$here/nr-install}"
build="${3:-$here/build-nr-module}"
python="${PYTHON:-$here/.venv/bin/python}"
if [ ! -f "$src/model/nr-mac-scheduler-ns3.h" ]; then
  echo "build-nr: '$src' is not a 5G-LENA source tree (no model/nr-mac-scheduler-ns3.h)" >&2
  exit 2
fi
if [ ! -x "$python" ]; then
  echo "build-nr: no Python at '$python' (run scripts/setup.sh first, or set PYTHON=...)" >&2
  exit 2
fi
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
echo "[build-nr] 5G-LENA $src -> $prefix (build tree $build, ${JOBS:-2} jobs)"
cmake -S "$here/cmake/nr-module" -B "$build" -DNR_SOURCE_DIR="$src" \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DPython3_EXECUTABLE="$python" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "${JOBS:-2}"
cmake --install "$build" >/dev/null
echo "[build-nr] done: configure the project with -DNS3_NR_DIR=$prefix"
