//! Disk queue throughput: `push` of 1 KiB and 64 KiB records under each fsync policy (the
//! interval policy flushing whenever `flush_due` says so, every policy flushing at the end of a
//! sample), and `next` + `ack` of every record. The queue lives in the system's temporary
//! directory; to keep the disk from filling, the push benchmarks acknowledge everything every
//! 256 records (which deletes finished segments), outside the timed part.
//!
//! Run with `cargo bench -p lookout-queue`. `bench/queue.sh` measures the same against the
//! disk's raw sequential write speed.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lookout_queue::{DiskQueue, FsyncPolicy, Push, QueueConfig, WhenFull};

fn config(dir: &std::path::Path, fsync: FsyncPolicy) -> QueueConfig {
    QueueConfig {
        dir: dir.join("queue"),
        max_bytes: 8 << 30,
        max_age: None,
        segment_bytes: 32 << 20,
        fsync,
        when_full: WhenFull::Block,
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn push(c: &mut Criterion) {
    let mut group = c.benchmark_group("push");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for size in [1024usize, 64 * 1024] {
        let data = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        for (name, fsync) in [
            ("always", FsyncPolicy::Always),
            (
                "interval_500ms",
                FsyncPolicy::Interval(Duration::from_millis(500)),
            ),
            ("never", FsyncPolicy::Never),
        ] {
            group.bench_with_input(BenchmarkId::new(name, size), &data, |b, data| {
                let dir = tempfile::tempdir().expect("temp dir");
                let (mut q, _) = DiskQueue::open(config(dir.path(), fsync)).expect("open");
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    let mut start = Instant::now();
                    for i in 0..iters {
                        let id = match q.push(0, 1, data).expect("push") {
                            Push::Accepted { id } => id,
                            other => panic!("{other:?}"),
                        };
                        if q.flush_due() {
                            q.flush().expect("flush");
                        }
                        if i % 256 == 255 {
                            timed += start.elapsed();
                            q.ack(id).expect("ack");
                            start = Instant::now();
                        }
                    }
                    q.flush().expect("flush");
                    timed + start.elapsed()
                });
            });
        }
    }
    group.finish();
}

fn next_ack(c: &mut Criterion) {
    let mut group = c.benchmark_group("next_ack");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for size in [1024usize, 64 * 1024] {
        let data = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("interval_500ms", size),
            &data,
            |b, data| {
                let dir = tempfile::tempdir().expect("temp dir");
                let fsync = FsyncPolicy::Interval(Duration::from_millis(500));
                let (mut q, _) = DiskQueue::open(config(dir.path(), fsync)).expect("open");
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        // Fill (untimed) up to 32 MiB, then drain it (timed).
                        let batch = left.min((32 << 20) / size as u64).max(1);
                        for _ in 0..batch {
                            q.push(0, 1, data).expect("push");
                        }
                        let start = Instant::now();
                        for _ in 0..batch {
                            let r = q.next().expect("next").expect("a record");
                            q.ack(r.id).expect("ack");
                        }
                        timed += start.elapsed();
                        left -= batch;
                    }
                    timed
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, push, next_ack);
criterion_main!(benches);
