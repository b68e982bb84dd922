#!/usr/bin/env bash
# Throughput and memory benchmark. Prints events/s, CPU seconds and peak RSS for
#   file.jsonl -> map -> filter -> discard        (engine + parsing, one worker thread)
#   the same with `isolation: process`            (the bundled file.jsonl source in a worker)
#   file.jsonl -> map -> test.tag -> filter -> discard, the plugin stage in process and isolated
#                                                 (plugin isolation: its cost, target >= 0.7x)
#   file.jsonl -> map -> filter -> test.count, the plugin sink in process and isolated
#   file.jsonl -> map -> mask -> discard          (hmac of email + phone per event)
#   file.jsonl -> map -> consent -> discard       (a TC string per event, decoded; one thread)
#   file.jsonl -> map -> filter -> cdp (SQLite)   (the embedded store, one identity)
#   file.jsonl -> map -> cdp (SQLite)             (identify: email, phone, crm_id; every event)
#   the same into PostgreSQL when BENCH_PG_URI is set (eval "$(bench/start_pg.sh)")
# The identify runs read their own file (`gen_events ... real`: phones written as people write
# them) and are each printed next to the engine's floor for the same N and customers, with the
# ratio (issue 10 section 3): bench/sqlite_floor's "store's indexes, a commit per group" and
# bench/pg_floor.sh's "COPY with the store's primary key and index"; and under it the room the
# engine leaves (those events plus each customer's profile and identities written once).
# usage: bench/run.sh [N=1000000] [customers=100000] [build-dir=build]
#   BENCH_ONLY="word ..." runs only those (space- or comma-separated): discard, isolation,
#     mask, consent, privacy, store, sqlite (identify -> SQLite and its floor), pg (identify ->
#     PostgreSQL and its floor), identify (= sqlite pg), growth (the growth mode below, to
#     BENCH_GROWTH_TOTAL events, default 5200000, in slices of 200000; only when named, so
#     `BENCH_ONLY=identify,growth` prints all of issue 10's figures in one invocation); default:
#     all (but growth).
#   BENCH_NO_BUILD=1 uses the binaries in the build directory as they are (build them first with
#     olbuild omniloop omniloop_plugin_omniloop_files gen_events sqlite_floor ...).
#        bench/run.sh growth [total=1200000] [customers=200000] [slice=200000] [build-dir=build]
# The growth mode feeds the identify pipeline (realistic phone formatting) into ONE SQLite store
# slice after slice, one `omniloop run` per slice, and prints each slice's CPU per event next to
# the first (empty-store) slice's and its peak RSS: issue 10's flat-cost curve; the slice fed
# into 1,000,000 held events also goes into an empty store right after, for the verdict. Its data and
# store live under $BENCH_DIR (default /work/tmp-bench, else $TMPDIR) and are removed at exit.
# Not a timed test: run it by hand on an idle machine and compare ratios within one run.
set -euo pipefail
if [ "${1:-}" = growth ]; then
  shift
  exec bash "$(dirname "$0")/growth.sh" "$@"
fi
N="${1:-1000000}"
CUSTOMERS="${2:-100000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${3:-$root/build}"
work="$(mktemp -d "${TMPDIR:-/tmp}/omniloop-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

ONLY=" $(tr ',' ' ' <<<"${BENCH_ONLY:-all}") "
ONLY="${ONLY/ identify / sqlite pg }"
selected() {  # word: whether BENCH_ONLY selects it
  [[ "$ONLY" == *" all "* || "$ONLY" == *" $1 "* ]]
}
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  TARGETS="omniloop omniloop_plugin_omniloop_files gen_events sqlite_floor omniloop-plugin-worker omniloop_plugin_test_good" bash "$root/scripts/build.sh" "$BUILD" >/dev/null
fi
if selected discard || selected isolation || selected mask || selected store; then
  echo "generating $N events from $CUSTOMERS customers..."
  "$BUILD/bin/gen_events" "$N" "$CUSTOMERS" "$work/events.jsonl"
  echo "input: $(du -m "$work/events.jsonl" | cut -f1) MiB, $(( $(stat -c %s "$work/events.jsonl") / N )) bytes/event"
fi
if selected consent || selected privacy; then
  "$BUILD/bin/gen_events" "$N" "$CUSTOMERS" "$work/events-tcf.jsonl" 42 tcf
fi
if selected sqlite || { selected pg && [ -n "${BENCH_PG_URI:-}" ]; }; then
  echo "generating $N identify events from $CUSTOMERS customers (phones as people write them)..."
  "$BUILD/bin/gen_events" "$N" "$CUSTOMERS" "$work/events-real.jsonl" 42 real
  echo "input: $(du -m "$work/events-real.jsonl" | cut -f1) MiB, $(( $(stat -c %s "$work/events-real.jsonl") / N )) bytes/event"
fi

write_pipeline() {  # name sink-type
  cat > "$work/$1.yaml" <<YAML
version: 1
name: bench-$1
source:
  type: file.jsonl
  with: { path: $work/events.jsonl, key_field: event_id }
stages:
  - map:
      rename: { customer.email: email, customer.phone: phone }
      copy: { email: \$identities.email, channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
      cast: { score: int }
  - filter: 'consent.analytics == true and order.total >= 1'
sink:
  type: $2
batch: { size: 4096 }
YAML
}
write_pipeline discard discard
# The file.jsonl source is a plugin bundled with omniloop: by default in the host
# (plugin_isolation.bundled); in a worker process here.
{ cat "$work/discard.yaml"; echo "isolation: process"; } > "$work/discard-process.yaml"
# A plugin sink (test.count of test.good: every live event rendered as JSON), in the host
# (`isolation: in_process`) and, by default, in its worker process (the bundled source stays in
# the host in both, so the ratio is the sink's alone).
write_pipeline sink-in_process test.count
echo "isolation: in_process" >> "$work/sink-in_process.yaml"
write_pipeline sink-process test.count
# Plugin isolation (issue 15): the discard workload plus one plugin stage (test.tag of the test
# plugin test.good: one string field set per event), in the host and, by default, in its worker
# process (the bundled source in the host in both).
for mode in in_process process; do
  cat > "$work/plugin-$mode.yaml" <<YAML
version: 1
name: bench-plugin-$mode
$([ "$mode" = in_process ] && echo "isolation: in_process")
source:
  type: file.jsonl
  with: { path: $work/events.jsonl, key_field: event_id }
stages:
  - map:
      rename: { customer.email: email, customer.phone: phone }
      copy: { email: \$identities.email, channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
      cast: { score: int }
  - test.tag: { tag: benched }
  - filter: 'consent.analytics == true and order.total >= 1'
sink:
  type: discard
batch: { size: 4096 }
YAML
done
# The consent workload: the same map, then a consent stage deciding from each event's TC string
# (8 different strings, picked at random per event: nearly every event is decoded).
cat > "$work/consent.yaml" <<YAML
version: 1
name: bench-consent
source:
  type: file.jsonl
  with: { path: $work/events-tcf.jsonl, key_field: event_id }
stages:
  - map:
      rename: { customer.email: email, customer.phone: phone }
      copy: { email: \$identities.email, channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
      cast: { score: int }
  - consent: { require: [ads], tcf_field: tc_string, missing: keep }
sink:
  type: discard
batch: { size: 4096 }
YAML
# Issue 11's privacy workload: a TC string decoded per event, then email and phone hmac'd.
cat > "$work/privacy.yaml" <<YAML
version: 1
name: bench-privacy
source:
  type: file.jsonl
  with: { path: $work/events-tcf.jsonl, key_field: event_id }
stages:
  - map:
      rename: { customer.email: email, customer.phone: phone }
      copy: { channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
      cast: { score: int }
  - consent: { require: [ads], tcf_field: tc_string, missing: keep }
  - mask: { email: hmac, phone: { hmac: { as: phone, region: "+1" } } }
sink:
  type: discard
batch: { size: 4096 }
YAML
cat > "$work/omniloop.yaml" <<YAML
privacy:
  purposes:
    ads: { basis: consent, tcf: [1, 3, 4] }
  tcf: { vendor_id: 23 }
YAML
write_pipeline store cdp
# The identify workload runs at the default batch size into SQLite: the default store_cache
# bounds (a 160 MiB page cache) keep peak RSS under 256 MiB at that size, and larger batches
# gain nothing there (the group commit spans batches). PostgreSQL takes 4,096-event batches:
# each batch is a round of statements to the server.
cat > "$work/identify.yaml" <<YAML
version: 1
name: bench-identify
source:
  type: file.jsonl
  with: { path: $work/events-real.jsonl, key_field: event_id }
stages:
  - map:
      copy: { customer.email: \$identities.email, customer.phone: \$identities.phone,
              customer.id: \$identities.crm_id, channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
sink:
  type: cdp
YAML
{ sed 's/^name: bench-identify$/name: bench-identify-pg/' "$work/identify.yaml"
  echo "batch: { size: 4096 }"; } > "$work/identify-pg.yaml"
cat > "$work/mask.yaml" <<YAML
version: 1
name: bench-mask
source:
  type: file.jsonl
  with: { path: $work/events.jsonl, key_field: event_id }
stages:
  - map:
      rename: { customer.email: email, customer.phone: phone }
      copy: { channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
      cast: { score: int }
  - mask: { email: hmac, phone: { hmac: { as: phone, region: "+1" } } }
sink:
  type: discard
batch: { size: 4096 }
YAML
# A fixed key: the PostgreSQL store has no directory to keep a generated one in.
export OMNILOOP_KEY="${OMNILOOP_KEY:-$(printf '6b%.0s' $(seq 32))}"

run() {  # label pipeline [store-uri]
  rm -f "$work"/bench.db*
  local json
  json="$("$BUILD/bin/omniloop" run "$work/$2.yaml" --store "${3:-sqlite:$work/bench.db}" --json --no-progress)"
  python3 - "$1" "$json" "$work/rate-$2" <<'PY'
import json, sys
label, j = sys.argv[1], json.loads(sys.argv[2])
secs = j["seconds"]
open(sys.argv[3], "w").write(str(j["read"] / secs))
print(f"{label:<34} {j['read']:>10} read {j['written']:>10} written "
      f"{j['read']/secs:>12,.0f} events/s  cpu {j['cpu_seconds']:.2f} s  "
      f"peak RSS {j['peak_rss_mib']:.0f} MiB")
PY
}
echo
ratio() {  # label in-process-pipeline isolated-pipeline
  python3 -c "import sys; a, b = (float(open(f).read()) for f in sys.argv[2:]); print(f'{sys.argv[1]:<34} isolated/in-process = {b / a:.2f}x (target >= 0.7x)')" \
    "$1" "$work/rate-$2" "$work/rate-$3"
}
if selected discard; then
  run "jsonl -> map -> filter -> discard" discard
fi
if selected isolation; then
  run "jsonl -> map -> filter -> discard (iso)" discard-process
  [ -f "$work/rate-discard" ] || run "jsonl -> map -> filter -> discard" discard
  ratio "source isolation cost" discard discard-process
  export OMNILOOP_PLUGIN_PATH="$BUILD/test-plugins/good"
  run "jsonl -> map -> plugin -> discard (in)" plugin-in_process
  run "jsonl -> map -> plugin -> discard (iso)" plugin-process
  ratio "plugin isolation cost" plugin-in_process plugin-process
  run "jsonl -> map -> plugin sink (in)" sink-in_process
  run "jsonl -> map -> plugin sink (iso)" sink-process
  ratio "sink isolation cost" sink-in_process sink-process
  unset OMNILOOP_PLUGIN_PATH
fi
if selected mask; then run "jsonl -> map -> mask(hmac) -> discard" mask; fi
if selected consent; then
  OMNILOOP_CONFIG="$work/omniloop.yaml" run "jsonl -> map -> consent(tcf) -> discard" consent
fi
if selected privacy; then
  OMNILOOP_CONFIG="$work/omniloop.yaml" run "jsonl -> map -> consent -> mask -> discard" privacy
fi
if selected store; then run "jsonl -> map -> filter -> sqlite" store; fi
# Issue 10 section 3: each identify run next to its engine's floor (the same N, the customers as
# profiles) and the ratio; target >= 0.5x. Then the room the engine leaves: the floor's events
# plus each customer's profile and three identities written once, nothing read (what any
# pipeline keeping this store's rows would at best reach), and its ratio to the floor.
floor_ratio() {  # floor-label identify-rate-file floor-rows/s ratio-label room-events/s
  python3 - "$@" <<'PY'
import sys
label, rate, floor, what = sys.argv[1], float(open(sys.argv[2]).read()), float(sys.argv[3]), sys.argv[4]
print(f"{label:<34} {floor:>44,.0f} rows/s")
print(f"{what:<34} {rate / floor:.2f}x (target >= 0.5x)")
if len(sys.argv) > 5 and sys.argv[5]:
    room = float(sys.argv[5])
    print(f"{'  rows alone (+ profiles, identities)':<34} {room:>44,.0f} events/s = {room / floor:.2f}x the floor")
PY
}
if selected sqlite; then
  run "jsonl -> map -> identify -> sqlite" identify
  # The store's indexes (unique event id, (profile_id, occurred_at)), one transaction per group.
  floors="$("$BUILD/bin/sqlite_floor" "$N" "$CUSTOMERS" "$work" group,store)"
  floor="$(awk '/one group/ {print $(NF-3)}' <<<"$floors")"
  room="$(awk '/identities once/ {print $(NF-3)}' <<<"$floors")"
  floor_ratio "sqlite_floor (indexes, per group)" "$work/rate-identify" "$floor" \
    "identify -> sqlite / sqlite_floor =" "$room"
fi
if selected pg && [ -n "${BENCH_PG_URI:-}" ]; then
  PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_PG_URI" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
  run "jsonl -> map -> identify -> postgresql" identify-pg "$BENCH_PG_URI"
  PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_PG_URI" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
  # COPY with the store's primary key and index.
  floors="$(bash "$root/bench/pg_floor.sh" "$N" "$CUSTOMERS")"
  floor="$(awk '/primary key and index/ {gsub(",", "", $(NF-3)); print $(NF-3)}' <<<"$floors")"
  room="$(awk '/identities once/ {gsub(",", "", $(NF-3)); print $(NF-3)}' <<<"$floors")"
  floor_ratio "pg_floor (COPY, key and index)" "$work/rate-identify-pg" "$floor" \
    "identify -> postgresql / pg_floor =" "$room"
fi
if [[ "$ONLY" == *" growth "* ]]; then
  echo
  BENCH_NO_BUILD=1 bash "$root/bench/growth.sh" "${BENCH_GROWTH_TOTAL:-5200000}" "$CUSTOMERS" 200000 "$BUILD"
fi
