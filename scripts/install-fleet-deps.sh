#!/usr/bin/env bash
# Packages the fleet tests need on top of scripts/install-deps.sh: the file
# sink's shippers and store (tests/fleet/pipeline.sh: rsyslog imfile -> omrelp
# -> imrelp -> ompgsql -> PostgreSQL 15) and the real Prometheus server that
# scrapes --metrics-listen (tests/fleet/metrics.sh). Idempotent, root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-fleet-deps: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# ss (iproute2) waits for the central rsyslog to listen; runuser and setpriv (util-linux)
# run postgres and the unprivileged curl; mmjsonparse comes with rsyslog itself.
pkgs=(rsyslog rsyslog-relp rsyslog-pgsql postgresql-15 postgresql-client-15 prometheus curl jq gzip iproute2 util-linux)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  # policy-rc.d is honoured when present; the tests start their own instances
  # of every server, so the packaged services need not run (the script stops
  # the ones the postinsts started, below).
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests run their own rsyslogd, postgres and prometheus on loopback
# addresses and temporary directories; the packaged system instances only get
# in the way (a system rsyslog would also read /dev/log and the imfile state).
if [ -d /run/systemd/system ]; then
  for s in rsyslog prometheus postgresql; do
    systemctl stop "$s" 2>/dev/null || true
  done
fi
