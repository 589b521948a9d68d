//! Read-only SQL over the store: against a running agent's database (a connection of its own,
//! so the writer is not blocked) or against the file directly when the agent is stopped
//! (opened read-only). Results are rows of JSON values, printed as a table, JSON or CSV.
//!
//! Read-only is enforced twice on a running agent's database: only a statement that reads
//! (`SELECT`, `WITH`, `FROM`, `VALUES`, `TABLE`, `SHOW`, `DESCRIBE`, `SUMMARIZE`, `EXPLAIN`,
//! `PRAGMA`) is run, inside a transaction that is always rolled back. The database itself is
//! opened without external access, so SQL cannot read the host's files either.

use duckdb::types::{TimeUnit, Value};
use duckdb::Connection;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// A query's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one JSON value per column.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Whether rows past the limit were left out.
    pub truncated: bool,
    /// Time taken.
    pub elapsed_ms: f64,
}

/// A saved query: name, what it answers, SQL.
pub const SAVED: &[(&str, &str, &str)] = &[
    (
        "top-processes",
        "processes by peak resident memory over the last 24 hours",
        "SELECT ResourceAttributes['process.executable.name'] AS process,\n       ResourceAttributes['process.pid'] AS pid,\n       max(Value)::BIGINT AS max_rss_bytes,\n       avg(Value)::BIGINT AS avg_rss_bytes\nFROM otel_metrics_sum\nWHERE MetricName = 'process.memory.usage'\n  AND TimeUnix > now()::TIMESTAMP - INTERVAL 24 HOUR\nGROUP BY ALL\nORDER BY max_rss_bytes DESC\nLIMIT 10",
    ),
    (
        "top-cpu",
        "processes by average CPU (share of the host) over the last hour",
        "SELECT ResourceAttributes['process.executable.name'] AS process,\n       ResourceAttributes['process.pid'] AS pid,\n       round(100 * avg(Value), 2) AS avg_cpu_percent\nFROM otel_metrics_gauge\nWHERE MetricName = 'process.cpu.utilization'\n  AND TimeUnix > now()::TIMESTAMP - INTERVAL 1 HOUR\nGROUP BY ALL\nORDER BY avg_cpu_percent DESC\nLIMIT 10",
    ),
    (
        "host-cpu",
        "host CPU busy percentage per minute over the last hour",
        "SELECT date_trunc('minute', TimeUnix) AS minute,\n       round(100 * (1 - avg(Value) FILTER (WHERE Attributes['state'] = 'idle')), 1) AS busy_percent\nFROM otel_metrics_gauge\nWHERE MetricName = 'system.cpu.utilization'\n  AND TimeUnix > now()::TIMESTAMP - INTERVAL 1 HOUR\nGROUP BY ALL\nORDER BY minute",
    ),
    (
        "errors-last-hour",
        "log records of severity ERROR or worse in the last hour, by service",
        "SELECT ServiceName AS service, SeverityText AS severity, count(*) AS records,\n       max(Timestamp) AS last_seen, any_value(Body) AS example\nFROM otel_logs\nWHERE SeverityNumber >= 17\n  AND Timestamp > now()::TIMESTAMP - INTERVAL 1 HOUR\nGROUP BY ALL\nORDER BY records DESC",
    ),
    (
        "http-5xx-last-hour",
        "HTTP responses with a 5xx status in the access logs of the last hour, by log file",
        "SELECT LogAttributes['log.file.path'] AS log_file, count(*) AS responses_5xx\nFROM otel_logs\nWHERE TRY_CAST(LogAttributes['http.response.status_code'] AS INTEGER) >= 500\n  AND Timestamp > now()::TIMESTAMP - INTERVAL 1 HOUR\nGROUP BY ALL\nORDER BY responses_5xx DESC",
    ),
    (
        "slow-spans",
        "the 20 slowest spans of the last hour",
        "SELECT ServiceName AS service, SpanName AS span, Duration / 1e6 AS duration_ms,\n       StatusCode AS status, TraceId AS trace_id, Timestamp AS started\nFROM otel_traces\nWHERE Timestamp > now()::TIMESTAMP - INTERVAL 1 HOUR\nORDER BY Duration DESC\nLIMIT 20",
    ),
    (
        "tables",
        "rows and time range of every table",
        "SELECT 'otel_logs' AS table_name, count(*) AS rows, min(Timestamp) AS oldest, max(Timestamp) AS newest FROM otel_logs\nUNION ALL SELECT 'otel_traces', count(*), min(Timestamp), max(Timestamp) FROM otel_traces\nUNION ALL SELECT 'otel_metrics_gauge', count(*), min(TimeUnix), max(TimeUnix) FROM otel_metrics_gauge\nUNION ALL SELECT 'otel_metrics_sum', count(*), min(TimeUnix), max(TimeUnix) FROM otel_metrics_sum\nUNION ALL SELECT 'otel_metrics_histogram', count(*), min(TimeUnix), max(TimeUnix) FROM otel_metrics_histogram\nUNION ALL SELECT 'otel_metrics_exponential_histogram', count(*), min(TimeUnix), max(TimeUnix) FROM otel_metrics_exponential_histogram\nUNION ALL SELECT 'otel_metrics_summary', count(*), min(TimeUnix), max(TimeUnix) FROM otel_metrics_summary",
    ),
];

/// The SQL of a saved query.
pub fn saved(name: &str) -> Option<&'static str> {
    SAVED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, q)| *q)
}

/// Keywords a reading statement starts with.
const READING: &[&str] = &[
    "select",
    "with",
    "from",
    "values",
    "table",
    "show",
    "describe",
    "desc",
    "summarize",
    "explain",
    "pragma",
];

/// The first keyword of `sql`, past comments, blanks and opening parentheses.
fn first_keyword(sql: &str) -> String {
    let mut s = sql;
    loop {
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = t.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            s = t;
            break;
        }
    }
    s.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Err unless `sql` is a statement that only reads.
pub fn check_read_only(sql: &str) -> Result<(), String> {
    let k = first_keyword(sql);
    if READING.contains(&k.as_str()) {
        Ok(())
    } else if k.is_empty() {
        Err("empty query".into())
    } else {
        Err(format!(
            "`{}` statements are not allowed: queries are read-only (SELECT, WITH, FROM, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN, PRAGMA)",
            k.to_ascii_uppercase()
        ))
    }
}

/// Opens a stopped agent's store read-only.
pub fn open_read_only(path: &Path) -> Result<Connection, String> {
    if !path.exists() {
        return Err(format!("no store at {}", path.display()));
    }
    crate::db::config(true)
        .and_then(|c| Connection::open_with_flags(path, c))
        .map_err(|e| {
            let e = e.to_string();
            if e.contains("lock") {
                format!("{} is in use by a running agent: {e}", path.display())
            } else {
                format!("cannot open {} read-only: {e}", path.display())
            }
        })
}

/// Runs one read-only statement, keeping at most `limit` rows, interrupted after `timeout`.
pub fn run(
    conn: &Connection,
    sql: &str,
    limit: usize,
    timeout: Duration,
) -> Result<QueryResult, String> {
    check_read_only(sql)?;
    let started = Instant::now();
    let interrupt = conn.interrupt_handle();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(timeout) {
            interrupt.interrupt();
        }
    });
    let result = conn
        .execute_batch("BEGIN TRANSACTION")
        .map_err(|e| e.to_string())
        .and_then(|()| {
            let r = fetch(conn, sql, limit);
            let _ = conn.execute_batch("ROLLBACK");
            r
        });
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let mut result = result.map_err(|e| {
        if e.contains("INTERRUPT") || e.contains("nterrupted") {
            format!("the query ran longer than {timeout:?} and was stopped")
        } else {
            e
        }
    })?;
    result.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(result)
}

/// The rows of one statement, at most `limit` of them.
fn fetch(conn: &Connection, sql: &str, limit: usize) -> Result<QueryResult, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut truncated = false;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        if out.len() == limit {
            truncated = true;
            break;
        }
        let ncols = row.as_ref().column_count();
        let mut r = Vec::with_capacity(ncols);
        for i in 0..ncols {
            let v: Value = row.get(i).map_err(|e| e.to_string())?;
            r.push(to_json(v));
        }
        out.push(r);
    }
    drop(rows);
    Ok(QueryResult {
        columns: stmt.column_names(),
        rows: out,
        truncated,
        elapsed_ms: 0.0,
    })
}

/// `days` since 1970-01-01 to (year, month, day).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS[.fraction]` (UTC).
pub fn format_timestamp(unit: TimeUnit, v: i64) -> String {
    let (per_sec, digits) = match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let secs = v.div_euclid(per_sec);
    let frac = v.rem_euclid(per_sec);
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:0digits$}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

fn to_json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(b),
        Value::TinyInt(i) => i.into(),
        Value::SmallInt(i) => i.into(),
        Value::Int(i) => i.into(),
        Value::BigInt(i) => i.into(),
        Value::UTinyInt(i) => i.into(),
        Value::USmallInt(i) => i.into(),
        Value::UInt(i) => i.into(),
        Value::UBigInt(i) => i.into(),
        Value::HugeInt(i) => i64::try_from(i).map_or_else(|_| J::String(i.to_string()), J::from),
        Value::Float(f) => serde_json::Number::from_f64(f64::from(f)).map_or(J::Null, J::Number),
        Value::Double(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s),
        Value::Timestamp(unit, v) => J::String(format_timestamp(unit, v)),
        Value::Date32(d) => {
            let (y, m, d) = civil(i64::from(d));
            J::String(format!("{y:04}-{m:02}-{d:02}"))
        }
        Value::List(items) | Value::Array(items) => {
            J::Array(items.into_iter().map(to_json).collect())
        }
        Value::Map(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m.iter() {
                let key = match to_json(k.clone()) {
                    J::String(s) => s,
                    other => other.to_string(),
                };
                o.insert(key, to_json(v.clone()));
            }
            J::Object(o)
        }
        Value::Struct(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m.iter() {
                o.insert(k.clone(), to_json(v.clone()));
            }
            J::Object(o)
        }
        Value::Blob(b) => J::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        other => J::String(format!("{other:?}")),
    }
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The result as an aligned text table (cells cut at 60 characters).
pub fn render_table(r: &QueryResult) -> String {
    let cut = |s: String| -> String {
        let s = s.replace(['\n', '\t'], " ");
        if s.chars().count() > 60 {
            format!("{}…", s.chars().take(59).collect::<String>())
        } else {
            s
        }
    };
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(|v| cut(cell(v))).collect())
        .collect();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let numeric: Vec<bool> = (0..r.columns.len())
        .map(|i| {
            r.rows.iter().all(|row| {
                matches!(
                    row.get(i),
                    Some(serde_json::Value::Number(_) | serde_json::Value::Null)
                )
            })
        })
        .collect();
    let line = |vals: &[String]| -> String {
        vals.iter()
            .enumerate()
            .map(|(i, v)| {
                let w = widths.get(i).copied().unwrap_or(0);
                if numeric.get(i).copied().unwrap_or(false) {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&r.columns);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out.push_str(&format!(
        "({} row{}{}, {:.1} ms)\n",
        r.rows.len(),
        if r.rows.len() == 1 { "" } else { "s" },
        if r.truncated {
            ", more left out: raise --limit"
        } else {
            ""
        },
        r.elapsed_ms
    ));
    out
}

/// The result as CSV (RFC 4180 quoting), with a header.
pub fn render_csv(r: &QueryResult) -> String {
    let q = |s: &str| -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = r.columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in &r.rows {
        let line: Vec<String> = row
            .iter()
            .map(|v| match v {
                serde_json::Value::Null => String::new(),
                other => q(&cell(other)),
            })
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_reading_statements_pass() {
        for ok in [
            "SELECT 1",
            "  -- c\n/* x */ ( select 1)",
            "with a as (select 1) select * from a",
            "FROM otel_logs",
            "describe otel_logs",
            "PRAGMA database_size",
        ] {
            assert!(check_read_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "DELETE FROM otel_logs",
            "drop table otel_logs",
            "INSERT INTO t VALUES (1)",
            "attach 'x.db'",
            "COPY otel_logs TO 'x.csv'",
            "",
            "-- only a comment",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_checks() {
        // generated inputs: comment and quote fragments, multi-byte characters, cut anywhere
        let parts = [
            "--", "/*", "*/", "\n", "(", "select", "DELETE", "é", "€", " ", "'", ";", "\u{0}",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(parts[(x % parts.len() as u64) as usize]);
            }
            let _ = check_read_only(&s);
        }
        for v in [i64::MIN, i64::MAX, 0, -1] {
            for u in [
                TimeUnit::Second,
                TimeUnit::Millisecond,
                TimeUnit::Microsecond,
                TimeUnit::Nanosecond,
            ] {
                assert!(!format_timestamp(u, v).is_empty());
            }
        }
    }

    #[test]
    fn timestamps_format_as_utc() {
        assert_eq!(
            format_timestamp(TimeUnit::Nanosecond, 1_796_040_000_123_000_000),
            "2026-11-30 12:00:00.123"
        );
        assert_eq!(format_timestamp(TimeUnit::Second, 0), "1970-01-01 00:00:00");
        assert_eq!(
            format_timestamp(TimeUnit::Microsecond, -1),
            "1969-12-31 23:59:59.999999"
        );
        assert_eq!(
            format_timestamp(TimeUnit::Second, 951_782_400),
            "2000-02-29 00:00:00"
        );
    }

    #[test]
    fn csv_and_table_rendering() {
        let r = QueryResult {
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                vec![serde_json::json!("x,\"y\""), serde_json::json!(1.5)],
                vec![serde_json::Value::Null, serde_json::json!(10)],
            ],
            truncated: false,
            elapsed_ms: 1.0,
        };
        assert_eq!(render_csv(&r), "a,b\n\"x,\"\"y\"\"\",1.5\n,10\n");
        let t = render_table(&r);
        assert!(t.starts_with("a        b\n-----  ---\n"), "{t}");
        assert!(t.contains("x,\"y\"  1.5"), "{t}");
        assert!(t.contains("NULL    10"), "{t}");
        assert!(t.contains("(2 rows, 1.0 ms)"), "{t}");
    }
}
