#!/usr/bin/env bash
# Process scan cost, side by side in one run, with 1,000 extra sleeping processes:
#   - lookout's scanner (stat for all, details for the top N) per scan,
#   - the floor: a minimal C reader of /proc/[pid]/stat alone,
#   - prometheus-process-exporter, one scrape tracking every process,
#   - ps -eo pid,ppid,rss,vsz,nlwp,stat,comm,args over the same set.
# Prints CPU ms per scan and the ratios. Not a test: nothing fails on a number.
#
#   bash bench/processes.sh [EXTRA_PROCESSES] [SCANS]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA="${1:-1000}"
SCANS="${2:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
command -v cc >/dev/null || { echo "needs a C compiler"; exit 1; }
if ! command -v prometheus-process-exporter >/dev/null; then
  echo "installing prometheus-process-exporter"; apt-get install -y -qq prometheus-process-exporter >/dev/null
fi
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" "${PE:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

cargo build --release -q -p lookout-sources --example process_scan
cc -O2 -o "$tmp/stat_floor" bench/stat_floor.c
for _ in $(seq "$EXTRA"); do sleep 3600 & pids+=($!); done
sleep 1

lk=$("$CARGO_TARGET_DIR/release/examples/process_scan" "$SCANS")
fl=$("$tmp/stat_floor" "$SCANS")

# process-exporter: CPU of the exporter across SCANS scrapes
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n    - ".+"\n' > "$tmp/pe.yml"
prometheus-process-exporter -web.listen-address "127.0.0.1:$port" -config.path "$tmp/pe.yml" >/dev/null 2>&1 &
PE=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; do sleep 0.05; done
cpu() { awk '{print ($14+$15)*1000/'"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
c0=$(cpu $PE)
for _ in $(seq "$SCANS"); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; done
c1=$(cpu $PE)

# ps: CPU of the children (user+sys) across SCANS runs
read -r pu0 ps0 < <(python3 -c 'import os; t=os.times(); print(t.children_user, t.children_system)')
psms=$(python3 - "$SCANS" <<'PY'
import os, subprocess, sys
n = int(sys.argv[1]); t0 = os.times()
for _ in range(n):
    subprocess.run(["ps", "-eo", "pid,ppid,rss,vsz,nlwp,stat,comm,args"], stdout=subprocess.DEVNULL)
t1 = os.times()
print((t1.children_user + t1.children_system - t0.children_user - t0.children_system) * 1000 / n)
PY
)

python3 - "$lk" "$fl" "$c0" "$c1" "$SCANS" "$psms" <<'PY'
import sys
def kv(s): return dict(x.split("=") for x in s.split())
lk, fl = kv(sys.argv[1]), kv(sys.argv[2])
n = int(sys.argv[5])
pe = (float(sys.argv[4]) - float(sys.argv[3])) / n
l, f, p = float(lk["cpu_ms_per_scan"]), float(fl["cpu_ms_per_scan"]), float(sys.argv[6])
print(f"processes on the host: {lk['processes']}, lookout reported {lk['reported']} per scan, {n} scans each")
print(f"{'':28}{'CPU ms/scan':>12}")
for name, v in [("lookout scanner", l), ("floor (C, stat only)", f), ("process-exporter (scrape)", pe), ("ps -eo ...", p)]:
    print(f"{name:28}{v:12.2f}")
r = lambda a, b: f"{a/b:.2f}" if b > 0 else "n/a"
print(f"lookout/floor {r(l, f)} (target <= 1.5), lookout/process-exporter {r(l, pe)} (<= 0.05), lookout/ps {r(l, p)} (< 0.33)")
PY
