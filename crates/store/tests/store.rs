//! The store against a real DuckDB: rows written are read back with their values, the file
//! reopens, a corrupt file is moved aside, retention by age and by size, read-only queries.
#![allow(clippy::unwrap_used, missing_docs)]

use lookout_store::convert::Rows;
use lookout_store::query::{open_read_only, run};
use lookout_store::testdata::{every_kind, gauge, logs, noisy_gauge, T0};
use lookout_store::{Retention, Store};
use std::time::Duration;

fn write(store: &Store, batches: &[lookout_model::Batch]) -> usize {
    let mut rows = Rows::default();
    for b in batches {
        rows.add(b);
    }
    store.write_blocking(rows.finish().unwrap()).unwrap()
}

fn q(store: &Store, sql: &str) -> Vec<Vec<serde_json::Value>> {
    let c = store.connection().unwrap();
    run(&c, sql, 1000, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows
}

fn no_retention() -> Retention {
    Retention {
        max_age: Duration::ZERO,
        max_bytes: 0,
        ..Retention::default()
    }
}

#[test]
fn every_signal_is_found_by_sql_with_its_values() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("s/lookout.duckdb");
    let store = Store::open(&path, no_retention()).unwrap();
    assert_eq!(write(&store, &every_kind()), 7);
    let r = q(
        &store,
        "SELECT ServiceName, Body, SeverityNumber, TraceId, LogAttributes['http.status_code'], TimestampTime FROM otel_logs",
    );
    assert_eq!(
        r,
        vec![vec![
            serde_json::json!("checkout"),
            serde_json::json!("GET /cart 500"),
            serde_json::json!(17),
            serde_json::json!("abababababababababababababababab"),
            serde_json::json!("500"),
            serde_json::json!("2026-11-30 12:00:00"),
        ]]
    );
    let r = q(
        &store,
        "SELECT SpanName, SpanKind, Duration, StatusCode, ParentSpanId, \"Events.Name\", \"Links.SpanId\", Timestamp FROM otel_traces",
    );
    assert_eq!(
        r[0],
        vec![
            serde_json::json!("GET /cart"),
            serde_json::json!("SPAN_KIND_SERVER"),
            serde_json::json!(1_500_000),
            serde_json::json!("STATUS_CODE_ERROR"),
            serde_json::json!("0303030303030303"),
            serde_json::json!(["exception"]),
            serde_json::json!(["0505050505050505"]),
            serde_json::json!("2026-11-30 12:00:00"),
        ]
    );
    let r = q(&store, "SELECT MetricName, Value, Attributes['state'], ResourceAttributes['host.name'] FROM otel_metrics_gauge");
    assert_eq!(
        r[0],
        vec![
            serde_json::json!("system.memory.usage"),
            serde_json::json!(1024.0),
            serde_json::json!("used"),
            serde_json::json!("web-1")
        ]
    );
    let r = q(
        &store,
        "SELECT Value, AggregationTemporality, IsMonotonic FROM otel_metrics_sum",
    );
    assert_eq!(
        r[0],
        vec![
            serde_json::json!(4096.0),
            serde_json::json!(2),
            serde_json::json!(true)
        ]
    );
    let r = q(
        &store,
        "SELECT Count, Sum, BucketCounts, ExplicitBounds, Min, Max FROM otel_metrics_histogram",
    );
    assert_eq!(
        r[0],
        vec![
            serde_json::json!(6),
            serde_json::json!(60.0),
            serde_json::json!([1, 2, 3]),
            serde_json::json!([5.0, 10.0]),
            serde_json::json!(1.0),
            serde_json::json!(20.0)
        ]
    );
    let r = q(&store, "SELECT Scale, ZeroCount, PositiveOffset, PositiveBucketCounts FROM otel_metrics_exponential_histogram");
    assert_eq!(
        r[0],
        vec![
            serde_json::json!(2),
            serde_json::json!(1),
            serde_json::json!(1),
            serde_json::json!([1, 1])
        ]
    );
    let r = q(&store, "SELECT \"ValueAtQuantiles.Quantile\", \"ValueAtQuantiles.Value\" FROM otel_metrics_summary");
    assert_eq!(
        r[0],
        vec![
            serde_json::json!([0.5, 0.99]),
            serde_json::json!([2.0, 9.0])
        ]
    );
    // owner-only
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    // closed and reopened read-only: the same rows
    drop(store);
    let c = open_read_only(&path).unwrap();
    let r = run(
        &c,
        "SELECT count(*) FROM otel_logs",
        10,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r.rows, vec![vec![serde_json::json!(1)]]);
}

#[test]
fn queries_are_read_only_and_cannot_reach_files() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(&d.path().join("x.duckdb"), no_retention()).unwrap();
    let c = store.connection().unwrap();
    let e = run(&c, "DELETE FROM otel_logs", 10, Duration::from_secs(5)).unwrap_err();
    assert!(e.contains("read-only"), "{e}");
    std::fs::write(d.path().join("secret.csv"), "a\n1\n").unwrap();
    let sql = format!(
        "SELECT * FROM read_csv('{}')",
        d.path().join("secret.csv").display()
    );
    let e = run(&c, &sql, 10, Duration::from_secs(5)).unwrap_err();
    assert!(
        e.to_lowercase().contains("disabled") || e.to_lowercase().contains("permission"),
        "{e}"
    );
    // a bad query: the error says where
    let e = run(&c, "SELECT Nope FROM otel_logs", 10, Duration::from_secs(5)).unwrap_err();
    assert!(e.contains("Nope") && e.contains("LINE 1"), "{e}");
    // a setting cannot be changed back
    let e = run(
        &c,
        "PRAGMA enable_external_access",
        10,
        Duration::from_secs(5),
    );
    assert!(e.is_err(), "{e:?}");
}

#[test]
fn a_corrupt_file_is_moved_aside_not_deleted() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("lookout.duckdb");
    std::fs::write(
        &path,
        b"this is not a duckdb file, but it is someone's data",
    )
    .unwrap();
    let store = Store::open(&path, no_retention()).unwrap();
    assert!(
        store.notes.iter().any(|n| n.contains("moved aside")),
        "{:?}",
        store.notes
    );
    assert_eq!(write(&store, &[gauge("m", T0, 3)]), 3);
    let aside: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read(aside[0].path()).unwrap(),
        b"this is not a duckdb file, but it is someone's data"
    );
}

#[test]
fn age_retention_deletes_old_rows_only() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("lookout.duckdb");
    let store = Store::open(&path, no_retention()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let hour = 3_600_000_000_000u64;
    write(
        &store,
        &[
            gauge("old", now - 50 * hour, 2),
            gauge("new", now - hour, 2),
        ],
    );
    write(
        &store,
        &[logs(now - 3 * hour, 4), logs(now - 60_000_000_000, 1)],
    );
    let mut r = no_retention();
    r.max_age = Duration::from_secs(48 * 3600);
    r.tables
        .insert("otel_logs".into(), Duration::from_secs(2 * 3600));
    r.check_interval = Duration::from_millis(100);
    store.set_retention(r);
    store.sync();
    std::thread::sleep(Duration::from_millis(300));
    store.sync();
    assert_eq!(
        q(&store, "SELECT DISTINCT MetricName FROM otel_metrics_gauge"),
        vec![vec![serde_json::json!("new")]]
    );
    assert_eq!(
        q(&store, "SELECT count(*) FROM otel_logs"),
        vec![vec![serde_json::json!(1)]]
    );
    assert_eq!(
        store
            .stats
            .rows_expired
            .load(std::sync::atomic::Ordering::Relaxed),
        6
    );
}

#[test]
fn the_size_limit_holds_under_sustained_writes() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("lookout.duckdb");
    let max = 8u64 << 20;
    let store = Store::open(
        &path,
        Retention {
            max_age: Duration::ZERO,
            max_bytes: max,
            ..Retention::default()
        },
    )
    .unwrap();
    let mut peak = 0u64;
    let mut t = T0;
    let mut written = 0;
    for _ in 0..60 {
        // 10,000 points per write that do not compress, as a busy host's minute
        let batches: Vec<_> = (0..10)
            .map(|i| noisy_gauge(&format!("m{i}"), t + i, 1000))
            .collect();
        written += write(&store, &batches);
        t += 10_000_000_000;
        let (file, used) = store.measure();
        peak = peak.max(used);
        assert!(
            file <= max + (1 << 20),
            "the file grew to {file} bytes for a {max}-byte limit (used {used})"
        );
    }
    let kept: i64 = q(&store, "SELECT count(*) FROM otel_metrics_gauge")[0][0]
        .as_i64()
        .unwrap();
    eprintln!(
        "written {written} rows, kept {kept}, peak used {peak} bytes, file {} bytes",
        lookout_store::db::file_bytes(&path)
    );
    assert!(
        kept > 0 && (kept as usize) < written,
        "kept {kept} of {written}"
    );
    // the newest rows are the ones kept
    let newest = q(
        &store,
        "SELECT epoch_ns(max(TimeUnix)) FROM otel_metrics_gauge",
    )[0][0]
        .as_i64()
        .unwrap();
    assert_eq!(newest as u64, t - 10_000_000_000 + 9);
    assert!(
        store
            .stats
            .rows_evicted
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
}

#[test]
fn a_store_from_a_newer_lookout_is_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("lookout.duckdb");
    {
        let store = Store::open(&path, no_retention()).unwrap();
        write(&store, &[gauge("m", T0, 2)]);
    }
    {
        // what a future schema version would leave behind
        let c = lookout_store::duckdb::Connection::open(&path).unwrap();
        c.execute_batch("UPDATE lookout_meta SET value = '99' WHERE key = 'schema_version'")
            .unwrap();
    }
    let store = Store::open(&path, no_retention()).unwrap();
    assert!(
        store
            .notes
            .iter()
            .any(|n| n.contains("schema version 99") && n.contains("moved aside")),
        "{:?}",
        store.notes
    );
    assert_eq!(
        q(&store, "SELECT count(*) FROM otel_metrics_gauge"),
        vec![vec![serde_json::json!(0)]]
    );
    let aside = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(aside, 1);
}
