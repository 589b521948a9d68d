//! The `process_metrics` source: top-N processes, roll-ups, services and start/exit events.
//!
//! **What it reads.** Every `interval` the [`Scanner`](scan::Scanner) reads `/proc/<pid>/stat` of
//! every process, ranks them by CPU (tick deltas) and resident memory, and reads `status`, `io`,
//! the `fd` directory (and once per process identity `cmdline`, `exe`, `cgroup`, the owner's
//! name from `/etc/passwd`) only for the reported ones: the top `top_n` by CPU ∪ the top `top_n`
//! by memory ∪ `always_include`. The rest is rolled up by executable name (at most
//! `rollup_groups` groups, then `other`), and each attributed service gets its footprint
//! (processes of the service and their inheriting descendants). Every `lifecycle_interval`
//! (1 s) a scan of /proc's directory names alone finds processes that started or exited, sent
//! as log records (`event.name` = `process.start` / `process.exit`).
//!
//! **Self-metrics.** Items collected and sent, collection latency, and the gauges
//! `lookout_process_tracked`, `lookout_process_unreadable` (reported processes whose details
//! could not be read for lack of permission) and counters of lifecycle events in
//! `lookout_process_starts_seen` / `lookout_process_exits_seen`.
//!
//! **How it fails.** A process that exits mid-read is skipped and counted as vanished; one
//! whose files are denied (another user's process when not root) is reported with what is
//! readable, counted, and warned about once with the capabilities that grant access. Only an
//! unreadable proc root fails the scan (recorded as a failure, retried next interval).
//! The last snapshot is served as JSON at `/processes` on the agent's HTTP server (what
//! `lookout processes` shows).

pub mod emit;
pub mod scan;
pub mod services;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use lookout_config::ProcessMetricsConfig;
use lookout_model::logs::{LogsBuilder, Severity};
use lookout_model::otlp::KeyValue;
use lookout_model::{attr, Batch};
use lookout_pipeline::{BoxFuture, Page, Routes, Source, SourceContext};
use lookout_proc::ProcFs;
use scan::{Scanner, Snapshot};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// The source.
pub struct ProcessMetricsSource {
    cfg: ProcessMetricsConfig,
    resource: Arc<Vec<KeyValue>>,
    scanner: Scanner,
    last: Arc<Mutex<Option<Snapshot>>>,
}

impl ProcessMetricsSource {
    /// Builds the source and publishes `/processes` (the last snapshot as JSON).
    pub fn new(
        cfg: ProcessMetricsConfig,
        resource: Arc<Vec<KeyValue>>,
        routes: &Routes,
    ) -> Result<Self, String> {
        if let Err(e) = std::fs::read_dir(&cfg.proc_path) {
            return Err(format!(
                "cannot read proc_path {}: {e} (set proc_path to where procfs is mounted)",
                cfg.proc_path.display()
            ));
        }
        let last: Arc<Mutex<Option<Snapshot>>> = Arc::new(Mutex::new(None));
        let page = last.clone();
        routes.register("/processes", move || Page {
            content_type: "application/json",
            body: page
                .lock()
                .ok()
                .and_then(|s| s.as_ref().and_then(|s| serde_json::to_string(s).ok()))
                .unwrap_or_else(|| "null".to_string()),
        });
        Ok(ProcessMetricsSource {
            scanner: Scanner::new(cfg.clone()),
            cfg,
            resource,
            last,
        })
    }
}

/// A process seen starting or exiting: pid, executable name, parent pid.
type Seen = (u32, Arc<str>, u32);

/// Start/exit detection from /proc's directory names.
struct Lifecycle {
    proc: ProcFs,
    known: HashMap<u32, (Arc<str>, u32)>,
    pids: Vec<u32>,
    buf: Vec<u8>,
    primed: bool,
    /// (last pid allocated, kernel tasks) from /proc/loadavg at the last listing.
    marker: Option<(u64, u64)>,
}

impl Lifecycle {
    /// Returns (started, exited) as (pid, name, ppid).
    fn poll(&mut self) -> (Vec<Seen>, Vec<Seen>) {
        let mut started = Vec::new();
        let mut exited = Vec::new();
        // Listing /proc costs the kernel a walk over every task; /proc/loadavg tells cheaply
        // whether anything can have changed: a new process moves the last allocated pid, an
        // exit changes the number of tasks. Only then is the directory listed.
        let marker = self
            .proc
            .read_loadavg(&mut self.buf)
            .ok()
            .map(|l| (l.last_pid, l.total));
        if marker.is_some() && marker == self.marker {
            return (started, exited);
        }
        self.marker = marker;
        if self.proc.list_pids(&mut self.pids).is_err() {
            return (started, exited);
        }
        self.pids.sort_unstable();
        for &pid in &self.pids {
            if self.known.contains_key(&pid) {
                continue;
            }
            let Ok(st) = self.proc.read_pid_stat(pid, &mut self.buf) else {
                continue;
            };
            let name: Arc<str> = Arc::from(st.comm.as_str());
            self.known.insert(pid, (name.clone(), st.ppid));
            if self.primed {
                started.push((pid, name, st.ppid));
            }
        }
        let pids = &self.pids;
        self.known.retain(|pid, (name, ppid)| {
            let alive = pids.binary_search(pid).is_ok();
            if !alive {
                exited.push((*pid, name.clone(), *ppid));
            }
            alive
        });
        self.primed = true;
        (started, exited)
    }
}

fn events(resource: &[KeyValue], started: &[Seen], exited: &[Seen]) -> Batch {
    let now = lookout_model::now_nanos();
    let mut b = LogsBuilder::new(
        resource.to_vec(),
        "lookout/process",
        env!("CARGO_PKG_VERSION"),
    );
    for (kind, list, verb) in [
        ("process.start", started, "started"),
        ("process.exit", exited, "exited"),
    ] {
        for (pid, name, ppid) in list {
            b.record(
                now,
                Severity::Info,
                format!("process {verb}: {name} (pid {pid}, parent {ppid})"),
                vec![
                    attr::str("event.name", kind),
                    attr::int("process.pid", i64::from(*pid)),
                    attr::int("process.parent_pid", i64::from(*ppid)),
                    attr::str("process.executable.name", &**name),
                ],
            );
        }
    }
    Batch::Logs(b.finish())
}

impl Source for ProcessMetricsSource {
    fn run(self: Box<Self>, mut cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let ProcessMetricsSource {
                cfg,
                resource,
                scanner,
                last,
            } = *self;
            let mut scanner = Some(scanner);
            let mut ticker = tokio::time::interval(cfg.interval.0);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut life_ticker = tokio::time::interval(cfg.lifecycle_interval.0);
            life_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut life = Lifecycle {
                proc: ProcFs::with_root(cfg.proc_path.clone()),
                known: HashMap::new(),
                pids: Vec::new(),
                buf: Vec::with_capacity(1024),
                primed: false,
                marker: None,
            };
            let (mut starts, mut exits) = (0u64, 0u64);
            loop {
                let full = tokio::select! {
                    biased;
                    _ = cx.shutdown.wait() => return,
                    _ = ticker.tick() => true,
                    _ = life_ticker.tick(), if cfg.lifecycle_events => false,
                };
                if !full {
                    let (s, e) = life.poll();
                    if !s.is_empty() || !e.is_empty() {
                        starts += s.len() as u64;
                        exits += e.len() as u64;
                        cx.stats.set_gauge(
                            "lookout_process_starts_seen",
                            "Process starts seen by the lifecycle scan since the agent started.",
                            starts as f64,
                        );
                        cx.stats.set_gauge(
                            "lookout_process_exits_seen",
                            "Process exits seen by the lifecycle scan since the agent started.",
                            exits as f64,
                        );
                        let batch = events(&resource, &s, &e);
                        cx.stats
                            .received_items
                            .fetch_add(batch.item_count() as u64, Relaxed);
                        cx.out.send(batch).await;
                    }
                    continue;
                }
                let Some(mut sc) = scanner.take() else { return };
                let started = Instant::now();
                let (sc, result) = match tokio::task::spawn_blocking(move || {
                    let r = sc.scan();
                    (sc, r)
                })
                .await
                {
                    Ok(x) => x,
                    Err(_) => return,
                };
                cx.stats.latency.observe(started.elapsed());
                cx.stats.set_gauge(
                    "lookout_process_tracked",
                    "Processes tracked by the process source.",
                    sc.tracked() as f64,
                );
                scanner = Some(sc);
                match result {
                    Ok(snap) => {
                        cx.stats.record_success();
                        cx.stats.set_gauge(
                            "lookout_process_unreadable",
                            "Reported processes whose details could not be read for lack of permission.",
                            snap.unreadable as f64,
                        );
                        let batch = Batch::Metrics(emit::metrics(&resource, &snap));
                        if let Ok(mut l) = last.lock() {
                            *l = Some(snap);
                        }
                        cx.stats
                            .received_items
                            .fetch_add(batch.item_count() as u64, Relaxed);
                        cx.out.send(batch).await;
                    }
                    Err(e) => cx
                        .stats
                        .record_failure(&format!("cannot scan processes: {e}")),
                }
            }
        })
    }

    fn health_threshold(&self) -> Duration {
        self.cfg
            .interval
            .0
            .saturating_mul(3)
            .max(Duration::from_secs(30))
    }
}
