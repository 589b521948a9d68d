//! Times each parser alone on the recorded samples (and a synthetic 10k-socket `/proc/net/tcp`,
//! and a Docker container's `/proc/<pid>/cgroup`).
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

/// The `/proc/<pid>/cgroup` of a process in a Docker container on cgroup v1: the ID is on every
/// line.
const DOCKER_CGROUP_V1: &[u8] =
    b"12:pids:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
11:hugetlb:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
10:net_cls,net_prio:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
9:memory:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
8:cpu,cpuacct:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
1:name=systemd:/docker/3f4e9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
0::/system.slice/containerd.service
";

/// A benchmark name, its input, and the parser it times.
type Case = (&'static str, &'static [u8], fn(&[u8]) -> bool);

fn parsers(c: &mut Criterion) {
    let cases: [Case; 10] = [
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
        ("parse_pid_stat", fixture!("2204/stat"), |b| {
            lookout_proc::parse_pid_stat(b).is_ok()
        }),
        ("parse_pid_status", fixture!("2204/status"), |b| {
            lookout_proc::parse_pid_status(b).is_ok()
        }),
        ("parse_pid_io", fixture!("2204/io"), |b| {
            lookout_proc::parse_pid_io(b).is_ok()
        }),
        ("container_id_from_cgroup", fixture!("2204/cgroup"), |b| {
            lookout_proc::container_id_from_cgroup(b).is_some()
        }),
        ("container_id_from_cgroup_docker", DOCKER_CGROUP_V1, |b| {
            lookout_proc::container_id_from_cgroup(b).is_some()
        }),
    ];
    for (name, input, parse) in cases {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("debian12", |b| b.iter(|| parse(black_box(input))));
        group.finish();
    }

    let cmdline: &[u8] = fixture!("2204/cmdline");
    let mut group = c.benchmark_group("parse_cmdline");
    group.throughput(Throughput::Bytes(cmdline.len() as u64));
    let mut out = String::with_capacity(4096);
    group.bench_function("debian12", |b| {
        b.iter(|| lookout_proc::parse_cmdline(black_box(cmdline), 4096, &mut out))
    });
    group.bench_function("debian12_cut_at_40", |b| {
        b.iter(|| lookout_proc::parse_cmdline(black_box(cmdline), 40, &mut out))
    });
    group.finish();

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
