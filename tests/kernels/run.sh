#!/usr/bin/env bash
# The kernel matrix: the built daemon on Debian's own kernels in qemu, and on
# the host's kernel, each in the three probe modes (kernel BTF, a BTF file
# with the kernel's hidden, and fork-map with neither), judged by check.py;
# and refusing another kernel's BTF file (wrong-btf: the host's in the guests,
# a guest kernel's on the host).
#
#   tests/kernels/run.sh [BUILD_DIR]     (default build; needs root)
#
# Kernels come from scripts/install-kernel-matrix.sh's cache
# ($EXECMOND_KERNEL_CACHE, default /var/cache/execmond-kernels/<suite>/vmlinuz);
# EXECMOND_KERNEL_SUITES picks some ("bullseye bookworm bookworm-backports"),
# EXECMOND_KERNEL_HOST=0 skips the host run, EXECMOND_KERNEL_BPF_STATS=1 reports the
# host's in-kernel ns per exec (kernel.bpf_stats_enabled, machine-wide while it
# runs), EXECMOND_KERNEL_APPEND adds to the
# guests' command line (ktest.modes=btf,fork-map, ktest.groups=N). qemu runs TCG
# (KVM does not work on these machines): -accel tcg -cpu max, and
# mitigations=off (page-table isolation made every syscall 3x slower there).
# Logs: BUILD_DIR/kernels/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build=$(realpath -m "${1:-build}")
cache=${EXECMOND_KERNEL_CACHE:-/var/cache/execmond-kernels}
suites=${EXECMOND_KERNEL_SUITES:-"bullseye bookworm bookworm-backports"}
out=$build/kernels
daemon=$build/daemon/execmond
ktest=$build/tests/ktest
noop=$build/bench/noop # bench/tools/noop.c, built by bench/meson.build

if [ "$(id -u)" -ne 0 ]; then
  echo "kernels: must run as root (BPF, mounts)" >&2
  exit 1
fi
for f in "$daemon" "$ktest" "$noop"; do
  [ -x "$f" ] || { echo "kernels: $f missing: build first (scripts/build.sh $build)" >&2; exit 1; }
done
for t in qemu-system-x86_64 cpio /bin/busybox; do
  command -v "$t" >/dev/null || { echo "kernels: $t missing: run scripts/install-kernel-matrix.sh" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
failed=0

# The initramfs: busybox, the daemon and its shared libraries (from ldd) at
# their own paths, ktest and noop, and an /init that runs every mode.
root=$out/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,ktest}
cp /bin/busybox "$root/bin/busybox"
strip -o "$root/ktest/execmond" "$daemon"
cp "$ktest" "$noop" "$root/ktest/"
# Another kernel's BTF for the guests' wrong-btf run: the host's.
[ -r /sys/kernel/btf/vmlinux ] && cp /sys/kernel/btf/vmlinux "$root/ktest/other.btf"
ldd "$daemon" | grep -oE '/[^ ]+' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
mknod -m 600 "$root/dev/console" c 5 1
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts # the tty case: a pty
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
echo "KTEST boot kernel=$(uname -r) uptime_s=$(cut -d' ' -f1 /proc/uptime)"
modes="btf btf-file fork-map wrong-btf" groups=100
for arg in $(cat /proc/cmdline); do
  case $arg in
    ktest.modes=*) modes=$(echo "${arg#ktest.modes=}" | tr , ' ') ;;
    ktest.groups=*) groups=${arg#ktest.groups=} ;;
  esac
done
for mode in $modes; do
  /ktest/ktest run --daemon /ktest/execmond --mode "$mode" --noop /ktest/noop --dir /tmp --groups "$groups" \
    --btf /ktest/other.btf
done
echo "KTEST poweroff"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.gz"
echo "kernels: initramfs $(du -h "$out/initramfs.gz" | cut -f1)"

run_guest() { # suite
  local suite=$1 vmlinuz=$cache/$1/vmlinuz log=$out/$1.log t0=$SECONDS
  if [ ! -s "$vmlinuz" ]; then
    echo "FAIL  $suite: no kernel at $vmlinuz (scripts/install-kernel-matrix.sh)" | tee -a "$summary"
    return 1
  fi
  local modes=btf,btf-file,fork-map,wrong-btf
  # The host's BTF is no other kernel's if the host runs this very kernel.
  if [ "$(uname -r)" = "$(cat "$cache/$suite/release")" ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
    modes=btf,btf-file,fork-map
  fi
  # -smp 2: threads of one process really exit at the same time (MTTCG).
  timeout 600 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$out/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 mitigations=off ktest.modes=$modes ${EXECMOND_KERNEL_APPEND:-}" \
    </dev/null >"$log" 2>&1
  local rc=$?
  echo "kernels: $suite ($(cat "$cache/$suite/release")): qemu exit $rc after $((SECONDS - t0)) s"
  /usr/bin/python3 tests/kernels/check.py --label "$suite $(cat "$cache/$suite/release")" \
    --modes "${EXECMOND_KERNEL_MODES:-$modes}" --summary "$summary" "$log"
}

# A guest kernel's BTF for the host's wrong-btf run: the .BTF section of its
# vmlinux, unpacked from the xz payload of its bzImage. Empty if none is.
guest_btf() {
  local s
  for s in $suites; do
    [ "$(cat "$cache/$s/release" 2>/dev/null)" = "$(uname -r)" ] && continue
    /usr/bin/python3 - "$cache/$s/vmlinuz" "$out/guest-vmlinux" <<'PY' && { echo "$out/guest-vmlinux"; return; }
import lzma, sys
data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit(1)
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
sys.exit(0 if elf[:4] == b"\x7fELF" and open(sys.argv[2], "wb").write(elf) else 1)
PY
  done
}

run_host() {
  local log=$out/host.log mode modes=btf,btf-file,fork-map other stats=
  # kernel.bpf_stats_enabled is machine-wide: only when asked.
  [ "${EXECMOND_KERNEL_BPF_STATS:-0}" = 1 ] && stats=1
  : >"$log"
  other=$(guest_btf)
  [ -n "$other" ] && modes=$modes,wrong-btf
  for mode in ${modes//,/ }; do
    mkdir -p "$out/host-$mode"
    timeout 600 "$ktest" run --daemon "$daemon" --mode "$mode" --noop "$noop" --dir "$out/host-$mode" \
      ${stats:+--bpf-stats} ${other:+--btf "$other"} >>"$log" 2>&1
  done
  /usr/bin/python3 tests/kernels/check.py --label "host $(uname -r)" --modes "$modes" --summary "$summary" "$log"
  rm -f "$out/guest-vmlinux"
}

for suite in $suites; do
  run_guest "$suite" || failed=1
done
if [ "${EXECMOND_KERNEL_HOST:-1}" != 0 ]; then
  run_host || failed=1
fi

echo "=== kernels: summary (logs in $out)"
cat "$summary"
exit $failed
