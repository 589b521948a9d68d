#!/usr/bin/env bash
# CPU of the terminal UI while it sits open, beside htop in the same kind of terminal, in one
# run: an agent (host and process metrics every 1 s) runs with EXTRA more processes on the host;
# `lookout tui` is opened in a tmux pane (120x40) on the Overview screen for S seconds, then on
# the Processes screen for S seconds; htop (refreshing every 1 s, as the UI does) in another
# pane of the same size for S seconds. CPU = user + system ticks of the UI's process over the
# window, from /proc/PID/stat. The agent's own CPU is not counted (it runs either way).
# Frame time (render of one screen into a buffer) is criterion's: `cargo bench -p lookout-tui`.
# Not a test: nothing fails on a number.
#
#   bash bench/tui.sh
#   env: EXTRA=1000 S=30
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA="${EXTRA:-1000}"
S="${S:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
[ -x "$BIN" ] || CARGO_PROFILE_RELEASE_STRIP=none cargo build --release -q -p lookout
command -v tmux >/dev/null || { echo "tmux is needed: apt-get install tmux" >&2; exit 1; }
command -v htop >/dev/null || { echo "htop is needed: apt-get install htop" >&2; exit 1; }
python3 - "$BIN" "$EXTRA" "$S" <<'PY'
import os, subprocess, sys, tempfile, time
bin, extra, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tick = os.sysconf("SC_CLK_TCK")
work = tempfile.mkdtemp(prefix="lookout-tui-bench-")
sock = f"lookout-bench-{os.getpid()}"
cfg = os.path.join(work, "lookout.yaml")
data = os.path.join(work, "state")
with open(cfg, "w") as f:
    f.write("sources:\n  host: {type: host_metrics, interval: 1s}\n"
            "  processes: {type: process_metrics, interval: 1s}\n"
            "sinks:\n  out: {type: file, path: /dev/null, inputs: [host, processes]}\n")
kids = [subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL) for _ in range(extra)]
agent = subprocess.Popen([bin, "run", "--config", cfg, "--data-dir", data, "--set", "server.enabled=false"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def tmux(*a):
    return subprocess.run(["tmux", "-L", sock, *a], check=True, capture_output=True, text=True).stdout
def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def pane_pid(target):
    # the pane runs the program itself (exec): its pid is the program's
    return int(tmux("display", "-p", "-t", target, "#{pane_pid}").strip())
def window(pid):
    c0, t0 = cpu(pid), time.monotonic()
    time.sleep(secs)
    return (cpu(pid) - c0) / (time.monotonic() - t0)
try:
    for _ in range(100):
        if os.path.exists(os.path.join(data, "control.sock")):
            break
        time.sleep(0.1)
    time.sleep(3)  # two process scans: CPU figures exist
    env = f"TERM=xterm-256color"
    tmux("new-session", "-d", "-s", "ui", "-x", "120", "-y", "40",
         f"exec env {env} {bin} tui --data-dir {data} --config {cfg}")
    tmux("new-session", "-d", "-s", "peer", "-x", "120", "-y", "40", f"exec env {env} htop -d 10")
    time.sleep(3)
    ui, peer = pane_pid("ui"), pane_pid("peer")
    overview = window(ui)
    tmux("send-keys", "-t", "ui", "2")
    time.sleep(2)
    procs = window(ui)
    screen = tmux("capture-pane", "-p", "-t", "ui")
    htop = window(peer)
    print(f"{extra} extra processes; {secs} s per window; CPU as a share of one core:")
    print(f"{'lookout tui, overview':28} {overview * 100:6.2f}%")
    print(f"{'lookout tui, processes':28} {procs * 100:6.2f}%")
    print(f"{'htop -d 10 (peer)':28} {htop * 100:6.2f}%")
    if procs > 0:
        print(f"CPU ratio htop/lookout (processes screen): {htop / procs:.1f}x")
    if "PID" not in screen:
        print("warning: the processes screen did not show; the figures may be wrong", file=sys.stderr)
finally:
    subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    agent.terminate()
    agent.wait()
    for k in kids:
        k.kill()
    for k in kids:
        k.wait()
    subprocess.run(["rm", "-rf", work])
PY
