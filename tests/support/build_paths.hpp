#pragma once

// Where this build directory put its programs and where the source tree is, for the tests and benchmarks that start
// them. Defined in one generated source per build directory (CMakeLists.txt, vpnbot_build_paths), so no test's own
// compile command names a path and a fresh clone in another folder reuses the compiler cache.
namespace vpnbot::testing {

extern const char* const kVpnbotBinary;     // this build's vpnbot program
extern const char* const kTestHelperDir;    // build/tests: helper programs such as job_worker
extern const char* const kSourceDir;        // the source tree (bench scripts, tests/contract)
extern const char* const kContractModules;  // the Remnawave contract's npm packages (scripts/setup installs them)

}  // namespace vpnbot::testing
