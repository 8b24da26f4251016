#!/usr/bin/env python3
"""execmon against a real execmond, used as a person uses it: in a terminal.

    execmon_test.py tmux      the live view and --tree in tmux panes, the error messages
    execmon_test.py ps        `execmon ps` against the real daemon, compared with /proc
                              (skipped, exit 77, while the daemon has no snapshot request)
    execmon_test.py ps-fake   `execmon ps` against a stand-in daemon serving /proc as a snapshot

Needs root (the daemon loads BPF; exit 77 otherwise) and tmux. Binaries from
$EXECMON_BIN and $EXECMOND_BIN (meson sets both), else build/client/execmon
and build/daemon/execmond. Truth comes from the kernel, not from execmon's own
logic: the typed command records its own pid, parent and /proc/self/cmdline;
the line execmon prints is pasted back into bash, which must rebuild exactly
those argv bytes.
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
EXECMON = os.path.abspath(os.environ.get("EXECMON_BIN", "build/client/execmon"))
EXECMOND = os.path.abspath(os.environ.get("EXECMOND_BIN", "build/daemon/execmond"))
PYTHON = "/usr/bin/python3"  # not a pyenv shim: its own execs would be in the tree

failures = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        if detail:
            print("      " + detail.replace("\n", "\n      "))
        failures.append(what)
    return ok


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Daemon:
    """execmond on a socket of its own, ready when it says READY=1 (as under systemd)."""

    def __init__(self, workdir):
        self.dir = workdir
        self.socket = os.path.join(workdir, "events.sock")
        self.log = os.path.join(workdir, "daemon.log")
        notify_path = os.path.join(workdir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [EXECMOND, "--socket", self.socket, "--log-target", "stderr", "--config", "/dev/null"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env)
        notify.settimeout(0.1)
        deadline = time.monotonic() + 15
        ready = False
        while not ready and time.monotonic() < deadline and self.proc.poll() is None:
            try:
                ready = b"READY=1" in notify.recv(4096)
            except socket.timeout:
                pass
        notify.close()
        if not ready:
            self.stop()
            raise RuntimeError("execmond did not get ready:\n" + open(self.log, errors="replace").read()[-3000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Tmux:
    """A tmux server of our own (its own socket), one session, panes addressed by id."""

    def __init__(self, workdir, env):
        self.sock = os.path.join(workdir, "tmux.sock")
        self.env = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        self.run("new-session", "-d", "-s", "t", "-x", "250", "-y", "60", *self.env, "bash --norc --noprofile")
        self.first = self.run("display-message", "-p", "-t", "t", "#{pane_id}").strip()

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null", *args], check=True,
                              capture_output=True, text=True).stdout

    def narrow(self, columns):
        """A pane in a session of its own, `columns` wide from the start (a resize reaches the pty late)."""
        self.run("new-session", "-d", "-s", "narrow", "-x", str(columns), "-y", "20", *self.env,
                 "bash --norc --noprofile")
        return self.run("display-message", "-p", "-t", "narrow", "#{pane_id}").strip()

    def split(self):
        # One above the other: every pane keeps the full 250 columns.
        return self.run("split-window", "-v", "-d", "-P", "-F", "#{pane_id}", "-t", self.first,
                        "bash --norc --noprofile").strip()

    def pane_pid(self, pane):
        return int(self.run("display-message", "-p", "-t", pane, "#{pane_pid}").strip())

    def type(self, pane, text):
        self.run("send-keys", "-t", pane, "-l", text)
        self.run("send-keys", "-t", pane, "Enter")

    def interrupt(self, pane):
        self.run("send-keys", "-t", pane, "C-c")

    def clear(self, pane):
        # Reset the terminal and drop its history: the next capture shows only what follows.
        self.run("send-keys", "-R", "-t", pane)
        self.run("clear-history", "-t", pane)

    def capture(self, pane, escapes=False):
        args = ["capture-pane", "-p", "-t", pane, "-S", "-"]
        if escapes:
            args.append("-e")
        return self.run(*args)

    def kill(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True)


RECORDER = """import os, sys
# Records what the kernel says of this process: pid, parent, argv bytes.
with open(sys.argv[1], "wb") as f:
    f.write(b"%d %d\\n" % (os.getpid(), os.getppid()) + open("/proc/self/cmdline", "rb").read())
"""


def recorder_command(work, out):
    """A command line, as typed, that records its own pid, parent and argv."""
    script = os.path.join(work, "recorder.py")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(RECORDER)
    # Spaces, quotes, a newline, a tab, bytes that are not UTF-8, UTF-8, an empty argument, $ and *.
    tricky = """'a b' "it's" $'x\\ny' $'tab\\there' $'\\xff\\xfe' 'ünï' '' '$HOME' '*' --flag=1"""
    return f"{PYTHON} {script} {out} {tricky}"


def read_record(path):
    data = open(path, "rb").read()
    head, _, cmdline = data.partition(b"\n")
    pid, ppid = (int(x) for x in head.split())
    return pid, ppid, cmdline


def lines_with_pid(screen, pid, column_re):
    return [l for l in screen.splitlines() if re.match(column_re.format(pid=pid), l)]


# What execmon appends after the command: two spaces, then name=value
# (exe, cwd, container, login), each value shell-quoted, then [flags].
ANNOTATIONS = re.compile(r"(?:  (?:(?:exe|cwd|container|login)=\S+|\[(?:privileged|fileless|modified)\]))+$")


def command_text(shown):
    """The command of a shown line, without the annotations after it."""
    return ANNOTATIONS.sub("", shown.rstrip())


def rerun_argv(command):
    """What bash makes of the command text (each word NUL-terminated)."""
    return subprocess.run(["bash", "-c", "printf '%s\\0' " + command_text(command)], capture_output=True).stdout


def test_live_view(tmux, typist, viewer, shell_pid, work):
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} -p {shell_pid}")
    check(wait_for(lambda: "COMMAND" in tmux.capture(viewer)), "execmon prints its heading on a terminal",
          tmux.capture(viewer))
    record = os.path.join(work, "rec1")
    tmux.type(typist, recorder_command(work, record))
    if not check(wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0), "the typed command ran"):
        return
    pid, ppid, cmdline = read_record(record)
    row = r"^\d\d:\d\d:\d\d\.\d\d\d root +{pid} +"
    found = wait_for(lambda: lines_with_pid(tmux.capture(viewer), pid, row), 10)
    screen = tmux.capture(viewer)
    if not check(len(found) == 1, f"the command (pid {pid}) appears as one line", screen):
        return
    m = re.match(r"^(\S+) +(\S+) +(\d+) +(\d+) (.*)$", found[0])
    check(m and int(m.group(4)) == ppid == shell_pid, f"its ppid is the typing shell's ({shell_pid})", found[0])
    command = m.group(5).rstrip()
    check(rerun_argv(command) == cmdline, "bash rebuilds the exact argv bytes from the line",
          f"line:    {command}\nrebuilt: {rerun_argv(command)!r}\nkernel:  {cmdline!r}")
    check("\u2026" not in found[0], "a line that fits is not cut", found[0])
    coloured = tmux.capture(viewer, escapes=True)
    check("\x1b[" in coloured, "colour on a terminal")
    tmux.interrupt(viewer)

    # NO_COLOR: no escape sequences at all; piped: whole lines.
    tmux.clear(viewer)
    tmux.type(viewer, f"NO_COLOR=1 {EXECMON} -p {shell_pid}")
    wait_for(lambda: "COMMAND" in tmux.capture(viewer))
    record = os.path.join(work, "rec2")
    tmux.type(typist, recorder_command(work, record))
    wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0)
    pid, _, _ = read_record(record)
    wait_for(lambda: lines_with_pid(tmux.capture(viewer), pid, row), 10)
    raw = tmux.capture(viewer, escapes=True)
    line = [l for l in raw.splitlines() if f" {pid} " in l]
    check(line and "\x1b[" not in line[0], "NO_COLOR=1: no colour", repr(line))
    tmux.interrupt(viewer)

    # A narrow terminal: the long line is cut with an ellipsis to its width.
    narrow = tmux.narrow(100)
    tmux.type(narrow, f"{EXECMON} -p {shell_pid}")
    wait_for(lambda: "COMMAND" in tmux.capture(narrow))
    record = os.path.join(work, "rec3")
    tmux.type(typist, recorder_command(work, record))
    wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0)
    pid, _, _ = read_record(record)
    found = wait_for(lambda: lines_with_pid(tmux.capture(narrow), pid, row), 10)
    check(found and command_text(found[0]).endswith("\u2026") and len(found[0].rstrip()) == 100,
          "on a 100-column terminal the line is cut to 100 columns, ending in an ellipsis", repr(found))
    tmux.interrupt(narrow)

    # Piped: the same line whole, however narrow the terminal.
    piped = os.path.join(work, "piped.txt")
    tmux.clear(narrow)
    tmux.type(narrow, f"{EXECMON} -p {shell_pid} | cat > {piped}")
    record = os.path.join(work, "rec4")
    # No heading when piped: wait until the client is connected by other means.
    wait_for(lambda: clients_of(work) >= 1, 10)
    tmux.type(typist, recorder_command(work, record))
    wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0)
    pid, _, cmdline = read_record(record)
    got = wait_for(lambda: [l for l in open(piped, errors="surrogateescape").read().splitlines()
                            if re.match(row.format(pid=pid), l)] if os.path.exists(piped) else None, 10)
    tmux.interrupt(narrow)
    ok = bool(got)
    if ok:
        m = re.match(r"^(\S+) +(\S+) +(\d+) +(\d+) (.*)$", got[0])
        ok = rerun_argv(m.group(5)) == cmdline and "\x1b[" not in got[0]
    check(ok and len(got[0]) > 100, "piped: the whole line (wider than the terminal), no colour, re-runnable",
          repr(got))


def test_json_and_stats(typist, tmux, shell_pid, work):
    """--json passes the daemon's lines through; stats gives rates since the last call."""
    sock = os.path.join(work, "events.sock")
    out = open(os.path.join(work, "json.txt"), "w+")
    p = subprocess.Popen([EXECMON, "--json", "-p", str(shell_pid)], stdout=out, env=dict(os.environ, EXECMOND_SOCKET=sock))
    try:
        wait_for(lambda: clients_of(work) >= 1, 10)
        record = os.path.join(work, "json1")
        tmux.type(typist, recorder_command(work, record))
        wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0)
        pid, ppid, cmdline = read_record(record)

        def exec_line():
            out.seek(0)
            for line in out.read().splitlines():
                j = json.loads(line)
                if j.get("type") == "exec" and j.get("pid") == pid:
                    return j
        j = wait_for(exec_line, 10)
    finally:
        p.terminate()
        p.wait()
    out.seek(0)
    lines = out.read().splitlines()
    types = [json.loads(l)["type"] for l in lines]
    check(types[:2] == ["hello", "subscribed"], "--json: the hello line, the subscription's answer, then events",
          repr(types[:5]))
    check(j is not None and j["ppid"] == ppid and len(j["argv"]) == cmdline.count(b"\0"),
          "--json: the exec line as the daemon wrote it", repr(j))
    here = os.path.dirname(os.path.abspath(__file__))
    v = subprocess.run([PYTHON, os.path.join(here, "..", "..", "tests", "validate_stream.py")],
                       input="\n".join(lines) + "\n", capture_output=True, text=True)
    check(v.returncode == 0, "--json: every line follows proto/stream.schema.json", v.stdout)

    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    first = subprocess.run([EXECMON, "--socket", sock, "stats"], capture_output=True, text=True, env=env)
    second = subprocess.run([EXECMON, "--socket", sock, "stats"], capture_output=True, text=True, env=env)
    check("rates since execmond started" in first.stdout and "since the last execmon stats" in second.stdout,
          "stats: rates since the daemon started, then since the last call", first.stdout + second.stdout)
    check("\x1b[" not in second.stdout and re.search(r"^  exec +[0-9,]+ +[0-9.]+$", second.stdout, re.M),
          "stats: piped, plain text with totals and rates", second.stdout)


def clients_of(work):
    """Clients whose subscription is in force (hello and its answer sent), per the daemon's stats."""
    p = subprocess.Popen([EXECMON, "--socket", os.path.join(work, "events.sock"), "stats", "--json"],
                         stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate()
    try:
        return sum(1 for c in json.loads(out)["per_client"] if c["pid"] != p.pid and c["sent"] >= 2)
    except (ValueError, KeyError):
        return 0


def test_tree(tmux, typist, viewer, shell_pid, work):
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --tree -p {shell_pid}")
    check(wait_for(lambda: "under its ancestors" in tmux.capture(viewer)), "--tree prints its heading")
    record = os.path.join(work, "tree1")
    tmux.type(typist, recorder_command(work, record))
    wait_for(lambda: os.path.exists(record) and os.path.getsize(record) > 0)
    pid, ppid, cmdline = read_record(record)
    row = r"^\d\d:\d\d:\d\d\.\d\d\d root +{pid} "
    wait_for(lambda: lines_with_pid(tmux.capture(viewer), pid, row), 10)
    lines = tmux.capture(viewer).splitlines()
    at = [i for i, l in enumerate(lines) if re.match(row.format(pid=pid), l)]
    if not check(len(at) == 1, f"--tree: the command (pid {pid}) appears once", "\n".join(lines)):
        return
    line = lines[at[0]]
    indent = len(re.match(r"^.{22}( *)", line).group(1))  # past the time and user columns
    # The nearest line above, one level (two columns) shallower, is its parent.
    parent = None
    for l in reversed(lines[:at[0]]):
        m = re.match(r"^.{22}( *)(?:\u2026 )?(\d+) ", l)
        if m and len(m.group(1)) == indent - 2:
            parent = int(m.group(2))
            break
    check(parent == ppid == shell_pid, f"--tree: it sits under its shell (pid {shell_pid})",
          f"parent on screen: {parent}; kernel: {ppid}\n" + "\n".join(lines))
    command = line[re.match(row.format(pid=pid), line).end():].rstrip()
    check(rerun_argv(command) == cmdline, "--tree: the argv is re-runnable too", command)
    # A second command under the same shell reuses the ancestors: no new heading lines.
    record2 = os.path.join(work, "tree2")
    tmux.type(typist, recorder_command(work, record2))
    wait_for(lambda: os.path.exists(record2) and os.path.getsize(record2) > 0)
    pid2, _, _ = read_record(record2)
    wait_for(lambda: lines_with_pid(tmux.capture(viewer), pid2, row), 10)
    lines = tmux.capture(viewer).splitlines()
    at2 = [i for i, l in enumerate(lines) if re.match(row.format(pid=pid2), l)]
    check(at2 and at2[0] == at[0] + 1 and len(re.match(r"^.{22}( *)", lines[at2[0]]).group(1)) == indent,
          "--tree: the next command under the same shell follows at the same depth, ancestors reused",
          "\n".join(lines))
    tmux.interrupt(viewer)
    return "\n".join(lines)


def wait_text(tmux, pane, text, timeout=10):
    return wait_for(lambda: text in tmux.capture(pane).replace("\n", ""), timeout)


def fake_daemon(path, hello, answer=None):
    """Serves one connection: the hello line, then (if given) answer(request lines) -> lines."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.sendall((json.dumps(hello) + "\n").encode())
            if answer:
                f = conn.makefile("rb")
                for req in f:
                    for line in answer(json.loads(req)):
                        conn.sendall((json.dumps(line) + "\n").encode())
            else:
                time.sleep(1)
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


HELLO = {"type": "hello", "protocol": 1, "version": "0.1.0", "hostname": "fake", "boot_id":
         "5b6c0a39-4e47-4d5e-9d1c-1f0f3b6b2a11", "boot_time": "2026-01-01T00:00:00.000000000Z",
         "probe_mode": "tp_btf", "parent_path": "btf",
         "stream_id": "5b6c0a39-4e47-4d5e-9d1c-1f0f3b6b2a11:4211000000", "last_seq": 0}


def test_errors(tmux, viewer, daemon, work):
    none = os.path.join(work, "none.sock")
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {none}")
    check(wait_text(tmux, viewer, f"execmon: execmond is not running (no socket at {none}); "
                    "start it with: systemctl start execmond"), "no socket: says execmond is not running",
          tmux.capture(viewer))

    tmux.clear(viewer)
    tmux.type(viewer, f"EXECMOND_SOCKET={none}.env {EXECMON}")
    check(wait_text(tmux, viewer, f"no socket at {none}.env)"), "$EXECMOND_SOCKET names the socket",
          tmux.capture(viewer))

    # A socket file nobody listens on (a daemon that died): ECONNREFUSED.
    dead = os.path.join(work, "dead.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(dead)
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {dead}")
    check(wait_text(tmux, viewer, f"execmond is not running (no socket at {dead})"),
          "a stale socket file: says execmond is not running", tmux.capture(viewer))
    s.close()

    # Not root, not in the socket's group (the daemon's socket is 0660 root:execmond or root:root).
    tmux.clear(viewer)
    tmux.type(viewer, f"setpriv --reuid=nobody --regid=nogroup --clear-groups -- {EXECMON} --socket {daemon.socket}")
    check(wait_text(tmux, viewer, f"execmon: permission denied on {daemon.socket}; add yourself to the execmond "
                    "group: usermod -aG execmond nobody"), "not allowed: says how to join the execmond group",
          tmux.capture(viewer))

    # A daemon of another protocol version.
    other = os.path.join(work, "p2.sock")
    fake_daemon(other, dict(HELLO, protocol=2))
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {other}")
    check(wait_text(tmux, viewer, f"execmond at {other} speaks protocol 2; this execmon speaks protocol 1"),
          "another protocol: says which", tmux.capture(viewer))

    # The real daemon, today without snapshots: ps says so (ps-test checks the day it has them).
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {daemon.socket} ps")
    wait_for(lambda: "snapshot" in tmux.capture(viewer) or "PID" in tmux.capture(viewer), 10)
    screen = tmux.capture(viewer)
    check("this execmond does not support snapshots (protocol 1)" in screen or "COMMAND" in screen,
          "ps: a daemon without snapshots is named as such", screen)

    # The daemon stops: a running execmon says so, the next one finds no daemon.
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {daemon.socket} -c no-such-comm")
    wait_text(tmux, viewer, "COMMAND")
    daemon.stop()
    check(wait_text(tmux, viewer, "execmon: execmond closed the connection"), "a stopped daemon: execmon says so",
          tmux.capture(viewer))
    tmux.clear(viewer)
    tmux.type(viewer, f"{EXECMON} --socket {daemon.socket}")
    check(wait_text(tmux, viewer, f"execmond is not running (no socket at {daemon.socket})"),
          "after the daemon stopped: says execmond is not running", tmux.capture(viewer))


def main_tmux():
    if not shutil.which("tmux"):
        print("tmux is missing: scripts/install-deps.sh installs it")
        return 1
    work = tempfile.mkdtemp(prefix="execmon-test-")
    os.chmod(work, 0o755)  # nobody may reach the socket, so that the socket itself refuses
    daemon = Daemon(work)
    # execmon finds the daemon through $EXECMOND_SOCKET in every pane.
    tmux = Tmux(work, {"EXECMOND_SOCKET": daemon.socket, "HISTFILE": "/dev/null"})
    try:
        typist = tmux.first
        viewer = tmux.split()
        shell_pid = tmux.pane_pid(typist)
        test_live_view(tmux, typist, viewer, shell_pid, work)
        tree = test_tree(tmux, typist, viewer, shell_pid, work)
        test_json_and_stats(typist, tmux, shell_pid, work)
        if tree:
            print("--- the --tree pane:\n" + tree.rstrip() + "\n---")
        test_errors(tmux, viewer, daemon, work)
    finally:
        tmux.kill()
        daemon.stop()
        if failures:
            print("--- daemon log (end):\n" + open(daemon.log, errors="replace").read()[-2000:])
        shutil.rmtree(work, ignore_errors=True)
    return finish()


def proc_table():
    """pid -> (ppid, start ticks) from /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat", "rb").read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        out[int(name)] = (int(fields[1]), int(fields[19]))
    return out


def parse_ps(text):
    """pid -> parent pid per execmon ps's tree drawing (None for roots)."""
    lines = text.splitlines()
    col = lines[0].index("COMMAND")
    parents, stack = {}, []  # stack[depth] = pid
    for l in lines[1:]:
        pid = int(l.split()[0])
        rest = l[col:]
        depth = 0
        while rest[:3] in ("\u2502  ", "   ", "\u251c\u2500 ", "\u2514\u2500 "):
            depth += 1
            rest = rest[3:]
        del stack[depth:]
        parents[pid] = stack[depth - 1] if depth > 0 else None
        stack.append(pid)
    return parents


def compare_with_proc(before, shown, after):
    alive = {p: v for p, v in before.items() if after.get(p) == v}  # same process throughout
    missing = [p for p in alive if p not in shown]
    wrong = [(p, shown[p], v[0]) for p, v in alive.items() if p in shown and v[0] in alive and shown[p] != v[0]]
    roots = [(p, shown[p]) for p, v in alive.items() if p in shown and v[0] == 0 and shown[p] is not None]
    check(not missing, f"ps: every one of the {len(alive)} processes alive throughout is listed", f"missing: {missing[:20]}")
    check(not wrong, "ps: each under its parent per /proc", f"(pid, shown parent, /proc parent): {wrong[:20]}")
    check(not roots, "ps: processes without a parent are roots", f"{roots[:20]}")


def main_ps():
    work = tempfile.mkdtemp(prefix="execmon-ps-")
    daemon = Daemon(work)
    try:
        before = proc_table()
        r = subprocess.run([EXECMON, "--socket", daemon.socket, "ps"], capture_output=True, text=True)
        after = proc_table()
        if "does not support snapshots" in r.stderr:
            print("SKIP: this execmond answers the snapshot request with an error (" + r.stderr.strip() +
                  "); this test runs once the daemon has {\"type\":\"snapshot\"}")
            return SKIP
        if not check(r.returncode == 0, "execmon ps succeeds", r.stderr):
            return finish()
        compare_with_proc(before, parse_ps(r.stdout), after)
        j = subprocess.run([EXECMON, "--socket", daemon.socket, "ps", "--json"], capture_output=True, text=True)
        here = os.path.dirname(os.path.abspath(__file__))
        v = subprocess.run([PYTHON, os.path.join(here, "..", "..", "tests", "validate_stream.py")],
                           input=j.stdout, capture_output=True, text=True)
        check(v.returncode == 0, "ps --json: every line follows proto/stream.schema.json", v.stdout)
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    return finish()


def snapshot_from_proc():
    """process lines as docs/protocol.md describes them, read from /proc by this test."""
    lines = []
    hz = os.sysconf("SC_CLK_TCK")
    for pid, (ppid, ticks) in proc_table().items():
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            comm = open(f"/proc/{pid}/comm", "rb").read().rstrip(b"\n").decode(errors="replace")
            argv = [a.decode(errors="replace") for a in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[:-1]]
        except OSError:
            continue
        line = {"type": "process", "pid": pid, "ppid": ppid, "key": f"{pid}:{ticks}",
                "start_time": "2026-01-01T00:00:00.000000000Z", "start_ktime_ns": ticks * (10**9 // hz),
                "uid": uid, "comm": comm, "known_from": "proc"}
        if argv:
            line["argv"] = argv
            line["argv_truncated"] = False
        else:
            line["kernel_thread"] = True
        lines.append(line)
    return lines


def main_ps_fake():
    work = tempfile.mkdtemp(prefix="execmon-psfake-")
    path = os.path.join(work, "fake.sock")
    try:
        before = proc_table()
        snapshot = snapshot_from_proc()
        after = proc_table()

        def answer(req):
            if req["type"] == "subscribe":
                yield {"type": "subscribed", "filter": {"events": [], "uid": [], "comm": [], "filename": [],
                                                        "cgroup": "", "descendants_of": [], "stats_interval": 0}}
            elif req["type"] == "snapshot":
                yield from snapshot
                yield {"type": "snapshot_end", "time": "2026-01-01T00:00:00.000000000Z", "ktime_ns": 1,
                       "count": len(snapshot)}

        fake_daemon(path, HELLO, answer)
        r = subprocess.run([EXECMON, "--socket", path, "ps"], capture_output=True, text=True, timeout=30)
        if check(r.returncode == 0, "execmon ps (stand-in daemon serving /proc) succeeds", r.stderr):
            compare_with_proc(before, parse_ps(r.stdout), after)
            check(len(r.stdout.splitlines()) == len(snapshot) + 1, "ps: one line per process, plus the heading")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish()


def finish():
    if failures:
        print(f"{len(failures)} failed: " + "; ".join(failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "tmux"
    if os.geteuid() != 0 and mode != "ps-fake":
        print("SKIP: needs root (execmond loads BPF programs)")
        sys.exit(SKIP)
    for path in (EXECMON,) + ((EXECMOND,) if mode != "ps-fake" else ()):
        if not os.access(path, os.X_OK):
            print(f"{path} is not built (set EXECMON_BIN / EXECMOND_BIN)")
            sys.exit(1)
    sys.exit({"tmux": main_tmux, "ps": main_ps, "ps-fake": main_ps_fake}[mode]())
