//! Integrations: metrics read from third-party servers, named as the OpenTelemetry Collector
//! contrib receivers (`redis`, `nginx`, `apache`, `mysql`, `postgresql`) name them, so
//! dashboards built for the Collector work unchanged.
//!
//! Every integration is split in two pure halves that never panic, whatever the input: a parser
//! (the server's text in, a struct out) and a metric builder (the struct in, points added to a
//! [`MetricsBuilder`]). Redis has a client of its own ([`redis::RedisConn`]: RESP2 over TCP or a
//! Unix socket); the nginx and Apache pages are plain HTTP `GET`s made by the caller; MySQL and
//! PostgreSQL are read with `mysql_async` and `tokio-postgres` (no TLS) by
//! [`mysql::collect_mysql`] and [`postgresql::collect_postgresql`], whose answers become
//! [`rows::Rows`] of text before the pure builders see them. [`fuzz_one`] feeds arbitrary bytes
//! to every parser and builder.
//!
//! # Redis — [`redis`], from `INFO everything`
//! Resource attribute `redis.version` ([`redis::redis_resource`]).
//!
//! | Metric | Type | Unit | Attributes | INFO field |
//! |---|---|---|---|---|
//! | `redis.uptime` | counter | `s` | | `uptime_in_seconds` |
//! | `redis.cpu.time` | counter (double) | `s` | `state`: `sys`, `user`, `sys_children`, `user_children`, `sys_main_thread`, `user_main_thread` | `used_cpu_*` |
//! | `redis.clients.connected` | up-down | `{client}` | | `connected_clients` |
//! | `redis.clients.blocked` | up-down | `{client}` | | `blocked_clients` |
//! | `redis.clients.max_input_buffer` | gauge | `By` | | `client_recent_max_input_buffer` (`client_biggest_input_buf`) |
//! | `redis.clients.max_output_buffer` | gauge | `By` | | `client_recent_max_output_buffer` (`client_longest_output_list`) |
//! | `redis.memory.used` / `.peak` / `.rss` / `.lua` | gauge | `By` | | `used_memory`, `_peak`, `_rss`, `_lua` (`used_memory_vm_eval`) |
//! | `redis.memory.fragmentation_ratio` | gauge (double) | `1` | | `mem_fragmentation_ratio` |
//! | `redis.maxmemory` | gauge | `By` | | `maxmemory` |
//! | `redis.rdb.changes_since_last_save` | up-down | `{change}` | | `rdb_changes_since_last_save` |
//! | `redis.commands` | gauge | `{ops}/s` | | `instantaneous_ops_per_sec` |
//! | `redis.commands.processed` | counter | `{command}` | | `total_commands_processed` |
//! | `redis.connections.received` / `.rejected` | counter | `{connection}` | | `total_connections_received`, `rejected_connections` |
//! | `redis.net.input` / `.output` | counter | `By` | | `total_net_input_bytes`, `total_net_output_bytes` |
//! | `redis.keys.expired` | counter | `{event}` | | `expired_keys` |
//! | `redis.keys.evicted` | counter | `{key}` | | `evicted_keys` |
//! | `redis.keyspace.hits` / `.misses` | counter | `{hit}` / `{miss}` | | `keyspace_hits`, `keyspace_misses` |
//! | `redis.latest_fork` | gauge | `us` | | `latest_fork_usec` |
//! | `redis.slaves.connected` | up-down | `{replica}` | | `connected_slaves` |
//! | `redis.replication.offset` | gauge | `By` | | `master_repl_offset` |
//! | `redis.replication.replica_offset` | gauge | `By` | | `slave_repl_offset` (replicas only) |
//! | `redis.replication.backlog_first_byte_offset` | gauge | `By` | | `repl_backlog_first_byte_offset` |
//! | `redis.role` | up-down, always 1 | `{role}` | `role`: `primary`, `replica` | `role` |
//! | `redis.db.keys` / `.expires` | gauge | `{key}` | `db` (the number: `"0"`) | `# Keyspace` |
//! | `redis.db.avg_ttl` | gauge | `ms` | `db` | `# Keyspace` |
//! | `redis.cmd.calls` | counter | `{call}` | `cmd` (`get`, `client\|list`) | `# Commandstats`, busiest [`redis::RedisOptions::max_commands`] |
//! | `redis.cmd.usec` | counter | `us` | `cmd` | `# Commandstats` |
//!
//! # nginx — [`nginx`], from `stub_status`
//! | Metric | Type | Unit | Attributes |
//! |---|---|---|---|
//! | `nginx.requests` | counter | `requests` | |
//! | `nginx.connections_accepted` | counter | `connections` | |
//! | `nginx.connections_handled` | counter | `connections` | |
//! | `nginx.connections_current` | up-down | `connections` | `state`: `active`, `reading`, `writing`, `waiting` |
//!
//! # Apache httpd — [`apache`], from `mod_status` `?auto`
//! | Metric | Type | Unit | Attributes |
//! |---|---|---|---|
//! | `apache.uptime` | counter | `s` | |
//! | `apache.current_connections` | up-down | `{connections}` | |
//! | `apache.workers` | up-down | `{workers}` | `state`: `busy`, `idle` |
//! | `apache.requests` | counter | `{requests}` | |
//! | `apache.traffic` | counter | `By` | |
//! | `apache.cpu.time` | counter (double) | `{jiff}` | `level`: `self`, `children`; `mode`: `system`, `user` |
//! | `apache.cpu.load` | gauge (double) | `%` | |
//! | `apache.load.1` / `.5` / `.15` | gauge (double) | `%` | |
//! | `apache.request.time` | counter | `ms` | |
//! | `apache.scoreboard` | up-down | `{workers}` | `state`: `open`, `waiting`, `starting`, `reading`, `sending`, `keepalive`, `dnslookup`, `closing`, `logging`, `finishing`, `idle_cleanup`, `unknown` |
//!
//! # MySQL / MariaDB — [`mysql`], from `SHOW GLOBAL STATUS`, `SHOW GLOBAL VARIABLES`, `SHOW REPLICA STATUS`
//! Resource attributes `mysql.instance.endpoint`, `db.system.version` ([`mysql::mysql_resource`]).
//! All are sums; unit `1` unless said. A status variable the server lacks gives no point
//! (MariaDB has no `Innodb_rows_*`, `Innodb_os_log_fsyncs` nor `Mysqlx_*`).
//!
//! | Metric | Type | Unit | Attributes (status variables) |
//! |---|---|---|---|
//! | `mysql.buffer_pool.pages` | up-down | `1` | `kind`: `data`, `free`, `misc` (`Innodb_buffer_pool_pages_*`) |
//! | `mysql.buffer_pool.data_pages` | up-down | `1` | `status`: `dirty`, `clean` (= data − dirty) |
//! | `mysql.buffer_pool.usage` | up-down | `By` | `status`: `dirty`, `clean` (`Innodb_buffer_pool_bytes_*`) |
//! | `mysql.buffer_pool.limit` | up-down | `By` | (variable `innodb_buffer_pool_size`) |
//! | `mysql.buffer_pool.page_flushes` | counter | `1` | (`Innodb_buffer_pool_pages_flushed`) |
//! | `mysql.buffer_pool.operations` | counter | `1` | `operation`: `read_ahead_rnd`, `read_ahead`, `read_ahead_evicted`, `read_requests`, `reads`, `wait_free`, `write_requests` |
//! | `mysql.prepared_statements` | counter | `1` | `command`: `execute`, `close`, `fetch`, `prepare`, `reset`, `send_long_data` (`Com_stmt_*`) |
//! | `mysql.commands` | counter | `1` | `command`: `delete`, `delete_multi`, `insert`, `select`, `update`, `update_multi` (`Com_*`) |
//! | `mysql.handlers` | counter | `1` | `kind`: `commit`, `delete`, `discover`, `external_lock`, `mrr_init`, `prepare`, `read_first`, `read_key`, `read_last`, `read_next`, `read_prev`, `read_rnd`, `read_rnd_next`, `rollback`, `savepoint`, `savepoint_rollback`, `update`, `write` |
//! | `mysql.double_writes` | counter | `1` | `kind`: `pages_written`, `writes` |
//! | `mysql.log_operations` | counter | `1` | `operation`: `waits`, `write_requests`, `writes`, `fsyncs` |
//! | `mysql.operations` | counter | `1` | `operation`: `fsyncs`, `reads`, `writes` (`Innodb_data_*`) |
//! | `mysql.page_operations` | counter | `1` | `operation`: `created`, `read`, `written` |
//! | `mysql.row_locks` | counter | `1` | `kind`: `waits`, `time` |
//! | `mysql.row_operations` | counter | `1` | `operation`: `deleted`, `inserted`, `read`, `updated` |
//! | `mysql.locks` | counter | `1` | `kind`: `immediate`, `waited` (`Table_locks_*`) |
//! | `mysql.sorts` | counter | `1` | `kind`: `merge_passes`, `range`, `rows`, `scan` |
//! | `mysql.threads` | up-down | `1` | `kind`: `cached`, `connected`, `created`, `running` |
//! | `mysql.client.network.io` | counter | `By` | `kind`: `received`, `sent` (`Bytes_*`) |
//! | `mysql.opened_resources` | counter | `1` | `kind`: `file`, `table_definition`, `table` |
//! | `mysql.uptime` | counter | `s` | (`Uptime`) |
//! | `mysql.tmp_resources` | counter | `1` | `resource`: `disk_tables`, `files`, `tables` (`Created_tmp_*`) |
//! | `mysql.joins` | counter | `1` | `kind`: `full`, `full_range`, `range`, `range_check`, `scan` (`Select_*`) |
//! | `mysql.connection.count` | counter | `1` | (`Connections`) |
//! | `mysql.connection.errors` | counter | `1` | `error`: `accept`, `internal`, `max_connections`, `peer_address`, `select`, `tcpwrap`, `aborted`, `aborted_clients`, `locked` |
//! | `mysql.query.count` / `.client.count` / `.slow.count` | counter | `1` | (`Queries`, `Questions`, `Slow_queries`) |
//! | `mysql.table_open_cache` | counter | `1` | `status`: `hit`, `miss`, `overflow` |
//! | `mysql.mysqlx_connections` | counter | `1` | `status`: `accepted`, `closed`, `rejected` (MySQL X plugin) |
//! | `mysql.mysqlx_worker_threads` | up-down | `1` | `kind`: `available`, `active` (MySQL X plugin) |
//! | `mysql.replica.time_behind_source` | up-down | `s` | (`Seconds_Behind_Source`/`_Master`, worst channel; replicas only) |
//! | `mysql.replica.sql_delay` | up-down | `s` | (`SQL_Delay`, largest channel; replicas only) |
//! | `mysql.table.data_length` / `.index_length` / `.total_length` | up-down | `By` | `schema`, `table_name` (only with `table_sizes`: the N largest tables, from `information_schema.tables`) |
//!
//! # PostgreSQL — [`postgresql`], from the `pg_stat_*` views
//! Resource attribute `db.system.version` ([`postgresql::postgresql_resource`]). One server is one
//! resource (as under contrib's `receiver.postgresql.useOTelSemconv` gate): `db.namespace` is the
//! database (`database|schema` for tables and indexes), `db.collection.name` the table. Table,
//! index and lock series are each bounded by [`postgresql::PgConfigLite::max_tables`].
//!
//! | Metric | Type | Unit | Attributes | Source |
//! |---|---|---|---|---|
//! | `postgresql.backends` | up-down | `1` | `db.namespace` | `pg_stat_database.numbackends` |
//! | `postgresql.commits` / `.rollbacks` | counter | `1` | `db.namespace` | `xact_commit`, `xact_rollback` |
//! | `postgresql.db_size` | up-down | `By` | `db.namespace` | `pg_database_size` (where visible) |
//! | `postgresql.deadlocks` | counter | `{deadlock}` | `db.namespace` | `deadlocks` |
//! | `postgresql.temp_files` | counter | `{temp_file}` | `db.namespace` | `temp_files` |
//! | `postgresql.temp.io` | counter | `By` | `db.namespace` | `temp_bytes` |
//! | `postgresql.blks_read` / `.blks_hit` | counter | `{blks_read}` / `{blks_hit}` | `db.namespace` | `blks_read`, `blks_hit` |
//! | `postgresql.tup_returned` / `_fetched` / `_inserted` / `_updated` / `_deleted` | counter | `{tup_returned}` … | `db.namespace` | `tup_*` |
//! | `postgresql.table.count` | up-down | `{table}` | `db.namespace` | `pg_stat_user_tables` |
//! | `postgresql.rows` | up-down | `1` | `db.namespace`, `db.collection.name`, `state`: `live`, `dead` | `n_live_tup`, `n_dead_tup` |
//! | `postgresql.operations` | counter | `1` | … `operation`: `ins`, `upd`, `del`, `hot_upd` | `n_tup_*` |
//! | `postgresql.blocks_read` | counter | `1` | … `source`: `heap_read`, `heap_hit`, `idx_read`, `idx_hit`, `toast_read`, `toast_hit`, `tidx_read`, `tidx_hit` | `pg_statio_user_tables` |
//! | `postgresql.table.size` | up-down | `By` | `db.namespace`, `db.collection.name` | `pg_relation_size` |
//! | `postgresql.table.vacuum.count` | counter | `{vacuum}` | `db.namespace`, `db.collection.name` | `vacuum_count` |
//! | `postgresql.sequential_scans` | counter | `{sequential_scan}` | `db.namespace`, `db.collection.name` | `seq_scan` |
//! | `postgresql.index.scans` | counter | `{scans}` | … `postgresql.index.name` | `pg_stat_user_indexes.idx_scan` |
//! | `postgresql.index.size` | gauge | `By` | … `postgresql.index.name` | `pg_relation_size` |
//! | `postgresql.bgwriter.buffers.allocated` | counter | `{buffers}` | | `buffers_alloc` |
//! | `postgresql.bgwriter.buffers.writes` | counter | `{buffers}` | `source`: `backend`, `backend_fsync` (before 17), `checkpoints`, `bgwriter` | `pg_stat_bgwriter` / `pg_stat_checkpointer` |
//! | `postgresql.bgwriter.checkpoint.count` | counter | `{checkpoints}` | `type`: `requested`, `scheduled` | idem |
//! | `postgresql.bgwriter.duration` | counter (double) | `ms` | `type`: `sync`, `write` | idem |
//! | `postgresql.bgwriter.maxwritten` | counter | `1` | | `maxwritten_clean` |
//! | `postgresql.connection.max` | gauge | `{connections}` | | `max_connections` |
//! | `postgresql.database.count` | up-down | `{databases}` | | non-template databases |
//! | `postgresql.replication.data_delay` | gauge | `By` | `replication_client` | `pg_stat_replication` (replay LSN lag) |
//! | `postgresql.wal.lag` | gauge | `s` | `operation`: `write`, `flush`, `replay`; `replication_client` | `pg_stat_replication` |
//! | `postgresql.database.locks` | gauge | `{lock}` | `relation`, `mode`, `lock_type`, `db.namespace` | `pg_locks` |
//!
//! # Start times
//! Sums are cumulative; their start time is the server's start (`now - uptime`) when the page
//! reports an uptime, else 0 ("unknown" in OTLP). Uptimes come in whole seconds, so `now - uptime`
//! wobbles by up to a second from one scrape to the next, and the pipeline's delta conversion
//! takes any change of start time for a counter reset: a scraper keeps one [`StableStart`] per
//! server and passes its answer to the `*_at` builders ([`redis::redis_metrics_at`],
//! [`apache::apache_metrics_at`], [`nginx::nginx_metrics`]) or to [`mysql::collect_mysql`] and
//! [`postgresql::collect_postgresql`] (PostgreSQL's start is `pg_postmaster_start_time()`).
//!
//! Values that cannot be numbers (`NaN`, `inf`, text) are skipped; integers too large for an
//! `i64` are clamped; a negative value is never emitted for a monotonic counter.
#![deny(missing_docs)]

pub mod apache;
mod endpoint;
pub mod mysql;
pub mod nginx;
pub mod postgresql;
pub mod redis;
pub mod rows;
mod source;

pub use source::{CollectError, CollectState, Integration, IntegrationSource, Service};

use lookout_model::MetricsBuilder;

/// Keeps the start time of one server's cumulative counters steady from one scrape to the next.
///
/// Feed it every scrape's estimate (`now - uptime`): it keeps the start it already has while the
/// estimate stays within [`StableStart::TOLERANCE_NANOS`] of it, and takes the new estimate
/// otherwise (the server restarted).
///
/// ```
/// use lookout_integrations::StableStart;
/// let mut s = StableStart::new();
/// assert_eq!(s.resolve(Some(1_000_000_000_000)), Some(1_000_000_000_000));
/// // one second later the whole-second uptime gives an estimate off by 0.7 s: kept
/// assert_eq!(s.resolve(Some(1_000_700_000_000)), Some(1_000_000_000_000));
/// // a restart moves the estimate far away: taken
/// assert_eq!(s.resolve(Some(2_000_000_000_000)), Some(2_000_000_000_000));
/// ```
#[derive(Debug, Clone, Default)]
pub struct StableStart {
    current: Option<u64>,
}

impl StableStart {
    /// How far (in nanoseconds) an estimate may be from the kept start and still be the same
    /// server run.
    pub const TOLERANCE_NANOS: u64 = 3_000_000_000;

    /// A tracker that has seen no scrape yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The start time to use for this scrape. `None` (the page had no uptime) gives `None` and
    /// keeps what was known.
    pub fn resolve(&mut self, estimate: Option<u64>) -> Option<u64> {
        let estimate = estimate?;
        match self.current {
            Some(current) if current.abs_diff(estimate) <= Self::TOLERANCE_NANOS => Some(current),
            _ => {
                self.current = Some(estimate);
                Some(estimate)
            }
        }
    }
}

/// `now - uptime` in nanoseconds, or `None` when that is not a time (uptime longer than the
/// epoch, overflow).
pub(crate) fn start_from_uptime(now_nanos: u64, uptime_secs: u64) -> Option<u64> {
    uptime_secs
        .checked_mul(1_000_000_000)
        .and_then(|d| now_nanos.checked_sub(d))
}

/// A `u64` as an OTLP integer, clamped.
pub(crate) fn sat_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Parses an integer the way servers print them: plain digits, clamped to `i64` when too large,
/// a finite decimal truncated; `None` for anything else.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        // only digits, yet not an i64: too large
        return Some(if negative { i64::MIN } else { i64::MAX });
    }
    // `as` saturates for finite floats
    parse_f64(s).map(|f| f as i64)
}

/// Parses a finite float (`NaN` and infinities are refused).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The first `max` characters of `s`, for error messages that quote their input.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Feeds arbitrary bytes (as lossy UTF-8) to every parser and metric builder of this crate, and
/// the raw bytes to the RESP reply decoder. It returns nothing and must never panic: it is the
/// body of the fuzz target, and the unit tests run it on mutated samples.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let info = redis::parse_info(&text);
    let stub = nginx::parse_stub_status(&text);
    let apache = apache::parse_server_status(&text);
    for now in [0, 1_700_000_000_000_000_000, u64::MAX] {
        let mut b = MetricsBuilder::new(redis::redis_resource(&info), "fuzz", "0");
        redis::redis_metrics(&info, &mut b, now, &redis::RedisOptions::default());
        redis::redis_metrics(&info, &mut b, now, &redis::RedisOptions { max_commands: 1 });
        if let Ok(s) = &stub {
            nginx::nginx_metrics(s, &mut b, now, now / 2);
        }
        if let Ok(s) = &apache {
            apache::apache_metrics(s, &mut b, now);
            let _ = s.start_nanos(now);
        }
        let _ = b.finish();
    }
    mysql::fuzz(&text, 1_700_000_000_000_000_000);
    postgresql::fuzz(&text, 1_700_000_000_000_000_000);
    let mut rest = data;
    while !rest.is_empty() {
        match redis::decode_reply(rest) {
            Ok(Some((_, used))) if used > 0 && used <= rest.len() => rest = &rest[used..],
            _ => break,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testutil {
    use lookout_model::otlp::{
        metric::Data, number_data_point::Value, ExportMetricsServiceRequest, Metric,
        NumberDataPoint,
    };

    /// The metric called `name`, if present.
    pub fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
        req.resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .find(|m| m.name == name)
    }

    /// The points of metric `name` (panics when it is missing).
    pub fn points<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a [NumberDataPoint] {
        match &metric(req, name)
            .unwrap_or_else(|| panic!("no metric {name}"))
            .data
        {
            Some(Data::Gauge(g)) => &g.data_points,
            Some(Data::Sum(s)) => &s.data_points,
            other => panic!("{name}: unexpected data {other:?}"),
        }
    }

    /// The value (as f64) of the point of `name` whose attributes are exactly `attrs`.
    pub fn value(req: &ExportMetricsServiceRequest, name: &str, attrs: &[(&str, &str)]) -> f64 {
        let p = points(req, name)
            .iter()
            .find(|p| {
                p.attributes.len() == attrs.len()
                    && attrs
                        .iter()
                        .all(|(k, v)| lookout_model::attr::get_str(&p.attributes, k) == Some(*v))
            })
            .unwrap_or_else(|| panic!("{name}: no point with {attrs:?}"));
        match p.value {
            Some(Value::AsInt(i)) => i as f64,
            Some(Value::AsDouble(d)) => d,
            None => panic!("{name}: point without a value"),
        }
    }

    /// `(unit, is_sum, monotonic)` of metric `name`.
    pub fn shape(req: &ExportMetricsServiceRequest, name: &str) -> (String, bool, bool) {
        let m = metric(req, name).unwrap_or_else(|| panic!("no metric {name}"));
        match &m.data {
            Some(Data::Gauge(_)) => (m.unit.clone(), false, false),
            Some(Data::Sum(s)) => (m.unit.clone(), true, s.is_monotonic),
            other => panic!("{name}: unexpected data {other:?}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_from_uptime_never_overflows() {
        assert_eq!(start_from_uptime(10_000_000_000, 3), Some(7_000_000_000));
        assert_eq!(start_from_uptime(1, 3), None);
        assert_eq!(start_from_uptime(u64::MAX, u64::MAX), None);
    }

    #[test]
    fn parse_int_clamps_and_refuses_nan() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        assert_eq!(parse_int("99999999999999999999"), Some(i64::MAX));
        assert_eq!(parse_int("-99999999999999999999"), Some(i64::MIN));
        assert_eq!(parse_int("9".repeat(400).as_str()), Some(i64::MAX));
        assert_eq!(parse_int("1.9"), Some(1));
        assert_eq!(parse_int("1e300"), Some(i64::MAX));
        assert_eq!(parse_int("NaN"), None);
        assert_eq!(parse_int("inf"), None);
        assert_eq!(parse_int("12abc"), None);
        assert_eq!(parse_f64(".0854"), Some(0.0854));
        assert_eq!(parse_f64("-inf"), None);
    }

    #[test]
    fn stable_start_keeps_a_wobbling_estimate_and_follows_a_restart() {
        let mut s = StableStart::new();
        assert_eq!(s.resolve(None), None);
        assert_eq!(s.resolve(Some(100_000_000_000)), Some(100_000_000_000));
        assert_eq!(s.resolve(Some(99_200_000_000)), Some(100_000_000_000));
        assert_eq!(s.resolve(None), None);
        assert_eq!(s.resolve(Some(100_900_000_000)), Some(100_000_000_000));
        assert_eq!(s.resolve(Some(160_000_000_000)), Some(160_000_000_000));
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("ab", 2), "ab");
    }

    /// A small deterministic generator (xorshift), so the mutation test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const NASTY: &[&str] = &[
        "99999999999999999999999999",
        "-1",
        "-99999999999999999999",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "",
        ":",
        "=",
        ",",
        "\r\n",
        "\n",
        "*-1\r\n",
        "$-5\r\n",
        "*999999999\r\n",
        "$20000000\r\n",
        "é",
        "\u{0}",
        "# ",
        "db9:keys=",
        "cmdstat_:calls=x",
        "Scoreboard: ",
        "Active connections: ",
    ];

    #[test]
    fn fuzz_one_survives_mutated_samples() {
        let samples: Vec<Vec<u8>> = vec![
            redis::tests::SAMPLE_INFO.as_bytes().to_vec(),
            nginx::tests::SAMPLE.as_bytes().to_vec(),
            apache::tests::SAMPLE.as_bytes().to_vec(),
            mysql::tests::SAMPLE_STATUS.as_bytes().to_vec(),
            mysql::tests::SAMPLE_VARIABLES.as_bytes().to_vec(),
            postgresql::tests::SAMPLE_SETTINGS.as_bytes().to_vec(),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n:12\r\n+OK\r\n-ERR x\r\n*2\r\n*1\r\n$-1\r\n*-1\r\n"
                .to_vec(),
            Vec::new(),
        ];
        for s in &samples {
            fuzz_one(s);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..1500 {
            let mut data = samples[round % samples.len()].clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(data.len() + 1);
                match rng.below(5) {
                    0 if !data.is_empty() => {
                        let i = rng.below(data.len());
                        data[i] ^= 1 << rng.below(8);
                    }
                    1 => data.truncate(at),
                    2 => {
                        let nasty = NASTY[rng.below(NASTY.len())].as_bytes();
                        data.splice(at..at, nasty.iter().copied());
                    }
                    3 if !data.is_empty() => {
                        // replace a run of digits-ish bytes with a nasty token
                        let end = (at + rng.below(12)).min(data.len());
                        let nasty = NASTY[rng.below(NASTY.len())].as_bytes();
                        data.splice(at..end, nasty.iter().copied());
                    }
                    _ => {
                        let b = (rng.next() & 0xff) as u8;
                        data.insert(at, b);
                    }
                }
            }
            fuzz_one(&data);
        }
        // pure noise
        for _ in 0..300 {
            let len = rng.below(512);
            let data: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
            fuzz_one(&data);
        }
    }
}
