#!/usr/bin/env bash
# Installs what is missing, builds omniloop and the connectors the quickstart uses, and runs the
# quickstart: a SuiteCRM database over SQLite ODBC, a Salesforce report export, Shopify orders,
# a POSLog till file, Asterisk CDRs with queue_log and social data through pipelines into the
# embedded SQLite CDP store var/quickstart.db, then prints what landed there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TARGETS="omniloop omniloop_plugin_omniloop_files omniloop_plugin_crm_odbc omniloop_plugin_pos_poslog
  omniloop_plugin_callcenter_asterisk" bash scripts/build.sh build >/dev/null
echo
bash examples/quickstart/run.sh build/bin/omniloop
