#!/usr/bin/env bash
# Installs what bench/run.sh needs on Debian 12 (bookworm): the peer monitors it measures
# execmond against (libbpf-tools execsnoop, bpftrace, forkstat, auditd, laurel), socat as
# the execmond client, a C compiler for the bench helpers and matplotlib for the plot.
# Idempotent: safe to run again. Needs root. Does not install execmond's own build
# dependencies: scripts/install-deps.sh does that.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
backports=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$backports"
fi

pkgs=(libbpf-tools bpftrace forkstat auditd laurel socat gcc libc6-dev python3 python3-matplotlib)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  # The bench starts auditd itself, with its own rules and log, and stops it after: keep
  # the package's maintainer scripts from starting the system's auditd (policy-rc.d 101:
  # action forbidden), unless a policy is already in place.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# execsnoop and bpftrace attach classic tracepoints, which need tracefs.
if [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing
fi

echo "install-bench-deps: ok (${pkgs[*]})"
