#!/usr/bin/env bash
# Runs every quickstart pipeline into var/quickstart.db and prints what landed in the store.
# Creates the sample SuiteCRM database var/quickstart-suitecrm.db first (SQLite, read through
# Debian's SQLite ODBC driver, registered in a private var/odbc/: nothing under /etc changes).
# usage: examples/quickstart/run.sh [path/to/omniloop]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
omniloop="${1:-$root/build/bin/omniloop}"
var="$root/var"
mkdir -p "$var"
rm -f "$var/quickstart.db" "$var/quickstart.db-wal" "$var/quickstart.db-shm"
start_ms=$(( $(date +%s%N) / 1000000 ))

# The service team's SuiteCRM database: the SuiteCRM tables crm.odbc reads, and the sample rows.
crm_db="$var/quickstart-suitecrm.db"
if ! command -v sqlite3 >/dev/null; then
  echo "quickstart: sqlite3 (the SQLite shell) is missing: run scripts/setup.sh or apt-get install sqlite3" >&2
  exit 1
fi
rm -f "$crm_db"
cat "$root/plugins/crm.odbc/sql/suitecrm-schema.sql" "$here/data/crm/suitecrm-data.sql" |
  sqlite3 -bail "$crm_db"

# Debian's SQLite 3 ODBC driver (package libsqliteodbc), under a private unixODBC configuration.
driver=""
for f in /usr/lib/*/odbc/libsqlite3odbc.so /usr/lib/odbc/libsqlite3odbc.so; do
  if [ -e "$f" ]; then driver="$f"; break; fi
done
if [ -z "$driver" ]; then
  echo "quickstart: the SQLite ODBC driver libsqlite3odbc.so is missing: run scripts/setup.sh or apt-get install libsqliteodbc unixodbc" >&2
  exit 1
fi
mkdir -p "$var/odbc"
printf '[SQLite3]\nDescription=SQLite 3 ODBC driver (Debian libsqliteodbc)\nDriver=%s\n' "$driver" \
  >"$var/odbc/odbcinst.ini"
printf '[omniloop-quickstart-suitecrm]\nDescription=quickstart SuiteCRM database\nDriver=SQLite3\nDatabase=%s\nNoCreat=1\n' \
  "$crm_db" >"$var/odbc/odbc.ini"
export ODBCSYSINI="$var/odbc" ODBCINI="$var/odbc/odbc.ini"

# The CRMs first (SuiteCRM over ODBC, the Salesforce report export), then the shop, the tills,
# the call center and social. --stop-when-idle: the polled CRM source ends once it has read
# every row (file sources end at their end anyway).
for p in crm-suitecrm-odbc crm-contacts pos-orders pos-tills call-center-cdr social-mastodon; do
  "$omniloop" run "$here/pipelines/$p.yaml" --config "$here/omniloop.yaml" --no-progress \
    --stop-when-idle
  echo
done
"$omniloop" stats --config "$here/omniloop.yaml"
echo
# One customer seen by both CRMs, the shop, a till and the call center, as one profile.
"$omniloop" profile --identity email:amy@demo.net --timeline 12 --config "$here/omniloop.yaml"
ms=$(( $(date +%s%N) / 1000000 - start_ms ))
printf '\nquickstart finished in %d.%03d s; the store is var/quickstart.db\n' $((ms / 1000)) $((ms % 1000))
echo "every attribute (her calls' queue.wait_seconds, the till's items and tenders): add --json, e.g."
echo "  build/bin/omniloop profile --identity email:amy@demo.net --json --config examples/quickstart/omniloop.yaml"
