//! lookout's sources: the components that produce batches.
//!
//! [`HostMetricsSource`] reads the kernel's counters through `lookout-proc` (a [`lookout_proc::ProcFs`]
//! for `/proc`, [`lookout_proc::statvfs`] for filesystems) every interval and sends one OpenTelemetry
//! metrics batch, named like the Collector's hostmetrics receiver, to its
//! [`lookout_pipeline::Output`]; it implements [`lookout_pipeline::Source`], is configured by a
//! [`lookout_config::HostMetricsConfig`] and is built by the binary's `Factory`.
//! [`detect_host_resource`] works out the host resource attributes (`host.name`, `host.id`,
//! `os.description`, ...) that every source's batches carry.
#![deny(missing_docs)]

pub mod host;
pub mod process;
pub mod resource;

pub use host::{Collection, CollectorError, HostMetricsSource};
pub use process::ProcessMetricsSource;
pub use resource::detect_host_resource;

#[cfg(test)]
mod testutil;
