//! A full disk: a 1 MiB tmpfs filled through `push` until ENOSPC. Nothing accepted may be lost
//! or damaged, the queue must keep reading and acknowledging, and pushes must succeed again
//! once acknowledgements free space. Needs root (to mount); skipped otherwise.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::testutil::{drain, payload};

/// A size-limited tmpfs, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .ok()?;
        status.status.success().then(|| Tmpfs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // A child forked meanwhile by another test may still hold a descriptor in it: then
        // detach it (lazy unmount), it goes when the last descriptor does.
        let done = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !done {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

fn full_disk_config(dir: PathBuf, fsync: FsyncPolicy) -> QueueConfig {
    QueueConfig {
        dir,
        max_bytes: 64 << 20, // far more than the disk: the disk fills first
        max_age: None,
        segment_bytes: 64 << 10,
        fsync,
        when_full: WhenFull::Block,
    }
}

/// Pushes records of varying size until the disk is full; returns what was accepted.
fn fill(q: &mut DiskQueue) -> Vec<(u64, Vec<u8>)> {
    let mut accepted = Vec::new();
    for i in 1.. {
        assert!(i < 10_000, "the disk never filled");
        let p = payload(i, 5_000 + (i as usize % 7) * 1_000);
        match q.push(1, 3, &p) {
            Ok(Push::Accepted { id }) => accepted.push((id, p)),
            Err(QueueError::NoSpace { path, .. }) => {
                assert!(path.starts_with(q.dir()), "{}", path.display());
                break;
            }
            other => panic!("push {i}: {other:?}"),
        }
    }
    accepted
}

fn check(records: &[Record], accepted: &[(u64, Vec<u8>)]) {
    assert_eq!(records.len(), accepted.len());
    for (r, (id, p)) in records.iter().zip(accepted) {
        assert_eq!(r.id, *id);
        assert!(r.payload == *p, "record {id} differs");
    }
}

#[test]
fn a_full_disk_never_corrupts_and_recovers_when_space_returns() {
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Never] {
        let Some(fs) = Tmpfs::mount("1m") else {
            println!("skipped: needs root to mount a size-limited tmpfs");
            return;
        };
        let cfg = full_disk_config(fs.path().join("queue"), fsync);
        let mut q = DiskQueue::open(cfg.clone()).unwrap().0;
        let accepted = fill(&mut q);
        assert!(
            accepted.len() > 50,
            "{fsync:?}: only {} records fit",
            accepted.len()
        );
        assert!(q.stats().no_space);
        // Failing again changes nothing.
        assert!(matches!(
            q.push(1, 3, &payload(0, 20_000)),
            Err(QueueError::NoSpace { .. })
        ));
        assert_eq!(q.stats().records, accepted.len() as u64);

        // The queue goes on: everything accepted reads back intact, while full.
        check(&drain(&mut q), &accepted);
        q.rewind();

        // Every file holds whole records only: a reopen finds nothing to repair.
        drop(q);
        let (mut q, report) = DiskQueue::open(cfg.clone()).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                records: accepted.len() as u64,
                ..RecoveryReport::default()
            },
            "{fsync:?}"
        );
        check(&drain(&mut q), &accepted);

        // Acknowledging frees whole segments (deleted before the position is written, which
        // needs space itself), then pushes succeed and clear the flag.
        let half = accepted[accepted.len() / 2].0;
        let segments = q.stats().segments;
        q.ack(half).unwrap();
        assert!(q.stats().segments < segments);
        match q.push(1, 3, &payload(1_000_000, 6_000)).unwrap() {
            Push::Accepted { id } => assert_eq!(id, accepted.last().unwrap().0 + 1),
            other => panic!("{other:?}"),
        }
        assert!(!q.stats().no_space);
        let rest: Vec<u64> = drain(&mut q).iter().map(|r| r.id).collect();
        assert_eq!(rest, [accepted.last().unwrap().0 + 1]);

        // And across a restart the state holds.
        drop(q);
        let (mut q, report) = DiskQueue::open(cfg).unwrap();
        assert_eq!(report.corrupt_records + report.truncated_bytes, 0);
        let ids: Vec<u64> = drain(&mut q).iter().map(|r| r.id).collect();
        let want: Vec<u64> = (half + 1..=accepted.last().unwrap().0 + 1).collect();
        assert_eq!(ids, want, "{fsync:?}");
        drop(q);
    }
}

#[test]
fn acknowledging_on_a_full_disk_keeps_working() {
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Never] {
        let Some(fs) = Tmpfs::mount("1m") else {
            println!("skipped: needs root to mount a size-limited tmpfs");
            return;
        };
        let cfg = full_disk_config(fs.path().join("queue"), fsync);
        let mut q = DiskQueue::open(cfg.clone()).unwrap().0;
        let accepted = fill(&mut q);
        // Fill the last scraps so not even the position's temp file fits.
        let mut pad = 0;
        while std::fs::write(fs.path().join(format!("pad{pad}")), [0u8; 512]).is_ok() {
            pad += 1;
        }
        // One record: no segment freed. Under Always the position's temp file does not fit, but
        // the acknowledgement holds in memory; otherwise the position is written in place.
        let first = accepted[0].0;
        let acked = q.ack(first);
        if fsync == FsyncPolicy::Never {
            acked.unwrap();
        }
        assert_eq!(q.stats().records, accepted.len() as u64 - 1);
        assert_eq!(q.next().unwrap().unwrap().id, first + 1);
        // Acknowledging everything deletes every segment and the position gets written.
        q.ack(accepted.last().unwrap().0).unwrap();
        assert!(q.is_empty());
        drop(q);
        let (q, report) = DiskQueue::open(cfg).unwrap();
        assert_eq!(report, RecoveryReport::default(), "{fsync:?}");
        assert!(q.is_empty());
    }
}
