#!/usr/bin/python3
"""Storm rate with no daemon, the daemon as default, with --exec-failures and with --env LD_PRELOAD,
in interleaved rounds (a quick look; bench/run.sh is the measurement).

    sudo bench/flag_storm.py BUILD_DIR ROUNDS EXECS_PER_STORM     (e.g. build 5 4000)

Each daemon gets a client that reads and discards every line."""
import json, os, socket, subprocess, sys, time, statistics
B = sys.argv[1]; rounds = int(sys.argv[2]); count = int(sys.argv[3])
daemon = B + "/daemon/execmond"; storm = B + "/bench/storm"
configs = {"none": None, "default": [], "exec-failures": ["--exec-failures"], "env": ["--env", "LD_PRELOAD"]}
def run_storm():
    out = subprocess.run([storm, "--count", str(count)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["rate"]
res = {k: [] for k in configs}
for r in range(rounds):
    for name, args in configs.items():
        d = None
        if args is not None:
            sock = f"/tmp/execmond-flag-storm-{os.getpid()}.sock"
            d = subprocess.Popen([daemon, "--socket", sock, "--config", "/dev/null", "--log-target", "stderr"] + args,
                                 stderr=subprocess.DEVNULL)
            for _ in range(300):
                if os.path.exists(sock): break
                time.sleep(0.05)
            time.sleep(0.5)
            c = socket.socket(socket.AF_UNIX); c.connect(sock)
            drain = subprocess.Popen(["sh", "-c", "cat >/dev/null"], stdin=c.fileno())
        rate = run_storm()
        res[name].append(rate)
        if d:
            d.terminate(); d.wait(); drain.wait(); c.close()
    print(r, {k: round(v[-1]) for k, v in res.items()}, flush=True)
base = statistics.median(res["none"])
for k, v in res.items():
    m = statistics.median(v)
    print(f"{k:14s} median {m:8.0f} exec/s  ratio {m/base:.3f}")
