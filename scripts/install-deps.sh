#!/usr/bin/env bash
# Installs everything execmond needs to build, run and test on Debian 12 (bookworm).
# Idempotent: safe to run on every CI run. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
backports=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$backports"
fi

apt-get update -qq

# libbpf >= 1.3 (ring-buffer lost-wakeup fix), bpftool that can gen skeletons,
# Catch2 v3 and a recent meson come from backports.
apt-get install -y -qq --no-install-recommends -t bookworm-backports \
  libbpf-dev bpftool catch2 meson >/dev/null

apt-get install -y -qq --no-install-recommends \
  clang llvm ninja-build pkg-config g++ \
  libboost-dev libboost-program-options-dev \
  nlohmann-json3-dev libsystemd-dev libelf-dev zlib1g-dev libre2-dev libssl-dev \
  socat jq python3 python3-jsonschema \
  tmux \
  clang-format \
  >/dev/null
