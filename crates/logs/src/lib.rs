//! lookout's log sources.
//!
//! - [`FilesSource`] (`type: files`): files matched by globs, followed across rename and
//!   copytruncate rotation by content fingerprint ([`lookout_tail`]).
//! - [`JournaldSource`] (`type: journald`): the systemd journal through a supervised
//!   `journalctl --output=json` (why not the files directly: see the `journald` module).
//! - [`DockerSource`] (`type: docker`): containers' json-file logs, partial records merged,
//!   the container's identity as the resource.
//!
//! # Delivery contract: acknowledged checkpoints
//! Every batch is sent with an acknowledgement token ([`lookout_pipeline::ack`]). A file offset
//! (or a journal cursor) is recorded only once the batch holding its lines is *settled* by every
//! consumer — appended to a disk buffer, or delivered by a sink with a memory buffer — and every
//! earlier batch is settled too ([`Ledger`]). The record is written to the checkpoint file every
//! `checkpoint_interval` (write, fsync, rename, fsync of the directory) and when the source
//! stops. So after a crash (`kill -9`, power loss) reading resumes at or before the first line not
//! yet settled: no line is lost, and the lines between the last saved checkpoint and the crash
//! are sent again (at-least-once). A line held in a multi-line record that is not complete yet is
//! never acknowledged: the checkpoint stays at the start of that record.
//!
//! Lines are read, joined and parsed on one thread per source (so a slow parser never blocks
//! the async workers), and sent in batches of at most `batch_max_records`.
#![deny(missing_docs)]

mod assemble;
mod docker;
mod files;
mod journald;
mod ledger;

pub use assemble::{parser_of, rule_of, Joined, Joiner, Recorder};
pub use docker::DockerSource;
pub use files::FilesSource;
pub use journald::{JournaldSource, CURSOR_FILE};
pub use ledger::Ledger;
