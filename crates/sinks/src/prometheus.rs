//! Prometheus text exposition of collected metrics, served on the agent's HTTP server.
//!
//! The sink keeps the latest value of each series; the page is rendered on request. Names follow
//! the OpenTelemetry→Prometheus compatibility rules: invalid characters become `_`, the unit is
//! appended (`s`→`_seconds`, `By`→`_bytes`, `1` on a gauge→`_ratio`), monotonic sums get
//! `_total`; attributes become labels (`.`→`_`); resource attributes go on one `target_info`
//! series. Delta sums are accumulated into counters. Series not updated within `expiry`
//! disappear from the page.

use lookout_config::PrometheusConfig;
use lookout_model::attr::value_to_string;
use lookout_model::otlp::{
    metric::Data, number_data_point, AggregationTemporality, HistogramDataPoint, KeyValue,
    NumberDataPoint,
};
use lookout_model::Batch;
use lookout_pipeline::{BoxFuture, Page, Routes, Sink, SinkContext};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
enum SeriesValue {
    Number(f64),
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: Kind,
    series: BTreeMap<String, (SeriesValue, Instant)>,
}

/// The exposition state shared by the sink task and the page renderer.
#[derive(Debug, Default)]
pub struct Exposition {
    families: BTreeMap<String, Family>,
    target_info: BTreeMap<String, String>,
}

/// Sanitizes a metric or label name to `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels: no `:`).
pub fn sanitize(name: &str, allow_colon: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// The factor that turns a value in `unit` into Prometheus's base unit: time is exposed in
/// seconds (`ms`, `us`, `ns` are scaled, as promtool's lint asks), everything else as is.
pub fn base_unit_scale(unit: &str) -> f64 {
    match unit.trim() {
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        _ => 1.0,
    }
}

/// The word of a unit used after `per_` (`s` → `second`).
fn per_word(u: &str) -> String {
    match u {
        "s" => "second".into(),
        "m" | "min" => "minute".into(),
        "h" => "hour".into(),
        "d" => "day".into(),
        other => sanitize(other, false).trim_matches('_').to_lowercase(),
    }
}

fn unit_suffix(unit: &str, kind_is_gauge: bool) -> Option<String> {
    // annotations in braces (`{ops}`, `{request}`) carry no unit
    let mut u = String::new();
    let mut depth = 0;
    for c in unit.trim().chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => u.push(c),
            _ => {}
        }
    }
    let u = u.trim();
    if u.is_empty() {
        return None;
    }
    if let Some((a, b)) = u.split_once('/') {
        let per = per_word(b.trim());
        if per.is_empty() {
            return None;
        }
        let a = a.trim();
        return Some(match (a.is_empty() || a == "1", unit_suffix(a, false)) {
            (false, Some(base)) => format!("{base}_per_{per}"),
            _ => format!("per_{per}"),
        });
    }
    Some(
        match u {
            // time in seconds whatever the unit: values are scaled by `base_unit_scale`
            "s" | "ms" | "us" | "ns" => "seconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "%" => "percent",
            "Hz" => "hertz",
            "1" if kind_is_gauge => "ratio",
            "1" => return None,
            other => return Some(sanitize(other, false).trim_matches('_').to_lowercase()),
        }
        .to_string(),
    )
}

/// The Prometheus metric family name of an OpenTelemetry metric.
pub fn family_name(name: &str, unit: &str, monotonic_counter: bool, gauge: bool) -> String {
    let mut n = sanitize(name, true);
    if let Some(suffix) = unit_suffix(unit, gauge) {
        if !suffix.is_empty() && !n.ends_with(&format!("_{suffix}")) {
            n.push('_');
            n.push_str(&suffix);
        }
    }
    if monotonic_counter && !n.ends_with("_total") {
        n.push_str("_total");
    } else if !monotonic_counter
        && ["_count", "_sum", "_bucket", "_total"]
            .iter()
            .any(|s| n.ends_with(s))
    {
        // these suffixes belong to histograms, summaries and counters; a gauge keeping one
        // would be misread (promtool rejects it): append the unit annotation, or `_value`
        let annotation = unit.trim().trim_start_matches('{').trim_end_matches('}');
        let word = sanitize(annotation, false).trim_matches('_').to_lowercase();
        n.push('_');
        n.push_str(if word.is_empty() || unit.trim() == "1" {
            "value"
        } else {
            &word
        });
    }
    n
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(attrs: &[KeyValue]) -> String {
    let mut pairs: Vec<(String, String)> = attrs
        .iter()
        .map(|kv| (sanitize(&kv.key, false), value_to_string(kv.value.as_ref())))
        .collect();
    pairs.sort();
    pairs.dedup_by(|a, b| a.0 == b.0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Resource attributes that identify a series within one host (a process, a service, a
/// roll-up group) become labels; the host-level ones (`host.*`, `os.*`, user attributes) go on
/// `target_info` once. Long descriptive ones (command line, executable path) stay out of labels.
pub fn is_promoted(key: &str) -> bool {
    matches!(
        key,
        "process.pid"
            | "process.parent_pid"
            | "process.executable.name"
            | "process.owner"
            | "service.name"
            | "service.instance.id"
            | "container.id"
            | "lookout.process.group.kind"
            | "lookout.process.group.name"
    )
}

fn number(p: &NumberDataPoint) -> Option<f64> {
    match p.value? {
        number_data_point::Value::AsDouble(d) => Some(d),
        number_data_point::Value::AsInt(i) => Some(i as f64),
    }
}

fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// Applies a batch; returns the number of points taken.
    pub fn apply(&mut self, batch: &Batch) -> usize {
        let Batch::Metrics(req) = batch else { return 0 };
        let now = Instant::now();
        let mut n = 0;
        for rm in &req.resource_metrics {
            let mut promoted: Vec<KeyValue> = Vec::new();
            if let Some(r) = &rm.resource {
                promoted.extend(
                    r.attributes
                        .iter()
                        .filter(|kv| is_promoted(&kv.key))
                        .cloned(),
                );
                // the host resource (nothing promoted) describes the target, once
                if promoted.is_empty() && self.target_info.is_empty() {
                    for kv in &r.attributes {
                        self.target_info
                            .insert(sanitize(&kv.key, false), value_to_string(kv.value.as_ref()));
                    }
                }
            }
            let with_resource = |attrs: &[KeyValue]| -> String {
                if promoted.is_empty() {
                    labels(attrs)
                } else {
                    let mut all = promoted.clone();
                    all.extend_from_slice(attrs);
                    labels(&all)
                }
            };
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    match &m.data {
                        Some(Data::Gauge(g)) => {
                            let fam = self.family(
                                &m.name,
                                &m.unit,
                                &m.description,
                                Kind::Gauge,
                                false,
                                true,
                            );
                            let scale = base_unit_scale(&m.unit);
                            for p in &g.data_points {
                                if let Some(v) = number(p).map(|v| v * scale) {
                                    fam.series.insert(
                                        with_resource(&p.attributes),
                                        (SeriesValue::Number(v), now),
                                    );
                                    n += 1;
                                }
                            }
                        }
                        Some(Data::Sum(s)) => {
                            let counter = s.is_monotonic;
                            let delta =
                                s.aggregation_temporality == AggregationTemporality::Delta as i32;
                            let kind = if counter { Kind::Counter } else { Kind::Gauge };
                            let fam = self.family(
                                &m.name,
                                &m.unit,
                                &m.description,
                                kind,
                                counter,
                                !counter,
                            );
                            let scale = base_unit_scale(&m.unit);
                            for p in &s.data_points {
                                let Some(v) = number(p).map(|v| v * scale) else {
                                    continue;
                                };
                                let key = with_resource(&p.attributes);
                                let value = match (delta, fam.series.get(&key)) {
                                    (true, Some((SeriesValue::Number(prev), _))) => prev + v,
                                    _ => v,
                                };
                                fam.series.insert(key, (SeriesValue::Number(value), now));
                                n += 1;
                            }
                        }
                        Some(Data::Histogram(h)) => {
                            let delta =
                                h.aggregation_temporality == AggregationTemporality::Delta as i32;
                            let fam = self.family(
                                &m.name,
                                &m.unit,
                                &m.description,
                                Kind::Histogram,
                                false,
                                false,
                            );
                            for p in &h.data_points {
                                let key = with_resource(&p.attributes);
                                let v = histogram_value(
                                    p,
                                    if delta {
                                        fam.series.get(&key).map(|x| &x.0)
                                    } else {
                                        None
                                    },
                                    base_unit_scale(&m.unit),
                                );
                                fam.series.insert(key, (v, now));
                                n += 1;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        n
    }

    fn family(
        &mut self,
        name: &str,
        unit: &str,
        description: &str,
        kind: Kind,
        counter: bool,
        gauge: bool,
    ) -> &mut Family {
        let fname = family_name(name, unit, counter, gauge);
        self.families.entry(fname).or_insert_with(|| Family {
            help: if description.is_empty() {
                name.to_string()
            } else {
                description.to_string()
            },
            kind,
            series: BTreeMap::new(),
        })
    }

    /// Drops series older than `expiry` and renders the page.
    pub fn render(&mut self, expiry: Duration) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if !self.target_info.is_empty() {
            out.push_str("# HELP target_info Target metadata\n# TYPE target_info gauge\n");
            let l: Vec<String> = self
                .target_info
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(out, "target_info{{{}}} 1", l.join(","));
        }
        for (name, fam) in self.families.iter_mut() {
            fam.series.retain(|_, (_, t)| t.elapsed() < expiry);
            if fam.series.is_empty() {
                continue;
            }
            let help = fam.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {}", fam.kind.as_str());
            for (labels, (value, _)) in &fam.series {
                match value {
                    SeriesValue::Number(v) => {
                        if labels.is_empty() {
                            let _ = writeln!(out, "{name} {}", fmt_f64(*v));
                        } else {
                            let _ = writeln!(out, "{name}{{{labels}}} {}", fmt_f64(*v));
                        }
                    }
                    SeriesValue::Histogram {
                        bounds,
                        counts,
                        sum,
                        count,
                    } => {
                        let sep = if labels.is_empty() { "" } else { "," };
                        let mut acc = 0;
                        for (i, b) in bounds.iter().enumerate() {
                            acc += counts.get(i).copied().unwrap_or(0);
                            let _ = writeln!(
                                out,
                                "{name}_bucket{{{labels}{sep}le=\"{}\"}} {acc}",
                                fmt_f64(*b)
                            );
                        }
                        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
                        let braces = if labels.is_empty() {
                            String::new()
                        } else {
                            format!("{{{labels}}}")
                        };
                        let _ = writeln!(out, "{name}_sum{braces} {}", fmt_f64(*sum));
                        let _ = writeln!(out, "{name}_count{braces} {count}");
                    }
                }
            }
        }
        out
    }
}

fn histogram_value(p: &HistogramDataPoint, prev: Option<&SeriesValue>, scale: f64) -> SeriesValue {
    let mut counts = p.bucket_counts.clone();
    let mut sum = p.sum.unwrap_or(0.0) * scale;
    let mut count = p.count;
    let scaled: Vec<f64> = p.explicit_bounds.iter().map(|b| b * scale).collect();
    if let Some(SeriesValue::Histogram {
        bounds,
        counts: pc,
        sum: ps,
        count: pn,
    }) = prev
    {
        if *bounds == scaled && pc.len() == counts.len() {
            for (c, x) in counts.iter_mut().zip(pc) {
                *c += x;
            }
            sum += ps;
            count += pn;
        }
    }
    SeriesValue::Histogram {
        bounds: scaled,
        counts,
        sum,
        count,
    }
}

/// The sink: updates the shared exposition; the page is published at the configured path.
pub struct PrometheusSink {
    state: Arc<Mutex<Exposition>>,
}

impl PrometheusSink {
    /// Builds the sink and registers its page.
    pub fn new(cfg: &PrometheusConfig, routes: &Routes) -> Self {
        let state = Arc::new(Mutex::new(Exposition::default()));
        let page_state = state.clone();
        let expiry = cfg.expiry.0;
        routes.register(&cfg.path, move || Page {
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: page_state
                .lock()
                .map(|mut s| s.render(expiry))
                .unwrap_or_default(),
        });
        PrometheusSink { state }
    }
}

impl Sink for PrometheusSink {
    fn run(self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
        Box::pin(async move {
            while let Some(ev) = cx.recv().await {
                let t = Instant::now();
                if ev.signal() != lookout_model::Signal::Metrics {
                    // logs and traces have no Prometheus form; they are not this sink's to count
                    cx.ack().await;
                    continue;
                }
                let taken = self.state.lock().map(|mut s| s.apply(&ev)).unwrap_or(0);
                let dropped = ev.item_count().saturating_sub(taken);
                cx.stats.sent_items.fetch_add(taken as u64, Relaxed);
                if dropped > 0 {
                    cx.stats.dropped_items.fetch_add(dropped as u64, Relaxed);
                }
                cx.stats.latency.observe(t.elapsed());
                cx.ack().await;
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::{attr, MetricsBuilder, Monotonic};

    #[test]
    fn names() {
        assert_eq!(
            family_name("system.cpu.time", "s", true, false),
            "system_cpu_time_seconds_total"
        );
        assert_eq!(
            family_name("system.memory.usage", "By", false, true),
            "system_memory_usage_bytes"
        );
        assert_eq!(
            family_name("system.cpu.utilization", "1", false, true),
            "system_cpu_utilization_ratio"
        );
        assert_eq!(
            family_name("system.processes.count", "{process}", false, true),
            "system_processes_count_process"
        );
        assert_eq!(family_name("x.sum", "", false, true), "x_sum_value");
        assert_eq!(
            family_name("redis.commands", "{ops}/s", false, true),
            "redis_commands_per_second"
        );
        assert_eq!(
            family_name("net.rate", "By/s", false, true),
            "net_rate_bytes_per_second"
        );
        assert_eq!(
            family_name("redis.cmd.usec", "us", true, false),
            "redis_cmd_usec_seconds_total"
        );
        assert_eq!(family_name("db.ttl", "ms", false, true), "db_ttl_seconds");
        assert_eq!(base_unit_scale("us"), 1e-6);
        assert_eq!(base_unit_scale("By"), 1.0);
        assert_eq!(
            family_name("requests.total", "1", true, false),
            "requests_total"
        );
        assert_eq!(
            family_name("system.cpu.load_average.1m", "{thread}", false, true),
            "system_cpu_load_average_1m"
        );
        assert_eq!(sanitize("9lives", false), "_9lives");
        assert_eq!(sanitize("a.b-c", false), "a_b_c");
    }

    #[test]
    fn renders_counters_gauges_and_target_info() {
        let mut b = MetricsBuilder::new(vec![attr::str("host.name", "h\"1")], "s", "1");
        b.sum("system.cpu.time", "s", "CPU time", Monotonic::Yes)
            .point_f64(1, 2, 1.5, &[("cpu", "cpu0"), ("state", "user")]);
        b.gauge("system.cpu.load_average.1m", "{thread}", "Load")
            .gauge_f64(2, 0.25, &[]);
        let mut e = Exposition::default();
        assert_eq!(e.apply(&Batch::Metrics(b.finish())), 2);
        let page = e.render(Duration::from_secs(60));
        assert!(
            page.contains("target_info{host_name=\"h\\\"1\"} 1"),
            "{page}"
        );
        assert!(page.contains("# TYPE system_cpu_time_seconds_total counter"));
        assert!(page.contains("system_cpu_time_seconds_total{cpu=\"cpu0\",state=\"user\"} 1.5"));
        assert!(page.contains("system_cpu_load_average_1m 0.25"));
        assert!(e.render(Duration::ZERO).starts_with("# HELP target_info"));
        assert!(!e.render(Duration::ZERO).contains("system_cpu"));
    }

    #[test]
    fn process_resources_become_labels() {
        let mut e = Exposition::default();
        for pid in [10, 11] {
            let mut b = MetricsBuilder::new(
                vec![
                    attr::str("host.name", "h"),
                    attr::int("process.pid", pid),
                    attr::str("process.command_line", "x y"),
                ],
                "s",
                "1",
            );
            b.sum("process.memory.usage", "By", "", Monotonic::No)
                .point_i64(1, 2, pid * 100, &[]);
            e.apply(&Batch::Metrics(b.finish()));
        }
        let page = e.render(Duration::from_secs(60));
        assert!(
            page.contains("process_memory_usage_bytes{process_pid=\"10\"} 1000"),
            "{page}"
        );
        assert!(
            page.contains("process_memory_usage_bytes{process_pid=\"11\"} 1100"),
            "{page}"
        );
        assert!(
            !page.contains("target_info"),
            "process resources do not describe the target: {page}"
        );
        assert!(
            !page.contains("command_line"),
            "long attributes stay out of labels: {page}"
        );
    }

    #[test]
    fn delta_sums_accumulate() {
        let mut e = Exposition::default();
        for v in [3, 4] {
            let mut b = MetricsBuilder::new(vec![], "s", "1");
            b.sum("hits", "1", "", Monotonic::Yes)
                .point_i64(1, 2, v, &[]);
            let mut req = b.finish();
            if let Some(Data::Sum(s)) =
                &mut req.resource_metrics[0].scope_metrics[0].metrics[0].data
            {
                s.aggregation_temporality = AggregationTemporality::Delta as i32;
            }
            e.apply(&Batch::Metrics(req));
        }
        assert!(e.render(Duration::from_secs(9)).contains("hits_total 7"));
    }
}
