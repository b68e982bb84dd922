#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice:
#   1. Release build (build/): every test (unit, plugin, integration, e2e).
#   2. ASan+UBSan build (build-asan/): the same tests under the sanitizers.
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

echo "== all tests passed in $(( $(date +%s) - start )) s"
