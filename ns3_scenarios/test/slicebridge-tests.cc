// SPDX-License-Identifier: GPL-2.0-only
//
// slicebridge-tests: the C++ unit tests, ns-3 TestSuites registered by the *-test.cc files of this
// folder and run by ns-3's TestRunner:
//
//   slicebridge-tests [--verbose] [--test-name=NAME] [--print-test-name-list]
//
// Prints "PASS|FAIL <suite> <seconds>" per suite; the exit code is non-zero when any test failed.
// tests/test_cpp_unit.py runs it as part of the README's pytest command.

#include "ns3/test.h"

int
main(int argc, char* argv[])
{
    return ns3::TestRunner::Run(argc, argv);
}
