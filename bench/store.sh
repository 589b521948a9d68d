#!/usr/bin/env bash
# The local store on a day of a busy host's data (crates/store/examples/store_bench.rs: 8 CPUs x 8
# states, host series and 200 processes x 6 series every 10 s, ~11.2 million points), and, in
# the same run, the same shape of data (PEER_HOURS of it) in a peer's storage: Prometheus's TSDB
# through `promtool tsdb create-blocks-from openmetrics`, disk bytes per million points side by
# side. Not a test: nothing fails on a number.
#
#   bash bench/store.sh
#   env: HOURS=24 PEER_HOURS=2
set -euo pipefail
cd "$(dirname "$0")/.."
HOURS="${HOURS:-24}"
PEER_HOURS="${PEER_HOURS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
command -v promtool >/dev/null || { echo "promtool is needed: apt-get install prometheus" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# built with the agent's package selection, so DuckDB's C++ is not compiled a second time with
# other build-dependency features
CARGO_PROFILE_RELEASE_STRIP=none cargo build -q --release -p lookout -p lookout-store --example store_bench
EX="$CARGO_TARGET_DIR/release/examples/store_bench"
echo "== lookout store: $HOURS h"
STORE_BENCH_HOURS="$HOURS" "$EX"
echo "== lookout store: $PEER_HOURS h (for the peer comparison)"
STORE_BENCH_HOURS="$PEER_HOURS" STORE_BENCH_DIR="$tmp/lookout" "$EX" | tee "$tmp/lookout.txt"

echo "== Prometheus TSDB (promtool): $PEER_HOURS h of the same series"
python3 - "$PEER_HOURS" "$tmp/data.om" <<'PY'
import random, sys, time
hours, out = int(sys.argv[1]), sys.argv[2]
steps = hours * 360
t0 = int(time.time()) - steps * 10 - 7200
random.seed(1)
states = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
with open(out, "w") as f:
    # OpenMetrics wants each metric family's samples together
    f.write("# TYPE system_cpu_utilization gauge\n")
    for s in range(steps):
        t = t0 + s * 10
        for c in range(8):
            for st in states:
                f.write(f'system_cpu_utilization{{cpu="cpu{c}",state="{st}"}} {random.random()*0.2:.6f} {t}\n')
    f.write("# TYPE system_memory_usage_bytes gauge\n")
    for s in range(steps):
        t = t0 + s * 10
        for i, n in enumerate(["used", "free", "buffered", "cached", "slab_reclaimable", "slab_unreclaimable"]):
            f.write(f'system_memory_usage_bytes{{state="{n}"}} {1e9*(i+random.random()):.0f} {t}\n')
    for m in ["load1", "load5", "load15"]:
        f.write(f"# TYPE system_cpu_{m} gauge\n")
        for s in range(steps):
            f.write(f"system_cpu_{m} {random.random()*4:.4f} {t0 + s*10}\n")
    for name, kind in [("process_cpu_time_seconds", "counter"), ("process_cpu_utilization", "gauge"),
                       ("process_memory_usage_bytes", "gauge"), ("process_memory_virtual_bytes", "gauge"),
                       ("process_threads", "gauge")]:
        f.write(f"# TYPE {name} {kind}\n")
        for s in range(steps):
            t = t0 + s * 10
            for p in range(200):
                labels = f'pid="{1000+p}",executable="worker-{p%40}",owner="www-data"'
                if kind == "counter":
                    f.write(f'{name}_total{{{labels},state="user"}} {s*0.01*(p+1):.2f} {t}\n')
                    f.write(f'{name}_total{{{labels},state="system"}} {s*0.002*(p+1):.3f} {t}\n')
                elif name == "process_cpu_utilization":
                    f.write(f"{name}{{{labels}}} {random.random()*0.05:.6f} {t}\n")
                elif name == "process_memory_usage_bytes":
                    f.write(f"{name}{{{labels}}} {5e7+1e6*p+1e5*random.random():.0f} {t}\n")
                elif name == "process_memory_virtual_bytes":
                    f.write(f"{name}{{{labels}}} {5e8+1e7*p:.0f} {t}\n")
                else:
                    f.write(f"{name}{{{labels}}} {4+p%8} {t}\n")
    f.write("# EOF\n")
PY
points=$(grep -vc '^#' "$tmp/data.om")
start=$(date +%s.%N)
promtool tsdb create-blocks-from openmetrics "$tmp/data.om" "$tmp/prom" >/dev/null
end=$(date +%s.%N)
pbytes=$(du -sb "$tmp/prom" | cut -f1)
lbytes=$(du -sb "$tmp/lookout" | cut -f1)
lpoints=$(sed -n 's/.*: \([0-9]*\) points in.*/\1/p' "$tmp/lookout.txt" | head -1)
python3 - "$points" "$pbytes" "$lpoints" "$lbytes" "$start" "$end" <<'PY'
import sys
pp, pb, lp, lb, s, e = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
print(f"promtool: {pp} points, {pb} bytes: {pb/pp*1e6/1e6:.2f} MB per million points ({pp/(e-s):.0f} points/s from text)")
print(f"lookout:  {lp} points, {lb} bytes: {lb/lp*1e6/1e6:.2f} MB per million points")
print(f"bytes per point, lookout / Prometheus TSDB: {(lb/lp)/(pb/pp):.2f}x")
PY
