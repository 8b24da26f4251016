#!/usr/bin/env bash
# Builds execmond_*.deb from this working tree without touching it: copies
# the tree (tracked and untracked-but-not-ignored files) into a temporary
# directory, puts packaging/debian at its top as debian/, and runs
# `dpkg-buildpackage -us -uc -b` there.
#
#   packaging/build-deb.sh [OUTDIR]     (default OUTDIR: build-deb/)
#
# Prints the path of the .deb on its last line.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$src/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d /tmp/execmond-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/execmond
mkdir "$tree"

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Only what git would ship: no build directories, no stale debian/.
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$tree" -xf -
else
  tar -C "$src" --exclude=./build\* --exclude=./debian -cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -a "$src/packaging/debian" "$tree/debian"

log=$out/dpkg-buildpackage.log
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b -jauto) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build-deb: dpkg-buildpackage failed; full log: $log" >&2
  exit 1
fi

rm -f "$out"/execmond_*.deb
cp "$tmp"/execmond_*.deb "$out"/
ls "$out"/execmond_*.deb
