//! Pushes MiB of records (64 KiB each by default) into a fresh disk queue under each fsync
//! policy, three rounds, and prints records/s (one event per record, so also events/s) and MB/s
//! (10^6 bytes, like `dd`) of each run and the median of each policy, the time until everything
//! pushed is durable included (the final `flush`). Then
//! reopens the last queue with everything still queued and prints how long recovery took and the
//! process's memory, and drains it.
//!
//!   cargo run --release -p lookout-queue --example queue_throughput -- DIR [MiB] [KiB per record]
//!
//! `bench/queue.sh` runs it next to `dd` on the same directory. Under `always` a run stops after
//! 30 s (a slow disk fsyncs a few hundred times a second) and reports what it reached.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lookout_queue::{DiskQueue, FsyncPolicy, Push, QueueConfig, WhenFull};

fn config(dir: PathBuf, fsync: FsyncPolicy) -> QueueConfig {
    QueueConfig {
        dir,
        max_bytes: u64::MAX,
        max_age: None,
        segment_bytes: 32 << 20,
        fsync,
        when_full: WhenFull::Block,
    }
}

/// VmRSS and VmHWM of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One run: pushes `records` records, flushing when due and at the end; returns the queue's
/// directory (still full) and the MB/s reached.
fn run(dir: &Path, name: &str, fsync: FsyncPolicy, records: u64, payload: &[u8]) -> (PathBuf, f64) {
    let qdir = dir.join(format!("queue-{name}"));
    let _ = std::fs::remove_dir_all(&qdir);
    let (mut q, _) = DiskQueue::open(config(qdir.clone(), fsync)).unwrap();
    let limit = Duration::from_secs(30);
    let start = Instant::now();
    let mut pushed = 0;
    while pushed < records {
        match q.push(0, 1, payload).unwrap() {
            Push::Accepted { .. } => pushed += 1,
            other => panic!("{other:?}"),
        }
        if q.flush_due() {
            q.flush().unwrap();
        }
        if fsync == FsyncPolicy::Always && start.elapsed() > limit {
            break;
        }
    }
    q.flush().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let mb_s = pushed as f64 * payload.len() as f64 / 1e6 / secs;
    println!(
        "  {name:<9} {pushed:>8} records  {secs:>8.2} s  {:>12.0} records/s  {mb_s:>9.1} MB/s",
        pushed as f64 / secs,
    );
    (qdir, mb_s)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: queue_throughput DIR [MiB] [KiB per record]");
        std::process::exit(2);
    };
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let kib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let payload: Vec<u8> = (0..kib * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let records = (mib << 20) / payload.len() as u64;
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "pushing {mib} MiB as {records} records of {kib} KiB into {}",
        dir.display()
    );

    // Rounds alternate the policies so that a disk busy with something else skews them alike;
    // the median of each is the figure.
    let rounds = 3;
    let policies = [
        ("always", FsyncPolicy::Always),
        (
            "interval",
            FsyncPolicy::Interval(Duration::from_millis(500)),
        ),
        ("never", FsyncPolicy::Never),
    ];
    let mut results = vec![Vec::new(); policies.len()];
    let mut last = None;
    for round in 1..=rounds {
        println!("round {round}");
        for (i, (name, fsync)) in policies.iter().enumerate() {
            let (qdir, mb_s) = run(&dir, name, *fsync, records, &payload);
            results[i].push(mb_s);
            if let Some(previous) = last.replace(qdir) {
                let _ = std::fs::remove_dir_all(previous);
            }
        }
    }
    println!("median of {rounds} rounds");
    for (i, (name, _)) in policies.iter().enumerate() {
        let mb_s = median(results[i].clone());
        println!(
            "{name:<9} {:>12.0} records/s  {mb_s:>9.1} MB/s",
            mb_s * 1e6 / payload.len() as f64
        );
    }

    // Recovery and memory with everything still queued.
    let qdir = last.unwrap();
    let start = Instant::now();
    let (mut q, report) = DiskQueue::open(config(qdir.clone(), FsyncPolicy::Never)).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let (rss, hwm) = memory();
    let queued = q.stats().bytes as f64 / (1 << 20) as f64;
    println!(
        "reopen    {:>8} records  {secs:>8.2} s  ({queued:.0} MiB queued; RSS {rss:.1} MiB, peak {hwm:.1} MiB)",
        report.records
    );
    let start = Instant::now();
    let mut n = 0u64;
    while let Some(r) = q.next().unwrap() {
        n += 1;
        if n.is_multiple_of(100) {
            q.ack(r.id).unwrap();
        }
    }
    q.ack(u64::MAX).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let (rss, hwm) = memory();
    println!(
        "drain     {n:>8} records  {secs:>8.2} s  {:>12.0} records/s  {:>9.1} MB/s  (ack every 100; RSS {rss:.1} MiB, peak {hwm:.1} MiB)",
        n as f64 / secs,
        n as f64 * payload.len() as f64 / 1e6 / secs
    );
    drop(q);
    let _ = std::fs::remove_dir_all(qdir);
}
