//! The store's figures on a day of a busy host's data, generated: 8 CPUs × 8 states of
//! `system.cpu.utilization`, 20 host series, and 200 processes with 6 series each, every 10 s
//! (8,640 collections, about 11.2 million points), written as the sink writes them (Arrow
//! record batches through the appender, one transaction per collection).
//!
//! Prints: ingest rate (points/s, conversion included), disk bytes per million points, and the
//! latency of typical queries over the day. Not a test: nothing fails on a number.
//!
//!   bash bench/store.sh (builds it with the agent's package selection and runs it)
//!   env: STORE_BENCH_HOURS=24 STORE_BENCH_DIR=/var/tmp/x   (keeps the file for bench/store.sh)
#![allow(missing_docs, clippy::unwrap_used)]

use lookout_model::attr;
use lookout_model::otlp::{
    metric, number_data_point, ExportMetricsServiceRequest, Gauge, Metric, NumberDataPoint,
    Resource, ResourceMetrics, ScopeMetrics, Sum,
};
use lookout_model::Batch;
use lookout_store::convert::Rows;
use lookout_store::query::run;
use lookout_store::{Retention, Store};
use std::time::{Duration, Instant};

const PROCS: usize = 200;
const CPUS: usize = 8;
const STATES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

fn point(t: u64, v: f64, attrs: Vec<lookout_model::otlp::KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: t,
        start_time_unix_nano: t - 10_000_000_000,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

fn sum(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: 2,
            is_monotonic: false,
        })),
        ..Default::default()
    }
}

/// One collection of the host and its processes at `t`.
fn collection(t: u64, step: u64, rng: &mut u64) -> (Batch, usize) {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        (*rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let host = vec![
        attr::str("host.name", "web-1"),
        attr::str("os.type", "linux"),
    ];
    let mut cpu = Vec::new();
    for c in 0..CPUS {
        for s in STATES {
            cpu.push(point(
                t,
                next() * 0.2,
                vec![attr::str("cpu", format!("cpu{c}")), attr::str("state", s)],
            ));
        }
    }
    let mut host_metrics = vec![gauge("system.cpu.utilization", "1", cpu)];
    for (i, n) in [
        "used",
        "free",
        "buffered",
        "cached",
        "slab_reclaimable",
        "slab_unreclaimable",
    ]
    .iter()
    .enumerate()
    {
        host_metrics.push(sum(
            "system.memory.usage",
            "By",
            vec![point(
                t,
                1e9 * (i as f64 + next()),
                vec![attr::str("state", *n)],
            )],
        ));
    }
    for m in [
        "system.cpu.load_average.1m",
        "system.cpu.load_average.5m",
        "system.cpu.load_average.15m",
    ] {
        host_metrics.push(gauge(m, "1", vec![point(t, next() * 4.0, vec![])]));
    }
    let mut rm = vec![ResourceMetrics {
        resource: Some(Resource {
            attributes: host.clone(),
            ..Default::default()
        }),
        scope_metrics: vec![ScopeMetrics {
            metrics: host_metrics,
            ..Default::default()
        }],
        ..Default::default()
    }];
    let mut points = CPUS * STATES.len() + 9;
    for p in 0..PROCS {
        let mut res = host.clone();
        res.push(attr::int("process.pid", 1000 + p as i64));
        res.push(attr::str(
            "process.executable.name",
            format!("worker-{}", p % 40),
        ));
        res.push(attr::str("process.owner", "www-data"));
        let metrics = vec![
            sum(
                "process.cpu.time",
                "s",
                vec![
                    point(
                        t,
                        (step as f64) * 0.01 * (p as f64 + 1.0),
                        vec![attr::str("state", "user")],
                    ),
                    point(
                        t,
                        (step as f64) * 0.002 * (p as f64 + 1.0),
                        vec![attr::str("state", "system")],
                    ),
                ],
            ),
            gauge(
                "process.cpu.utilization",
                "1",
                vec![point(t, next() * 0.05, vec![])],
            ),
            sum(
                "process.memory.usage",
                "By",
                vec![point(t, 5e7 + 1e6 * (p as f64) + 1e5 * next(), vec![])],
            ),
            sum(
                "process.memory.virtual",
                "By",
                vec![point(t, 5e8 + 1e7 * (p as f64), vec![])],
            ),
            sum(
                "process.threads",
                "{thread}",
                vec![point(t, 4.0 + (p % 8) as f64, vec![])],
            ),
        ];
        points += 6;
        rm.push(ResourceMetrics {
            resource: Some(Resource {
                attributes: res,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    (
        Batch::Metrics(ExportMetricsServiceRequest {
            resource_metrics: rm,
        }),
        points,
    )
}

fn main() {
    let hours: u64 = std::env::var("STORE_BENCH_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(24);
    let keep = std::env::var("STORE_BENCH_DIR").ok();
    let tmp = tempfile::tempdir().unwrap();
    let dir = keep
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.duckdb");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("bench.duckdb.wal"));
    let store = Store::open(
        &path,
        Retention {
            max_age: Duration::ZERO,
            max_bytes: 0,
            ..Retention::default()
        },
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let steps = hours * 360;
    let t0 = now - steps * 10_000_000_000;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut points = 0usize;
    let mut convert = Duration::ZERO;
    let started = Instant::now();
    for step in 0..steps {
        let t = t0 + step * 10_000_000_000;
        let (batch, n) = collection(t, step, &mut rng);
        let c = Instant::now();
        let mut rows = Rows::default();
        rows.add(&batch);
        let recs = rows.finish().unwrap();
        convert += c.elapsed();
        store.write_blocking(recs).unwrap();
        points += n;
    }
    store.sync();
    let took = started.elapsed();
    drop(store);
    let bytes = lookout_store::db::file_bytes(&path);
    println!("{hours} h of a busy host: {points} points in {:.1} s: {:.0} points/s ({:.0} points/s converting to Arrow alone)", took.as_secs_f64(), points as f64 / took.as_secs_f64(), points as f64 / convert.as_secs_f64());
    println!(
        "disk: {bytes} bytes, {:.1} MB per million points ({:.2} bytes/point)",
        bytes as f64 / 1e6 / (points as f64 / 1e6),
        bytes as f64 / points as f64
    );
    let conn = lookout_store::query::open_read_only(&path).unwrap();
    for name in ["top-processes", "host-cpu", "tables"] {
        let sql = lookout_store::query::saved(name).unwrap();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let r = run(&conn, sql, 100_000, Duration::from_secs(120)).unwrap();
            best = best.min(r.elapsed_ms);
        }
        println!("query --saved {name}: {best:.1} ms (best of 5)");
    }
    let sql = "SELECT ResourceAttributes['process.executable.name'] AS p, max(Value) FROM otel_metrics_sum WHERE MetricName = 'process.memory.usage' AND TimeUnix > now()::TIMESTAMP - INTERVAL 14 HOUR AND TimeUnix < now()::TIMESTAMP - INTERVAL 6 HOUR GROUP BY ALL ORDER BY 2 DESC LIMIT 5";
    let r = run(&conn, sql, 100, Duration::from_secs(120)).unwrap();
    println!(
        "\"which process used the most memory last night\" (8 h window): {:.1} ms",
        r.elapsed_ms
    );
}
