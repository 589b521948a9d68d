//! Taps: a live view of one source's records as the sinks get them, after every processor (so
//! redaction is applied), for `lookout logs tail` and the terminal UI.
//!
//! Every batch carries the id of the source it came from through the processors. When someone
//! reads a tap, the outputs that feed a sink copy the records of that source into a bounded
//! ring; a tap nobody has read for [`IDLE`] is closed. With no tap open the cost on the data
//! path is one relaxed atomic load per batch.

use lookout_model::otlp::any_value::Value;
use lookout_model::Batch;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lines kept per tap.
pub const CAPACITY: usize = 2000;
/// A tap unread for this long is closed.
pub const IDLE: Duration = Duration::from_secs(30);
/// Longest body kept per line, in bytes.
const MAX_BODY: usize = 4096;

/// One tapped record.
#[derive(Debug, Clone, PartialEq)]
pub struct TapLine {
    /// Sequence number in its tap (from 1).
    pub seq: u64,
    /// Record time (Unix seconds; observed time when the record has none).
    pub unix: f64,
    /// Severity text.
    pub severity: String,
    /// Body as text.
    pub body: String,
}

struct Tap {
    lines: VecDeque<TapLine>,
    next: u64,
    read_at: Instant,
}

/// The open taps.
#[derive(Default)]
pub struct Taps {
    open: AtomicUsize,
    taps: Mutex<HashMap<String, Tap>>,
}

/// The process's taps.
pub fn taps() -> &'static Taps {
    static T: OnceLock<Taps> = OnceLock::new();
    T.get_or_init(Taps::default)
}

impl Taps {
    /// Whether any tap is open (the data path's only check).
    #[inline]
    pub fn any(&self) -> bool {
        self.open.load(Relaxed) > 0
    }

    /// Reads a source's lines after `after`, opening its tap if needed. Returns the lines, the
    /// sequence to pass next time, and how many went by unread.
    pub fn read(&self, source: &str, after: u64) -> (Vec<TapLine>, u64, u64) {
        let Ok(mut m) = self.taps.lock() else {
            return (Vec::new(), after, 0);
        };
        let now = Instant::now();
        m.retain(|_, t| now.duration_since(t.read_at) < IDLE);
        let t = m.entry(source.to_string()).or_insert_with(|| Tap {
            lines: VecDeque::new(),
            next: 1,
            read_at: now,
        });
        t.read_at = now;
        let first = t.lines.front().map_or(t.next, |l| l.seq);
        let missed = first
            .saturating_sub(after + 1)
            .min(t.next.saturating_sub(1));
        let lines: Vec<TapLine> = t.lines.iter().filter(|l| l.seq > after).cloned().collect();
        let last = t.next - 1;
        self.open.store(m.len(), Relaxed);
        (lines, last, missed)
    }

    /// The recent lines of a source's tap (empty when not open).
    pub fn recent(&self, source: &str) -> Vec<String> {
        self.taps
            .lock()
            .ok()
            .and_then(|m| {
                m.get(source)
                    .map(|t| t.lines.iter().map(|l| l.body.clone()).collect())
            })
            .unwrap_or_default()
    }

    /// Copies the records of `batch`, from `origin`, into its tap if one is open.
    pub fn record(&self, origin: &str, batch: &Batch) {
        let Ok(mut m) = self.taps.lock() else {
            return;
        };
        let Some(t) = m.get_mut(origin) else {
            return;
        };
        if t.read_at.elapsed() >= IDLE {
            m.remove(origin);
            self.open.store(m.len(), Relaxed);
            return;
        }
        let mut push = |unix: f64, severity: String, body: String| {
            if t.lines.len() >= CAPACITY {
                t.lines.pop_front();
            }
            t.lines.push_back(TapLine {
                seq: t.next,
                unix,
                severity,
                body,
            });
            t.next += 1;
        };
        match batch {
            Batch::Logs(req) => {
                for rl in &req.resource_logs {
                    for sl in &rl.scope_logs {
                        for r in &sl.log_records {
                            let nanos = if r.time_unix_nano > 0 {
                                r.time_unix_nano
                            } else {
                                r.observed_time_unix_nano
                            };
                            let body = r
                                .body
                                .as_ref()
                                .and_then(|b| b.value.as_ref())
                                .map(value_text)
                                .unwrap_or_default();
                            push(nanos as f64 / 1e9, r.severity_text.clone(), clip(body));
                        }
                    }
                }
            }
            Batch::Metrics(req) => {
                for rm in &req.resource_metrics {
                    for sm in &rm.scope_metrics {
                        let names: Vec<&str> = sm.metrics.iter().map(|m| m.name.as_str()).collect();
                        if !names.is_empty() {
                            push(
                                lookout_model::now_nanos() as f64 / 1e9,
                                "METRICS".into(),
                                clip(names.join(" ")),
                            );
                        }
                    }
                }
            }
            Batch::Traces(req) => {
                let spans: usize = req
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum();
                push(
                    lookout_model::now_nanos() as f64 / 1e9,
                    "TRACES".into(),
                    format!("{spans} span(s)"),
                );
            }
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::BytesValue(b) => format!("<{} bytes>", b.len()),
        Value::StringValueStrindex(i) => format!("<string #{i}>"),
        Value::ArrayValue(a) => a
            .values
            .iter()
            .filter_map(|v| v.value.as_ref())
            .map(value_text)
            .collect::<Vec<_>>()
            .join(", "),
        Value::KvlistValue(kv) => kv
            .values
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    p.key,
                    p.value
                        .as_ref()
                        .and_then(|v| v.value.as_ref())
                        .map(value_text)
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_BODY {
        let mut end = MAX_BODY;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::otlp::{
        AnyValue, ExportLogsServiceRequest, LogRecord, ResourceLogs, ScopeLogs,
    };

    fn logs(bodies: &[&str]) -> Batch {
        Batch::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: bodies
                        .iter()
                        .map(|b| LogRecord {
                            time_unix_nano: 1_700_000_000_000_000_000,
                            severity_text: "INFO".into(),
                            body: Some(AnyValue {
                                value: Some(Value::StringValue(b.to_string())),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    #[test]
    fn a_tap_sees_only_its_source_after_it_opened() {
        let t = Taps::default();
        assert!(!t.any());
        t.record("a", &logs(&["before"]));
        let (lines, next, missed) = t.read("a", 0);
        assert!(lines.is_empty());
        assert_eq!((next, missed), (0, 0));
        assert!(t.any());
        t.record("a", &logs(&["one", "two"]));
        t.record("b", &logs(&["other"]));
        let (lines, next, _) = t.read("a", next);
        assert_eq!(
            lines.iter().map(|l| l.body.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(lines[0].severity, "INFO");
        assert!((lines[0].unix - 1.7e9).abs() < 1.0);
        assert_eq!(next, 2);
        let (lines, next2, _) = t.read("a", next);
        assert!(lines.is_empty());
        assert_eq!(next2, 2);
        assert_eq!(t.recent("a"), ["one", "two"]);
    }

    #[test]
    fn a_slow_reader_is_told_what_it_missed() {
        let t = Taps::default();
        t.read("a", 0);
        let many: Vec<String> = (0..CAPACITY + 10).map(|i| format!("l{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        t.record("a", &logs(&refs));
        let (lines, next, missed) = t.read("a", 0);
        assert_eq!(lines.len(), CAPACITY);
        assert_eq!(missed, 10);
        assert_eq!(next, (CAPACITY + 10) as u64);
        assert_eq!(lines[0].body, "l10");
    }

    #[test]
    fn long_bodies_are_clipped_on_a_char_boundary() {
        let s = "é".repeat(MAX_BODY);
        let c = clip(s);
        assert!(c.len() <= MAX_BODY + '…'.len_utf8());
        assert!(c.ends_with('…'));
    }
}
