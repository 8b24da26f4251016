"""What the results were measured on."""
import os
import subprocess

from . import procfs
from .config import REPO


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def package_version(pkg):
    return sh(f"dpkg-query -W -f='${{Version}}' {pkg}")


def describe():
    model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("grep MemTotal /proc/meminfo | awk '{print $2}'")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(int(mem) / 1048576, 1) if mem else None,
        "kernel": os.uname().release,
        "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
        "pid_max": int(procfs.read_text("/proc/sys/kernel/pid_max")),
        "execsnoop": package_version("libbpf-tools"),
        "bpftrace": package_version("bpftrace"),
        "forkstat": package_version("forkstat"),
        "auditd": package_version("auditd"),
        "laurel": package_version("laurel"),
        "socat": package_version("socat"),
        "libbpf": package_version("libbpf1"),
        "execmond_commit": sh(f"git -C {REPO} rev-parse --short HEAD") +
        (" (dirty)" if sh(f"git -C {REPO} status --porcelain -- daemon bpf proto") else ""),
        "loadavg_at_start": procfs.loadavg(),
    }
