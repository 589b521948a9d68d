#!/usr/bin/env bash
# Disk queue throughput next to the raw sequential write speed of the same disk, in the same
# run: `dd if=/dev/zero bs=1M oflag=direct` into DIR (three times, median), then the
# queue_throughput example (crates/queue/examples) pushing the same amount as 64 KiB records
# under each fsync policy (three rounds, median), fsync included. Prints the ratio of each
# policy's MB/s to dd's; issue 6's target is at least 50% for the interval policy. Then the
# queue's recovery time and memory with everything still queued, and its drain speed.
# Not a test: nothing fails on a number. On a shared machine the figures move with the
# neighbours' I/O: compare runs, not single numbers. DIR must support O_DIRECT (not tmpfs); it is
# created and the files written are removed.
#
#   bash bench/queue.sh [DIR] [MiB]        (defaults: /var/tmp/lookout-queue-bench, 256)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-/var/tmp/lookout-queue-bench}"
MIB="${2:-256}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"

cargo build --release -q -p lookout-queue --example queue_throughput
EX="$CARGO_TARGET_DIR/release/examples/queue_throughput"
mkdir -p "$DIR"
out=$(mktemp)
trap 'rm -f "$out" "$DIR/dd.test"; rmdir "$DIR" 2>/dev/null || true' EXIT

echo "disk: $(df -hT "$DIR" | awk 'NR==2 {print $1, $2}'), $MIB MiB per run"
runs=()
for i in 1 2 3; do
  sync
  start=$(date +%s%N)
  dd if=/dev/zero of="$DIR/dd.test" bs=1M count="$MIB" oflag=direct status=none
  end=$(date +%s%N)
  rm -f "$DIR/dd.test"
  runs+=("$(awk -v b=$((MIB * 1048576)) -v ns=$((end - start)) 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')")
done
dd_mbps=$(printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p)
echo "dd oflag=direct bs=1M: ${runs[*]} MB/s; median $dd_mbps MB/s"

"$EX" "$DIR" "$MIB" 64 | tee "$out"

awk -v dd="$dd_mbps" '
  /^median/ { m = 1; next }
  m && ($1 == "always" || $1 == "interval" || $1 == "never") { mb[$1] = $(NF-1) }
  END {
    for (p in mb) printf "ratio %-8s %5.0f%% of dd\n", p, 100 * mb[p] / dd
    if ("interval" in mb) printf "interval fsync reaches %.0f%% of the disk'"'"'s sequential write speed (target: at least 50%%)\n", 100 * mb["interval"] / dd
  }' "$out"
