#!/usr/bin/env bash
# Installs what is missing, builds omniloop, and runs the quickstart: sample CRM, POS,
# call-center and social data through pipelines into the embedded SQLite CDP store
# var/quickstart.db, then prints what landed there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TARGETS="omniloop omniloop_plugin_omniloop_files" bash scripts/build.sh build >/dev/null
echo
bash examples/quickstart/run.sh build/bin/omniloop
