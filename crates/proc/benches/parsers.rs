//! Times each parser alone on the recorded samples (and a synthetic 10k-socket `/proc/net/tcp`).
//!
//! Run with `cargo bench -p lookout-proc`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/debian12-6.18.44-fc-v657/proc/",
            $path
        ))
    };
}

/// A `/proc/net/tcp` with `sockets` lines cycling through the states of a busy server.
fn synthetic_tcp(sockets: usize) -> Vec<u8> {
    let mut out = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    let states = ["01", "01", "01", "06", "06", "08", "0A", "02", "03", "04"];
    for i in 0..sockets {
        let state = states[i % states.len()];
        out.push_str(&format!(
            "{i:4}: 0100007F:{port:04X} 0A000001:{peer:04X} {state} 00000000:00000000 00:00000000 00000000  1000        0 {inode} 1 0000000000000000 20 4 30 10 -1\n",
            port = 8000 + i % 100,
            peer = 30000 + i % 20000,
            inode = 100_000 + i,
        ));
    }
    out.into_bytes()
}

/// A benchmark name, its input, and the parser it times.
type Case = (&'static str, &'static [u8], fn(&[u8]) -> bool);

fn parsers(c: &mut Criterion) {
    let cases: [Case; 5] = [
        ("parse_stat", fixture!("stat"), |b| {
            lookout_proc::parse_stat(b).is_ok()
        }),
        ("parse_meminfo", fixture!("meminfo"), |b| {
            lookout_proc::parse_meminfo(b).is_ok()
        }),
        ("parse_diskstats", fixture!("diskstats"), |b| {
            lookout_proc::parse_diskstats(b).is_ok()
        }),
        ("parse_net_dev", fixture!("net/dev"), |b| {
            lookout_proc::parse_net_dev(b).is_ok()
        }),
        ("parse_mountinfo", fixture!("self/mountinfo"), |b| {
            lookout_proc::parse_mountinfo(b).is_ok()
        }),
    ];
    for (name, input, parse) in cases {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("debian12", |b| b.iter(|| parse(black_box(input))));
        group.finish();
    }

    let tcp = synthetic_tcp(10_000);
    let mut group = c.benchmark_group("parse_tcp_states");
    group.throughput(Throughput::Bytes(tcp.len() as u64));
    group.bench_function("10k_sockets", |b| {
        b.iter(|| lookout_proc::parse_tcp_states(black_box(&tcp)))
    });
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
