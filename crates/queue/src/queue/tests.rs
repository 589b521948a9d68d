//! Unit tests of the queue's behaviour on healthy files: round trips, restarts, segments,
//! limits, expiry, the lock and the fsync policies.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::*;
use crate::testutil::{config, drain, fake_clock, open, payload, push_n, segment_files, set_now};

#[test]
fn records_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (mut q, report) = DiskQueue::open(config(dir.path())).unwrap();
    assert_eq!(report, RecoveryReport::default());
    q.set_clock(fake_clock);
    set_now(1_234);
    let big = payload(9, 10_000);
    assert_eq!(
        q.push(SIGNAL_METRICS, 5, b"first").unwrap(),
        Push::Accepted { id: 1 }
    );
    assert_eq!(
        q.push(SIGNAL_LOGS, 0, b"").unwrap(),
        Push::Accepted { id: 2 }
    );
    assert_eq!(
        q.push(SIGNAL_TRACES, u32::MAX, &big).unwrap(),
        Push::Accepted { id: 3 }
    );
    let s = q.stats();
    assert_eq!(
        (s.records, s.events, s.oldest_unix_ms),
        (3, 5 + u64::from(u32::MAX), Some(1_234))
    );
    assert_eq!(s.bytes, 3 * FRAMING + 5 + 10_000);
    assert!(!q.is_empty());

    let got = drain(&mut q);
    let want = [
        (1, 0, 5, b"first".to_vec()),
        (2, 1, 0, Vec::new()),
        (3, 2, u32::MAX, big),
    ];
    assert_eq!(got.len(), 3);
    for (r, (id, signal, events, payload)) in got.iter().zip(want) {
        assert_eq!(
            r,
            &Record {
                id,
                signal,
                events,
                enqueued_unix_ms: 1_234,
                payload
            }
        );
    }
    assert_eq!(q.next().unwrap(), None);
    // Handed out is not acknowledged.
    assert_eq!(q.stats().records, 3);
    q.ack(3).unwrap();
    assert!(q.is_empty());
    let s = q.stats();
    assert_eq!(
        (s.records, s.events, s.bytes, s.oldest_unix_ms),
        (0, 0, 0, None)
    );
}

#[test]
fn a_restart_resumes_after_the_acknowledged_position() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut q = open(&cfg);
    push_n(&mut q, 1, 10, 100);
    assert_eq!(drain(&mut q).len(), 10);
    q.ack(4).unwrap();
    drop(q);

    let (mut q, report) = DiskQueue::open(cfg.clone()).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 6,
            ..RecoveryReport::default()
        }
    );
    assert_eq!(q.stats().records, 6);
    // Handed out but unacknowledged: they come back (at-least-once), acknowledged ones never.
    let ids: Vec<u64> = drain(&mut q).iter().map(|r| r.id).collect();
    assert_eq!(ids, (5..=10).collect::<Vec<_>>());
    q.crash();

    let mut q = open(&cfg);
    let got = drain(&mut q);
    assert_eq!(
        got.iter().map(|r| r.id).collect::<Vec<_>>(),
        (5..=10).collect::<Vec<_>>()
    );
    for r in &got {
        assert_eq!(r.payload, payload(r.id, 100));
    }
    // New records continue the ids.
    assert_eq!(q.push(0, 1, b"x").unwrap(), Push::Accepted { id: 11 });
}

#[test]
fn segments_roll_and_are_deleted_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        segment_bytes: 3 * (FRAMING + 1000),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 10, 1000);
    let names: Vec<String> = segment_files(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Three records per segment, each named after its first id.
    assert_eq!(
        names,
        [
            "00000000000000000001.wal",
            "00000000000000000004.wal",
            "00000000000000000007.wal",
            "00000000000000000010.wal"
        ]
    );
    assert_eq!(q.stats().segments, 4);
    for p in segment_files(dir.path()).iter().take(3) {
        assert_eq!(std::fs::metadata(p).unwrap().len(), 3 * (FRAMING + 1000));
    }

    for r in drain(&mut q).iter().take(5) {
        q.ack(r.id).unwrap();
    }
    // Segment 1-3 is gone; 4-6 is half acknowledged and stays.
    assert_eq!(segment_files(dir.path()).len(), 3);
    assert_eq!(q.stats().records, 5);
    q.ack(10).unwrap();
    assert!(segment_files(dir.path()).is_empty());
    assert_eq!(q.stats().segments, 0);

    // The writer starts over in a new segment, ids going on.
    assert_eq!(q.push(0, 1, b"after").unwrap(), Push::Accepted { id: 11 });
    assert_eq!(
        segment_files(dir.path())[0].file_name().unwrap(),
        "00000000000000000011.wal"
    );
    assert_eq!(q.next().unwrap().unwrap().payload, b"after");
    drop(q);

    // And after a restart with nothing on disk, ids still go on from the position.
    let mut q = open(&cfg);
    q.ack(11).unwrap();
    drop(q);
    let mut q = open(&cfg);
    assert_eq!(q.push(0, 1, b"later").unwrap(), Push::Accepted { id: 12 });
}

#[test]
fn a_record_larger_than_a_segment_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        segment_bytes: 100,
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 3, 500);
    assert_eq!(segment_files(dir.path()).len(), 3);
    let got = drain(&mut q);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.payload == payload(r.id, 500)));
}

#[test]
fn the_reader_follows_the_writer_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        segment_bytes: 2 * (FRAMING + 10),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    for i in 1..=7 {
        push_n(&mut q, i, 1, 10);
        let r = q.next().unwrap().unwrap();
        assert_eq!((r.id, r.payload), (i, payload(i, 10)));
        assert_eq!(q.next().unwrap(), None);
        if i % 3 == 0 {
            q.ack(i).unwrap();
        }
    }
}

fn full_config(dir: &Path, when_full: WhenFull) -> QueueConfig {
    // Room for exactly three 100-byte records.
    QueueConfig {
        max_bytes: 3 * (FRAMING + 100),
        when_full,
        ..config(dir)
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn block_writes_nothing_until_an_ack_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = open(&full_config(dir.path(), WhenFull::Block));
    push_n(&mut q, 1, 3, 100);
    let before = dir_bytes(dir.path());
    assert_eq!(q.push(0, 1, &payload(4, 100)).unwrap(), Push::Full);
    assert_eq!(dir_bytes(dir.path()), before);
    assert_eq!(q.stats().records, 3);
    assert_eq!(q.stats().dropped_records, 0);
    // Handing out does not make room; acknowledging does.
    q.next().unwrap().unwrap();
    assert_eq!(q.push(0, 1, &payload(4, 100)).unwrap(), Push::Full);
    q.ack(1).unwrap();
    assert_eq!(
        q.push(0, 1, &payload(4, 100)).unwrap(),
        Push::Accepted { id: 4 }
    );
    // A smaller record fits where a larger one would not.
    q.ack(2).unwrap();
    assert_eq!(q.push(0, 1, &payload(5, 101)).unwrap(), Push::Full);
    assert_eq!(
        q.push(0, 1, &payload(5, 100)).unwrap(),
        Push::Accepted { id: 5 }
    );
}

#[test]
fn drop_newest_counts_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = open(&full_config(dir.path(), WhenFull::DropNewest));
    push_n(&mut q, 1, 3, 100);
    let before = dir_bytes(dir.path());
    assert_eq!(q.push(0, 7, &payload(4, 100)).unwrap(), Push::DroppedNewest);
    assert_eq!(q.push(0, 8, &payload(5, 100)).unwrap(), Push::DroppedNewest);
    assert_eq!(dir_bytes(dir.path()), before);
    let s = q.stats();
    assert_eq!((s.records, s.dropped_records, s.dropped_events), (3, 2, 15));
    let ids: Vec<u64> = drain(&mut q).iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    // The next accepted record takes the next id: drops leave no holes.
    q.ack(3).unwrap();
    assert_eq!(
        q.push(0, 1, &payload(6, 100)).unwrap(),
        Push::Accepted { id: 4 }
    );
}

#[test]
fn drop_oldest_drops_until_the_new_record_fits() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = open(&full_config(dir.path(), WhenFull::DropOldest));
    push_n(&mut q, 1, 3, 100);
    // Record 1 is handed out: it is dropped all the same.
    assert_eq!(q.next().unwrap().unwrap().id, 1);
    assert_eq!(
        q.push(0, 1, &payload(4, 100)).unwrap(),
        Push::AcceptedDroppedOldest {
            id: 4,
            dropped_records: 1,
            dropped_events: 3
        }
    );
    // A record twice the size takes two more.
    assert_eq!(
        q.push(0, 1, &payload(5, 2 * 100 + FRAMING as usize))
            .unwrap(),
        Push::AcceptedDroppedOldest {
            id: 5,
            dropped_records: 2,
            dropped_events: 6
        }
    );
    let s = q.stats();
    assert_eq!((s.records, s.dropped_records, s.dropped_events), (2, 3, 9));
    assert_eq!(s.bytes, 3 * (FRAMING + 100));
    // Acknowledging the dropped record is harmless; the reader goes on with what is left.
    q.ack(1).unwrap();
    let got = drain(&mut q);
    assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(got[1].payload, payload(5, 2 * 100 + FRAMING as usize));
    drop(q);
    // The drops are durable acknowledgements.
    let mut q = open(&full_config(dir.path(), WhenFull::DropOldest));
    assert_eq!(
        drain(&mut q).iter().map(|r| r.id).collect::<Vec<_>>(),
        [4, 5]
    );
}

#[test]
fn a_record_larger_than_the_queue_is_too_large() {
    let dir = tempfile::tempdir().unwrap();
    for when_full in [WhenFull::Block, WhenFull::DropNewest, WhenFull::DropOldest] {
        let mut q = open(&full_config(dir.path(), when_full));
        let r = q.push(0, 1, &payload(1, 3 * 100 + 2 * FRAMING as usize + 1));
        assert!(
            matches!(r, Err(QueueError::TooLarge { bytes, .. }) if bytes == 3 * (FRAMING + 100) + 1),
            "{r:?}"
        );
        assert!(q.is_empty());
        // Exactly max_bytes fits.
        assert!(matches!(
            q.push(0, 1, &payload(1, 3 * 100 + 2 * FRAMING as usize)),
            Ok(Push::Accepted { .. })
        ));
        let id = q.next().unwrap().unwrap().id;
        q.ack(id).unwrap();
    }
}

#[test]
fn expired_records_are_skipped_counted_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        max_age: Some(Duration::from_secs(60)),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    q.set_clock(fake_clock);
    set_now(1_000_000);
    push_n(&mut q, 1, 2, 10); // 1, 2: old
    set_now(1_000_000 + 61_000);
    push_n(&mut q, 3, 1, 10); // 3: fresh
    set_now(1_000_000 + 62_000);
    let r = q.next().unwrap().unwrap();
    assert_eq!(r.id, 3);
    let s = q.stats();
    assert_eq!((s.expired_records, s.records), (2, 1));
    assert_eq!(s.oldest_unix_ms, Some(1_061_000));
    assert_eq!(q.next().unwrap(), None);
    drop(q);
    // Expired records were acknowledged: only 3 comes back.
    let mut q = open(&cfg);
    q.set_clock(fake_clock);
    assert_eq!(drain(&mut q).iter().map(|r| r.id).collect::<Vec<_>>(), [3]);
}

#[test]
fn an_expired_record_behind_one_in_flight_waits_for_its_ack() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        max_age: Some(Duration::from_secs(60)),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    q.set_clock(fake_clock);
    set_now(1_000_000);
    push_n(&mut q, 1, 1, 10);
    set_now(1_010_000);
    push_n(&mut q, 2, 1, 10);
    set_now(1_090_000);
    push_n(&mut q, 3, 1, 10);
    set_now(1_059_000);
    assert_eq!(q.next().unwrap().unwrap().id, 1); // not yet expired
    set_now(1_080_000);
    assert_eq!(q.next().unwrap().unwrap().id, 3); // 2 expired, waiting for 1
    assert_eq!(q.stats().expired_records, 0);
    assert_eq!(q.stats().records, 3);
    // Rewinding reaches 1 again, expired by now, and counts 2 once.
    q.rewind();
    assert_eq!(q.next().unwrap().unwrap().id, 3);
    assert_eq!(q.stats().expired_records, 2);
    assert_eq!(q.stats().records, 1);
    q.ack(3).unwrap();
    assert!(q.is_empty());
}

#[test]
fn rewind_hands_out_again_from_the_first_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        segment_bytes: 2 * (FRAMING + 50),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 6, 50);
    for id in 1..=4 {
        assert_eq!(q.next().unwrap().unwrap().id, id);
    }
    q.ack(2).unwrap();
    q.rewind();
    assert_eq!(
        drain(&mut q).iter().map(|r| r.id).collect::<Vec<_>>(),
        [3, 4, 5, 6]
    );
    q.rewind();
    assert_eq!(q.next().unwrap().unwrap().id, 3);
    // Rewinding with nothing in flight changes nothing.
    q.ack(6).unwrap();
    q.rewind();
    assert_eq!(q.next().unwrap(), None);
}

#[test]
fn ack_beyond_what_was_handed_out_walks_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        segment_bytes: 2 * (FRAMING + 50),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 7, 50);
    assert_eq!(q.next().unwrap().unwrap().id, 1);
    q.ack(5).unwrap();
    assert_eq!(q.stats().records, 2);
    assert_eq!(q.next().unwrap().unwrap().id, 6);
    // Beyond the newest record: clamped.
    q.ack(1_000).unwrap();
    assert!(q.is_empty());
    assert_eq!(q.next().unwrap(), None);
    assert_eq!(q.push(0, 1, b"x").unwrap(), Push::Accepted { id: 8 });
    // Acknowledging old ids again is harmless.
    q.ack(3).unwrap();
    assert_eq!(q.next().unwrap().unwrap().id, 8);
}

#[test]
fn a_second_opener_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let q = open(&cfg);
    match DiskQueue::open(cfg.clone()) {
        Err(e @ QueueError::Locked { .. }) => {
            assert!(e.to_string().contains(&dir.path().display().to_string()))
        }
        other => panic!("{other:?}"),
    }
    drop(q);
    let _q = open(&cfg);
}

#[test]
fn files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let qdir = dir.path().join("a/b/queue");
    let mut q = open(&config(&qdir));
    q.push(0, 1, b"x").unwrap();
    q.ack(1).unwrap();
    q.push(0, 1, b"y").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&qdir), 0o700);
    assert_eq!(mode(&segment_files(&qdir)[0]), 0o600);
    assert_eq!(mode(&qdir.join("position")), 0o600);
    assert_eq!(mode(&qdir.join("lock")), 0o600);
}

#[test]
fn no_policy_loses_data_across_a_clean_close() {
    for fsync in [
        FsyncPolicy::Always,
        FsyncPolicy::Interval(Duration::from_secs(3600)),
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = QueueConfig {
            fsync,
            segment_bytes: 1000,
            ..config(dir.path())
        };
        let mut q = open(&cfg);
        push_n(&mut q, 1, 20, 100);
        q.next().unwrap();
        q.next().unwrap();
        q.ack(2).unwrap();
        drop(q);
        let (mut q, report) = DiskQueue::open(cfg.clone()).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                records: 18,
                ..RecoveryReport::default()
            },
            "{fsync:?}"
        );
        let got = drain(&mut q);
        assert_eq!(
            got.iter().map(|r| r.id).collect::<Vec<_>>(),
            (3..=20).collect::<Vec<_>>(),
            "{fsync:?}"
        );
        assert!(got.iter().all(|r| r.payload == payload(r.id, 100)));
    }
}

#[test]
fn a_crash_loses_nothing_the_page_cache_holds() {
    // A process crash (not a power failure) keeps written data under every policy, and
    // acknowledgements are at most one ack stale.
    for fsync in [
        FsyncPolicy::Always,
        FsyncPolicy::Interval(Duration::from_secs(3600)),
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = QueueConfig {
            fsync,
            segment_bytes: 1000,
            ..config(dir.path())
        };
        let mut q = open(&cfg);
        push_n(&mut q, 1, 20, 100);
        q.ack(7).unwrap();
        q.crash();
        let mut q = open(&cfg);
        assert_eq!(drain(&mut q).first().map(|r| r.id), Some(8), "{fsync:?}");
    }
}

#[test]
fn flush_due_follows_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = QueueConfig {
        fsync: FsyncPolicy::Interval(Duration::from_millis(300)),
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    q.flush().unwrap();
    std::thread::sleep(Duration::from_millis(350));
    assert!(!q.flush_due(), "nothing to sync");
    q.push(0, 1, b"x").unwrap();
    assert!(q.flush_due());
    q.flush().unwrap();
    assert!(!q.flush_due());
    q.push(0, 1, b"y").unwrap();
    assert!(!q.flush_due(), "interval not over");
    std::thread::sleep(Duration::from_millis(350));
    assert!(q.flush_due());
    q.flush().unwrap();
    // An acknowledgement needs a flush too (the position).
    q.ack(1).unwrap();
    std::thread::sleep(Duration::from_millis(350));
    assert!(q.flush_due());
    q.flush().unwrap();
    assert!(!q.flush_due());

    for fsync in [FsyncPolicy::Always, FsyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        let mut q = open(&QueueConfig {
            fsync,
            ..config(dir.path())
        });
        q.push(0, 1, b"x").unwrap();
        assert!(!q.flush_due());
    }
}

#[test]
fn bad_configurations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for cfg in [
        QueueConfig {
            max_bytes: 0,
            ..config(dir.path())
        },
        QueueConfig {
            segment_bytes: 0,
            ..config(dir.path())
        },
        QueueConfig {
            fsync: FsyncPolicy::Interval(Duration::ZERO),
            ..config(dir.path())
        },
    ] {
        assert!(matches!(
            DiskQueue::open(cfg),
            Err(QueueError::Config { .. })
        ));
    }
    assert_eq!(QueueConfig::new("/x").segment_bytes, 32 * 1024 * 1024);
}

#[test]
fn a_directory_that_cannot_be_created_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    match DiskQueue::open(config(&file.join("queue"))) {
        Err(QueueError::Io { path, .. }) => assert_eq!(path, file.join("queue")),
        other => panic!("{other:?}"),
    }
}
