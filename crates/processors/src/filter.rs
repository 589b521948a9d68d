//! The `filter` processor: drops log records by severity, body pattern or rate, and metrics by
//! name, before they reach any buffer or sink. Spans pass untouched (sampling is the `sample`
//! processor's job).
//!
//! A log record is kept when every configured test passes, in this order: `min_severity`
//! (a record without a severity number passes), `include` (its body, as text, matches one of the
//! patterns), `exclude` (it matches none), then the rate limit (`max_records_per_second`, a
//! token bucket with a one-second burst). Non-string bodies are matched on their JSON-like text
//! form. Each drop is counted by reason in `lookout_filter_dropped_total{reason}`. Metrics are
//! kept or dropped whole, by name, with `metrics: {include, exclude}` globs.

use lookout_config::FilterConfig;
use lookout_model::otlp::{any_value, LogRecord};
use lookout_model::Batch;
use lookout_pipeline::Processor;
use regex::{Regex, RegexSet};
use std::time::Instant;

/// Records dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Below `min_severity`.
    pub severity: u64,
    /// Matched no `include` pattern.
    pub not_included: u64,
    /// Matched an `exclude` pattern.
    pub excluded: u64,
    /// Over `max_records_per_second`.
    pub rate_limited: u64,
    /// Metrics dropped by name (data points).
    pub metric_points: u64,
}

/// The processor.
pub struct FilterProcessor {
    cfg: FilterConfig,
    include: Option<RegexSet>,
    exclude: Option<RegexSet>,
    bucket: Option<(f64, f64, Instant)>, // (rate, tokens, last refill)
    stats: FilterStats,
}

fn set(patterns: &[String]) -> Result<Option<RegexSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for p in patterns {
        Regex::new(p).map_err(|e| format!("invalid pattern `{p}`: {e}"))?;
    }
    RegexSet::new(patterns).map(Some).map_err(|e| e.to_string())
}

fn body_text(r: &LogRecord) -> Option<std::borrow::Cow<'_, str>> {
    match r.body.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        other => Some(std::borrow::Cow::Owned(format!("{other:?}"))),
    }
}

impl FilterProcessor {
    /// Builds the processor (patterns are compiled here; the config loader checked them).
    pub fn new(cfg: &FilterConfig) -> Result<Self, String> {
        Ok(FilterProcessor {
            include: set(&cfg.include)?,
            exclude: set(&cfg.exclude)?,
            bucket: cfg
                .max_records_per_second
                .map(|r| (r, r.max(1.0), Instant::now())),
            cfg: cfg.clone(),
            stats: FilterStats::default(),
        })
    }

    /// Records dropped so far, by reason.
    pub fn stats(&self) -> FilterStats {
        self.stats
    }

    fn keep_log(&mut self, r: &LogRecord, now: Instant) -> bool {
        if let Some(min) = self.cfg.min_severity {
            if r.severity_number > 0 && r.severity_number < min.min_number() {
                self.stats.severity += 1;
                return false;
            }
        }
        if self.include.is_some() || self.exclude.is_some() {
            let text = body_text(r).unwrap_or_default();
            if let Some(inc) = &self.include {
                if !inc.is_match(&text) {
                    self.stats.not_included += 1;
                    return false;
                }
            }
            if let Some(exc) = &self.exclude {
                if exc.is_match(&text) {
                    self.stats.excluded += 1;
                    return false;
                }
            }
        }
        if let Some((rate, tokens, last)) = &mut self.bucket {
            let elapsed = now.saturating_duration_since(*last).as_secs_f64();
            *tokens = (*tokens + elapsed * *rate).min(rate.max(1.0));
            *last = now;
            if *tokens < 1.0 {
                self.stats.rate_limited += 1;
                return false;
            }
            *tokens -= 1.0;
        }
        true
    }

    /// [`Processor::process`] with an explicit clock (for tests).
    pub fn process_at(&mut self, mut batch: Batch, now: Instant) -> Option<Batch> {
        match &mut batch {
            Batch::Logs(req) => {
                for rl in &mut req.resource_logs {
                    for sl in &mut rl.scope_logs {
                        let records = std::mem::take(&mut sl.log_records);
                        sl.log_records = records
                            .into_iter()
                            .filter(|r| self.keep_log(r, now))
                            .collect();
                    }
                    rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
                }
                req.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
            }
            Batch::Metrics(req) => {
                let filter = &self.cfg.metrics;
                if !filter.include.is_empty() || !filter.exclude.is_empty() {
                    for rm in &mut req.resource_metrics {
                        for sm in &mut rm.scope_metrics {
                            sm.metrics.retain(|m| {
                                let keep = filter.allows(&m.name);
                                if !keep {
                                    self.stats.metric_points +=
                                        lookout_model::metric_points(m) as u64;
                                }
                                keep
                            });
                        }
                        rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
                    }
                    req.resource_metrics
                        .retain(|rm| !rm.scope_metrics.is_empty());
                }
            }
            Batch::Traces(_) => {}
        }
        (!batch.is_empty()).then_some(batch)
    }
}

impl Processor for FilterProcessor {
    fn process(&mut self, batch: Batch) -> Option<Batch> {
        self.process_at(batch, Instant::now())
    }

    fn report(&self, stats: &lookout_pipeline::ComponentStats) {
        const NAME: &str = "lookout_filter_dropped_total";
        const HELP: &str = "Items a filter processor dropped, by reason.";
        let s = self.stats;
        for (reason, n) in [
            ("severity", s.severity),
            ("not_included", s.not_included),
            ("excluded", s.excluded),
            ("rate_limited", s.rate_limited),
            ("metric_name", s.metric_points),
        ] {
            stats.set_labeled(NAME, HELP, "reason", reason, n);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_config::{Filter, Pattern, SeverityLevel};
    use lookout_model::otlp::{AnyValue, ExportLogsServiceRequest, ResourceLogs, ScopeLogs};
    use std::time::Duration;

    fn rec(body: &str, sev: i32) -> LogRecord {
        LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.into())),
            }),
            severity_number: sev,
            ..Default::default()
        }
    }

    fn logs(recs: Vec<LogRecord>) -> Batch {
        Batch::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: recs,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    fn bodies(b: &Option<Batch>) -> Vec<String> {
        let Some(Batch::Logs(r)) = b else {
            return Vec::new();
        };
        r.resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
            .map(|l| body_text(l).unwrap().into_owned())
            .collect()
    }

    #[test]
    fn severity_include_and_exclude() {
        let mut f = FilterProcessor::new(&FilterConfig {
            min_severity: Some(SeverityLevel::Warn),
            include: vec!["GET|POST".into()],
            exclude: vec!["/health".into()],
            ..Default::default()
        })
        .unwrap();
        let out = f.process(logs(vec![
            rec("GET /api 500", 17),
            rec("GET /api 200", 9),
            rec("GET /health 503", 17),
            rec("cron done", 13),
            rec("POST /pay timeout", 0),
        ]));
        assert_eq!(bodies(&out), ["GET /api 500", "POST /pay timeout"]);
        let s = f.stats();
        assert_eq!((s.severity, s.excluded, s.not_included), (1, 1, 1));
        // everything dropped: no batch at all
        assert!(f.process(logs(vec![rec("debug", 5)])).is_none());
    }

    #[test]
    fn rate_limit_admits_the_budget_per_second() {
        let mut f = FilterProcessor::new(&FilterConfig {
            max_records_per_second: Some(10.0),
            ..Default::default()
        })
        .unwrap();
        let t0 = Instant::now();
        let many = || logs((0..25).map(|i| rec(&format!("l{i}"), 9)).collect());
        assert_eq!(bodies(&f.process_at(many(), t0)).len(), 10);
        assert_eq!(
            bodies(&f.process_at(many(), t0 + Duration::from_millis(500))).len(),
            5
        );
        assert_eq!(
            bodies(&f.process_at(many(), t0 + Duration::from_secs(5))).len(),
            10
        );
        assert_eq!(f.stats().rate_limited, 15 + 20 + 15);
    }

    #[test]
    fn metrics_by_name_and_spans_untouched() {
        use lookout_model::MetricsBuilder;
        let mut f = FilterProcessor::new(&FilterConfig {
            metrics: Filter {
                include: vec![Pattern("system.*".into())],
                exclude: vec![Pattern("system.network.*".into())],
            },
            ..Default::default()
        })
        .unwrap();
        let mut mb = MetricsBuilder::new(Vec::new(), "t", "1");
        mb.gauge("system.cpu.utilization", "1", "")
            .gauge_f64(1, 0.5, &[]);
        mb.gauge("system.network.io", "By", "")
            .gauge_f64(1, 1.0, &[("d", "eth0")]);
        mb.gauge("app.requests", "1", "").gauge_f64(1, 3.0, &[]);
        let out = f.process(Batch::Metrics(mb.finish())).unwrap();
        let Batch::Metrics(r) = out else { panic!() };
        let names: Vec<_> = r.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .map(|m| m.name.clone())
            .collect();
        assert_eq!(names, ["system.cpu.utilization"]);
        assert_eq!(f.stats().metric_points, 2);
        let spans = Batch::Traces(Default::default());
        assert!(f.process(spans).is_none(), "an empty batch stays dropped");
    }
}
