#!/usr/bin/env bash
# What the kernel matrix (tests/kernels/run.sh) needs: qemu, busybox and cpio
# from the system's apt, and Debian's own kernels as .deb from the Debian
# archive, fetched through a private apt state per suite (the system's sources
# and lists are left alone) and cached:
#   $EXECMOND_KERNEL_CACHE (default /var/cache/execmond-kernels)/<suite>/vmlinuz
#   bullseye            linux-image-amd64 -> 5.10
#   bookworm            linux-image-amd64 -> 6.1
#   bookworm-backports  linux-image-amd64 -> 6.12
# Idempotent: a cached kernel is not fetched again. Root, amd64.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-kernel-matrix: must run as root (apt-get install)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

pkgs=(qemu-system-x86 busybox-static cpio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cache=${EXECMOND_KERNEL_CACHE:-/var/cache/execmond-kernels}
suites=${EXECMOND_KERNEL_SUITES:-"bullseye bookworm bookworm-backports"}

# The Debian archive this machine already uses (deb lines or deb822 URIs), not
# its security archive.
archive_url() {
  local url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '(https?|file)://[^ ]+' | grep -E '/debian/?$' | grep -v -- '-security' | head -n 1 || true)
  echo "${url:-http://deb.debian.org/debian}"
}
url=$(archive_url)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

fetch_suite() { # suite
  local suite=$1 dir=$cache/$1
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/release" ]; then
    echo "install-kernel-matrix: $suite: cached ($(cat "$dir/release"))"
    return 0
  fi
  mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/deb"
  echo "deb [signed-by=$keyring] $url $suite main" >"$dir/apt/sources.list"
  local apt=(-o "Dir::Etc::SourceList=$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Debug::NoLocking=1
    -o APT::Sandbox::User=root)
  apt-get "${apt[@]}" update -qq
  # linux-image-amd64 is the suite's current kernel: the package it depends on.
  local image
  image=$(apt-cache "${apt[@]}" depends linux-image-amd64 |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
  if [ -z "$image" ]; then
    echo "install-kernel-matrix: $suite: no linux-image-amd64 dependency found at $url" >&2
    return 1
  fi
  rm -f "$dir"/deb/*.deb
  (cd "$dir/deb" && apt-get "${apt[@]}" download -qq "$image")
  local deb
  deb=$(ls "$dir"/deb/*.deb)
  rm -rf "$dir/x"
  mkdir -p "$dir/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/x" --wildcards './boot/vmlinuz-*'
  local vmlinuz
  vmlinuz=$(ls "$dir"/x/boot/vmlinuz-*)
  mv "$vmlinuz" "$dir/vmlinuz"
  basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$dir/release"
  rm -rf "$dir/x" "$dir/deb" "$dir/apt"
  echo "install-kernel-matrix: $suite: $image ($(cat "$dir/release"))"
}

for s in $suites; do
  fetch_suite "$s"
done
