//! Synchronous core of the lookout file tailer: discovery, file identity, rotation handling,
//! reading lines with limits and fairness, and a crash-safe checkpoint store. Plain std I/O; an
//! async source drives [`Tailer::poll`] on a timer and acknowledges with [`Tailer::ack`].
//!
//! # Discovery
//! [`Discovery`] turns include globs (absolute; `*`, `?`, `[abc]`, `**` for any number of
//! directories) and exclude globs (absolute, or a file-name pattern like `*.gz`) into the regular
//! files matching now. Only the directories the globs need are listed; symlinks are followed and
//! a directory reached twice through links in one `**` walk is walked once; a directory that
//! cannot be listed is counted ([`TailStats::unreadable_dirs`]), never fatal.
//!
//! # File identity: the fingerprint
//! A file is identified by its *content*, not its path: the fingerprint is SHA-256 (folded to 64
//! bits) of its first line including the newline, or of its first `fingerprint_bytes` (default
//! 256) if the first line is longer. A file with fewer bytes and no complete line has no
//! fingerprint yet and is not read until it has one (checked every poll). The fingerprint is
//! stable as the file grows, so:
//!
//! - **rename rotation** (`app.log` → `app.log.1`, new `app.log`): the open handle keeps reading
//!   the renamed file to its end (it is followed by (device, inode), its path updated if the
//!   new name is matched); the new `app.log` has a new fingerprint and is read from offset 0.
//!   Exactly once.
//! - **copytruncate** (copy to `app.log.1`, truncate `app.log` in place): a claimed file whose
//!   size drops below the read offset, or whose first bytes changed, was rewritten; the position
//!   reached in the old content is remembered under the old fingerprint and the same handle
//!   restarts at 0 as new content. The copy has the old fingerprint, so it is read from the
//!   remembered position: the lines written between our last read and the copy are recovered,
//!   nothing is read twice. The identity is checked again after each read, so bytes read across a
//!   concurrent truncation are dropped rather than emitted.
//! - one fingerprint is read by one handle at a time: another file with the same fingerprint (a
//!   copy made while the original is still being read) waits until the first is done, then
//!   starts at the position reached.
//! - **deleted while open**: read to its end through the open handle, then released.
//!
//! ## Duplication and loss window
//! Within one process, rename rotation and copytruncate are exactly-once, except:
//! - *copytruncate loss*: lines written to the file between the copy and the truncation are lost
//!   (inherent to copytruncate) unless we read them before the truncation; the copy must match
//!   the include globs for the gap between our last read and the copy to be recovered.
//! - *identical first lines*: two different files whose first line (up to `fingerprint_bytes`)
//!   is identical have the same identity; the second is taken for a copy of the first and read
//!   from the first's position (loss). Likewise a file truncated and rewritten with the same
//!   first line and grown past the old offset before the next poll is not seen as truncated.
//!
//! - *never seen*: discovery polls, so a file that is renamed away from every matched path
//!   before any scan saw it is never read. Let rotated names match the include globs (e.g.
//!   `app.log*`) to close this: the rotated file is then found under its new name and read once.
//!
//! Across a restart, delivery is at-least-once: reading resumes at the last *acknowledged*
//! offset, so lines emitted after the last [`Tailer::ack`] that was saved are emitted again. A
//! rotated file is only resumed after a restart if its new name matches the include globs.
//!
//! # Reading
//! [`Tailer::poll`] never waits: it stats each open file and reads to the current end of file,
//! at most `read_budget_bytes` per file per poll, starting the round at a different file each
//! time (round-robin), so a busy file cannot starve the others. Lines longer than
//! `max_line_bytes` are emitted with their first `max_line_bytes` bytes (cut back to a character
//! boundary) and `truncated: true` once their newline is found; the rest is skipped and counted.
//! A trailing `\r` before the `\n` is removed. Invalid UTF-8 is replaced (lossy) and counted. An
//! incomplete last line is held until its newline arrives; if the file stays idle for
//! `release_after` (or is rotated away and idle), it is emitted with `offset_after` at its last
//! byte, and a later continuation becomes a separate line.
//!
//! A rotated-away (no longer matched) or deleted file is closed once read to its end and idle
//! for `release_after`. Rotated files that still match the include globs stay open while they
//! exist; use excludes (e.g. `*.gz`, `/var/log/app.log.[2-9]`) to bound them.
//!
//! # Checkpoints
//! [`Checkpoints`] maps fingerprint → (last path, acknowledged offset, device/inode hint,
//! updated time). [`Tailer::ack`] records progress after the pipeline accepted lines;
//! [`Checkpoints::save`] writes a temporary file, fsyncs it, renames it over `checkpoints.json`
//! and fsyncs the directory; [`Checkpoints::load`] treats a missing file as empty and moves a
//! corrupt one to `checkpoints.json.corrupt`. On start, a file whose fingerprint has a checkpoint
//! resumes at its offset; if it is now shorter and has the same inode it was truncated and is
//! read from 0 (a *different* file with that fingerprint is a copy: it resumes at the offset).
//! With an empty store (very first start) `start_at` decides where files found by the first
//! scan begin; files appearing later, or with no checkpoint on a later start, are read from the
//! beginning. Entries unused for `checkpoint_max_age` are pruned, and at most `max_checkpoints`
//! are kept.
//!
//! # Not done
//! Reading compressed rotated files (`.gz`) is not implemented: a fingerprint only covers plain
//! files, so exclude `*.gz`. Per-line timestamps, multi-line joining and encodings other than
//! UTF-8 belong to later stages.

mod checkpoint;
mod discovery;
mod glob;
mod tailer;

pub use checkpoint::{
    unix_ms, write_atomic, Checkpoint, Checkpoints, LoadStatus, CHECKPOINT_CORRUPT,
    CHECKPOINT_FILE, CHECKPOINT_TMP,
};
pub use discovery::{Discovery, FoundFile, Scan};
pub use glob::{Glob, GlobError};
pub use tailer::{
    ConfigError, FileStatus, Line, PollStats, StartAt, TailConfig, TailStats, Tailer,
};
