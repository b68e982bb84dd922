#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: what the ctest label `fuzz` and bench/fuzz.sh do.
# usage: run_fuzzer.sh <fuzzer> <seconds> <seed corpus dir> <work corpus dir> [libFuzzer args...]
# New inputs go to the work corpus (the seed corpus in the repository is only read); a crash,
# hang (-timeout), leak or out-of-memory leaves its input in <work corpus dir>/../artifacts/ and
# fails the run.
set -euo pipefail
fuzzer="$1"
seconds="$2"
seeds="$3"
work="$4"
shift 4
artifacts="$(dirname "$work")/artifacts/$(basename "$work")/"
mkdir -p "$work" "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:intercept_tls_get_addr=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$artifacts" "$@" "$work" "$seeds"
