#!/usr/bin/env bash
# Throughput and memory benchmark. Prints events/s, CPU seconds and peak RSS for
#   file.jsonl -> map -> filter -> discard        (engine + parsing, one worker thread)
#   file.jsonl -> map -> filter -> cdp (SQLite)   (the embedded store)
# usage: bench/run.sh [N=1000000] [customers=100000] [build-dir=build]
# Not a timed test: run it by hand on an idle machine and compare ratios within one run.
set -euo pipefail
N="${1:-1000000}"
CUSTOMERS="${2:-100000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${3:-$root/build}"
work="$(mktemp -d "${TMPDIR:-/tmp}/omniloop-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

TARGETS="omniloop omniloop_plugin_omniloop_files gen_events" bash "$root/scripts/build.sh" "$BUILD" >/dev/null
echo "generating $N events from $CUSTOMERS customers..."
"$BUILD/bin/gen_events" "$N" "$CUSTOMERS" "$work/events.jsonl"
echo "input: $(du -m "$work/events.jsonl" | cut -f1) MiB, $(( $(stat -c %s "$work/events.jsonl") / N )) bytes/event"

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
write_pipeline store cdp

run() {  # label pipeline
  rm -f "$work"/bench.db*
  local json
  json="$("$BUILD/bin/omniloop" run "$work/$2.yaml" --store "sqlite:$work/bench.db" --json --no-progress)"
  python3 - "$1" "$json" <<'PY'
import json, sys
label, j = sys.argv[1], json.loads(sys.argv[2])
secs = j["seconds"]
print(f"{label:<34} {j['read']:>10} read {j['written']:>10} written "
      f"{j['read']/secs:>12,.0f} events/s  cpu {j['cpu_seconds']:.2f} s  "
      f"peak RSS {j['peak_rss_mib']:.0f} MiB")
PY
}
echo
run "jsonl -> map -> filter -> discard" discard
run "jsonl -> map -> filter -> sqlite" store
