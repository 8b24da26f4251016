#!/usr/bin/env bash
# End-to-end test of the packaged service against a real systemd.
#
# Builds execmond_*.deb (packaging/build-deb.sh), boots systemd in
# systemd-nspawn on a throwaway overlay of this machine's root, and runs
# tests/e2e/inside.sh there as a oneshot unit: dpkg -i, the hardened unit's
# security score, start/stop/restart, socket activation, exec lines read with
# socat | jq, journal fields, no BPF program left after stop, the watchdog
# restarting a SIGSTOPped daemon, and an invalid config. Needs root.
#
#   tests/e2e/run.sh
#   E2E_DEB=path/to/execmond_X.deb tests/e2e/run.sh   # skip the package build
#   E2E_KEEP=1 tests/e2e/run.sh                      # keep the work directory
#
# Ends with "e2e: N passed, M failed"; exits non-zero unless every check passed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
start=$(date +%s)

die() {
  echo "e2e: $*" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (nspawn, overlay mount, BPF)"
for tool in systemd-nspawn dpkg-buildpackage jq; do
  command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-e2e-deps.sh"
done

work=$(mktemp -d /var/tmp/execmond-e2e.XXXXXX)
root=$work/root
cleanup() {
  mountpoint -q "$root" && { umount "$root" 2>/dev/null || umount -l "$root"; }
  if [ -n "${E2E_KEEP:-}" ]; then
    echo "e2e: work directory kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# --- the package ----------------------------------------------------------------
if [ -n "${E2E_DEB:-}" ]; then
  deb=$E2E_DEB
  [ -f "$deb" ] || die "E2E_DEB=$deb: no such file"
else
  echo "e2e: building the package (packaging/build-deb.sh)"
  t0=$(date +%s)
  deb=$("$src/packaging/build-deb.sh" "$work/deb" | tail -n1) || die "package build failed"
  echo "e2e: built $(basename "$deb") in $(($(date +%s) - t0)) s"
fi

# --- the container --------------------------------------------------------------
mkdir -p "$work/upper" "$work/ovl" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/ovl" "$root" ||
  die "cannot mount the overlay of /"

# /opt, not /tmp: the container mounts a fresh tmpfs on /tmp.
e=$root/opt/execmond-e2e
rm -rf "$e"
mkdir -p "$e"
cp "$deb" "$e/"
cp "$here/inside.sh" "$e/"
# Whatever the machine had configured for execmond is not part of the test.
rm -rf "$root"/etc/systemd/system/execmond.* "$root/etc/execmond"
# Images often ship a policy-rc.d that forbids starting services from
# maintainer scripts; the test is that our postinst starts them, as on a
# real system.
rm -f "$root/usr/sbin/policy-rc.d"

cat >"$root/etc/systemd/system/execmond-e2e.service" <<'UNIT'
[Unit]
Description=execmond end-to-end test
After=sysinit.target sockets.target systemd-journald.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/opt/execmond-e2e/inside.sh
TimeoutStartSec=170
UNIT

echo "e2e: booting systemd in systemd-nspawn"
t0=$(date +%s)
timeout --kill-after=10 200 systemd-nspawn -D "$root" --register=no --keep-unit \
  --capability=all --system-call-filter='bpf perf_event_open' --quiet --boot -- \
  systemd.firstboot=off systemd.unit=execmond-e2e.service >"$work/nspawn.log" 2>&1
rc=$?
echo "e2e: container ran $(($(date +%s) - t0)) s (nspawn exit $rc)"

# --- the verdict ----------------------------------------------------------------
results=$e/results
passed=0
failed=0
if [ -f "$results" ]; then
  while read -r kind rest; do
    case $kind in
    PASS) passed=$((passed + 1)); echo "e2e: PASS $rest" ;;
    FAIL) failed=$((failed + 1)); echo "e2e: FAIL $rest" ;;
    METRIC) echo "e2e: measured ${rest/ /: }" ;;
    esac
  done <"$results"
fi
if ! grep -qx END "$results" 2>/dev/null; then
  failed=$((failed + 1))
  echo "e2e: FAIL harness: the in-container test did not finish (nspawn exit $rc)"
fi

if [ "$failed" -gt 0 ]; then
  echo "e2e: --- in-container log (last 60 lines) ---"
  tail -n 60 "$e/log" 2>/dev/null
  echo "e2e: --- journal of execmond (last 40 lines) ---"
  tail -n 40 "$e/journal.txt" 2>/dev/null
  echo "e2e: --- nspawn (last 20 lines) ---"
  tail -n 20 "$work/nspawn.log"
  [ -n "${E2E_KEEP:-}" ] || echo "e2e: rerun with E2E_KEEP=1 to keep the container's files"
fi
echo "e2e: total $(($(date +%s) - start)) s"
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
