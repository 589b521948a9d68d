//! lookout's receivers: sources that applications push into.
//!
//! - [`otlp::OtlpSource`]: OTLP/gRPC and OTLP/HTTP for metrics, logs and traces.
//! - [`statsd::StatsdSource`]: StatsD/DogStatsD over UDP, a Unix datagram socket and TCP,
//!   aggregated per flush window by `lookout-statsd`.
//!
//! Every listener binds loopback unless configured otherwise, and answers back-pressure the way
//! its protocol lets senders retry (OTLP) or counts what the kernel dropped (UDP).
#![deny(missing_docs)]

pub mod listen;
pub mod otlp;
pub mod statsd;
pub mod tls;
