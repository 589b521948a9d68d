//! Batches of every kind, with known values, for tests and benchmarks.

use lookout_model::attr;
use lookout_model::otlp::{
    metric, number_data_point, ExportLogsServiceRequest, ExportMetricsServiceRequest,
    ExportTraceServiceRequest, Gauge, Histogram, HistogramDataPoint, InstrumentationScope,
    LogRecord, Metric, NumberDataPoint, Resource, ResourceLogs, ResourceMetrics, ResourceSpans,
    ScopeLogs, ScopeMetrics, ScopeSpans, Span, Sum, Summary,
};
use lookout_model::Batch;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, summary_data_point::ValueAtQuantile,
    ExponentialHistogram, ExponentialHistogramDataPoint, SummaryDataPoint,
};
use opentelemetry_proto::tonic::trace::v1::{span, Status};

/// 2026-11-30T12:00:00Z in nanoseconds.
pub const T0: u64 = 1_796_040_000_000_000_000;

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attr::str("service.name", "checkout"),
            attr::str("host.name", "web-1"),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "lookout".into(),
        version: "0.1.0".into(),
        ..Default::default()
    })
}

/// A metrics request with `points` gauge points of `name` at `t`, one per `cpu` attribute.
pub fn gauge(name: &str, t: u64, points: usize) -> Batch {
    let data_points = (0..points)
        .map(|i| NumberDataPoint {
            attributes: vec![attr::str("cpu", format!("cpu{i}"))],
            time_unix_nano: t,
            value: Some(number_data_point::Value::AsDouble(i as f64 + 0.5)),
            ..Default::default()
        })
        .collect();
    metrics(vec![Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(metric::Data::Gauge(Gauge { data_points })),
        ..Default::default()
    }])
}

/// Like [`gauge`], with values that do not compress (a pseudo-random walk per point).
pub fn noisy_gauge(name: &str, t: u64, points: usize) -> Batch {
    let mut x = t ^ 0x9e37_79b9_7f4a_7c15;
    let data_points = (0..points)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            NumberDataPoint {
                attributes: vec![attr::str("cpu", format!("cpu{i}"))],
                time_unix_nano: t,
                value: Some(number_data_point::Value::AsDouble((x >> 11) as f64 / 1e3)),
                ..Default::default()
            }
        })
        .collect();
    metrics(vec![Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points })),
        ..Default::default()
    }])
}

fn metrics(metrics: Vec<Metric>) -> Batch {
    Batch::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// A logs request with `n` records at `t`, `t+1ms`, ...
pub fn logs(t: u64, n: usize) -> Batch {
    let log_records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: t + i as u64 * 1_000_000,
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: Some(lookout_model::otlp::AnyValue {
                value: Some(lookout_model::otlp::any_value::Value::StringValue(
                    "GET /cart 500".into(),
                )),
            }),
            attributes: vec![
                attr::str("http.route", "/cart"),
                attr::int("http.status_code", 500),
                attr::str("http.route", "/duplicate"),
            ],
            trace_id: vec![0xab; 16],
            span_id: vec![0xcd; 8],
            ..Default::default()
        })
        .collect();
    Batch::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// One batch of each signal: a log record, a span (with an event and a link), and a point of
/// each metric type.
pub fn every_kind() -> Vec<Batch> {
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        parent_span_id: vec![3; 8],
        name: "GET /cart".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1_500_000,
        attributes: vec![attr::str("http.method", "GET")],
        events: vec![span::Event {
            time_unix_nano: T0 + 1000,
            name: "exception".into(),
            attributes: vec![attr::str("exception.type", "Timeout")],
            ..Default::default()
        }],
        links: vec![span::Link {
            trace_id: vec![4; 16],
            span_id: vec![5; 8],
            ..Default::default()
        }],
        status: Some(Status {
            message: "timeout".into(),
            code: 2,
        }),
        ..Default::default()
    };
    let traces = Batch::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let point = |v: f64| NumberDataPoint {
        attributes: vec![attr::str("state", "used")],
        start_time_unix_nano: T0 - 10_000_000_000,
        time_unix_nano: T0,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    let m = metrics(vec![
        Metric {
            name: "system.memory.usage".into(),
            unit: "By".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![point(1024.0)],
            })),
            ..Default::default()
        },
        Metric {
            name: "system.network.io".into(),
            unit: "By".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    value: Some(number_data_point::Value::AsInt(4096)),
                    ..point(0.0)
                }],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: "http.server.duration".into(),
            unit: "ms".into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    time_unix_nano: T0,
                    count: 6,
                    sum: Some(60.0),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![5.0, 10.0],
                    min: Some(1.0),
                    max: Some(20.0),
                    ..Default::default()
                }],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        },
        Metric {
            name: "rpc.duration".into(),
            data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: T0,
                    count: 3,
                    sum: Some(7.0),
                    scale: 2,
                    zero_count: 1,
                    positive: Some(Buckets {
                        offset: 1,
                        bucket_counts: vec![1, 1],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: 2,
            })),
            ..Default::default()
        },
        Metric {
            name: "db.latency".into(),
            data: Some(metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: T0,
                    count: 10,
                    sum: 25.0,
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 2.0,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 9.0,
                        },
                    ],
                    ..Default::default()
                }],
            })),
            ..Default::default()
        },
    ]);
    vec![logs(T0, 1), traces, m]
}
