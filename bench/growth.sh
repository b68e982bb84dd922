#!/usr/bin/env bash
# Store growth curve (issue 10 section 2): CPU per event of each slice of new events as the
# SQLite store grows. Called as `bench/run.sh growth [total] [customers] [slice] [build-dir]`.
# The slice fed into 1,000,000 held events is fed into an empty store too, right after: its
# ratio to that is the section 2 verdict (the first slice ran minutes earlier, perhaps in another
# spell of a shared machine's load).
set -euo pipefail
TOTAL="${1:-1200000}"
CUSTOMERS="${2:-200000}"
# One size for every slice, or a comma-separated list (the last size repeats): 200000,800000
SLICES="${3:-200000}"
IFS=, read -r -a sizes <<<"$SLICES"
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${4:-$root/build}"
base="${BENCH_DIR:-/work/tmp-bench}"
[ -d "$base" ] && [ -w "$base" ] || base="${TMPDIR:-/tmp}"
work="$(mktemp -d "$base/omniloop-growth.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  TARGETS="omniloop omniloop_plugin_omniloop_files gen_events" bash "$root/scripts/build.sh" "$BUILD" >/dev/null
fi
export OMNILOOP_KEY="${OMNILOOP_KEY:-$(printf '6b%.0s' $(seq 32))}"
echo "growth: $TOTAL events from $CUSTOMERS customers in slices of $SLICES into one SQLite store"
printf '%-10s %10s %12s %10s %8s %10s\n' "held" "slice" "events/s" "cpu us/ev" "x first" "peak RSS"
first_cost=""
slice=0
held=0
while [ "$held" -lt "$TOTAL" ]; do
  size="${sizes[$(( slice < ${#sizes[@]} ? slice : ${#sizes[@]} - 1 ))]}"
  n=$(( TOTAL - held < size ? TOTAL - held : size ))
  # The default batch size and store_cache bounds: what a user's pipeline gets.
  # Another seed per slice and event numbers following the previous slice's: new events of the
  # same customers.
  "$BUILD/bin/gen_events" "$n" "$CUSTOMERS" "$work/slice.jsonl" $(( slice + 1 )) real "$held"
  cat > "$work/identify.yaml" <<YAML
version: 1
name: bench-growth-$slice
source:
  type: file.jsonl
  with: { path: $work/slice-$slice.jsonl, key_field: event_id }
stages:
  - map:
      copy: { customer.email: \$identities.email, customer.phone: \$identities.phone,
              customer.id: \$identities.crm_id, channel: \$channel, type: \$type }
      time: { from: ts, format: unix }
sink:
  type: cdp
YAML
  mv "$work/slice.jsonl" "$work/slice-$slice.jsonl"
  json="$("$BUILD/bin/omniloop" run "$work/identify.yaml" --store "sqlite:$work/growth.db" --json --no-progress)"
  if [ "$held" -eq 1000000 ]; then
    # The section 2 figure again against the same events fed into an empty store right after,
    # so that a slow spell of a shared machine weighs on both sides of the ratio.
    empty="$("$BUILD/bin/omniloop" run "$work/identify.yaml" --store "sqlite:$work/empty.db" --json --no-progress)"
    rm -f "$work"/empty.db*
    python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(j["cpu_seconds"] / j["read"] * 1e6)' \
      "$empty" >"$work/adjacent"
  fi
  rm -f "$work/slice-$slice.jsonl"
  line="$(python3 - "$held" "$json" "$first_cost" <<'PY'
import json, sys
held, j, first = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
cost = j["cpu_seconds"] / j["read"] * 1e6
ratio = cost / float(first) if first else 1.0
print(f"{cost:.3f}")
print(f"{held:<10,} {j['read']:>10,} {j['read']/j['seconds']:>12,.0f} {cost:>10.2f} {ratio:>7.2f}x "
      f"{j['peak_rss_mib']:>6.0f} MiB")
PY
)"
  cost="$(head -1 <<<"$line")"
  [ -n "$first_cost" ] || first_cost="$cost"
  tail -1 <<<"$line"
  tail -1 <<<"$line" >>"$work/curve"
  held=$(( held + n ))
  slice=$(( slice + 1 ))
done
echo "store file: $(du -m "$work/growth.db" | cut -f1) MiB"
# Issue 10 section 2's two targets, read off the curve above.
python3 - "$work/curve" "$work/adjacent" <<'PY'
import os, sys
rows = [line.split() for line in open(sys.argv[1])]
held = {int(r[0].replace(",", "")): float(r[4].rstrip("x")) for r in rows}
cost = {int(r[0].replace(",", "")): float(r[3]) for r in rows}
peak = max(float(r[5]) for r in rows)
if 1000000 in held:
    print(f"new events into 1,000,000 held: {held[1000000]:.2f}x the first slice's CPU per event")
    if os.path.exists(sys.argv[2]):
        empty = float(open(sys.argv[2]).read())
        print(f"  the same events into an empty store right after: {empty:.2f} us/event, so "
              f"{cost[1000000] / empty:.2f}x (target <= 1.3x)")
print(f"peak RSS at any size: {peak:.0f} MiB (target < 256 MiB)")
PY
