#!/usr/bin/env bash
# Idle overhead, side by side: lookout on its embedded default (host metrics every 10 s, served
# as Prometheus text) against Prometheus' node_exporter (Debian package
# prometheus-node-exporter), both scraped every 10 s over loopback for DURATION seconds.
# Prints CPU seconds, peak RSS, the lookout/node_exporter ratio, lookout's time from exec to
# the first /health 200, and the stripped release binary size. Not a test: nothing fails on a
# number.
#
#   bash bench/idle_overhead.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-60}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
command -v prometheus-node-exporter >/dev/null || { echo "install prometheus-node-exporter (apt-get)"; exit 1; }
command -v curl >/dev/null || { echo "install curl"; exit 1; }

cargo build --release -q -p lookout
BIN="$CARGO_TARGET_DIR/release/lookout"
tmp=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LP=$(port); NP=$(port)

cleanup() { kill "${LPID:-}" "${NPID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

t0=$(date +%s%N)
"$BIN" run --data-dir "$tmp/state" --set "server.listen=127.0.0.1:$LP" 2>"$tmp/lookout.log" &
LPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$LP/health"; do sleep 0.002; done
t1=$(date +%s%N)
prometheus-node-exporter --web.listen-address="127.0.0.1:$NP" --log.level=warn 2>"$tmp/ne.log" &
NPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$NP/metrics"; do sleep 0.01; done

cpu() { awk '{print ($14+$15)/'"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
hwm() { awk '/VmHWM/ {print $2/1024}' "/proc/$1/status"; }
l0=$(cpu $LPID); n0=$(cpu $NPID)
end=$(( $(date +%s) + DURATION ))
while [ "$(date +%s)" -lt "$end" ]; do
  curl -sf -o /dev/null "http://127.0.0.1:$LP/metrics/host"
  curl -sf -o /dev/null "http://127.0.0.1:$NP/metrics"
  sleep 10
done
l1=$(cpu $LPID); n1=$(cpu $NPID)
lh=$(hwm $LPID); nh=$(hwm $NPID)
lines_l=$(curl -sf "http://127.0.0.1:$LP/metrics/host" | grep -vc '^#')
lines_n=$(curl -sf "http://127.0.0.1:$NP/metrics" | grep -vc '^#')

python3 - "$DURATION" "$l0" "$l1" "$n0" "$n1" "$lh" "$nh" "$t0" "$t1" "$BIN" "$lines_l" "$lines_n" <<'PY'
import os, sys
d, l0, l1, n0, n1, lh, nh = map(float, sys.argv[1:8])
t0, t1 = int(sys.argv[8]), int(sys.argv[9])
lc, nc = l1 - l0, n1 - n0
print(f"window: {d:.0f} s, both scraped every 10 s")
print(f"{'':16}{'CPU s':>8}{'% core':>9}{'peak RSS MiB':>14}{'series':>8}")
print(f"{'lookout':16}{lc:8.3f}{100*lc/d:9.3f}{lh:14.1f}{sys.argv[11]:>8}")
print(f"{'node_exporter':16}{nc:8.3f}{100*nc/d:9.3f}{nh:14.1f}{sys.argv[12]:>8}")
ratio = lambda a, b: f"{a/b:.2f}" if b > 0 else "n/a"
print(f"ratio lookout/node_exporter: CPU {ratio(lc, nc)}, peak RSS {ratio(lh, nh)}")
print(f"lookout exec -> first /health 200: {(t1-t0)/1e6:.1f} ms")
print(f"release binary: {os.path.getsize(sys.argv[10])/1048576:.2f} MiB (stripped)")
PY
