//! The OpenTelemetry data model as lookout carries it.
//!
//! Every signal moves through the pipeline as a [`Batch`]: an OTLP export request (`resource →
//! scope → metrics | logs | spans`) built from the `opentelemetry-proto` crate's prost types, so
//! what sits in memory is exactly what goes on the wire, into a disk queue or a dead-letter file.
//! Collectors never assemble protobuf by hand: they use [`MetricsBuilder`] and the attribute helpers
//! in [`attr`], and name metrics with the constants in [`semconv`].
//!
//! Neighbours: `lookout-pipeline` moves batches between components; sinks encode them with
//! [`Batch::encode_protobuf`] or [`Batch::to_json`].
#![deny(missing_docs)]

pub mod attr;
mod batch;
mod builder;
pub mod logs;
pub mod semconv;
pub mod temporality;

pub use batch::{metric_points, Batch, Signal};
pub use builder::{MetricBuilder, MetricsBuilder, Monotonic};

/// The OTLP message types (prost structs) lookout uses, re-exported so other crates need not
/// depend on `opentelemetry-proto` directly.
pub mod otlp {
    pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    pub use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
    };
    pub use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    pub use opentelemetry_proto::tonic::metrics::v1::{
        metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
        Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    };
    pub use opentelemetry_proto::tonic::resource::v1::Resource;
    pub use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
}

/// Nanoseconds since the Unix epoch for a [`std::time::SystemTime`], as OTLP timestamps want.
/// A time before the epoch (a badly set clock) gives 0 rather than panicking.
pub fn unix_nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The current time as OTLP nanoseconds.
pub fn now_nanos() -> u64 {
    unix_nanos(std::time::SystemTime::now())
}
