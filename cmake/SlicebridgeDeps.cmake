# Locates every external dependency of the C++ side and fails ONCE, listing what to install.
# Defines: imported targets ns3::<module> (repaired), slicebridge::zmq, and sets
# SLICEBRIDGE_PROTOBUF_FOUND / nlohmann_json::nlohmann_json.
# SPDX-License-Identifier: GPL-2.0-only
include_guard(GLOBAL)

set(_sb_missing "")

# --- compiler --------------------------------------------------------------------------------
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 11)
  list(APPEND _sb_missing "a C++20 compiler (g++ >= 11): apt-get install g++")
endif()

# --- ns-3 from the Python wheel ----------------------------------------------------------------
set(NS3_CMAKE_DIR "" CACHE PATH "Directory holding ns3Config.cmake (default: found via the Python ns3 wheel)")
if(NOT NS3_CMAKE_DIR)
  set(_sb_pythons "")
  if(Python3_EXECUTABLE)
    list(APPEND _sb_pythons "${Python3_EXECUTABLE}")
  endif()
  if(DEFINED ENV{VIRTUAL_ENV})
    list(APPEND _sb_pythons "$ENV{VIRTUAL_ENV}/bin/python")
  endif()
  list(APPEND _sb_pythons "${CMAKE_SOURCE_DIR}/.venv/bin/python")
  find_program(_sb_path_python NAMES python3 python)
  if(_sb_path_python)
    list(APPEND _sb_pythons "${_sb_path_python}")
  endif()
  foreach(_py IN LISTS _sb_pythons)
    if(NOT EXISTS "${_py}")
      continue()
    endif()
    execute_process(
      COMMAND "${_py}" -c "import importlib.util, pathlib; s = importlib.util.find_spec('ns3'); print(pathlib.Path(list(s.submodule_search_locations)[0]) / 'lib64' / 'cmake' / 'ns3')"
      OUTPUT_VARIABLE _sb_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _sb_rc)
    if(_sb_rc EQUAL 0 AND EXISTS "${_sb_dir}/ns3Config.cmake")
      set(NS3_CMAKE_DIR "${_sb_dir}" CACHE PATH "Directory holding ns3Config.cmake" FORCE)
      set(SLICEBRIDGE_PYTHON "${_py}")
      break()
    endif()
  endforeach()
endif()
if(NOT NS3_CMAKE_DIR OR NOT EXISTS "${NS3_CMAKE_DIR}/ns3Config.cmake")
  list(APPEND _sb_missing
    "ns-3.44 (PyPI wheel) in the active Python: pip install --no-deps ns3==3.44.post0 (or pass -DNS3_CMAKE_DIR=<dir with ns3Config.cmake>)")
endif()

# --- Debian packages ---------------------------------------------------------------------------
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SB_ZMQ QUIET IMPORTED_TARGET libzmq)
endif()
if(NOT SB_ZMQ_FOUND)
  list(APPEND _sb_missing "ZeroMQ: apt-get install libzmq3-dev pkg-config")
endif()
find_path(SB_CPPZMQ_INCLUDE zmq.hpp)
if(NOT SB_CPPZMQ_INCLUDE)
  list(APPEND _sb_missing "cppzmq: apt-get install cppzmq-dev")
endif()
find_package(Protobuf QUIET)
if(NOT Protobuf_FOUND OR NOT Protobuf_PROTOC_EXECUTABLE)
  list(APPEND _sb_missing "protobuf: apt-get install libprotobuf-dev protobuf-compiler")
endif()
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  list(APPEND _sb_missing "nlohmann-json: apt-get install nlohmann-json3-dev")
endif()

if(_sb_missing)
  list(JOIN _sb_missing "\n  - " _sb_text)
  message(FATAL_ERROR "slicebridge: missing build dependencies; install:\n  - ${_sb_text}\n")
endif()

add_library(slicebridge_zmq INTERFACE)
target_link_libraries(slicebridge_zmq INTERFACE PkgConfig::SB_ZMQ)
target_include_directories(slicebridge_zmq INTERFACE "${SB_CPPZMQ_INCLUDE}")
add_library(slicebridge::zmq ALIAS slicebridge_zmq)

# --- load and repair the wheel's imported targets ----------------------------------------------
# As shipped, they name include dirs and absolute libraries of the wheel's build host
# (/usr/include/glib-2.0, /lib64/libsqlite3.so, ...). The wheel's headers live in <prefix>/include
# and its libraries find their bundled dependencies via $ORIGIN, so those entries are dropped.
find_package(ns3 REQUIRED CONFIG PATHS "${NS3_CMAKE_DIR}" NO_DEFAULT_PATH)
get_filename_component(NS3_PREFIX "${NS3_CMAKE_DIR}/../../.." ABSOLUTE)
message(STATUS "slicebridge: ns-3 from ${NS3_PREFIX}")
# IMPORTED_TARGETS lists the targets imported in this directory (the ns3 config was loaded here).
get_property(_sb_targets DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
foreach(_t IN LISTS _sb_targets)
  if(NOT _t MATCHES "^ns3::")
    continue()
  endif()
  set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${NS3_PREFIX}/include")
  get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
  if(_libs)
    set(_kept "")
    foreach(_l IN LISTS _libs)
      if(_l MATCHES "^/" AND NOT EXISTS "${_l}")
        continue()
      endif()
      if(_l MATCHES "\\.so$" AND NOT EXISTS "${_l}")
        continue()
      endif()
      list(APPEND _kept "${_l}")
    endforeach()
    set_target_properties(${_t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_kept}")
  endif()
endforeach()
