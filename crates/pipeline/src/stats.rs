//! The self-metrics registry: every component reports the same counters, read by `/metrics`,
//! `/health`, `/status` and `lookout status`.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// Produces batches.
    Source,
    /// Transforms batches.
    Processor,
    /// Delivers batches.
    Sink,
}

impl ComponentKind {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Source => "source",
            ComponentKind::Processor => "processor",
            ComponentKind::Sink => "sink",
        }
    }
}

/// Upper bounds (seconds) of the batch latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A fixed-bucket latency histogram with atomic counters.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// Cumulative bucket counts (one per [`LATENCY_BUCKETS`] entry), total count, sum in seconds.
    pub fn snapshot(&self) -> (Vec<u64>, u64, f64) {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Relaxed);
                acc
            })
            .collect();
        (
            cumulative,
            self.count.load(Relaxed),
            self.sum_micros.load(Relaxed) as f64 / 1e6,
        )
    }
}

#[derive(Debug, Default)]
struct Health {
    failing_since: Option<Instant>,
    failing_since_wall: Option<SystemTime>,
    consecutive_failures: u64,
    last_error: Option<(SystemTime, String)>,
}

/// The counters and health of one component.
#[derive(Debug)]
pub struct ComponentStats {
    /// Component id from the config.
    pub id: String,
    /// Source, processor or sink.
    pub kind: ComponentKind,
    /// The `type:` from the config.
    pub type_name: &'static str,
    /// Items (points, records, spans) received.
    pub received_items: AtomicU64,
    /// Items sent on (sources, processors) or delivered (sinks).
    pub sent_items: AtomicU64,
    /// Items dropped (buffer full, given up after retries, rejected).
    pub dropped_items: AtomicU64,
    /// Errors (failed reads, failed deliveries).
    pub errors: AtomicU64,
    /// Items whose delivery was attempted again after a failure.
    pub retried_items: AtomicU64,
    /// Items moved to the dead-letter directory.
    pub dead_lettered_items: AtomicU64,
    /// Bytes delivered (request bodies as sent).
    pub sent_bytes: AtomicU64,
    /// Batches in the buffer in front of a sink.
    pub buffer_depth: AtomicU64,
    /// Capacity of that buffer.
    pub buffer_capacity: AtomicU64,
    /// Time to collect (sources) or deliver (sinks) a batch.
    pub latency: Histogram,
    health_threshold: Mutex<Duration>,
    health: Mutex<Health>,
    drop_episode: Mutex<bool>,
    gauges: Mutex<Vec<(&'static str, &'static str, f64)>>,
    labeled: Mutex<Vec<Labeled>>,
}

/// A component-specific counter with one label (e.g. parse errors by reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Labeled {
    /// Metric name (`..._total`).
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Label key.
    pub label: &'static str,
    /// Label value.
    pub value: String,
    /// The count.
    pub count: u64,
}

/// A point-in-time copy of a component's stats, for `/status`, the control API, the CLI and
/// the terminal UI: the control API's own type, so the agent serves what its clients read.
pub use lookout_api::Component as ComponentSnapshot;

impl ComponentStats {
    /// New stats for a component; `health_threshold` is how long it may fail before it counts
    /// as unhealthy.
    pub fn new(
        id: &str,
        kind: ComponentKind,
        type_name: &'static str,
        health_threshold: Duration,
    ) -> Self {
        ComponentStats {
            id: id.to_string(),
            kind,
            type_name,
            received_items: AtomicU64::new(0),
            sent_items: AtomicU64::new(0),
            dropped_items: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            retried_items: AtomicU64::new(0),
            dead_lettered_items: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            buffer_depth: AtomicU64::new(0),
            buffer_capacity: AtomicU64::new(0),
            latency: Histogram::default(),
            health_threshold: Mutex::new(health_threshold),
            health: Mutex::new(Health::default()),
            drop_episode: Mutex::new(false),
            gauges: Mutex::new(Vec::new()),
            labeled: Mutex::new(Vec::new()),
        }
    }

    /// Sets a component-specific gauge, exposed on `/metrics` as `name{component_id}` with
    /// `help` (e.g. `lookout_process_unreadable`).
    pub fn set_gauge(&self, name: &'static str, help: &'static str, value: f64) {
        if let Ok(mut g) = self.gauges.lock() {
            match g.iter_mut().find(|(n, _, _)| *n == name) {
                Some(e) => e.2 = value,
                None => g.push((name, help, value)),
            }
        }
    }

    /// Adds `n` to a component-specific counter `name{label="value"}` (created at first use).
    pub fn add_labeled(
        &self,
        name: &'static str,
        help: &'static str,
        label: &'static str,
        value: &str,
        n: u64,
    ) {
        if let Ok(mut l) = self.labeled.lock() {
            match l
                .iter_mut()
                .find(|c| c.name == name && c.label == label && c.value == value)
            {
                Some(c) => c.count += n,
                None => l.push(Labeled {
                    name,
                    help,
                    label,
                    value: value.to_string(),
                    count: n,
                }),
            }
        }
    }

    /// Sets a component-specific counter `name{label="value"}` to `count` (for components that
    /// keep their own running totals).
    pub fn set_labeled(
        &self,
        name: &'static str,
        help: &'static str,
        label: &'static str,
        value: &str,
        count: u64,
    ) {
        if let Ok(mut l) = self.labeled.lock() {
            match l
                .iter_mut()
                .find(|c| c.name == name && c.label == label && c.value == value)
            {
                Some(c) => c.count = count,
                None => l.push(Labeled {
                    name,
                    help,
                    label,
                    value: value.to_string(),
                    count,
                }),
            }
        }
    }

    /// The labelled counters.
    pub fn labeled(&self) -> Vec<Labeled> {
        self.labeled.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The component-specific gauges: (name, help, value).
    pub fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        self.gauges.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Records a success: ends a failing streak (logging one line if there was one).
    pub fn record_success(&self) {
        let Ok(mut h) = self.health.lock() else {
            return;
        };
        if h.failing_since.is_some() {
            tracing::info!(
                component = %self.id,
                kind = self.kind.as_str(),
                failures = h.consecutive_failures,
                "{} `{}` recovered after {} failed attempt(s)",
                self.kind.as_str(),
                self.id,
                h.consecutive_failures
            );
        }
        h.failing_since = None;
        h.failing_since_wall = None;
        h.consecutive_failures = 0;
    }

    /// Records a failure: counts it, keeps it as the last error, and logs one line when a
    /// failing streak starts (not for every retry).
    pub fn record_failure(&self, error: &str) {
        self.errors.fetch_add(1, Relaxed);
        let threshold = self.threshold();
        let Ok(mut h) = self.health.lock() else {
            return;
        };
        h.consecutive_failures += 1;
        h.last_error = Some((SystemTime::now(), error.to_string()));
        if h.failing_since.is_none() {
            h.failing_since = Some(Instant::now());
            h.failing_since_wall = Some(SystemTime::now());
            tracing::warn!(
                component = %self.id,
                kind = self.kind.as_str(),
                "{} `{}` is failing: {error} (reported unhealthy if it lasts {:?}; retrying quietly)",
                self.kind.as_str(),
                self.id,
                threshold
            );
        }
    }

    /// Records an error that does not change health (e.g. one unreadable item).
    pub fn record_error(&self, error: &str) {
        self.errors.fetch_add(1, Relaxed);
        if let Ok(mut h) = self.health.lock() {
            h.last_error = Some((SystemTime::now(), error.to_string()));
        }
    }

    /// Counts items dropped because a buffer was full, logging once per episode.
    pub fn record_full_drop(&self, items: u64, downstream: &str) {
        self.dropped_items.fetch_add(items, Relaxed);
        if let Ok(mut ep) = self.drop_episode.lock() {
            if !*ep {
                *ep = true;
                tracing::warn!(
                    component = %self.id,
                    "buffer of `{}` is full: dropping new batches until it drains (counted in lookout_component_dropped_items_total)",
                    downstream
                );
            }
        }
    }

    /// Ends a buffer-full episode (the buffer accepted a batch again).
    pub fn end_drop_episode(&self) {
        if let Ok(mut ep) = self.drop_episode.lock() {
            if *ep {
                *ep = false;
                tracing::info!(component = %self.id, "buffer has room again");
            }
        }
    }

    /// Sets the health threshold (on reload).
    pub fn set_threshold(&self, d: Duration) {
        if let Ok(mut t) = self.health_threshold.lock() {
            *t = d;
        }
    }

    fn threshold(&self) -> Duration {
        self.health_threshold
            .lock()
            .map(|t| *t)
            .unwrap_or(Duration::from_secs(60))
    }

    /// True unless the component has been failing for longer than its threshold.
    pub fn is_healthy(&self) -> bool {
        let threshold = self.threshold();
        self.health
            .lock()
            .map(|h| h.failing_since.is_none_or(|s| s.elapsed() < threshold))
            .unwrap_or(true)
    }

    /// A copy of the counters and health.
    pub fn snapshot(&self) -> ComponentSnapshot {
        let healthy = self.is_healthy();
        let (failing, failing_for, last_error, last_error_unix) = match self.health.lock() {
            Ok(h) => (
                h.failing_since.is_some(),
                h.failing_since.map(|s| s.elapsed().as_secs_f64()),
                h.last_error.as_ref().map(|(_, e)| e.clone()),
                h.last_error.as_ref().map(|(t, _)| {
                    t.duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                }),
            ),
            Err(_) => (false, None, None, None),
        };
        ComponentSnapshot {
            id: self.id.clone(),
            kind: self.kind.as_str().to_string(),
            type_name: self.type_name.to_string(),
            received_items: self.received_items.load(Relaxed),
            sent_items: self.sent_items.load(Relaxed),
            dropped_items: self.dropped_items.load(Relaxed),
            errors: self.errors.load(Relaxed),
            retried_items: self.retried_items.load(Relaxed),
            dead_lettered_items: self.dead_lettered_items.load(Relaxed),
            sent_bytes: self.sent_bytes.load(Relaxed),
            gauges: self
                .gauges()
                .into_iter()
                .map(|(n, _, v)| (n.to_string(), v))
                .collect(),
            counters: self
                .labeled()
                .into_iter()
                .map(|c| {
                    (
                        format!("{}{{{}=\"{}\"}}", c.name, c.label, c.value),
                        c.count,
                    )
                })
                .collect(),
            buffer_depth: self.buffer_depth.load(Relaxed),
            healthy,
            failing,
            failing_for_secs: failing_for,
            last_error,
            last_error_unix,
        }
    }
}

/// All components' stats. Stats survive a reload when the component keeps its id and type, so
/// counters stay monotonic across SIGHUP.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    inner: Arc<RwLock<HashMap<String, Arc<ComponentStats>>>>,
    order: Arc<RwLock<Vec<String>>>,
    queues: Arc<Mutex<HashMap<std::path::PathBuf, Arc<crate::buffer::DiskShared>>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stats of a component, created if new (or if its kind or type changed).
    pub fn component(
        &self,
        id: &str,
        kind: ComponentKind,
        type_name: &'static str,
        health_threshold: Duration,
    ) -> Arc<ComponentStats> {
        if let Ok(map) = self.inner.read() {
            if let Some(s) = map.get(id) {
                if s.kind == kind && s.type_name == type_name {
                    s.set_threshold(health_threshold);
                    return s.clone();
                }
            }
        }
        let stats = Arc::new(ComponentStats::new(id, kind, type_name, health_threshold));
        if let (Ok(mut map), Ok(mut order)) = (self.inner.write(), self.order.write()) {
            if map.insert(id.to_string(), stats.clone()).is_none() {
                order.push(id.to_string());
            }
        }
        stats
    }

    /// Keeps only the listed ids (after a reload removed components).
    pub fn retain(&self, ids: &[String]) {
        if let (Ok(mut map), Ok(mut order)) = (self.inner.write(), self.order.write()) {
            map.retain(|k, _| ids.contains(k));
            order.retain(|k| ids.contains(k));
        }
    }

    /// The disk queue in `dir`, opened (and recovered) the first time, then shared across
    /// reloads so its lock and its reader position carry over.
    pub(crate) fn disk_queue(
        &self,
        dir: &std::path::Path,
        cfg: &lookout_config::BufferConfig,
        sink: &str,
    ) -> Result<Arc<crate::buffer::DiskShared>, String> {
        let mut q = self
            .queues
            .lock()
            .map_err(|_| "queue table poisoned".to_string())?;
        if let Some(s) = q.get(dir) {
            return Ok(s.clone());
        }
        let shared = crate::buffer::open(dir, cfg, sink)?;
        q.insert(dir.to_path_buf(), shared.clone());
        Ok(shared)
    }

    /// Every component's stats, in registration order.
    pub fn all(&self) -> Vec<Arc<ComponentStats>> {
        let (Ok(map), Ok(order)) = (self.inner.read(), self.order.read()) else {
            return Vec::new();
        };
        order.iter().filter_map(|id| map.get(id).cloned()).collect()
    }

    /// Snapshots of every component.
    pub fn snapshots(&self) -> Vec<ComponentSnapshot> {
        self.all().iter().map(|s| s.snapshot()).collect()
    }

    /// The components that are unhealthy now.
    pub fn unhealthy(&self) -> Vec<ComponentSnapshot> {
        self.snapshots()
            .into_iter()
            .filter(|s| !s.healthy)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_threshold() {
        let s = ComponentStats::new("x", ComponentKind::Sink, "t", Duration::from_millis(30));
        assert!(s.is_healthy());
        s.record_failure("boom");
        assert!(s.is_healthy(), "within threshold");
        std::thread::sleep(Duration::from_millis(40));
        assert!(!s.is_healthy());
        let snap = s.snapshot();
        assert!(snap.failing && !snap.healthy);
        assert_eq!(snap.last_error.as_deref(), Some("boom"));
        assert_eq!(snap.errors, 1);
        s.record_success();
        assert!(s.is_healthy());
        assert!(!s.snapshot().failing);
    }

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(300));
        h.observe(Duration::from_secs(60));
        let (b, count, sum) = h.snapshot();
        assert_eq!(count, 3);
        assert_eq!(b[0], 0);
        assert_eq!(b[1], 1); // <= 5ms
        assert_eq!(*b.last().unwrap(), 2); // 60 s is only in +Inf
        assert!((sum - 60.303).abs() < 1e-6);
    }

    #[test]
    fn registry_keeps_stats_across_reload() {
        let r = Registry::new();
        let a = r.component(
            "a",
            ComponentKind::Source,
            "host_metrics",
            Duration::from_secs(1),
        );
        a.sent_items.fetch_add(5, Relaxed);
        let again = r.component(
            "a",
            ComponentKind::Source,
            "host_metrics",
            Duration::from_secs(1),
        );
        assert_eq!(again.sent_items.load(Relaxed), 5);
        let other = r.component("a", ComponentKind::Sink, "file", Duration::from_secs(1));
        assert_eq!(other.sent_items.load(Relaxed), 0);
        r.component("b", ComponentKind::Sink, "file", Duration::from_secs(1));
        r.retain(&["b".to_string()]);
        assert_eq!(r.all().len(), 1);
    }
}
