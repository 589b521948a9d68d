//! The `duckdb` sink: batches from the pipeline into the store, combined up to
//! `batch_max_rows` per transaction, acknowledged once committed. A failed write (a full disk)
//! is retried every second with the same rows until the shutdown grace ends.

use crate::convert::Rows;
use crate::db::{Retention, Store};
use lookout_config::DuckdbSinkConfig;
use lookout_pipeline::{BoxFuture, Retry, Sink, SinkContext};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// The store's path for a sink config: its `path`, or `<data_dir>/store/lookout.duckdb`.
pub fn store_path(cfg: &DuckdbSinkConfig, data_dir: &Path) -> PathBuf {
    cfg.path
        .clone()
        .unwrap_or_else(|| data_dir.join("store").join("lookout.duckdb"))
}

/// The retention of a sink config.
pub fn retention(cfg: &DuckdbSinkConfig) -> Retention {
    Retention {
        max_age: cfg.retention.max_age.0,
        tables: cfg
            .tables
            .iter()
            .map(|(k, v)| (k.clone(), v.max_age.0))
            .collect(),
        max_bytes: cfg.retention.max_bytes,
        check_interval: cfg.retention.check_interval.0,
    }
}

/// The sink.
pub struct DuckdbSink {
    store: Arc<Store>,
    batch_max_rows: usize,
}

impl DuckdbSink {
    /// Opens (or shares) the store.
    pub fn new(cfg: &DuckdbSinkConfig, data_dir: &Path) -> Result<Self, String> {
        let store = Store::open(&store_path(cfg, data_dir), retention(cfg))?;
        for n in &store.notes {
            tracing::error!("store: {n}");
        }
        Ok(DuckdbSink {
            store,
            batch_max_rows: cfg.batch_max_rows,
        })
    }
}

impl Sink for DuckdbSink {
    fn run(self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
        Box::pin(async move {
            while let Some(ev) = cx.recv().await {
                let mut rows = Rows::default();
                let mut items = ev.item_count() as u64;
                rows.add(&ev);
                while rows.len() < self.batch_max_rows {
                    match cx.try_recv() {
                        Some(ev) => {
                            items += ev.item_count() as u64;
                            rows.add(&ev);
                        }
                        None => break,
                    }
                }
                let batches = match rows.finish() {
                    Ok(b) => b,
                    Err(e) => {
                        cx.stats.dropped_items.fetch_add(items, Relaxed);
                        cx.stats.record_error(&e);
                        cx.ack().await;
                        continue;
                    }
                };
                loop {
                    let t = Instant::now();
                    let store = self.store.clone();
                    let b = batches.clone();
                    let r = tokio::task::spawn_blocking(move || store.write_blocking(b))
                        .await
                        .unwrap_or_else(|e| Err(format!("the store writer failed: {e}")));
                    match r {
                        Ok(_) => {
                            cx.delivered(items, t).await;
                            break;
                        }
                        Err(e) => {
                            cx.stats.record_failure(&format!(
                                "cannot write to {}: {e}",
                                self.store.path().display()
                            ));
                            match cx.pause_before_retry(items).await {
                                Retry::Again => {}
                                Retry::GiveUp => break,
                                Retry::Stop => return, // stays queued on disk
                            }
                        }
                    }
                }
            }
        })
    }
}
