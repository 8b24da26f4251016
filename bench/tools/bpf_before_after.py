#!/usr/bin/env python3
"""In-kernel BPF ns per exec (kernel.bpf_stats_enabled) and storm ratio of two
execmond binaries, in alternating rounds (a quick before/after of a probe change;
bench/run.sh is the full benchmark). As root:

  bench/tools/bpf_before_after.py BEFORE_BIN AFTER_BIN build/bench/storm build/bench/noop [ROUNDS] [COUNT]
"""
import json, os, subprocess, sys, time, glob, socket, statistics

before, after, storm, noop = sys.argv[1:5]
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
count = int(sys.argv[6]) if len(sys.argv) > 6 else 20000

def prog_ids(pid):
    ids = set()
    for f in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            for line in open(f):
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids

def stats(ids):
    p = subprocess.run(["bpftool", "-j", "prog", "show"], stdout=subprocess.PIPE, text=True)
    return {pr["id"]: (pr.get("name"), pr.get("run_time_ns", 0), pr.get("run_cnt", 0))
            for pr in json.loads(p.stdout) if pr["id"] in ids}

def run_storm():
    out = subprocess.run([storm, "--count", str(count), "--noop", noop], stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out)["rate"]

def with_daemon(binary):
    sock = f"/tmp/idbench-{os.getpid()}.sock"
    if os.path.exists(sock): os.unlink(sock)
    d = subprocess.Popen([binary, "--socket", sock], stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(sock): break
        time.sleep(0.05)
    c = socket.socket(socket.AF_UNIX); c.connect(sock)
    sink = subprocess.Popen(["cat"], stdin=c.fileno(), stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    ids = prog_ids(d.pid)
    a = stats(ids)
    rate = run_storm()
    b = stats(ids)
    d.terminate(); d.wait(); sink.kill(); c.close()
    per = {}
    for i, (name, ns, cnt) in b.items():
        n0, c0 = a.get(i, (name, 0, 0))[1:]
        per[name] = ((ns - n0) / max(cnt - c0, 1), cnt - c0, ns - n0)
    total = sum(v[2] for v in per.values()) / count
    return rate, total, per

open("/proc/sys/kernel/bpf_stats_enabled", "w").write("1")
res = {"before": [], "after": []}
try:
    for r in range(rounds):
        for label, binary in (("before", before), ("after", after)):
            base = run_storm()
            rate, total, per = with_daemon(binary)
            res[label].append((rate / base, total, per))
            print(f"round {r} {label}: ratio {rate/base:.3f} ({rate:.0f}/{base:.0f} exec/s), BPF {total:.0f} ns/exec, " +
                  ", ".join(f"{k} {v[0]:.0f} ns x {v[1]}" for k, v in per.items()), flush=True)
finally:
    open("/proc/sys/kernel/bpf_stats_enabled", "w").write("0")
for label in res:
    print(f"{label}: median ratio {statistics.median(x[0] for x in res[label]):.3f}, median BPF ns/exec {statistics.median(x[1] for x in res[label]):.0f}")
