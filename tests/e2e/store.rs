//! The local analytics store end to end: what the agent writes is found by `lookout query`
//! (through the running agent, then on the file once it is stopped) and by the official
//! `duckdb` Python package on a copy; local-only mode opens no network socket; age retention
//! under load; `kill -9` while writing loses nothing that was acknowledged; the schema's
//! ClickHouse DDL is accepted by ClickHouse itself (chDB).

use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn query(data: &Path, sql: &str) -> (i32, serde_json::Value, String) {
    let (code, out, err) = lookout(&[
        "query",
        "--data-dir",
        data.to_str().unwrap(),
        "--format",
        "json",
        sql,
    ]);
    let v = serde_json::from_str(out.trim()).unwrap_or(serde_json::Value::Null);
    (code, v, err)
}

fn rows(data: &Path, sql: &str) -> Vec<serde_json::Value> {
    let (code, v, err) = query(data, sql);
    assert_eq!(code, 0, "{sql}: {err}");
    v["rows"].as_array().cloned().unwrap_or_default()
}

/// The first value of the answer as a number; -1 when the query fails (no store yet).
fn count(data: &Path, sql: &str) -> i64 {
    let (code, v, _) = query(data, sql);
    if code != 0 {
        return -1;
    }
    v["rows"][0][0].as_i64().unwrap_or(-1)
}

#[test]
fn what_the_agent_writes_is_found_by_sql_and_by_duckdb_itself() {
    require_py("duckdb", "duckdb");
    let otlp = free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "sources:\n  host: {{type: host_metrics, interval: 500ms}}\n  in: {{type: otlp, grpc: null, http: '127.0.0.1:{otlp}'}}\nsinks:\n  local: {{type: duckdb, inputs: [host, in]}}\n"
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    // a span and a log record through OTLP/HTTP JSON
    let span = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"POST /pay","startTimeUnixNano":"1796040000000000000","endTimeUnixNano":"1796040000250000000","kind":2,"status":{"code":2,"message":"card declined"},"attributes":[{"key":"http.route","value":{"stringValue":"/pay"}}]}]}]}]}"#;
    let (status, _, _) = http_post(
        otlp,
        "/v1/traces",
        &[("Content-Type", "application/json")],
        span,
    );
    assert_eq!(status, 200);
    let log = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1796040000100000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed for order 42"},"attributes":[{"key":"order.id","value":{"intValue":"42"}}]}]}]}]}"#;
    let (status, _, _) = http_post(
        otlp,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        log,
    );
    assert_eq!(status, 200);
    wait_for(Duration::from_secs(30), || {
        (count(&data, "SELECT count(*) FROM otel_traces") == 1
            && count(&data, "SELECT count(DISTINCT TimeUnix) FROM otel_metrics_gauge WHERE MetricName = 'system.cpu.utilization'") >= 2)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("nothing in the store; stderr:\n{}", agent.stderr()));
    let span = rows(&data, "SELECT ServiceName, SpanName, SpanKind, Duration, StatusCode, StatusMessage, SpanAttributes['http.route'], TraceId, ParentSpanId FROM otel_traces");
    assert_eq!(
        span[0],
        serde_json::json!([
            "shop",
            "POST /pay",
            "SPAN_KIND_SERVER",
            250_000_000u64,
            "STATUS_CODE_ERROR",
            "card declined",
            "/pay",
            "5b8efff798038103d269b633813fc60c",
            "eee19b7ec3c1b173"
        ])
    );
    let log = rows(&data, "SELECT Body, SeverityNumber, LogAttributes['order.id'], Timestamp FROM otel_logs WHERE ServiceName = 'shop'");
    assert_eq!(
        log[0],
        serde_json::json!([
            "payment failed for order 42",
            17,
            "42",
            "2026-11-30 12:00:00.1"
        ])
    );
    // host metrics: the memory states add up to the host's memory as /proc/meminfo says
    let total: f64 = rows(&data, "SELECT sum(Value) FROM otel_metrics_sum WHERE MetricName = 'system.memory.usage' AND TimeUnix = (SELECT max(TimeUnix) FROM otel_metrics_sum WHERE MetricName = 'system.memory.usage')")[0][0].as_f64().unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<f64>()
        .unwrap()
        * 1024.0;
    assert!(
        (total - mem_total).abs() / mem_total < 0.01,
        "memory states sum to {total}, MemTotal {mem_total}"
    );
    // a bad query says where; a write is refused
    let (code, _, err) = query(&data, "SELECT Bodyy FROM otel_logs");
    assert_ne!(code, 0);
    assert!(err.contains("Bodyy") && err.contains("LINE 1"), "{err}");
    let (code, _, err) = query(&data, "DELETE FROM otel_logs");
    assert_ne!(code, 0);
    assert!(err.contains("read-only"), "{err}");
    // a saved query and the table format
    let (code, out, err) = lookout(&[
        "query",
        "--data-dir",
        data.to_str().unwrap(),
        "--saved",
        "tables",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("otel_traces") && out.contains("(7 rows"),
        "{out}"
    );
    // disk use in /metrics and /status
    let (_, metrics) = agent.get("/metrics");
    assert!(
        metrics.contains("lookout_store_disk_bytes{path="),
        "{metrics}"
    );
    promtool_check(&metrics).unwrap();
    let st = component_status(&agent, "local");
    assert!(st["sent_items"].as_u64().unwrap_or(0) > 0, "{st}");
    let (_, status) = agent.get("/status");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(
        status["stores"][0]["disk_bytes"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert_eq!(agent.stop(), 0);

    // stopped: the file directly, read-only, the same answer
    let again = rows(&data, "SELECT ServiceName, SpanName FROM otel_traces");
    assert_eq!(again[0], serde_json::json!(["shop", "POST /pay"]));
    // the official duckdb package on a copy of the store
    let copy = dir.path().join("copy.duckdb");
    std::fs::copy(data.join("store/lookout.duckdb"), &copy).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import duckdb,sys,json; c=duckdb.connect(sys.argv[1], read_only=True); \
             print(json.dumps([c.execute(\"SELECT SpanName, Duration, \\\"Events.Name\\\" FROM otel_traces\").fetchall(), \
             c.execute(\"SELECT Body, LogAttributes['order.id'] FROM otel_logs WHERE ServiceName='shop'\").fetchall(), \
             c.execute(\"SELECT count(*) > 0 FROM otel_metrics_gauge\").fetchall()], default=str))",
            copy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        v[0][0],
        serde_json::json!(["POST /pay", 250000000, []]),
        "{v}"
    );
    assert_eq!(
        v[1][0],
        serde_json::json!(["payment failed for order 42", "42"]),
        "{v}"
    );
    assert_eq!(v[2][0], serde_json::json!([true]), "{v}");
}

/// Socket inodes of a process's fds.
fn socket_inodes(pid: u32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Inodes in the IP socket tables (TCP, UDP, raw; v4 and v6) of `pid`'s network namespace.
fn ip_socket_inodes(pid: u32) -> Vec<u64> {
    let mut out = Vec::new();
    for t in [
        "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "udplite", "udplite6",
    ] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{t}")) else {
            continue;
        };
        for l in text.lines().skip(1) {
            if let Some(inode) = l.split_whitespace().nth(9).and_then(|i| i.parse().ok()) {
                out.push(inode);
            }
        }
    }
    out
}

#[test]
fn local_only_opens_no_network_socket() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "starting\n").unwrap();
    // the policy refuses a sink that sends
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "policy: {local_only: true}\nserver: {enabled: false}\nsources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: otlp_http, endpoint: 'http://127.0.0.1:4318', inputs: [h]}\n").unwrap();
    let (code, _, err) = lookout(&["config", "validate", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("local_only"), "{err}");
    let cfg = format!(
        "policy: {{local_only: true}}\nserver: {{enabled: false}}\nsources:\n  host: {{type: host_metrics, interval: 300ms}}\n  procs: {{type: process_metrics, interval: 300ms}}\n  app: {{type: files, include: ['{}'], start_at: beginning}}\nsinks:\n  local: {{type: duckdb, inputs: [host, procs, app]}}\n",
        log.display()
    );
    let agent = Agent::start(Some(&cfg), &[]);
    let data = agent.data_dir();
    wait_for(Duration::from_secs(30), || {
        (count(&data, "SELECT count(*) FROM otel_logs WHERE Body = 'starting'") == 1
            && count(&data, "SELECT count(*) FROM otel_metrics_gauge WHERE MetricName = 'process.cpu.utilization'") > 0)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no data in the local store; stderr:\n{}", agent.stderr()));
    // watch the agent's sockets for a while: only Unix sockets (its control socket)
    let pid = agent.pid();
    let until = Instant::now() + Duration::from_secs(3);
    let mut seen = 0;
    while Instant::now() < until {
        let mine = socket_inodes(pid);
        seen = seen.max(mine.len());
        let ip = ip_socket_inodes(pid);
        let bad: Vec<_> = mine.iter().filter(|i| ip.contains(i)).collect();
        assert!(
            bad.is_empty(),
            "the agent has IP sockets {bad:?} in local-only mode"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen >= 1,
        "the control socket should be the agent's one socket"
    );
    assert!(data.join("control.sock").exists());
}

#[test]
fn age_retention_holds_under_load() {
    let cfg = "sources:\n  host: {type: host_metrics, interval: 100ms}\n  procs: {type: process_metrics, interval: 200ms}\nsinks:\n  local:\n    type: duckdb\n    inputs: [host, procs]\n    retention: {max_age: 3s, check_interval: 500ms}\n";
    let mut agent = Agent::start(Some(cfg), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    std::thread::sleep(Duration::from_secs(8));
    // rows keep coming, and none is older than 3 s plus one check interval (and slack)
    let span = rows(&data, "SELECT epoch_ms(now()::TIMESTAMP) - epoch_ms(min(TimeUnix)), count(*) FROM otel_metrics_gauge");
    let age_ms = span[0][0].as_f64().unwrap();
    let n = span[0][1].as_i64().unwrap();
    assert!(n > 0, "no rows");
    assert!(
        age_ms < 5_500.0,
        "the oldest row is {age_ms} ms old with a 3 s limit"
    );
    let (_, status) = agent.get("/status");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(
        status["stores"][0]["rows_expired"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn kill_9_while_writing_keeps_every_acknowledged_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let data = dir.path().join("state");
    let cfg = format!(
        "sources:\n  app: {{type: files, include: ['{}'], start_at: beginning, checkpoint_interval: 200ms}}\nsinks:\n  local: {{type: duckdb, inputs: [app]}}\n",
        log.display()
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let log = log.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..200 {
                    writeln!(f, "line {n} of the kill test").unwrap();
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    for round in 0..3 {
        let mut agent = Agent::start_in(Some(&cfg), Some(&data), &[]);
        agent.wait_ready();
        std::thread::sleep(Duration::from_millis(1500 + 300 * round));
        agent.signal("KILL");
        let _ = agent.child.wait();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    // restart: the store opens, the agent catches up from its checkpoint
    let mut agent = Agent::start_in(Some(&cfg), Some(&data), &[]);
    agent.wait_ready();
    let distinct = wait_for(Duration::from_secs(60), || {
        let n = count(&data, "SELECT count(DISTINCT Body) FROM otel_logs");
        (n == written as i64).then_some(n)
    })
    .unwrap_or_else(|| {
        panic!(
            "{} of {written} lines in the store after kill -9; stderr:\n{}",
            count(&data, "SELECT count(DISTINCT Body) FROM otel_logs"),
            agent.stderr()
        )
    });
    let total = count(&data, "SELECT count(*) FROM otel_logs");
    eprintln!(
        "kill -9 x3 into the store: {written} lines, {distinct} found, {} written twice",
        total - distinct
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn the_schema_is_clickhouse_s_own() {
    require_py("chdb", "chdb");
    let (code, ddl, err) = lookout(&["query", "--ddl", "clickhouse"]);
    assert_eq!(code, 0, "{err}");
    let (code, duck, err) = lookout(&["query", "--ddl", "duckdb"]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let ch = dir.path().join("ch.sql");
    std::fs::write(&ch, &ddl).unwrap();
    // ClickHouse creates every table, and its columns are the store's, in the same order
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json\nfrom chdb import session\ns = session.Session(sys.argv[2])\n\
             for stmt in open(sys.argv[1]).read().split(';'):\n    \
             stmt = stmt.strip()\n    \
             if stmt: s.query(stmt)\n\
             tables = [r.split('\\t')[0] for r in str(s.query('SHOW TABLES', 'TSV')).strip().splitlines()]\n\
             cols = {t: [l.split('\\t')[0] for l in str(s.query('DESCRIBE TABLE ' + t + ' SETTINGS describe_compact_output=1', 'TSV')).strip().splitlines()] for t in tables}\n\
             print(json.dumps(cols))",
            ch.to_str().unwrap(),
            dir.path().join("chdb").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chdb refused the DDL: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ch: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let tables = ch.as_object().unwrap();
    assert_eq!(tables.len(), 7, "{ch}");
    for (t, cols) in tables {
        let cols: Vec<&str> = cols
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        // the DuckDB DDL of the same table lists the same columns in the same order
        let start = duck
            .find(&format!("CREATE TABLE IF NOT EXISTS {t} ("))
            .unwrap_or_else(|| panic!("{t} missing"));
        let body = &duck[start..duck[start..].find(");").unwrap() + start];
        let duck_cols: Vec<&str> = body
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
            .collect();
        assert_eq!(cols, duck_cols, "{t}");
    }
}
