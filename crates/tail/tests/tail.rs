//! End-to-end tailer tests with real files in temporary directories.
#![allow(clippy::unwrap_used, missing_docs)]

use lookout_tail::{Checkpoints, Line, LoadStatus, StartAt, TailConfig, Tailer};
use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn cfg(include: &str) -> TailConfig {
    TailConfig {
        rescan_interval: Duration::ZERO,
        release_after: Duration::from_millis(50),
        ..TailConfig::new([include])
    }
}

fn glob(dir: &Path, pat: &str) -> String {
    format!("{}/{}", dir.display(), pat)
}

fn append(path: &Path, s: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(s.as_bytes()).unwrap();
}

/// Poll until `done(lines)` or timeout.
fn poll_until(
    t: &mut Tailer,
    lines: &mut Vec<Line>,
    timeout: Duration,
    done: impl Fn(&[Line]) -> bool,
) {
    let end = Instant::now() + timeout;
    while !done(lines) {
        assert!(Instant::now() < end, "timed out with {} lines", lines.len());
        t.poll(lines);
        thread::sleep(Duration::from_millis(1));
    }
}

fn numbers(lines: &[Line]) -> Vec<u64> {
    lines
        .iter()
        .map(|l| l.text.parse::<u64>().unwrap())
        .collect()
}

/// Rotated names not matched: the writer renames a generation only once the tailer has read a
/// line of it (a file renamed away before any scan saw it is never read, see the crate docs).
#[test]
fn rename_rotation_exactly_once_in_order() {
    rename_rotation("app.log", true);
}

/// Rotated names matched too: the writer never waits; even generations never seen at `app.log`
/// are read, exactly once.
#[test]
fn rename_rotation_fast_with_rotated_names_matched() {
    rename_rotation("app.log*", false);
}

fn rename_rotation(pattern: &str, wait_for_reader: bool) {
    let seen = Arc::new(AtomicU64::new(0));
    let seen_w = seen.clone();
    let d = tempfile::tempdir().unwrap();
    const GENS: u64 = 50;
    const PER: u64 = 200;
    let dir = d.path().to_path_buf();
    let writer = thread::spawn(move || {
        let p = dir.join("app.log");
        let mut n = 0u64;
        for g in 0..GENS {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .unwrap();
            for _ in 0..PER {
                writeln!(f, "{n}").unwrap();
                n += 1;
                if n.is_multiple_of(20) {
                    thread::sleep(Duration::from_micros(100));
                }
            }
            drop(f);
            let deadline = Instant::now() + Duration::from_secs(20);
            while wait_for_reader && seen_w.load(Ordering::Relaxed) <= g * PER {
                assert!(Instant::now() < deadline);
                thread::sleep(Duration::from_micros(200));
            }
            fs::rename(&p, dir.join(format!("app.log.{g}"))).unwrap();
        }
    });
    let mut t = Tailer::new(cfg(&glob(d.path(), pattern))).unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(60), |l| {
        seen.store(l.len() as u64, Ordering::Relaxed);
        l.len() as u64 >= GENS * PER
    });
    writer.join().unwrap();
    // A few more polls: nothing extra may appear.
    for _ in 0..20 {
        t.poll(&mut lines);
        thread::sleep(Duration::from_millis(5));
    }
    let nums = numbers(&lines);
    assert_eq!(nums.len() as u64, GENS * PER, "duplicates");
    let set: HashSet<u64> = nums.iter().copied().collect();
    assert_eq!(set.len() as u64, GENS * PER);
    // In order per file.
    let mut per: HashMap<u64, Vec<u64>> = HashMap::new();
    for l in &lines {
        per.entry(l.fingerprint)
            .or_default()
            .push(l.text.parse().unwrap());
    }
    assert_eq!(per.len() as u64, GENS);
    for v in per.values() {
        assert!(v.windows(2).all(|w| w[1] == w[0] + 1), "out of order");
        assert_eq!(v.len() as u64, PER);
    }
    let st = t.stats();
    assert!(st.rotations_renamed >= 1, "{st:?}");
    assert!(lines
        .iter()
        .all(|l| l.text.is_empty() || l.file.to_string_lossy().contains("app.log")));
    if pattern == "app.log" {
        // Renamed files are not matched: all released.
        thread::sleep(Duration::from_millis(60));
        t.poll(&mut lines);
        t.poll(&mut lines);
        assert_eq!(t.stats().files_released, GENS, "{:?}", t.stats());
        assert!(t.files().is_empty());
    }
}

#[test]
fn copytruncate_rotation_no_loss_no_duplicates() {
    let d = tempfile::tempdir().unwrap();
    const GENS: u64 = 50;
    const PER: u64 = 200;
    let dir = d.path().to_path_buf();
    let writer = thread::spawn(move || {
        let p = dir.join("app.log");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .unwrap();
        let mut n = 0u64;
        for g in 0..GENS {
            for _ in 0..PER {
                writeln!(f, "{n}").unwrap();
                n += 1;
                if n.is_multiple_of(37) {
                    thread::sleep(Duration::from_micros(200));
                }
            }
            // copytruncate, with the writer paused so no line falls in the copy→truncate gap.
            fs::copy(&p, dir.join(format!("app.log.{g}"))).unwrap();
            f.set_len(0).unwrap();
        }
    });
    let mut t = Tailer::new(cfg(&glob(d.path(), "app.log*"))).unwrap();
    let mut lines = Vec::new();
    let total = GENS * PER;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_until(&mut t, &mut lines, Duration::from_secs(60), |l| {
            let s: HashSet<u64> = l.iter().map(|x| x.text.parse::<u64>().unwrap()).collect();
            s.len() as u64 >= total
        });
    }));
    writer.join().unwrap();
    if res.is_err() {
        let s: HashSet<u64> = numbers(&lines).into_iter().collect();
        let missing: Vec<u64> = (0..total).filter(|n| !s.contains(n)).take(20).collect();
        panic!("missing {missing:?} stats {:?}", t.stats());
    }
    for _ in 0..20 {
        t.poll(&mut lines);
        thread::sleep(Duration::from_millis(5));
    }
    let nums = numbers(&lines);
    let mut count: HashMap<u64, u32> = HashMap::new();
    for n in &nums {
        *count.entry(*n).or_default() += 1;
    }
    let dups: Vec<_> = count
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| *n)
        .collect();
    // Within one process with distinct first lines, the documented window is empty.
    assert!(
        dups.is_empty(),
        "duplicates {:?} stats {:?}",
        &dups[..dups.len().min(20)],
        t.stats()
    );
    assert_eq!(count.len() as u64, total);
    assert!(t.stats().rotations_truncated >= 1);
}

#[test]
fn restart_resumes_at_acknowledged_offset() {
    let d = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let p = d.path().join("app.log");
    let body: String = (0..1000).map(|i| format!("{i}\n")).collect();
    append(&p, &body);
    let c = cfg(&glob(d.path(), "*.log"));
    let mut t = Tailer::new(c.clone()).unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(10), |l| {
        l.len() >= 1000
    });
    assert_eq!(numbers(&lines), (0..1000).collect::<Vec<_>>());
    let half = &lines[499];
    t.ack(half.fingerprint, half.offset_after);
    t.save_checkpoints(state.path()).unwrap();
    drop(t);
    let more: String = (1000..1500).map(|i| format!("{i}\n")).collect();
    append(&p, &more);
    let (cps, status) = Checkpoints::load(state.path()).unwrap();
    assert_eq!(status, LoadStatus::Loaded(1));
    // start_at End must not apply: this is not a first start.
    let mut t2 = Tailer::with_checkpoints(
        TailConfig {
            start_at: StartAt::End,
            ..c
        },
        cps,
    )
    .unwrap();
    let mut again = Vec::new();
    poll_until(&mut t2, &mut again, Duration::from_secs(10), |l| {
        l.len() >= 1000
    });
    for _ in 0..5 {
        t2.poll(&mut again);
    }
    // Unacknowledged lines (500..1000) come again; acknowledged ones never.
    assert_eq!(numbers(&again), (500..1500).collect::<Vec<_>>());
}

#[test]
fn start_at_end_and_beginning() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a.log");
    append(&p, "old 1\nold 2\npartial");
    let mut t = Tailer::new(TailConfig {
        start_at: StartAt::End,
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    for _ in 0..3 {
        t.poll(&mut lines);
    }
    assert!(lines.is_empty(), "{lines:?}");
    append(&p, " rest\nnew 1\n");
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| {
        !l.is_empty()
    });
    assert_eq!(lines[0].text, "new 1");
    // A file appearing later is read from its beginning.
    append(&d.path().join("b.log"), "b 1\nb 2\n");
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| l.len() >= 3);
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["new 1", "b 1", "b 2"]);

    let mut t = Tailer::new(cfg(&glob(d.path(), "a.log"))).unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| l.len() >= 4);
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["old 1", "old 2", "partial rest", "new 1"]);
    assert_eq!(lines[3].offset_after, fs::metadata(&p).unwrap().len());
}

#[test]
fn overlong_line_is_truncated_once() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.log");
    let mut f = fs::File::create(&p).unwrap();
    f.write_all(b"first\n").unwrap();
    f.write_all(&vec![b'x'; 10 * 1024 * 1024]).unwrap();
    f.write_all(b"\nnext line\n").unwrap();
    drop(f);
    let mut t = Tailer::new(TailConfig {
        max_line_bytes: 64 * 1024,
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(30), |l| {
        l.len() >= 3
    });
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].text, "first");
    assert!(lines[1].truncated);
    assert_eq!(lines[1].text.len(), 64 * 1024);
    assert_eq!(lines[1].offset_after, 6 + 10 * 1024 * 1024 + 1);
    assert_eq!(lines[2].text, "next line");
    assert!(!lines[2].truncated);
    let st = t.stats();
    assert_eq!(st.truncated_lines, 1);
    assert_eq!(st.skipped_bytes, 10 * 1024 * 1024 - 64 * 1024);
}

#[test]
fn truncation_keeps_whole_characters() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("u.log");
    // "é" is 2 bytes: a cut at 5 bytes splits the third one.
    append(&p, "ééééé\n");
    let mut t = Tailer::new(TailConfig {
        max_line_bytes: 5,
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| {
        !l.is_empty()
    });
    assert_eq!(lines[0].text, "éé");
    assert!(lines[0].truncated);
    assert_eq!(t.stats().invalid_utf8_lines, 0);
}

#[test]
fn binary_garbage_is_counted_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bin.log");
    let mut data = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        data.push((x >> 16) as u8);
    }
    data.push(b'\n');
    data.extend_from_slice(b"\xff\xfe ok?\nclean\n");
    fs::write(&p, &data).unwrap();
    let mut t = Tailer::new(TailConfig {
        max_line_bytes: 1000,
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| {
        l.last().is_some_and(|x| x.text == "clean")
    });
    assert!(t.stats().invalid_utf8_lines >= 2, "{:?}", t.stats());
    assert_eq!(lines.last().unwrap().offset_after, data.len() as u64);
}

#[test]
fn deleted_while_reading_is_read_to_end_and_released() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("gone.log");
    let body: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    fs::write(&p, &body).unwrap();
    let mut t = Tailer::new(TailConfig {
        read_budget_bytes: 64 * 1024,
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    t.poll(&mut lines);
    assert!(!lines.is_empty() && lines.len() < 200_000);
    fs::remove_file(&p).unwrap();
    poll_until(&mut t, &mut lines, Duration::from_secs(30), |l| {
        l.len() >= 200_000
    });
    assert_eq!(numbers(&lines), (0..200_000).collect::<Vec<_>>());
    thread::sleep(Duration::from_millis(60));
    t.poll(&mut lines);
    assert_eq!(t.stats().files_released, 1);
    assert!(t.files().is_empty());
}

#[test]
fn unreadable_file_is_counted_and_others_continue() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let locked = d.path().join("locked.log");
    fs::write(&locked, "secret\n").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    append(&d.path().join("ok.log"), "fine\n");
    let mut t = Tailer::new(cfg(&glob(d.path(), "*.log"))).unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| {
        l.iter().any(|x| x.text == "fine")
    });
    // root reads files whatever their mode: the error assertion only holds for other users.
    let root = fs::File::open(&locked).is_ok();
    if !root {
        assert!(t.stats().read_errors >= 1);
        assert_eq!(t.open_errors().get(&locked).copied(), Some(1));
        t.poll(&mut lines);
        assert_eq!(t.open_errors().get(&locked).copied(), Some(2), "retried");
    }
}

#[test]
fn busy_file_does_not_starve_small_ones() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.log");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&big).unwrap());
        let line = [b'b'; 99];
        let mut written = 0usize;
        while written < 100 * 1024 * 1024 {
            f.write_all(&line).unwrap();
            f.write_all(b"\n").unwrap();
            written += 100;
        }
    }
    for i in 0..10 {
        let body: String = (0..50).map(|n| format!("small{i} {n}\n")).collect();
        fs::write(d.path().join(format!("small{i}.log")), body).unwrap();
    }
    let mut t = Tailer::new(cfg(&glob(d.path(), "*.log"))).unwrap();
    let mut lines = Vec::new();
    let st = t.poll(&mut lines);
    let small = lines.iter().filter(|l| l.text.starts_with("small")).count();
    assert_eq!(small, 500, "all small files in the first round");
    assert!(st.bytes <= 1024 * 1024 + 10 * 1000, "{st:?}");
    let big_lines = lines.len() - small;
    assert!(big_lines > 0 && big_lines <= 1024 * 1024 / 100 + 1);
}

#[test]
fn incomplete_line_held_then_flushed_when_idle() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("p.log");
    append(&p, "done\nhalf");
    let mut t = Tailer::new(TailConfig {
        release_after: Duration::from_millis(200),
        ..cfg(&glob(d.path(), "*.log"))
    })
    .unwrap();
    let mut lines = Vec::new();
    t.poll(&mut lines);
    assert_eq!(lines.len(), 1);
    append(&p, " line\n");
    t.poll(&mut lines);
    assert_eq!(lines[1].text, "half line");
    append(&p, "tail");
    t.poll(&mut lines);
    assert_eq!(lines.len(), 2, "held");
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| l.len() >= 3);
    assert_eq!(lines[2].text, "tail");
    assert_eq!(lines[2].offset_after, fs::metadata(&p).unwrap().len());
}

#[test]
fn short_file_waits_for_first_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.log");
    append(&p, "abc");
    let mut t = Tailer::new(cfg(&glob(d.path(), "*.log"))).unwrap();
    let mut lines = Vec::new();
    for _ in 0..3 {
        t.poll(&mut lines);
    }
    assert!(lines.is_empty());
    assert_eq!(t.files()[0].fingerprint, None);
    append(&p, "def\n");
    t.poll(&mut lines);
    assert_eq!(lines[0].text, "abcdef");
}

#[test]
fn checkpoint_save_is_atomic_and_corrupt_file_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    append(&logs.path().join("a.log"), "one\ntwo\n");
    let mut t = Tailer::new(cfg(&glob(logs.path(), "*.log"))).unwrap();
    let mut lines = Vec::new();
    poll_until(&mut t, &mut lines, Duration::from_secs(5), |l| l.len() >= 2);
    t.ack(lines[1].fingerprint, lines[1].offset_after);
    t.save_checkpoints(d.path()).unwrap();
    let good = fs::read(d.path().join("checkpoints.json")).unwrap();
    // A crash after writing the temporary file but before the rename: the old file is intact.
    fs::write(
        d.path().join("checkpoints.json.tmp"),
        b"{\"version\":1,\"entr",
    )
    .unwrap();
    let (c, st) = Checkpoints::load(d.path()).unwrap();
    assert_eq!(st, LoadStatus::Loaded(1));
    assert_eq!(c.get(lines[1].fingerprint).unwrap().offset, 8);
    // The next save overwrites the leftover.
    c.save(d.path()).unwrap();
    assert!(!d.path().join("checkpoints.json.tmp").exists());
    assert_eq!(fs::read(d.path().join("checkpoints.json")).unwrap(), good);
    // A corrupt file is moved aside and reported.
    fs::write(d.path().join("checkpoints.json"), b"not json").unwrap();
    let (c, st) = Checkpoints::load(d.path()).unwrap();
    assert!(c.is_empty());
    assert!(matches!(st, LoadStatus::Corrupt { .. }), "{st:?}");
    assert!(!d.path().join("checkpoints.json").exists());
    assert_eq!(
        fs::read(d.path().join("checkpoints.json.corrupt")).unwrap(),
        b"not json"
    );
}

#[test]
fn copy_found_after_truncation_recovers_unread_lines() {
    // Deterministic copytruncate: lines written after our last read are only in the copy.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("app.log");
    append(&p, "0\n1\n");
    let mut t = Tailer::new(cfg(&glob(d.path(), "app.log*"))).unwrap();
    let mut lines = Vec::new();
    t.poll(&mut lines);
    assert_eq!(numbers(&lines), [0, 1]);
    append(&p, "2\n3\n");
    fs::copy(&p, d.path().join("app.log.1")).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&p, "4\n");
    for _ in 0..5 {
        t.poll(&mut lines);
    }
    let mut nums = numbers(&lines);
    nums.sort();
    assert_eq!(nums, [0, 1, 2, 3, 4]);
    assert_eq!(t.stats().rotations_truncated, 1);
}
