#!/usr/bin/env bash
# End to end: an out-of-tree plugin builds against an *installed* omniloop and runs in it.
#   tests/e2e/vendor_plugin_test.sh <omniloop build dir>
# 1. cmake --install <build> --prefix <tmp>
# 2. configure + build examples/vendor-plugin out of tree with -DCMAKE_PREFIX_PATH=<tmp>
# 3. <tmp>/bin/omniloop plugins (OMNILOOP_PLUGIN_PATH=<plugin build dir>) lists com.example.greeting
# 4. omniloop run examples/vendor-plugin/pipelines/greeting.yaml --store sqlite:<tmp>/x.db
#    writes the 5 events (upper-cased by the plugin's stage); a second run resumes and writes 0.
set -euo pipefail

fail() { echo "vendor_plugin_test: FAIL: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || { echo "usage: $0 <omniloop build dir>" >&2; exit 2; }
build=$(cd "$1" && pwd) || fail "build directory '$1' does not exist"
[[ -f $build/CMakeCache.txt ]] || fail "'$build' is not a CMake build directory"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
example=$src/examples/vendor-plugin
[[ -f $example/CMakeLists.txt ]] || fail "no example project at $example"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omniloop-vendor-e2e.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
plugin_build=$tmp/vendor-build
log=$tmp/log

step() { echo "vendor_plugin_test: $*"; }

step "installing $build into $prefix"
cmake --install "$build" --prefix "$prefix" >"$log" 2>&1 ||
  { cat "$log" >&2; fail "cmake --install failed (is the build complete?)"; }
[[ -x $prefix/bin/omniloop ]] || fail "the install has no bin/omniloop"
ls "$prefix"/lib*/cmake/omniloop/omniloopConfig.cmake >/dev/null 2>&1 ||
  fail "the install has no lib/cmake/omniloop/omniloopConfig.cmake (SDK package)"

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
step "building $example out of tree against $prefix"
cmake -S "$example" -B "$plugin_build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 ||
  { cat "$log" >&2; fail "configuring the vendor plugin against the installed SDK failed"; }
cmake --build "$plugin_build" >"$log" 2>&1 ||
  { cat "$log" >&2; fail "building the vendor plugin failed"; }
[[ -f $plugin_build/com.example.greeting.so ]] ||
  fail "the vendor build produced no com.example.greeting.so"
# Nothing of the plugin's own but the entry point may be exported (libstdc++ template
# instances such as std::from_chars helpers are exported by the toolchain; they are ignored).
if command -v nm >/dev/null 2>&1; then
  exported=$(nm -D --defined-only "$plugin_build/com.example.greeting.so" |
             awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | grep -v -E '^_Z[A-Z]*St' |
             grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
  [[ $exported == omniloop_plugin_entry ]] ||
    fail "the plugin exports more than omniloop_plugin_entry: $(echo $exported)"
fi

export OMNILOOP_PLUGIN_PATH=$plugin_build
omniloop=$prefix/bin/omniloop
cd "$tmp"  # no stray omniloop.yaml is picked up

step "omniloop plugins"
"$omniloop" plugins >"$log" 2>&1 || { cat "$log" >&2; fail "'omniloop plugins' failed"; }
grep -q 'com\.example\.greeting' "$log" ||
  { cat "$log" >&2; fail "'omniloop plugins' does not list com.example.greeting"; }
grep -q 'com\.example\.upper' "$log" ||
  { cat "$log" >&2; fail "'omniloop plugins' does not list the stage com.example.upper"; }
grep -q 'file\.csv' "$log" ||
  { cat "$log" >&2; fail "'omniloop plugins' does not list the bundled file.csv (omniloop.files)"; }

pipeline=$example/pipelines/greeting.yaml
step "omniloop validate"
"$omniloop" validate "$pipeline" >"$log" 2>&1 || { cat "$log" >&2; fail "'omniloop validate' rejected $pipeline"; }

step "omniloop run"
"$omniloop" run "$pipeline" --store "sqlite:$tmp/x.db" --no-progress >"$log" 2>&1 ||
  { cat "$log" >&2; fail "'omniloop run' failed"; }
grep -q -E '^[[:space:]]*written[[:space:]]+5[[:space:]]*$' "$log" ||
  { cat "$log" >&2; fail "the run summary does not say 5 events were written"; }
grep -q -E '^[[:space:]]*dead-lettered[[:space:]]+0[[:space:]]*$' "$log" ||
  { cat "$log" >&2; fail "the run dead-lettered events"; }
grep -a -q 'HELLO FROM A VENDOR PLUGIN' "$tmp"/x.db* ||
  fail "the stored events do not carry the greeting upper-cased by com.example.upper"

step "omniloop run again (resumes from the committed cursor)"
"$omniloop" run "$pipeline" --store "sqlite:$tmp/x.db" --no-progress >"$log" 2>&1 ||
  { cat "$log" >&2; fail "the second 'omniloop run' failed"; }
grep -q -E '^[[:space:]]*written[[:space:]]+0[[:space:]]*$' "$log" ||
  { cat "$log" >&2; fail "the second run wrote events again: the source's cursor was not resumed"; }

step "ok"
