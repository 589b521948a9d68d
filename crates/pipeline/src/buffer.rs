//! Disk buffers: a sink's input kept in a `lookout-queue` write-ahead log in the data
//! directory, so accepted batches survive crashes, restarts and outages.
//!
//! A writer task takes batches from the sink's channel and appends them to the queue (applying
//! `when_full`, fsyncing on the configured interval); the sink reads records back through its
//! `SinkContext` and acknowledges them once delivered (or dead-lettered), which frees disk
//! space. Queues are opened once per directory and kept across reloads (the [`Registry`] holds
//! them), so a SIGHUP hands the same queue to the new sink; records that were in flight are
//! handed out again (at-least-once).

use crate::stats::ComponentStats;
use crate::topology::{Event, Msg};
use lookout_config::{BufferConfig, FsyncMode, WhenFull};
use lookout_model::{Batch, Signal};
use lookout_queue::{DiskQueue, FsyncPolicy, Push, QueueConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// One open disk queue, shared by its writer task and its sink.
pub struct DiskShared {
    pub(crate) queue: Mutex<DiskQueue>,
    /// Signalled when a record was appended.
    pub(crate) data: Notify,
    /// Signalled when records were acknowledged (space freed).
    pub(crate) space: Notify,
    pub(crate) dir: PathBuf,
}

impl std::fmt::Debug for DiskShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskShared")
            .field("dir", &self.dir)
            .finish()
    }
}

fn signal_byte(s: Signal) -> u8 {
    match s {
        Signal::Metrics => 0,
        Signal::Logs => 1,
        Signal::Traces => 2,
    }
}

fn signal_of(b: u8) -> Option<Signal> {
    match b {
        0 => Some(Signal::Metrics),
        1 => Some(Signal::Logs),
        2 => Some(Signal::Traces),
        _ => None,
    }
}

/// Opens (recovering) the queue of a sink.
pub(crate) fn open(dir: &Path, cfg: &BufferConfig, sink: &str) -> Result<Arc<DiskShared>, String> {
    let qc = QueueConfig {
        dir: dir.to_path_buf(),
        max_bytes: cfg.max_bytes,
        max_age: cfg.max_age.map(|d| d.0),
        segment_bytes: (cfg.max_bytes / 64).clamp(256 * 1024, 32 * 1024 * 1024),
        fsync: match cfg.fsync {
            FsyncMode::Always => FsyncPolicy::Always,
            FsyncMode::Interval => FsyncPolicy::Interval(cfg.fsync_interval.0),
            FsyncMode::Never => FsyncPolicy::Never,
        },
        when_full: match cfg.when_full {
            WhenFull::Block => lookout_queue::WhenFull::Block,
            WhenFull::DropNewest => lookout_queue::WhenFull::DropNewest,
            WhenFull::DropOldest => lookout_queue::WhenFull::DropOldest,
        },
    };
    let (queue, report) = DiskQueue::open(qc)
        .map_err(|e| format!("cannot open the disk buffer in {}: {e}", dir.display()))?;
    if report.corrupt_records > 0 || report.truncated_bytes > 0 || report.position_missing {
        tracing::warn!(
            sink = sink,
            "disk buffer {} recovered: {} record(s) kept, {} corrupt record(s) skipped, {} byte(s) of torn tail truncated{}",
            dir.display(),
            report.records,
            report.corrupt_records,
            report.truncated_bytes,
            if report.position_missing { ", position record missing (unacknowledged data may be sent again)" } else { "" }
        );
    } else if report.records > 0 {
        tracing::info!(
            sink = sink,
            "disk buffer {}: {} batch(es) waiting from the previous run",
            dir.display(),
            report.records
        );
    }
    Ok(Arc::new(DiskShared {
        queue: Mutex::new(queue),
        data: Notify::new(),
        space: Notify::new(),
        dir: dir.to_path_buf(),
    }))
}

/// Publishes the queue's depth in the sink's stats.
pub(crate) fn publish(shared: &DiskShared, stats: &ComponentStats) {
    let Ok(q) = shared.queue.lock() else { return };
    let s = q.stats();
    stats.buffer_depth.store(s.records, Relaxed);
    stats.set_gauge(
        "lookout_buffer_events",
        "Events (items) waiting in a sink's disk buffer.",
        s.events as f64,
    );
    stats.set_gauge(
        "lookout_buffer_bytes",
        "Bytes waiting in a sink's disk buffer.",
        s.bytes as f64,
    );
    let age = s.oldest_unix_ms.map_or(0.0, |ms| {
        (lookout_model::now_nanos() / 1_000_000).saturating_sub(ms) as f64 / 1000.0
    });
    stats.set_gauge(
        "lookout_buffer_oldest_age_seconds",
        "Age of the oldest batch waiting in a sink's disk buffer.",
        age,
    );
    stats.set_gauge(
        "lookout_buffer_corrupt_records",
        "Records of a disk buffer skipped as corrupt.",
        s.corrupt_records as f64,
    );
    stats.set_gauge(
        "lookout_buffer_expired_records",
        "Records of a disk buffer dropped for exceeding max_age.",
        s.expired_records as f64,
    );
    stats.set_gauge(
        "lookout_buffer_no_space",
        "1 while a sink's disk buffer cannot write for lack of disk space.",
        if s.no_space { 1.0 } else { 0.0 },
    );
}

/// The writer task: appends what arrives on `rx` until it closes, then flushes.
pub(crate) async fn writer(
    shared: Arc<DiskShared>,
    mut rx: mpsc::Receiver<Msg>,
    cfg: BufferConfig,
    stats: Arc<ComponentStats>,
    done: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(cfg.fsync_interval.0.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut no_space = false;
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tick.tick() => {
                let sh = shared.clone();
                // only when the policy says so: `never` must not fsync on every tick
                let r = tokio::task::spawn_blocking(move || match sh.queue.lock() {
                    Ok(mut q) if q.flush_due() => q.flush().map_err(|e| e.to_string()),
                    Ok(_) => Ok(()),
                    Err(_) => Err("queue lock poisoned".to_string()),
                })
                .await;
                if let Ok(Err(e)) = r {
                    stats.record_error(&format!("disk buffer fsync failed: {e}"));
                }
                publish(&shared, &stats);
                continue;
            }
        };
        // the token (if any) settles when this iteration ends, unless the write fails
        let Some((ev, tok, _)) = ev else { break };
        let items = ev.item_count() as u64;
        let payload = Arc::new(ev.encode_protobuf());
        let events = u32::try_from(items).unwrap_or(u32::MAX);
        let signal = signal_byte(ev.signal());
        loop {
            // file I/O (and fsync) off the async workers
            let (sh, pl) = (shared.clone(), payload.clone());
            let r = tokio::task::spawn_blocking(move || {
                sh.queue
                    .lock()
                    .map_err(|_| "queue lock poisoned".to_string())
                    .and_then(|mut q| q.push(signal, events, &pl).map_err(|e| e.to_string()))
            })
            .await
            .unwrap_or_else(|e| Err(format!("disk buffer task failed: {e}")));
            match r {
                Ok(Push::Accepted { .. }) => {
                    if no_space {
                        no_space = false;
                        tracing::info!(sink = %stats.id, "disk buffer {} writes again", shared.dir.display());
                    }
                    shared.data.notify_one();
                    break;
                }
                Ok(Push::AcceptedDroppedOldest { dropped_events, .. }) => {
                    stats.record_full_drop(dropped_events, &stats.id);
                    shared.data.notify_one();
                    break;
                }
                Ok(Push::DroppedNewest) => {
                    stats.record_full_drop(items, &stats.id);
                    break;
                }
                Ok(Push::Full) => {
                    // block: wait for the sink to acknowledge something, then try again
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), shared.space.notified())
                            .await;
                }
                Err(e) => {
                    // a full disk (or another write error): the queue stays consistent; drop
                    // this batch (counted), report, and try the next one
                    if !no_space {
                        no_space = true;
                        tracing::error!(sink = %stats.id, "disk buffer {} cannot write: {e}; dropping new batches until it can", shared.dir.display());
                    }
                    stats.record_failure(&format!("disk buffer cannot write: {e}"));
                    stats.dropped_items.fetch_add(items, Relaxed);
                    if let Some(t) = &tok {
                        t.fail();
                    }
                    break;
                }
            }
        }
        publish(&shared, &stats);
    }
    let sh = shared.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Ok(mut q) = sh.queue.lock() {
            let _ = q.flush();
        }
    })
    .await;
    done.store(true, Relaxed);
    shared.data.notify_one();
}

/// The sink side of a disk buffer.
pub(crate) struct DiskInput {
    pub(crate) shared: Arc<DiskShared>,
    pub(crate) writer_done: Arc<AtomicBool>,
    pub(crate) last_id: Option<u64>,
    /// A read in flight: kept across cancellations of `recv` (a sink may race it against a
    /// timer), so a record taken from the queue is never lost.
    pub(crate) pending:
        Option<tokio::task::JoinHandle<Result<Option<lookout_queue::Record>, String>>>,
    /// When the position record was last written.
    pub(crate) last_ack: Option<std::time::Instant>,
    /// The highest id delivered but not yet written to the position record.
    pub(crate) unacked: Option<u64>,
}

impl Drop for DiskInput {
    /// A sink that stops (or is replaced by a reload) writes the acknowledgement it still
    /// owes, so what it delivered is not sent again.
    fn drop(&mut self) {
        if let Some(id) = self.unacked.take() {
            if let Ok(mut q) = self.shared.queue.lock() {
                let _ = q.ack(id);
            }
        }
    }
}

/// Acknowledgements are written to the position record at most this often (each write is an
/// fsync); a crash in between sends those batches again (at-least-once).
const ACK_EVERY: Duration = Duration::from_millis(200);

impl DiskInput {
    /// The next batch; None once `stop` fired (what is queued stays on disk) or the writer is
    /// done and nothing is left.
    pub(crate) async fn recv(
        &mut self,
        stop: &mut crate::topology::Shutdown,
        stats: &ComponentStats,
    ) -> Option<Event> {
        loop {
            if stop.is_set() {
                self.write_ack().await;
                return None;
            }
            if self.unacked.is_some() && self.last_ack.is_some_and(|t| t.elapsed() >= ACK_EVERY) {
                self.write_ack().await;
            }
            let handle = self.pending.get_or_insert_with(|| {
                let sh = self.shared.clone();
                tokio::task::spawn_blocking(move || {
                    sh.queue
                        .lock()
                        .map_err(|_| "queue lock poisoned".to_string())
                        .and_then(|mut q| q.next().map_err(|e| e.to_string()))
                })
            });
            let joined = handle.await;
            self.pending = None;
            let next = match joined {
                Ok(n) => n,
                Err(_) => return None,
            };
            match next {
                Ok(Some(rec)) => {
                    self.last_id = Some(rec.id);
                    let Some(signal) = signal_of(rec.signal) else {
                        stats.record_error(&format!(
                            "disk buffer record {} has an unknown signal; skipped",
                            rec.id
                        ));
                        self.ack().await;
                        continue;
                    };
                    match Batch::decode_protobuf(signal, &rec.payload) {
                        Ok(b) => return Some(Arc::new(b)),
                        Err(e) => {
                            stats.record_error(&format!(
                                "disk buffer record {} is not valid OTLP ({e}); skipped",
                                rec.id
                            ));
                            self.ack().await;
                            continue;
                        }
                    }
                }
                Ok(None) => {
                    // idle: make what was delivered durable now
                    self.write_ack().await;
                    if self.writer_done.load(Relaxed) {
                        return None;
                    }
                }
                Err(e) => {
                    stats.record_error(&format!("disk buffer read failed: {e}"));
                }
            }
            tokio::select! {
                _ = self.shared.data.notified() => {}
                _ = stop.wait() => {
                    self.write_ack().await;
                    return None;
                }
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Acknowledges everything handed out so far. The position record is written (and
    /// fsynced, off the async workers) at most every [`ACK_EVERY`], or when `force`.
    pub(crate) async fn ack(&mut self) {
        self.unacked = self.last_id;
        let due = self.last_ack.is_none_or(|t| t.elapsed() >= ACK_EVERY);
        if due {
            self.write_ack().await;
        }
    }

    /// Writes the pending acknowledgement now.
    pub(crate) async fn write_ack(&mut self) {
        if let Some(id) = self.unacked.take() {
            self.last_ack = Some(std::time::Instant::now());
            let sh = self.shared.clone();
            // even a failed position write frees the acknowledged segments in memory and on disk
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(mut q) = sh.queue.lock() {
                    let _ = q.ack(id);
                }
            })
            .await;
            self.shared.space.notify_one();
        }
    }
}
