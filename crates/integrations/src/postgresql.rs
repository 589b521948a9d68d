//! PostgreSQL: the statistics views (`pg_stat_database`, `pg_stat_bgwriter` /
//! `pg_stat_checkpointer`, `pg_stat_replication`, and per database `pg_stat_user_tables`,
//! `pg_statio_user_tables`, `pg_stat_user_indexes`, `pg_locks`) read into a [`PgSnapshot`],
//! turned into metrics by [`postgresql_metrics`] (names, units and attributes of the Collector
//! contrib `postgresql` receiver, see the [crate] documentation), and [`collect_postgresql`],
//! which reads them with `tokio-postgres` over TCP or a Unix socket (no TLS).
//!
//! Every query asks for text (the simple query protocol), so the pure part reads [`Rows`] by
//! column name and the tests and the fuzzer feed it `psql -A` output.
//!
//! The contrib receiver puts each database, table and index in a resource of its own; here, as
//! under its `receiver.postgresql.useOTelSemconv` gate, one server is one resource and the
//! object is named by point attributes: `db.namespace` (the database; `database|schema` for
//! tables and indexes), `db.collection.name` (the table) and `postgresql.index.name`.
//!
//! PostgreSQL 10 and later. Any role can collect; without `pg_monitor` ([`grant_hint`]) some values stay hidden (sizes of
//! databases the role may not connect to, replication lag of other roles' senders).

use crate::endpoint::DbEndpoint;
use crate::rows::{Row, Rows};
use crate::{clip, parse_f64, parse_int, StableStart};
use lookout_model::{attr, otlp::KeyValue, MetricsBuilder, Monotonic};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Pure part: rows in, metrics out
// ---------------------------------------------------------------------------------------------

/// What was read in one database (needs a connection to it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgDatabaseStats {
    /// The database.
    pub name: String,
    /// [`TABLES_SQL`]: the busiest user tables, `pg_stat_user_tables` joined with
    /// `pg_statio_user_tables` and the table's size.
    pub tables: Rows,
    /// [`INDEXES_SQL`]: the most scanned user indexes and their size.
    pub indexes: Rows,
    /// [`LOCKS_SQL`]: lock counts by relation, mode and lock type.
    pub locks: Rows,
    /// The number of user tables (all of them, not only those in `tables`).
    pub table_count: Option<i64>,
}

/// What one collection read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgSnapshot {
    /// [`SETTINGS_SQL`]: one row (`version_num`, `version`, `max_connections`, `start_us`,
    /// `database_count`, `in_recovery`).
    pub settings: Rows,
    /// [`DATABASES_SQL`]: one row per non-template database (`pg_stat_database` and the size).
    pub databases: Rows,
    /// The background writer and checkpointer row, under the pre-17 column names of
    /// `pg_stat_bgwriter` ([`BGWRITER_SQL`], [`BGWRITER_17_SQL`]).
    pub bgwriter: Rows,
    /// [`REPLICATION_SQL`]: one row per WAL sender.
    pub replication: Rows,
    /// Per-database statistics, for the databases that were read.
    pub per_database: Vec<PgDatabaseStats>,
}

impl PgSnapshot {
    fn setting(&self) -> Option<Row<'_>> {
        self.settings.iter().next()
    }

    /// `server_version_num` (`150020` for 15.20).
    pub fn version_num(&self) -> Option<i64> {
        self.setting().and_then(|r| r.int("version_num"))
    }

    /// When the server started (`pg_postmaster_start_time()`), the start of its cumulative
    /// statistics.
    pub fn start_nanos(&self) -> Option<u64> {
        let us = self.setting()?.int("start_us")?;
        u64::try_from(us).ok()?.checked_mul(1000)
    }
}

/// One-row server facts.
pub const SETTINGS_SQL: &str = "SELECT current_setting('server_version_num') AS version_num, \
     current_setting('server_version') AS version, \
     current_setting('max_connections') AS max_connections, \
     (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8 AS start_us, \
     (SELECT count(*) FROM pg_database WHERE NOT datistemplate) AS database_count, \
     pg_is_in_recovery() AS in_recovery";

/// Per-database counters; the size only where the role may see it (else NULL rather than an
/// error).
pub const DATABASES_SQL: &str = "SELECT d.datname, d.datallowconn, s.numbackends, s.xact_commit, \
     s.xact_rollback, s.blks_read, s.blks_hit, s.tup_returned, s.tup_fetched, s.tup_inserted, \
     s.tup_updated, s.tup_deleted, s.temp_files, s.temp_bytes, s.deadlocks, \
     CASE WHEN has_database_privilege(d.oid, 'CONNECT') \
       OR pg_has_role('pg_read_all_stats', 'MEMBER') THEN pg_database_size(d.oid) END AS size \
     FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid \
     WHERE NOT d.datistemplate";

/// Background writer and checkpoints before PostgreSQL 17.
pub const BGWRITER_SQL: &str = "SELECT checkpoints_timed, checkpoints_req, \
     checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint, buffers_clean, \
     maxwritten_clean, buffers_backend, buffers_backend_fsync, buffers_alloc \
     FROM pg_stat_bgwriter";

/// The same from PostgreSQL 17 on, where the checkpoint columns moved to
/// `pg_stat_checkpointer` and the backend writes to `pg_stat_io` (not read: NULL).
pub const BGWRITER_17_SQL: &str = "SELECT c.num_timed AS checkpoints_timed, \
     c.num_requested AS checkpoints_req, c.write_time AS checkpoint_write_time, \
     c.sync_time AS checkpoint_sync_time, c.buffers_written AS buffers_checkpoint, \
     b.buffers_clean, b.maxwritten_clean, NULL::int8 AS buffers_backend, \
     NULL::int8 AS buffers_backend_fsync, b.buffers_alloc \
     FROM pg_stat_checkpointer c, pg_stat_bgwriter b";

/// WAL senders (PostgreSQL 10 and later): bytes not yet replayed and the lags in seconds.
pub const REPLICATION_SQL: &str = "SELECT coalesce(host(client_addr), 'unix') AS client, \
     CASE WHEN pg_is_in_recovery() THEN NULL \
       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8 END AS replay_bytes, \
     extract(epoch FROM write_lag) AS write_lag, extract(epoch FROM flush_lag) AS flush_lag, \
     extract(epoch FROM replay_lag) AS replay_lag \
     FROM pg_stat_replication";

/// The busiest user tables of the current database (`LIMIT` appended).
pub const TABLES_SQL: &str = "SELECT current_database() AS datname, t.schemaname, t.relname, \
     t.n_live_tup, t.n_dead_tup, t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd, \
     t.seq_scan, t.idx_scan, t.vacuum_count, \
     io.heap_blks_read, io.heap_blks_hit, io.idx_blks_read, io.idx_blks_hit, \
     io.toast_blks_read, io.toast_blks_hit, io.tidx_blks_read, io.tidx_blks_hit, \
     pg_relation_size(t.relid) AS size \
     FROM pg_stat_user_tables t JOIN pg_statio_user_tables io ON io.relid = t.relid \
     ORDER BY coalesce(t.n_tup_ins, 0) + coalesce(t.n_tup_upd, 0) + coalesce(t.n_tup_del, 0) \
       + coalesce(t.seq_scan, 0) + coalesce(t.idx_scan, 0) DESC, t.schemaname, t.relname";

/// The number of user tables of the current database.
pub const TABLE_COUNT_SQL: &str = "SELECT count(*) AS table_count FROM pg_stat_user_tables";

/// The most scanned user indexes of the current database (`LIMIT` appended).
pub const INDEXES_SQL: &str = "SELECT current_database() AS datname, schemaname, relname, \
     indexrelname, idx_scan, pg_relation_size(indexrelid) AS size \
     FROM pg_stat_user_indexes \
     ORDER BY idx_scan DESC NULLS LAST, schemaname, relname, indexrelname";

/// Locks on relations of the current database held or awaited by other sessions, counted by
/// relation, mode and lock type (`LIMIT` appended).
pub const LOCKS_SQL: &str = "SELECT l.relation::regclass::text AS relation, l.mode, \
     l.locktype AS lock_type, count(*) AS locks \
     FROM pg_locks l \
     WHERE l.relation IS NOT NULL AND l.pid <> pg_backend_pid() \
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3";

/// How a metric's points are typed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Gauge,
    Counter,
    UpDown,
}

/// Points of one metric: value and attributes.
type Points<'a> = Vec<(i64, Vec<(&'static str, &'a str)>)>;

struct Emit<'b> {
    b: &'b mut MetricsBuilder,
    now: u64,
    start: u64,
}

impl Emit<'_> {
    fn int(&mut self, shape: Shape, name: &str, unit: &str, description: &str, points: Points<'_>) {
        let points: Points<'_> = points
            .into_iter()
            .filter(|(v, _)| shape != Shape::Counter || *v >= 0)
            .collect();
        if points.is_empty() {
            return;
        }
        let (now, start) = (self.now, self.start);
        let mut m = match shape {
            Shape::Gauge => self.b.gauge(name, unit, description),
            Shape::Counter => self.b.sum(name, unit, description, Monotonic::Yes),
            Shape::UpDown => self.b.sum(name, unit, description, Monotonic::No),
        };
        for (v, attrs) in &points {
            if shape == Shape::Gauge {
                m.gauge_i64(now, *v, attrs);
            } else {
                m.point_i64(start, now, *v, attrs);
            }
        }
    }
}

/// `(value of column, attribute value)` for each pair whose column is a number.
fn columns<'a>(
    row: &Row<'_>,
    key: &'static str,
    pairs: &[(&str, &'a str)],
    extra: &[(&'static str, &'a str)],
) -> Points<'a> {
    pairs
        .iter()
        .filter_map(|(column, value)| {
            let v = row.int(column)?;
            let mut attrs = extra.to_vec();
            attrs.push((key, value));
            Some((v, attrs))
        })
        .collect()
}

/// Adds the metrics of one snapshot to `b`: sums start at `start_nanos` (the server's start,
/// [`PgSnapshot::start_nanos`]; 0 when unknown). Tables, indexes and lock series are each bounded
/// to `max_tables` over all databases: the busiest tables (inserts + updates + deletes + scans),
/// the most scanned indexes, the largest lock counts. Counters never carry a negative value.
pub fn postgresql_metrics(
    snap: &PgSnapshot,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    start_nanos: u64,
    max_tables: usize,
) {
    let mut e = Emit {
        b,
        now: now_nanos,
        start: start_nanos,
    };
    server_metrics(snap, &mut e);
    database_metrics(snap, &mut e);
    table_metrics(snap, &mut e, max_tables);
    index_metrics(snap, &mut e, max_tables);
    lock_metrics(snap, &mut e, max_tables);
}

fn server_metrics(snap: &PgSnapshot, e: &mut Emit<'_>) {
    if let Some(s) = snap.setting() {
        let one = |column: &str| s.int(column).map(|v| vec![(v, vec![])]).unwrap_or_default();
        e.int(
            Shape::Gauge,
            "postgresql.connection.max",
            "{connections}",
            "The max_connections setting.",
            one("max_connections"),
        );
        e.int(
            Shape::UpDown,
            "postgresql.database.count",
            "{databases}",
            "Databases on the server, templates not counted.",
            one("database_count"),
        );
    }

    if let Some(r) = snap.bgwriter.iter().next() {
        let one = |column: &str| r.int(column).map(|v| vec![(v, vec![])]).unwrap_or_default();
        e.int(
            Shape::Counter,
            "postgresql.bgwriter.buffers.allocated",
            "{buffers}",
            "Shared buffers allocated.",
            one("buffers_alloc"),
        );
        e.int(
            Shape::Counter,
            "postgresql.bgwriter.buffers.writes",
            "{buffers}",
            "Shared buffers written, by writer.",
            columns(
                &r,
                "source",
                &[
                    ("buffers_backend", "backend"),
                    ("buffers_backend_fsync", "backend_fsync"),
                    ("buffers_checkpoint", "checkpoints"),
                    ("buffers_clean", "bgwriter"),
                ],
                &[],
            ),
        );
        e.int(
            Shape::Counter,
            "postgresql.bgwriter.checkpoint.count",
            "{checkpoints}",
            "Checkpoints performed, requested or on schedule.",
            columns(
                &r,
                "type",
                &[
                    ("checkpoints_req", "requested"),
                    ("checkpoints_timed", "scheduled"),
                ],
                &[],
            ),
        );
        let durations: Vec<(f64, &str)> = [
            ("checkpoint_sync_time", "sync"),
            ("checkpoint_write_time", "write"),
        ]
        .iter()
        .filter_map(|(column, t)| r.float(column).filter(|v| *v >= 0.0).map(|v| (v, *t)))
        .collect();
        if !durations.is_empty() {
            let mut m = e.b.sum(
                "postgresql.bgwriter.duration",
                "ms",
                "Time checkpoints spent writing and syncing files.",
                Monotonic::Yes,
            );
            for (v, t) in durations {
                m.point_f64(e.start, e.now, v, &[("type", t)]);
            }
        }
        e.int(
            Shape::Counter,
            "postgresql.bgwriter.maxwritten",
            "1",
            "Cleaning scans the background writer stopped for writing too many buffers.",
            one("maxwritten_clean"),
        );
    }

    // one series per client address: the worst sender from that address
    let mut delay: Vec<(&str, i64)> = Vec::new();
    let mut lag: Vec<(&str, &'static str, i64)> = Vec::new();
    for r in snap.replication.iter() {
        let client = r.text("client").unwrap_or("unknown");
        if let Some(v) = r.int("replay_bytes") {
            max_into(&mut delay, client, v);
        }
        for (column, op) in [
            ("write_lag", "write"),
            ("flush_lag", "flush"),
            ("replay_lag", "replay"),
        ] {
            if let Some(v) = r.int(column) {
                match lag.iter_mut().find(|(c, o, _)| *c == client && *o == op) {
                    Some(entry) => entry.2 = entry.2.max(v),
                    None => lag.push((client, op, v)),
                }
            }
        }
    }
    e.int(
        Shape::Gauge,
        "postgresql.replication.data_delay",
        "By",
        "WAL bytes a standby has not replayed yet.",
        delay
            .into_iter()
            .map(|(c, v)| (v, vec![("replication_client", c)]))
            .collect(),
    );
    e.int(
        Shape::Gauge,
        "postgresql.wal.lag",
        "s",
        "Time between flushing WAL locally and a standby writing, flushing or replaying it.",
        lag.into_iter()
            .map(|(c, op, v)| (v, vec![("operation", op), ("replication_client", c)]))
            .collect(),
    );
}

fn max_into<'a>(list: &mut Vec<(&'a str, i64)>, key: &'a str, v: i64) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = entry.1.max(v),
        None => list.push((key, v)),
    }
}

fn database_metrics(snap: &PgSnapshot, e: &mut Emit<'_>) {
    let rows: Vec<(Row<'_>, &str)> = snap
        .databases
        .iter()
        .filter_map(|r| r.text("datname").map(|d| (r, d)))
        .collect();
    // (shape, name, unit, description, column)
    let per_db: [(Shape, &str, &str, &str, &str); 15] = [
        (
            Shape::UpDown,
            "postgresql.backends",
            "1",
            "Backends connected to the database.",
            "numbackends",
        ),
        (
            Shape::Counter,
            "postgresql.commits",
            "1",
            "Transactions committed in the database.",
            "xact_commit",
        ),
        (
            Shape::Counter,
            "postgresql.rollbacks",
            "1",
            "Transactions rolled back in the database.",
            "xact_rollback",
        ),
        (
            Shape::UpDown,
            "postgresql.db_size",
            "By",
            "Disk space used by the database.",
            "size",
        ),
        (
            Shape::Counter,
            "postgresql.deadlocks",
            "{deadlock}",
            "Deadlocks detected in the database.",
            "deadlocks",
        ),
        (
            Shape::Counter,
            "postgresql.temp_files",
            "{temp_file}",
            "Temporary files created by queries in the database.",
            "temp_files",
        ),
        (
            Shape::Counter,
            "postgresql.temp.io",
            "By",
            "Bytes written to temporary files by queries in the database.",
            "temp_bytes",
        ),
        (
            Shape::Counter,
            "postgresql.blks_read",
            "{blks_read}",
            "Disk blocks read in the database.",
            "blks_read",
        ),
        (
            Shape::Counter,
            "postgresql.blks_hit",
            "{blks_hit}",
            "Disk blocks found in the buffer cache.",
            "blks_hit",
        ),
        (
            Shape::Counter,
            "postgresql.tup_returned",
            "{tup_returned}",
            "Rows returned by queries in the database.",
            "tup_returned",
        ),
        (
            Shape::Counter,
            "postgresql.tup_fetched",
            "{tup_fetched}",
            "Rows fetched by queries in the database.",
            "tup_fetched",
        ),
        (
            Shape::Counter,
            "postgresql.tup_inserted",
            "{tup_inserted}",
            "Rows inserted by queries in the database.",
            "tup_inserted",
        ),
        (
            Shape::Counter,
            "postgresql.tup_updated",
            "{tup_updated}",
            "Rows updated by queries in the database.",
            "tup_updated",
        ),
        (
            Shape::Counter,
            "postgresql.tup_deleted",
            "{tup_deleted}",
            "Rows deleted by queries in the database.",
            "tup_deleted",
        ),
        (
            Shape::UpDown,
            "postgresql.table.count",
            "{table}",
            "User tables in the database.",
            "",
        ),
    ];
    for (shape, name, unit, description, column) in per_db {
        let points: Points<'_> = if column.is_empty() {
            snap.per_database
                .iter()
                .filter_map(|d| {
                    d.table_count
                        .map(|v| (v, vec![("db.namespace", d.name.as_str())]))
                })
                .collect()
        } else {
            rows.iter()
                .filter_map(|(r, db)| r.int(column).map(|v| (v, vec![("db.namespace", *db)])))
                .collect()
        };
        e.int(shape, name, unit, description, points);
    }
}

/// `database|schema`, the `db.namespace` of a table or an index.
fn namespace(r: &Row<'_>) -> Option<String> {
    Some(format!("{}|{}", r.text("datname")?, r.text("schemaname")?))
}

/// The rows of `pick` over all databases, the `max` largest by `key` (ties by database, schema,
/// name), each with its `db.namespace`.
fn busiest<'a>(
    snap: &'a PgSnapshot,
    pick: fn(&'a PgDatabaseStats) -> &'a Rows,
    key: fn(&Row<'_>) -> i64,
    name_column: &str,
    max: usize,
) -> Vec<(Row<'a>, String)> {
    let mut all: Vec<(i64, Row<'a>, String)> = snap
        .per_database
        .iter()
        .flat_map(|d| pick(d).iter())
        .filter_map(|r| {
            r.text(name_column)?;
            Some((key(&r), r, namespace(&r)?))
        })
        .collect();
    all.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.1.text(name_column).cmp(&b.1.text(name_column)))
    });
    all.truncate(max);
    all.into_iter().map(|(_, r, ns)| (r, ns)).collect()
}

fn table_activity(r: &Row<'_>) -> i64 {
    [
        "n_tup_ins",
        "n_tup_upd",
        "n_tup_del",
        "seq_scan",
        "idx_scan",
    ]
    .iter()
    .filter_map(|c| r.int(c).filter(|v| *v > 0))
    .fold(0i64, i64::saturating_add)
}

fn table_metrics(snap: &PgSnapshot, e: &mut Emit<'_>, max: usize) {
    let tables = busiest(snap, |d| &d.tables, table_activity, "relname", max);
    let ids: Vec<(Row<'_>, [(&'static str, &str); 2])> = tables
        .iter()
        .filter_map(|(r, ns)| {
            Some((
                *r,
                [
                    ("db.namespace", ns.as_str()),
                    ("db.collection.name", r.text("relname")?),
                ],
            ))
        })
        .collect();
    let many = |key: &'static str, pairs: &[(&str, &'static str)]| -> Points<'_> {
        ids.iter()
            .flat_map(|(r, id)| columns(r, key, pairs, id))
            .collect()
    };
    let single = |column: &str| -> Points<'_> {
        ids.iter()
            .filter_map(|(r, id)| r.int(column).map(|v| (v, id.to_vec())))
            .collect()
    };
    e.int(
        Shape::UpDown,
        "postgresql.rows",
        "1",
        "Live and dead rows in the table (estimates).",
        many("state", &[("n_live_tup", "live"), ("n_dead_tup", "dead")]),
    );
    e.int(
        Shape::Counter,
        "postgresql.operations",
        "1",
        "Row operations on the table (hot_upd: updates that needed no index change).",
        many(
            "operation",
            &[
                ("n_tup_ins", "ins"),
                ("n_tup_upd", "upd"),
                ("n_tup_del", "del"),
                ("n_tup_hot_upd", "hot_upd"),
            ],
        ),
    );
    e.int(
        Shape::Counter,
        "postgresql.blocks_read",
        "1",
        "Blocks of the table, its indexes and its TOAST data read from disk or found in cache.",
        many(
            "source",
            &[
                ("heap_blks_read", "heap_read"),
                ("heap_blks_hit", "heap_hit"),
                ("idx_blks_read", "idx_read"),
                ("idx_blks_hit", "idx_hit"),
                ("toast_blks_read", "toast_read"),
                ("toast_blks_hit", "toast_hit"),
                ("tidx_blks_read", "tidx_read"),
                ("tidx_blks_hit", "tidx_hit"),
            ],
        ),
    );
    e.int(
        Shape::UpDown,
        "postgresql.table.size",
        "By",
        "Disk space used by the table's main data.",
        single("size"),
    );
    e.int(
        Shape::Counter,
        "postgresql.table.vacuum.count",
        "{vacuum}",
        "Manual vacuums of the table.",
        single("vacuum_count"),
    );
    e.int(
        Shape::Counter,
        "postgresql.sequential_scans",
        "{sequential_scan}",
        "Sequential scans of the table.",
        single("seq_scan"),
    );
}

fn index_metrics(snap: &PgSnapshot, e: &mut Emit<'_>, max: usize) {
    let indexes = busiest(
        snap,
        |d| &d.indexes,
        |r| r.int("idx_scan").unwrap_or(-1),
        "indexrelname",
        max,
    );
    let ids: Vec<(Row<'_>, [(&'static str, &str); 3])> = indexes
        .iter()
        .filter_map(|(r, ns)| {
            Some((
                *r,
                [
                    ("db.namespace", ns.as_str()),
                    ("db.collection.name", r.text("relname")?),
                    ("postgresql.index.name", r.text("indexrelname")?),
                ],
            ))
        })
        .collect();
    let single = |column: &str| -> Points<'_> {
        ids.iter()
            .filter_map(|(r, id)| r.int(column).map(|v| (v, id.to_vec())))
            .collect()
    };
    e.int(
        Shape::Counter,
        "postgresql.index.scans",
        "{scans}",
        "Scans of the index.",
        single("idx_scan"),
    );
    e.int(
        Shape::Gauge,
        "postgresql.index.size",
        "By",
        "Disk space used by the index.",
        single("size"),
    );
}

fn lock_metrics(snap: &PgSnapshot, e: &mut Emit<'_>, max: usize) {
    let mut all: Vec<(i64, [(&'static str, &str); 4])> = snap
        .per_database
        .iter()
        .flat_map(|d| d.locks.iter().map(move |r| (d.name.as_str(), r)))
        .filter_map(|(db, r)| {
            Some((
                r.int("locks")?,
                [
                    ("relation", r.text("relation")?),
                    ("mode", r.text("mode")?),
                    ("lock_type", r.text("lock_type")?),
                    ("db.namespace", db),
                ],
            ))
        })
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    all.truncate(max);
    e.int(
        Shape::Gauge,
        "postgresql.database.locks",
        "{lock}",
        "Locks held or awaited on relations, by relation, mode and lock type.",
        all.into_iter().map(|(v, id)| (v, id.to_vec())).collect(),
    );
}

// ---------------------------------------------------------------------------------------------
// What the server is, and what went wrong
// ---------------------------------------------------------------------------------------------

/// What a collection learned about the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgInfo {
    /// `server_version` (`15.20 (Debian 15.20-0+deb12u1)`).
    pub version: String,
    /// `server_version_num` (`150020`).
    pub version_num: i64,
    /// True on a standby.
    pub in_recovery: bool,
    /// The databases whose tables, indexes and locks were read.
    pub databases: Vec<String>,
    /// What was skipped and why (a database that could not be read, a time budget ran out).
    pub notes: Vec<String>,
}

/// Resource attributes a collection tells: `db.system.version` (the server version).
pub fn postgresql_resource(info: Option<&PgInfo>) -> Vec<KeyValue> {
    info.map(|i| i.version.as_str())
        .filter(|v| !v.is_empty())
        .map(|v| vec![attr::str("db.system.version", v)])
        .unwrap_or_default()
}

/// The statement an operator runs so that role `user` sees every statistic:
/// `GRANT pg_monitor TO user;` (the name quoted when it needs to be).
///
/// ```
/// use lookout_integrations::postgresql::grant_hint;
/// assert_eq!(grant_hint("lookout"), "GRANT pg_monitor TO lookout;");
/// assert_eq!(grant_hint("Mon-1"), "GRANT pg_monitor TO \"Mon-1\";");
/// ```
pub fn grant_hint(user: &str) -> String {
    format!("GRANT pg_monitor TO {};", quote_ident(user))
}

fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().enumerate().all(|(i, c)| {
            c.is_ascii_lowercase() || c == '_' || (i > 0 && (c.is_ascii_digit() || c == '$'))
        });
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// A string literal for SQL built here (database names in a filter).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Why a PostgreSQL collection failed. The message never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgError {
    /// Bad endpoint, could not connect, or the connection broke.
    Connect(String),
    /// The collection did not finish within the timeout (what it was doing).
    Timeout(String),
    /// The server refused the login (SQLSTATE 28P01 wrong password, 28000 no such role or
    /// refused by `pg_hba.conf`).
    Auth(String),
    /// The role lacks a privilege for a statement the collection needs (SQLSTATE 42501).
    Privilege {
        /// The statement that was refused.
        statement: String,
        /// The server's message.
        message: String,
        /// The statement that grants what is missing.
        hint: String,
    },
    /// Any other error answered by the server (a listed database that does not exist: 3D000).
    Server(String),
}

impl PgError {
    /// A stable short name for labels and logs: `connect`, `timeout`, `auth`, `privilege` or
    /// `server`.
    pub fn kind(&self) -> &'static str {
        match self {
            PgError::Connect(_) => "connect",
            PgError::Timeout(_) => "timeout",
            PgError::Auth(_) => "auth",
            PgError::Privilege { .. } => "privilege",
            PgError::Server(_) => "server",
        }
    }

    /// What the operator can do about it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            PgError::Privilege { hint, .. } => Some(hint.clone()),
            PgError::Auth(_) => Some(
                "check the username and password, and that pg_hba.conf lets this role in".into(),
            ),
            _ => None,
        }
    }

    /// The error for SQLSTATE `code` with `message`, answered to `statement` by role `user`.
    fn from_sqlstate(code: &str, message: &str, statement: &str, user: &str) -> Self {
        let message = format!("{} (SQLSTATE {code})", clip(message, 300));
        match code {
            "28P01" | "28000" => PgError::Auth(message),
            "42501" => PgError::Privilege {
                statement: clip(statement, 120),
                message,
                hint: grant_hint(user),
            },
            _ => PgError::Server(format!("{}: {message}", clip(statement, 120))),
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgError::Connect(m) => write!(f, "cannot connect to PostgreSQL: {m}"),
            PgError::Timeout(m) => write!(f, "PostgreSQL timeout: {m}"),
            PgError::Auth(m) => write!(f, "PostgreSQL refused the login: {m}"),
            PgError::Privilege {
                statement, message, ..
            } => write!(f, "PostgreSQL refused {statement}: {message}"),
            PgError::Server(m) => write!(f, "PostgreSQL error: {m}"),
        }
    }
}

impl std::error::Error for PgError {}

// ---------------------------------------------------------------------------------------------
// Client part
// ---------------------------------------------------------------------------------------------

/// How to reach one PostgreSQL server.
#[derive(Clone)]
pub struct PgConfigLite {
    /// `host:port` (port 5432 by default, `[v6]:port` for IPv6), or a Unix socket: its directory
    /// (`/var/run/postgresql`, port 5432) or the socket file itself
    /// (`/var/run/postgresql/.s.PGSQL.5433`); `unix://` may prefix either.
    pub endpoint: String,
    /// The role to log in as.
    pub username: String,
    /// Its password; `None` or empty for none (trust, peer).
    pub password: Option<String>,
    /// The databases to read; empty: every non-template database that accepts connections.
    /// The first one (else `postgres`) is the one connected to for the server-wide views.
    pub databases: Vec<String>,
    /// The whole collection (connecting included) must finish within this.
    pub timeout: Duration,
    /// Bound on the table series, the index series and the lock series (each, over all
    /// databases).
    pub max_tables: usize,
}

impl PgConfigLite {
    /// [`PgConfigLite::max_tables`] unless told otherwise.
    pub const DEFAULT_MAX_TABLES: usize = 50;
    /// At most this many databases are read per collection (one connection each, in turn).
    pub const MAX_DATABASES: usize = 32;

    /// A config for `endpoint` and `username`: no password, every database, a 10 s timeout,
    /// [`PgConfigLite::DEFAULT_MAX_TABLES`].
    pub fn new(endpoint: impl Into<String>, username: impl Into<String>) -> Self {
        PgConfigLite {
            endpoint: endpoint.into(),
            username: username.into(),
            password: None,
            databases: Vec::new(),
            timeout: Duration::from_secs(10),
            max_tables: Self::DEFAULT_MAX_TABLES,
        }
    }
}

impl fmt::Debug for PgConfigLite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfigLite")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("databases", &self.databases)
            .field("timeout", &self.timeout)
            .field("max_tables", &self.max_tables)
            .finish()
    }
}

/// One collection: connects to the first listed database (else `postgres`) for the
/// server-wide views, then to each database to read (in turn, at most
/// [`PgConfigLite::MAX_DATABASES`]) for its tables, indexes and locks; adds the metrics to `b`
/// (sums start at the server's start, kept by `stable`) and returns what it learned. Nothing is
/// added when it fails. A database that cannot be read is skipped and noted in
/// [`PgInfo::notes`]; the per-database part stops (noted) when less than a fifth of the timeout
/// is left, and the whole is bounded by `cfg.timeout`.
pub async fn collect_postgresql(
    cfg: &PgConfigLite,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    stable: &mut StableStart,
) -> Result<PgInfo, PgError> {
    let phase = Mutex::new(String::from("connecting"));
    let fetched = tokio::time::timeout(cfg.timeout, fetch(cfg, &phase)).await;
    let (snap, info) = match fetched {
        Ok(r) => r.map_err(|e| scrub(e, cfg.password.as_deref()))?,
        Err(_) => {
            let at = phase
                .lock()
                .map(|p| p.clone())
                .unwrap_or_else(|_| "collecting".into());
            return Err(PgError::Timeout(format!(
                "{at} at {} did not finish within {:?}",
                clip(&cfg.endpoint, 120),
                cfg.timeout
            )));
        }
    };
    let start = stable.resolve(snap.start_nanos()).unwrap_or(0);
    postgresql_metrics(&snap, b, now_nanos, start, cfg.max_tables);
    Ok(info)
}

fn set_phase(phase: &Mutex<String>, what: String) {
    if let Ok(mut p) = phase.lock() {
        *p = what;
    }
}

/// The tokio-postgres config for database `dbname`.
fn pg_config(cfg: &PgConfigLite, endpoint: &DbEndpoint, dbname: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.user(cfg.username.as_str())
        .dbname(dbname)
        .application_name("lookout")
        .connect_timeout(cfg.timeout);
    if let Some(p) = cfg.password.as_deref().filter(|p| !p.is_empty()) {
        c.password(p);
    }
    match endpoint {
        DbEndpoint::Tcp { host, port } => {
            c.host(host.as_str()).port(*port);
        }
        DbEndpoint::Unix(path) => {
            // the socket file itself, or the directory that holds it
            let port = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(".s.PGSQL."))
                .and_then(|p| p.parse::<u16>().ok());
            match (port, path.parent()) {
                (Some(port), Some(dir)) => {
                    c.host_path(dir).port(port);
                }
                _ => {
                    c.host_path(path).port(5432);
                }
            }
        }
    }
    c
}

/// Connects and drives the connection in a task of its own (ended when the client is dropped,
/// or at the latest after `limit`).
async fn connect(
    cfg: &PgConfigLite,
    endpoint: &DbEndpoint,
    dbname: &str,
) -> Result<tokio_postgres::Client, PgError> {
    let (client, connection) = pg_config(cfg, endpoint, dbname)
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| convert(&e, "connecting", &cfg.username, true))?;
    let limit = cfg.timeout;
    tokio::spawn(async move {
        let _ = tokio::time::timeout(limit, connection).await;
    });
    Ok(client)
}

async fn fetch(cfg: &PgConfigLite, phase: &Mutex<String>) -> Result<(PgSnapshot, PgInfo), PgError> {
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    let endpoint =
        DbEndpoint::parse(&cfg.endpoint, 5432, "PostgreSQL").map_err(PgError::Connect)?;
    let main_db = cfg
        .databases
        .first()
        .map(String::as_str)
        .unwrap_or("postgres");
    set_phase(phase, format!("connecting to database {main_db:?}"));
    let client = connect(cfg, &endpoint, main_db).await?;
    let user = cfg.username.as_str();

    let mut snap = PgSnapshot::default();
    set_phase(phase, "reading the settings".into());
    snap.settings = query(&client, SETTINGS_SQL, user).await?;
    let version_num = snap.version_num().unwrap_or(0);
    let mut info = PgInfo {
        version: snap
            .setting()
            .and_then(|r| r.text("version"))
            .unwrap_or("")
            .to_string(),
        version_num,
        in_recovery: snap.setting().and_then(|r| r.text("in_recovery")) == Some("t"),
        ..PgInfo::default()
    };

    set_phase(phase, "reading pg_stat_database".into());
    let mut sql = DATABASES_SQL.to_string();
    if !cfg.databases.is_empty() {
        let list: Vec<String> = cfg.databases.iter().map(|d| quote_literal(d)).collect();
        sql.push_str(&format!(" AND d.datname IN ({})", list.join(", ")));
    }
    sql.push_str(" ORDER BY d.datname");
    snap.databases = query(&client, &sql, user).await?;

    set_phase(phase, "reading the background writer".into());
    let bgwriter = if version_num >= 170_000 {
        BGWRITER_17_SQL
    } else {
        BGWRITER_SQL
    };
    snap.bgwriter = query(&client, bgwriter, user).await?;

    if version_num >= 100_000 {
        set_phase(phase, "reading pg_stat_replication".into());
        snap.replication = query(&client, REPLICATION_SQL, user).await?;
    } else {
        info.notes.push(format!(
            "replication not read: server version {version_num} is older than 10"
        ));
    }

    // the databases to read one by one
    let mut targets: Vec<String> = if cfg.databases.is_empty() {
        snap.databases
            .iter()
            .filter(|r| r.text("datallowconn") != Some("f"))
            .filter_map(|r| r.text("datname").map(str::to_string))
            .collect()
    } else {
        cfg.databases.clone()
    };
    // the main database first: it needs no new connection
    if let Some(i) = targets.iter().position(|d| d == main_db) {
        let d = targets.remove(i);
        targets.insert(0, d);
    }
    if targets.len() > PgConfigLite::MAX_DATABASES {
        info.notes.push(format!(
            "{} databases not read: at most {} per collection",
            targets.len() - PgConfigLite::MAX_DATABASES,
            PgConfigLite::MAX_DATABASES
        ));
        targets.truncate(PgConfigLite::MAX_DATABASES);
    }
    let budget_end = deadline.checked_sub(cfg.timeout / 5).unwrap_or(deadline);
    let mut main = Some(client);
    for (i, db) in targets.iter().enumerate() {
        if tokio::time::Instant::now() >= budget_end {
            info.notes.push(format!(
                "{} databases not read: the time budget ran out",
                targets.len() - i
            ));
            break;
        }
        set_phase(phase, format!("reading database {db:?}"));
        let read = async {
            let client = match main.take() {
                Some(c) if db == main_db => c,
                other => {
                    // the main connection is no longer needed once another one is open
                    drop(other);
                    connect(cfg, &endpoint, db).await?
                }
            };
            per_database(&client, db, cfg.max_tables, user).await
        };
        match tokio::time::timeout_at(budget_end, read).await {
            Ok(Ok(stats)) => {
                info.databases.push(db.clone());
                snap.per_database.push(stats);
            }
            Ok(Err(e)) => {
                let e = scrub(e, cfg.password.as_deref());
                tracing::debug!(database = %db, error = %e, "postgresql: database skipped");
                info.notes
                    .push(format!("database {db:?} not read ({}): {e}", e.kind()));
            }
            Err(_) => {
                info.notes.push(format!(
                    "database {db:?} and {} more not read: the time budget ran out",
                    targets.len() - i - 1
                ));
                break;
            }
        }
    }
    Ok((snap, info))
}

async fn per_database(
    client: &tokio_postgres::Client,
    db: &str,
    max_tables: usize,
    user: &str,
) -> Result<PgDatabaseStats, PgError> {
    let limit = format!(" LIMIT {max_tables}");
    let tables = query(client, &format!("{TABLES_SQL}{limit}"), user).await?;
    let table_count = query(client, TABLE_COUNT_SQL, user)
        .await?
        .iter()
        .next()
        .and_then(|r| r.int("table_count"));
    let indexes = query(client, &format!("{INDEXES_SQL}{limit}"), user).await?;
    let locks = query(client, &format!("{LOCKS_SQL}{limit}"), user).await?;
    Ok(PgDatabaseStats {
        name: db.to_string(),
        tables,
        indexes,
        locks,
        table_count,
    })
}

/// Runs one statement with the simple query protocol and returns its rows as text.
async fn query(client: &tokio_postgres::Client, sql: &str, user: &str) -> Result<Rows, PgError> {
    use tokio_postgres::SimpleQueryMessage;
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| convert(&e, sql, user, false))?;
    let mut rows: Option<Rows> = None;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                rows.get_or_insert_with(|| Rows::new(cols.iter().map(|c| c.name())));
            }
            SimpleQueryMessage::Row(r) => {
                rows.get_or_insert_with(|| Rows::new(r.columns().iter().map(|c| c.name())))
                    .push(
                        (0..r.len())
                            .map(|i| r.try_get(i).ok().flatten().map(str::to_string))
                            .collect(),
                    );
            }
            _ => {}
        }
    }
    Ok(rows.unwrap_or_default())
}

fn convert(e: &tokio_postgres::Error, statement: &str, user: &str, connecting: bool) -> PgError {
    if let Some(db) = e.as_db_error() {
        return PgError::from_sqlstate(db.code().code(), db.message(), statement, user);
    }
    // the driver's own errors: the cause chain says what happened
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if connecting || io || e.is_closed() {
        PgError::Connect(text)
    } else {
        PgError::Server(format!("{}: {text}", clip(statement, 120)))
    }
}

/// Removes any occurrence of the password (4 characters or more) from the error's text.
fn scrub(e: PgError, password: Option<&str>) -> PgError {
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
        PgError::Connect(m) => PgError::Connect(s(m)),
        PgError::Timeout(m) => PgError::Timeout(s(m)),
        PgError::Auth(m) => PgError::Auth(s(m)),
        PgError::Privilege {
            statement,
            message,
            hint,
        } => PgError::Privilege {
            statement,
            message: s(message),
            hint,
        },
        PgError::Server(m) => PgError::Server(s(m)),
    }
}

/// Feeds text to the pure part: `psql -A` style rows in every slot of a snapshot, then the
/// metric builder. For [`crate::fuzz_one`].
pub(crate) fn fuzz(text: &str, now_nanos: u64) {
    let rows = Rows::parse_delimited(text, '|', "");
    let db = PgDatabaseStats {
        name: text.chars().take(16).collect(),
        tables: rows.clone(),
        indexes: rows.clone(),
        locks: rows.clone(),
        table_count: parse_int(text),
    };
    let snap = PgSnapshot {
        settings: rows.clone(),
        databases: rows.clone(),
        bgwriter: rows.clone(),
        replication: rows,
        per_database: vec![db.clone(), db],
    };
    let _ = parse_f64(text);
    for max in [0, 1, 50] {
        let mut b = MetricsBuilder::new(vec![], "fuzz", "0");
        let start = StableStart::new().resolve(snap.start_nanos()).unwrap_or(0);
        postgresql_metrics(&snap, &mut b, now_nanos, start, max);
        let _ = b.finish();
    }
    let _ = grant_hint(text);
    let _ = PgError::from_sqlstate(text, text, text, text).to_string();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{metric, points, shape, value};

    fn psql(text: &str) -> Rows {
        Rows::parse_delimited(text, '|', "")
    }

    /// `psql -A` answers of a PostgreSQL 15 primary with one streaming standby.
    pub(crate) const SAMPLE_SETTINGS: &str =
        "version_num|version|max_connections|start_us|database_count|in_recovery
150020|15.20 (Debian 15.20-0+deb12u1)|100|1700000000000000|3|f
(1 row)
";
    const SAMPLE_DATABASES: &str = "datname|datallowconn|numbackends|xact_commit|xact_rollback|blks_read|blks_hit|tup_returned|tup_fetched|tup_inserted|tup_updated|tup_deleted|temp_files|temp_bytes|deadlocks|size
app|t|7|912873|120|22873|9918273|71827361|1827361|88123|40213|5120|3|24576000|1|1048576000
postgres|t|1|1203|0|223|88123|771233|22312|0|0|0|0|0|0|7631663
shop|t|0|5|0|1|10|100|10|0|0|0||||
(3 rows)
";
    const SAMPLE_BGWRITER: &str = "checkpoints_timed|checkpoints_req|checkpoint_write_time|checkpoint_sync_time|buffers_checkpoint|buffers_clean|maxwritten_clean|buffers_backend|buffers_backend_fsync|buffers_alloc
120|4|186001.5|40.25|1854|12|1|595|0|2839
";
    const SAMPLE_REPLICATION: &str = "client|replay_bytes|write_lag|flush_lag|replay_lag
10.0.0.7|8192|0.001512|0.002|1.75
unix|0||||
10.0.0.7|100|0|0|3
";
    const SAMPLE_APP_TABLES: &str = "datname|schemaname|relname|n_live_tup|n_dead_tup|n_tup_ins|n_tup_upd|n_tup_del|n_tup_hot_upd|seq_scan|idx_scan|vacuum_count|heap_blks_read|heap_blks_hit|idx_blks_read|idx_blks_hit|toast_blks_read|toast_blks_hit|tidx_blks_read|tidx_blks_hit|size
app|public|orders|150000|1200|180000|40000|5000|31000|12|900000|2|9000|8800000|1200|4400000|||||21127168
app|billing|invoices|9000|10|9000|200|0|150|3|1000|0|300|40000|20|9000|0|0|0|0|1204224
";
    const SAMPLE_APP_INDEXES: &str = "datname|schemaname|relname|indexrelname|idx_scan|size
app|public|orders|orders_pkey|850000|3391488
app|public|orders|orders_customer_idx|50000|2000000
app|billing|invoices|invoices_pkey|1000|212992
";
    const SAMPLE_APP_LOCKS: &str = "relation|mode|lock_type|locks
orders|RowExclusiveLock|relation|3
billing.invoices|AccessShareLock|relation|1
";
    const SAMPLE_SHOP_TABLES: &str = "datname|schemaname|relname|n_live_tup|n_dead_tup|n_tup_ins|n_tup_upd|n_tup_del|n_tup_hot_upd|seq_scan|idx_scan|vacuum_count|heap_blks_read|heap_blks_hit|idx_blks_read|idx_blks_hit|toast_blks_read|toast_blks_hit|tidx_blks_read|tidx_blks_hit|size
shop|public|carts|3|0|3|0|0|0|1|0|0|1|2|||||||8192
";

    const NOW: u64 = 1_715_680_000_000_000_000;
    const START: u64 = 1_700_000_000_000_000_000;

    fn sample() -> PgSnapshot {
        PgSnapshot {
            settings: psql(SAMPLE_SETTINGS),
            databases: psql(SAMPLE_DATABASES),
            bgwriter: psql(SAMPLE_BGWRITER),
            replication: psql(SAMPLE_REPLICATION),
            per_database: vec![
                PgDatabaseStats {
                    name: "app".into(),
                    tables: psql(SAMPLE_APP_TABLES),
                    indexes: psql(SAMPLE_APP_INDEXES),
                    locks: psql(SAMPLE_APP_LOCKS),
                    table_count: Some(14),
                },
                PgDatabaseStats {
                    name: "shop".into(),
                    tables: psql(SAMPLE_SHOP_TABLES),
                    indexes: Rows::default(),
                    locks: Rows::default(),
                    table_count: Some(1),
                },
            ],
        }
    }

    fn collect(snap: &PgSnapshot, max: usize) -> lookout_model::otlp::ExportMetricsServiceRequest {
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        postgresql_metrics(snap, &mut b, NOW, snap.start_nanos().unwrap_or(0), max);
        b.finish()
    }

    #[test]
    fn server_and_database_metrics() {
        let snap = sample();
        assert_eq!(snap.version_num(), Some(150_020));
        assert_eq!(snap.start_nanos(), Some(START));
        let req = collect(&snap, 50);
        let db = |d| [("db.namespace", d)];

        assert_eq!(
            shape(&req, "postgresql.connection.max"),
            ("{connections}".into(), false, false)
        );
        assert_eq!(value(&req, "postgresql.connection.max", &[]), 100.0);
        assert_eq!(
            shape(&req, "postgresql.database.count"),
            ("{databases}".into(), true, false)
        );
        assert_eq!(value(&req, "postgresql.database.count", &[]), 3.0);

        assert_eq!(
            shape(&req, "postgresql.backends"),
            ("1".into(), true, false)
        );
        assert_eq!(value(&req, "postgresql.backends", &db("app")), 7.0);
        assert_eq!(shape(&req, "postgresql.commits"), ("1".into(), true, true));
        assert_eq!(value(&req, "postgresql.commits", &db("app")), 912_873.0);
        assert_eq!(value(&req, "postgresql.commits", &db("shop")), 5.0);
        assert_eq!(value(&req, "postgresql.rollbacks", &db("app")), 120.0);
        assert_eq!(
            shape(&req, "postgresql.db_size"),
            ("By".into(), true, false)
        );
        assert_eq!(
            value(&req, "postgresql.db_size", &db("app")),
            1_048_576_000.0
        );
        // shop's size was hidden (NULL): no point, the others stay
        assert_eq!(points(&req, "postgresql.db_size").len(), 2);
        assert_eq!(
            shape(&req, "postgresql.deadlocks"),
            ("{deadlock}".into(), true, true)
        );
        assert_eq!(value(&req, "postgresql.deadlocks", &db("app")), 1.0);
        assert_eq!(
            shape(&req, "postgresql.temp_files"),
            ("{temp_file}".into(), true, true)
        );
        assert_eq!(value(&req, "postgresql.temp.io", &db("app")), 24_576_000.0);
        assert_eq!(value(&req, "postgresql.blks_hit", &db("app")), 9_918_273.0);
        assert_eq!(
            shape(&req, "postgresql.tup_inserted"),
            ("{tup_inserted}".into(), true, true)
        );
        assert_eq!(value(&req, "postgresql.tup_inserted", &db("app")), 88_123.0);
        assert_eq!(
            value(&req, "postgresql.tup_returned", &db("postgres")),
            771_233.0
        );
        assert_eq!(
            shape(&req, "postgresql.table.count"),
            ("{table}".into(), true, false)
        );
        assert_eq!(value(&req, "postgresql.table.count", &db("app")), 14.0);

        // bgwriter (PG 15 columns)
        assert_eq!(
            value(&req, "postgresql.bgwriter.buffers.allocated", &[]),
            2839.0
        );
        assert_eq!(
            shape(&req, "postgresql.bgwriter.buffers.writes"),
            ("{buffers}".into(), true, true)
        );
        for (source, v) in [
            ("backend", 595.0),
            ("backend_fsync", 0.0),
            ("checkpoints", 1854.0),
            ("bgwriter", 12.0),
        ] {
            assert_eq!(
                value(
                    &req,
                    "postgresql.bgwriter.buffers.writes",
                    &[("source", source)]
                ),
                v
            );
        }
        assert_eq!(
            value(
                &req,
                "postgresql.bgwriter.checkpoint.count",
                &[("type", "scheduled")]
            ),
            120.0
        );
        assert_eq!(
            value(
                &req,
                "postgresql.bgwriter.checkpoint.count",
                &[("type", "requested")]
            ),
            4.0
        );
        assert_eq!(
            shape(&req, "postgresql.bgwriter.duration"),
            ("ms".into(), true, true)
        );
        assert_eq!(
            value(&req, "postgresql.bgwriter.duration", &[("type", "write")]),
            186_001.5
        );
        assert_eq!(
            value(&req, "postgresql.bgwriter.duration", &[("type", "sync")]),
            40.25
        );
        assert_eq!(value(&req, "postgresql.bgwriter.maxwritten", &[]), 1.0);

        // replication: one series per client, the worst sender
        assert_eq!(
            shape(&req, "postgresql.replication.data_delay"),
            ("By".into(), false, false)
        );
        assert_eq!(
            value(
                &req,
                "postgresql.replication.data_delay",
                &[("replication_client", "10.0.0.7")]
            ),
            8192.0
        );
        assert_eq!(
            value(
                &req,
                "postgresql.replication.data_delay",
                &[("replication_client", "unix")]
            ),
            0.0
        );
        assert_eq!(
            shape(&req, "postgresql.wal.lag"),
            ("s".into(), false, false)
        );
        assert_eq!(
            value(
                &req,
                "postgresql.wal.lag",
                &[("operation", "replay"), ("replication_client", "10.0.0.7")]
            ),
            3.0
        );
        assert_eq!(points(&req, "postgresql.wal.lag").len(), 3);

        for name in [
            "postgresql.commits",
            "postgresql.bgwriter.buffers.allocated",
        ] {
            for p in points(&req, name) {
                assert_eq!(p.start_time_unix_nano, START);
                assert_eq!(p.time_unix_nano, NOW);
            }
        }
    }

    #[test]
    fn table_index_and_lock_metrics() {
        let req = collect(&sample(), 50);
        let orders = [
            ("db.namespace", "app|public"),
            ("db.collection.name", "orders"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut a = orders.to_vec();
            a.push(extra);
            a
        };
        assert_eq!(shape(&req, "postgresql.rows"), ("1".into(), true, false));
        assert_eq!(
            value(&req, "postgresql.rows", &with(("state", "live"))),
            150_000.0
        );
        assert_eq!(
            value(&req, "postgresql.rows", &with(("state", "dead"))),
            1200.0
        );
        assert_eq!(
            shape(&req, "postgresql.operations"),
            ("1".into(), true, true)
        );
        assert_eq!(
            value(&req, "postgresql.operations", &with(("operation", "ins"))),
            180_000.0
        );
        assert_eq!(
            value(
                &req,
                "postgresql.operations",
                &with(("operation", "hot_upd"))
            ),
            31_000.0
        );
        assert_eq!(
            shape(&req, "postgresql.blocks_read"),
            ("1".into(), true, true)
        );
        assert_eq!(
            value(
                &req,
                "postgresql.blocks_read",
                &with(("source", "heap_hit"))
            ),
            8_800_000.0
        );
        // no TOAST table: those sources are NULL, so absent
        let orders_blocks = points(&req, "postgresql.blocks_read")
            .iter()
            .filter(|p| attr::get_str(&p.attributes, "db.collection.name") == Some("orders"))
            .count();
        assert_eq!(orders_blocks, 4);
        assert_eq!(value(&req, "postgresql.table.size", &orders), 21_127_168.0);
        assert_eq!(
            shape(&req, "postgresql.table.vacuum.count"),
            ("{vacuum}".into(), true, true)
        );
        assert_eq!(value(&req, "postgresql.table.vacuum.count", &orders), 2.0);
        assert_eq!(value(&req, "postgresql.sequential_scans", &orders), 12.0);
        assert_eq!(
            value(
                &req,
                "postgresql.table.size",
                &[
                    ("db.namespace", "shop|public"),
                    ("db.collection.name", "carts")
                ]
            ),
            8192.0
        );

        assert_eq!(
            shape(&req, "postgresql.index.scans"),
            ("{scans}".into(), true, true)
        );
        assert_eq!(
            shape(&req, "postgresql.index.size"),
            ("By".into(), false, false)
        );
        let pkey = [
            ("db.namespace", "app|public"),
            ("db.collection.name", "orders"),
            ("postgresql.index.name", "orders_pkey"),
        ];
        assert_eq!(value(&req, "postgresql.index.scans", &pkey), 850_000.0);
        assert_eq!(value(&req, "postgresql.index.size", &pkey), 3_391_488.0);

        assert_eq!(
            shape(&req, "postgresql.database.locks"),
            ("{lock}".into(), false, false)
        );
        assert_eq!(
            value(
                &req,
                "postgresql.database.locks",
                &[
                    ("relation", "orders"),
                    ("mode", "RowExclusiveLock"),
                    ("lock_type", "relation"),
                    ("db.namespace", "app")
                ]
            ),
            3.0
        );
    }

    #[test]
    fn series_are_bounded_by_max_tables() {
        let req = collect(&sample(), 1);
        // the busiest table of all databases: app|public.orders
        let tables: Vec<&str> = points(&req, "postgresql.table.size")
            .iter()
            .filter_map(|p| attr::get_str(&p.attributes, "db.collection.name"))
            .collect();
        assert_eq!(tables, ["orders"]);
        assert_eq!(points(&req, "postgresql.index.scans").len(), 1);
        assert_eq!(
            attr::get_str(
                &points(&req, "postgresql.index.scans")[0].attributes,
                "postgresql.index.name"
            ),
            Some("orders_pkey")
        );
        assert_eq!(points(&req, "postgresql.database.locks").len(), 1);
        let req = collect(&sample(), 0);
        for name in [
            "postgresql.rows",
            "postgresql.index.scans",
            "postgresql.database.locks",
        ] {
            assert!(metric(&req, name).is_none(), "{name}");
        }
        // database-level metrics are not bounded
        assert_eq!(points(&req, "postgresql.commits").len(), 3);
    }

    #[test]
    fn postgresql_17_bgwriter_has_no_backend_writes() {
        let mut snap = sample();
        snap.bgwriter = psql(
            "checkpoints_timed|checkpoints_req|checkpoint_write_time|checkpoint_sync_time|buffers_checkpoint|buffers_clean|maxwritten_clean|buffers_backend|buffers_backend_fsync|buffers_alloc\n\
             7|1|10|2|30|0|0|||99\n",
        );
        let req = collect(&snap, 50);
        assert_eq!(points(&req, "postgresql.bgwriter.buffers.writes").len(), 2);
        assert_eq!(
            value(
                &req,
                "postgresql.bgwriter.buffers.writes",
                &[("source", "checkpoints")]
            ),
            30.0
        );
    }

    #[test]
    fn odd_values_are_skipped() {
        let snap = PgSnapshot {
            settings: psql("version_num|start_us|max_connections\nabc|-5|NaN\n"),
            databases: psql("datname|xact_commit|numbackends\nx|-1|-2\n|5|5\n"),
            bgwriter: psql("buffers_alloc|checkpoint_write_time\n-3|-1.5\n"),
            replication: Rows::default(),
            per_database: Vec::new(),
        };
        assert_eq!(snap.start_nanos(), None);
        let req = collect(&snap, 50);
        assert!(metric(&req, "postgresql.commits").is_none());
        assert!(metric(&req, "postgresql.connection.max").is_none());
        assert!(metric(&req, "postgresql.bgwriter.buffers.allocated").is_none());
        assert!(metric(&req, "postgresql.bgwriter.duration").is_none());
        // up-down values may be negative; the row without a name is skipped
        assert_eq!(points(&req, "postgresql.backends").len(), 1);
        for p in points(&req, "postgresql.backends") {
            assert_eq!(p.start_time_unix_nano, 0);
        }
    }

    #[test]
    fn sqlstates_are_classified_and_hints_quoted() {
        let e =
            PgError::from_sqlstate("28P01", "password authentication failed", "connecting", "u");
        assert_eq!(e.kind(), "auth");
        let e = PgError::from_sqlstate("28000", "role \"x\" does not exist", "connecting", "x");
        assert_eq!(e.kind(), "auth");
        let e = PgError::from_sqlstate("42501", "permission denied", "SELECT 1", "mon");
        assert_eq!(e.kind(), "privilege");
        assert_eq!(e.hint().unwrap(), "GRANT pg_monitor TO mon;");
        assert!(e.to_string().contains("SELECT 1"));
        let e = PgError::from_sqlstate(
            "3D000",
            "database \"nope\" does not exist",
            "connecting",
            "u",
        );
        assert_eq!(e.kind(), "server");
        assert_eq!(grant_hint("a\"b"), "GRANT pg_monitor TO \"a\"\"b\";");
        assert_eq!(grant_hint("_x1$"), "GRANT pg_monitor TO _x1$;");
        assert_eq!(quote_literal("o'k"), "'o''k'");
        let info = PgInfo {
            version: "15.20".into(),
            ..PgInfo::default()
        };
        assert_eq!(
            attr::get_str(&postgresql_resource(Some(&info)), "db.system.version"),
            Some("15.20")
        );
        assert!(postgresql_resource(None).is_empty());
    }

    #[test]
    fn unix_endpoints_name_the_directory_or_the_socket() {
        let cfg = PgConfigLite::new("x", "u");
        let c = pg_config(
            &cfg,
            &DbEndpoint::Unix("/var/run/postgresql/.s.PGSQL.5433".into()),
            "db",
        );
        assert_eq!(c.get_ports(), [5433]);
        assert_eq!(
            c.get_hosts(),
            [tokio_postgres::config::Host::Unix(
                "/var/run/postgresql".into()
            )]
        );
        let c = pg_config(&cfg, &DbEndpoint::Unix("/tmp".into()), "db");
        assert_eq!(c.get_ports(), [5432]);
        assert!(!format!(
            "{:?}",
            PgConfigLite {
                password: Some("hunter22".into()),
                ..cfg
            }
        )
        .contains("hunter22"));
    }

    #[tokio::test]
    async fn a_bad_endpoint_or_a_closed_port_is_a_connect_error() {
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let mut stable = StableStart::new();
        let mut cfg = PgConfigLite::new("u:p@h", "u");
        cfg.timeout = Duration::from_secs(5);
        let e = collect_postgresql(&cfg, &mut b, NOW, &mut stable)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect");
        cfg.endpoint = "127.0.0.1:1".into();
        let e = collect_postgresql(&cfg, &mut b, NOW, &mut stable)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect", "{e}");
        assert!(b.is_empty());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(sock);
        });
        let mut cfg = PgConfigLite::new(addr.to_string(), "u");
        cfg.timeout = Duration::from_millis(300);
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let e = collect_postgresql(&cfg, &mut b, NOW, &mut StableStart::new())
            .await
            .unwrap_err();
        // tokio-postgres' own connect timeout may fire first: either way nothing hangs
        assert!(matches!(e.kind(), "timeout" | "connect"), "{e}");
        hold.abort();
    }
}
