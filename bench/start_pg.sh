#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server (Debian's packages) for benchmarks, on a free loopback
# port, in a temp directory, tuned like the tests' server (fsync off: not for real data).
#   eval "$(bench/start_pg.sh)"      # sets BENCH_PG_URI and BENCH_PG_STOP
#   bench/run.sh 1000000
#   eval "$BENCH_PG_STOP"
# As root the server runs as the `postgres` (or `nobody`) user: initdb refuses root.
set -euo pipefail
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "start_pg: PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/omniloop-benchpg.XXXXXX")"
chmod 755 "$dir"
as=()
if [ "$(id -u)" -eq 0 ]; then
  user=postgres
  id -u "$user" >/dev/null 2>&1 || user=nobody
  chown "$user" "$dir"
  as=(runuser -u "$user" --)
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as[@]}" "$bin/initdb" -D "$dir/data" -U omniloop --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
  --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
  "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off \
   -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c max_wal_size=4GB" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
stop="${as[*]} $bin/pg_ctl -D $dir/data -m fast -w stop >/dev/null; rm -rf $dir"
echo "export BENCH_PG_URI='postgresql://omniloop@127.0.0.1:$port/postgres'"
echo "export BENCH_PG_STOP='$stop'"
