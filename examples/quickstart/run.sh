#!/usr/bin/env bash
# Runs every quickstart pipeline into var/quickstart.db and prints what landed in the store.
# usage: examples/quickstart/run.sh [path/to/omniloop]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
omniloop="${1:-$root/build/bin/omniloop}"
mkdir -p "$root/var"
rm -f "$root/var/quickstart.db" "$root/var/quickstart.db-wal" "$root/var/quickstart.db-shm"
start_ms=$(( $(date +%s%N) / 1000000 ))
for p in crm-contacts pos-orders call-center-cdr social-mastodon; do
  "$omniloop" run "$here/pipelines/$p.yaml" --config "$here/omniloop.yaml" --no-progress
  echo
done
"$omniloop" stats --config "$here/omniloop.yaml"
echo
# One customer seen by the CRM, the shop and the call center, as one profile.
"$omniloop" profile --identity email:amy@demo.net --timeline 10 --config "$here/omniloop.yaml"
ms=$(( $(date +%s%N) / 1000000 - start_ms ))
printf '\nquickstart finished in %d.%03d s; the store is var/quickstart.db\n' $((ms / 1000)) $((ms % 1000))
