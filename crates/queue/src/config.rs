//! What a queue is asked to be: [`QueueConfig`] with its [`FsyncPolicy`] and [`WhenFull`].

use std::path::PathBuf;
use std::time::Duration;

use crate::QueueError;

/// The default size at which the writer starts a new segment file: 32 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 32 * 1024 * 1024;

/// The default limit on unacknowledged bytes: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// When written records are forced to the disk with `fsync(2)`.
///
/// What each can lose when the *machine* loses power (a crash of the process alone loses
/// nothing under any policy: written data is in the kernel's page cache):
///
/// - [`Always`](FsyncPolicy::Always): nothing that [`push`](crate::DiskQueue::push) accepted;
///   every acknowledgement is durable too, so only the batch in flight is delivered again.
/// - [`Interval`](FsyncPolicy::Interval): the records accepted since the last successful
///   [`flush`](crate::DiskQueue::flush), so about one interval (plus however late the caller's
///   timer runs); acknowledgements of the last interval may be forgotten, so that much is
///   delivered twice.
/// - [`Never`](FsyncPolicy::Never): whatever the kernel had not yet written back (Linux writes
///   dirty pages back after about 30 s by default), except for segments already rolled, which
///   are fsynced when the writer leaves them.
///
/// Whatever a power failure does to the files, recovery finds the damage by checksum: a queue
/// never hands out a record that differs from what was pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync after every push, and write the position durably on every acknowledgement.
    Always,
    /// `push` never fsyncs; the caller calls [`flush`](crate::DiskQueue::flush) when
    /// [`flush_due`](crate::DiskQueue::flush_due) says so (about this often).
    Interval(Duration),
    /// fsync only when rolling to a new segment, on `flush` and when the queue is dropped.
    Never,
}

/// What [`push`](crate::DiskQueue::push) does when the record would take the unacknowledged
/// bytes past [`QueueConfig::max_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Write nothing and return [`Push::Full`](crate::Push::Full): the caller waits for an
    /// acknowledgement and tries again (back-pressure).
    Block,
    /// Drop (acknowledge unsent) the oldest records until the new one fits.
    DropOldest,
    /// Drop the new record.
    DropNewest,
}

/// Where a queue lives and how it behaves. Build one with [`QueueConfig::new`] and change the
/// fields that matter; every field is public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// The queue's own directory (created with mode 0700 if missing). One queue per directory.
    pub dir: PathBuf,
    /// The most unacknowledged record bytes the queue holds (framing included). The files on
    /// disk can exceed it by up to one segment: a segment is deleted only when every record in
    /// it is acknowledged.
    pub max_bytes: u64,
    /// Records older than this when [`next`](crate::DiskQueue::next) reaches them are skipped
    /// and counted as expired.
    pub max_age: Option<Duration>,
    /// The writer starts a new segment file when the current one would grow past this (a single
    /// larger record gets a segment of its own).
    pub segment_bytes: u64,
    /// When data is fsynced.
    pub fsync: FsyncPolicy,
    /// What a push does when the queue is full.
    pub when_full: WhenFull,
}

impl QueueConfig {
    /// A queue in `dir` with the defaults: at most [`DEFAULT_MAX_BYTES`], no age limit,
    /// [`DEFAULT_SEGMENT_BYTES`] segments, fsync every 500 ms, block when full.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        QueueConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_age: None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            fsync: FsyncPolicy::Interval(Duration::from_millis(500)),
            when_full: WhenFull::Block,
        }
    }

    /// Rejects values the queue cannot work with.
    pub(crate) fn check(&self) -> Result<(), QueueError> {
        let reason = if self.max_bytes == 0 {
            "max_bytes must be at least 1"
        } else if self.segment_bytes == 0 {
            "segment_bytes must be at least 1"
        } else if self.fsync == FsyncPolicy::Interval(Duration::ZERO) {
            "an fsync interval must be longer than zero (use FsyncPolicy::Always)"
        } else {
            return Ok(());
        };
        Err(QueueError::Config {
            dir: self.dir.clone(),
            reason,
        })
    }
}
