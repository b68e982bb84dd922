#!/usr/bin/env bash
# What PostgreSQL itself can do on this machine for the CDP store's heaviest table: N event
# rows COPYed (its fastest bulk path) into a table shaped like the store's `events`
# (schemas/cdp/postgresql/0001_initial.sql: "C"-collated text id as primary key, index on
# (profile_id, occurred_at), JSONB attributes), and into the same table without indexes.
# Nothing else: no identity resolution, no profiles. It bounds what `omniloop run` into
# PostgreSQL can reach. The last line is not that floor but what it leaves room for: the same
# events plus every other row the store must end up holding for them, each COPYed once (a
# profile row and three identity rows per customer the events name, with the store's keys and
# index; no reads, no updates), as events/s.
#   eval "$(bench/start_pg.sh)"; bench/pg_floor.sh [N=1000000] [profiles=100000]; eval "$BENCH_PG_STOP"
set -euo pipefail
N="${1:-1000000}"
PROFILES="${2:-100000}"
: "${BENCH_PG_URI:?start a server first: eval \"\$(bench/start_pg.sh)\"}"
work="$(mktemp -d "${TMPDIR:-/tmp}/omniloop-pgfloor.XXXXXX")"
chmod 755 "$work"
trap 'rm -rf "$work"; psql "$BENCH_PG_URI" -qc "DROP TABLE IF EXISTS floor_events, floor_profiles, floor_identities" >/dev/null 2>&1 || true' EXIT
python3 - "$N" "$PROFILES" "$work" > "$work/events.tsv" <<'PY'
import json, random, sys
n, profiles = int(sys.argv[1]), int(sys.argv[2])
named = set()
rnd = random.Random(42)
ids = [f"{random.Random(p).getrandbits(128):032x}" for p in range(profiles)]
attributes = json.dumps({"order": {"total": 101.19, "currency": "EUR", "items": 3}, "store": "munich-centre",
                         "consent": {"analytics": False}, "score": 86, "customer": {"country": "FR"},
                         "note": "x" * 60})
for i in range(n):
    p = rnd.randrange(profiles)
    named.add(p)
    print(f"{rnd.getrandbits(128):032x}\tbench\tfile\t{ids[p]}\tpos\tpurchase\t"
          f"{1700000000000000 + rnd.randrange(31536000000000)}\t{i}\t{attributes}")
traits = json.dumps({"event_count": 1, "events_by_channel": {"pos": 1}})
with open(f"{sys.argv[3]}/profiles.tsv", "w") as pf, open(f"{sys.argv[3]}/identities.tsv", "w") as idf:
    for p in sorted(named, key=lambda p: random.Random(p).random()):
        pf.write(f"{ids[p]}\t1700000000000000\t1700000000000000\t1700000000000000\t1700000000000000\t{traits}\n")
        h = random.Random(p + 7)
        for t in ("email", "phone", "crm_id"):
            idf.write(f"{t}\th1:0badcafe:{h.getrandbits(256):064x}\t{ids[p]}\tfile\t1700000000000000\t1700000000000000\n")
PY
copy() {  # label ddl
  PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_PG_URI" -qc "DROP TABLE IF EXISTS floor_events" -c "$2" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  psql "$BENCH_PG_URI" -qc "\\copy floor_events FROM '$work/events.tsv'"
  t1=$(date +%s.%N)
  python3 -c "import sys; n, s = int(sys.argv[2]), float(sys.argv[3]) - float(sys.argv[1]); \
print(f'  {sys.argv[4]:<44} {n / s:>12,.0f} rows/s  ({s:.2f} s)')" "$t0" "$N" "$t1" "$1"
}
columns="pipeline TEXT NOT NULL, source TEXT NOT NULL, profile_id TEXT COLLATE \"C\", channel TEXT, type TEXT,
  occurred_at BIGINT, ingested_at BIGINT NOT NULL, attributes JSONB NOT NULL DEFAULT '{}'"
echo "$N event rows, $PROFILES profiles, $(psql "$BENCH_PG_URI" -Atc 'SHOW server_version')"
copy "rows only (no index)" "CREATE TABLE floor_events (id TEXT COLLATE \"C\" NOT NULL, $columns)"
copy "the store's primary key and index" \
  "CREATE TABLE floor_events (id TEXT COLLATE \"C\" PRIMARY KEY, $columns);
   CREATE INDEX floor_events_profile ON floor_events(profile_id, occurred_at)"
# The events as above, then each named customer's profile and identities, each table with the
# store's keys and index (schemas/cdp/postgresql/0001_initial.sql, 0006_pg_write_path.sql).
PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_PG_URI" -q \
  -c "DROP TABLE IF EXISTS floor_events, floor_profiles, floor_identities" \
  -c "CREATE TABLE floor_events (id TEXT COLLATE \"C\" PRIMARY KEY, $columns);
      CREATE INDEX floor_events_profile ON floor_events(profile_id, occurred_at)" \
  -c "CREATE TABLE floor_profiles (id TEXT COLLATE \"C\" PRIMARY KEY, created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
      traits JSONB NOT NULL DEFAULT '{}') WITH (fillfactor = 80)" \
  -c "CREATE TABLE floor_identities (type TEXT COLLATE \"C\" NOT NULL, hash TEXT COLLATE \"C\" NOT NULL,
      profile_id TEXT COLLATE \"C\" NOT NULL, source TEXT NOT NULL, first_seen BIGINT NOT NULL,
      last_seen BIGINT NOT NULL, PRIMARY KEY (type, hash)) WITH (fillfactor = 80);
      CREATE INDEX floor_identities_profile ON floor_identities(profile_id)" >/dev/null
t0=$(date +%s.%N)
psql "$BENCH_PG_URI" -qc "\\copy floor_events FROM '$work/events.tsv'" \
  -c "\\copy floor_profiles FROM '$work/profiles.tsv'" -c "\\copy floor_identities FROM '$work/identities.tsv'"
t1=$(date +%s.%N)
python3 -c "import sys; n, s = int(sys.argv[2]), float(sys.argv[3]) - float(sys.argv[1]); \
print(f'  {\"+ each profile and 3 identities once\":<44} {n / s:>12,.0f} events/s  ({s:.2f} s)')" "$t0" "$N" "$t1"
