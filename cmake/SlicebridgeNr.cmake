# Looks for an ns-3 `nr` module (5G-LENA) built against the same ns-3 as the rest of the project.
# Sets SLICEBRIDGE_NR_FOUND; when found, the imported target ns3::nr exists.
#
# NS3_NR_DIR: the prefix scripts/build-nr.sh installed into (it holds lib/cmake/ns3-nr), or that
# cmake directory itself. Default: <source>/nr-install, the script's default prefix.
# Without it the configure prints ONE line saying slicebridge-nr is skipped and how to enable it;
# an NR scenario then fails at run time with the same remedy (slicebridge/ns3/launcher.py).
# SPDX-License-Identifier: GPL-2.0-only
include_guard(GLOBAL)

set(NS3_NR_DIR "" CACHE PATH "Prefix of an ns-3 nr module (5G-LENA) built by scripts/build-nr.sh")
set(SLICEBRIDGE_NR_REMEDY
  "scripts/build-nr.sh <5G-LENA 4.0 source tree> [prefix], then configure with -DNS3_NR_DIR=<prefix> (docs/NR.md)")
set(_sb_nr_where "${NS3_NR_DIR}")
if(NOT _sb_nr_where AND EXISTS "${CMAKE_SOURCE_DIR}/nr-install/lib/cmake/ns3-nr")
  set(_sb_nr_where "${CMAKE_SOURCE_DIR}/nr-install")
endif()
set(SLICEBRIDGE_NR_FOUND OFF)
if(_sb_nr_where)
  find_package(ns3-nr CONFIG QUIET
    PATHS "${_sb_nr_where}/lib/cmake/ns3-nr" "${_sb_nr_where}" NO_DEFAULT_PATH)
  if(ns3-nr_FOUND AND TARGET ns3::nr)
    set(SLICEBRIDGE_NR_FOUND ON)
    message(STATUS "slicebridge: NR (5G-LENA) from ${_sb_nr_where}: building slicebridge-nr")
  else()
    message(STATUS "slicebridge: NR skipped: no ns3-nr package under NS3_NR_DIR='${_sb_nr_where}' "
      "(expected lib/cmake/ns3-nr/ns3-nrConfig.cmake); to build slicebridge-nr run ${SLICEBRIDGE_NR_REMEDY}")
  endif()
else()
  message(STATUS "slicebridge: NR skipped (slicebridge-nr needs 5G-LENA): to build it run ${SLICEBRIDGE_NR_REMEDY}")
endif()
