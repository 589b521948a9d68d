//! Writes arbitrary bytes as a disk queue's segment file (and, when the first byte says so, the
//! next 20 as its position record), then opens the queue and drains it: recovery may count
//! damage but must never panic, and the queue must go on taking records afterwards.
//!
//! Run with `cargo +nightly fuzz run queue_recovery` from the repository root.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use lookout_queue::{DiskQueue, FsyncPolicy, QueueConfig, WhenFull};

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!(
        "lookout-queue-fuzz-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let (flags, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let segment = if flags & 1 == 1 && rest.len() >= 20 {
        let _ = std::fs::write(dir.join("position"), &rest[..20]);
        &rest[20..]
    } else {
        rest
    };
    let _ = std::fs::write(dir.join("00000000000000000001.wal"), segment);

    let cfg = QueueConfig {
        dir: dir.clone(),
        max_bytes: 1 << 20,
        max_age: None,
        segment_bytes: 4096,
        fsync: FsyncPolicy::Never,
        when_full: WhenFull::DropOldest,
    };
    if let Ok((mut q, report)) = DiskQueue::open(cfg) {
        assert_eq!(report.records, q.stats().records);
        let mut handed = 0;
        while let Ok(Some(record)) = q.next() {
            handed += 1;
            if flags & 2 == 2 {
                let _ = q.ack(record.id);
            }
        }
        assert!(handed <= report.records);
        let _ = q.push(0, 1, b"after recovery");
        let _ = q.ack(u64::MAX);
        assert!(q.is_empty() || q.stats().no_space);
    }
    let _ = std::fs::remove_dir_all(&dir);
});
