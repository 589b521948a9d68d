//! [`QueueError`]: what went wrong, with the path it went wrong on, sorted by what the caller
//! should do.

use std::io;
use std::path::PathBuf;

/// Why a queue operation failed. Every variant names the file or directory involved.
///
/// What the caller should do:
/// - [`Locked`](QueueError::Locked), [`Config`](QueueError::Config): fix the configuration
///   (two sinks share a directory, or another agent runs); retrying will not help.
/// - [`NoSpace`](QueueError::NoSpace): the record was not written and the queue is unchanged;
///   reading and acknowledging go on, and a later push succeeds once space is back.
/// - [`TooLarge`](QueueError::TooLarge): this record can never fit; dead-letter it.
/// - [`Io`](QueueError::Io): report it; the queue stays consistent (a failed push wrote
///   nothing), so the operation may be retried.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Another queue (in this process or another) holds the directory's lock.
    #[error("the queue in {dir} is in use by another process (its lock file is held)")]
    Locked {
        /// The queue's directory.
        dir: PathBuf,
    },
    /// The file system is full (ENOSPC) or the quota is exhausted (EDQUOT). The record was not
    /// written.
    #[error("no space left to write {path}: {source}")]
    NoSpace {
        /// The file being written.
        path: PathBuf,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
    /// One record is larger than the whole queue may hold.
    #[error("a record of {bytes} bytes cannot fit in the queue in {dir} (max_bytes {max_bytes})")]
    TooLarge {
        /// The queue's directory.
        dir: PathBuf,
        /// The record's size on disk, framing included.
        bytes: u64,
        /// The configured limit.
        max_bytes: u64,
    },
    /// The configuration cannot work.
    #[error("invalid queue configuration for {dir}: {reason}")]
    Config {
        /// The queue's directory.
        dir: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// Any other I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
}

impl QueueError {
    /// An I/O error on `path`, sorted: a full disk or quota becomes [`QueueError::NoSpace`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if is_no_space(&source) {
            QueueError::NoSpace { path, source }
        } else {
            QueueError::Io { path, source }
        }
    }
}

/// ENOSPC or EDQUOT.
pub(crate) fn is_no_space(e: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}
