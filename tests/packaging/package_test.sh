#!/usr/bin/env bash
# The Debian packages, end to end:
#   tests/packaging/package_test.sh <omniloop build dir>
# 1. configures <build>-package (a sibling of <build>) for the system layout (-DOMNILOOP_PACKAGE_LAYOUT=ON,
#    prefix /usr, no tests, no benchmarks), builds it and runs
#    `cpack -G DEB`;
# 2. checks both packages with dpkg-deb: files, conffiles, maintainer scripts, dependencies;
# 3. `systemd-analyze verify`s the packaged unit (ExecStart pointed at the unpacked binary);
# 4. unpacks both packages into a scratch root (dpkg -x), checks the unpacked SDK configures a
#    vendor plugin project, then runs the unpacked omniloopd on the packaged omniloop.yaml with
#    its paths rewritten into a temporary directory: /health, /metrics (401 without the token,
#    counters with it), a followed JSON-lines file ingested (and lines appended later too),
#    JSON log lines without personal data, SIGTERM -> exit 0.
#
# The build takes /tmp/omniloop-build.lock (the shared machine's build lock) while it builds;
# set OMNILOOP_BUILD_LOCK= (empty) when the caller already holds it, or another path.
set -euo pipefail

fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
step() { echo "package_test: $*"; }

[[ $# -eq 1 ]] || { echo "usage: $0 <omniloop build dir>" >&2; exit 2; }
build=$(cd "$1" && pwd) || fail "build directory '$1' does not exist"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# A sibling of the build dir, at the same depth below the source tree: with CCACHE_BASEDIR at
# the source tree, ccache sees the same relative command lines as for <build> and hands back
# the objects <build> compiled, so the package build costs links, not a third compilation.
pkg_build=${build}-package
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$src}
for tool in cmake cpack dpkg-deb dpkg curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omniloop-package.XXXXXX")
daemon_pid=
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
log=$tmp/log.txt
show() { [[ -f $1 ]] && tail -n 60 "$1" >&2; return 0; }

# ---- 1. build the packages ----------------------------------------------------------------
lock=()
lock_file=${OMNILOOP_BUILD_LOCK-/tmp/omniloop-build.lock}
if [[ -n $lock_file ]] && command -v flock >/dev/null 2>&1; then
  lock=(flock -w 1800 "$lock_file")
fi
generator=()
if [[ ! -f $pkg_build/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
step "configuring $pkg_build"
"${lock[@]}" cmake -S "$src" -B "$pkg_build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DOMNILOOP_PACKAGE_LAYOUT=ON -DCMAKE_INSTALL_PREFIX=/usr \
  -DOMNILOOP_TESTS=OFF -DOMNILOOP_BENCH=OFF >"$log" 2>&1 ||
  { show "$log"; fail "configuring the package build failed"; }
step "building $pkg_build"
"${lock[@]}" cmake --build "$pkg_build" -j2 >"$log" 2>&1 ||
  { show "$log"; fail "building the package build failed"; }
step "cpack -G DEB"
rm -rf "$pkg_build/packages"
(cd "$pkg_build" && cpack -G DEB -B "$pkg_build/packages") >"$log" 2>&1 ||
  { show "$log"; fail "cpack -G DEB failed"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$pkg_build/CMakeCache.txt")
[[ -n $version ]] || fail "no CMAKE_PROJECT_VERSION in $pkg_build/CMakeCache.txt"
arch=$(dpkg --print-architecture)
runtime_deb=$pkg_build/packages/omniloop_${version}-1_${arch}.deb
dev_deb=$pkg_build/packages/omniloop-dev_${version}-1_${arch}.deb
[[ -f $runtime_deb ]] || { ls -l "$pkg_build/packages" >&2; fail "no $runtime_deb"; }
[[ -f $dev_deb ]] || { ls -l "$pkg_build/packages" >&2; fail "no $dev_deb"; }

# ---- 2. contents and metadata ---------------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
[[ $(field "$runtime_deb" Package) == omniloop ]] || fail "runtime package is not named omniloop"
[[ $(field "$dev_deb" Package) == omniloop-dev ]] || fail "dev package is not named omniloop-dev"
[[ $(field "$runtime_deb" Version) == "$version-1" ]] ||
  fail "runtime package version is '$(field "$runtime_deb" Version)', expected $version-1"
depends=$(field "$runtime_deb" Depends)
step "omniloop Depends: $depends"
for dep in adduser libc6 libstdc++6 libspdlog libyaml-cpp libsqlite3 libpoco; do
  [[ $depends == *"$dep"* ]] ||
    fail "omniloop does not depend on $dep (dpkg-shlibdeps not run?): $depends"
done

dpkg-deb -c "$runtime_deb" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' >"$tmp/runtime.list"
dpkg-deb -c "$dev_deb" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' >"$tmp/dev.list"
has() { grep -qxF "$2" "$1" || { cat "$1" >&2; fail "$(basename "$1" .list) package lacks $2"; }; }
for f in /usr/bin/omniloop /usr/bin/omniloopd /usr/lib/omniloop/omniloop-plugin-worker \
         /etc/omniloop/omniloop.yaml \
         /etc/omniloop/pipelines.d /etc/omniloop/pipelines.d/README \
         /lib/systemd/system/omniloop.service /etc/logrotate.d/omniloop \
         /usr/share/doc/omniloop/copyright /usr/share/doc/omniloop/README.md \
         /usr/share/omniloop/pipelines/README.md; do
  has "$tmp/runtime.list" "$f"
done
plugins=0
for so in "$pkg_build"/lib/omniloop/plugins/*.so; do
  [[ -e $so ]] || continue
  has "$tmp/runtime.list" "/usr/lib/omniloop/plugins/$(basename "$so")"
  plugins=$((plugins + 1))
done
((plugins > 0)) || fail "the package build produced no plugins"
for p in "$src"/pipelines/*.yaml; do
  has "$tmp/runtime.list" "/usr/share/omniloop/pipelines/$(basename "$p")"
done
! grep -q '^/usr/include' "$tmp/runtime.list" || fail "the runtime package holds SDK headers"
! grep -q '^/etc/omniloop/admin.token' "$tmp/runtime.list" ||
  fail "the package ships an admin token (postinst must generate it per host)"
has "$tmp/dev.list" /usr/include/omniloop/plugin.h
for f in omniloopConfig.cmake omniloopConfigVersion.cmake omniloopTargets.cmake omniloop_plugin.cmake; do
  grep -qE "^/usr/lib/([^/]+/)?cmake/omniloop/$f\$" "$tmp/dev.list" ||
    { cat "$tmp/dev.list" >&2; fail "omniloop-dev lacks cmake/omniloop/$f"; }
done
! grep -q '^/usr/bin/' "$tmp/dev.list" || fail "omniloop-dev holds programs"

control=$tmp/control
dpkg-deb -e "$runtime_deb" "$control"
printf '%s\n' /etc/logrotate.d/omniloop /etc/omniloop/omniloop.yaml \
  /etc/omniloop/pipelines.d/README >"$tmp/conffiles.expected"
sort "$control/conffiles" | diff -u "$tmp/conffiles.expected" - ||
  fail "conffiles differ from the expected list"
for script in postinst prerm postrm; do
  [[ -x $control/$script ]] || fail "maintainer script $script is missing or not executable"
  sh -n "$control/$script" || fail "maintainer script $script has a syntax error"
done
grep -q 'adduser --system' "$control/postinst" || fail "postinst does not create the system user"
grep -q '/etc/omniloop/admin.token' "$control/postinst" || fail "postinst does not create the token"
grep -q 'omniloop.key' "$control/postinst" || fail "postinst does not create the key"

# ---- 3. unpack into a scratch root ----------------------------------------------------------
root=$tmp/root
step "unpacking into $root"
dpkg -x "$runtime_deb" "$root"
dpkg -x "$dev_deb" "$root"
omniloop=$root/usr/bin/omniloop
omniloopd=$root/usr/bin/omniloopd
[[ -x $omniloopd ]] || fail "no executable $omniloopd after dpkg -x"

# The unit bounds the daemon's memory (MemoryMax=, documented in operations.md and overridable
# by a drop-in) and gives start-up the plugin probe budget (core/plugin/probe.h) plus a margin.
step "unit limits: MemoryMax=, TimeoutStartSec="
unit_file=$root/lib/systemd/system/omniloop.service
memory_max=$(sed -n 's/^MemoryMax=//p' "$unit_file")
[[ $memory_max =~ ^[0-9]+[KMGT]?$ ]] || fail "the unit sets no MemoryMax= (got '$memory_max')"
grep -q 'MemoryMax=' "$src/docs/operations.md" || fail "docs/operations.md does not document MemoryMax="
start_timeout=$(sed -n 's/^TimeoutStartSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit_file")
[[ -n $start_timeout ]] || fail "the unit sets no TimeoutStartSec= in seconds"
probe_budget_ms=$(sed -n 's/.*kProbeBudgetMs = \([0-9]*\);.*/\1/p' "$src/core/plugin/probe.h")
[[ -n $probe_budget_ms ]] || fail "no kProbeBudgetMs in core/plugin/probe.h"
(( start_timeout >= probe_budget_ms / 1000 + 15 )) ||
  fail "TimeoutStartSec=$start_timeout leaves no room after the ${probe_budget_ms} ms plugin probe budget"
(( start_timeout <= probe_budget_ms / 1000 + 120 )) ||
  fail "TimeoutStartSec=$start_timeout is far beyond the plugin probe budget (a hung start-up waits that long)"

if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify"
  unit=$tmp/omniloop.service  # verify needs ExecStart's binary to exist: point it at ours
  sed "s|^ExecStart=/usr/bin/omniloopd|ExecStart=$omniloopd|" \
    "$root/lib/systemd/system/omniloop.service" >"$unit"
  grep -q "^ExecStart=$omniloopd " "$unit" || fail "the unit has no ExecStart=/usr/bin/omniloopd"
  systemd-analyze verify "$unit" >"$log" 2>&1 || { cat "$log" >&2; fail "systemd-analyze verify failed"; }
  [[ ! -s $log ]] || { cat "$log" >&2; fail "systemd-analyze verify warned"; }
else
  step "systemd-analyze not installed: unit not verified"
fi

cd "$tmp"  # no stray omniloop.yaml is picked up
"$omniloop" --version >"$log" 2>&1 || { cat "$log" >&2; fail "unpacked 'omniloop --version' failed"; }
"$omniloop" plugins >"$log" 2>&1 || { cat "$log" >&2; fail "unpacked 'omniloop plugins' failed"; }
grep -q 'file\.jsonl' "$log" ||
  { cat "$log" >&2; fail "the unpacked omniloop does not find its bundled plugins"; }

step "configuring examples/vendor-plugin against the unpacked SDK"
cmake -S "$src/examples/vendor-plugin" -B "$tmp/vendor-build" -DCMAKE_PREFIX_PATH="$root/usr" \
  >"$log" 2>&1 || { show "$log"; fail "find_package(omniloop) fails with the unpacked omniloop-dev"; }

# ---- 4. run the unpacked daemon -------------------------------------------------------------
etc=$tmp/etc
state=$tmp/state
logs=$tmp/logs
data=$tmp/data
mkdir -p "$etc/pipelines.d" "$state" "$logs" "$data"

# Token and key made the way postinst makes them (its own random_hex function).
eval "$(sed -n '/^random_hex() {/,/^}/p' "$control/postinst")"
declare -F random_hex >/dev/null || fail "postinst has no random_hex function"
(umask 077 && random_hex >"$etc/admin.token" && echo >>"$etc/admin.token")
(umask 077 && random_hex >"$state/omniloop.key" && echo >>"$state/omniloop.key")
token=$(tr -d '\n' <"$etc/admin.token")
[[ $token =~ ^[0-9a-f]{64}$ ]] || fail "postinst's random_hex made '$token', not 64 hex digits"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $((20000 + RANDOM % 30000)))

# The packaged config, paths moved into $tmp, JSON logs into a file.
config=$etc/omniloop.yaml
sed -e "s|/var/lib/omniloop|$state|g" \
    -e "s|/etc/omniloop/pipelines.d|$etc/pipelines.d|" \
    -e "s|/etc/omniloop/admin.token|$etc/admin.token|" \
    -e "s|127.0.0.1:8686|127.0.0.1:$port|" \
    -e "s|format: text|format: json|" \
    -e "s|# file: /var/log/omniloop/omniloopd.log|file: $logs/omniloopd.log|" \
    "$root/etc/omniloop/omniloop.yaml" >"$config"
for want in "$state/cdp.db" "$etc/admin.token" "127.0.0.1:$port" "file: $logs/omniloopd.log"; do
  grep -qF "$want" "$config" || { cat "$config" >&2; fail "rewriting the packaged config missed $want"; }
done

for i in 1 2 3 4 5; do
  printf '{"id":"o-%d","email":"customer%d@example.com","total":%d.50}\n' "$i" "$i" "$((i * 10))"
done >"$data/orders.jsonl"
cat >"$etc/pipelines.d/sample-orders.yaml" <<EOF
version: 1
name: sample-orders
source:
  type: file.jsonl
  id: sample-pos
  with: { path: $data/orders.jsonl, key_field: id, follow: true }
stages:
  - map:
      copy: { email: \$identities.email }
      cast: { total: float }
      set: { \$channel: pos, \$type: order.placed }
      drop: [email]
sink:
  type: cdp
EOF
"$omniloop" validate "$etc/pipelines.d/sample-orders.yaml" >"$log" 2>&1 ||
  { cat "$log" >&2; fail "the sample pipeline does not validate"; }

step "omniloopd --check-config"
"$omniloopd" --config "$config" --check-config >"$log" 2>&1 ||
  { cat "$log" >&2; fail "omniloopd --check-config rejects the packaged config (rewritten)"; }

step "starting omniloopd on 127.0.0.1:$port"
"$omniloopd" --config "$config" >"$tmp/daemon.out" 2>&1 &
daemon_pid=$!
base=http://127.0.0.1:$port

up=0
for _ in $(seq 1 150); do
  kill -0 "$daemon_pid" 2>/dev/null || { show "$tmp/daemon.out"; show "$logs/omniloopd.log"; fail "omniloopd exited at start"; }
  if curl -fsS -o /dev/null "$base/health" 2>/dev/null; then up=1; break; fi
  sleep 0.2
done
((up)) || { show "$tmp/daemon.out"; fail "GET /health did not answer 200 within 30 s"; }

code=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
[[ $code == 401 ]] || fail "GET /metrics without the token answered $code, expected 401"

metric() {  # metric <name>: the sample-orders value of a counter, or empty
  curl -fsS -H "Authorization: Bearer $token" "$base/metrics" 2>/dev/null |
    sed -n -E "s/^$1\{([^}]*,)?pipeline=\"sample-orders\"(,[^}]*)?\} ([0-9.eE+]+)\$/\3/p" | head -n1
}
wait_for_read() {  # wait_for_read <n>
  local got=
  for _ in $(seq 1 300); do
    got=$(metric omniloop_events_read_total)
    if [[ -n $got ]] && awk -v g="$got" -v n="$1" 'BEGIN { exit !(g + 0 >= n + 0) }'; then return 0; fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.2
  done
  curl -sS -H "Authorization: Bearer $token" "$base/metrics" >&2 || true
  show "$tmp/daemon.out"; show "$logs/omniloopd.log"
  fail "omniloop_events_read_total{pipeline=\"sample-orders\"} is '$got', expected $1"
}
step "waiting for the 5 sample events"
wait_for_read 5

for i in 6 7 8; do
  printf '{"id":"o-%d","email":"customer%d@example.com","total":%d.50}\n' "$i" "$i" "$((i * 10))"
done >>"$data/orders.jsonl"
step "waiting for 3 appended events (followed file)"
wait_for_read 8

stored=
for _ in $(seq 1 150); do
  stored=$("$omniloop" stats --json --store "sqlite:$state/cdp.db" 2>/dev/null |
           sed -n -E 's/.*"events":([0-9]+).*/\1/p')
  [[ $stored == 8 ]] && break
  sleep 0.2
done
[[ $stored == 8 ]] || fail "the store holds '$stored' events, expected 8"

step "SIGTERM"
kill -TERM "$daemon_pid"
rc=
for _ in $(seq 1 450); do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    set +e; wait "$daemon_pid"; rc=$?; set -e
    break
  fi
  sleep 0.1
done
[[ -n $rc ]] || { show "$tmp/daemon.out"; fail "omniloopd did not stop within 45 s of SIGTERM"; }
daemon_pid=
[[ $rc == 0 ]] || { show "$tmp/daemon.out"; show "$logs/omniloopd.log"; fail "omniloopd exited $rc after SIGTERM, expected 0"; }

# Logs: JSON lines only, and no personal data anywhere.
[[ -s $logs/omniloopd.log ]] || { show "$tmp/daemon.out"; fail "log.file $logs/omniloopd.log is empty"; }
if command -v python3 >/dev/null 2>&1; then
  python3 - "$logs/omniloopd.log" <<'PY' || fail "log.format json wrote a line that is not a JSON object"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        obj = json.loads(line)
        assert set(obj) == {"ts", "level", "logger", "msg"}, (n, line)
PY
fi
! grep -q 'example\.com' "$logs/omniloopd.log" "$tmp/daemon.out" ||
  fail "the daemon logged an e-mail address (personal data)"

# ---- 5. maintainer scripts: dpkg -i / -r / --purge in a throwaway root -----------------------
# Needs root and a private mount namespace with overlayfs (the host's / as the read-only lower
# layer, so the host is never touched). Skipped where that is not available.
overlay_ok=0
if [[ $(id -u) == 0 ]] && command -v unshare >/dev/null 2>&1 && command -v chroot >/dev/null 2>&1; then
  mkdir -p "$tmp/ovl/upper" "$tmp/ovl/work" "$tmp/ovl/merged"
  if unshare -m sh -c "mount -t overlay overlay -o lowerdir=/,upperdir=$tmp/ovl/upper,workdir=$tmp/ovl/work $tmp/ovl/merged" 2>/dev/null; then
    overlay_ok=1
  fi
fi
if ((overlay_ok)); then
  step "dpkg -i, reinstall, -r, --purge in an overlay root"
  cp "$runtime_deb" "$tmp/ovl/omniloop.deb"
  cp "$dev_deb" "$tmp/ovl/omniloop-dev.deb"
  cat >"$tmp/ovl/inside.sh" <<'EOF'
set -u
bad() { echo "FAIL: $*"; exit 1; }
mode() { stat -c '%a %U:%G' "$1"; }
getent passwd omniloop >/dev/null && bad "the user omniloop exists before the install"
dpkg -i /tmp/pkgtest/omniloop.deb /tmp/pkgtest/omniloop-dev.deb || bad "dpkg -i failed"
getent passwd omniloop >/dev/null || bad "postinst did not create the user omniloop"
getent group omniloop >/dev/null || bad "postinst did not create the group omniloop"
[ "$(getent passwd omniloop | cut -d: -f6)" = /var/lib/omniloop ] || bad "omniloop's home is not /var/lib/omniloop"
[ "$(mode /etc/omniloop/admin.token)" = "640 root:omniloop" ] || bad "admin.token is $(mode /etc/omniloop/admin.token)"
grep -qxE '[0-9a-f]{64}' /etc/omniloop/admin.token || bad "admin.token does not hold 64 hex digits"
[ "$(mode /var/lib/omniloop/omniloop.key)" = "600 omniloop:omniloop" ] || bad "omniloop.key is $(mode /var/lib/omniloop/omniloop.key)"
[ "$(mode /var/lib/omniloop)" = "750 omniloop:omniloop" ] || bad "/var/lib/omniloop is $(mode /var/lib/omniloop)"
[ "$(mode /var/log/omniloop)" = "750 omniloop:omniloop" ] || bad "/var/log/omniloop is $(mode /var/log/omniloop)"
if command -v deb-systemd-helper >/dev/null 2>&1; then
  [ -L /etc/systemd/system/multi-user.target.wants/omniloop.service ] || bad "the unit was not enabled"
fi
dpkg-query -W -f='${Conffiles}\n' omniloop | grep -q /etc/omniloop/omniloop.yaml || bad "omniloop.yaml is not a conffile"
# The service user can read what the daemon needs.
su -s /bin/sh omniloop -c '/usr/bin/omniloopd --config /etc/omniloop/omniloop.yaml --check-config' ||
  bad "omniloopd --check-config as the user omniloop fails on the installed config"
sum_before=$(cat /etc/omniloop/admin.token /var/lib/omniloop/omniloop.key | md5sum)
echo "# local change" >>/etc/omniloop/omniloop.yaml
dpkg -i --force-confold /tmp/pkgtest/omniloop.deb || bad "reinstalling (upgrade path) failed"
[ "$(cat /etc/omniloop/admin.token /var/lib/omniloop/omniloop.key | md5sum)" = "$sum_before" ] ||
  bad "reinstalling replaced the token or the key"
grep -q '^# local change' /etc/omniloop/omniloop.yaml || bad "reinstalling lost a local config change"
dpkg -r omniloop-dev omniloop || bad "dpkg -r failed"
[ -e /usr/bin/omniloopd ] && bad "dpkg -r left /usr/bin/omniloopd"
[ -e /etc/omniloop/omniloop.yaml ] || bad "dpkg -r removed the conffile omniloop.yaml"
dpkg --purge omniloop || bad "dpkg --purge failed"
[ -e /etc/omniloop ] && bad "dpkg --purge left /etc/omniloop"
[ -e /var/log/omniloop ] && bad "dpkg --purge left /var/log/omniloop"
[ -e /var/lib/omniloop/omniloop.key ] || bad "dpkg --purge deleted the pseudonymisation key (customer data)"
echo INSIDE-OK
EOF
  unshare -m sh -c "set -e
    o=$tmp/ovl
    mount -t overlay overlay -o lowerdir=/,upperdir=\$o/upper,workdir=\$o/work \$o/merged
    mount --bind /proc \$o/merged/proc
    mount --bind /dev \$o/merged/dev
    mkdir -p \$o/merged/tmp/pkgtest
    cp \$o/omniloop.deb \$o/omniloop-dev.deb \$o/inside.sh \$o/merged/tmp/pkgtest/
    chroot \$o/merged /bin/sh /tmp/pkgtest/inside.sh" >"$log" 2>&1 || true
  grep -q '^INSIDE-OK$' "$log" || { cat "$log" >&2; fail "maintainer scripts: $(grep '^FAIL' "$log" || echo 'see above')"; }
else
  step "not root or no overlayfs in a mount namespace: maintainer scripts not exercised"
fi

step "ok"
