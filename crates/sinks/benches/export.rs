//! The export hot path for one host-metrics-sized batch: protobuf encoding, gzip and zstd,
//! delta conversion, and the Prometheus sink's apply + render.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_config::Compression;
use lookout_model::temporality::DeltaConverter;
use lookout_model::{attr, Batch, MetricsBuilder, Monotonic};
use lookout_sinks::prometheus::Exposition;
use std::hint::black_box;
use std::time::Duration;

/// About the size of one host collection on a 16-CPU machine with a few disks and interfaces.
fn host_like_batch(t: u64) -> Batch {
    let mut b = MetricsBuilder::new(
        vec![
            attr::str("host.name", "bench"),
            attr::str("host.id", "0123456789abcdef"),
        ],
        "lookout/host",
        "bench",
    );
    {
        let mut m = b.sum("system.cpu.time", "s", "CPU time", Monotonic::Yes);
        for cpu in 0..16 {
            for state in [
                "user",
                "nice",
                "system",
                "idle",
                "interrupt",
                "steal",
                "wait",
            ] {
                m.point_f64(
                    1,
                    t,
                    (cpu * 100 + t as usize) as f64,
                    &[("cpu", &format!("cpu{cpu}")), ("state", state)],
                );
            }
        }
    }
    for name in [
        "system.disk.io",
        "system.disk.operations",
        "system.network.io",
        "system.network.packets",
    ] {
        let mut m = b.sum(name, "By", "", Monotonic::Yes);
        for dev in 0..6 {
            for dir in ["read", "write"] {
                m.point_i64(
                    1,
                    t,
                    (dev as i64 + 1) * t as i64,
                    &[("device", &format!("dev{dev}")), ("direction", dir)],
                );
            }
        }
    }
    let mut m = b.sum("system.memory.usage", "By", "", Monotonic::No);
    for state in ["used", "free", "buffered", "cached"] {
        m.point_i64(1, t, 1 << 30, &[("state", state)]);
    }
    Batch::Metrics(b.finish())
}

fn bench(c: &mut Criterion) {
    let batch = host_like_batch(1000);
    let body = batch.encode_protobuf();
    c.bench_function("encode_protobuf", |b| {
        b.iter(|| black_box(batch.encode_protobuf()))
    });
    c.bench_function("gzip", |b| {
        b.iter(|| lookout_sinks::compress::compress(Compression::Gzip, black_box(&body)))
    });
    c.bench_function("zstd", |b| {
        b.iter(|| lookout_sinks::compress::compress(Compression::Zstd, black_box(&body)))
    });
    c.bench_function("to_json", |b| b.iter(|| black_box(batch.to_json())));
    c.bench_function("delta_convert", |b| {
        let mut conv = DeltaConverter::new(u64::MAX);
        let mut t = 1000;
        b.iter(|| {
            t += 1;
            let Batch::Metrics(mut r) = host_like_batch(t) else {
                return;
            };
            black_box(conv.convert(&mut r));
        })
    });
    c.bench_function("prometheus_apply_render", |b| {
        let mut e = Exposition::default();
        b.iter(|| {
            e.apply(&batch);
            black_box(e.render(Duration::from_secs(300)))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
