#!/usr/bin/env bash
# StatsD throughput, side by side in one run: Etsy's statsd daemon (npm `statsd`, Node.js),
# collectd's statsd plugin and lookout's statsd source, each fed the same StatsD counter
# lines over loopback UDP by bench/statsd_load.c (LINES lines per datagram, names cycling
# over bench.c0 .. bench.c<NAMES-1>, plain `bench.cK:1|c`, paced in 1 ms slices) at rising
# rates, SECONDS per rate, every daemon started fresh for every run with a 1 s flush.
# A run ends when the daemon's socket queue is empty and its total has not moved for 3 s.
# What each daemon counted is read exactly from its own output:
#   - Etsy: graphite backend -> a small local TCP listener summing `stats_counts.bench.*`,
#   - collectd: csv plugin with StoreRates false (the statsd plugin's counters are
#     cumulative derives): the last value of each bench counter,
#   - lookout: file sink (OTLP/JSON lines): the sum of the delta `asDouble` points.
# loss = 1 - counted/sent; CPU = utime+stime of the daemon process (all threads, from
# /proc/PID/stat) from just before the load starts to the end of the run; kernel drops are
# the `drops` column of /proc/net/udp for the daemon's socket (datagrams).
# All three get the same UDP receive buffer: lookout via `receive_buffer`, the two peers
# (which have no such setting) via an LD_PRELOAD shim (bench/udp_rcvbuf.c) that sets the same
# SO_RCVBUF at bind; the kernel caps it at net.core.rmem_max for all of them (sysctls are not
# touched). A row `lookout+tags` repeats lookout with two DogStatsD tags on every line
# (`|#env:bench,zone:z1`); it is not part of the ratios. A daemon stops escalating after its
# second run above 5% loss. First a 10,000-line check: every daemon must count exactly what
# was sent. Not a test: nothing fails on a number. On a 2-core machine the generator and the
# daemon share the CPU: other busy processes (builds) move the figures.
#
#   bash bench/statsd.sh
#   env: RATES="50000 100000 200000 400000 800000 1600000" SECONDS_PER_RATE=5
#        LINES=20 NAMES=100 RCVBUF=8388608 DAEMONS="etsy collectd lookout lookout+tags"
#        NODE_PREFIX=/var/tmp/lookout-bench (where `npm install statsd` goes if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
RATES="${RATES:-50000 100000 200000 400000 800000 1600000}"
SECS="${SECONDS_PER_RATE:-5}"
LINES="${LINES:-20}"
NAMES="${NAMES:-100}"
RCVBUF="${RCVBUF:-8388608}"
DAEMONS="${DAEMONS:-etsy collectd lookout lookout+tags}"
NODE_PREFIX="${NODE_PREFIX:-/var/tmp/lookout-bench}"
TAGS='|#env:bench,zone:z1'
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
ETSY="$NODE_PREFIX/node_modules/statsd/stats.js"
COLLECTD=/usr/sbin/collectd
started=$(date +%s)

for c in cc node npm python3 curl ss; do command -v $c >/dev/null || { echo "needs $c"; exit 1; }; done
[ -x "$COLLECTD" ] || { echo "needs collectd (Debian package collectd-core)"; exit 1; }
case " $DAEMONS " in *" lookout"*) [ -x "$BIN" ] || cargo build --release -q -p lookout ;; esac
if [ ! -f "$ETSY" ]; then
  echo "installing Etsy statsd into $NODE_PREFIX"
  npm install --silent --prefix "$NODE_PREFIX" statsd >/dev/null
fi

tmp=$(mktemp -d)
DPID="" GPID=""
cleanup() {
  for p in $DPID $GPID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$tmp/statsd_load" bench/statsd_load.c
cc -O2 -shared -fPIC -o "$tmp/udp_rcvbuf.so" bench/udp_rcvbuf.c -ldl

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
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, rmem_max $(cat /proc/sys/net/core/rmem_max)"

port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# busy ticks of the whole machine (all cores; same unit as cpu)
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# child CPU: runs a command, prints its stdout then "child_cpu=SECONDS"
timed() { python3 -c 'import os, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
t = os.times()
print(r.stdout.strip(), "child_cpu=%.2f" % (t.children_user + t.children_system))' "$@"; }
# "rx_queue_bytes drops" of the UDP socket bound to 127.0.0.1:PORT (empty if not bound)
udp_row() {
  local q d
  read -r q d < <(awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a { split($5, q, ":"); print q[2], $NF }' /proc/net/udp) || true
  [ -n "${q:-}" ] && echo "$((16#$q)) $d"
  return 0
}
rcvbuf() { ss -ulmnH "sport = :$1" | grep -o 'rb[0-9]*' | head -1 | tr -d rb; }

cat > "$tmp/graphite.py" <<'PY'
# A graphite plaintext listener: sums stats_counts.bench.* over every flush into a file.
import os, socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(64)
state, lock = {"total": 0.0, "flushes": 0}, threading.Lock()
def serve(c):
    data = bytearray()
    while True:
        b = c.recv(1 << 16)
        if not b: break
        data += b
    c.close()
    s = sum(float(f[1]) for f in (l.split() for l in data.decode(errors="replace").splitlines())
            if len(f) >= 2 and f[0].startswith("stats_counts.bench."))
    with lock:
        state["total"] += s; state["flushes"] += 1
        with open(sys.argv[2] + ".tmp", "w") as o: o.write("%.0f\n" % state["total"])
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
cat > "$tmp/total.py" <<'PY'
# What a daemon counted: total.py etsy FILE | collectd CSVDIR | lookout JSONL
import glob, json, os, re, sys
kind, path = sys.argv[1], sys.argv[2]
total = 0.0
if kind == "etsy":
    total = float(open(path).read()) if os.path.exists(path) else 0.0
elif kind == "collectd":
    last = {}
    for f in glob.glob(os.path.join(path, "*", "statsd", "derive-bench.c*")):
        name = re.sub(r"-\d{4}-\d\d-\d\d$", "", os.path.basename(f))
        for line in open(f):
            v = line.split(",")
            if len(v) == 2 and v[0] != "epoch":
                last[name] = max(last.get(name, 0.0), float(v[1]))
    total = sum(last.values())
else:
    if os.path.exists(path):
        for line in open(path):
            for rm in json.loads(line).get("resourceMetrics", []):
                for sm in rm.get("scopeMetrics", []):
                    for m in sm.get("metrics", []):
                        if m.get("name", "").startswith("bench.") and "sum" in m:
                            for dp in m["sum"].get("dataPoints", []):
                                total += float(dp.get("asDouble", dp.get("asInt", 0)))
print("%.0f" % total)
PY

# start_daemon NAME: starts it fresh in $tmp/run, sets DPID, DPORT, OUT (what total.py reads)
start_daemon() {
  local name=$1 dir="$tmp/run"
  rm -rf "$dir"; mkdir -p "$dir"
  DPORT=$(port udp)
  case $name in
    etsy)
      local gp; gp=$(port tcp)
      OUT="$dir/etsy.total"
      python3 "$tmp/graphite.py" "$gp" "$OUT" 2>"$dir/graphite.log" &
      GPID=$!
      until ss -ltnH "sport = :$gp" | grep -q .; do sleep 0.05; done
      cat > "$dir/config.js" <<JS
{ port: $DPORT, address: "127.0.0.1", mgmt_port: $(port tcp), mgmt_address: "127.0.0.1",
  flushInterval: 1000, backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1", graphitePort: $gp, graphite: { legacyNamespace: true } }
JS
      BENCH_RCVBUF=$RCVBUF LD_PRELOAD="$tmp/udp_rcvbuf.so" node "$ETSY" "$dir/config.js" >"$dir/daemon.log" 2>&1 &
      DPID=$! ;;
    collectd)
      OUT="$dir/csv"
      cat > "$dir/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
Interval 1
AutoLoadPlugin false
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin statsd
LoadPlugin csv
<Plugin statsd>
  Host "127.0.0.1"
  Port "$DPORT"
  DeleteCounters false
</Plugin>
<Plugin csv>
  DataDir "$OUT"
  StoreRates false
</Plugin>
CONF
      BENCH_RCVBUF=$RCVBUF LD_PRELOAD="$tmp/udp_rcvbuf.so" "$COLLECTD" -f -C "$dir/collectd.conf" >"$dir/daemon.log" 2>&1 &
      DPID=$! ;;
    lookout|lookout+tags)
      OUT="$dir/out.jsonl"
      local sp; sp=$(port tcp)
      cat > "$dir/lookout.yaml" <<YAML
sources:
  statsd: {type: statsd, udp: "127.0.0.1:$DPORT", flush_interval: 1s, receive_buffer: $RCVBUF}
sinks:
  out: {type: file, inputs: [statsd], path: "$OUT"}
YAML
      "$BIN" run --config "$dir/lookout.yaml" --data-dir "$dir/state" --set "server.listen=127.0.0.1:$sp" >"$dir/daemon.log" 2>&1 &
      DPID=$!
      until curl -sf -o /dev/null "http://127.0.0.1:$sp/health"; do
        kill -0 "$DPID" 2>/dev/null || { echo "lookout did not start:"; cat "$dir/daemon.log"; exit 1; }
        sleep 0.02
      done ;;
  esac
  local t=0
  until [ -n "$(udp_row "$DPORT")" ]; do
    kill -0 "$DPID" 2>/dev/null || { echo "$name did not start:"; cat "$dir/daemon.log"; exit 1; }
    t=$((t + 1)); [ $t -lt 600 ] || { echo "$name did not bind 127.0.0.1:$DPORT in 30 s"; exit 1; }
    sleep 0.05
  done
  sleep 0.3
}

stop_daemon() {
  for p in $DPID $GPID; do kill "$p" 2>/dev/null || true; done
  for p in $DPID $GPID; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  DPID="" GPID=""
}

# run_one NAME RATE SECONDS: sets R_SENT R_COUNTED R_TICKS R_DROPS (datagrams) R_LPS R_RB
# R_GEN (generator CPU s) R_OTHER (CPU s of everything else on the machine during the run)
run_one() {
  local name=$1 rate=$2 secs=$3 kind=$1 suffix=""
  [ "$name" = "lookout+tags" ] && { kind=lookout; suffix=$TAGS; }
  start_daemon "$name"
  local c0 c1 b0 b1 gen prev=-1 cur rxq drops same=0 t=0
  R_RB=$(rcvbuf "$DPORT")
  b0=$(busy); c0=$(cpu "$DPID")
  gen=$(timed "$tmp/statsd_load" "$DPORT" "$rate" "$secs" "$LINES" "$NAMES" "$suffix")
  R_SENT=$(sed 's/.*sent_lines=\([0-9]*\).*/\1/' <<<"$gen")
  R_LPS=$(sed 's/.*lines_per_s=\([0-9]*\).*/\1/' <<<"$gen")
  # drained: socket queue empty and the total unchanged for 3 polls 1 s apart (at most 120 s)
  while [ $same -lt 3 ] && [ $t -lt 120 ]; do
    sleep 1; t=$((t + 1))
    read -r rxq _ <<<"$(udp_row "$DPORT")"
    cur=$(python3 "$tmp/total.py" "$kind" "$OUT")
    if [ "${rxq:-0}" = 0 ] && [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; fi
    prev=$cur
  done
  [ $same -ge 3 ] || echo "  warning: $name still moving after 120 s (queue ${rxq:-?} bytes)"
  if ! kill -0 "$DPID" 2>/dev/null; then
    echo "ERROR: $name exited during the run at $rate lines/s; its log ends with:"
    tail -20 "$tmp/run/daemon.log"
    exit 1
  fi
  c1=$(cpu "$DPID"); b1=$(busy)
  read -r _ drops <<<"$(udp_row "$DPORT")"
  stop_daemon
  R_COUNTED=$prev R_TICKS=$((c1 - c0)) R_DROPS=${drops:-0}
  R_GEN=$(sed 's/.*child_cpu=\([0-9.]*\).*/\1/' <<<"$gen")
  R_OTHER=$(python3 -c "import sys; b,c,g,t=map(float,sys.argv[1:]); print('%.2f' % max(0.0, (b - c) / t - g))" "$((b1 - b0))" "$R_TICKS" "$R_GEN" "$TCK")
}

results="$tmp/results.tsv"
echo "correctness check: 10000 lines at 10000 lines/s through each daemon"
bad=""
for d in $DAEMONS; do
  run_one "$d" 10000 1
  if [ "$R_SENT" != "$R_COUNTED" ]; then
    echo "ERROR: $d counted $R_COUNTED of $R_SENT lines in the check: its totals are not exact; left out of the runs"
    bad="$bad $d"
  else
    echo "  $d: sent $R_SENT, counted $R_COUNTED: exact (receive buffer, as ss reports it: $R_RB bytes)"
  fi
done

declare -A over
for rate in $RATES; do
  for d in $DAEMONS; do
    case " $bad " in *" $d "*) continue ;; esac
    if [ "${over[$d]:-0}" -ge 2 ]; then continue; fi
    run_one "$d" "$rate" "$SECS"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$d" "$rate" "$R_SENT" "$R_COUNTED" "$R_TICKS" "$R_DROPS" "$R_LPS" "$R_GEN" "$R_OTHER" >>"$results"
    loss=$(python3 -c "import sys; s,c=map(float,sys.argv[1:]); print(f'{100*(1-c/s):.3f}')" "$R_SENT" "$R_COUNTED")
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 5 else 1)" "$loss"; then over[$d]=$(( ${over[$d]:-0} + 1 )); fi
    printf '  %-13s %8s lines/s: sent %9s counted %9s loss %7s%%\n' "$d" "$rate" "$R_SENT" "$R_COUNTED" "$loss"
  done
done

python3 - "$results" "$TCK" "$LINES" "$SECS" "$DAEMONS" "$started" "$RATES" <<'PY'
import os, sys, time
path, tck, lines, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
daemons, rates = sys.argv[5].split(), [int(r) for r in sys.argv[7].split()]
rows = []
if os.path.exists(path):
    for l in open(path):
        d, rate, sent, counted, ticks, drops, lps, gen, other = l.split()
        sent, counted = int(sent), int(float(counted))
        rows.append(dict(d=d, rate=int(rate), sent=sent, counted=counted, cpu=int(ticks) / tck,
                         drops=int(drops) * lines, lps=int(lps), gen=float(gen), other=float(other),
                         loss=100 * (1 - counted / sent) if sent else 100.0))
print(f"\n{lines} lines per datagram, {secs} s per rate, 1 s flush. loss = 1 - counted/sent; kernel drop ="
      " lines in datagrams the kernel dropped (receive buffer full); CPU = the daemon process only;"
      " gen = the load generator's CPU; others = CPU used by everything else on the machine meanwhile")
hdr = (f"{'daemon':14}{'target/s':>10}{'sent/s':>10}{'sent':>11}{'counted':>11}{'loss %':>9}"
       f"{'kernel drop':>12}{'CPU s':>8}{'CPU s/M lines':>14}{'gen s':>7}{'others s':>9}")
print(hdr)
print("-" * len(hdr))
for r in rows:
    per_m = r["cpu"] / (r["counted"] / 1e6) if r["counted"] else float("nan")
    short = "  generator fell short" if r["lps"] < 0.95 * r["rate"] else ""
    lost_inside = r["sent"] - r["counted"] - r["drops"]
    if lost_inside:
        short += f"  {lost_inside} lines lost past the kernel"
    print(f"{r['d']:14}{r['rate']:>10}{r['lps']:>10}{r['sent']:>11}{r['counted']:>11}{r['loss']:>9.3f}"
          f"{r['drops']:>12}{r['cpu']:>8.2f}{per_m:>14.3f}{r['gen']:>7.2f}{r['other']:>9.2f}{short}")
best, at_top = {}, {}
for r in rows:
    if r["loss"] < 0.1 and r["lps"] > best.get(r["d"], 0):
        best[r["d"]] = r["lps"]
        at_top[r["d"]] = r["rate"] == max(rates)
print("\nhighest rate sustained with < 0.1% loss (lines/s actually sent):")
for d in daemons:
    b = best.get(d)
    note = "  (at the highest rate tried: a lower bound)" if at_top.get(d) else ""
    print(f"  {d:14}{b if b else 'none':>10}{note}")
def ratio(a, b, target):
    if a not in daemons or b not in daemons:
        return "n/a: not run (DAEMONS)"
    if not best.get(a):
        return "n/a: lookout sustained none of the rates"
    if not best.get(b):
        return f"n/a: {b} sustained none of the rates (lookout: {best[a]} lines/s)"
    bound = ">= " if at_top.get(a) else ""
    return f"{bound}{best[a] / best[b]:.2f}x (target >= {target}x)"
print(f"ratio lookout/etsy:     {ratio('lookout', 'etsy', 5)}")
print(f"ratio lookout/collectd: {ratio('lookout', 'collectd', 2)}")
# CPU per line where every plain daemon counted everything: the cost of the same work
common = [rate for rate in rates if all(any(r["d"] == d and r["rate"] == rate and r["loss"] < 0.1 for r in rows)
                                         for d in ("etsy", "collectd", "lookout") if d in daemons)]
if common:
    rate = max(common)
    cpm = {r["d"]: r["cpu"] / (r["counted"] / 1e6) for r in rows if r["rate"] == rate and r["counted"]}
    parts = ", ".join(f"{d} {cpm[d]:.3f}" for d in daemons if d in cpm)
    print(f"CPU s per million lines at {rate} lines/s (the highest rate every daemon run sustained): {parts}")
    for peer in ("etsy", "collectd"):
        if peer in cpm and cpm.get("lookout"):
            print(f"  {peer} uses {cpm[peer] / cpm['lookout']:.1f}x lookout's CPU per line")
print(f"\nbench/statsd.sh took {time.time() - float(sys.argv[6]):.0f} s")
PY
