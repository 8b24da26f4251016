"""BPF programs' in-kernel run time (kernel.bpf_stats_enabled, bpftool)."""
import contextlib
import json
import subprocess

from . import procfs

STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


@contextlib.contextmanager
def stats_enabled():
    """kernel.bpf_stats_enabled=1 inside the block (about 20 ns per program run while on),
    the previous value restored after, whatever happens inside."""
    with open(STATS_SYSCTL) as f:
        old = f.read().strip()
    with open(STATS_SYSCTL, "w") as f:
        f.write("1")
    try:
        yield
    finally:
        with open(STATS_SYSCTL, "w") as f:
            f.write(old)


def prog_stats(ids=None):
    """{"name#id": (run_time_ns, run_cnt)} of loaded BPF programs (only `ids` if given)."""
    p = subprocess.run(["bpftool", "-j", "prog", "show"], stdout=subprocess.PIPE, text=True, check=False)
    out = {}
    for pr in json.loads(p.stdout or "[]"):
        if ids is None or pr["id"] in ids:
            out[f"{pr.get('name', '?')}#{pr['id']}"] = (pr.get("run_time_ns", 0), pr.get("run_cnt", 0))
    return out


def loaded_ids():
    return {int(k.split("#")[1]) for k in prog_stats()}


def programs_of(pids, loaded_before=None):
    """Ids of the programs the processes hold; if they show none (a tool that closed its
    fds), the programs loaded since loaded_before."""
    ids = set()
    for pid in pids:
        ids |= procfs.bpf_prog_ids(pid)
    if not ids and loaded_before is not None:
        ids = loaded_ids() - loaded_before
    return ids


def run_time_ns(stats):
    return sum(ns for ns, _ in stats.values())


def delta(a, b):
    """{"name#id": {"runs", "ns"}} of what ran between snapshots a and b."""
    out = {}
    for k, (ns, cnt) in b.items():
        ns0, cnt0 = a.get(k, (0, 0))
        if cnt - cnt0:
            out[k] = {"runs": cnt - cnt0, "ns": ns - ns0}
    return out
