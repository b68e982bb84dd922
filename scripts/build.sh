#!/usr/bin/env bash
# Configures and builds omniloop (Release) into build/ with Ninja and ccache.
# usage: scripts/build.sh [build-dir] [extra cmake args...]; TARGETS="a b" limits what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
shift || true
JOBS="${JOBS:-$(nproc)}"
# Paths inside the checkout are hashed relative to it, so a fresh clone elsewhere (CI) reuses
# what ccache already compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
fi
if [ -n "${TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$BUILD_DIR" -j"$JOBS" --target $TARGETS
else
  cmake --build "$BUILD_DIR" -j"$JOBS"
fi
