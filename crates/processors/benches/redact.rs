//! Redaction cost on the log hot path: `Redactor::redact_str` over clean lines (nothing to
//! mask: the common case, one pass of the rule set and no allocation) and dirty lines (one or
//! more secrets), with the default rules; and the whole processor over a batch of 1 000 log
//! records of which one in ten carries a secret.
//!
//! Run with `cargo bench -p lookout-processors`; throughput is reported in lines per second.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_config::RedactConfig;
use lookout_model::otlp::{
    any_value::Value, AnyValue, ExportLogsServiceRequest, LogRecord, ResourceLogs, ScopeLogs,
};
use lookout_model::Batch;
use lookout_pipeline::Processor;
use lookout_processors::{RedactProcessor, Redactor};

const CLEAN: &[&str] = &[
    "2024-05-01T12:00:00.123Z INFO http: GET /api/v1/users/42 200 12.3ms bytes=5123 ua=\"curl/8.5.0\"",
    "May  1 12:00:01 web-1 nginx[1234]: 10.0.0.7 - - \"POST /checkout HTTP/1.1\" 302 0 \"-\" \"Mozilla/5.0\"",
    "level=warn ts=1714564801123 caller=queue.go:88 msg=\"retrying batch\" attempt=3 backoff=400ms queue_depth=1024",
    "{\"time\":\"2024-05-01T12:00:02Z\",\"level\":\"info\",\"msg\":\"job done\",\"job_id\":\"7f3c9a1e-1b2c-4d5e-8f90-123456789abc\",\"duration_ms\":8812,\"tokens_used\":512}",
];

const DIRTY: &[&str] = &[
    "2024-05-01T12:00:00.123Z INFO auth: login ok user=bob@example.com password=hunter2 from web-1",
    "payment declined card=4111 1111 1111 1111 order=ORD-118822 amount=12.50",
    "outgoing request Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
    "connecting to postgres://app:s3cr3t@db.internal:5432/app with key AKIAIOSFODNN7EXAMPLE",
];

fn lines(c: &mut Criterion) {
    let r = Redactor::new(&RedactConfig::default()).expect("default rules");
    let mut group = c.benchmark_group("redact_str");
    for (name, set) in [("clean", CLEAN), ("dirty", DIRTY)] {
        let bytes: usize = set.iter().map(|l| l.len()).sum();
        group.throughput(Throughput::Elements(set.len() as u64));
        group.bench_function(
            format!("{name}_lines ({} B/line avg)", bytes / set.len()),
            |b| {
                b.iter(|| {
                    for l in set {
                        black_box(r.redact_str(black_box(l)));
                    }
                })
            },
        );
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let records: Vec<LogRecord> = (0..1000)
        .map(|i| LogRecord {
            body: Some(AnyValue {
                value: Some(Value::StringValue(if i % 10 == 0 {
                    DIRTY[i % DIRTY.len()].to_string()
                } else {
                    CLEAN[i % CLEAN.len()].to_string()
                })),
            }),
            ..Default::default()
        })
        .collect();
    let batch = Batch::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let mut p = RedactProcessor::new(&RedactConfig::default()).expect("default rules");
    let mut group = c.benchmark_group("processor");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("logs_1000_records_10pct_dirty", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| black_box(p.process(batch)),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, lines, batch);
criterion_main!(benches);
