//! Damaged files: torn tails, flipped bytes, garbage lengths, missing position records,
//! strangers in the directory, empty and missing segments, damage that appears while open.
//! Every case must open, count what it lost, and hand out every other record intact.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::testutil::{config, drain, open, payload, push_n, scratch_dir, segment_files};

const LEN: usize = 50;
const REC: u64 = FRAMING + LEN as u64;

/// A closed queue in `dir` holding records 1..=n, `LEN` bytes each, in one segment.
fn queue_with(dir: &Path, n: u64) -> PathBuf {
    let mut q = open(&config_big(dir));
    push_n(&mut q, 1, n, LEN);
    drop(q);
    let segs = segment_files(dir);
    assert_eq!(segs.len(), 1);
    segs[0].clone()
}

fn config_big(dir: &Path) -> QueueConfig {
    QueueConfig {
        segment_bytes: 1 << 20,
        ..config(dir)
    }
}

fn ids(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.id).collect()
}

fn assert_intact(records: &[Record]) {
    for r in records {
        assert_eq!(r.payload, payload(r.id, LEN), "record {}", r.id);
        assert_eq!((r.signal, r.events), (1, 3));
    }
}

fn flip(path: &Path, at: u64, mask: u8) {
    let mut b = fs::read(path).unwrap();
    b[at as usize] ^= mask;
    fs::write(path, b).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() && e.file_name() != "lock" {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_torn_last_record_is_truncated_at_every_byte() {
    let base = scratch_dir();
    queue_with(base.path(), 3);
    let start = 2 * REC;
    for cut in start..3 * REC {
        let dir = scratch_dir();
        copy_dir(base.path(), dir.path());
        let seg = segment_files(dir.path())[0].clone();
        fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();

        let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                records: 2,
                corrupt_records: 0,
                truncated_bytes: cut - start,
                position_missing: false
            },
            "cut at {cut}"
        );
        assert_eq!(fs::metadata(&seg).unwrap().len(), start, "cut at {cut}");
        let got = drain(&mut q);
        assert_eq!(ids(&got), [1, 2], "cut at {cut}");
        assert_intact(&got);
        // The torn record was never accepted: its id is taken by the next push.
        assert_eq!(
            q.push(1, 3, &payload(3, LEN)).unwrap(),
            Push::Accepted { id: 3 }
        );
        drop(q);
        let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                records: 3,
                ..RecoveryReport::default()
            },
            "cut at {cut}"
        );
        let got = drain(&mut q);
        assert_eq!(ids(&got), [1, 2, 3]);
        assert_intact(&got);
    }
}

#[test]
fn a_flipped_byte_anywhere_in_a_middle_record_skips_only_that_record() {
    let base = scratch_dir();
    queue_with(base.path(), 5);
    let start = 2 * REC; // record 3
    for at in start..start + REC {
        for mask in [0x01, 0x80, 0xff] {
            let dir = scratch_dir();
            copy_dir(base.path(), dir.path());
            flip(&segment_files(dir.path())[0], at, mask);
            let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
            let case = format!("byte {} of record 3, mask {mask:#x}", at - start);
            assert_eq!(
                report,
                RecoveryReport {
                    records: 4,
                    corrupt_records: 1,
                    ..RecoveryReport::default()
                },
                "{case}"
            );
            assert_eq!(q.stats().records, 4, "{case}");
            let got = drain(&mut q);
            assert_eq!(ids(&got), [1, 2, 4, 5], "{case}");
            assert_intact(&got);
            // Acknowledging past the hole cleans up; the queue goes on.
            q.ack(5).unwrap();
            assert!(q.is_empty(), "{case}");
            assert_eq!(
                q.push(1, 3, &payload(6, LEN)).unwrap(),
                Push::Accepted { id: 6 },
                "{case}"
            );
        }
    }
}

#[test]
fn a_garbage_length_field_is_resynced() {
    for len in [0u32, 20, 22, 1_000, 0x00ff_ffff, u32::MAX] {
        let dir = scratch_dir();
        let seg = queue_with(dir.path(), 5);
        let mut b = fs::read(&seg).unwrap();
        let at = (2 * REC + 1) as usize;
        b[at..at + 4].copy_from_slice(&len.to_le_bytes());
        fs::write(&seg, b).unwrap();
        let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
        assert_eq!(
            (
                report.records,
                report.corrupt_records,
                report.truncated_bytes
            ),
            (4, 1, 0),
            "length {len}"
        );
        let got = drain(&mut q);
        assert_eq!(ids(&got), [1, 2, 4, 5], "length {len}");
        assert_intact(&got);
    }
}

#[test]
fn several_damaged_records_are_each_counted() {
    let dir = scratch_dir();
    let seg = queue_with(dir.path(), 10);
    // Records 2 and 3 zeroed out together, 7 with a bad checksum.
    let mut b = fs::read(&seg).unwrap();
    b[REC as usize..3 * REC as usize].fill(0);
    b[6 * REC as usize + 6] ^= 1;
    fs::write(&seg, b).unwrap();
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert_eq!((report.records, report.corrupt_records), (7, 3));
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 4, 5, 6, 8, 9, 10]);
    assert_intact(&got);
}

#[test]
fn damage_in_already_acknowledged_records_is_not_counted() {
    let dir = scratch_dir();
    let seg = queue_with(dir.path(), 5);
    let mut q = open(&config_big(dir.path()));
    q.ack(2).unwrap();
    drop(q);
    flip(&seg, REC + 40, 0x10); // record 2
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 3,
            ..RecoveryReport::default()
        }
    );
    assert_eq!(ids(&drain(&mut q)), [3, 4, 5]);
}

#[test]
fn a_missing_position_starts_from_the_oldest_record() {
    let dir = scratch_dir();
    queue_with(dir.path(), 5);
    let mut q = open(&config_big(dir.path()));
    q.next().unwrap();
    q.ack(3).unwrap();
    drop(q);
    fs::remove_file(dir.path().join("position")).unwrap();
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 5,
            position_missing: true,
            ..RecoveryReport::default()
        }
    );
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 2, 3, 4, 5]);
    assert_intact(&got);
    // The next acknowledgement writes a position again.
    q.ack(4).unwrap();
    drop(q);
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert!(!report.position_missing);
    assert_eq!(ids(&drain(&mut q)), [5]);
}

#[test]
fn a_corrupt_position_starts_from_the_oldest_record() {
    for junk in [&b""[..], b"LKQPOS01", &[0xAA; 20], &[0u8; 4096]] {
        let dir = scratch_dir();
        queue_with(dir.path(), 4);
        let mut q = open(&config_big(dir.path()));
        q.ack(2).unwrap();
        drop(q);
        fs::write(dir.path().join("position"), junk).unwrap();
        let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                records: 4,
                position_missing: true,
                ..RecoveryReport::default()
            }
        );
        assert_eq!(ids(&drain(&mut q)), [1, 2, 3, 4]);
    }
}

#[test]
fn a_fresh_queue_reports_no_missing_position() {
    let dir = scratch_dir();
    drop(open(&config(dir.path())));
    assert!(dir.path().join("position").exists());
    let (_q, report) = DiskQueue::open(config(dir.path())).unwrap();
    assert_eq!(report, RecoveryReport::default());
}

#[test]
fn strangers_in_the_directory_are_left_alone() {
    let dir = scratch_dir();
    queue_with(dir.path(), 3);
    let d = dir.path();
    fs::write(d.join("notes.txt"), b"hello").unwrap();
    fs::write(d.join("123.wal"), b"\xc1garbage").unwrap();
    fs::write(d.join("00000000000000000002.wal.bak"), b"\xc1garbage").unwrap();
    fs::write(d.join("position.tmp"), b"half written").unwrap();
    fs::create_dir(d.join("00000000000000000009.wal")).unwrap();
    let (mut q, report) = DiskQueue::open(config_big(d)).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 3,
            ..RecoveryReport::default()
        }
    );
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 2, 3]);
    assert_intact(&got);
    assert_eq!(q.push(1, 3, b"x").unwrap(), Push::Accepted { id: 4 });
    for name in [
        "notes.txt",
        "123.wal",
        "00000000000000000002.wal.bak",
        "00000000000000000009.wal",
    ] {
        assert!(d.join(name).exists(), "{name}");
    }
    // A leftover temp file of the position record is cleared.
    assert!(!d.join("position.tmp").exists());
}

#[test]
fn a_segment_of_garbage_is_truncated_and_deleted() {
    let dir = scratch_dir();
    queue_with(dir.path(), 3);
    let junk = payload(99, 5000);
    let junk_seg = dir.path().join("00000000000000000004.wal");
    fs::write(&junk_seg, &junk).unwrap();
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 3,
            truncated_bytes: 5000,
            ..RecoveryReport::default()
        }
    );
    assert!(!junk_seg.exists());
    assert_eq!(ids(&drain(&mut q)), [1, 2, 3]);
    assert_eq!(q.push(1, 3, b"x").unwrap(), Push::Accepted { id: 4 });
    assert_eq!(q.next().unwrap().unwrap().payload, b"x");
}

#[test]
fn zero_length_segments_are_removed() {
    // Alone: a fresh queue.
    let dir = scratch_dir();
    let empty = dir.path().join("00000000000000000001.wal");
    fs::write(&empty, b"").unwrap();
    let (mut q, report) = DiskQueue::open(config(dir.path())).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            position_missing: true,
            ..RecoveryReport::default()
        }
    );
    assert_eq!(q.push(1, 3, b"x").unwrap(), Push::Accepted { id: 1 });
    assert_eq!(q.next().unwrap().unwrap().payload, b"x");
    drop(q);

    // After real segments (a crash right after a roll).
    let dir = scratch_dir();
    queue_with(dir.path(), 3);
    let empty = dir.path().join("00000000000000000004.wal");
    fs::write(&empty, b"").unwrap();
    let (mut q, report) = DiskQueue::open(config_big(dir.path())).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 3,
            ..RecoveryReport::default()
        }
    );
    assert_eq!(q.stats().segments, 1);
    assert_eq!(
        q.push(1, 3, &payload(4, LEN)).unwrap(),
        Push::Accepted { id: 4 }
    );
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 2, 3, 4]);
    assert_intact(&got);
}

fn multi_segment(dir: &Path) -> QueueConfig {
    let cfg = QueueConfig {
        segment_bytes: 3 * REC,
        ..config(dir)
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 9, LEN);
    drop(q);
    assert_eq!(segment_files(dir).len(), 3);
    cfg
}

#[test]
fn a_missing_middle_segment_counts_its_records_as_lost() {
    let dir = scratch_dir();
    let cfg = multi_segment(dir.path());
    fs::remove_file(dir.path().join("00000000000000000004.wal")).unwrap();
    let (mut q, report) = DiskQueue::open(cfg).unwrap();
    assert_eq!((report.records, report.corrupt_records), (6, 3));
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 2, 3, 7, 8, 9]);
    assert_intact(&got);
}

#[test]
fn a_torn_older_segment_keeps_the_rest() {
    // The end of the first segment is cut inside record 3 and junk follows: record 3 is lost,
    // the junk truncated, the next segments read as usual.
    let dir = scratch_dir();
    let cfg = multi_segment(dir.path());
    let first = &segment_files(dir.path())[0];
    let mut b = fs::read(first).unwrap();
    b.truncate((2 * REC + 10) as usize);
    b.extend_from_slice(&[0u8; 100]);
    fs::write(first, b).unwrap();
    let (mut q, report) = DiskQueue::open(cfg.clone()).unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            records: 8,
            corrupt_records: 1,
            truncated_bytes: 110,
            position_missing: false
        }
    );
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 2, 4, 5, 6, 7, 8, 9]);
    assert_intact(&got);
    drop(q);
    // Junk appended after intact records loses nothing.
    let second = &segment_files(dir.path())[1];
    let mut b = fs::read(second).unwrap();
    let junk = b"\xc1 junk after the last record";
    b.extend_from_slice(junk);
    fs::write(second, b).unwrap();
    let (_q, report) = DiskQueue::open(cfg).unwrap();
    assert_eq!(
        (
            report.records,
            report.corrupt_records,
            report.truncated_bytes
        ),
        (8, 1, junk.len() as u64)
    );
}

#[test]
fn an_unreadable_segment_does_not_stop_the_queue() {
    if !running_as_root() {
        let dir = scratch_dir();
        let cfg = multi_segment(dir.path());
        let second = dir.path().join("00000000000000000004.wal");
        fs::set_permissions(&second, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
        let (mut q, report) = DiskQueue::open(cfg).unwrap();
        assert_eq!(report.corrupt_records, 4); // the file, and the 3 ids missing after it
        assert_eq!(ids(&drain(&mut q)), [1, 2, 3, 7, 8, 9]);
        assert!(second.exists());
    } else {
        println!("root reads any file: the permission case cannot be made here");
    }
}

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn damage_that_appears_while_open_is_skipped_and_counted() {
    let dir = scratch_dir();
    let cfg = config_big(dir.path());
    let mut q = open(&cfg);
    push_n(&mut q, 1, 6, LEN);
    assert_eq!(q.next().unwrap().unwrap().id, 1);
    let seg = &segment_files(dir.path())[0];
    flip(seg, 2 * REC + 35, 0x04); // record 3's payload
    flip(seg, 4 * REC + 1, 0x40); // record 5's length
    let got = drain(&mut q);
    assert_eq!(ids(&got), [2, 4, 6]);
    assert_intact(&got);
    let s = q.stats();
    assert_eq!((s.corrupt_records, s.records), (2, 4));
    // Rewinding does not count them again.
    q.rewind();
    assert_eq!(ids(&drain(&mut q)), [1, 2, 4, 6]);
    assert_eq!(q.stats().corrupt_records, 2);
    q.ack(6).unwrap();
    assert!(q.is_empty());
    assert_eq!(
        q.stats(),
        QueueStats {
            corrupt_records: 2,
            segments: 0,
            ..QueueStats::default()
        }
    );
}

#[test]
fn a_truncated_segment_while_open_ends_it() {
    let dir = scratch_dir();
    let cfg = QueueConfig {
        segment_bytes: 3 * REC,
        ..config(dir.path())
    };
    let mut q = open(&cfg);
    push_n(&mut q, 1, 9, LEN);
    let first = &segment_files(dir.path())[0];
    fs::OpenOptions::new()
        .write(true)
        .open(first)
        .unwrap()
        .set_len(REC + 5)
        .unwrap();
    let got = drain(&mut q);
    assert_eq!(ids(&got), [1, 4, 5, 6, 7, 8, 9]);
    assert_eq!(q.stats().corrupt_records, 2);
    assert_eq!(q.stats().records, 7);
    // A segment file deleted under the queue counts the same way.
    q.rewind();
    fs::remove_file(&segment_files(dir.path())[1]).unwrap();
    assert_eq!(ids(&drain(&mut q)), [1, 7, 8, 9]);
    assert_eq!(q.stats().corrupt_records, 5);
    q.ack(9).unwrap();
    assert!(q.is_empty());
}

mod random_damage {
    //! What the fuzz target does, on stable and in every test run: random bytes, and valid
    //! segments with random damage, must open and drain without panicking, and every record
    //! handed out must be one that was written, intact and in order.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Damage {
        Flip { at: usize, mask: u8 },
        Cut { at: usize },
        Insert { at: usize, bytes: Vec<u8> },
        Zero { at: usize, len: usize },
    }

    fn damage() -> impl Strategy<Value = Damage> {
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Damage::Flip { at, mask }),
            any::<usize>().prop_map(|at| Damage::Cut { at }),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..40))
                .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
            (any::<usize>(), 1usize..200).prop_map(|(at, len)| Damage::Zero { at, len }),
        ]
    }

    fn apply(b: &mut Vec<u8>, d: &Damage) {
        if b.is_empty() {
            return;
        }
        match d {
            Damage::Flip { at, mask } => {
                let i = at % b.len();
                b[i] ^= mask;
            }
            Damage::Cut { at } => b.truncate(at % b.len()),
            Damage::Insert { at, bytes } => {
                let i = at % b.len();
                b.splice(i..i, bytes.iter().copied());
            }
            Damage::Zero { at, len } => {
                let i = at % b.len();
                let end = (i + len).min(b.len());
                b[i..end].fill(0);
            }
        }
    }

    /// Opens the queue in `dir`, drains it and checks what came out.
    fn open_and_drain(dir: &Path, written: u64) -> Result<(), TestCaseError> {
        let (mut q, report) = DiskQueue::open(config_big(dir)).unwrap();
        prop_assert_eq!(report.records, q.stats().records);
        prop_assert!(report.records <= written);
        let got = drain(&mut q);
        prop_assert_eq!(got.len() as u64, report.records);
        for w in got.windows(2) {
            prop_assert!(w[0].id < w[1].id);
        }
        for r in &got {
            prop_assert!(r.id >= 1 && r.id <= written, "id {}", r.id);
            prop_assert!(r.payload == payload(r.id, LEN), "record {} differs", r.id);
        }
        q.ack(u64::MAX).unwrap();
        prop_assert!(q.is_empty());
        let id = match q.push(1, 3, b"after") {
            Ok(Push::Accepted { id }) => id,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert!(got.last().is_none_or(|r| id > r.id));
        drop(q);
        // A second open finds nothing more to repair.
        let (_q, report) = DiskQueue::open(config_big(dir)).unwrap();
        prop_assert_eq!(
            report,
            RecoveryReport {
                records: 1,
                ..RecoveryReport::default()
            }
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn damaged_segments_recover(damages in prop::collection::vec(damage(), 1..6)) {
            let dir = scratch_dir();
            let seg = queue_with(dir.path(), 8);
            let mut b = fs::read(&seg).unwrap();
            for d in &damages {
                apply(&mut b, d);
            }
            fs::write(&seg, &b).unwrap();
            open_and_drain(dir.path(), 8)?;
        }

        #[test]
        fn random_bytes_recover(
            bytes in prop::collection::vec(any::<u8>(), 0..3000),
            position in prop::option::of(prop::collection::vec(any::<u8>(), 20)),
        ) {
            let dir = scratch_dir();
            fs::write(dir.path().join("00000000000000000001.wal"), &bytes).unwrap();
            if let Some(p) = position {
                fs::write(dir.path().join("position"), p).unwrap();
            }
            open_and_drain(dir.path(), 0)?;
        }
    }
}
