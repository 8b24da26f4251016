"""The monitors measured: execmond (with a client) and its peers, each a context manager.

    with make_monitor("execsnoop", cfg, run) as mon:
        ...  # storm, measure

Everything a monitor starts (processes, audit rules, kernel settings) is undone when the
`with` block ends, however it ends (an exception, KeyboardInterrupt, a start that failed
half-way): each step registers its undo on an ExitStack as soon as it is done, and the
stack runs them all, last first, even if one of them raises.
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time

from . import procfs
from .tools import FileWatch, file_size, spawn_marker, token, wait_cpu_settled, wait_file_quiet, wait_for, wait_marker

BPFTRACE_PROG = (
    'BEGIN { printf("ready\\n"); } '
    "tracepoint:sched:sched_process_exec { "
    "$a = curtask->mm->arg_start; $n = curtask->mm->arg_end - $a; "
    'printf("%d %r\\n", pid, buf(uptr($a), $n > 64 ? 64 : $n)); }'
)


def stop_proc(p, sig=signal.SIGINT, timeout=15, grace=0.0):
    """Ends p: waits grace seconds for it to exit by itself, then sends sig, then SIGKILL
    if it is still there after timeout seconds."""
    if p.poll() is not None:
        return
    if grace:
        try:
            p.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def default_sigint():
    # A shell runs a background job with SIGINT ignored, and children inherit that: a
    # monitor must still stop on the SIGINT it is sent.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Monitor:
    name = "?"
    flushes = False  # output shows every event promptly (markers can be waited for)
    has_bpf = False  # in-kernel cost = its BPF programs' run time (else: the spawner's extra sys time)

    def __init__(self, cfg, run):
        self.cfg = cfg
        self.run = run
        self.out = os.path.join(cfg.runs_dir, f"{self.name}-{run}.out")
        self.err = os.path.join(cfg.runs_dir, f"{self.name}-{run}.err")
        self.procs = []
        self._undo = contextlib.ExitStack()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        raise NotImplementedError

    def stop(self):
        """Undoes everything start() did, last first. Safe to call more than once."""
        self._undo.close()

    def popen(self, cmd, stdout=None, sig=signal.SIGINT, grace=0.0, **kw):
        """Starts cmd, stderr appended to self.err; stdout to the file stdout names (or a
        subprocess constant). Registers its stop before returning."""
        with contextlib.ExitStack() as files:
            if isinstance(stdout, str):
                stdout = files.enter_context(open(stdout, "wb"))
            err = files.enter_context(open(self.err, "ab"))
            p = subprocess.Popen(cmd, stdout=stdout, stderr=err, preexec_fn=default_sigint, **kw)
        self.procs.append(p)
        self._undo.callback(stop_proc, p, sig, grace=grace)
        return p

    def err_tail(self, n=800):
        try:
            with open(self.err, errors="replace") as f:
                return f.read()[-n:]
        except FileNotFoundError:
            return ""

    def pids(self):
        """The monitor's own processes (their CPU is its cost)."""
        return [p.pid for p in self.procs]

    def bpf_pids(self):
        """Processes holding the monitor's BPF programs."""
        return self.pids() if self.has_bpf else []

    def kthread_pids(self):
        """Kernel threads doing the monitor's work outside any process of its own."""
        return []

    def drain(self, run, storm_s):
        """Waits until the monitor has shown what a storm of run (storm_s seconds) made it
        see: a marker exec after the storm where the output shows every event at once,
        else until the output stops growing."""
        if self.flushes:
            wait_marker(self.cfg, self.out, run, "end", 30, spawn_every=0.25)
        else:
            wait_file_quiet(self.out, file_size(self.out) / max(storm_s, 0.001))

    def count_tokens(self, run=None):
        """(unique tokens of storm run (default: the monitor's run) in the output, details)."""
        pat = re.compile(rb"execmond-bench-" + (run or self.run).encode() + rb"-(\d+)")
        with open(self.out, "rb") as f:
            data = f.read()
        return len(set(pat.findall(data))), {}

    def remove_output(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.out)


class Execsnoop(Monitor):
    name = "execsnoop"
    has_bpf = True

    def start(self):
        p = self.popen(["/usr/sbin/execsnoop"], stdout=self.out)
        if not wait_stable_bpf_links(p.pid):
            raise RuntimeError("execsnoop did not attach: " + self.err_tail())


class Bpftrace(Monitor):
    name = "bpftrace"
    flushes = True
    has_bpf = True

    def start(self):
        p = self.popen(["bpftrace", "-e", BPFTRACE_PROG], stdout=self.out)
        fw = FileWatch(self.out)
        if not wait_for(lambda: fw.grew_with(b"ready\n") or p.poll() is not None, 30) or p.poll() is not None:
            raise RuntimeError("bpftrace did not start: " + self.err_tail())


class Forkstat(Monitor):
    name = "forkstat"

    def start(self):
        p = self.popen(["forkstat", "-e", "exec"], stdout=self.out)
        # The proc connector has no attach step to watch: give it a moment to subscribe.
        time.sleep(1.0)
        if p.poll() is not None:
            raise RuntimeError("forkstat exited: " + self.err_tail())


def wait_stable_bpf_links(pid, timeout=20):
    """True once pid holds BPF links and their number has not changed for 0.3 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = procfs.bpf_link_fds(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since > 0.3:
            return True
        time.sleep(0.05)
    return False


class Execmond(Monitor):
    """execmond under readywait (NOTIFY_SOCKET), plus a client: socat to a file ("socat"),
    socat to /dev/null ("null"), none ("none") or the measuring tap ("tap")."""

    name = "execmond"
    flushes = True
    has_bpf = True

    def __init__(self, cfg, run, extra=(), client="socat", count=None, label=None):
        self.name = label or "execmond"
        super().__init__(cfg, run)
        self.extra = list(extra)
        self.client = client
        self.count = count
        self.sock = os.path.join(cfg.runs_dir, f"em-{run}.sock")
        self.daemon_pid = None
        self.ready_ms = None
        self.exit_event = None
        self.readywait = None
        self.clients = []
        self.flushes = client in ("socat", "tap")

    def start(self):
        cmd = [self.cfg.tool("readywait"), "--timeout", "30", "--", self.cfg.execmond, "--socket", self.sock,
               "--log-target", "stderr"] + list(self.cfg.execmond_args) + self.extra
        self.readywait = self.popen(cmd, stdout=subprocess.PIPE, sig=signal.SIGTERM, text=True)
        # Registered after readywait's own stop, so it runs first: SIGTERM and read the
        # exit line (status, stop time) while the pipe is still ours.
        self._undo.callback(self._stop_daemon)
        first = self.readywait.stdout.readline()
        ev = json.loads(first) if first else {}
        if ev.get("event") != "ready":
            raise RuntimeError("execmond did not become ready: " + self.err_tail())
        self.daemon_pid = ev["pid"]
        self.ready_ms = ev["ready_ms"]
        if self.client == "socat":
            self.clients.append(self.popen(["socat", "-u", f"UNIX-CONNECT:{self.sock}", "-"], stdout=self.out,
                                           sig=signal.SIGTERM, grace=10))
            if not wait_marker(self.cfg, self.out, self.run, "ready", 10):
                raise RuntimeError("no ready marker through execmond+socat")
        elif self.client == "tap":
            readyf = os.path.join(self.cfg.runs_dir, f"tap-{self.run}.ready")
            self.clients.append(self.popen([self.cfg.tool("tap"), "--socket", self.sock, "--run", self.run,
                                            "--count", str(self.count), "--ready", readyf],
                                           stdout=subprocess.PIPE, sig=signal.SIGTERM, grace=10, text=True))
            deadline = time.monotonic() + 10
            while not os.path.exists(readyf):
                if time.monotonic() > deadline:
                    raise RuntimeError("no ready marker through execmond+tap")
                spawn_marker(self.cfg, self.run, "ready")
                time.sleep(0.05)
        else:
            if not self.probe_ready():
                raise RuntimeError("no ready marker through execmond")
            if self.client == "null":
                self.clients.append(self.popen(["socat", "-u", f"UNIX-CONNECT:{self.sock}", "-"],
                                               stdout=os.devnull, sig=signal.SIGTERM, grace=10))

    def probe_ready(self, timeout=10):
        """Whole path live (probe -> daemon -> a client), proved by a connection of our own
        that sees a marker exec and then closes."""
        needle = token(self.run, "ready").encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.sock)
            s.settimeout(0.05)
            buf = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                spawn_marker(self.cfg, self.run, "ready")
                try:
                    while True:
                        data = s.recv(65536)
                        if not data:
                            return False
                        buf = buf[-256:] + data
                        if needle in buf:
                            return True
                except socket.timeout:
                    pass
        return False

    def daemon_events(self, timeout=10):
        """fork + exec + exit events the daemon has handled since it started (its stats
        reply, on a connection of our own), or None."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.sock)
            s.settimeout(timeout)
            s.sendall(b'{"type":"stats"}\n')
            buf = b""
            with contextlib.suppress(socket.timeout):
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    buf += data
                    lines = buf.split(b"\n")
                    for line in lines[:-1]:
                        if b'"type":"stats"' in line:
                            ev = json.loads(line)["events"]
                            return ev["fork"] + ev["exec"] + ev["exit"]
                    buf = lines[-1]
        return None

    def _stop_daemon(self):
        rw = self.readywait
        if rw is None or rw.returncode is not None:
            return
        rw.send_signal(signal.SIGTERM)
        try:
            out, _ = rw.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            rw.kill()
            out, _ = rw.communicate()
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                ev = json.loads(line)
                if ev.get("event") == "exit":
                    self.exit_event = ev

    def stop(self):
        # The daemon first, so that its clients see the end of the stream and exit.
        try:
            self._stop_daemon()
        finally:
            super().stop()

    def pids(self):
        return [self.daemon_pid] + [c.pid for c in self.clients]

    def bpf_pids(self):
        return [self.daemon_pid]

    def hwm_kib(self):
        return procfs.proc_status_kib(self.daemon_pid, "VmHWM")

    def rss_kib(self):
        return procfs.proc_status_kib(self.daemon_pid, "VmRSS")

    def tap_result(self, timeout):
        c = self.clients[0]
        try:
            out, _ = c.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            c.send_signal(signal.SIGTERM)
            out, _ = c.communicate()
        return json.loads(out)

    def drain(self, run, storm_s):
        if self.flushes:
            super().drain(run, storm_s)
        else:  # no output of ours to watch: until the daemon (and the discarding client) idle
            wait_cpu_settled(self.pids())

    def count_tokens(self, run=None):
        """Unique tokens, plus per-type line counts, lost counts and fork/exit completeness;
        (None, {}) without an output file."""
        if self.client != "socat":
            return None, {}
        pat = re.compile(r"^execmond-bench-" + re.escape(run or self.run) + r"-(\d+)$")
        seen = set()
        state = {}
        st = {"lines": 0, "fork": 0, "exec": 0, "exit": 0, "lost": 0, "lost_exec": 0, "other": 0,
              "token_fork_ok": 0, "token_exit_ok": 0, "bad_json": 0}
        with open(self.out, "rb") as f:
            for raw in f:
                st["lines"] += 1
                try:
                    j = json.loads(raw)
                except ValueError:
                    st["bad_json"] += 1
                    continue
                t = j.get("type")
                pid = j.get("pid")
                if t == "fork":
                    st["fork"] += 1
                    state[pid] = "forked"
                elif t == "exec":
                    st["exec"] += 1
                    argv = j.get("argv") or []
                    m = pat.match(argv[1]) if len(argv) > 1 else None
                    if m and m.group(1) not in seen:
                        seen.add(m.group(1))
                        if state.get(pid) == "forked":
                            st["token_fork_ok"] += 1
                        state[pid] = "execed"
                    else:
                        state.pop(pid, None)
                elif t == "exit":
                    st["exit"] += 1
                    if state.get(pid) == "execed":
                        st["token_exit_ok"] += 1
                    state.pop(pid, None)
                elif t == "lost":
                    st["lost"] += j.get("count", 0)
                    st["lost_exec"] += (j.get("by_type") or {}).get("exec", 0)
                else:
                    st["other"] += 1
        return len(seen), st


# ---------------------------------------------------------------- the audit peers


AUDIT_KEY = "execmond-bench"
AUDIT_RULE = ("always,exit", "-F", "arch=b64", "-S", "execve", "-k", AUDIT_KEY)
AUDIT_BACKLOG = 8192  # Debian's /etc/audit/rules.d/audit.rules: -b 8192


def auditctl(*args, check=True):
    p = subprocess.run(["auditctl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if check and p.returncode != 0:
        raise RuntimeError(f"auditctl {' '.join(args)}: {p.stderr.strip() or p.stdout.strip()}")
    return p.stdout


def audit_status():
    """`auditctl -s` as {key: value}: enabled, pid (the registered audit daemon), backlog_limit..."""
    out = {}
    for line in auditctl("-s").splitlines():
        k, _, v = line.partition(" ")
        out[k] = v.strip()
    return out


def config_lines(path, overrides, defaults=()):
    """A `key = value` config file (auditd.conf) with overrides applied: the file's own
    lines if it exists, else defaults."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = [f"{k} = {v}" for k, v in defaults]
    out, done = [], set()
    for line in lines:
        k = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and k in overrides:
            out.append(f"{k} = {overrides[k]}")
            done.add(k)
        else:
            out.append(line)
    out += [f"{k} = {v}" for k, v in overrides.items() if k not in done]
    return "\n".join(out) + "\n"


class Auditd(Monitor):
    """Debian's auditd with one rule, every execve; its own config directory and log,
    started here and stopped after (the rule deleted, the kernel's audit settings put back)."""

    name = "auditd"
    write_logs = True

    def __init__(self, cfg, run):
        super().__init__(cfg, run)
        self.confdir = os.path.join(cfg.runs_dir, f"{self.name}-{run}.conf")
        self.auditd = None
        self.kauditd = procfs.kthread_pid("kauditd")

    def auditd_conf(self):
        return config_lines("/etc/audit/auditd.conf", {
            "log_file": self.out if self.write_logs else os.path.join(self.confdir, "unused.log"),
            "write_logs": "yes" if self.write_logs else "no",
            "log_format": "ENRICHED",
            "log_group": "root",
            "plugin_dir": os.path.join(self.confdir, "plugins.d"),
            # One run's log in one file, and no suspending on a small disk.
            "max_log_file_action": "ignore",
            "space_left_action": "ignore",
            "admin_space_left_action": "ignore",
            "disk_full_action": "ignore",
            "disk_error_action": "ignore",
        }, defaults=(("local_events", "yes"), ("flush", "INCREMENTAL_ASYNC"), ("freq", "50"),
                     ("priority_boost", "4"), ("q_depth", "2000"), ("end_of_event_timeout", "2")))

    def write_plugins(self, plugins_dir):
        pass  # plain auditd: no plugins

    def start(self):
        before = audit_status()
        if before.get("pid", "0") != "0":
            raise RuntimeError(f"an audit daemon (pid {before['pid']}) is already registered with the kernel;"
                               " stop it to measure auditd")
        self._undo.callback(self._restore, before)
        os.makedirs(os.path.join(self.confdir, "plugins.d"), exist_ok=True)
        with open(os.path.join(self.confdir, "auditd.conf"), "w") as f:
            f.write(self.auditd_conf())
        self.write_plugins(os.path.join(self.confdir, "plugins.d"))
        # -n: no fork (ours to stop); the default -s=enable turns auditing on and off again at exit.
        self.auditd = self.popen(["auditd", "-n", "-c", self.confdir], sig=signal.SIGTERM)
        if not wait_for(lambda: audit_status().get("pid") == str(self.auditd.pid) or self.auditd.poll() is not None,
                        10) or self.auditd.poll() is not None:
            raise RuntimeError("auditd did not register with the kernel: " + self.err_tail())
        auditctl("-b", str(AUDIT_BACKLOG))
        auditctl("-a", *AUDIT_RULE)
        self._undo.callback(auditctl, "-d", *AUDIT_RULE, check=False)
        self.wait_ready()

    def wait_ready(self):
        if not wait_marker(self.cfg, self.out, self.run, "ready", 15, spawn_every=0.1):
            raise RuntimeError(f"no ready marker in {self.out}: " + self.err_tail())

    def _restore(self, before):
        now = audit_status()
        if now.get("backlog_limit") != before.get("backlog_limit"):
            auditctl("-b", before["backlog_limit"], check=False)
        if now.get("enabled") != before.get("enabled") and before.get("enabled") in ("0", "1"):
            auditctl("-e", before["enabled"], check=False)

    def kthread_pids(self):
        return [self.kauditd] if self.kauditd else []


class Laurel(Auditd):
    """auditd dispatching every event to laurel (Debian's package, its default transform and
    enrichment), which writes JSON lines; auditd writes no log of its own."""

    name = "laurel"
    write_logs = False

    def __init__(self, cfg, run):
        super().__init__(cfg, run)
        self.logdir = os.path.join(cfg.runs_dir, f"laurel-{run}")
        self.out = os.path.join(self.logdir, "audit.log")
        self.laurel_pid = None

    def laurel_conf(self):
        try:
            with open("/etc/laurel/config.toml") as f:
                text = f.read()
        except FileNotFoundError:
            text = '[auditlog]\nfile = "audit.log"\n[transform]\nexecve-argv = [ "array" ]\n'
        # Our directory, run as root (no _laurel user needed to write there), no rotation
        # within a run.
        text = re.sub(r'(?m)^directory\s*=.*$', "", text)
        text = re.sub(r'(?m)^user\s*=.*$', "", text)
        text = re.sub(r'(?m)^size\s*=.*$', "size = 10000000000", text)
        return f'directory = "{self.logdir}"\n' + text

    def write_plugins(self, plugins_dir):
        os.makedirs(self.logdir, exist_ok=True)
        conf = os.path.join(self.confdir, "laurel.toml")
        with open(conf, "w") as f:
            f.write(self.laurel_conf())
        with open(os.path.join(plugins_dir, "laurel.conf"), "w") as f:
            f.write("active = yes\ndirection = out\ntype = always\nformat = string\n"
                    f"path = /usr/sbin/laurel\nargs = --config {conf}\n")

    def wait_ready(self):
        def find():
            kids = [p for p in procfs.children(self.auditd.pid) if procfs.comm(p) == "laurel"]
            self.laurel_pid = kids[0] if kids else None
            return self.laurel_pid is not None
        if not wait_for(find, 10):
            raise RuntimeError("auditd did not start laurel: " + self.err_tail())
        super().wait_ready()

    def pids(self):
        return super().pids() + ([self.laurel_pid] if self.laurel_pid else [])


MONITORS = {"execmond": Execmond, "execsnoop": Execsnoop, "bpftrace": Bpftrace, "forkstat": Forkstat,
            "auditd": Auditd, "laurel": Laurel}


def make_monitor(name, cfg, run, **kw):
    return MONITORS[name](cfg, run, **kw)
