//! lookout's local analytics store: an embedded DuckDB in the data directory, written through
//! the `duckdb` sink, with the OpenTelemetry Collector ClickHouse exporter's tables
//! ([`schema`]), retention by age and size, and read-only SQL ([`query`]). See
//! `docs/store.md`.
#![deny(missing_docs)]

pub mod convert;
pub mod db;
pub mod query;
pub mod schema;
pub mod sink;
#[doc(hidden)]
pub mod testdata;

pub use db::{open_stores, Retention, Store, StoreStats};
pub use duckdb;
pub use sink::DuckdbSink;
