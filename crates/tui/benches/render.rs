//! Frame time: one full draw of a screen into a 120x40 buffer (what a refresh costs besides
//! the fetch), with 1,000 processes on the Processes screen and two minutes of host samples on
//! the Overview. The terminal then receives only the cells that changed (ratatui's diff).
//!
//!   cargo bench -p lookout-tui

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_api::*;
use lookout_tui::backend::{Backend, SourceOp};
use lookout_tui::{App, Options, Screen};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;

struct Fixed {
    procs: Processes,
    host: HostHistory,
}

fn nope<T>() -> Result<T, String> {
    Err("not in this benchmark".into())
}

impl Backend for Fixed {
    fn status(&self) -> Result<Status, String> {
        Ok(Status {
            version: "0.1.0".into(),
            pid: 42,
            healthy: true,
            uptime_secs: 7384.0,
            config_hash: "e2e73fb803d97b11".into(),
            components: (0..12)
                .map(|i| Component {
                    id: format!("component_{i}"),
                    kind: "source".into(),
                    type_name: "files".into(),
                    received_items: 1000 * i,
                    sent_items: 1000 * i,
                    healthy: true,
                    ..Component::default()
                })
                .collect(),
            ..Status::default()
        })
    }
    fn host(&self) -> Result<HostHistory, String> {
        Ok(self.host.clone())
    }
    fn processes(&self) -> Result<Processes, String> {
        Ok(self.procs.clone())
    }
    fn services(&self) -> Result<Services, String> {
        nope()
    }
    fn set_service(&self, _: &str, _: bool) -> Result<ActionResult, String> {
        nope()
    }
    fn log_sources(&self) -> Result<LogSources, String> {
        nope()
    }
    fn add_log_source(&self, _: &AddLogSource) -> Result<ActionResult, String> {
        nope()
    }
    fn log_source_op(&self, _: &str, _: SourceOp) -> Result<ActionResult, String> {
        nope()
    }
    fn tail(&self, _: &str, _: u64) -> Result<Tail, String> {
        nope()
    }
    fn redact_try(&self, _: &RedactTry) -> Result<RedactTryResult, String> {
        nope()
    }
    fn config(&self) -> Result<ConfigView, String> {
        nope()
    }
    fn config_change(&self, _: &str, _: bool) -> Result<ConfigCheck, String> {
        nope()
    }
    fn diagnose(&self) -> Result<Vec<Check>, String> {
        nope()
    }
    fn set_log_level(&self, _: &str, _: u64) -> Result<ActionResult, String> {
        nope()
    }
}

fn fixed() -> Fixed {
    Fixed {
        procs: Processes {
            time_unix_nanos: 1,
            cpus: 2,
            processes: 1000,
            reported: (0..1000u32)
                .map(|i| Process {
                    pid: 1000 + i,
                    ppid: if i % 10 == 0 { 1 } else { 1000 + i - i % 10 },
                    name: format!("worker{i}"),
                    command_line: format!("/usr/bin/worker --id {i} --config /etc/worker.conf"),
                    owner: Some("www-data".into()),
                    state: "S".into(),
                    cpu_cores: Some(f64::from(i % 97) / 100.0),
                    rss_bytes: u64::from(i) * 4096 * 37,
                    threads: u64::from(i % 8 + 1),
                    ..Process::default()
                })
                .collect(),
        },
        host: HostHistory {
            interval_secs: 2.0,
            samples: (0..60)
                .map(|i| HostSample {
                    unix: 1.7e9 + f64::from(i) * 2.0,
                    cpus: 2,
                    cpu_percent: f64::from(i % 17) * 5.0,
                    mem_used_bytes: 3 << 30,
                    mem_total_bytes: 8 << 30,
                    load1: 0.5,
                    disk_read_bps: f64::from(i) * 1e5,
                    net_rx_bps: f64::from(i) * 2e4,
                    ..HostSample::default()
                })
                .collect(),
        },
    }
}

fn bench(c: &mut Criterion) {
    let backend = fixed();
    for (name, screen) in [
        ("overview", Screen::Overview),
        ("processes_1000", Screen::Processes),
    ] {
        let mut app = App::new(&Options::default());
        let _ = app.goto(screen);
        app.refresh(&backend, Instant::now());
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => panic!("test terminal: {e}"),
        };
        c.bench_function(&format!("frame_{name}_120x40"), |b| {
            b.iter(|| {
                let _ = term.draw(|f| app.render(f));
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
