#!/usr/bin/env bash
# Log file throughput, side by side in one run: rsyslog (imfile -> omfile) and lookout's `files`
# source -> `file` sink, each started fresh (empty state/work directory) and reading one file
# from its beginning to the end, writing what it read to a file.
# The input is generated once by bench/loggen.py into a temp dir: SIZE_MB MiB of mixed lines,
# about half JSON app logs ({"time":...,"level":"info","msg":...,"user":...,"path":...,"ms":12})
# and half plain lines (`2024-01-02 03:04:05,123 INFO [worker-3] processed order 4242 for
# alice@example.org in 15 ms`); about 1 line in 4 holds an e-mail address and 1 in 64 the card
# number 4111111111111111. It is a block of 8192 distinct lines repeated; it was just written, so
# every program reads it from the page cache (nothing here drops caches).
# Programs (PROGRAMS):
#   - rsyslog: /usr/sbin/rsyslogd -n with a private config, pid file and workDirectory (so the
#     system's rsyslog state is never touched); only module imfile (inotify mode, readMode 0,
#     freshStartTail off, reopenOnTruncate off) bound to its own ruleset whose one action is omfile
#     with template "%msg%\n" (the raw line); maxMessageSize 64k; main queue with
#     RSYSLOG_WORKERS worker threads (default 1: rsyslog's own default lets the main queue start a
#     second worker, which writes lines out of order and, on this 2-core machine, is slower and
#     uses more CPU; RSYSLOG_WORKERS=default keeps rsyslog's default); everything else rsyslog's
#     defaults (direct action queue, omfile ioBufferSize 4k, flushOnTXEnd on). No imuxsock/imklog.
#   - lookout: `files` source, `parser: plain`, poll_interval 20ms -> `file` sink (OTLP/JSON
#     lines, one export request of up to 1000 records per line).
#   - lookout+redact: the same with `parser: auto` (JSON, syslog, logfmt... detected per line)
#     and a `redact` processor with its default rules between source and sink.
# Done = rsyslog: its output file reached the input's size (the output is the input, byte for
# byte, when nothing is altered), or its size has not moved for 3 s and its line count equals
# the input's; lookout: lookout_component_sent_items_total of the sink (from its /metrics page
# on a free loopback port) equals the input's line count. Both are polled every POLL s.
# wall = from just before the program is started to done (startup included); lines/s and MiB/s
# = input lines / input MiB over wall; CPU = utime+stime of the program's process (all threads,
# /proc/PID/stat) read just before it is stopped (SIGTERM); MiB per CPU-second = input MiB / CPU;
# RSS = its VmHWM; others = CPU used by everything else on the machine meanwhile (the pollers
# included). Ratios are lookout/rsyslog. A program that stops moving for STALL s is given up on.
# Afterwards each output is checked: rsyslog's line count and whether it equals the input byte
# for byte (else whether it holds the same lines in another order); lookout's records counted in the file itself (one "observedTimeUnixNano" per
# record) besides the metric, and for lookout+redact that no card number or e-mail is left.
# Not a test: nothing fails on a number. On a 2-core machine other busy processes (builds) move
# the figures.
#
#   bash bench/logs.sh
#   env: SIZE_MB=1024 PROGRAMS="rsyslog lookout lookout+redact" POLL=0.1 STALL=60
#        RSYSLOG_WORKERS=1 (main queue worker threads, or `default`)
#        BENCH_TMP=/tmp (where the temp dir goes: needs SIZE_MB plus ~5x SIZE_MB free)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-1024}"
PROGRAMS="${PROGRAMS:-rsyslog lookout lookout+redact}"
POLL="${POLL:-0.1}"
STALL="${STALL:-60}"
BENCH_TMP="${BENCH_TMP:-/tmp}"
RSYSLOG_WORKERS="${RSYSLOG_WORKERS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
RSYSLOGD=/usr/sbin/rsyslogd
started=$(date +%s)

for c in python3 curl cmp; do command -v $c >/dev/null || { echo "needs $c"; exit 1; }; done
case " $PROGRAMS " in
  *" rsyslog "*)
    if [ ! -x "$RSYSLOGD" ]; then
      [ "$(id -u)" = 0 ] || { echo "needs rsyslog (apt-get install -y rsyslog)"; exit 1; }
      echo "installing rsyslog"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q rsyslog >/dev/null
    fi ;;
esac
case " $PROGRAMS " in *" lookout"*) [ -x "$BIN" ] || cargo build --release -q -p lookout ;; esac

tmp=$(mktemp -d "$BENCH_TMP/lookout-bench-logs.XXXXXX")
DPID=""
cleanup() {
  if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$(find crates -path '*/src/*' -name '*.rs' -newer "$BIN" 2>/dev/null | head -1)" ]; then
  echo "note: $BIN ($(date -r "$BIN" '+%F %T')) is older than some sources in crates/; rebuild it"
  echo "      (cargo build --release -p lookout) to measure the current code"
fi
spinners=$(pgrep -f 'sname epmd-starter' | tr '\n' ' ' || true)
if [ -n "$spinners" ]; then
  echo "WARNING: RabbitMQ epmd-starter spinners are running (pids $spinners); they eat CPU and skew"
  echo "         the figures. Stop them first; this script only ends the processes it started."
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores; temp dir $tmp"

TCK=$(getconf CLK_TCK)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
now() { date +%s.%N; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
sent_items() {
  local page; page=$(curl -sf "http://127.0.0.1:$1/metrics" || true)
  awk '/^lookout_component_sent_items_total\{component_id="out",/ {print $2; f=1} END {if (!f) print 0}' <<<"$page"
}

IN="$tmp/big.log"
t0=$(now)
gen=$(python3 bench/loggen.py "$IN" "$SIZE_MB")
eval "$gen" # lines= bytes= emails= cards=
echo "input: $lines lines, $bytes bytes ($emails with an e-mail, $cards with a card number), generated in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(now)") s"
[ "$(wc -l <"$IN")" = "$lines" ] || { echo "ERROR: generator's line count is wrong"; exit 1; }

# counts records ("observedTimeUnixNano" keys) and leftovers in lookout's OTLP/JSON output
cat > "$tmp/scan.py" <<'PY'
import sys
keys = [b'"observedTimeUnixNano"', b"4111111111111111", b"@example.", b"[REDACTED:email]",
        b"[REDACTED:credit_card]"]
counts, carry = [0] * len(keys), b""
longest = max(len(k) for k in keys)
with open(sys.argv[1], "rb") as f:
    while True:
        chunk = f.read(1 << 24)
        if not chunk:
            break
        buf = carry + chunk
        # count only matches that start before the part kept for the next round
        cut = max(0, len(buf) - (longest - 1))
        for i, k in enumerate(keys):
            counts[i] += buf.count(k, 0, cut + len(k) - 1)
        carry = buf[cut:]
    for i, k in enumerate(keys):
        counts[i] += carry.count(k)
print("records=%d cards_left=%d emails_left=%d red_email=%d red_card=%d" % tuple(counts))
PY

# run NAME: starts it fresh, waits until done, stops it; sets R_WALL R_TICKS R_OTHER R_RSS R_DONE
# R_OUT (output path) R_EXTRA (lookout: metric count, redactions)
run() {
  local name=$1 dir="$tmp/$1" t_start t_done t_last b0 b1 last=-1 cur mport=""
  rm -rf "$dir"; mkdir -p "$dir/state"
  R_EXTRA="" R_DONE=0
  case $name in
    rsyslog)
      R_OUT="$dir/out.log"
      local mainq=""
      [ "$RSYSLOG_WORKERS" = default ] || mainq="main_queue(queue.workerThreads=\"$RSYSLOG_WORKERS\")"
      cat > "$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/state" maxMessageSize="64k")
$mainq
module(load="imfile" mode="inotify")
template(name="raw" type="string" string="%msg%\n")
ruleset(name="bench") { action(type="omfile" file="$R_OUT" template="raw") }
input(type="imfile" File="$IN" Tag="app" ruleset="bench" readMode="0"
      freshStartTail="off" reopenOnTruncate="off")
CONF
      "$RSYSLOGD" -N1 -f "$dir/rsyslog.conf" >"$dir/check.log" 2>&1 || { echo "rsyslog config rejected:"; cat "$dir/check.log"; exit 1; }
      b0=$(busy); t_start=$(now)
      "$RSYSLOGD" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/daemon.log" 2>&1 &
      DPID=$! ;;
    lookout|lookout+redact)
      R_OUT="$dir/out.jsonl"
      mport=$(port)
      if [ "$name" = lookout ]; then
        cat > "$dir/lookout.yaml" <<YAML
sources:
  app: {type: files, include: ["$IN"], parser: plain, poll_interval: 20ms}
sinks:
  out: {type: file, inputs: [app], path: "$R_OUT"}
YAML
      else
        cat > "$dir/lookout.yaml" <<YAML
sources:
  app: {type: files, include: ["$IN"], parser: auto, poll_interval: 20ms}
processors:
  scrub: {type: redact, inputs: [app]}
sinks:
  out: {type: file, inputs: [scrub], path: "$R_OUT"}
YAML
      fi
      b0=$(busy); t_start=$(now)
      "$BIN" run --config "$dir/lookout.yaml" --data-dir "$dir/state" --set "server.listen=127.0.0.1:$mport" >"$dir/daemon.log" 2>&1 &
      DPID=$! ;;
  esac
  t_last=$t_start
  while :; do
    sleep "$POLL"
    kill -0 "$DPID" 2>/dev/null || { echo "ERROR: $name exited during the run; its log ends with:"; tail -20 "$dir/daemon.log"; exit 1; }
    if [ "$name" = rsyslog ]; then
      cur=$(stat -c %s "$R_OUT" 2>/dev/null || echo 0)
      if [ "$cur" -ge "$bytes" ]; then t_done=$(now); R_DONE=1; break; fi
    else
      cur=$(sent_items "$mport")
      if [ "$cur" -ge "$lines" ]; then t_done=$(now); R_DONE=1; break; fi
    fi
    if [ "$cur" != "$last" ]; then last=$cur; t_last=$(now); continue; fi
    local idle; idle=$(python3 -c "import sys; print(int(float(sys.argv[1]) - float(sys.argv[2])))" "$(now)" "$t_last")
    # rsyslog: output stable for 3 s but shorter than the input (lines altered): count its lines
    if [ "$name" = rsyslog ] && [ "$idle" -ge 3 ] && [ "$(wc -l <"$R_OUT")" = "$lines" ]; then
      t_done=$t_last; R_DONE=1; break
    fi
    if [ "$idle" -ge "$STALL" ]; then
      echo "  warning: $name has not moved for $STALL s at $cur (of $lines lines / $bytes bytes): given up"
      t_done=$t_last; break
    fi
  done
  R_TICKS=$(cpu "$DPID"); b1=$(busy); R_RSS=$(hwm "$DPID")
  if [ -n "$mport" ]; then
    local page; page=$(curl -sf "http://127.0.0.1:$mport/metrics" || true)
    R_EXTRA="metric=$(awk '/^lookout_component_sent_items_total\{component_id="out",/ {print $2}' <<<"$page")"
    R_EXTRA="$R_EXTRA redactions=$(awk '/^lookout_redactions_total/ {s += $2} END {print s + 0}' <<<"$page")"
  fi
  kill "$DPID" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$DPID" 2>/dev/null || true
  wait "$DPID" 2>/dev/null || true
  DPID=""
  R_WALL=$(python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$t_done" "$t_start")
  R_OTHER=$(python3 -c "import sys; print('%.2f' % max(0, (int(sys.argv[1]) - int(sys.argv[2])) / int(sys.argv[3])))" "$((b1 - b0))" "$R_TICKS" "$TCK")
}

results="$tmp/results.tsv"
checks="$tmp/checks.txt"
: >"$checks"
for p in $PROGRAMS; do
  echo "running $p"
  run "$p"
  out_mb=$(python3 -c "import os, sys; print('%.0f' % (os.path.getsize(sys.argv[1]) / 1048576))" "$R_OUT")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$R_WALL" "$R_TICKS" "$R_RSS" "$R_OTHER" "$out_mb" "$R_DONE" >>"$results"
  if [ "$p" = rsyslog ]; then
    n=$(wc -l <"$R_OUT")
    if cmp -s "$IN" "$R_OUT"; then
      same="identical to the input"
    elif python3 -c 'import collections as c, sys; sys.exit(c.Counter(open(sys.argv[1], "rb")) != c.Counter(open(sys.argv[2], "rb")))' "$IN" "$R_OUT"; then
      same="the same lines as the input, in another order"
    else
      same="NOT the same lines as the input"
    fi
    ok=$([ "$n" = "$lines" ] && echo OK || echo MISMATCH)
    echo "  $p: output $n lines of $lines: $ok; output $same" | tee -a "$checks"
  else
    eval "$(python3 "$tmp/scan.py" "$R_OUT")" # records= cards_left= emails_left= red_email= red_card=
    eval "$R_EXTRA" # metric= redactions=
    ok=$([ "$records" = "$lines" ] && [ "$metric" = "$lines" ] && echo OK || echo MISMATCH)
    line="  $p: $records records in the output file, sink metric $metric, of $lines lines: $ok"
    if [ "$p" = lookout+redact ]; then
      line="$line; left unredacted: $cards_left card numbers, $emails_left e-mails; masked: $red_email e-mails, $red_card cards ($redactions redactions counted)"
    fi
    echo "$line" | tee -a "$checks"
  fi
  rm -rf "$tmp/$p" # the outputs are large
done

python3 - "$results" "$TCK" "$lines" "$bytes" "$started" "$checks" "$RSYSLOG_WORKERS" <<'PY'
import sys, time
path, tck, lines, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mib = nbytes / 1048576
rows = {}
for l in open(path):
    p, wall, ticks, rss, other, out_mb, done = l.split("\t")
    wall, cpu = float(wall), int(ticks) / tck
    rows[p] = dict(wall=wall, cpu=cpu, lps=lines / wall, mbs=mib / wall, mbcpu=mib / cpu if cpu else float("nan"),
                   rss=int(rss) / 1024, other=float(other), out=int(out_mb), done=done.strip() == "1")
print(f"\ninput: {lines} lines, {mib:.0f} MiB, read from the page cache; MiB = 2^20 bytes;"
      f" rsyslog main queue workers: {sys.argv[7]}")
hdr = (f"{'program':16}{'wall s':>9}{'lines/s':>11}{'MiB/s':>9}{'CPU s':>8}{'MiB/CPU-s':>11}"
       f"{'max RSS MiB':>13}{'output MiB':>12}{'others CPU s':>14}")
print(hdr)
print("-" * len(hdr))
for p, r in rows.items():
    note = "" if r["done"] else "  (did not finish: figures are for what it read)"
    print(f"{p:16}{r['wall']:>9.2f}{r['lps']:>11.0f}{r['mbs']:>9.1f}{r['cpu']:>8.2f}{r['mbcpu']:>11.1f}"
          f"{r['rss']:>13.1f}{r['out']:>12}{r['other']:>14.2f}{note}")
if "rsyslog" in rows and ("lookout" in rows or "lookout+redact" in rows):
    base = rows["rsyslog"]
    print("\nlookout / rsyslog:")
    for p in ("lookout", "lookout+redact"):
        if p in rows:
            r = rows[p]
            print(f"  {p:16} lines/s {r['lps'] / base['lps']:.2f}x   MiB per CPU-second {r['mbcpu'] / base['mbcpu']:.2f}x")
print("\nchecks:")
print(open(sys.argv[6]).read().rstrip())
print(f"\nbench/logs.sh took {time.time() - float(sys.argv[5]):.0f} s")
PY
