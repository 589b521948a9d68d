#!/bin/sh
# A stand-in for systemctl on a machine where systemd is not PID 1 (the test machine), for
# tests/e2e/install.rs only (packaging/install.sh's LOOKOUT_INSTALL_SYSTEMCTL hook). It runs a
# unit the way systemd runs lookout's: ExecStart= with a clean environment as User=/Group=
# with the unit's AmbientCapabilities= (setpriv, as tests/e2e/package.rs does), every
# LoadCredential=ID:PATH of the unit and its drop-ins copied into a private
# $CREDENTIALS_DIRECTORY (owned by the user, 0400 files) that is removed on stop; a pid file
# instead of a cgroup. It answers with systemctl's exit codes: is-active 0 (active) or 3;
# is-enabled 0 or 1; start/stop of a unit without a unit file 5; a start whose process exits
# before it is ready 1 (readiness: the agent's control socket in its --data-dir, as
# `Type=notify` would wait for READY=1).
#
# Its state is in $FAKE_SYSTEMCTL_STATE (a directory; calls.log lists every call);
# $FAKE_SYSTEMCTL_ARGS is appended to ExecStart= (the test's free port).
set -eu

state=${FAKE_SYSTEMCTL_STATE:?FAKE_SYSTEMCTL_STATE must name a directory}
mkdir -p "$state"
printf '%s\n' "$*" >>"$state/calls.log"

quiet=0 now=0 verb="" units=""
for a in "$@"; do
    case $a in
        -q | --quiet) quiet=1 ;;
        --now) now=1 ;;
        --no-block | --no-pager | --system | --no-reload) ;;
        --version)
            echo "systemd 252 (252-fake)"
            exit 0
            ;;
        -*)
            echo "fake systemctl: unsupported option $a" >&2
            exit 1
            ;;
        *)
            if [ -z "$verb" ]; then
                verb=$a
            else
                case $a in *.*) ;; *) a=$a.service ;; esac
                units="$units $a"
            fi
            ;;
    esac
done

unit_file() {
    for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
        if [ -f "$d/$1" ]; then
            echo "$d/$1"
            return 0
        fi
    done
    return 1
}

# The unit file and its drop-ins, in systemd's order.
unit_files() {
    unit_file "$1"
    for f in /etc/systemd/system/"$1".d/*.conf; do
        if [ -f "$f" ]; then echo "$f"; fi
    done
}

# The last value of a setting in the unit and its drop-ins.
setting() {
    unit_files "$1" | while IFS= read -r f; do sed -n "s/^$2=//p" "$f"; done | tail -n 1
}

# The pid of the unit's running process, or nothing.
running_pid() {
    [ -f "$state/$1.pid" ] || return 1
    pid=$(cat "$state/$1.pid")
    [ -r "/proc/$pid/stat" ] || return 1
    # a process that exited but was not reaped yet (PID 1 here may not reap) is not running
    s=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d ' ' -f 1)
    [ "$s" != Z ] || return 1
    echo "$pid"
}

do_start() {
    u=$1
    f=$(unit_file "$u") || {
        echo "Failed to start $u: Unit $u not found." >&2
        exit 5
    }
    # a socket unit: systemd itself would listen and start its service on demand; the fake
    # records that it is on
    case $u in *.socket)
        touch "$state/$u.listening"
        return 0
        ;;
    esac
    if running_pid "$u" >/dev/null; then return 0; fi
    exec_start=$(setting "$u" ExecStart)
    user=$(setting "$u" User)
    caps=$(setting "$u" AmbientCapabilities | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\1/p' |
        tr '[:upper:]' '[:lower:]' | paste -sd, -)
    creds="$state/credentials/$u"
    rm -rf "$creds"
    mkdir -p "$creds"
    for c in $(unit_files "$u" | while IFS= read -r x; do sed -n 's/^LoadCredential=//p' "$x"; done); do
        id=${c%%:*}
        path=${c#*:}
        if ! install -m 0400 -o "$user" "$path" "$creds/$id" 2>/dev/null; then
            echo "Job for $u failed: credential $id: cannot read $path (see $f)." >&2
            exit 1
        fi
    done
    chown "$user" "$creds"
    chmod 0500 "$creds"
    data=$(printf '%s\n' "$exec_start" | sed -n 's/.*--data-dir \([^ ]*\).*/\1/p')
    rm -f "$data/control.sock"
    # shellcheck disable=SC2086 # ExecStart= and the extra arguments are word lists
    setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$data" USER="$user" LOGNAME="$user" \
        CREDENTIALS_DIRECTORY="$creds" \
        setpriv --reuid="$user" --regid="$user" --clear-groups --inh-caps="$caps" \
        --ambient-caps="$caps" -- $exec_start ${FAKE_SYSTEMCTL_ARGS:-} \
        </dev/null >>"$state/$u.log" 2>&1 &
    echo $! >"$state/$u.pid"
    i=0
    while [ ! -S "$data/control.sock" ]; do
        if ! running_pid "$u" >/dev/null || [ "$i" -ge 300 ]; then
            do_stop "$u"
            echo "Job for $u failed because the control process exited with error code." >&2
            echo "See \"$state/$u.log\" for details." >&2
            exit 1
        fi
        i=$((i + 1))
        sleep 0.1
    done
}

do_stop() {
    u=$1
    case $u in *.socket)
        rm -f "$state/$u.listening"
        return 0
        ;;
    esac
    unit_file "$u" >/dev/null || [ -f "$state/$u.pid" ] || {
        echo "Failed to stop $u: Unit $u not loaded." >&2
        exit 5
    }
    if pid=$(running_pid "$u"); then
        kill -TERM "$pid" 2>/dev/null || :
        # gone, as after systemd's stop: exited and reaped (PID 1 here reaps orphans within
        # seconds); SIGKILL after TimeoutStopSec's 30 s
        i=0
        while [ -e "/proc/$pid" ] && [ "$i" -lt 400 ]; do
            i=$((i + 1))
            if [ "$i" = 300 ]; then kill -KILL "$pid" 2>/dev/null || :; fi
            sleep 0.1
        done
    fi
    rm -f "$state/$u.pid"
    rm -rf "$state/credentials/$u"
}

rc=0
case $verb in
    daemon-reload) ;;
    start) for u in $units; do do_start "$u"; done ;;
    stop) for u in $units; do do_stop "$u"; done ;;
    restart)
        for u in $units; do
            do_stop "$u"
            do_start "$u"
        done
        ;;
    try-restart)
        for u in $units; do
            if running_pid "$u" >/dev/null; then
                do_stop "$u"
                do_start "$u"
            fi
        done
        ;;
    reload)
        for u in $units; do
            pid=$(running_pid "$u") || {
                echo "Failed to reload $u: Unit $u is not active." >&2
                exit 1
            }
            kill -HUP "$pid"
        done
        ;;
    is-active | status)
        for u in $units; do
            if running_pid "$u" >/dev/null; then
                [ "$quiet" = 1 ] || echo active
            else
                [ "$quiet" = 1 ] || echo inactive
                rc=3
            fi
        done
        ;;
    is-enabled)
        for u in $units; do
            if ! unit_file "$u" >/dev/null; then
                [ "$quiet" = 1 ] || echo "Failed to get unit file state for $u: No such file or directory" >&2
                rc=1
            elif [ -f "$state/$u.enabled" ]; then
                [ "$quiet" = 1 ] || echo enabled
            else
                [ "$quiet" = 1 ] || echo disabled
                rc=1
            fi
        done
        ;;
    enable | disable)
        for u in $units; do
            unit_file "$u" >/dev/null || {
                echo "Failed to $verb unit: Unit file $u does not exist." >&2
                exit 1
            }
            if [ "$verb" = enable ]; then
                touch "$state/$u.enabled"
                if [ "$now" = 1 ]; then do_start "$u"; fi
            else
                rm -f "$state/$u.enabled"
                if [ "$now" = 1 ]; then do_stop "$u"; fi
            fi
        done
        ;;
    *)
        echo "Unknown command verb '$verb'." >&2
        exit 1
        ;;
esac
exit "$rc"
