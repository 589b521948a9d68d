#!/usr/bin/env bash
# Cost of one full discovery scan (processes, listening sockets mapped to their processes,
# packages, config files, correlation) with EXTRA more processes on the host, beside the peer an
# operator would run for the same picture: `ss -ltnuxp` (listening TCP/UDP/Unix sockets with
# their processes, which walks /proc/*/fd) plus `ps -eo pid,ppid,uid,comm,args`.
# Each side runs R times in this one run; the table gives the mean wall and CPU time (user +
# system of the child, from getrusage) per run, and lookout's own measure of its scan (the
# process start and JSON output left out). Not a test: nothing fails on a number.
#
#   bash bench/discovery.sh
#   env: EXTRA=1000 R=20
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA="${EXTRA:-1000}"
R="${R:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
[ -x "$BIN" ] || cargo build --release -q -p lookout
command -v ss >/dev/null || { echo "ss (iproute2) is needed: apt-get install iproute2" >&2; exit 1; }
python3 - "$BIN" "$EXTRA" "$R" <<'PY'
import json, os, resource, subprocess, sys, time
bin, extra, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kids = [subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL) for _ in range(extra)]
try:
    def run(cmd):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, out
    rows = {"lookout discover": [], "ss -ltnuxp + ps": []}
    inner = []
    run([bin, "discover", "--json"])  # page cache warm for both
    for _ in range(r):
        w, c, out = run([bin, "discover", "--json"])
        v = json.loads(out)
        inner.append((v["scan_ms"], v["scan_cpu_ms"], v["processes"], len(v["services"])))
        rows["lookout discover"].append((w, c))
        w1, c1, _ = run(["ss", "-ltnuxp"])
        w2, c2, _ = run(["ps", "-eo", "pid,ppid,uid,comm,args"])
        rows["ss -ltnuxp + ps"].append((w1 + w2, c1 + c2))
    mean = lambda xs: sum(xs) / len(xs)
    print(f"{extra} extra processes, {r} runs each; per run:")
    print(f"{'':28} {'wall ms':>9} {'CPU ms':>9}")
    for k, v in rows.items():
        print(f"{k:28} {mean([w for w, _ in v]) * 1e3:9.1f} {mean([c for _, c in v]) * 1e3:9.1f}")
    print(f"{'  lookout scan itself':28} {mean([i[0] for i in inner]):9.1f} {mean([i[1] for i in inner]):9.1f}"
          f"   ({inner[-1][2]} processes, {inner[-1][3]} services)")
    l = mean([c for _, c in rows["lookout discover"]])
    p = mean([c for _, c in rows["ss -ltnuxp + ps"]])
    print(f"CPU ratio peer/lookout: {p / l:.2f}x")
finally:
    for k in kids:
        k.kill()
    for k in kids:
        k.wait()
PY
