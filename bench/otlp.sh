#!/usr/bin/env bash
# OTLP trace ingestion: spans/s lookout's otlp receiver accepts over gRPC and over OTLP/HTTP
# protobuf, and its CPU per 100k spans. The load generator is the otlp_load example
# (crates/receivers/examples): CONNECTIONS workers, one connection each (gRPC: h2c with prior
# knowledge; HTTP: HTTP/1.1 keep-alive), sending export requests of 100 spans with 10
# attributes each back to back for SECONDS seconds (bodies encoded before the clock starts).
# lookout runs fresh for every run with the receiver feeding a `file` sink (OTLP/JSON lines)
# on tmpfs (/dev/shm), its buffer set to `when_full: block` so that a sink that cannot keep
# up shows as refused requests (503 / UNAVAILABLE, counted as busy) rather than silent drops:
# the figures include encoding every span to JSON and writing it. A run ends when the sink
# has written everything accepted. CPU = utime+stime of the lookout process (all threads) over
# the load and the drain; the generator's own CPU is shown too (2 cores are shared).
# If the OpenTelemetry Collector (otelcol-contrib with its file exporter, or otelcol with the
# nop exporter) is on PATH, it runs the same load side by side. Not a test: nothing fails on
# a number. Other busy processes (builds) move the figures.
#
#   bash bench/otlp.sh
#   env: SECONDS_PER_RUN=10 CONNS="1 8" SPANS=100 ATTRS=10 GEN_THREADS=1
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECONDS_PER_RUN:-10}"
CONNS="${CONNS:-1 8}"
SPANS="${SPANS:-100}"
ATTRS="${ATTRS:-10}"
GEN_THREADS="${GEN_THREADS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
GEN="$CARGO_TARGET_DIR/release/examples/otlp_load"
started=$(date +%s)
for c in curl python3 ss; do command -v $c >/dev/null || { echo "needs $c"; exit 1; }; done
[ -x "$BIN" ] || cargo build --release -q -p lookout
# the generator: rebuilt only when its source changed (cargo would wait for other builds' lock)
if [ ! -x "$GEN" ] || [ crates/receivers/examples/otlp_load.rs -nt "$GEN" ]; then
  cargo build --release -q -p lookout-receivers --example otlp_load
fi

OTELCOL=""
for c in otelcol-contrib otelcol; do
  if command -v $c >/dev/null; then OTELCOL=$(command -v $c); break; fi
done

tmp=$(mktemp -d)
shm=$(mktemp -d /dev/shm/lookout-otlp-bench.XXXXXX)
DPID=""
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp" "$shm"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$(find crates -path '*/src/*' -name '*.rs' -newer "$BIN" 2>/dev/null | head -1)" ]; then
  echo "note: $BIN ($(date -r "$BIN" '+%F %T')) is older than some sources in crates/; rebuild it"
  echo "      (cargo build --release -p lookout) to measure the current code"
fi
spinners=$(pgrep -f 'sname epmd-starter' | tr '\n' ' ' || true)
if [ -n "$spinners" ]; then
  echo "WARNING: RabbitMQ epmd-starter spinners are running (pids $spinners); they eat CPU and skew"
  echo "         the figures. Stop them first (e.g. pkill -f 'sname epmd-starter'); this script only"
  echo "         ends the processes it started."
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# busy ticks of the whole machine (all cores; same unit as cpu)
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
# metric NAME LABEL-SUBSTRING: a value from lookout's /metrics page (0 if absent)
metric() { { curl -sf "http://127.0.0.1:$SP/metrics" || true; } | awk -v n="$1" -v l="$2" 'index($0, n "{") == 1 && index($0, l) { v = $NF } END { print v + 0 }'; }

start_lookout() {
  GP=$(port); HP=$(port); SP=$(port)
  cat > "$tmp/lookout.yaml" <<YAML
sources:
  otlp: {type: otlp, grpc: "127.0.0.1:$GP", http: "127.0.0.1:$HP"}
sinks:
  out:
    type: file
    inputs: [otlp]
    path: "$shm/spans.jsonl"
    rotate_bytes: 268435456
    buffer: {when_full: block}
YAML
  rm -rf "$tmp/state" "$shm"/*
  "$BIN" run --config "$tmp/lookout.yaml" --data-dir "$tmp/state" --set "server.listen=127.0.0.1:$SP" >"$tmp/daemon.log" 2>&1 &
  DPID=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$SP/health"; do
    kill -0 "$DPID" 2>/dev/null || { echo "lookout did not start:"; cat "$tmp/daemon.log"; exit 1; }
    sleep 0.02
  done
}

start_otelcol() {
  GP=$(port); HP=$(port)
  local exporter
  case "$OTELCOL" in
    *contrib*) exporter="file: {path: \"$shm/otelcol.jsonl\", rotation: {max_megabytes: 256, max_backups: 1}}"; OTEL_EXP=file ;;
    *) exporter="nop:"; OTEL_EXP=nop ;;
  esac
  cat > "$tmp/otelcol.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$GP"}
      http: {endpoint: "127.0.0.1:$HP"}
exporters:
  $exporter
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [$OTEL_EXP]}
YAML
  rm -rf "$shm"/*
  "$OTELCOL" --config "$tmp/otelcol.yaml" >"$tmp/daemon.log" 2>&1 &
  DPID=$!
  local t=0
  until ss -ltnH "sport = :$HP" | grep -q . && ss -ltnH "sport = :$GP" | grep -q .; do
    kill -0 "$DPID" 2>/dev/null || { echo "otelcol did not start:"; cat "$tmp/daemon.log"; exit 1; }
    t=$((t + 1)); [ $t -lt 600 ] || { echo "otelcol did not listen in 30 s"; exit 1; }
    sleep 0.05
  done
  sleep 0.5
}

stop_daemon() {
  kill "$DPID" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$DPID" 2>/dev/null || true
  wait "$DPID" 2>/dev/null || true
  DPID=""
}

results="$tmp/results.tsv"
# run DAEMON PROTO CONNS: one fresh daemon, one load run, one row in $results
run() {
  local daemon=$1 proto=$2 conns=$3 url c0 c1 b0 b1 w0 w1 gen recv=0 written=0 dropped=0 t=0 rss
  if [ "$daemon" = lookout ]; then start_lookout; else start_otelcol; fi
  if [ "$proto" = grpc ]; then url="http://127.0.0.1:$GP"; else url="http://127.0.0.1:$HP"; fi
  w0=$(date +%s%N); b0=$(busy); c0=$(cpu "$DPID")
  # the generator's CPU: user+sys of the child, from python's os.times
  gen=$(python3 -c 'import os, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
t = os.times()
print(r.stdout.strip(), "gen_cpu=%.2f" % (t.children_user + t.children_system))' \
    "$GEN" "$proto" "$url" "$conns" "$SECS" "$SPANS" "$ATTRS" "$GEN_THREADS")
  if [ "$daemon" = lookout ]; then
    # drained: the sink wrote what the receiver accepted (at most 60 s)
    while :; do
      recv=$(metric lookout_component_received_items_total 'component_id="otlp"')
      written=$(metric lookout_component_sent_items_total 'component_id="out"')
      dropped=$(metric lookout_component_dropped_items_total 'component_id="out"')
      [ "$written" -ge "$recv" ] || [ $t -ge 600 ] && break
      t=$((t + 1)); sleep 0.1
    done
  else
    sleep 1
  fi
  c1=$(cpu "$DPID"); b1=$(busy); w1=$(date +%s%N)
  rss=$(hwm "$DPID")
  stop_daemon
  kv() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$gen"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$daemon" "$proto" "$conns" \
    "$(kv spans_accepted)" "$(kv seconds)" "$(kv busy)" "$(kv errors)" "$(kv p50_ms)" "$(kv p99_ms)" \
    "$((c1 - c0))" "$(kv gen_cpu)" "$recv" "$written:$dropped" "$rss" "$((b1 - b0))" "$((w1 - w0))" >>"$results"
  printf '  %-8s %-4s %2s conn: %s\n' "$daemon" "$proto" "$conns" "$(cut -d' ' -f1-5 <<<"$gen")"
}

daemons="lookout"
if [ -n "$OTELCOL" ]; then
  daemons="lookout otelcol"
  echo "side by side with $OTELCOL ($("$OTELCOL" --version 2>/dev/null | head -1))"
fi
for conns in $CONNS; do
  for proto in grpc http; do
    for d in $daemons; do run "$d" "$proto" "$conns"; done
  done
done

python3 - "$results" "$TCK" "$SECS" "$SPANS" "$ATTRS" "$started" "${OTELCOL:-}" "${OTEL_EXP:-}" "$(nproc)" <<'PY'
import sys, time
path, tck, secs, spans, attrs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
otelcol, exp, ncpu = sys.argv[7], sys.argv[8], int(sys.argv[9])
print(f"\n{secs} s per run, requests of {spans} spans x {attrs} attributes; lookout: otlp receiver ->"
      " file sink (OTLP/JSON on /dev/shm, buffer when_full: block)")
hdr = (f"{'daemon':9}{'proto':6}{'conns':>6}{'spans/s':>10}{'busy':>6}{'errors':>7}{'p50 ms':>8}{'p99 ms':>8}"
       f"{'CPU s':>7}{'% cores':>8}{'CPU s/100k':>11}{'gen s':>7}{'others s':>9}{'written':>10}{'dropped':>8}{'RSS MiB':>8}")
print(hdr)
print("-" * len(hdr))
for l in open(path):
    d, proto, conns, acc, wall, busy, errs, p50, p99, ticks, gcpu, recv, wd, rss, mbusy, window = l.rstrip("\n").split("\t")
    acc, wall, cpu = int(acc), float(wall), int(ticks) / tck
    others = max(0.0, int(mbusy) / tck - cpu - float(gcpu))
    per = cpu / (acc / 1e5) if acc else float("nan")
    written, dropped = wd.split(":")
    if d != "lookout":
        written, dropped = "-", "-"
    elif int(recv) != acc:
        written += f" (receiver counted {recv})"
    print(f"{d:9}{proto:6}{conns:>6}{acc / wall:>10.0f}{busy:>6}{errs:>7}{float(p50):>8.2f}{float(p99):>8.2f}"
          f"{cpu:>7.2f}{100 * cpu / (int(window) / 1e9) / ncpu:>8.1f}{per:>11.3f}{float(gcpu):>7.2f}{others:>9.2f}{written:>10}{dropped:>8}{rss:>8}")
print(f"% cores = CPU / (load + drain time) / {ncpu} cores. CPU s/100k = the daemon's CPU seconds per 100,000 spans accepted."
      "\ngen s = the load generator's CPU; others s = CPU used by everything else on the machine meanwhile"
      " (other users' jobs; this script's polling). written/dropped: lookout's file sink counters.")
if otelcol:
    print(f"OpenTelemetry Collector: {otelcol}, exporter {exp}" + (" (no output: cheaper than lookout's file sink)" if exp == "nop" else ""))
else:
    print("OpenTelemetry Collector (otelcol / otelcol-contrib): not installed on this machine, lookout only.")
print(f"\nbench/otlp.sh took {time.time() - float(sys.argv[6]):.0f} s")
PY
