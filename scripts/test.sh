#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice, then the fuzzers:
#   1. Release build (build/): every test (unit, plugin, integration, e2e).
#   2. ASan+UBSan build (build-asan/): the same tests under the sanitizers.
#   3. libFuzzer build (build-fuzz/, clang-14, ASan+UBSan): only the fuzz targets and the
#      libraries they need; each fuzzer runs FUZZ_SECONDS (default 20) from its seed corpus
#      (ctest label fuzz). FUZZ=0 skips this part.
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
JOBS="${JOBS:-$(nproc)}"

echo "== release build"
bash scripts/build.sh build
echo "== release tests"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 900)

echo "== asan+ubsan build"
TARGETS="${ASAN_TARGETS:-}" bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOMNILOOP_SANITIZE=ON -DOMNILOOP_BENCH=OFF
echo "== asan+ubsan tests"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
(cd build-asan && ctest --output-on-failure -j"$JOBS" --timeout 900 -LE "no-sanitizer")

if [ "${FUZZ:-1}" != "0" ]; then
  echo "== fuzz build (clang-14)"
  CC=clang-14 CXX=clang++-14 TARGETS=omniloop_fuzz_all bash scripts/build.sh build-fuzz \
    -DOMNILOOP_FUZZ=ON -DOMNILOOP_FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
  echo "== fuzz runs"
  (cd build-fuzz && ctest --output-on-failure -j"$JOBS" -L fuzz)
fi

echo "== all tests passed in $(( $(date +%s) - start )) s"
