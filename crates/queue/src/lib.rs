//! `lookout-queue` is the durable half of a sink's buffer: a [`DiskQueue`] keeps the OTLP export
//! requests a sink has accepted in a segmented, checksummed write-ahead log on disk until the
//! sink acknowledges their delivery, so they survive crashes, restarts, outages and full disks.
//! It is opened with a [`QueueConfig`] (size and age limits, an [`FsyncPolicy`], a [`WhenFull`]
//! policy), reports what it repaired at open in a [`RecoveryReport`], takes records with
//! [`DiskQueue::push`] (answering a [`Push`]), hands them out as [`Record`]s with
//! [`DiskQueue::next`], forgets them at [`DiskQueue::ack`] and counts everything in
//! [`QueueStats`]. Errors are [`QueueError`]s that name the path involved. It is synchronous and
//! knows nothing of tokio or of OTLP: `lookout-pipeline` wraps it in a mutex and a notifier and
//! feeds it encoded batches. It depends on no other lookout crate. The design is in
//! `docs/queue.md`; in short:
//!
//! - **Files.** One directory per queue (created 0700) holds segment files named after their
//!   first record's id (`00000000000000000001.wal`), a 20-byte `position` file with the last
//!   acknowledged id and its checksum, and a `lock` file held with an exclusive `flock` for the
//!   queue's lifetime (a second opener gets [`QueueError::Locked`]). Anything else in the
//!   directory is left alone.
//! - **Records** are framed as magic/version byte, u32 length, CRC32C of the rest, then id,
//!   signal, events, enqueued time and payload (layout in the `format` module). Ids are
//!   consecutive. The writer appends to the newest segment and starts a new one (fsyncing the
//!   old) when a record would take it past `segment_bytes`.
//! - **Reading** is sequential through a separate file handle; nothing queued is held in memory
//!   except the record being returned and, per record handed out but not yet acknowledged, a few
//!   dozen bytes of bookkeeping. Acknowledging id N acknowledges everything up to N: segments
//!   whose records are all acknowledged are deleted, and the position file is rewritten (under
//!   [`FsyncPolicy::Always`] a temp file fsynced, renamed, the directory fsynced; otherwise one
//!   write in place, fsynced by the next [`DiskQueue::flush`]). Delivery is at-least-once.
//! - **Durability** follows the [`FsyncPolicy`], whose documentation says exactly what each
//!   policy can lose on power failure (nothing accepted under `Always`; one flush interval under
//!   `Interval`; what the page cache held under `Never`; a process crash loses nothing).
//! - **Limits.** `max_bytes` bounds the unacknowledged bytes (a record alone larger is
//!   [`QueueError::TooLarge`]); when full, [`WhenFull`] blocks, drops the newest or drops the
//!   oldest, counted. Records older than `max_age` are skipped by `next` and counted as expired.
//! - **Full disk.** A write error during a push cuts the segment back to the last record
//!   boundary, so no file ever holds a partial record; ENOSPC sets [`QueueStats::no_space`] and
//!   returns [`QueueError::NoSpace`]; reading and acknowledging go on (acknowledging frees
//!   space), and the next successful push clears the flag.
//! - **Recovery** at [`DiskQueue::open`] checks every record's checksum: a torn tail is
//!   truncated, a damaged record is skipped (by its length field when that is plausible, else by
//!   scanning for the next valid record) and counted, a missing or corrupt position means
//!   starting from the oldest record on disk. `open` fails only for the directory itself (lock,
//!   permission, I/O), so the agent never crash-loops on a damaged queue.
#![deny(missing_docs)]

mod config;
mod error;
mod format;
mod queue;
mod recovery;
#[cfg(test)]
mod testutil;

pub use config::{FsyncPolicy, QueueConfig, WhenFull, DEFAULT_MAX_BYTES, DEFAULT_SEGMENT_BYTES};
pub use error::QueueError;
pub use queue::{DiskQueue, Push, QueueStats, Record, SIGNAL_LOGS, SIGNAL_METRICS, SIGNAL_TRACES};
pub use recovery::RecoveryReport;
