#!/usr/bin/env bash
# Cost of one collection of each integration, and the series it produces by default.
# Redis, MariaDB and PostgreSQL are the machine's own servers on loopback (127.0.0.1:6379,
# :3306 as root, :5432 as postgres); nginx and Apache are started here on free loopback ports
# from temporary directories with stub_status / mod_status (ExtendedStatus On), and stopped at
# the end. Each row is `lookout check SERVICE --repeat N --json` with the release binary: N
# collections in one process, as the agent does every interval (a new connection each for Redis,
# MariaDB and PostgreSQL; the HTTP client keeps its connection to nginx and Apache); the
# first is not counted; wall and CPU (getrusage of the process: user + system, all threads) are
# per collection. Not a test: nothing fails on a number.
#
#   bash bench/integrations.sh
#   env: N=300 SERVICES="redis nginx apache mysql postgresql"
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-300}"
SERVICES="${SERVICES:-redis nginx apache mysql postgresql}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lookout-target}"
BIN="$CARGO_TARGET_DIR/release/lookout"
[ -x "$BIN" ] || cargo build --release -q -p lookout
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

args_for() {
  case "$1" in
    redis) echo "redis --endpoint 127.0.0.1:6379" ;;
    nginx) echo "nginx --endpoint http://127.0.0.1:$NGINX_PORT/nginx_status" ;;
    apache) echo "apache --endpoint http://127.0.0.1:$APACHE_PORT/server-status?auto" ;;
    mysql) echo "mysql --endpoint 127.0.0.1:3306 --username root" ;;
    postgresql) echo "postgresql --endpoint 127.0.0.1:5432 --username postgres" ;;
  esac
}

case " $SERVICES " in *" nginx "*)
  NGINX_PORT=$(free_port); d="$tmp/nginx"; mkdir -p "$d"
  cat > "$d/nginx.conf" <<CONF
daemon off; master_process on; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;
  server { listen 127.0.0.1:$NGINX_PORT; location /nginx_status { stub_status; } } }
CONF
  /usr/sbin/nginx -p "$d" -c "$d/nginx.conf" & pids+=($!)
esac
case " $SERVICES " in *" apache "*)
  APACHE_PORT=$(free_port); d="$tmp/apache"; mkdir -p "$d"; m=/usr/lib/apache2/modules
  cat > "$d/httpd.conf" <<CONF
ServerRoot $d
ServerName localhost
Listen 127.0.0.1:$APACHE_PORT
PidFile $d/httpd.pid
DefaultRuntimeDir $d
Mutex file:$d default
ErrorLog $d/error.log
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule status_module $m/mod_status.so
User www-data
Group www-data
ExtendedStatus On
<Location /server-status>
  SetHandler server-status
</Location>
CONF
  /usr/sbin/apache2 -f "$d/httpd.conf" -DFOREGROUND & pids+=($!)
esac
sleep 1

printf '%-12s %8s %14s %14s\n' service series "wall ms/coll" "CPU ms/coll"
for s in $SERVICES; do
  # shellcheck disable=SC2046
  if out=$("$BIN" check $(args_for "$s") --repeat "$N" --json 2>&1); then
    python3 - "$s" "$out" <<'PY'
import json, sys
v = json.loads(sys.argv[2])
print(f"{sys.argv[1]:<12} {len(v['series']):>8} {v['took_ms']:>14.3f} {v['cpu_ms']:>14.3f}")
PY
  else
    echo "$s: FAILED: $(echo "$out" | head -2 | tr '\n' ' ')"
  fi
done
