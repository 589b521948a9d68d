//! MySQL and MariaDB: `SHOW GLOBAL STATUS`, a few `SHOW GLOBAL VARIABLES` and
//! `SHOW REPLICA STATUS` (`SHOW SLAVE STATUS` on older servers) read into a [`MysqlSnapshot`],
//! turned into metrics by [`mysql_metrics`] (names, units and attributes of the Collector contrib
//! `mysql` receiver, see the [crate] documentation), and [`collect_mysql`], which reads them
//! over TCP or a Unix socket with `mysql_async` (no TLS).
//!
//! ```
//! use lookout_integrations::mysql::{mysql_metrics, MysqlSnapshot};
//! use lookout_integrations::rows::Rows;
//! use lookout_model::MetricsBuilder;
//! let status = Rows::parse_delimited(
//!     "Variable_name\tValue\nUptime\t60\nCom_select\t7\nCom_insert\t2\n", '\t', "NULL");
//! let snap = MysqlSnapshot::from_rows(&status, &Rows::default(), None);
//! let mut b = MetricsBuilder::new(vec![], "lookout/mysql", "0.1.0");
//! mysql_metrics(&snap, &mut b, 100_000_000_000, 40_000_000_000);
//! let req = b.finish();
//! // mysql.uptime and mysql.commands (select, insert)
//! assert_eq!(req.resource_metrics[0].scope_metrics[0].metrics.len(), 2);
//! ```
//!
//! The monitoring account needs no privilege for the status and variables; the replica status
//! needs `REPLICATION CLIENT` on MySQL and `SLAVE MONITOR` on MariaDB 10.5 and later
//! ([`grant_hint`]). Without it the replica metrics are skipped and [`MysqlInfo::replication`]
//! says why; the rest is collected.

use crate::endpoint::DbEndpoint;
use crate::rows::Rows;
use crate::{clip, parse_int, start_from_uptime, StableStart};
use lookout_model::{attr, otlp::KeyValue, MetricsBuilder, Monotonic};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Pure part: rows in, metrics out
// ---------------------------------------------------------------------------------------------

/// One row of `SHOW REPLICA STATUS` / `SHOW SLAVE STATUS`, reduced to what the metrics use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The replication channel (`Channel_Name` on MySQL, `Connection_name` on MariaDB); empty
    /// for the default one.
    pub channel: String,
    /// `Seconds_Behind_Source` (`Seconds_Behind_Master`); `None` while the SQL thread is not
    /// running (the server reports NULL).
    pub seconds_behind_source: Option<i64>,
    /// `SQL_Delay`: the configured delay of this replica, in seconds.
    pub sql_delay: Option<i64>,
}

impl ReplicaStatus {
    /// The replica rows of a `SHOW REPLICA STATUS` / `SHOW SLAVE STATUS` answer (an empty answer:
    /// not a replica).
    pub fn from_rows(rows: &Rows) -> Vec<ReplicaStatus> {
        rows.iter()
            .map(|r| ReplicaStatus {
                channel: r
                    .text("Channel_Name")
                    .or_else(|| r.text("Connection_name"))
                    .unwrap_or("")
                    .to_string(),
                seconds_behind_source: r
                    .int("Seconds_Behind_Source")
                    .or_else(|| r.int("Seconds_Behind_Master")),
                sql_delay: r.int("SQL_Delay"),
            })
            .collect()
    }
}

/// What one collection read: the global status and variables (names lower-cased) and the
/// replica rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlSnapshot {
    /// `SHOW GLOBAL STATUS`, by lower-cased name.
    pub status: BTreeMap<String, String>,
    /// The `SHOW GLOBAL VARIABLES` that were read, by lower-cased name.
    pub variables: BTreeMap<String, String>,
    /// The replica rows; empty when the server is not a replica or they were not read.
    pub replicas: Vec<ReplicaStatus>,
    /// Table sizes when asked for: (schema, table, data bytes, index bytes), largest first.
    pub tables: Vec<TableSize>,
}

/// The size of one table, from `information_schema.tables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSize {
    /// `table_schema`.
    pub schema: String,
    /// `table_name`.
    pub table: String,
    /// `data_length`, bytes.
    pub data: i64,
    /// `index_length`, bytes.
    pub index: i64,
}

impl TableSize {
    /// Rows of [`TABLE_SIZES_SQL`] (schema, table, data_length, index_length); rows with a
    /// missing or negative size are skipped.
    pub fn from_rows(rows: &Rows) -> Vec<TableSize> {
        rows.iter()
            .filter_map(|r| {
                let num = |i: usize| {
                    r.get(i)
                        .and_then(|v| v.trim().parse::<i64>().ok())
                        .filter(|v| *v >= 0)
                };
                Some(TableSize {
                    schema: r.get(0)?.to_string(),
                    table: r.get(1)?.to_string(),
                    data: num(2)?,
                    index: num(3)?,
                })
            })
            .collect()
    }
}

/// The largest user tables (system schemas left out); `{limit}` is replaced by the bound.
pub const TABLE_SIZES_SQL: &str = "SELECT table_schema, table_name, COALESCE(data_length, 0), COALESCE(index_length, 0) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY COALESCE(data_length, 0) + COALESCE(index_length, 0) DESC, table_schema, table_name LIMIT {limit}";

impl MysqlSnapshot {
    /// A snapshot from the answers of `SHOW GLOBAL STATUS`, `SHOW GLOBAL VARIABLES` (first two
    /// columns: name, value) and, when read, `SHOW REPLICA STATUS`.
    pub fn from_rows(status: &Rows, variables: &Rows, replica: Option<&Rows>) -> Self {
        let lower = |rows: &Rows| -> BTreeMap<String, String> {
            rows.pairs()
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect()
        };
        MysqlSnapshot {
            status: lower(status),
            variables: lower(variables),
            replicas: replica.map(ReplicaStatus::from_rows).unwrap_or_default(),
            tables: Vec::new(),
        }
    }

    /// The status variable `name` (ASCII case-insensitive).
    pub fn status(&self, name: &str) -> Option<&str> {
        self.status
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The status variable `name` as an integer (clamped to `i64`).
    pub fn status_int(&self, name: &str) -> Option<i64> {
        self.status(name).and_then(parse_int)
    }

    /// The server variable `name` (ASCII case-insensitive).
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The server's start time, `now - Uptime`, when the status has an uptime.
    pub fn start_nanos(&self, now_nanos: u64) -> Option<u64> {
        let uptime = u64::try_from(self.status_int("Uptime")?).ok()?;
        start_from_uptime(now_nanos, uptime)
    }

    /// A strict integer for gauges and up-down sums: a value that does not fit an `i64` is a
    /// server bug (`Innodb_buffer_pool_pages_misc` underflows on some versions), not a number.
    fn status_exact(&self, name: &str) -> Option<i64> {
        self.status(name).and_then(|v| v.parse::<i64>().ok())
    }
}

/// One metric read from a fixed list of status variables, each giving one point with one
/// attribute value (or no attribute when `attr` is empty).
struct Family {
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    monotonic: Monotonic,
    attr: &'static str,
    /// `(status variable, attribute value)`.
    points: &'static [(&'static str, &'static str)],
}

const fn counter(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    attr: &'static str,
    points: &'static [(&'static str, &'static str)],
) -> Family {
    Family {
        name,
        unit,
        description,
        monotonic: Monotonic::Yes,
        attr,
        points,
    }
}

const fn updown(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    attr: &'static str,
    points: &'static [(&'static str, &'static str)],
) -> Family {
    Family {
        name,
        unit,
        description,
        monotonic: Monotonic::No,
        attr,
        points,
    }
}

/// The metrics read straight from `SHOW GLOBAL STATUS`, in the order they are emitted.
const FAMILIES: &[Family] = &[
    updown(
        "mysql.buffer_pool.pages",
        "1",
        "InnoDB buffer pool pages, by kind.",
        "kind",
        &[
            ("Innodb_buffer_pool_pages_data", "data"),
            ("Innodb_buffer_pool_pages_free", "free"),
            ("Innodb_buffer_pool_pages_misc", "misc"),
        ],
    ),
    counter(
        "mysql.buffer_pool.page_flushes",
        "1",
        "Requests to flush pages out of the InnoDB buffer pool.",
        "",
        &[("Innodb_buffer_pool_pages_flushed", "")],
    ),
    counter(
        "mysql.buffer_pool.operations",
        "1",
        "InnoDB buffer pool operations, by operation.",
        "operation",
        &[
            ("Innodb_buffer_pool_read_ahead_rnd", "read_ahead_rnd"),
            ("Innodb_buffer_pool_read_ahead", "read_ahead"),
            (
                "Innodb_buffer_pool_read_ahead_evicted",
                "read_ahead_evicted",
            ),
            ("Innodb_buffer_pool_read_requests", "read_requests"),
            ("Innodb_buffer_pool_reads", "reads"),
            ("Innodb_buffer_pool_wait_free", "wait_free"),
            ("Innodb_buffer_pool_write_requests", "write_requests"),
        ],
    ),
    counter(
        "mysql.prepared_statements",
        "1",
        "Prepared-statement protocol commands received, by command.",
        "command",
        &[
            ("Com_stmt_execute", "execute"),
            ("Com_stmt_close", "close"),
            ("Com_stmt_fetch", "fetch"),
            ("Com_stmt_prepare", "prepare"),
            ("Com_stmt_reset", "reset"),
            ("Com_stmt_send_long_data", "send_long_data"),
        ],
    ),
    counter(
        "mysql.commands",
        "1",
        "Statements executed, by statement type.",
        "command",
        &[
            ("Com_delete", "delete"),
            ("Com_delete_multi", "delete_multi"),
            ("Com_insert", "insert"),
            ("Com_select", "select"),
            ("Com_update", "update"),
            ("Com_update_multi", "update_multi"),
        ],
    ),
    counter(
        "mysql.handlers",
        "1",
        "Calls to the storage engine handler interface, by call.",
        "kind",
        &[
            ("Handler_commit", "commit"),
            ("Handler_delete", "delete"),
            ("Handler_discover", "discover"),
            ("Handler_external_lock", "external_lock"),
            ("Handler_mrr_init", "mrr_init"),
            ("Handler_prepare", "prepare"),
            ("Handler_read_first", "read_first"),
            ("Handler_read_key", "read_key"),
            ("Handler_read_last", "read_last"),
            ("Handler_read_next", "read_next"),
            ("Handler_read_prev", "read_prev"),
            ("Handler_read_rnd", "read_rnd"),
            ("Handler_read_rnd_next", "read_rnd_next"),
            ("Handler_rollback", "rollback"),
            ("Handler_savepoint", "savepoint"),
            ("Handler_savepoint_rollback", "savepoint_rollback"),
            ("Handler_update", "update"),
            ("Handler_write", "write"),
        ],
    ),
    counter(
        "mysql.double_writes",
        "1",
        "InnoDB doublewrite buffer activity.",
        "kind",
        &[
            ("Innodb_dblwr_pages_written", "pages_written"),
            ("Innodb_dblwr_writes", "writes"),
        ],
    ),
    counter(
        "mysql.log_operations",
        "1",
        "InnoDB redo log operations, by operation.",
        "operation",
        &[
            ("Innodb_log_waits", "waits"),
            ("Innodb_log_write_requests", "write_requests"),
            ("Innodb_log_writes", "writes"),
            ("Innodb_os_log_fsyncs", "fsyncs"),
        ],
    ),
    counter(
        "mysql.operations",
        "1",
        "InnoDB data file operations, by operation.",
        "operation",
        &[
            ("Innodb_data_fsyncs", "fsyncs"),
            ("Innodb_data_reads", "reads"),
            ("Innodb_data_writes", "writes"),
        ],
    ),
    counter(
        "mysql.page_operations",
        "1",
        "InnoDB page operations, by operation.",
        "operation",
        &[
            ("Innodb_pages_created", "created"),
            ("Innodb_pages_read", "read"),
            ("Innodb_pages_written", "written"),
        ],
    ),
    counter(
        "mysql.row_locks",
        "1",
        "InnoDB row lock waits, and the time spent waiting (ms).",
        "kind",
        &[
            ("Innodb_row_lock_waits", "waits"),
            ("Innodb_row_lock_time", "time"),
        ],
    ),
    counter(
        "mysql.row_operations",
        "1",
        "Rows handled by InnoDB, by operation.",
        "operation",
        &[
            ("Innodb_rows_deleted", "deleted"),
            ("Innodb_rows_inserted", "inserted"),
            ("Innodb_rows_read", "read"),
            ("Innodb_rows_updated", "updated"),
        ],
    ),
    counter(
        "mysql.locks",
        "1",
        "Table lock requests, granted at once or after a wait.",
        "kind",
        &[
            ("Table_locks_immediate", "immediate"),
            ("Table_locks_waited", "waited"),
        ],
    ),
    counter(
        "mysql.sorts",
        "1",
        "Sort activity, by kind.",
        "kind",
        &[
            ("Sort_merge_passes", "merge_passes"),
            ("Sort_range", "range"),
            ("Sort_rows", "rows"),
            ("Sort_scan", "scan"),
        ],
    ),
    updown(
        "mysql.threads",
        "1",
        "Server threads, by state (created: since the start).",
        "kind",
        &[
            ("Threads_cached", "cached"),
            ("Threads_connected", "connected"),
            ("Threads_created", "created"),
            ("Threads_running", "running"),
        ],
    ),
    counter(
        "mysql.client.network.io",
        "By",
        "Bytes exchanged with clients, by direction.",
        "kind",
        &[("Bytes_received", "received"), ("Bytes_sent", "sent")],
    ),
    counter(
        "mysql.opened_resources",
        "1",
        "Files, table definitions and tables opened.",
        "kind",
        &[
            ("Opened_files", "file"),
            ("Opened_table_definitions", "table_definition"),
            ("Opened_tables", "table"),
        ],
    ),
    counter(
        "mysql.uptime",
        "s",
        "Seconds since the server started.",
        "",
        &[("Uptime", "")],
    ),
    counter(
        "mysql.tmp_resources",
        "1",
        "Temporary tables and files created while executing statements.",
        "resource",
        &[
            ("Created_tmp_disk_tables", "disk_tables"),
            ("Created_tmp_files", "files"),
            ("Created_tmp_tables", "tables"),
        ],
    ),
    counter(
        "mysql.joins",
        "1",
        "Joins that scanned tables or ranges, by kind.",
        "kind",
        &[
            ("Select_full_join", "full"),
            ("Select_full_range_join", "full_range"),
            ("Select_range", "range"),
            ("Select_range_check", "range_check"),
            ("Select_scan", "scan"),
        ],
    ),
    counter(
        "mysql.connection.count",
        "1",
        "Connection attempts, successful or not.",
        "",
        &[("Connections", "")],
    ),
    counter(
        "mysql.connection.errors",
        "1",
        "Failed or aborted connections, by cause.",
        "error",
        &[
            ("Connection_errors_accept", "accept"),
            ("Connection_errors_internal", "internal"),
            ("Connection_errors_max_connections", "max_connections"),
            ("Connection_errors_peer_address", "peer_address"),
            ("Connection_errors_select", "select"),
            ("Connection_errors_tcpwrap", "tcpwrap"),
            ("Aborted_connects", "aborted"),
            ("Aborted_clients", "aborted_clients"),
            ("Locked_connects", "locked"),
        ],
    ),
    counter(
        "mysql.query.count",
        "1",
        "Statements executed, including those run inside stored programs.",
        "",
        &[("Queries", "")],
    ),
    counter(
        "mysql.query.client.count",
        "1",
        "Statements sent by clients.",
        "",
        &[("Questions", "")],
    ),
    counter(
        "mysql.query.slow.count",
        "1",
        "Statements that took longer than long_query_time.",
        "",
        &[("Slow_queries", "")],
    ),
    counter(
        "mysql.table_open_cache",
        "1",
        "Open-table cache lookups, by outcome.",
        "status",
        &[
            ("Table_open_cache_hits", "hit"),
            ("Table_open_cache_misses", "miss"),
            ("Table_open_cache_overflows", "overflow"),
        ],
    ),
    counter(
        "mysql.mysqlx_connections",
        "1",
        "X Protocol connections, by outcome (MySQL with the X plugin).",
        "status",
        &[
            ("Mysqlx_connections_accepted", "accepted"),
            ("Mysqlx_connections_closed", "closed"),
            ("Mysqlx_connections_rejected", "rejected"),
        ],
    ),
    updown(
        "mysql.mysqlx_worker_threads",
        "1",
        "X Protocol worker threads (MySQL with the X plugin).",
        "kind",
        &[
            ("Mysqlx_worker_threads", "available"),
            ("Mysqlx_worker_threads_active", "active"),
        ],
    ),
];

/// Adds the metrics of one snapshot to `b`: sums start at `start_nanos` (the server's start,
/// see [`MysqlSnapshot::start_nanos`] and [`StableStart`]; 0 when unknown). A status variable
/// the server does not have gives no point; a metric with no point is dropped by the builder.
/// Counters never carry a negative value; up-down values that do not fit an `i64` are skipped.
pub fn mysql_metrics(
    snap: &MysqlSnapshot,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    start_nanos: u64,
) {
    table_size_metrics(&snap.tables, b, now_nanos, start_nanos);
    for f in FAMILIES {
        let points: Vec<(&str, i64)> = f
            .points
            .iter()
            .filter_map(|(var, value)| {
                let v = match f.monotonic {
                    Monotonic::Yes => snap.status_int(var).filter(|v| *v >= 0),
                    Monotonic::No => snap.status_exact(var),
                }?;
                Some((*value, v))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let mut m = b.sum(f.name, f.unit, f.description, f.monotonic);
        for (value, v) in points {
            if f.attr.is_empty() {
                m.point_i64(start_nanos, now_nanos, v, &[]);
            } else {
                m.point_i64(start_nanos, now_nanos, v, &[(f.attr, value)]);
            }
        }
    }

    // dirty and clean (= all data - dirty) pages and bytes
    for (name, unit, description, data, dirty) in [
        (
            "mysql.buffer_pool.data_pages",
            "1",
            "InnoDB buffer pool pages holding data, dirty or clean.",
            "Innodb_buffer_pool_pages_data",
            "Innodb_buffer_pool_pages_dirty",
        ),
        (
            "mysql.buffer_pool.usage",
            "By",
            "Bytes of data in the InnoDB buffer pool, dirty or clean.",
            "Innodb_buffer_pool_bytes_data",
            "Innodb_buffer_pool_bytes_dirty",
        ),
    ] {
        let Some(dirty) = snap.status_exact(dirty) else {
            continue;
        };
        let mut m = b.sum(name, unit, description, Monotonic::No);
        m.point_i64(start_nanos, now_nanos, dirty, &[("status", "dirty")]);
        if let Some(data) = snap.status_exact(data) {
            let clean = data.saturating_sub(dirty).max(0);
            m.point_i64(start_nanos, now_nanos, clean, &[("status", "clean")]);
        }
    }

    if let Some(limit) = snap
        .variable("innodb_buffer_pool_size")
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        b.sum(
            "mysql.buffer_pool.limit",
            "By",
            "The configured size of the InnoDB buffer pool.",
            Monotonic::No,
        )
        .point_i64(start_nanos, now_nanos, limit, &[]);
    }

    // A multi-source replica has one row per channel; the contrib metrics carry no channel, so
    // the worst channel stands for the server.
    let behind = snap
        .replicas
        .iter()
        .filter_map(|r| r.seconds_behind_source)
        .max();
    if let Some(v) = behind {
        b.sum(
            "mysql.replica.time_behind_source",
            "s",
            "How far the replica's applied changes are behind the source (worst channel).",
            Monotonic::No,
        )
        .point_i64(start_nanos, now_nanos, v, &[]);
    }
    if let Some(v) = snap.replicas.iter().filter_map(|r| r.sql_delay).max() {
        b.sum(
            "mysql.replica.sql_delay",
            "s",
            "The delay the replica is configured to keep behind the source (largest channel).",
            Monotonic::No,
        )
        .point_i64(start_nanos, now_nanos, v, &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// What the server is, and what went wrong
// ---------------------------------------------------------------------------------------------

/// Which server family answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Oracle MySQL (and Percona Server).
    Mysql,
    /// MariaDB.
    Mariadb,
}

impl Flavor {
    /// The flavor a `version` string names (`10.11.6-MariaDB-0+deb12u1` is MariaDB).
    pub fn from_version(version: &str) -> Flavor {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::Mariadb
        } else {
            Flavor::Mysql
        }
    }
}

/// What became of the replica status in one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// Read: the server is not a replica.
    NotReplica,
    /// Read: the server replicates over this many channels.
    Replica {
        /// Rows of the replica status (1 unless multi-source).
        channels: usize,
    },
    /// Not read: the account may not see it (the metrics of the rest were collected).
    Skipped {
        /// The server's refusal.
        reason: String,
        /// The statement that grants what is missing.
        hint: String,
    },
}

/// What a collection learned about the server (for resource attributes and `/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlInfo {
    /// The `version` variable (`8.0.36`, `10.11.6-MariaDB-0+deb12u1`).
    pub version: String,
    /// The `version_comment` variable (`MySQL Community Server - GPL`, `Debian 12`).
    pub version_comment: String,
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// The account the server matched the login to (`CURRENT_USER()`: `lookout@127.0.0.1`).
    pub account: String,
    /// The `max_connections` variable.
    pub max_connections: Option<i64>,
    /// Whether the replica status was read.
    pub replication: Replication,
}

impl MysqlInfo {
    /// The `GRANT` this server needs for the replica status, for the account that logged in.
    pub fn grant_hint(&self) -> String {
        grant_statement(&self.account, self.flavor)
    }
}

/// Resource attributes for a MySQL server: `mysql.instance.endpoint` (as configured) and, once a
/// collection has told it, `db.system.version`.
pub fn mysql_resource(endpoint: &str, info: Option<&MysqlInfo>) -> Vec<KeyValue> {
    let mut out = vec![attr::str("mysql.instance.endpoint", endpoint)];
    if let Some(v) = info.map(|i| i.version.as_str()).filter(|v| !v.is_empty()) {
        out.push(attr::str("db.system.version", v));
    }
    out
}

/// The statements an operator runs so that `user` (`name`, or `name@host` as `CURRENT_USER()`
/// prints it; host `%` when not given) may read everything this integration reads: MySQL needs
/// `REPLICATION CLIENT`, MariaDB 10.5 and later `SLAVE MONITOR`. Nothing else is needed: the
/// global status and variables are readable by any account.
///
/// ```
/// use lookout_integrations::mysql::grant_hint;
/// assert_eq!(
///     grant_hint("lookout@localhost"),
///     "GRANT REPLICATION CLIENT ON *.* TO 'lookout'@'localhost'; \
///      on MariaDB 10.5 and later: GRANT SLAVE MONITOR ON *.* TO 'lookout'@'localhost';"
/// );
/// ```
pub fn grant_hint(user: &str) -> String {
    format!(
        "{} on MariaDB 10.5 and later: {}",
        grant_statement(user, Flavor::Mysql),
        grant_statement(user, Flavor::Mariadb)
    )
}

fn grant_statement(user: &str, flavor: Flavor) -> String {
    let (name, host) = match user.rsplit_once('@') {
        Some((name, host)) if !host.is_empty() => (name, host),
        _ => (user, "%"),
    };
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
    let privilege = match flavor {
        Flavor::Mysql => "REPLICATION CLIENT",
        Flavor::Mariadb => "SLAVE MONITOR",
    };
    format!(
        "GRANT {privilege} ON *.* TO '{}'@'{}';",
        quote(name),
        quote(host)
    )
}

/// Why a MySQL collection failed. The message never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MysqlError {
    /// Bad endpoint, could not connect, or the connection broke.
    Connect(String),
    /// The collection did not finish within the timeout (what it was doing).
    Timeout(String),
    /// The server refused the login (access denied, expired password, locked account).
    Auth(String),
    /// The account lacks a privilege for a statement the collection needs.
    Privilege {
        /// The statement that was refused.
        statement: String,
        /// The server's message.
        message: String,
        /// The statement that grants what is missing.
        hint: String,
    },
    /// Any other error answered by the server.
    Server(String),
    /// The server's answer could not be understood.
    Protocol(String),
}

impl MysqlError {
    /// A stable short name for labels and logs: `connect`, `timeout`, `auth`, `privilege`,
    /// `server` or `protocol`.
    pub fn kind(&self) -> &'static str {
        match self {
            MysqlError::Connect(_) => "connect",
            MysqlError::Timeout(_) => "timeout",
            MysqlError::Auth(_) => "auth",
            MysqlError::Privilege { .. } => "privilege",
            MysqlError::Server(_) => "server",
            MysqlError::Protocol(_) => "protocol",
        }
    }

    /// What the operator can do about it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            MysqlError::Privilege { hint, .. } => Some(hint.clone()),
            MysqlError::Auth(_) => {
                Some("check the username and password of the monitoring account".into())
            }
            _ => None,
        }
    }

    /// The error for a server error answer `code` to `statement`. Access-denied codes at login
    /// are authentication failures, missing privileges on a statement are `privilege`.
    fn from_server(
        code: u16,
        message: &str,
        statement: &str,
        account: &str,
        flavor: Flavor,
    ) -> Self {
        let message = format!("{} (error {code})", clip(message, 300));
        match code {
            // access denied, no password given, auth plugin refused, password expired or must be
            // reset, account locked (MySQL 3118, MariaDB 4151)
            1045 | 1698 | 1251 | 1820 | 1862 | 3118 | 4151 => MysqlError::Auth(message),
            // database, table, column, command or "you need the X privilege" denials
            1044 | 1142 | 1143 | 1227 | 1370 | 1419 => MysqlError::Privilege {
                statement: statement.to_string(),
                message,
                hint: grant_statement(account, flavor),
            },
            _ => MysqlError::Server(format!("{statement}: {message}")),
        }
    }

    /// Whether a refusal of an optional statement means "skip it" rather than failing.
    fn is_privilege(&self) -> bool {
        matches!(self, MysqlError::Privilege { .. })
    }
}

impl fmt::Display for MysqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MysqlError::Connect(m) => write!(f, "cannot connect to MySQL: {m}"),
            MysqlError::Timeout(m) => write!(f, "MySQL timeout: {m}"),
            MysqlError::Auth(m) => write!(f, "MySQL refused the login: {m}"),
            MysqlError::Privilege {
                statement, message, ..
            } => write!(f, "MySQL refused {statement}: {message}"),
            MysqlError::Server(m) => write!(f, "MySQL error: {m}"),
            MysqlError::Protocol(m) => write!(f, "unexpected MySQL answer: {m}"),
        }
    }
}

impl std::error::Error for MysqlError {}

// ---------------------------------------------------------------------------------------------
// Client part
// ---------------------------------------------------------------------------------------------

/// How to reach one MySQL / MariaDB server.
#[derive(Clone)]
pub struct MysqlConfigLite {
    /// `host:port` (port 3306 by default, `[v6]:port` for IPv6) or the path of the server's Unix
    /// socket (`/run/mysqld/mysqld.sock`, or `unix:///...`).
    pub endpoint: String,
    /// The monitoring account.
    pub username: String,
    /// Its password; `None` or empty for none.
    pub password: Option<String>,
    /// The whole collection (connecting included) must finish within this.
    pub timeout: Duration,
    /// Report the sizes of at most this many tables, the largest (0: none; the query reads
    /// `information_schema.tables`, which can be slow with very many tables).
    pub table_sizes: usize,
}

impl fmt::Debug for MysqlConfigLite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlConfigLite")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The variables read (the rest of the metrics come from the status).
const VARIABLES_SQL: &str = "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
     ('version', 'version_comment', 'innodb_buffer_pool_size', 'max_connections')";
const STATUS_SQL: &str = "SHOW GLOBAL STATUS";
const WHO_SQL: &str = "SELECT CURRENT_USER()";
const REPLICA_SQL: &str = "SHOW REPLICA STATUS";
const SLAVE_SQL: &str = "SHOW SLAVE STATUS";
/// The parse error an older server answers to `SHOW REPLICA STATUS`.
const ER_PARSE_ERROR: u16 = 1064;

/// What the collection is doing, for the timeout message.
const PHASES: [&str; 6] = [
    "connecting",
    WHO_SQL,
    STATUS_SQL,
    "SHOW GLOBAL VARIABLES",
    "SHOW REPLICA STATUS",
    "disconnecting",
];

/// One collection: connects, reads the status, the variables and the replica status, adds the
/// metrics to `b` (sums start at `now - Uptime`, kept steady by `stable`) and returns what it
/// learned about the server. Nothing is added to `b` when it fails. The whole exchange is bounded
/// by `cfg.timeout`; one connection per call, closed before returning.
pub async fn collect_mysql(
    cfg: &MysqlConfigLite,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    stable: &mut StableStart,
) -> Result<MysqlInfo, MysqlError> {
    let phase = AtomicU8::new(0);
    let fetched = tokio::time::timeout(cfg.timeout, fetch(cfg, &phase)).await;
    let (snap, info) = match fetched {
        Ok(r) => r.map_err(|e| scrub(e, cfg.password.as_deref()))?,
        Err(_) => {
            let at = PHASES
                .get(usize::from(phase.load(Ordering::Relaxed)))
                .copied()
                .unwrap_or("collecting");
            return Err(MysqlError::Timeout(format!(
                "{at} at {} did not finish within {:?}",
                clip(&cfg.endpoint, 120),
                cfg.timeout
            )));
        }
    };
    let start = stable.resolve(snap.start_nanos(now_nanos)).unwrap_or(0);
    mysql_metrics(&snap, b, now_nanos, start);
    Ok(info)
}

async fn fetch(
    cfg: &MysqlConfigLite,
    phase: &AtomicU8,
) -> Result<(MysqlSnapshot, MysqlInfo), MysqlError> {
    let endpoint = DbEndpoint::parse(&cfg.endpoint, 3306, "MySQL").map_err(MysqlError::Connect)?;
    let mut opts = mysql_async::OptsBuilder::default()
        .user(Some(cfg.username.clone()))
        .pass(cfg.password.clone().filter(|p| !p.is_empty()))
        // stay on the transport that was configured (a TCP login matches other accounts than a
        // socket one), and skip the setting queries made after the handshake
        .prefer_socket(false)
        .max_allowed_packet(Some(16 << 20))
        .wait_timeout(Some(60))
        .stmt_cache_size(0);
    opts = match &endpoint {
        DbEndpoint::Tcp { host, port } => opts.ip_or_hostname(host.clone()).tcp_port(*port),
        DbEndpoint::Unix(path) => opts.socket(Some(path.to_string_lossy().into_owned())),
    };

    let set = |i: u8| phase.store(i, Ordering::Relaxed);
    set(0);
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| convert(e, "connecting", "", Flavor::Mysql, true))?;
    let version = conn.server_version();
    // refined from the version variable below
    let mut flavor = if version.0 >= 10 && version.0 < 12 {
        Flavor::Mariadb
    } else {
        Flavor::Mysql
    };

    set(1);
    let who = query_rows(&mut conn, WHO_SQL, &cfg.username, flavor).await?;
    let account = who
        .iter()
        .next()
        .and_then(|r| r.get(0))
        .unwrap_or(&cfg.username)
        .to_string();

    set(2);
    let status = query_rows(&mut conn, STATUS_SQL, &account, flavor).await?;
    if status.is_empty() {
        return Err(MysqlError::Protocol(format!(
            "{STATUS_SQL} returned no row"
        )));
    }

    set(3);
    let variables = query_rows(&mut conn, VARIABLES_SQL, &account, flavor).await?;
    let mut snap = MysqlSnapshot::from_rows(&status, &variables, None);
    let version = snap.variable("version").unwrap_or("").to_string();
    if !version.is_empty() {
        flavor = Flavor::from_version(&version);
    }

    set(4);
    let replica = match raw_rows(&mut conn, REPLICA_SQL).await {
        // older than MySQL 8.0.22 / MariaDB 10.5.1: only the old spelling exists
        Err(mysql_async::Error::Server(s)) if s.code == ER_PARSE_ERROR => {
            raw_rows(&mut conn, SLAVE_SQL)
                .await
                .map_err(|e| convert(e, SLAVE_SQL, &account, flavor, false))
        }
        other => other.map_err(|e| convert(e, REPLICA_SQL, &account, flavor, false)),
    };
    let replication = match replica {
        Ok(rows) => {
            snap.replicas = ReplicaStatus::from_rows(&rows);
            if snap.replicas.is_empty() {
                Replication::NotReplica
            } else {
                Replication::Replica {
                    channels: snap.replicas.len(),
                }
            }
        }
        Err(e) if e.is_privilege() => {
            let hint = grant_statement(&account, flavor);
            tracing::debug!(error = %e, "mysql: replica status not readable, replica metrics skipped");
            Replication::Skipped {
                reason: e.to_string(),
                hint,
            }
        }
        Err(e) => return Err(e),
    };

    if cfg.table_sizes > 0 {
        let sql = TABLE_SIZES_SQL.replace("{limit}", &cfg.table_sizes.min(10_000).to_string());
        match raw_rows(&mut conn, &sql).await {
            Ok(rows) => snap.tables = TableSize::from_rows(&rows),
            // sizes are optional: a refusal leaves them out, the rest is kept
            Err(e) => tracing::debug!(error = %e, "mysql: table sizes not read"),
        }
    }

    set(5);
    // a failed goodbye loses nothing: the answers are in
    let _ = conn.disconnect().await;

    let info = MysqlInfo {
        version,
        version_comment: snap.variable("version_comment").unwrap_or("").to_string(),
        flavor,
        account,
        max_connections: snap
            .variable("max_connections")
            .and_then(|v| v.trim().parse().ok()),
        replication,
    };
    Ok((snap, info))
}

/// `mysql.table.data_length`, `mysql.table.index_length` and `mysql.table.total_length`
/// (non-monotonic sums in bytes, attributes `schema` and `table_name`, as the contrib receiver's
/// optional metrics), one point per table read.
fn table_size_metrics(tables: &[TableSize], b: &mut MetricsBuilder, now: u64, start: u64) {
    if tables.is_empty() {
        return;
    }
    for (name, desc, pick) in [
        ("mysql.table.data_length", "Bytes of a table's data.", 0u8),
        ("mysql.table.index_length", "Bytes of a table's indexes.", 1),
        (
            "mysql.table.total_length",
            "Bytes of a table's data and indexes.",
            2,
        ),
    ] {
        let mut m = b.sum(name, "By", desc, Monotonic::No);
        for t in tables {
            let v = match pick {
                0 => t.data,
                1 => t.index,
                _ => t.data.saturating_add(t.index),
            };
            m.point_i64(
                start,
                now,
                v,
                &[
                    ("schema", t.schema.as_str()),
                    ("table_name", t.table.as_str()),
                ],
            );
        }
    }
}

/// Runs a text-protocol statement and returns its rows as text.
async fn query_rows(
    conn: &mut mysql_async::Conn,
    sql: &str,
    account: &str,
    flavor: Flavor,
) -> Result<Rows, MysqlError> {
    raw_rows(conn, sql)
        .await
        .map_err(|e| convert(e, sql, account, flavor, false))
}

/// [`query_rows`] with the driver's error.
async fn raw_rows(conn: &mut mysql_async::Conn, sql: &str) -> Result<Rows, mysql_async::Error> {
    use mysql_async::prelude::Queryable;
    let result: Vec<mysql_async::Row> = conn.query(sql).await?;
    let Some(first) = result.first() else {
        return Ok(Rows::default());
    };
    let mut rows = Rows::new(
        first
            .columns_ref()
            .iter()
            .map(|c| c.name_str().into_owned()),
    );
    for row in &result {
        rows.push(
            (0..row.len())
                .map(|i| row.as_ref(i).and_then(value_text))
                .collect(),
        );
    }
    Ok(rows)
}

/// A value of the text protocol as text; NULL (and temporal values, which these statements do
/// not return as such) as `None`.
fn value_text(v: &mysql_async::Value) -> Option<String> {
    use mysql_async::Value;
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        Value::Date(..) | Value::Time(..) => None,
    }
}

fn convert(
    e: mysql_async::Error,
    statement: &str,
    account: &str,
    flavor: Flavor,
    connecting: bool,
) -> MysqlError {
    match e {
        mysql_async::Error::Server(s) => {
            MysqlError::from_server(s.code, &s.message, statement, account, flavor)
        }
        mysql_async::Error::Io(io) => MysqlError::Connect(format!("{statement}: {io}")),
        mysql_async::Error::Driver(d) if connecting => {
            MysqlError::Connect(format!("{statement}: {d}"))
        }
        mysql_async::Error::Driver(d) => match d {
            mysql_async::DriverError::ConnectionClosed => {
                MysqlError::Connect(format!("{statement}: the connection was closed"))
            }
            other => MysqlError::Protocol(format!("{statement}: {other}")),
        },
        mysql_async::Error::Url(u) => MysqlError::Connect(u.to_string()),
        mysql_async::Error::Other(o) => MysqlError::Protocol(format!("{statement}: {o}")),
    }
}

/// Removes any occurrence of the password from the error's text (defense in depth: neither the
/// driver nor the server is known to repeat it). Passwords shorter than 4 characters are not
/// searched for, as they would match ordinary words.
fn scrub(e: MysqlError, password: Option<&str>) -> MysqlError {
    let Some(p) = password.filter(|p| p.len() >= 4) else {
        return e;
    };
    let s = |m: String| {
        if m.contains(p) {
            m.replace(p, "***")
        } else {
            m
        }
    };
    match e {
        MysqlError::Connect(m) => MysqlError::Connect(s(m)),
        MysqlError::Timeout(m) => MysqlError::Timeout(s(m)),
        MysqlError::Auth(m) => MysqlError::Auth(s(m)),
        MysqlError::Privilege {
            statement,
            message,
            hint,
        } => MysqlError::Privilege {
            statement,
            message: s(message),
            hint,
        },
        MysqlError::Server(m) => MysqlError::Server(s(m)),
        MysqlError::Protocol(m) => MysqlError::Protocol(s(m)),
    }
}

/// Feeds text to the pure part: `mysql -B` style rows (tab-separated) as status, variables and
/// replica status, then the metric builder. For [`crate::fuzz_one`].
pub(crate) fn fuzz(text: &str, now_nanos: u64) {
    let rows = Rows::parse_delimited(text, '\t', "NULL");
    let snap = MysqlSnapshot::from_rows(&rows, &rows, Some(&rows));
    let mut b = MetricsBuilder::new(vec![], "fuzz", "0");
    let start = StableStart::new()
        .resolve(snap.start_nanos(now_nanos))
        .unwrap_or(0);
    mysql_metrics(&snap, &mut b, now_nanos, start);
    let _ = b.finish();
    let _ = grant_hint(text);
    let _ = MysqlError::from_server(
        u16::try_from(text.len() % 5000).unwrap_or(0),
        text,
        text,
        text,
        Flavor::from_version(text),
    )
    .to_string();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{metric, points, shape, value};

    #[test]
    fn table_sizes_become_the_contrib_table_length_metrics() {
        let rows = Rows::parse_delimited(
            "table_schema\ttable_name\tdata\tindex\nshop\torders\t16384\t32768\nshop\tbroken\tNULL\t1\napp\tusers\t8192\t0\n",
            '\t',
            "NULL",
        );
        let tables = TableSize::from_rows(&rows);
        assert_eq!(tables.len(), 2, "a NULL size is skipped: {tables:?}");
        let mut snap = MysqlSnapshot::from_rows(&Rows::default(), &Rows::default(), None);
        snap.tables = tables;
        let mut b = MetricsBuilder::new(vec![], "t", "1");
        mysql_metrics(&snap, &mut b, 2_000, 1_000);
        let req = b.finish();
        let at = [("schema", "shop"), ("table_name", "orders")];
        assert_eq!(value(&req, "mysql.table.data_length", &at), 16384.0);
        assert_eq!(value(&req, "mysql.table.index_length", &at), 32768.0);
        assert_eq!(value(&req, "mysql.table.total_length", &at), 49152.0);
        assert_eq!(
            value(
                &req,
                "mysql.table.total_length",
                &[("schema", "app"), ("table_name", "users")]
            ),
            8192.0
        );
    }

    /// `mysql -B -e 'SHOW GLOBAL STATUS'` on a busy MySQL 8.0 (trimmed to what matters, plus a
    /// few lines the integration ignores).
    pub(crate) const SAMPLE_STATUS: &str = "Variable_name\tValue
Aborted_clients\t4
Aborted_connects\t17
Bytes_received\t98127361
Bytes_sent\t1827364512
Com_delete\t5120
Com_delete_multi\t3
Com_insert\t88012
Com_select\t1200456
Com_stmt_close\t11
Com_stmt_execute\t4501
Com_stmt_fetch\t0
Com_stmt_prepare\t12
Com_stmt_reset\t0
Com_stmt_send_long_data\t0
Com_update\t40211
Com_update_multi\t1
Connection_errors_accept\t0
Connection_errors_internal\t0
Connection_errors_max_connections\t2
Connection_errors_peer_address\t0
Connection_errors_select\t0
Connection_errors_tcpwrap\t0
Connections\t30211
Created_tmp_disk_tables\t8
Created_tmp_files\t6
Created_tmp_tables\t15002
Handler_commit\t140001
Handler_delete\t5100
Handler_discover\t0
Handler_external_lock\t2840011
Handler_mrr_init\t0
Handler_prepare\t120
Handler_read_first\t3018
Handler_read_key\t5012234
Handler_read_last\t41
Handler_read_next\t81234000
Handler_read_prev\t12
Handler_read_rnd\t991
Handler_read_rnd_next\t12871623
Handler_rollback\t77
Handler_savepoint\t0
Handler_savepoint_rollback\t0
Handler_update\t40200
Handler_write\t1990123
Innodb_buffer_pool_bytes_data\t120586240
Innodb_buffer_pool_bytes_dirty\t1638400
Innodb_buffer_pool_pages_data\t7360
Innodb_buffer_pool_pages_dirty\t100
Innodb_buffer_pool_pages_flushed\t991823
Innodb_buffer_pool_pages_free\t824
Innodb_buffer_pool_pages_misc\t8
Innodb_buffer_pool_pages_total\t8192
Innodb_buffer_pool_read_ahead_rnd\t0
Innodb_buffer_pool_read_ahead\t1203
Innodb_buffer_pool_read_ahead_evicted\t11
Innodb_buffer_pool_read_requests\t912384712
Innodb_buffer_pool_reads\t18273
Innodb_buffer_pool_wait_free\t0
Innodb_buffer_pool_write_requests\t7716253
Innodb_data_fsyncs\t220133
Innodb_data_reads\t20011
Innodb_data_writes\t1120931
Innodb_dblwr_pages_written\t420918
Innodb_dblwr_writes\t80120
Innodb_log_waits\t0
Innodb_log_write_requests\t3918273
Innodb_log_writes\t612874
Innodb_os_log_fsyncs\t190223
Innodb_pages_created\t1029
Innodb_pages_read\t19992
Innodb_pages_written\t991823
Innodb_row_lock_current_waits\t0
Innodb_row_lock_time\t1822
Innodb_row_lock_waits\t31
Innodb_rows_deleted\t5102
Innodb_rows_inserted\t88123
Innodb_rows_read\t93817263
Innodb_rows_updated\t40198
Locked_connects\t0
Opened_files\t12
Opened_table_definitions\t190
Opened_tables\t402
Queries\t1420981
Questions\t1419002
Select_full_join\t2
Select_full_range_join\t0
Select_range\t918
Select_range_check\t0
Select_scan\t20312
Slow_queries\t14
Sort_merge_passes\t0
Sort_range\t120
Sort_rows\t91823
Sort_scan\t1522
Ssl_accepts\t0
Table_locks_immediate\t1029
Table_locks_waited\t0
Table_open_cache_hits\t2839901
Table_open_cache_misses\t402
Table_open_cache_overflows\t0
Threads_cached\t3
Threads_connected\t12
Threads_created\t40
Threads_running\t2
Uptime\t864000
Uptime_since_flush_status\t864000
";

    pub(crate) const SAMPLE_VARIABLES: &str = "Variable_name\tValue
innodb_buffer_pool_size\t134217728
max_connections\t151
version\t8.0.36
version_comment\tMySQL Community Server - GPL
";

    /// `SHOW REPLICA STATUS` of a MySQL 8 replica (the columns that matter, among others).
    const SAMPLE_REPLICA: &str = "Replica_IO_State\tSource_Host\tSource_Port\tReplica_IO_Running\tReplica_SQL_Running\tSeconds_Behind_Source\tSQL_Delay\tChannel_Name
Waiting for source to send event\t10.0.0.5\t3306\tYes\tYes\t7\t0\t
";

    const NOW: u64 = 1_715_680_000_000_000_000;
    const START: u64 = NOW - 864_000_000_000_000;

    fn tsv(text: &str) -> Rows {
        Rows::parse_delimited(text, '\t', "NULL")
    }

    fn collect(snap: &MysqlSnapshot) -> lookout_model::otlp::ExportMetricsServiceRequest {
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let start = snap.start_nanos(NOW).unwrap_or(0);
        mysql_metrics(snap, &mut b, NOW, start);
        b.finish()
    }

    fn sample() -> MysqlSnapshot {
        MysqlSnapshot::from_rows(&tsv(SAMPLE_STATUS), &tsv(SAMPLE_VARIABLES), None)
    }

    #[test]
    fn snapshot_reads_names_case_insensitively() {
        let snap = sample();
        assert_eq!(snap.status_int("uptime"), Some(864_000));
        assert_eq!(snap.status_int("UPTIME"), Some(864_000));
        assert_eq!(snap.variable("VERSION"), Some("8.0.36"));
        assert_eq!(snap.start_nanos(NOW), Some(START));
        assert!(snap.replicas.is_empty());
    }

    #[test]
    fn metrics_follow_the_contrib_names_units_and_attributes() {
        let req = collect(&sample());
        // (name, unit, is_sum, monotonic)
        let shapes: &[(&str, &str, bool)] = &[
            ("mysql.buffer_pool.pages", "1", false),
            ("mysql.buffer_pool.data_pages", "1", false),
            ("mysql.buffer_pool.page_flushes", "1", true),
            ("mysql.buffer_pool.operations", "1", true),
            ("mysql.buffer_pool.limit", "By", false),
            ("mysql.buffer_pool.usage", "By", false),
            ("mysql.prepared_statements", "1", true),
            ("mysql.commands", "1", true),
            ("mysql.handlers", "1", true),
            ("mysql.double_writes", "1", true),
            ("mysql.log_operations", "1", true),
            ("mysql.operations", "1", true),
            ("mysql.page_operations", "1", true),
            ("mysql.row_locks", "1", true),
            ("mysql.row_operations", "1", true),
            ("mysql.locks", "1", true),
            ("mysql.sorts", "1", true),
            ("mysql.threads", "1", false),
            ("mysql.client.network.io", "By", true),
            ("mysql.opened_resources", "1", true),
            ("mysql.uptime", "s", true),
            ("mysql.tmp_resources", "1", true),
            ("mysql.joins", "1", true),
            ("mysql.connection.count", "1", true),
            ("mysql.connection.errors", "1", true),
            ("mysql.query.count", "1", true),
            ("mysql.query.client.count", "1", true),
            ("mysql.query.slow.count", "1", true),
            ("mysql.table_open_cache", "1", true),
        ];
        for (name, unit, mono) in shapes {
            assert_eq!(shape(&req, name), (unit.to_string(), true, *mono), "{name}");
            for p in points(&req, name) {
                assert_eq!(p.start_time_unix_nano, START, "{name}");
                assert_eq!(p.time_unix_nano, NOW, "{name}");
            }
        }
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(metrics.len(), shapes.len(), "no other metric, no duplicate");

        let v = |name: &str, attrs: &[(&str, &str)]| value(&req, name, attrs);
        assert_eq!(v("mysql.uptime", &[]), 864_000.0);
        assert_eq!(v("mysql.query.count", &[]), 1_420_981.0);
        assert_eq!(v("mysql.query.client.count", &[]), 1_419_002.0);
        assert_eq!(v("mysql.query.slow.count", &[]), 14.0);
        assert_eq!(v("mysql.connection.count", &[]), 30_211.0);
        assert_eq!(v("mysql.commands", &[("command", "select")]), 1_200_456.0);
        assert_eq!(v("mysql.commands", &[("command", "update_multi")]), 1.0);
        assert_eq!(points(&req, "mysql.commands").len(), 6);
        assert_eq!(points(&req, "mysql.handlers").len(), 18);
        assert_eq!(
            v("mysql.handlers", &[("kind", "read_rnd_next")]),
            12_871_623.0
        );
        assert_eq!(v("mysql.buffer_pool.pages", &[("kind", "free")]), 824.0);
        assert_eq!(v("mysql.buffer_pool.pages", &[("kind", "misc")]), 8.0);
        assert_eq!(
            v("mysql.buffer_pool.data_pages", &[("status", "dirty")]),
            100.0
        );
        assert_eq!(
            v("mysql.buffer_pool.data_pages", &[("status", "clean")]),
            7260.0
        );
        assert_eq!(
            v("mysql.buffer_pool.usage", &[("status", "dirty")]),
            1_638_400.0
        );
        assert_eq!(
            v("mysql.buffer_pool.usage", &[("status", "clean")]),
            118_947_840.0
        );
        assert_eq!(v("mysql.buffer_pool.limit", &[]), 134_217_728.0);
        assert_eq!(v("mysql.buffer_pool.page_flushes", &[]), 991_823.0);
        assert_eq!(
            v(
                "mysql.buffer_pool.operations",
                &[("operation", "read_requests")]
            ),
            912_384_712.0
        );
        assert_eq!(
            v("mysql.log_operations", &[("operation", "fsyncs")]),
            190_223.0
        );
        assert_eq!(
            v("mysql.operations", &[("operation", "writes")]),
            1_120_931.0
        );
        assert_eq!(
            v("mysql.page_operations", &[("operation", "created")]),
            1029.0
        );
        assert_eq!(v("mysql.double_writes", &[("kind", "writes")]), 80_120.0);
        assert_eq!(v("mysql.row_locks", &[("kind", "time")]), 1822.0);
        assert_eq!(
            v("mysql.row_operations", &[("operation", "read")]),
            93_817_263.0
        );
        assert_eq!(v("mysql.locks", &[("kind", "immediate")]), 1029.0);
        assert_eq!(v("mysql.sorts", &[("kind", "rows")]), 91_823.0);
        assert_eq!(v("mysql.threads", &[("kind", "connected")]), 12.0);
        assert_eq!(
            v("mysql.client.network.io", &[("kind", "sent")]),
            1_827_364_512.0
        );
        assert_eq!(
            v("mysql.opened_resources", &[("kind", "table_definition")]),
            190.0
        );
        assert_eq!(
            v("mysql.tmp_resources", &[("resource", "disk_tables")]),
            8.0
        );
        assert_eq!(v("mysql.joins", &[("kind", "full")]), 2.0);
        assert_eq!(
            v("mysql.connection.errors", &[("error", "max_connections")]),
            2.0
        );
        assert_eq!(v("mysql.connection.errors", &[("error", "aborted")]), 17.0);
        assert_eq!(
            v("mysql.connection.errors", &[("error", "aborted_clients")]),
            4.0
        );
        assert_eq!(points(&req, "mysql.connection.errors").len(), 9);
        assert_eq!(
            v("mysql.table_open_cache", &[("status", "hit")]),
            2_839_901.0
        );
        assert_eq!(
            v("mysql.prepared_statements", &[("command", "execute")]),
            4501.0
        );
        // not a replica, no X plugin
        assert!(metric(&req, "mysql.replica.time_behind_source").is_none());
        assert!(metric(&req, "mysql.replica.sql_delay").is_none());
        assert!(metric(&req, "mysql.mysqlx_connections").is_none());
    }

    #[test]
    fn a_replica_reports_its_delay_and_a_mariadb_replica_too() {
        let snap = MysqlSnapshot::from_rows(
            &tsv(SAMPLE_STATUS),
            &tsv(SAMPLE_VARIABLES),
            Some(&tsv(SAMPLE_REPLICA)),
        );
        assert_eq!(
            snap.replicas,
            [ReplicaStatus {
                channel: String::new(),
                seconds_behind_source: Some(7),
                sql_delay: Some(0),
            }]
        );
        let req = collect(&snap);
        assert_eq!(
            shape(&req, "mysql.replica.time_behind_source"),
            ("s".into(), true, false)
        );
        assert_eq!(value(&req, "mysql.replica.time_behind_source", &[]), 7.0);
        assert_eq!(value(&req, "mysql.replica.sql_delay", &[]), 0.0);

        // MariaDB multi-source, one channel stopped (NULL): the worst running channel counts
        let maria = "Connection_name\tSlave_SQL_Running\tSeconds_Behind_Master\tSQL_Delay
\tYes\t3\t0
eu\tNo\tNULL\t3600
us\tYes\t12\t0
";
        let rows = tsv(maria);
        let replicas = ReplicaStatus::from_rows(&rows);
        assert_eq!(replicas.len(), 3);
        assert_eq!(replicas[1].channel, "eu");
        assert_eq!(replicas[1].seconds_behind_source, None);
        let snap = MysqlSnapshot::from_rows(&tsv(SAMPLE_STATUS), &Rows::default(), Some(&rows));
        let req = collect(&snap);
        assert_eq!(points(&req, "mysql.replica.time_behind_source").len(), 1);
        assert_eq!(value(&req, "mysql.replica.time_behind_source", &[]), 12.0);
        assert_eq!(value(&req, "mysql.replica.sql_delay", &[]), 3600.0);
        assert!(metric(&req, "mysql.buffer_pool.limit").is_none());
    }

    #[test]
    fn odd_values_are_skipped_clamped_or_kept() {
        let text = "Variable_name\tValue
Uptime\t-5
Queries\t99999999999999999999999
Com_select\t-1
Com_insert\tabc
Threads_connected\t-2
Innodb_buffer_pool_pages_misc\t18446744073709551615
Innodb_buffer_pool_pages_free\t1.5e3
Innodb_buffer_pool_pages_dirty\t50
Innodb_buffer_pool_pages_data\t10
Innodb_buffer_pool_bytes_data\t100
Slow_queries\tNULL
Mysqlx_worker_threads\t2
";
        let snap = MysqlSnapshot::from_rows(&tsv(text), &Rows::default(), None);
        assert_eq!(snap.start_nanos(NOW), None);
        let req = collect(&snap);
        assert!(metric(&req, "mysql.uptime").is_none());
        assert!(metric(&req, "mysql.commands").is_none());
        assert!(metric(&req, "mysql.query.slow.count").is_none());
        assert_eq!(value(&req, "mysql.query.count", &[]), i64::MAX as f64);
        assert_eq!(value(&req, "mysql.threads", &[("kind", "connected")]), -2.0);
        // misc overflowed: skipped; free is not an integer: skipped; data stays
        assert_eq!(points(&req, "mysql.buffer_pool.pages").len(), 1);
        assert_eq!(
            value(&req, "mysql.buffer_pool.pages", &[("kind", "data")]),
            10.0
        );
        // dirty > data: clean is 0, not negative
        assert_eq!(
            value(&req, "mysql.buffer_pool.data_pages", &[("status", "clean")]),
            0.0
        );
        // bytes without dirty bytes: nothing
        assert!(metric(&req, "mysql.buffer_pool.usage").is_none());
        assert_eq!(
            value(
                &req,
                "mysql.mysqlx_worker_threads",
                &[("kind", "available")]
            ),
            2.0
        );
        for p in points(&req, "mysql.query.count") {
            assert_eq!(p.start_time_unix_nano, 0, "unknown start");
        }
    }

    #[test]
    fn server_errors_are_classified() {
        let e = MysqlError::from_server(
            1045,
            "Access denied for user 'x'@'127.0.0.1' (using password: YES)",
            "connecting",
            "",
            Flavor::Mysql,
        );
        assert_eq!(e.kind(), "auth");
        assert!(e.hint().is_some());
        let e = MysqlError::from_server(
            1227,
            "Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s)",
            "SHOW REPLICA STATUS",
            "lookout@127.0.0.1",
            Flavor::Mariadb,
        );
        assert_eq!(e.kind(), "privilege");
        assert!(e.is_privilege());
        assert!(e.to_string().contains("SHOW REPLICA STATUS"), "{e}");
        assert_eq!(
            e.hint().unwrap(),
            "GRANT SLAVE MONITOR ON *.* TO 'lookout'@'127.0.0.1';"
        );
        for code in [1044, 1142, 1143, 1370] {
            let e = MysqlError::from_server(code, "denied", "SELECT 1", "", Flavor::Mysql);
            assert_eq!(e.kind(), "privilege", "{code}");
        }
        let e = MysqlError::from_server(1064, "syntax", "SHOW REPLICA STATUS", "", Flavor::Mysql);
        assert_eq!(e.kind(), "server");
        assert!(e.to_string().contains("(error 1064)"));
    }

    #[test]
    fn grant_statements_quote_the_account() {
        assert_eq!(
            grant_statement("lookout", Flavor::Mysql),
            "GRANT REPLICATION CLIENT ON *.* TO 'lookout'@'%';"
        );
        assert_eq!(
            grant_statement("o'brien@db@10.0.0.%", Flavor::Mariadb),
            "GRANT SLAVE MONITOR ON *.* TO 'o\\'brien@db'@'10.0.0.%';"
        );
        assert!(grant_hint("u").contains("GRANT SLAVE MONITOR ON *.* TO 'u'@'%';"));
        let info = MysqlInfo {
            version: "10.11.6-MariaDB".into(),
            version_comment: String::new(),
            flavor: Flavor::from_version("10.11.6-MariaDB"),
            account: "mon@localhost".into(),
            max_connections: None,
            replication: Replication::NotReplica,
        };
        assert_eq!(info.flavor, Flavor::Mariadb);
        assert_eq!(
            info.grant_hint(),
            "GRANT SLAVE MONITOR ON *.* TO 'mon'@'localhost';"
        );
        let res = mysql_resource("db:3306", Some(&info));
        assert_eq!(
            attr::get_str(&res, "mysql.instance.endpoint"),
            Some("db:3306")
        );
        assert_eq!(
            attr::get_str(&res, "db.system.version"),
            Some("10.11.6-MariaDB")
        );
        assert_eq!(mysql_resource("db:3306", None).len(), 1);
    }

    #[test]
    fn errors_never_show_the_password() {
        let e = MysqlError::Connect("bad thing hunter22 happened".into());
        let e = scrub(e, Some("hunter22"));
        assert!(!e.to_string().contains("hunter22"), "{e}");
        let cfg = MysqlConfigLite {
            endpoint: "h".into(),
            username: "u".into(),
            password: Some("hunter22".into()),
            timeout: Duration::from_secs(1),
            table_sizes: 0,
        };
        assert!(!format!("{cfg:?}").contains("hunter22"));
    }

    #[tokio::test]
    async fn a_bad_endpoint_or_a_closed_port_is_a_connect_error() {
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let mut stable = StableStart::new();
        let mut cfg = MysqlConfigLite {
            endpoint: "user:pw@h".into(),
            username: "u".into(),
            password: None,
            timeout: Duration::from_secs(5),
            table_sizes: 0,
        };
        let e = collect_mysql(&cfg, &mut b, NOW, &mut stable)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect");
        // port 1 on loopback: refused at once
        cfg.endpoint = "127.0.0.1:1".into();
        let e = collect_mysql(&cfg, &mut b, NOW, &mut stable)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect", "{e}");
        cfg.endpoint = "/nonexistent/mysqld.sock".into();
        let e = collect_mysql(&cfg, &mut b, NOW, &mut stable)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect", "{e}");
        assert!(b.is_empty());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        // accepts the connection, never sends the handshake
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(sock);
        });
        let cfg = MysqlConfigLite {
            endpoint: addr.to_string(),
            username: "u".into(),
            password: None,
            timeout: Duration::from_millis(300),
            table_sizes: 0,
        };
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let e = collect_mysql(&cfg, &mut b, NOW, &mut StableStart::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "timeout");
        assert!(e.to_string().contains("connecting"), "{e}");
        hold.abort();
    }
}
