#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: every test runs once.
#   1. Release build (build/): the installable product and the tests labelled `release`, which
#      need Release binaries (the timed quickstart, the kill -9 test timed against a clean run,
#      the Debian packages, the vendor plugin against an installed omniloop).
#   2. ASan+UBSan build (build-asan/, clang-14): every other test (unit, plugin, integration,
#      e2e) under the sanitizers, and the libFuzzer targets, each run for FUZZ_SECONDS (default
#      20) from its seed corpus (ctest label fuzz). FUZZ=0 leaves the fuzzers out.
# Each part runs even when an earlier one failed, so one run shows every failure; the exit
# status is non-zero when any test failed. `cd build && ctest` still runs every test in Release.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
failed=()
phase() { echo "== $* (at $(( $(date +%s) - start )) s)"; }
bash scripts/setup.sh
JOBS="${JOBS:-$(nproc)}"

phase "release build"
TARGETS=omniloop_release_suite bash scripts/build.sh build
phase "release tests"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 900 -L release) || failed+=(release)

phase "asan+ubsan build (clang-14, with the fuzzers)"
# One sanitizer build for the tests and the libFuzzer targets: clang-14, ASan+UBSan and
# libFuzzer's coverage instrumentation at -O1 -gline-tables-only (OMNILOOP_FUZZ). Measured on
# 2 cores: GCC 12 at -O2 -g took 2x as long per test file, and a separate fuzz build cost
# another compilation of the core.
CC=clang-14 CXX=clang++-14 TARGETS="${ASAN_TARGETS:-}" bash scripts/build.sh build-asan \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DOMNILOOP_SANITIZE=ON -DOMNILOOP_FUZZ="${FUZZ:-1}" \
  -DOMNILOOP_FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
phase "asan+ubsan tests and fuzzers"
# intercept_tls_get_addr=0: up to LLVM 16 (GCC 13) the runtime's __tls_get_addr interceptor
# takes a dynamic TLS block that happens to start 16 bytes into a page for a pre-2.25 glibc
# header and reads garbage before it; LeakSanitizer's tracer then dies of SIGSEGV at exit
# ("Tracer caught signal 11"), a flake that reports no leak. Without the interceptor LSan no
# longer tracks dynamic TLS blocks specially; no leak is reported from them in this suite.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:intercept_tls_get_addr=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:intercept_tls_get_addr=0"
(cd build-asan && ctest --output-on-failure -j"$JOBS" --timeout 900 -LE "release|no-sanitizer") ||
  failed+=(asan+ubsan)

if [ ${#failed[@]} -gt 0 ]; then
  phase "FAILED: ${failed[*]}"
  exit 1
fi
phase "all tests passed"
