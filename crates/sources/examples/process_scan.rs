//! Times the process scanner: `cargo run --release -p lookout-sources --example process_scan -- N`
//! runs one warm-up scan then N scans and prints the CPU time (user + system, from
//! /proc/self/stat) per scan, for bench/processes.sh.

use lookout_config::ProcessMetricsConfig;
use lookout_sources::process::scan::Scanner;

fn cpu_secs() -> f64 {
    let mut buf = Vec::new();
    let st = lookout_proc::ProcFs::new()
        .read_self_stat(&mut buf)
        .map(|s| s.utime + s.stime)
        .unwrap_or(0);
    st as f64 / lookout_proc::clock_ticks_per_second() as f64
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let mut s = Scanner::new(ProcessMetricsConfig::default());
    let first = s.scan().map(|x| x.processes).unwrap_or(0);
    let t0 = cpu_secs();
    let w0 = std::time::Instant::now();
    let mut reported = 0;
    for _ in 0..n {
        if let Ok(snap) = s.scan() {
            reported = snap.reported.len();
        }
    }
    let cpu = (cpu_secs() - t0) / n as f64;
    let wall = w0.elapsed().as_secs_f64() / n as f64;
    println!("processes={first} reported={reported} scans={n} cpu_ms_per_scan={:.2} wall_ms_per_scan={:.2}", cpu * 1e3, wall * 1e3);
}
