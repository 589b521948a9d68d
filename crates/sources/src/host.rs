//! The `host_metrics` source: CPU, load, memory, paging, disks, filesystems, network and
//! processes of the host, named as the OpenTelemetry Collector's hostmetrics receiver names them.
//!
//! **What it reads.** Every `interval` (the first time at once) [`HostMetricsSource`] reads, under
//! `proc_path`: `stat` (cpu, processes), `loadavg` (load), `meminfo` (memory, paging), `vmstat`
//! (paging), `diskstats` (disk), `self/mountinfo` (`1/mountinfo`, the host's, when `root_path`
//! is not `/`) then `statvfs(2)` of each mount point under `root_path` (filesystem), `net/dev`, `net/tcp[6]` and `net/udp[6]` (network), every
//! `<pid>/stat` (processes) and `uptime`. Each enabled collector adds its metrics to one
//! [`MetricsBuilder`](lookout_model::MetricsBuilder) for the host resource, and the whole tick is
//! sent as one batch. Files are read synchronously into one reused buffer; CPU times are kept
//! between ticks for `system.cpu.utilization`, which therefore starts with the second tick. Sums
//! are cumulative from boot time (`btime` of `/proc/stat`).
//!
//! **Cost.** `benches/host.rs` times it: about 4 ms per tick on a 2-CPU VM with 24 GB, of which
//! about 3.3 ms is reading `/proc/net/tcp` and `tcp6` for `system.network.connections` (the
//! kernel walks its whole TCP hash table, sized by RAM, on every read, however few sockets
//! exist) and 0.5 ms the `<pid>/stat` of every process; everything else together is about
//! 0.15 ms.
//!
//! **Self-metrics.** Each tick adds its data points to `received_items` (the output adds them to
//! `sent_items`), observes the collection time in `latency`, and reports health: a collector that
//! starts failing is recorded once with `record_failure` (so `errors` counts failing streaks, not
//! ticks), and a tick where every collector worked calls `record_success`.
//!
//! **How it fails.** A collector that cannot read or parse its file (missing, permission denied,
//! unknown format) adds what it could and reports an error naming the file; the other collectors
//! carry on, and the source keeps ticking. A mount whose `statvfs` fails (another user's FUSE
//! mount, a stale NFS handle, a mount that just went away) is skipped, logged once at debug
//! level. `statvfs` on an unreachable hard-mounted NFS share can block: exclude such mounts with
//! `filesystem.fs_types` or `filesystem.mount_points`. [`HostMetricsSource::new`] fails only when
//! `proc_path` is not a readable proc filesystem (or `root_path` is not a directory).

mod collect;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use collect::Collector;
use lookout_config::{HostCollector, HostMetricsConfig};
use lookout_model::otlp::{ExportMetricsServiceRequest, KeyValue};
use lookout_model::Batch;
use lookout_pipeline::{BoxFuture, ComponentStats, Source, SourceContext};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// Collects host metrics from `/proc` and `statvfs` every interval; see the [module
/// documentation](self).
#[derive(Debug)]
pub struct HostMetricsSource {
    interval: Duration,
    collector: Collector,
    /// Collectors that failed last tick (their failing streak has been recorded).
    failing: BTreeSet<HostCollector>,
}

/// What one collection produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Every metric the enabled collectors could read, for the host resource and the
    /// `lookout/host` scope.
    pub request: ExportMetricsServiceRequest,
    /// One entry per collector that failed (wholly or in part).
    pub errors: Vec<CollectorError>,
}

/// A collector that could not read (all of) its data this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorError {
    /// Which collector.
    pub collector: HostCollector,
    /// What could not be read, and why.
    pub message: String,
}

impl fmt::Display for CollectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} collector: {}",
            collect::name(self.collector),
            self.message
        )
    }
}

impl std::error::Error for CollectorError {}

impl HostMetricsSource {
    /// A source for `cfg` whose batches carry `resource` (the host resource attributes, from
    /// [`detect_host_resource`](crate::detect_host_resource)).
    ///
    /// Fails when the interval is zero, when `proc_path` cannot be listed or holds no `stat`
    /// file (it is not a proc filesystem), or, with the filesystem collector enabled, when
    /// `root_path` is not a directory.
    pub fn new(cfg: HostMetricsConfig, resource: Arc<Vec<KeyValue>>) -> Result<Self, String> {
        let interval = cfg.interval.0;
        if interval.is_zero() {
            return Err("the interval must be longer than zero".to_string());
        }
        let proc_path = &cfg.proc_path;
        if let Err(e) = std::fs::read_dir(proc_path) {
            return Err(format!(
                "cannot read proc_path {}: {e} (set proc_path to where procfs is mounted, e.g. \
                 /proc, or /host/proc in a container)",
                proc_path.display()
            ));
        }
        if !proc_path.join("stat").is_file() {
            return Err(format!(
                "proc_path {} is not a proc filesystem: it has no `stat` file (set proc_path to \
                 where procfs is mounted, e.g. /proc, or /host/proc in a container)",
                proc_path.display()
            ));
        }
        if cfg.collectors.contains(&HostCollector::Filesystem) && !cfg.root_path.is_dir() {
            return Err(format!(
                "root_path {} is not a directory (set it to where the host's / is mounted, e.g. \
                 /host in a container)",
                cfg.root_path.display()
            ));
        }
        Ok(HostMetricsSource {
            interval,
            collector: Collector::new(cfg, resource),
            failing: BTreeSet::new(),
        })
    }

    /// Runs every enabled collector once, as one tick does (without reporting to any stats).
    pub fn collect(&mut self) -> Collection {
        self.collector.collect()
    }

    /// Records failing streaks and recoveries in `stats`: `record_failure` once when a collector
    /// starts failing (which logs when the component's streak starts; a collector that starts
    /// failing during another's streak is logged here), `record_success` after a tick where
    /// every collector worked.
    fn report(&mut self, stats: &ComponentStats, errors: &[CollectorError]) {
        let mut component_failing = !self.failing.is_empty();
        let mut now_failing = BTreeSet::new();
        for e in errors {
            now_failing.insert(e.collector);
            if self.failing.contains(&e.collector) {
                continue;
            }
            let message = e.to_string();
            if component_failing {
                tracing::warn!(component = %stats.id, "source `{}`: {message}", stats.id);
            }
            stats.record_failure(&message);
            component_failing = true;
        }
        if errors.is_empty() {
            stats.record_success();
        } else {
            for c in self.failing.difference(&now_failing) {
                tracing::info!(
                    component = %stats.id,
                    "source `{}`: the {} collector works again",
                    stats.id,
                    collect::name(*c)
                );
            }
        }
        self.failing = now_failing;
    }
}

impl Source for HostMetricsSource {
    fn run(self: Box<Self>, mut cx: SourceContext) -> BoxFuture {
        let mut this = self;
        Box::pin(async move {
            let mut ticker = tokio::time::interval(this.interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = cx.shutdown.wait() => return,
                    _ = ticker.tick() => {}
                }
                let started = Instant::now();
                let collection = this.collect();
                cx.stats.latency.observe(started.elapsed());
                this.report(&cx.stats, &collection.errors);
                let batch = Batch::Metrics(collection.request);
                cx.stats
                    .received_items
                    .fetch_add(batch.item_count() as u64, Relaxed);
                cx.out.send(batch).await;
            }
        })
    }

    /// Three intervals, and at least 30 s.
    fn health_threshold(&self) -> Duration {
        self.interval.saturating_mul(3).max(Duration::from_secs(30))
    }
}
