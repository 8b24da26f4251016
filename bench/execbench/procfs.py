"""CPU and memory accounting from /proc, and the CPU the spawner used (getrusage)."""
import os
import resource
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_text(path):
    with open(path) as f:
        return f.read()


def cpu_ns(pid):
    """CPU time (user+sys) of all threads of pid, in ns, from schedstat; None if gone."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return None
    for tid in tids:
        try:
            total += int(read_text(f"/proc/{pid}/task/{tid}/schedstat").split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def cpu_ticks_ns(pid):
    """utime+stime from /proc/pid/stat (10 ms ticks), in ns: a cross-check of cpu_ns."""
    try:
        fields = read_text(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLK_TCK


def proc_status_kib(pid, key):
    """A "kB" field of /proc/pid/status (VmRSS, VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def comm(pid):
    try:
        return read_text(f"/proc/{pid}/comm").strip()
    except FileNotFoundError:
        return None


def children(pid):
    """Pids whose parent is pid (all threads' children)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            out += [int(x) for x in read_text(f"/proc/{pid}/task/{tid}/children").split()]
        except FileNotFoundError:
            pass
    return out


def kthread_pid(name):
    """Pid of the kernel thread called name (e.g. kauditd), or None."""
    for d in os.listdir("/proc"):
        if d.isdigit() and comm(d) == name:
            try:
                if int(read_text(f"/proc/{d}/stat").rsplit(")", 1)[1].split()[1]) == 2:  # ppid kthreadd
                    return int(d)
            except (FileNotFoundError, IndexError, ValueError):
                pass
    return None


def bpf_link_fds(pid):
    """How many BPF links and perf events (attached programs) pid holds."""
    n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return 0
    for fd in fds:
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t in ("anon_inode:bpf_link", "anon_inode:[perf_event]"):
            n += 1
    return n


def bpf_prog_ids(pid):
    """Ids of the BPF programs pid holds open (its prog and link fds' fdinfo "prog_id")."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except FileNotFoundError:
        return ids
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return ids


class CpuMeter:
    """CPU used by a set of pids between start() and stop()."""

    def __init__(self, pids):
        self.pids = [p for p in pids if p]
        self.a = {}

    def start(self):
        self.a = {p: (cpu_ns(p), cpu_ticks_ns(p)) for p in self.pids}
        return self

    def stop(self):
        """{pid: {"schedstat_ns", "stat_ns"}}: None where the pid was gone at either end."""
        b = {p: (cpu_ns(p), cpu_ticks_ns(p)) for p in self.pids}
        out = {}
        for p in self.pids:
            (a1, a2), (b1, b2) = self.a[p], b[p]
            out[p] = {
                "schedstat_ns": (b1 - a1) if a1 is not None and b1 is not None else None,
                "stat_ns": (b2 - a2) if a2 is not None and b2 is not None else None,
            }
        return out


def total_ns(cpu, key="schedstat_ns"):
    return sum((c[key] or 0) for c in cpu.values())


def children_cpu_ns():
    """(user, system) ns of this process's waited-for children and their descendants."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime * 1e9, ru.ru_stime * 1e9


def _cpu_fields():
    """The first 8 fields of /proc/stat's cpu line: user nice system idle iowait irq softirq steal."""
    return [int(x) for x in read_text("/proc/stat").splitlines()[0].split()[1:9]]


def busy_ns():
    """Non-idle CPU time of all CPUs since boot, ns."""
    v = _cpu_fields()
    return (sum(v) - v[3] - v[4]) * 1e9 / CLK_TCK


class ExternalLoad:
    """CPU the rest of the machine used during a run: busy CPU (/proc/stat) minus what the
    storm and its execs used (this process's waited-for children) minus the monitor's.
    As % of all CPUs over the run's wall time: other work disturbing the measurement."""

    def _snap(self):
        u, s = children_cpu_ns()
        return busy_ns(), u + s, time.monotonic()

    def start(self):
        self.a = self._snap()
        return self

    def stop(self, monitor_ns=0):
        b = self._snap()
        busy, ours, wall = b[0] - self.a[0], b[1] - self.a[1] + monitor_ns, b[2] - self.a[2]
        return round(100 * max(0.0, busy - ours) / (wall * 1e9 * (os.cpu_count() or 1)), 1)


def busy_pct(interval=2.0):
    """Machine-wide non-idle CPU % over interval (from /proc/stat)."""
    def snap():
        v = _cpu_fields()
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(interval)
    i1, t1 = snap()
    return 100.0 * (1 - (i1 - i0) / max(t1 - t0, 1))


def loadavg():
    return read_text("/proc/loadavg").split()[:3]
