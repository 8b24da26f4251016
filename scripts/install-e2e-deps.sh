#!/usr/bin/env bash
# Packages the end-to-end test (tests/e2e/run.sh) and the Debian package build
# need on top of scripts/install-deps.sh. Idempotent, non-interactive, root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-e2e-deps: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# systemd-nspawn boots the throwaway systemd; debhelper/dpkg-dev/fakeroot build
# the .deb; socat/jq read the events socket; bpftool checks nothing stays loaded;
# curl reads the metrics endpoint; zlib1g-dev is a build dependency of the .deb.
pkgs=(systemd-container debhelper dpkg-dev fakeroot build-essential socat jq bpftool curl zlib1g-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
