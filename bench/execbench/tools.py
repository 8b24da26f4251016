"""The C helpers (bench/tools/*.c, built by meson) and waiting on what they produce."""
import contextlib
import json
import os
import subprocess
import time

from . import procfs


def log(msg):
    print(msg, flush=True)


def token(run, what):
    """The argv[1] the storm gives exec <what> of run (and the markers' too)."""
    return f"execmond-bench-{run}-{what}"


def storm(cfg, count, run, rate=None, spawners=None):
    """Runs the storm to its end; its JSON result plus the spawner's CPU (this process's
    waited-for children: the storm, its spawners and their execs)."""
    cmd = [cfg.tool("storm"), "--count", str(count), "--run", run, "--noop", cfg.tool("noop")]
    if rate:
        cmd += ["--rate", str(rate)]
    if spawners:
        cmd += ["--spawners", str(spawners)]
    u0, s0 = procfs.children_cpu_ns()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    u1, s1 = procfs.children_cpu_ns()
    res = json.loads(p.stdout)
    if p.returncode != 0:
        log(f"  storm: exit {p.returncode}: {res}")
    res["spawner_user_ns"] = u1 - u0
    res["spawner_sys_ns"] = s1 - s0
    return res


@contextlib.contextmanager
def storm_running(cfg, count, run, rate=None):
    """The storm started and not waited for: the block reads its stdout and waits for it;
    if the block raises, the storm is killed rather than left to run on."""
    cmd = [cfg.tool("storm"), "--count", str(count), "--run", run, "--noop", cfg.tool("noop")]
    if rate:
        cmd += ["--rate", str(rate)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
        try:
            yield p
        except BaseException:
            p.kill()
            raise


def spawn_marker(cfg, run, what):
    noop = cfg.tool("noop")
    subprocess.run([noop, token(run, what), "0"], executable=noop, check=False)


class FileWatch:
    """Follows a growing output file."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.tail = b""

    def grew_with(self, needle):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return False
        self.off += len(data)
        hay = self.tail + data
        self.tail = hay[-256:]
        return needle in hay


def file_size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def wait_marker(cfg, path, run, what, timeout, spawn_every=0.05):
    """Spawn marker execs until the marker shows up in path. True if it did."""
    fw = FileWatch(path)
    needle = token(run, what).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spawn_marker(cfg, run, what)
        t_next = time.monotonic() + spawn_every
        while time.monotonic() < t_next:
            if fw.grew_with(needle):
                return True
            time.sleep(0.005)
    return False


def wait_file_quiet(path, storm_bytes_per_s, min_s=0.5, max_s=15.0):
    """Wait until path grows at < 5% of its storm rate (or by < 4 KiB) over 300 ms."""
    t0 = time.monotonic()
    last = file_size(path)
    time.sleep(min_s)
    while time.monotonic() - t0 < max_s:
        time.sleep(0.3)
        cur = file_size(path)
        if (cur - last) < max(4096, 0.05 * storm_bytes_per_s * 0.3):
            return time.monotonic() - t0
        last = cur
    return time.monotonic() - t0


def wait_cpu_settled(pids, max_s=15.0, step=0.2, idle_ns=2_000_000):
    """Wait until pids together use less than idle_ns of CPU over a step: a consumer with
    no output to watch (execmond with no client or one that discards) has drained."""
    t0 = time.monotonic()
    last = sum(procfs.cpu_ns(p) or 0 for p in pids)
    while time.monotonic() - t0 < max_s:
        time.sleep(step)
        cur = sum(procfs.cpu_ns(p) or 0 for p in pids)
        if cur - last < idle_ns:
            break
        last = cur
    return time.monotonic() - t0


def wait_quiet_machine(limit_s, threshold=10.0):
    """Wait up to limit_s for the machine to be idle (< threshold % busy over 2 s)."""
    t0 = time.monotonic()
    b = procfs.busy_pct()
    while b >= threshold and time.monotonic() - t0 < limit_s:
        log(f"bench: machine {b:.0f} % busy; waiting for < {threshold:.0f} % (up to {limit_s:.0f} s)")
        time.sleep(3)
        b = procfs.busy_pct()
    return b


def wait_for(pred, timeout, step=0.05):
    """Polls pred until it is true (True) or timeout seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
