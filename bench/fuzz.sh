#!/usr/bin/env bash
# Longer fuzzing runs than the test suite's (docs/testing.md, "Fuzzing"): builds the libFuzzer
# targets into build-fuzz/ (clang-14, ASan+UBSan) and runs each for the given time, one after the
# other (or only those named). The corpus each run grows is kept in build-fuzz/fuzz-corpus/ and
# reused by the next run; crash, hang and leak inputs land in build-fuzz/fuzz-corpus/artifacts/.
# usage: bench/fuzz.sh [seconds per target, default 300] [fuzzer names...]
#   JOBS=n     build parallelism (default: nproc)
#   FORK=n     run each target with libFuzzer's -fork=n (n processes)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
export CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}"
TARGETS=omniloop_fuzz_all bash scripts/build.sh build-fuzz -DOMNILOOP_FUZZ=ON
if [ $# -gt 0 ]; then
  names=("$@")
else
  mapfile -t names < <(cd build-fuzz/fuzz && ls fuzz_*)
fi
mkdir -p build-fuzz/fuzz-corpus
failed=()
for name in "${names[@]}"; do
  echo "== $name: ${seconds} s"
  extra=()
  [ -n "${FORK:-}" ] && extra+=("-fork=$FORK" "-ignore_crashes=0")
  if ! bash tests/fuzz/run_fuzzer.sh "build-fuzz/fuzz/$name" "$seconds" "tests/fuzz/corpus/$name" \
      "build-fuzz/fuzz-corpus/$name" "${extra[@]}" 2>"build-fuzz/fuzz-corpus/$name.log"; then
    failed+=("$name")
    tail -n 40 "build-fuzz/fuzz-corpus/$name.log"
  else
    grep -E "^stat::number_of_executed_units|^Done" "build-fuzz/fuzz-corpus/$name.log" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== failed: ${failed[*]} (inputs in build-fuzz/fuzz-corpus/artifacts/)"
  exit 1
fi
echo "== no crash, hang or leak"
