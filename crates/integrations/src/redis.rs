//! Redis: the reply of `INFO everything` parsed into an [`Info`], turned into metrics by
//! [`redis_metrics`] (names, units and attributes of the Collector contrib `redis` receiver, see
//! the [crate] documentation), and a small async client ([`RedisConn`]) to fetch it over TCP or
//! a Unix socket.
//!
//! ```
//! use lookout_integrations::redis::{parse_info, redis_metrics, redis_resource, RedisOptions};
//! use lookout_model::MetricsBuilder;
//! let text = "# Server\r\nredis_version:7.2.4\r\nuptime_in_seconds:60\r\n# Keyspace\r\n\
//!             db0:keys=3,expires=1,avg_ttl=2500\r\n";
//! let info = parse_info(text);
//! let mut b = MetricsBuilder::new(redis_resource(&info), "lookout/redis", "0.1.0");
//! redis_metrics(&info, &mut b, 100_000_000_000, &RedisOptions::default());
//! assert_eq!(b.len(), 4); // redis.uptime, redis.db.keys, redis.db.expires, redis.db.avg_ttl
//! ```

mod client;
mod resp;

pub use client::{RedisConn, RedisEndpoint, RedisError};
pub use resp::{decode_reply, encode_command, Reply, MAX_REPLY_BYTES};

use crate::{parse_f64, parse_int, start_from_uptime};
use lookout_model::{attr, otlp::KeyValue, MetricsBuilder, Monotonic};

/// One value of an INFO line.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoValue {
    /// A plain value (`used_memory:1024`, `role:master`).
    Text(String),
    /// A value made of comma-separated `name=value` pairs, in order
    /// (`db0:keys=3,expires=0,avg_ttl=0`, `cmdstat_get:calls=2,usec=15,...`).
    Map(Vec<(String, String)>),
}

impl InfoValue {
    /// The plain value, `None` for a map.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            InfoValue::Text(t) => Some(t),
            InfoValue::Map(_) => None,
        }
    }

    /// The field `name` of a map value, `None` for a plain value or a missing field.
    pub fn field(&self, name: &str) -> Option<&str> {
        match self {
            InfoValue::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            InfoValue::Text(_) => None,
        }
    }
}

/// One `# Section` of an INFO reply and its lines, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfoSection {
    /// The name after `#` (`Server`, `Keyspace`); empty for lines before any header.
    pub name: String,
    /// `key:value` lines, in order.
    pub entries: Vec<(String, InfoValue)>,
}

/// A parsed `INFO` reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// The sections, in order.
    pub sections: Vec<InfoSection>,
    /// Lines that were neither a `# Section` header nor a `key:value` line (skipped).
    pub garbage_lines: usize,
}

impl Info {
    /// The first section called `name` (ASCII case-insensitive).
    pub fn section(&self, name: &str) -> Option<&InfoSection> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The first value of `key`, whatever its section.
    pub fn get(&self, key: &str) -> Option<&InfoValue> {
        self.sections
            .iter()
            .flat_map(|s| &s.entries)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The plain value of `key`.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(InfoValue::as_text)
    }

    /// The value of `key` as an integer (clamped to `i64`; `None` when not a number).
    pub fn int(&self, key: &str) -> Option<i64> {
        self.text(key).and_then(parse_int)
    }

    /// The value of `key` as a finite float.
    pub fn float(&self, key: &str) -> Option<f64> {
        self.text(key).and_then(parse_f64)
    }

    /// The server's start time, `now - uptime_in_seconds`, when the reply has an uptime.
    pub fn start_nanos(&self, now_nanos: u64) -> Option<u64> {
        let uptime = u64::try_from(self.int("uptime_in_seconds")?).ok()?;
        start_from_uptime(now_nanos, uptime)
    }
}

/// Parses the reply of `INFO` / `INFO everything`: `# Section` headers, `key:value` lines (CRLF
/// or LF). Values made only of `name=value` pairs become [`InfoValue::Map`]s. Blank lines are
/// skipped; other lines that are not `key:value` are counted in [`Info::garbage_lines`].
pub fn parse_info(text: &str) -> Info {
    let mut info = Info::default();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('#') {
            let name = name.trim();
            if name.is_empty() {
                info.garbage_lines += 1;
            } else {
                info.sections.push(InfoSection {
                    name: name.to_string(),
                    entries: Vec::new(),
                });
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            info.garbage_lines += 1;
            continue;
        };
        if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            info.garbage_lines += 1;
            continue;
        }
        if info.sections.is_empty() {
            info.sections.push(InfoSection::default());
        }
        if let Some(section) = info.sections.last_mut() {
            section.entries.push((key.to_string(), parse_value(value)));
        }
    }
    info
}

fn parse_value(value: &str) -> InfoValue {
    if value.contains('=') {
        let mut pairs = Vec::new();
        for part in value.split(',') {
            match part.split_once('=') {
                Some((k, v)) if !k.is_empty() => pairs.push((k.to_string(), v.to_string())),
                _ => return InfoValue::Text(value.to_string()),
            }
        }
        return InfoValue::Map(pairs);
    }
    InfoValue::Text(value.to_string())
}

/// What [`redis_metrics`] reports beyond the fixed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// At most this many commands get `redis.cmd.calls` / `redis.cmd.usec` points: the busiest
    /// by calls (ties by name). 0 turns the per-command metrics off. Default 50.
    pub max_commands: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self { max_commands: 50 }
    }
}

/// The resource attributes the reply tells: `redis.version`.
pub fn redis_resource(info: &Info) -> Vec<KeyValue> {
    info.text("redis_version")
        .filter(|v| !v.is_empty())
        .map(|v| vec![attr::str("redis.version", v)])
        .unwrap_or_default()
}

/// Adds the metrics of one INFO reply to `b`, with sums starting at the server's start
/// ([`Info::start_nanos`], 0 when unknown). A scraper that runs repeatedly should rather use
/// [`redis_metrics_at`] with a [`crate::StableStart`].
pub fn redis_metrics(info: &Info, b: &mut MetricsBuilder, now_nanos: u64, opts: &RedisOptions) {
    let start = info.start_nanos(now_nanos).unwrap_or(0);
    redis_metrics_at(info, b, now_nanos, start, opts);
}

/// [`redis_metrics`] with the sums' start time given.
pub fn redis_metrics_at(
    info: &Info,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    start_nanos: u64,
    opts: &RedisOptions,
) {
    if info.garbage_lines > 0 {
        tracing::debug!(
            lines = info.garbage_lines,
            "redis INFO reply had lines that are not key:value"
        );
    }
    let mut e = Emit {
        info,
        b,
        now: now_nanos,
        start: start_nanos,
    };

    e.counter(
        &["uptime_in_seconds"],
        "redis.uptime",
        "s",
        "Seconds since the Redis server started.",
    );
    cpu(&mut e);

    e.updown(
        &["connected_clients"],
        "redis.clients.connected",
        "{client}",
        "Client connections open, replicas not counted.",
    );
    e.updown(
        &["blocked_clients"],
        "redis.clients.blocked",
        "{client}",
        "Clients waiting in a blocking command.",
    );
    e.gauge(
        &["client_recent_max_input_buffer", "client_biggest_input_buf"],
        "redis.clients.max_input_buffer",
        "By",
        "Largest recent input buffer of a client connection.",
    );
    e.gauge(
        &[
            "client_recent_max_output_buffer",
            "client_longest_output_list",
        ],
        "redis.clients.max_output_buffer",
        "By",
        "Largest recent output buffer of a client connection.",
    );

    e.gauge(
        &["used_memory"],
        "redis.memory.used",
        "By",
        "Bytes allocated by Redis through its allocator.",
    );
    e.gauge(
        &["used_memory_peak"],
        "redis.memory.peak",
        "By",
        "Highest value of redis.memory.used since the start.",
    );
    e.gauge(
        &["used_memory_rss"],
        "redis.memory.rss",
        "By",
        "Resident memory of the Redis process, as the kernel sees it.",
    );
    e.gauge(
        &["used_memory_lua", "used_memory_vm_eval"],
        "redis.memory.lua",
        "By",
        "Bytes used by the Lua scripting engine.",
    );
    if let Some(ratio) = info.float("mem_fragmentation_ratio") {
        e.b.gauge(
            "redis.memory.fragmentation_ratio",
            "1",
            "Resident memory divided by allocated memory.",
        )
        .gauge_f64(now_nanos, ratio, &[]);
    }
    e.gauge(
        &["maxmemory"],
        "redis.maxmemory",
        "By",
        "The maxmemory setting (0: no limit).",
    );

    e.updown(
        &["rdb_changes_since_last_save"],
        "redis.rdb.changes_since_last_save",
        "{change}",
        "Writes since the last RDB snapshot.",
    );
    e.gauge(
        &["instantaneous_ops_per_sec"],
        "redis.commands",
        "{ops}/s",
        "Commands per second, as Redis samples it.",
    );
    e.counter(
        &["total_commands_processed"],
        "redis.commands.processed",
        "{command}",
        "Commands executed since the start.",
    );
    e.counter(
        &["total_connections_received"],
        "redis.connections.received",
        "{connection}",
        "Connections accepted since the start.",
    );
    e.counter(
        &["rejected_connections"],
        "redis.connections.rejected",
        "{connection}",
        "Connections refused because maxclients was reached.",
    );
    e.counter(
        &["total_net_input_bytes"],
        "redis.net.input",
        "By",
        "Bytes read from the network since the start.",
    );
    e.counter(
        &["total_net_output_bytes"],
        "redis.net.output",
        "By",
        "Bytes written to the network since the start.",
    );
    e.counter(
        &["expired_keys"],
        "redis.keys.expired",
        "{event}",
        "Keys removed because their TTL ran out.",
    );
    e.counter(
        &["evicted_keys"],
        "redis.keys.evicted",
        "{key}",
        "Keys removed to stay under maxmemory.",
    );
    e.counter(
        &["keyspace_hits"],
        "redis.keyspace.hits",
        "{hit}",
        "Key lookups that found the key.",
    );
    e.counter(
        &["keyspace_misses"],
        "redis.keyspace.misses",
        "{miss}",
        "Key lookups that did not find the key.",
    );
    e.gauge(
        &["latest_fork_usec"],
        "redis.latest_fork",
        "us",
        "How long the latest fork took.",
    );

    e.updown(
        &["connected_slaves"],
        "redis.slaves.connected",
        "{replica}",
        "Replicas attached to this server.",
    );
    e.gauge(
        &["master_repl_offset"],
        "redis.replication.offset",
        "By",
        "Replication offset of this server.",
    );
    e.gauge(
        &["slave_repl_offset"],
        "redis.replication.replica_offset",
        "By",
        "Replication offset this replica has processed.",
    );
    e.gauge(
        &["repl_backlog_first_byte_offset"],
        "redis.replication.backlog_first_byte_offset",
        "By",
        "Replication offset of the first byte in the backlog.",
    );
    let role = match info.text("role") {
        Some("master") => Some("primary"),
        Some("slave") | Some("replica") => Some("replica"),
        _ => None,
    };
    if let Some(role) = role {
        e.b.sum(
            "redis.role",
            "{role}",
            "The role of this server (always 1).",
            Monotonic::No,
        )
        .point_i64(start_nanos, now_nanos, 1, &[("role", role)]);
    }

    keyspace(&mut e);
    commandstats(&mut e, opts.max_commands);
}

struct Emit<'a> {
    info: &'a Info,
    b: &'a mut MetricsBuilder,
    now: u64,
    start: u64,
}

impl Emit<'_> {
    fn first_int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|k| self.info.int(k))
    }

    fn gauge(&mut self, keys: &[&str], name: &str, unit: &str, description: &str) {
        if let Some(v) = self.first_int(keys) {
            self.b
                .gauge(name, unit, description)
                .gauge_i64(self.now, v, &[]);
        }
    }

    fn counter(&mut self, keys: &[&str], name: &str, unit: &str, description: &str) {
        if let Some(v) = self.first_int(keys).filter(|v| *v >= 0) {
            self.b
                .sum(name, unit, description, Monotonic::Yes)
                .point_i64(self.start, self.now, v, &[]);
        }
    }

    fn updown(&mut self, keys: &[&str], name: &str, unit: &str, description: &str) {
        if let Some(v) = self.first_int(keys) {
            self.b
                .sum(name, unit, description, Monotonic::No)
                .point_i64(self.start, self.now, v, &[]);
        }
    }
}

fn cpu(e: &mut Emit<'_>) {
    const STATES: [(&str, &str); 6] = [
        ("used_cpu_sys", "sys"),
        ("used_cpu_user", "user"),
        ("used_cpu_sys_children", "sys_children"),
        ("used_cpu_user_children", "user_children"),
        ("used_cpu_sys_main_thread", "sys_main_thread"),
        ("used_cpu_user_main_thread", "user_main_thread"),
    ];
    let points: Vec<(&str, f64)> = STATES
        .iter()
        .filter_map(|(key, state)| e.info.float(key).filter(|v| *v >= 0.0).map(|v| (*state, v)))
        .collect();
    if points.is_empty() {
        return;
    }
    let mut m = e.b.sum(
        "redis.cpu.time",
        "s",
        "CPU time used by the Redis server since its start, by state.",
        Monotonic::Yes,
    );
    for (state, v) in points {
        m.point_f64(e.start, e.now, v, &[("state", state)]);
    }
}

fn keyspace(e: &mut Emit<'_>) {
    let Some(section) = e.info.section("Keyspace") else {
        return;
    };
    // `db<N>` lines: (N, the line's fields)
    let dbs: Vec<(&str, &InfoValue)> = section
        .entries
        .iter()
        .filter_map(|(key, value)| {
            let db = key.strip_prefix("db")?;
            (!db.is_empty() && db.bytes().all(|c| c.is_ascii_digit())).then_some((db, value))
        })
        .collect();
    if dbs.is_empty() {
        return;
    }
    let metrics = [
        ("redis.db.keys", "{key}", "Keys in the database.", "keys"),
        (
            "redis.db.expires",
            "{key}",
            "Keys in the database that have a TTL.",
            "expires",
        ),
        (
            "redis.db.avg_ttl",
            "ms",
            "Average TTL of the database's keys that have one.",
            "avg_ttl",
        ),
    ];
    let now = e.now;
    for (name, unit, description, field) in metrics {
        let mut m = e.b.gauge(name, unit, description);
        for (db, value) in &dbs {
            if let Some(v) = value.field(field).and_then(parse_int) {
                m.gauge_i64(now, v, &[("db", db)]);
            }
        }
    }
}

fn commandstats(e: &mut Emit<'_>, max: usize) {
    if max == 0 {
        return;
    }
    let Some(section) = e.info.section("Commandstats") else {
        return;
    };
    // (command, calls, usec)
    let mut cmds: Vec<(&str, i64, Option<i64>)> = section
        .entries
        .iter()
        .filter_map(|(key, value)| {
            let cmd = key.strip_prefix("cmdstat_").filter(|c| !c.is_empty())?;
            let calls = value
                .field("calls")
                .and_then(parse_int)
                .filter(|v| *v >= 0)?;
            let usec = value.field("usec").and_then(parse_int).filter(|v| *v >= 0);
            Some((cmd, calls, usec))
        })
        .collect();
    if cmds.is_empty() {
        return;
    }
    cmds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    cmds.truncate(max);
    let (start, now) = (e.start, e.now);
    let mut m = e.b.sum(
        "redis.cmd.calls",
        "{call}",
        "Calls of the command since the start.",
        Monotonic::Yes,
    );
    for (cmd, calls, _) in &cmds {
        m.point_i64(start, now, *calls, &[("cmd", cmd)]);
    }
    let mut m = e.b.sum(
        "redis.cmd.usec",
        "us",
        "Time spent executing the command since the start.",
        Monotonic::Yes,
    );
    for (cmd, _, usec) in &cmds {
        if let Some(v) = usec {
            m.point_i64(start, now, *v, &[("cmd", cmd)]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{metric, points, shape, value};

    /// An `INFO everything` reply in the shape Redis 7.2 sends it (trimmed), with a replica
    /// attached, three databases and a few odd lines.
    pub(crate) const SAMPLE_INFO: &str = "# Server\r\n\
redis_version:7.2.4\r\n\
redis_git_sha1:00000000\r\n\
redis_mode:standalone\r\n\
os:Linux 6.1.0-18-amd64 x86_64\r\n\
process_id:812\r\n\
run_id:5b1f0c3c0d6e3f1d9b5e2a7c4f8e1d2c3b4a5968\r\n\
tcp_port:6379\r\n\
server_time_usec:1715680000123456\r\n\
uptime_in_seconds:86400\r\n\
uptime_in_days:1\r\n\
executable:/usr/bin/redis-server\r\n\
config_file:/etc/redis/redis.conf\r\n\
\r\n\
# Clients\r\n\
connected_clients:12\r\n\
cluster_connections:0\r\n\
maxclients:10000\r\n\
client_recent_max_input_buffer:20480\r\n\
client_recent_max_output_buffer:0\r\n\
blocked_clients:2\r\n\
\r\n\
# Memory\r\n\
used_memory:1953216\r\n\
used_memory_human:1.86M\r\n\
used_memory_rss:9564160\r\n\
used_memory_peak:2204040\r\n\
used_memory_peak_perc:88.62%\r\n\
used_memory_lua:31744\r\n\
used_memory_vm_eval:31744\r\n\
maxmemory:268435456\r\n\
maxmemory_policy:allkeys-lru\r\n\
mem_fragmentation_ratio:4.93\r\n\
\r\n\
# Persistence\r\n\
loading:0\r\n\
rdb_changes_since_last_save:157\r\n\
rdb_last_bgsave_time_sec:-1\r\n\
\r\n\
# Stats\r\n\
total_connections_received:3081\r\n\
total_commands_processed:987654\r\n\
instantaneous_ops_per_sec:42\r\n\
total_net_input_bytes:55443322\r\n\
total_net_output_bytes:99887766\r\n\
instantaneous_input_kbps:1.52\r\n\
rejected_connections:3\r\n\
expired_keys:120\r\n\
evicted_keys:7\r\n\
keyspace_hits:800000\r\n\
keyspace_misses:1234\r\n\
latest_fork_usec:315\r\n\
\r\n\
# Replication\r\n\
role:master\r\n\
connected_slaves:1\r\n\
slave0:ip=10.0.0.12,port=6379,state=online,offset=4455,lag=0\r\n\
master_failover_state:no-failover\r\n\
master_replid:8c1a9e0b7d6f5e4c3b2a19080706050403020100\r\n\
master_repl_offset:4469\r\n\
second_repl_offset:-1\r\n\
repl_backlog_active:1\r\n\
repl_backlog_size:1048576\r\n\
repl_backlog_first_byte_offset:1\r\n\
repl_backlog_histlen:4469\r\n\
\r\n\
# CPU\r\n\
used_cpu_sys:101.250000\r\n\
used_cpu_user:202.500000\r\n\
used_cpu_sys_children:0.010000\r\n\
used_cpu_user_children:0.020000\r\n\
used_cpu_sys_main_thread:99.100000\r\n\
used_cpu_user_main_thread:200.900000\r\n\
\r\n\
# Modules\r\n\
\r\n\
# Commandstats\r\n\
cmdstat_get:calls=500000,usec=400000,usec_per_call=0.80,rejected_calls=0,failed_calls=0\r\n\
cmdstat_set:calls=300000,usec=450000,usec_per_call=1.50,rejected_calls=2,failed_calls=0\r\n\
cmdstat_client|list:calls=4,usec=100,usec_per_call=25.00,rejected_calls=0,failed_calls=0\r\n\
cmdstat_info:calls=4,usec=900,usec_per_call=225.00,rejected_calls=0,failed_calls=0\r\n\
cmdstat_ping:calls=187650,usec=50000,usec_per_call=0.27,rejected_calls=0,failed_calls=0\r\n\
\r\n\
# Errorstats\r\n\
errorstat_ERR:count=2\r\n\
\r\n\
# Latencystats\r\n\
latency_percentiles_usec_get:p50=1.003,p99=3.007,p99.9=10.015\r\n\
\r\n\
# Cluster\r\n\
cluster_enabled:0\r\n\
\r\n\
# Keyspace\r\n\
db0:keys=1500,expires=20,avg_ttl=3600000\r\n\
db3:keys=7,expires=0,avg_ttl=0\r\n\
db9:keys=25,expires=25,avg_ttl=59000\r\n\
this line is garbage\r\n\
#\r\n";

    const NOW: u64 = 1_715_680_000_000_000_000;
    const START: u64 = NOW - 86_400_000_000_000;

    fn collect(
        info: &Info,
        opts: &RedisOptions,
    ) -> lookout_model::otlp::ExportMetricsServiceRequest {
        let mut b = MetricsBuilder::new(redis_resource(info), "test", "0");
        redis_metrics(info, &mut b, NOW, opts);
        b.finish()
    }

    #[test]
    fn parses_sections_maps_and_counts_garbage() {
        let info = parse_info(SAMPLE_INFO);
        let names: Vec<&str> = info.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Server",
                "Clients",
                "Memory",
                "Persistence",
                "Stats",
                "Replication",
                "CPU",
                "Modules",
                "Commandstats",
                "Errorstats",
                "Latencystats",
                "Cluster",
                "Keyspace"
            ]
        );
        assert_eq!(info.garbage_lines, 2);
        assert_eq!(info.text("redis_version"), Some("7.2.4"));
        assert_eq!(info.text("os"), Some("Linux 6.1.0-18-amd64 x86_64"));
        assert_eq!(info.int("uptime_in_seconds"), Some(86_400));
        assert_eq!(info.float("mem_fragmentation_ratio"), Some(4.93));
        assert_eq!(info.int("second_repl_offset"), Some(-1));
        // a value with a colon keeps it
        let p = parse_info("executable:C:\\redis\\redis-server.exe\n");
        assert_eq!(p.text("executable"), Some("C:\\redis\\redis-server.exe"));
        let db0 = info.section("keyspace").unwrap().entries[0].clone();
        assert_eq!(db0.0, "db0");
        assert_eq!(
            db0.1,
            InfoValue::Map(vec![
                ("keys".into(), "1500".into()),
                ("expires".into(), "20".into()),
                ("avg_ttl".into(), "3600000".into()),
            ])
        );
        let get = info.get("cmdstat_get").unwrap();
        assert_eq!(get.field("usec_per_call"), Some("0.80"));
        assert_eq!(get.as_text(), None);
        assert_eq!(info.get("slave0").unwrap().field("ip"), Some("10.0.0.12"));
        // order is kept
        let cmds: Vec<&str> = info
            .section("Commandstats")
            .unwrap()
            .entries
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            cmds,
            [
                "cmdstat_get",
                "cmdstat_set",
                "cmdstat_client|list",
                "cmdstat_info",
                "cmdstat_ping"
            ]
        );
        assert_eq!(info.start_nanos(NOW), Some(START));
    }

    #[test]
    fn a_value_with_an_equal_sign_but_not_pairs_stays_text() {
        let info = parse_info("a:x=1,y\r\nb:=3\r\nc:k=\r\n");
        assert_eq!(info.text("a"), Some("x=1,y"));
        assert_eq!(info.text("b"), Some("=3"));
        assert_eq!(info.get("c").unwrap().field("k"), Some(""));
        assert_eq!(info.sections[0].name, "");
    }

    #[test]
    fn garbage_lines_are_counted_not_fatal() {
        let info = parse_info("hello\n  \nkey with space:1\n:novalue\n# \nok:1\n");
        assert_eq!(info.garbage_lines, 4);
        assert_eq!(info.int("ok"), Some(1));
        assert_eq!(parse_info("").sections.len(), 0);
    }

    #[test]
    fn metrics_follow_the_contrib_names_units_and_types() {
        let info = parse_info(SAMPLE_INFO);
        let req = collect(&info, &RedisOptions::default());
        let res = req.resource_metrics[0].resource.as_ref().unwrap();
        assert_eq!(
            attr::get_str(&res.attributes, "redis.version"),
            Some("7.2.4")
        );

        // (name, unit, is_sum, monotonic, value)
        let expected: &[(&str, &str, bool, bool, f64)] = &[
            ("redis.uptime", "s", true, true, 86_400.0),
            ("redis.clients.connected", "{client}", true, false, 12.0),
            ("redis.clients.blocked", "{client}", true, false, 2.0),
            (
                "redis.clients.max_input_buffer",
                "By",
                false,
                false,
                20_480.0,
            ),
            ("redis.clients.max_output_buffer", "By", false, false, 0.0),
            ("redis.memory.used", "By", false, false, 1_953_216.0),
            ("redis.memory.peak", "By", false, false, 2_204_040.0),
            ("redis.memory.rss", "By", false, false, 9_564_160.0),
            ("redis.memory.lua", "By", false, false, 31_744.0),
            ("redis.memory.fragmentation_ratio", "1", false, false, 4.93),
            ("redis.maxmemory", "By", false, false, 268_435_456.0),
            (
                "redis.rdb.changes_since_last_save",
                "{change}",
                true,
                false,
                157.0,
            ),
            ("redis.commands", "{ops}/s", false, false, 42.0),
            (
                "redis.commands.processed",
                "{command}",
                true,
                true,
                987_654.0,
            ),
            (
                "redis.connections.received",
                "{connection}",
                true,
                true,
                3081.0,
            ),
            (
                "redis.connections.rejected",
                "{connection}",
                true,
                true,
                3.0,
            ),
            ("redis.net.input", "By", true, true, 55_443_322.0),
            ("redis.net.output", "By", true, true, 99_887_766.0),
            ("redis.keys.expired", "{event}", true, true, 120.0),
            ("redis.keys.evicted", "{key}", true, true, 7.0),
            ("redis.keyspace.hits", "{hit}", true, true, 800_000.0),
            ("redis.keyspace.misses", "{miss}", true, true, 1234.0),
            ("redis.latest_fork", "us", false, false, 315.0),
            ("redis.slaves.connected", "{replica}", true, false, 1.0),
            ("redis.replication.offset", "By", false, false, 4469.0),
            (
                "redis.replication.backlog_first_byte_offset",
                "By",
                false,
                false,
                1.0,
            ),
        ];
        for (name, unit, is_sum, mono, v) in expected {
            assert_eq!(
                shape(&req, name),
                (unit.to_string(), *is_sum, *mono),
                "{name}"
            );
            assert_eq!(value(&req, name, &[]), *v, "{name}");
            for p in points(&req, name) {
                assert_eq!(p.time_unix_nano, NOW);
                assert_eq!(
                    p.start_time_unix_nano,
                    if *is_sum { START } else { 0 },
                    "{name}"
                );
            }
        }
        // a primary has no replica offset
        assert!(metric(&req, "redis.replication.replica_offset").is_none());

        assert_eq!(shape(&req, "redis.cpu.time"), ("s".into(), true, true));
        assert_eq!(points(&req, "redis.cpu.time").len(), 6);
        assert_eq!(value(&req, "redis.cpu.time", &[("state", "sys")]), 101.25);
        assert_eq!(value(&req, "redis.cpu.time", &[("state", "user")]), 202.5);
        assert_eq!(
            value(&req, "redis.cpu.time", &[("state", "user_children")]),
            0.02
        );
        assert_eq!(
            value(&req, "redis.cpu.time", &[("state", "sys_main_thread")]),
            99.1
        );

        assert_eq!(shape(&req, "redis.role"), ("{role}".into(), true, false));
        assert_eq!(value(&req, "redis.role", &[("role", "primary")]), 1.0);

        assert_eq!(shape(&req, "redis.db.keys"), ("{key}".into(), false, false));
        assert_eq!(
            shape(&req, "redis.db.expires"),
            ("{key}".into(), false, false)
        );
        assert_eq!(shape(&req, "redis.db.avg_ttl"), ("ms".into(), false, false));
        assert_eq!(value(&req, "redis.db.keys", &[("db", "0")]), 1500.0);
        assert_eq!(value(&req, "redis.db.keys", &[("db", "3")]), 7.0);
        assert_eq!(value(&req, "redis.db.keys", &[("db", "9")]), 25.0);
        assert_eq!(value(&req, "redis.db.expires", &[("db", "0")]), 20.0);
        assert_eq!(value(&req, "redis.db.avg_ttl", &[("db", "0")]), 3_600_000.0);

        assert_eq!(
            shape(&req, "redis.cmd.calls"),
            ("{call}".into(), true, true)
        );
        assert_eq!(shape(&req, "redis.cmd.usec"), ("us".into(), true, true));
        assert_eq!(points(&req, "redis.cmd.calls").len(), 5);
        assert_eq!(value(&req, "redis.cmd.calls", &[("cmd", "get")]), 500_000.0);
        assert_eq!(value(&req, "redis.cmd.usec", &[("cmd", "set")]), 450_000.0);
        assert_eq!(
            value(&req, "redis.cmd.calls", &[("cmd", "client|list")]),
            4.0
        );
        // nothing from Errorstats / Latencystats / Modules, and no duplicate metric names
        let mut names: Vec<&str> = req.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total);
        assert_eq!(total, 33);
    }

    #[test]
    fn commandstats_keep_the_busiest() {
        let info = parse_info(SAMPLE_INFO);
        let req = collect(&info, &RedisOptions { max_commands: 3 });
        let mut cmds: Vec<String> = points(&req, "redis.cmd.calls")
            .iter()
            .map(|p| attr::get_str(&p.attributes, "cmd").unwrap().to_string())
            .collect();
        cmds.sort();
        assert_eq!(cmds, ["get", "ping", "set"]);
        // ties broken by name: client|list before info
        let req = collect(&info, &RedisOptions { max_commands: 4 });
        assert_eq!(
            value(&req, "redis.cmd.calls", &[("cmd", "client|list")]),
            4.0
        );
        assert_eq!(points(&req, "redis.cmd.usec").len(), 4);
        let req = collect(&info, &RedisOptions { max_commands: 0 });
        assert!(metric(&req, "redis.cmd.calls").is_none());
        assert!(metric(&req, "redis.cmd.usec").is_none());
    }

    #[test]
    fn a_replica_of_an_old_redis() {
        // Redis 4: older client buffer names, no main-thread CPU, role slave, no lua fallback
        let text = "# Server\nredis_version:4.0.9\nuptime_in_seconds:10\n\
                    # Clients\nconnected_clients:1\nclient_longest_output_list:3\nclient_biggest_input_buf:9\n\
                    # Memory\nused_memory_lua:37888\n\
                    # Replication\nrole:slave\nmaster_host:10.0.0.1\nslave_repl_offset:777\nmaster_repl_offset:777\n\
                    # CPU\nused_cpu_sys:1.5\nused_cpu_user:2.5\n";
        let info = parse_info(text);
        let req = collect(&info, &RedisOptions::default());
        assert_eq!(value(&req, "redis.role", &[("role", "replica")]), 1.0);
        assert_eq!(value(&req, "redis.clients.max_input_buffer", &[]), 9.0);
        assert_eq!(value(&req, "redis.clients.max_output_buffer", &[]), 3.0);
        assert_eq!(value(&req, "redis.memory.lua", &[]), 37_888.0);
        assert_eq!(value(&req, "redis.replication.replica_offset", &[]), 777.0);
        assert_eq!(points(&req, "redis.cpu.time").len(), 2);
        assert!(metric(&req, "redis.db.keys").is_none());
    }

    #[test]
    fn odd_numbers_are_skipped_clamped_or_kept() {
        let text = "uptime_in_seconds:-5\n\
                    total_commands_processed:-3\n\
                    connected_clients:-1\n\
                    total_net_input_bytes:999999999999999999999999\n\
                    mem_fragmentation_ratio:nan\n\
                    used_memory:inf\n\
                    used_cpu_sys:-1.0\n\
                    used_cpu_user:NaN\n\
                    role:sentinel\n\
                    # Keyspace\n\
                    db:keys=1\ndbx:keys=1\ndb1:keys=abc,expires=2\ndb2:keys=99999999999999999999999\n\
                    # Commandstats\n\
                    cmdstat_:calls=1\ncmdstat_neg:calls=-1\ncmdstat_x:calls=5,usec=nope\n";
        let info = parse_info(text);
        assert_eq!(info.start_nanos(NOW), None);
        let req = collect(&info, &RedisOptions::default());
        // negative counters are not emitted; up-down sums may be negative
        assert!(metric(&req, "redis.uptime").is_none());
        assert!(metric(&req, "redis.commands.processed").is_none());
        assert_eq!(value(&req, "redis.clients.connected", &[]), -1.0);
        for p in points(&req, "redis.clients.connected") {
            assert_eq!(p.start_time_unix_nano, 0, "unknown start");
        }
        assert_eq!(value(&req, "redis.net.input", &[]), i64::MAX as f64);
        assert!(metric(&req, "redis.memory.fragmentation_ratio").is_none());
        assert!(metric(&req, "redis.memory.used").is_none());
        assert!(metric(&req, "redis.cpu.time").is_none());
        assert!(metric(&req, "redis.role").is_none());
        assert_eq!(points(&req, "redis.db.keys").len(), 1);
        assert_eq!(
            value(&req, "redis.db.keys", &[("db", "2")]),
            i64::MAX as f64
        );
        assert_eq!(value(&req, "redis.db.expires", &[("db", "1")]), 2.0);
        assert_eq!(points(&req, "redis.cmd.calls").len(), 1);
        assert_eq!(value(&req, "redis.cmd.calls", &[("cmd", "x")]), 5.0);
        assert!(metric(&req, "redis.cmd.usec").is_none());
    }

    #[test]
    fn redis_metrics_at_uses_the_given_start() {
        let info = parse_info(SAMPLE_INFO);
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        redis_metrics_at(&info, &mut b, NOW, 42, &RedisOptions::default());
        let req = b.finish();
        assert!(points(&req, "redis.keyspace.hits")
            .iter()
            .all(|p| p.start_time_unix_nano == 42));
    }

    #[test]
    fn no_version_no_resource() {
        assert!(redis_resource(&parse_info("redis_version:\n")).is_empty());
        assert!(redis_resource(&Info::default()).is_empty());
    }
}
