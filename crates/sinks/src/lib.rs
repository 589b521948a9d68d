//! lookout's sinks: where batches leave the pipeline.
//!
//! - [`otlp_http::OtlpHttpSink`]: OTLP/HTTP protobuf to any OpenTelemetry backend (New Relic
//!   included), built as small layers: [`limits`] (attribute limits), [`split`] (request size),
//!   [`compress`], and a retry loop with full-jitter backoff ([`retry`]).
//! - [`prometheus::PrometheusSink`]: keeps the latest value of each series and publishes a
//!   text exposition page through the pipeline's `Routes`.
//! - [`file::FileSink`]: appends OTLP/JSON lines (the official JSON encoding).
//!
//! Each sink reports received/sent/dropped/errors and delivery latency in its
//! `ComponentStats`, and health through `record_success`/`record_failure`.
#![deny(missing_docs)]

pub mod circuit;
pub mod compress;
pub mod dead_letter;
pub mod file;
pub mod limits;
pub mod otlp_http;
pub mod prometheus;
pub mod retry;
pub mod split;
pub mod tls;
