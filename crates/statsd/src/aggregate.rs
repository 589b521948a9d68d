//! [`Aggregator`]: folds parsed lines into per-window series and flushes them as OTLP batches.
//! The exact semantics are in the crate documentation.

use crate::inline::InlineVec;
use crate::parse::{
    status_text, AlertType, EventLine, GaugeValue, MetricKind, MetricLine, ServiceCheckLine, Tags,
    Values,
};
use crate::sketch::Sketch;
use lookout_model::logs::Severity;
use lookout_model::{attr, Batch};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, ExponentialHistogram, Gauge, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::{HashMap, HashSet};

/// The instrumentation scope name of everything the aggregator emits.
pub const SCOPE_NAME: &str = "lookout.statsd";
/// The attribute (boolean `true`) that alone marks the overflow series of a metric.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";
/// The attribute carrying a line's `c:` container id.
pub const CONTAINER_ID_ATTRIBUTE: &str = "container.id";
/// At most this many events and service checks are held per window; later ones are dropped
/// (and counted in [`AggStats::logs_dropped`]).
pub const MAX_PENDING_LOGS: usize = 10_000;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// How counters are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterMode {
    /// A delta sum per window (start = window start).
    #[default]
    Delta,
    /// A running total since the series' first window (start = that window's start).
    Cumulative,
}

/// How timers (`ms`) and histograms (`h`) are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimerMode {
    /// An OTLP Summary: count, sum, min (quantile 0), the configured percentiles, max
    /// (quantile 1).
    #[default]
    Summary,
    /// An OTLP ExponentialHistogram (delta).
    Histogram,
}

/// Aggregator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatorConfig {
    /// Counter reporting (default [`CounterMode::Delta`]).
    pub counters: CounterMode,
    /// Timer and histogram reporting (default [`TimerMode::Summary`]).
    pub timers: TimerMode,
    /// Summary quantiles besides 0 and 1 (default 0.5, 0.9, 0.95, 0.99); values outside (0, 1)
    /// are ignored, duplicates removed, order sorted.
    pub percentiles: Vec<f64>,
    /// Distinct series per metric (name and kind family) per window before new series are
    /// folded into the overflow series (default 1000).
    pub max_series_per_metric: usize,
    /// Series held in all (every name); a line that would create one more is dropped and
    /// counted in [`AggStats::series_dropped`], so a client inventing endless names cannot
    /// grow memory without bound.
    pub max_series: usize,
    /// Sketch buckets per sign (default 2048; clamped to 2..=16384).
    pub max_buckets: usize,
    /// Windows without update after which the state kept between windows is forgotten: a
    /// gauge's last value (used by `+`/`-`) and, in cumulative mode, a counter's running total
    /// (default 30; 0 keeps nothing across windows).
    pub gauge_idle_windows: u32,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            counters: CounterMode::Delta,
            timers: TimerMode::Summary,
            percentiles: vec![0.5, 0.9, 0.95, 0.99],
            max_series_per_metric: 1000,
            max_series: 100_000,
            max_buckets: 2048,
            gauge_idle_windows: 30,
        }
    }
}

/// Counters describing the aggregator's work (monotonic except `series`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggStats {
    /// Metric lines that would have created a series beyond `max_series_per_metric` in a
    /// window and were folded into the metric's overflow series.
    pub series_overflowed: u64,
    /// Lines dropped because `max_series` series were already held.
    pub series_dropped: u64,
    /// Values aggregated into a window (each packed value counts; a set member counts 1).
    pub points_aggregated: u64,
    /// Values of timestamped (`|T`) counter and gauge lines passed through unaggregated.
    pub timestamped_points: u64,
    /// Series currently held (those with data this window plus gauges and cumulative counters
    /// remembered between windows), overflow series included. Right after a flush this is the
    /// number of series remembered for the next window.
    pub series: u64,
    /// Series that produced at least one point at the last flush (overflow series included).
    pub flushed_series: u64,
    /// Events accepted.
    pub events: u64,
    /// Service checks accepted.
    pub service_checks: u64,
    /// Events and service checks dropped because [`MAX_PENDING_LOGS`] were already waiting.
    pub logs_dropped: u64,
}

/// What [`Aggregator::flush`] produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flushed {
    /// The metrics of the window (`None` when there was no data point).
    pub metrics: Option<Batch>,
    /// The events and service checks of the window (`None` when there was none).
    pub logs: Option<Batch>,
}

/// The kind family of a series: `ms` and `h` share one (both become the same sketch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Counter = 0,
    Gauge = 1,
    Set = 2,
    Timing = 3,
    Distribution = 4,
}

impl Family {
    fn of(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Family::Counter,
            MetricKind::Gauge => Family::Gauge,
            MetricKind::Set => Family::Set,
            MetricKind::Timer | MetricKind::Histogram => Family::Timing,
            MetricKind::Distribution => Family::Distribution,
        }
    }
}

#[derive(Debug)]
enum State {
    Counter {
        /// Sum of value/rate this window.
        window: f64,
        /// Got a (non-timestamped) value this window.
        fresh: bool,
        /// Running total (cumulative mode).
        total: f64,
    },
    Gauge {
        value: Option<f64>,
        updated: bool,
    },
    Set(HashSet<Box<str>>),
    Sketch(Sketch),
}

#[derive(Debug)]
struct Series {
    name: Box<str>,
    family: Family,
    attrs: Vec<KeyValue>,
    /// Counted against the per-metric limit in this window.
    in_window: bool,
    /// Windows since the last update.
    idle: u32,
    /// Cumulative counters: the start of the first window reported.
    start: Option<u64>,
    state: State,
    /// Timestamped points: (time in ns, value).
    stamped: Vec<(u64, f64)>,
}

/// The per-window StatsD aggregator (see the crate documentation for the semantics).
#[derive(Debug)]
pub struct Aggregator {
    cfg: AggregatorConfig,
    percentiles: Vec<f64>,
    /// Series by key: family, name, marker (normal / overflow), container id, sorted tags.
    series: HashMap<Box<[u8]>, Series, KeyState>,
    /// Series counted this window per (family, name) key prefix.
    name_counts: HashMap<Box<[u8]>, usize, KeyState>,
    logs: Vec<LogRecord>,
    stats: AggStats,
    key_buf: Vec<u8>,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self::new(AggregatorConfig::default())
    }
}

/// A fast hasher for series keys (the hot path hashes one key per line): a multiply-rotate
/// mix over 8-byte words with a final avalanche, seeded per aggregator from the standard
/// library's random keys so that colliding keys cannot be prepared in advance.
#[derive(Clone, Copy)]
pub(crate) struct KeyState {
    seed: u64,
}

impl KeyState {
    fn new() -> Self {
        use std::hash::BuildHasher;
        KeyState {
            seed: std::collections::hash_map::RandomState::new()
                .hash_one(0x006c_6f6f_6b6f_7574_u64),
        }
    }
}

impl std::hash::BuildHasher for KeyState {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher { h: self.seed }
    }
}

/// See [`KeyState`].
pub(crate) struct KeyHasher {
    h: u64,
}

impl KeyHasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.h = (self.h.rotate_left(23) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.mix(u64::from_le_bytes(b));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut b = [0u8; 8];
            b[..tail.len()].copy_from_slice(tail);
            self.mix(u64::from_le_bytes(b) ^ ((tail.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.h;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Tags sorted by key (stable), so the last occurrence of a key ends its run.
type TagList<'a> = InlineVec<(&'a str, &'a str), 8>;

fn sorted_tags<'a>(tags: &Tags<'a>) -> TagList<'a> {
    let mut list: TagList<'a> = tags.iter().collect();
    list.as_mut_slice().sort_by(|a, b| a.0.cmp(b.0));
    list
}

/// The unique tags (last value of a key wins), in key order.
fn unique<'t, 'a>(list: &'t [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a str)> + 't {
    list.iter()
        .enumerate()
        .filter(move |(i, (k, _))| list.get(i + 1).is_none_or(|next| next.0 != *k))
        .map(|(_, &kv)| kv)
}

fn series_attrs(tags: &[(&str, &str)], container_id: Option<&str>) -> Vec<KeyValue> {
    let mut attrs: Vec<KeyValue> = unique(tags)
        .filter(|(k, _)| container_id.is_none() || *k != CONTAINER_ID_ATTRIBUTE)
        .map(|(k, v)| attr::str(k, v))
        .collect();
    if let Some(cid) = container_id {
        attrs.push(attr::str(CONTAINER_ID_ATTRIBUTE, cid));
    }
    attrs
}

/// Tag attributes for a log record, skipping keys the record sets itself.
fn log_tag_attrs(tags: &Tags<'_>, reserved: &[KeyValue]) -> Vec<KeyValue> {
    let list = sorted_tags(tags);
    unique(&list)
        .filter(|(k, _)| !reserved.iter().any(|r| r.key == *k))
        .map(|(k, v)| attr::str(k, v))
        .collect()
}

fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::Debug => "DEBUG",
        Severity::Info => "INFO",
        Severity::Warn => "WARN",
        Severity::Error => "ERROR",
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.to_string(),
        description: String::new(),
        unit: String::new(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

fn number_point(attrs: Vec<KeyValue>, start: u64, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars: Vec::new(),
        flags: 0,
        value: Some(number_data_point::Value::AsDouble(value)),
    }
}

fn sum(points: Vec<NumberDataPoint>, temporality: AggregationTemporality) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality as i32,
        is_monotonic: false,
    })
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    }
}

fn make_resource(attrs: &[KeyValue]) -> Option<Resource> {
    Some(Resource {
        attributes: attrs.to_vec(),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    })
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(cfg: AggregatorConfig) -> Self {
        let mut percentiles: Vec<f64> = cfg
            .percentiles
            .iter()
            .copied()
            .filter(|q| *q > 0.0 && *q < 1.0)
            .collect();
        percentiles.sort_by(f64::total_cmp);
        percentiles.dedup();
        Self {
            cfg,
            percentiles,
            series: HashMap::with_hasher(KeyState::new()),
            name_counts: HashMap::with_hasher(KeyState::new()),
            logs: Vec::new(),
            stats: AggStats::default(),
            key_buf: Vec::with_capacity(256),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &AggregatorConfig {
        &self.cfg
    }

    /// The work counters.
    pub fn stats(&self) -> &AggStats {
        &self.stats
    }

    /// Adds a metric line to the current window (or, for a timestamped counter or gauge, to the
    /// points passed through at the next flush).
    pub fn add(&mut self, m: &MetricLine<'_>) {
        let family = Family::of(m.kind);
        let stamp = match family {
            Family::Counter | Family::Gauge => {
                m.timestamp.map(|t| t.saturating_mul(NANOS_PER_SECOND))
            }
            _ => None,
        };
        let tags = sorted_tags(&m.tags);

        let buf = &mut self.key_buf;
        buf.clear();
        buf.push(family as u8);
        put_str(buf, m.name);
        let name_end = buf.len();
        buf.push(0);
        match m.container_id {
            Some(cid) => {
                buf.push(1);
                put_str(buf, cid);
            }
            None => buf.push(0),
        }
        for (k, v) in unique(&tags) {
            put_str(buf, k);
            put_str(buf, v);
        }

        // Fast path: a series already counted in this window.
        if let Some(s) = self.series.get_mut(&self.key_buf[..]) {
            if s.in_window {
                apply(s, m, stamp, &mut self.stats);
                return;
            }
        }

        let name_key = self.key_buf.get(..name_end).unwrap_or(&[]);
        let used = self.name_counts.get(name_key).copied().unwrap_or(0);
        if used >= self.cfg.max_series_per_metric {
            self.stats.series_overflowed += 1;
            self.key_buf.truncate(name_end);
            self.key_buf.push(1);
        } else if let Some(c) = self.name_counts.get_mut(name_key) {
            *c += 1;
        } else {
            self.name_counts.insert(name_key.into(), 1);
        }
        let overflow = used >= self.cfg.max_series_per_metric;

        if let Some(s) = self.series.get_mut(&self.key_buf[..]) {
            s.in_window = true;
            apply(s, m, stamp, &mut self.stats);
            return;
        }
        if self.series.len() >= self.cfg.max_series {
            self.stats.series_dropped += 1;
            if !overflow {
                if let Some(c) = self
                    .name_counts
                    .get_mut(self.key_buf.get(..name_end).unwrap_or(&[]))
                {
                    *c = c.saturating_sub(1);
                }
            }
            return;
        }
        let attrs = if overflow {
            vec![attr::bool(OVERFLOW_ATTRIBUTE, true)]
        } else {
            series_attrs(&tags, m.container_id)
        };
        let state = match family {
            Family::Counter => State::Counter {
                window: 0.0,
                fresh: false,
                total: 0.0,
            },
            Family::Gauge => State::Gauge {
                value: None,
                updated: false,
            },
            Family::Set => State::Set(HashSet::new()),
            Family::Timing | Family::Distribution => {
                State::Sketch(Sketch::new(self.cfg.max_buckets))
            }
        };
        let mut s = Series {
            name: m.name.into(),
            family,
            attrs,
            in_window: true,
            idle: 0,
            start: None,
            state,
            stamped: Vec::new(),
        };
        apply(&mut s, m, stamp, &mut self.stats);
        self.series.insert(self.key_buf.as_slice().into(), s);
        self.stats.series = self.series.len() as u64;
    }

    fn push_log(&mut self, record: LogRecord) {
        if self.logs.len() >= MAX_PENDING_LOGS {
            self.stats.logs_dropped += 1;
        } else {
            self.logs.push(record);
        }
    }

    /// Adds an event, as a log record, to the current window. `now_nanos` is the observed time
    /// (and the record's time when the event has no `d:`).
    pub fn add_event(&mut self, e: &EventLine<'_>, now_nanos: u64) {
        let severity = match e.alert_type {
            AlertType::Error => Severity::Error,
            AlertType::Warning => Severity::Warn,
            AlertType::Info | AlertType::Success => Severity::Info,
        };
        let mut attrs = vec![
            attr::str("statsd.event.title", e.title.as_ref()),
            attr::str("statsd.event.alert_type", e.alert_type.as_str()),
            attr::str("statsd.event.priority", e.priority.as_str()),
        ];
        if let Some(s) = e.source_type {
            attrs.push(attr::str("statsd.event.source_type", s));
        }
        if let Some(k) = e.aggregation_key {
            attrs.push(attr::str("statsd.event.aggregation_key", k));
        }
        if let Some(h) = e.hostname {
            attrs.push(attr::str("host.name", h));
        }
        let tags = log_tag_attrs(&e.tags, &attrs);
        attrs.extend(tags);
        let time = e
            .timestamp
            .map_or(now_nanos, |t| t.saturating_mul(NANOS_PER_SECOND));
        self.stats.events += 1;
        self.push_log(log_record(
            time,
            now_nanos,
            severity,
            e.text.to_string(),
            attrs,
        ));
    }

    /// Adds a service check, as a log record, to the current window. `now_nanos` is the
    /// observed time (and the record's time when the check has no `d:`).
    pub fn add_service_check(&mut self, c: &ServiceCheckLine<'_>, now_nanos: u64) {
        let severity = match c.status {
            0 => Severity::Info,
            2 => Severity::Error,
            _ => Severity::Warn,
        };
        let text = status_text(c.status);
        let mut attrs = vec![
            attr::str("statsd.service_check.name", c.name),
            attr::int("statsd.service_check.status", i64::from(c.status)),
            attr::str("statsd.service_check.status_text", text),
        ];
        if let Some(h) = c.hostname {
            attrs.push(attr::str("host.name", h));
        }
        let tags = log_tag_attrs(&c.tags, &attrs);
        attrs.extend(tags);
        let body = match c.message {
            Some(m) => m.to_string(),
            None => format!("{}: {}", c.name, text),
        };
        let time = c
            .timestamp
            .map_or(now_nanos, |t| t.saturating_mul(NANOS_PER_SECOND));
        self.stats.service_checks += 1;
        self.push_log(log_record(time, now_nanos, severity, body, attrs));
    }

    /// Ends the window `[window_start_nanos, now_nanos]`: returns its metrics and log records
    /// (each `None` when empty) for `resource`, and resets the window state (keeping gauge
    /// values and cumulative totals within their idle limit).
    pub fn flush(
        &mut self,
        window_start_nanos: u64,
        now_nanos: u64,
        resource: &[KeyValue],
    ) -> Flushed {
        let mut items: Vec<(Box<[u8]>, Series)> = self.series.drain().collect();
        items.sort_unstable_by(|a, b| {
            (a.1.family, &a.1.name, &a.0).cmp(&(b.1.family, &b.1.name, &b.0))
        });
        let mut metrics: Vec<Metric> = Vec::new();
        self.stats.flushed_series = items.iter().filter(|(_, s)| has_points(s)).count() as u64;
        let mut start = 0;
        while start < items.len() {
            let mut end = start + 1;
            while end < items.len()
                && items[end].1.family == items[start].1.family
                && items[end].1.name == items[start].1.name
            {
                end += 1;
            }
            self.emit_group(
                items.get_mut(start..end).unwrap_or(&mut []),
                window_start_nanos,
                now_nanos,
                &mut metrics,
            );
            start = end;
        }
        let limit = self.cfg.gauge_idle_windows;
        let cumulative = self.cfg.counters == CounterMode::Cumulative;
        for (key, mut s) in items {
            let updated = match &s.state {
                State::Counter { fresh, .. } => *fresh,
                State::Gauge { updated, .. } => *updated,
                _ => false,
            };
            s.idle = if updated { 0 } else { s.idle.saturating_add(1) };
            let keep = s.idle < limit
                && match &s.state {
                    State::Counter { .. } => cumulative && s.start.is_some(),
                    State::Gauge { value, .. } => value.is_some(),
                    _ => false,
                };
            if keep {
                s.in_window = false;
                s.stamped = Vec::new();
                match &mut s.state {
                    State::Counter { window, fresh, .. } => {
                        *window = 0.0;
                        *fresh = false;
                    }
                    State::Gauge { updated, .. } => *updated = false,
                    _ => {}
                }
                self.series.insert(key, s);
            }
        }
        self.name_counts.clear();
        self.stats.series = self.series.len() as u64;

        let metrics = (!metrics.is_empty()).then(|| {
            Batch::Metrics(ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: make_resource(resource),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(scope()),
                        metrics,
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                }],
            })
        });
        let logs = (!self.logs.is_empty()).then(|| {
            Batch::Logs(ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: make_resource(resource),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(scope()),
                        log_records: std::mem::take(&mut self.logs),
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                }],
            })
        });
        Flushed { metrics, logs }
    }

    /// Emits the points of the series of one metric (same family and name, sorted by key).
    fn emit_group(
        &self,
        group: &mut [(Box<[u8]>, Series)],
        window_start: u64,
        now: u64,
        out: &mut Vec<Metric>,
    ) {
        let Some((_, first)) = group.first() else {
            return;
        };
        let name = first.name.to_string();
        let family = first.family;
        let cumulative = self.cfg.counters == CounterMode::Cumulative;
        match family {
            Family::Counter => {
                let mut window = Vec::new();
                let mut stamped = Vec::new();
                for (_, s) in group.iter_mut() {
                    if let State::Counter {
                        window: w,
                        fresh: true,
                        total,
                    } = &s.state
                    {
                        let (start, value) = if cumulative {
                            (*s.start.get_or_insert(window_start), *total)
                        } else {
                            (window_start, *w)
                        };
                        window.push(number_point(s.attrs.clone(), start, now, value));
                    }
                    for &(t, v) in &s.stamped {
                        stamped.push(number_point(s.attrs.clone(), t, t, v));
                    }
                }
                if cumulative {
                    if !window.is_empty() {
                        out.push(metric(
                            &name,
                            sum(window, AggregationTemporality::Cumulative),
                        ));
                    }
                    if !stamped.is_empty() {
                        out.push(metric(&name, sum(stamped, AggregationTemporality::Delta)));
                    }
                } else {
                    window.extend(stamped);
                    if !window.is_empty() {
                        out.push(metric(&name, sum(window, AggregationTemporality::Delta)));
                    }
                }
            }
            Family::Gauge => {
                let mut points = Vec::new();
                for (_, s) in group.iter() {
                    if let State::Gauge {
                        value: Some(v),
                        updated: true,
                    } = s.state
                    {
                        points.push(number_point(s.attrs.clone(), 0, now, v));
                    }
                    for &(t, v) in &s.stamped {
                        points.push(number_point(s.attrs.clone(), 0, t, v));
                    }
                }
                if !points.is_empty() {
                    out.push(metric(
                        &name,
                        Data::Gauge(Gauge {
                            data_points: points,
                        }),
                    ));
                }
            }
            Family::Set => {
                let mut points = Vec::new();
                for (_, s) in group.iter_mut() {
                    if let State::Set(members) = &s.state {
                        if !members.is_empty() {
                            let n = i64::try_from(members.len()).unwrap_or(i64::MAX);
                            points.push(NumberDataPoint {
                                attributes: std::mem::take(&mut s.attrs),
                                start_time_unix_nano: 0,
                                time_unix_nano: now,
                                exemplars: Vec::new(),
                                flags: 0,
                                value: Some(number_data_point::Value::AsInt(n)),
                            });
                        }
                    }
                }
                if !points.is_empty() {
                    out.push(metric(
                        &name,
                        Data::Gauge(Gauge {
                            data_points: points,
                        }),
                    ));
                }
            }
            Family::Timing | Family::Distribution => {
                let summary = family == Family::Timing && self.cfg.timers == TimerMode::Summary;
                let mut summaries = Vec::new();
                let mut histograms = Vec::new();
                for (_, s) in group.iter_mut() {
                    let State::Sketch(sk) = &s.state else {
                        continue;
                    };
                    if sk.is_empty() {
                        continue;
                    }
                    let attrs = std::mem::take(&mut s.attrs);
                    if summary {
                        summaries.push(sk.to_summary_point(
                            attrs,
                            window_start,
                            now,
                            &self.percentiles,
                        ));
                    } else {
                        histograms.push(sk.to_exponential_point(attrs, window_start, now));
                    }
                }
                if !summaries.is_empty() {
                    out.push(metric(
                        &name,
                        Data::Summary(Summary {
                            data_points: summaries,
                        }),
                    ));
                }
                if !histograms.is_empty() {
                    out.push(metric(
                        &name,
                        Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: histograms,
                            aggregation_temporality: AggregationTemporality::Delta as i32,
                        }),
                    ));
                }
            }
        }
    }
}

fn log_record(
    time: u64,
    observed: u64,
    severity: Severity,
    body: String,
    attributes: Vec<KeyValue>,
) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: observed,
        severity_number: severity as i32,
        severity_text: severity_text(severity).to_string(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes,
        ..Default::default()
    }
}

/// True when the series has something to report at the flush.
fn has_points(s: &Series) -> bool {
    !s.stamped.is_empty()
        || match &s.state {
            State::Counter { fresh, .. } => *fresh,
            State::Gauge { value, updated } => value.is_some() && *updated,
            State::Set(members) => !members.is_empty(),
            State::Sketch(sk) => !sk.is_empty(),
        }
}

/// Folds one metric line's values into a series.
fn apply(s: &mut Series, m: &MetricLine<'_>, stamp: Option<u64>, stats: &mut AggStats) {
    // The parser guarantees (0, 1]; a line built by hand gets the same guard.
    let rate = if m.sample_rate > 0.0 && m.sample_rate <= 1.0 && (1.0 / m.sample_rate).is_finite() {
        m.sample_rate
    } else {
        1.0
    };
    match &mut s.state {
        State::Counter {
            window,
            fresh,
            total,
        } => {
            for v in numbers(&m.values) {
                let x = v / rate;
                match stamp {
                    Some(t) => {
                        s.stamped.push((t, x));
                        stats.timestamped_points += 1;
                    }
                    None => {
                        *window += x;
                        *total += x;
                        *fresh = true;
                        stats.points_aggregated += 1;
                    }
                }
            }
        }
        State::Gauge { value, updated } => {
            let mut apply_one = |g: GaugeValue| match stamp {
                Some(t) => {
                    s.stamped.push((t, g.number()));
                    stats.timestamped_points += 1;
                }
                None => {
                    *value = Some(match g {
                        GaugeValue::Set(v) => v,
                        GaugeValue::Delta(d) => value.unwrap_or(0.0) + d,
                    });
                    *updated = true;
                    stats.points_aggregated += 1;
                }
            };
            match &m.values {
                Values::Gauge(gs) => gs.iter().for_each(|&g| apply_one(g)),
                Values::Numbers(ns) => ns.iter().for_each(|&v| apply_one(GaugeValue::Set(v))),
                Values::Set(_) => {}
            }
        }
        State::Set(members) => {
            if let Values::Set(member) = m.values {
                if !members.contains(member) {
                    members.insert(member.into());
                }
                stats.points_aggregated += 1;
            }
        }
        State::Sketch(sk) => {
            let weight = 1.0 / rate;
            for v in numbers(&m.values) {
                sk.add_weighted(v, weight);
                stats.points_aggregated += 1;
            }
        }
    }
}

/// The numbers of a line, whatever its value shape (a set member gives none).
fn numbers<'v>(values: &'v Values<'_>) -> impl Iterator<Item = f64> + 'v {
    let (ns, gs): (&[f64], &[GaugeValue]) = match values {
        Values::Numbers(n) => (n, &[]),
        Values::Gauge(g) => (&[], g),
        Values::Set(_) => (&[], &[]),
    };
    ns.iter().copied().chain(gs.iter().map(|g| g.number()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::parse::{parse_line, Line};
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogramDataPoint, SummaryDataPoint,
    };

    /// Attributes as (key, text) pairs.
    type Attrs = Vec<(String, String)>;

    const START: u64 = 1_000;
    const NOW: u64 = 11_000;

    fn feed(agg: &mut Aggregator, lines: &[&str]) {
        for l in lines {
            match parse_line(l.as_bytes()).unwrap() {
                Line::Metric(m) => agg.add(&m),
                Line::Event(e) => agg.add_event(&e, NOW),
                Line::ServiceCheck(c) => agg.add_service_check(&c, NOW),
            }
        }
    }

    fn flush(agg: &mut Aggregator) -> Vec<Metric> {
        match agg
            .flush(START, NOW, &[attr::str("host.name", "h")])
            .metrics
        {
            Some(Batch::Metrics(r)) => {
                assert_eq!(r.resource_metrics.len(), 1);
                let rm = &r.resource_metrics[0];
                assert_eq!(
                    attr::get_str(&rm.resource.as_ref().unwrap().attributes, "host.name"),
                    Some("h")
                );
                let sm = &rm.scope_metrics[0];
                assert_eq!(sm.scope.as_ref().unwrap().name, SCOPE_NAME);
                sm.metrics.clone()
            }
            None => Vec::new(),
            Some(other) => panic!("not metrics: {other:?}"),
        }
    }

    fn sum_points(m: &Metric) -> (&Sum, Vec<(Attrs, u64, u64, f64)>) {
        let Some(Data::Sum(s)) = &m.data else {
            panic!("not a sum: {m:?}")
        };
        let pts = s
            .data_points
            .iter()
            .map(|p| {
                (
                    attrs(&p.attributes),
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    value(p),
                )
            })
            .collect();
        (s, pts)
    }

    fn gauge_points(m: &Metric) -> Vec<(Attrs, u64, f64)> {
        let Some(Data::Gauge(g)) = &m.data else {
            panic!("not a gauge: {m:?}")
        };
        g.data_points
            .iter()
            .map(|p| (attrs(&p.attributes), p.time_unix_nano, value(p)))
            .collect()
    }

    fn value(p: &NumberDataPoint) -> f64 {
        match p.value {
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => f64::NAN,
        }
    }

    fn attrs(kvs: &[KeyValue]) -> Vec<(String, String)> {
        kvs.iter()
            .map(|kv| (kv.key.clone(), attr::value_to_string(kv.value.as_ref())))
            .collect()
    }

    fn summary(m: &Metric) -> &SummaryDataPoint {
        let Some(Data::Summary(s)) = &m.data else {
            panic!("not a summary: {m:?}")
        };
        assert_eq!(s.data_points.len(), 1);
        &s.data_points[0]
    }

    fn exp_hist(m: &Metric) -> &ExponentialHistogramDataPoint {
        let Some(Data::ExponentialHistogram(h)) = &m.data else {
            panic!("not an exponential histogram: {m:?}")
        };
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert_eq!(h.data_points.len(), 1);
        &h.data_points[0]
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_flush_gives_nothing() {
        let mut agg = Aggregator::default();
        assert_eq!(agg.flush(0, 1, &[]), Flushed::default());
    }

    #[test]
    fn counters_sum_value_over_rate() {
        let mut agg = Aggregator::default();
        feed(
            &mut agg,
            &[
                "hits:1|c|@0.5",
                "hits:2:3|c",
                "hits:0.25|c|@0.25",
                "hits:-1|c",
            ],
        );
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].name, "hits");
        let (s, pts) = sum_points(&ms[0]);
        assert!(!s.is_monotonic);
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert_eq!(pts, vec![(vec![], START, NOW, 2.0 + 5.0 + 1.0 - 1.0)]);
        assert_eq!(agg.stats().points_aggregated, 5);
        // the window is reset: nothing left
        assert_eq!(agg.stats().series, 0);
        assert!(flush(&mut agg).is_empty());
    }

    #[test]
    fn timers_are_exact_summaries_with_rates() {
        let mut agg = Aggregator::default();
        feed(&mut agg, &["t:10|ms|@0.5", "t:20:30|ms", "t:40|h|@0.25"]);
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 1, "ms and h share a family");
        let p = summary(&ms[0]);
        assert_eq!(p.count, 2 + 2 + 4);
        assert_eq!(p.sum, 20.0 + 50.0 + 160.0);
        assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (START, NOW));
        let qs: Vec<(f64, f64)> = p
            .quantile_values
            .iter()
            .map(|q| (q.quantile, q.value))
            .collect();
        assert_eq!(qs.len(), 6);
        assert_eq!(qs[0], (0.0, 10.0));
        assert_eq!(qs[5], (1.0, 40.0));
        assert_eq!(
            qs.iter().map(|q| q.0).collect::<Vec<_>>(),
            vec![0.0, 0.5, 0.9, 0.95, 0.99, 1.0]
        );
        // weighted ranks: 10,10,20,30,40,40,40,40 -> median rank floor(0.5*7)=3 -> 30
        let bound = crate::relative_error_bound(MAX_SCALE_FOR_TEST);
        assert!((qs[1].1 - 30.0).abs() <= 30.0 * bound * 1.000_001, "{qs:?}");
    }

    const MAX_SCALE_FOR_TEST: i32 = 7;

    #[test]
    fn histogram_mode_and_distributions() {
        let mut agg = Aggregator::new(AggregatorConfig {
            timers: TimerMode::Histogram,
            ..Default::default()
        });
        feed(
            &mut agg,
            &["t:1:2:0:-4|ms", "d:5|d|@0.3", "d:7|d|@0.3", "d:-1|d"],
        );
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 2);
        // timing family sorts before distribution
        assert_eq!(ms[0].name, "t");
        let t = exp_hist(&ms[0]);
        assert_eq!(t.count, 4);
        assert_eq!(t.sum, Some(-1.0));
        assert_eq!((t.min, t.max), (Some(-4.0), Some(2.0)));
        assert_eq!(t.zero_count, 1);
        // 1 and 2 (one octave apart) need 2^s + 1 buckets: scale 10 with 2048
        assert_eq!(t.scale, 10);
        let total = |p: &ExponentialHistogramDataPoint| {
            p.zero_count
                + p.positive
                    .iter()
                    .flat_map(|b| &b.bucket_counts)
                    .sum::<u64>()
                + p.negative
                    .iter()
                    .flat_map(|b| &b.bucket_counts)
                    .sum::<u64>()
        };
        assert_eq!(total(t), 4);
        let d = exp_hist(&ms[1]);
        // 1/0.3 + 1/0.3 + 1 = 7.67 -> 8
        assert_eq!(d.count, 8);
        assert_eq!(total(d), 8);
        assert!((d.sum.unwrap() - (12.0 / 0.3 - 1.0)).abs() < 1e-9);
        assert_eq!((d.min, d.max), (Some(-1.0), Some(7.0)));
        assert_eq!((d.start_time_unix_nano, d.time_unix_nano), (START, NOW));
    }

    #[test]
    fn gauges_set_and_move_across_windows() {
        let mut agg = Aggregator::new(AggregatorConfig {
            gauge_idle_windows: 2,
            ..Default::default()
        });
        feed(&mut agg, &["g:10|g", "g:+5|g|@0.5", "other:+3|g"]);
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 2);
        assert_eq!(gauge_points(&ms[0]), vec![(vec![], NOW, 15.0)]);
        assert_eq!(ms[1].name, "other");
        assert_eq!(
            gauge_points(&ms[1]),
            vec![(vec![], NOW, 3.0)],
            "a delta starts from 0"
        );
        // next window: the delta applies to the remembered 15
        feed(&mut agg, &["g:-3:-2|g"]);
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 1, "only updated gauges are emitted");
        assert_eq!(gauge_points(&ms[0]), vec![(vec![], NOW, 10.0)]);
        // one idle window: still remembered
        assert!(flush(&mut agg).is_empty());
        feed(&mut agg, &["g:+1|g"]);
        assert_eq!(gauge_points(&flush(&mut agg)[0]), vec![(vec![], NOW, 11.0)]);
        // two idle windows: forgotten
        assert!(flush(&mut agg).is_empty());
        assert_eq!(agg.stats().series, 1);
        assert!(flush(&mut agg).is_empty());
        assert_eq!(agg.stats().series, 0);
        feed(&mut agg, &["g:+1|g"]);
        assert_eq!(gauge_points(&flush(&mut agg)[0]), vec![(vec![], NOW, 1.0)]);
    }

    #[test]
    fn zero_idle_windows_keeps_no_gauge_memory() {
        let mut agg = Aggregator::new(AggregatorConfig {
            gauge_idle_windows: 0,
            ..Default::default()
        });
        feed(&mut agg, &["g:10|g"]);
        flush(&mut agg);
        feed(&mut agg, &["g:+1|g"]);
        assert_eq!(gauge_points(&flush(&mut agg)[0]), vec![(vec![], NOW, 1.0)]);
    }

    #[test]
    fn sets_count_distinct_members_per_window() {
        let mut agg = Aggregator::default();
        feed(
            &mut agg,
            &["u:a|s", "u:b|s", "u:a|s", "u:a:b|s|@0.1", "u:a|s|#k:v"],
        );
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 1);
        let Some(Data::Gauge(g)) = &ms[0].data else {
            panic!()
        };
        assert_eq!(g.data_points.len(), 2);
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsInt(3))
        );
        assert_eq!(
            g.data_points[1].value,
            Some(number_data_point::Value::AsInt(1))
        );
        feed(&mut agg, &["u:z|s"]);
        let ms = flush(&mut agg);
        assert_eq!(gauge_points(&ms[0]), vec![(vec![], NOW, 1.0)]);
    }

    #[test]
    fn series_keys_sort_and_dedupe_tags_and_use_container_id() {
        let mut agg = Aggregator::default();
        feed(
            &mut agg,
            &[
                "m:1|c|#b:2,a:1,a:3,bare|c:cid",
                "m:1|c|#bare,a:3,,b:2|c:cid",
                "m:1|c|#bare,a:3,b:2|c:other",
                "m:1|c|#bare,a:3,b:2,container.id:x",
                "m:5|g",
            ],
        );
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 2, "a counter and a gauge of the same name");
        assert_eq!((ms[0].name.as_str(), ms[1].name.as_str()), ("m", "m"));
        let (_, pts) = sum_points(&ms[0]);
        let mut got: Vec<_> = pts.into_iter().map(|(a, _, _, v)| (a, v)).collect();
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            got,
            vec![
                (
                    kv(&[
                        ("a", "3"),
                        ("b", "2"),
                        ("bare", ""),
                        ("container.id", "cid")
                    ]),
                    2.0
                ),
                (
                    kv(&[
                        ("a", "3"),
                        ("b", "2"),
                        ("bare", ""),
                        ("container.id", "other")
                    ]),
                    1.0
                ),
                (
                    kv(&[("a", "3"), ("b", "2"), ("bare", ""), ("container.id", "x")]),
                    1.0
                ),
            ]
        );
    }

    #[test]
    fn cardinality_overflow_folds_new_series() {
        let mut agg = Aggregator::new(AggregatorConfig {
            max_series_per_metric: 2,
            ..Default::default()
        });
        feed(
            &mut agg,
            &[
                "c:1|c|#k:1",
                "c:1|c|#k:2",
                "c:10|c|#k:3",
                "c:100|c|#k:4",
                "c:1000|c|#k:1",
                "other:1|c|#k:9",
            ],
        );
        assert_eq!(agg.stats().series_overflowed, 2);
        assert_eq!(agg.stats().series, 4);
        let ms = flush(&mut agg);
        assert_eq!(agg.stats().flushed_series, 4);
        assert_eq!(agg.stats().series, 0);
        let (_, pts) = sum_points(&ms[0]);
        let got: Vec<_> = pts.into_iter().map(|(a, _, _, v)| (a, v)).collect();
        assert_eq!(
            got,
            vec![
                (kv(&[("k", "1")]), 1001.0),
                (kv(&[("k", "2")]), 1.0),
                (kv(&[(OVERFLOW_ATTRIBUTE, "true")]), 110.0),
            ]
        );
        let total: f64 = got.iter().map(|g| g.1).sum();
        assert_eq!(total, 1112.0, "totals stay right");
        assert_eq!(sum_points(&ms[1]).1.len(), 1);
        // a new window starts counting again
        feed(&mut agg, &["c:1|c|#k:3", "c:1|c|#k:4"]);
        assert_eq!(agg.stats().series_overflowed, 2);
        assert_eq!(sum_points(&flush(&mut agg)[0]).1.len(), 2);
    }

    #[test]
    fn a_global_series_cap_drops_new_series_but_keeps_known_ones() {
        let mut agg = Aggregator::new(AggregatorConfig {
            max_series: 3,
            ..Default::default()
        });
        feed(
            &mut agg,
            &[
                "a:1|c", "b:1|c", "c:1|c", "d:1|c", "e:1|g", "a:2|c", "c:5|c",
            ],
        );
        assert_eq!(agg.stats().series_dropped, 2);
        assert_eq!(agg.stats().series, 3);
        let ms = flush(&mut agg);
        let names: Vec<_> = ms
            .iter()
            .map(|m| (m.name.clone(), sum_points(m).1.len()))
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|(n, _)| n != "d" && n != "e"));
        let (_, a) = sum_points(&ms[0]);
        assert_eq!(a[0].3, 3.0);
    }

    #[test]
    fn cumulative_counters_keep_running_totals() {
        let mut agg = Aggregator::new(AggregatorConfig {
            counters: CounterMode::Cumulative,
            gauge_idle_windows: 2,
            ..Default::default()
        });
        feed(&mut agg, &["c:1|c", "c:1|c|@0.5"]);
        let r = agg.flush(100, 200, &[]);
        let Some(Batch::Metrics(r)) = r.metrics else {
            panic!()
        };
        let m = &r.resource_metrics[0].scope_metrics[0].metrics[0];
        let (s, pts) = sum_points(m);
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert!(!s.is_monotonic);
        assert_eq!(pts, vec![(vec![], 100, 200, 3.0)]);
        feed(&mut agg, &["c:2|c", "c:1|c|T50"]);
        let r = agg.flush(200, 300, &[]);
        let Some(Batch::Metrics(r)) = r.metrics else {
            panic!()
        };
        let ms = &r.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(ms.len(), 2, "timestamped points go in a separate delta sum");
        assert_eq!(sum_points(&ms[0]).1, vec![(vec![], 100, 300, 5.0)]);
        let (s, pts) = sum_points(&ms[1]);
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert_eq!(pts, vec![(vec![], 50_000_000_000, 50_000_000_000, 1.0)]);
        // an idle window reports nothing but keeps the total
        assert!(agg.flush(300, 400, &[]).metrics.is_none());
        feed(&mut agg, &["c:1|c"]);
        let r = agg.flush(400, 500, &[]);
        let Some(Batch::Metrics(r)) = r.metrics else {
            panic!()
        };
        let m = &r.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(sum_points(m).1, vec![(vec![], 100, 500, 6.0)]);
        // two idle windows: forgotten, a new start
        agg.flush(500, 600, &[]);
        agg.flush(600, 700, &[]);
        feed(&mut agg, &["c:1|c"]);
        let r = agg.flush(700, 800, &[]);
        let Some(Batch::Metrics(r)) = r.metrics else {
            panic!()
        };
        let m = &r.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(sum_points(m).1, vec![(vec![], 700, 800, 1.0)]);
    }

    #[test]
    fn timestamped_points_bypass_aggregation() {
        let mut agg = Aggregator::default();
        feed(
            &mut agg,
            &[
                "c:5|c|@0.5|T100",
                "c:1|c|T100",
                "c:2|c",
                "g:7:+1|g|T200|#k:v",
                "t:3|ms|T300",
                "s:x|s|T300",
            ],
        );
        assert_eq!(agg.stats().timestamped_points, 4);
        assert_eq!(agg.stats().points_aggregated, 3);
        let ms = flush(&mut agg);
        assert_eq!(ms.len(), 4);
        let (_, pts) = sum_points(&ms[0]);
        let s100 = 100_000_000_000;
        assert_eq!(
            pts,
            vec![
                (vec![], START, NOW, 2.0),
                (vec![], s100, s100, 10.0),
                (vec![], s100, s100, 1.0),
            ]
        );
        let s200 = 200_000_000_000;
        assert_eq!(
            gauge_points(&ms[1]),
            vec![
                (kv(&[("k", "v")]), s200, 7.0),
                (kv(&[("k", "v")]), s200, 1.0)
            ]
        );
        // timers and sets ignore the timestamp
        assert_eq!(summary(&ms[3]).count, 1);
        assert_eq!(gauge_points(&ms[2]), vec![(vec![], NOW, 1.0)]);
    }

    #[test]
    fn events_and_service_checks_become_logs() {
        let mut agg = Aggregator::default();
        feed(
            &mut agg,
            &[
                "_e{5,7}:Dep|1|line\\nb|t:error|h:web1|k:agg|s:src|p:low|#env:prod,host.name:x,t",
                "_e{2,0}:hi||d:1700000000",
                "_sc|db.up|1|#env:prod",
                "_sc|db.up|0|d:5|h:db1|m:all good",
                "_sc|q|3",
                "_sc|q|2",
                "c:1|c",
            ],
        );
        assert_eq!(agg.stats().events, 2);
        assert_eq!(agg.stats().service_checks, 4);
        let f = agg.flush(START, NOW, &[attr::str("host.name", "agent")]);
        assert!(f.metrics.is_some());
        let Some(Batch::Logs(r)) = f.logs else {
            panic!()
        };
        let sl = &r.resource_logs[0].scope_logs[0];
        assert_eq!(sl.scope.as_ref().unwrap().name, SCOPE_NAME);
        let recs = &sl.log_records;
        assert_eq!(recs.len(), 6);
        let body = |r: &LogRecord| attr::value_to_string(r.body.as_ref());

        let e = &recs[0];
        assert_eq!(body(e), "line\nb");
        assert_eq!(e.severity_number, Severity::Error as i32);
        assert_eq!(e.severity_text, "ERROR");
        assert_eq!((e.time_unix_nano, e.observed_time_unix_nano), (NOW, NOW));
        assert_eq!(
            attrs(&e.attributes),
            kv(&[
                ("statsd.event.title", "Dep|1"),
                ("statsd.event.alert_type", "error"),
                ("statsd.event.priority", "low"),
                ("statsd.event.source_type", "src"),
                ("statsd.event.aggregation_key", "agg"),
                ("host.name", "web1"),
                ("env", "prod"),
                ("t", ""),
            ])
        );
        let e = &recs[1];
        assert_eq!(body(e), "");
        assert_eq!(e.severity_number, Severity::Info as i32);
        assert_eq!(e.time_unix_nano, 1_700_000_000 * NANOS_PER_SECOND);

        let c = &recs[2];
        assert_eq!(body(c), "db.up: WARNING");
        assert_eq!(c.severity_number, Severity::Warn as i32);
        assert_eq!(
            attrs(&c.attributes),
            kv(&[
                ("statsd.service_check.name", "db.up"),
                ("statsd.service_check.status", "1"),
                ("statsd.service_check.status_text", "WARNING"),
                ("env", "prod"),
            ])
        );
        assert_eq!(
            attr::get(&c.attributes, "statsd.service_check.status").and_then(|v| v.value.clone()),
            Some(any_value::Value::IntValue(1))
        );
        let c = &recs[3];
        assert_eq!(body(c), "all good");
        assert_eq!(c.severity_number, Severity::Info as i32);
        assert_eq!(c.time_unix_nano, 5 * NANOS_PER_SECOND);
        assert_eq!(attr::get_str(&c.attributes, "host.name"), Some("db1"));
        assert_eq!(recs[4].severity_number, Severity::Warn as i32, "UNKNOWN");
        assert_eq!(body(&recs[4]), "q: UNKNOWN");
        assert_eq!(recs[5].severity_number, Severity::Error as i32, "CRITICAL");
        // logs are not kept after the flush
        assert_eq!(agg.flush(0, 1, &[]), Flushed::default());
    }

    #[test]
    fn pending_logs_are_bounded() {
        let mut agg = Aggregator::default();
        for _ in 0..MAX_PENDING_LOGS + 5 {
            feed(&mut agg, &["_sc|x|0"]);
        }
        assert_eq!(agg.stats().logs_dropped, 5);
        let f = agg.flush(0, 1, &[]);
        assert_eq!(f.logs.unwrap().item_count(), MAX_PENDING_LOGS);
    }

    #[test]
    fn percentiles_are_normalized() {
        let agg = Aggregator::new(AggregatorConfig {
            percentiles: vec![0.99, 0.5, 0.5, 1.0, 0.0, -1.0, f64::NAN],
            ..Default::default()
        });
        assert_eq!(agg.percentiles, vec![0.5, 0.99]);
    }

    #[test]
    fn hand_built_lines_are_guarded() {
        let mut agg = Aggregator::default();
        let m = MetricLine {
            name: "x",
            kind: MetricKind::Counter,
            values: Values::Gauge(vec![GaugeValue::Delta(2.0)].into()),
            sample_rate: 0.0,
            tags: Tags(""),
            container_id: None,
            timestamp: None,
        };
        agg.add(&m);
        let ms = flush(&mut agg);
        assert_eq!(sum_points(&ms[0]).1, vec![(vec![], START, NOW, 2.0)]);
    }

    #[test]
    fn batches_encode() {
        let mut agg = Aggregator::new(AggregatorConfig {
            timers: TimerMode::Histogram,
            ..Default::default()
        });
        feed(
            &mut agg,
            &["a:1|c", "b:2|g", "c:x|s", "d:1:2|d", "e:3|ms", "_sc|x|0"],
        );
        let f = agg.flush(START, NOW, &[]);
        let m = f.metrics.unwrap();
        assert_eq!(m.item_count(), 5);
        let json = m.to_json().unwrap();
        assert!(json.contains("exponentialHistogram"), "{json}");
        assert!(!m.encode_protobuf().is_empty());
        assert_eq!(f.logs.unwrap().item_count(), 1);
    }
}
