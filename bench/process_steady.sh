#!/usr/bin/env bash
# Steady-state cost of the agent with process telemetry: 1,000 extra sleeping processes, the
# process_metrics source at a 10 s interval (plus host metrics, as deployed), Prometheus page
# scraped every 10 s, for DURATION seconds. Prints CPU seconds and % of one core.
#
#   bash bench/process_steady.sh [DURATION_SECONDS] [EXTRA_PROCESSES]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-60}"
EXTRA="${2:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
cargo build --release -q -p lookout
BIN="$CARGO_TARGET_DIR/release/lookout"
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" "${LPID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq "$EXTRA"); do sleep 3600 & pids+=($!); done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/c.yaml" <<YAML
server: {listen: "127.0.0.1:$port"}
sources:
  host: {type: host_metrics, interval: 10s}
  procs: {type: process_metrics, interval: 10s}
sinks:
  prom: {type: prometheus, inputs: [host, procs]}
YAML
"$BIN" run --config "$tmp/c.yaml" --data-dir "$tmp/state" 2>"$tmp/log" &
LPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.01; done
sleep 2
cpu() { awk '{print ($14+$15)/'"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
c0=$(cpu $LPID)
end=$(( $(date +%s) + DURATION ))
while [ "$(date +%s)" -lt "$end" ]; do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics/host"; sleep 10; done
c1=$(cpu $LPID)
rss=$(awk '/VmHWM/ {print $2/1024}' "/proc/$LPID/status")
procs=$(ls -d /proc/[0-9]* | wc -l)
python3 -c "import sys; c=float(sys.argv[2])-float(sys.argv[1]); d=float(sys.argv[3]); print(f'{sys.argv[5]} processes, {d:.0f} s: {c:.3f} CPU s = {100*c/d:.3f}% of one core (target <= 0.3%), peak RSS {float(sys.argv[4]):.1f} MiB')" "$c0" "$c1" "$DURATION" "$rss" "$procs"
