#!/usr/bin/env bash
# Configures (once) and builds a meson build directory.
#   scripts/build.sh DIR [meson setup options...]
# Options only apply when DIR is first configured; remove DIR to change them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:?usage: scripts/build.sh DIR [meson setup options]}
shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@"
fi
ninja -C "$dir"
