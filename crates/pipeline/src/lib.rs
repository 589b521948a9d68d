//! lookout's pipeline runtime.
//!
//! Components implement [`Source`], [`Processor`] or [`Sink`]. A [`Factory`] (implemented by
//! the binary, which knows every concrete component) turns each entry of a validated
//! [`lookout_config::Config`] into one; [`Topology::build`] wires them with bounded channels and
//! [`Topology::start`] runs them. Data flows one way: a source sends [`lookout_model::Batch`]es
//! to its [`Output`], which fans out to processors and to the buffer in front of each sink
//! (`block` or `drop_newest` when full). Every component reports the same counters into the
//! [`Registry`] ([`stats`]), which `/metrics`, `/health` and `/status` read. Shutdown stops the
//! sources first, then lets processors and sinks drain within a grace period. Prometheus-style
//! sinks publish pages through [`Routes`], served by the agent's HTTP server.
#![deny(missing_docs)]

pub mod ack;
mod buffer;
mod routes;
pub mod stats;
pub mod taps;
pub mod testkit;
mod topology;

pub use ack::{AckToken, Acks, Receipt};
pub use routes::{Page, Routes};
pub use stats::{ComponentKind, ComponentSnapshot, ComponentStats, Labeled, Registry};
pub use topology::{
    BoxFuture, BuildContext, BuildError, Busy, Event, Factory, Output, Processor, Retry, Shutdown,
    Sink, SinkContext, Source, SourceContext, Topology,
};
