#!/usr/bin/env bash
# Installs every Debian 12 package omniloop needs to build, test and package.
# Idempotent: when nothing is missing it only runs dpkg queries (well under a second).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libboost-filesystem-dev
  libpoco-dev libyaml-cpp-dev unixodbc-dev libsqlite3-dev libpq-dev
  libcurl4-openssl-dev libspdlog-dev libfmt-dev libssl-dev
  libsimdjson-dev libphonenumber-dev libre2-dev libprotobuf-dev librdkafka-dev libexpat1-dev
  libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev
  postgresql odbc-postgresql libsqliteodbc unixodbc sqlite3
  python3 curl dpkg-dev file systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# The Debian postgresql package would start a cluster service; tests start their own.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
