//! Helpers shared by the tests: configurations, payloads, draining, a settable clock and a
//! look at the files.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::path::{Path, PathBuf};

use crate::{DiskQueue, FsyncPolicy, QueueConfig, Record, WhenFull};

/// A queue in `dir` with no size pressure, small segments and no fsync (tests that check
/// durability choose their policy).
pub(crate) fn config(dir: &Path) -> QueueConfig {
    QueueConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 30,
        max_age: None,
        segment_bytes: 4096,
        fsync: FsyncPolicy::Never,
        when_full: WhenFull::Block,
    }
}

pub(crate) fn open(cfg: &QueueConfig) -> DiskQueue {
    DiskQueue::open(cfg.clone()).unwrap().0
}

/// A payload that tells records apart: `len` bytes derived from `n`.
pub(crate) fn payload(n: u64, len: usize) -> Vec<u8> {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Everything `next` hands out until it returns `None`.
pub(crate) fn drain(q: &mut DiskQueue) -> Vec<Record> {
    std::iter::from_fn(|| q.next().unwrap()).collect()
}

/// Pushes `n` records (ids from the queue), payload `i` for the i-th push, `len` bytes each.
pub(crate) fn push_n(q: &mut DiskQueue, from: u64, n: u64, len: usize) -> Vec<u64> {
    (from..from + n)
        .map(|i| match q.push(1, 3, &payload(i, len)).unwrap() {
            crate::Push::Accepted { id } => id,
            other => panic!("push {i}: {other:?}"),
        })
        .collect()
}

/// The segment files in `dir`, oldest first.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

thread_local! {
    static NOW: Cell<u64> = const { Cell::new(1_700_000_000_000) };
}

/// A clock for [`DiskQueue::set_clock`] that reads [`set_now`] (per test thread).
pub(crate) fn fake_clock() -> u64 {
    NOW.with(Cell::get)
}

pub(crate) fn set_now(ms: u64) {
    NOW.with(|n| n.set(ms));
}

/// A temporary directory on a tmpfs when there is one (`/dev/shm`): fsync costs nothing there,
/// so property tests can run many cases under `FsyncPolicy::Always` quickly.
pub(crate) fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lookout-queue-test")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap()
}
