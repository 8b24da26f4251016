#!/usr/bin/env python3
"""First-exec latency of --hash for a cache miss: how long after its exec line
the exe_hash line comes. Execs 20 fresh copies of /usr/bin/ls (each a new inode,
so each a miss) and pairs the lines by key and exec_ktime_ns.

    execmond --socket /tmp/m.sock --config /dev/null --hash sha256 --packages &
    bench/tools/hash_miss.py /tmp/m.sock
"""
import json, os, shutil, socket, subprocess, sys, tempfile

sock = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.connect(sock); f = s.makefile("rb")
json.loads(f.readline())
s.sendall(b'{"type":"subscribe","events":["exec"]}\n')
while json.loads(f.readline()).get("type") != "subscribed": pass
d = tempfile.mkdtemp()
pids = {}
for i in range(20):
    p = os.path.join(d, f"ls{i}")
    shutil.copy("/usr/bin/ls", p)          # a new inode: a cache miss
    with open(p, "ab") as g: g.write(str(i).encode())
    r = subprocess.run([p, "-d", "/"], capture_output=True)
want = 20; execs = {}; lat = []
s.settimeout(10)
while len(lat) < want:
    l = json.loads(f.readline())
    if l["type"] == "exec" and l.get("filename","").startswith(d):
        execs[(l["key"], l["ktime_ns"])] = l
    elif l["type"] == "exe_hash" and (l["key"], l["exec_ktime_ns"]) in execs:
        lat.append((l["ktime_ns"] - l["exec_ktime_ns"]) / 1e6)
lat.sort()
print(f"cache-miss exe_hash after its exec: n={len(lat)} median {lat[len(lat)//2]:.2f} ms, max {lat[-1]:.2f} ms (copies of ls, {os.path.getsize('/usr/bin/ls')} bytes)")
