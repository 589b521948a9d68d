//! Head sampling of traces: [`SampleProcessor`].
//!
//! # Probability, consistent by trace id
//!
//! A span is kept when the randomness carried by its trace id falls below the configured rate:
//! the rightmost 7 bytes (56 bits) of the 16-byte trace id, read as a big-endian unsigned
//! integer `R` (W3C Trace Context level 2 makes these bytes random), must satisfy
//! `R < ceil(rate · 2^56)`. Rate 1 keeps everything, rate 0 nothing. Because the decision only
//! depends on the trace id and the rate:
//!
//! - every span of a trace gets the same decision, whichever batch or process it arrives in;
//! - every agent configured with the same rate decides the same way;
//! - the traces kept at a lower rate are a subset of those kept at a higher rate.
//!
//! Spans whose trace id is invalid (not 16 bytes, or all zero) are kept (there is nothing to
//! decide on) and counted in [`SampleStats::invalid_trace_id`]; the rate limit does not apply
//! to them.
//!
//! # Rate limit per service
//!
//! With `max_traces_per_second`, the traces kept by the probability then go through a token
//! bucket per `service.name` (the resource attribute, `unknown_service` when absent): the
//! bucket refills at `max_traces_per_second` tokens per second, holds at most
//! `max(1, max_traces_per_second)` and starts full. Each trace id not seen before takes one
//! token or is rejected. The decision is remembered per trace id, so later spans of an
//! admitted trace are kept (even when they come from another service) and later spans of a
//! rejected one are dropped. The memory is two generations of maps, swapped every 60 s or
//! when the current one holds 100 000 trace ids: a decision is remembered for at least 60 s
//! (unless more than 100 000 new traces arrive in that time) and at most about 120 s after the
//! trace was last seen, and the memory stays bounded.
//!
//! # What is not done (yet)
//!
//! The sampling probability applied is **not** written into the kept spans (no `ot=th:` entry
//! is added to `tracestate`), so a backend cannot extrapolate counts from sampled spans.
//!
//! Scope and resource entries left without spans are removed; a batch left with no span at all
//! is dropped (`None`). Metrics and logs pass through untouched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lookout_config::SampleConfig;
use lookout_model::otlp::ExportTraceServiceRequest;
use lookout_model::{attr, Batch};
use lookout_pipeline::Processor;

/// The service name used when a resource has no `service.name`.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// How long the current generation of remembered decisions lives before being swapped out.
const GENERATION_AGE: Duration = Duration::from_secs(60);
/// How many trace ids one generation may hold before being swapped out.
const GENERATION_SIZE: usize = 100_000;
/// How many services get their own token bucket; beyond that, idle buckets are forgotten and,
/// if none is idle, new services share one overflow bucket.
const MAX_SERVICES: usize = 10_000;

/// Span counters of a [`SampleProcessor`] (every count is in spans, not traces).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleStats {
    /// Spans kept (including those kept because of an invalid trace id).
    pub kept: u64,
    /// Spans dropped because their trace id fell above the sampling rate.
    pub dropped_probability: u64,
    /// Spans dropped because their trace was rejected by the per-service rate limit.
    pub dropped_rate_limit: u64,
    /// Spans kept without a decision because their trace id was not 16 bytes or all zero.
    pub invalid_trace_id: u64,
}

/// Head sampling of traces by trace id, with an optional per-service rate limit. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct SampleProcessor {
    /// Keep when the trace id's 56 random bits are below this (0 ..= 2^56).
    threshold: u64,
    limiter: Option<RateLimiter>,
    stats: SampleStats,
}

impl SampleProcessor {
    /// Builds the processor from its config. A rate outside [0, 1] is clamped (NaN counts as
    /// 0); a non-positive or NaN `max_traces_per_second` disables the limit (config validation
    /// rejects both anyway).
    pub fn new(cfg: &SampleConfig) -> Self {
        let limiter = cfg
            .max_traces_per_second
            .filter(|l| *l > 0.0)
            .map(RateLimiter::new);
        SampleProcessor {
            threshold: threshold(cfg.rate),
            limiter,
            stats: SampleStats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &SampleStats {
        &self.stats
    }

    /// Whether the probability alone keeps a trace id (`None` for an invalid id). Pure: does
    /// not count and ignores the rate limit.
    pub fn keeps_trace_id(&self, trace_id: &[u8]) -> Option<bool> {
        trace_randomness(trace_id).map(|r| r < self.threshold)
    }

    /// [`Processor::process`] with an explicit clock reading, for tests and replays.
    pub fn process_at(&mut self, batch: Batch, now: Instant) -> Option<Batch> {
        match batch {
            Batch::Traces(mut req) => {
                self.filter(&mut req, now);
                if req.resource_spans.is_empty() {
                    None
                } else {
                    Some(Batch::Traces(req))
                }
            }
            other => Some(other),
        }
    }

    fn filter(&mut self, req: &mut ExportTraceServiceRequest, now: Instant) {
        for rs in &mut req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| attr::get_str(&r.attributes, "service.name"))
                .unwrap_or(UNKNOWN_SERVICE);
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|span| {
                    decide(
                        self.threshold,
                        &mut self.limiter,
                        &mut self.stats,
                        &span.trace_id,
                        service,
                        now,
                    )
                });
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        req.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    }
}

impl Processor for SampleProcessor {
    fn process(&mut self, batch: Batch) -> Option<Batch> {
        self.process_at(batch, Instant::now())
    }

    fn report(&self, stats: &lookout_pipeline::ComponentStats) {
        const NAME: &str = "lookout_sample_spans_total";
        const HELP: &str = "Spans seen by a sample processor, by decision.";
        let s = &self.stats;
        for (decision, n) in [
            ("kept", s.kept),
            ("dropped_probability", s.dropped_probability),
            ("dropped_rate_limit", s.dropped_rate_limit),
            ("invalid_trace_id", s.invalid_trace_id),
        ] {
            stats.set_labeled(NAME, HELP, "decision", decision, n);
        }
    }
}

/// `ceil(rate · 2^56)`, clamped to [0, 2^56].
fn threshold(rate: f64) -> u64 {
    const FULL: u64 = 1 << 56;
    if rate.is_nan() || rate <= 0.0 {
        0
    } else if rate >= 1.0 {
        FULL
    } else {
        // Multiplying by a power of two is exact; the float-to-int cast saturates.
        ((rate * FULL as f64).ceil() as u64).min(FULL)
    }
}

/// The 56 random bits of a trace id (its last 7 bytes, big-endian), or `None` when the id is
/// invalid (not 16 bytes, or all zero).
fn trace_randomness(trace_id: &[u8]) -> Option<u64> {
    let id: &[u8; 16] = trace_id.try_into().ok()?;
    if id.iter().all(|b| *b == 0) {
        return None;
    }
    Some(
        id[9..]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    )
}

/// One span's fate; updates the counters.
fn decide(
    threshold: u64,
    limiter: &mut Option<RateLimiter>,
    stats: &mut SampleStats,
    trace_id: &[u8],
    service: &str,
    now: Instant,
) -> bool {
    let Some(r) = trace_randomness(trace_id) else {
        stats.invalid_trace_id += 1;
        stats.kept += 1;
        return true;
    };
    if r >= threshold {
        stats.dropped_probability += 1;
        return false;
    }
    let admitted = match limiter {
        None => true,
        // `trace_randomness` checked the length.
        Some(l) => l.admit(trace_key(trace_id), service, now),
    };
    if admitted {
        stats.kept += 1;
    } else {
        stats.dropped_rate_limit += 1;
    }
    admitted
}

fn trace_key(trace_id: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&trace_id[..16]);
    u128::from_be_bytes(b)
}

/// A token bucket.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per service plus the remembered decisions per trace id.
#[derive(Debug)]
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: HashMap<String, Bucket>,
    /// Decisions of the current generation (trace id → admitted).
    current: HashMap<u128, bool>,
    /// The previous generation, consulted (and promoted from) on a miss.
    previous: HashMap<u128, bool>,
    /// When `current` was started (`None` until the first decision).
    generation_start: Option<Instant>,
    /// When idle buckets were last pruned (pruning runs at most once a second).
    last_prune: Option<Instant>,
}

impl RateLimiter {
    fn new(per_second: f64) -> Self {
        RateLimiter {
            per_second,
            burst: per_second.max(1.0),
            buckets: HashMap::new(),
            current: HashMap::new(),
            previous: HashMap::new(),
            generation_start: None,
            last_prune: None,
        }
    }

    fn admit(&mut self, trace: u128, service: &str, now: Instant) -> bool {
        self.maybe_rotate(now);
        if let Some(d) = self.current.get(&trace) {
            return *d;
        }
        if let Some(d) = self.previous.get(&trace).copied() {
            self.current.insert(trace, d);
            return d;
        }
        let d = self.take_token(service, now);
        self.current.insert(trace, d);
        d
    }

    fn maybe_rotate(&mut self, now: Instant) {
        let start = *self.generation_start.get_or_insert(now);
        if now.saturating_duration_since(start) >= GENERATION_AGE
            || self.current.len() >= GENERATION_SIZE
        {
            self.previous = std::mem::take(&mut self.current);
            self.generation_start = Some(now);
        }
    }

    fn take_token(&mut self, service: &str, now: Instant) -> bool {
        let (per_second, burst) = (self.per_second, self.burst);
        let key = if self.buckets.contains_key(service) {
            service
        } else {
            let prune_due = self
                .last_prune
                .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1));
            if self.buckets.len() >= MAX_SERVICES && prune_due {
                // Forget the buckets that are full again: they behave like new ones.
                self.last_prune = Some(now);
                self.buckets.retain(|_, b| {
                    refill(b, per_second, burst, now);
                    b.tokens < burst
                });
            }
            if self.buckets.len() >= MAX_SERVICES {
                ""
            } else {
                service
            }
        };
        let bucket = self
            .buckets
            .entry(key.to_string())
            .or_insert_with(|| Bucket {
                tokens: burst,
                last: now,
            });
        refill(bucket, per_second, burst, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn refill(b: &mut Bucket, per_second: f64, burst: f64, now: Instant) {
    if now > b.last {
        let dt = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + dt * per_second).min(burst);
        b.last = now;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::otlp::{ExportLogsServiceRequest, ResourceSpans, ScopeSpans, Span};
    use lookout_model::otlp::{LogRecord, Resource, ResourceLogs, ScopeLogs};
    use lookout_model::MetricsBuilder;

    /// A tiny xorshift generator: deterministic pseudo-random trace ids.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn trace_id(&mut self) -> Vec<u8> {
            let mut id = Vec::with_capacity(16);
            id.extend_from_slice(&self.next().to_be_bytes());
            id.extend_from_slice(&self.next().to_be_bytes());
            id
        }
    }

    fn cfg(rate: f64, limit: Option<f64>) -> SampleConfig {
        SampleConfig {
            rate,
            max_traces_per_second: limit,
        }
    }

    fn span(trace_id: &[u8], name: &str) -> Span {
        Span {
            trace_id: trace_id.to_vec(),
            span_id: vec![1; 8],
            name: name.into(),
            ..Default::default()
        }
    }

    fn traces(service: Option<&str>, spans: Vec<Span>) -> Batch {
        let attributes = service
            .map(|s| vec![attr::str("service.name", s)])
            .unwrap_or_default();
        Batch::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    fn span_names(b: &Option<Batch>) -> Vec<String> {
        match b {
            Some(Batch::Traces(r)) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .map(|s| s.name.clone())
                .collect(),
            None => Vec::new(),
            Some(_) => panic!("not traces"),
        }
    }

    /// A trace id whose 56 random bits are `r`.
    fn id_with(r: u64) -> Vec<u8> {
        let mut id = vec![0xab; 9];
        id.extend_from_slice(&r.to_be_bytes()[1..]);
        id
    }

    #[test]
    fn threshold_edges() {
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), 1 << 56);
        assert_eq!(threshold(0.5), 1 << 55);
        assert_eq!(threshold(f64::NAN), 0);
        assert_eq!(threshold(-1.0), 0);
        assert_eq!(threshold(2.0), 1 << 56);
        let p = SampleProcessor::new(&cfg(0.5, None));
        assert_eq!(p.keeps_trace_id(&id_with((1 << 55) - 1)), Some(true));
        assert_eq!(p.keeps_trace_id(&id_with(1 << 55)), Some(false));
        // Only the last 7 bytes count.
        let mut id = id_with(0);
        id[8] = 0xff;
        assert_eq!(p.keeps_trace_id(&id), Some(true));
        assert_eq!(p.keeps_trace_id(&[0; 16]), None);
        assert_eq!(p.keeps_trace_id(&[1; 8]), None);
    }

    #[test]
    fn rate_one_keeps_all_and_zero_keeps_none() {
        let mut rng = Rng(7);
        let ids: Vec<Vec<u8>> = (0..1000).map(|_| rng.trace_id()).collect();
        let spans = || ids.iter().map(|id| span(id, "s")).collect::<Vec<_>>();
        let mut all = SampleProcessor::new(&cfg(1.0, None));
        assert_eq!(span_names(&all.process(traces(None, spans()))).len(), 1000);
        let mut none = SampleProcessor::new(&cfg(0.0, None));
        assert!(none.process(traces(None, spans())).is_none());
        assert_eq!(none.stats().dropped_probability, 1000);
        assert_eq!(none.stats().kept, 0);
    }

    #[test]
    fn all_spans_of_a_trace_share_the_decision() {
        let mut rng = Rng(99);
        let mut p = SampleProcessor::new(&cfg(0.3, None));
        for _ in 0..200 {
            let id = rng.trace_id();
            let spans: Vec<Span> = (0..5).map(|i| span(&id, &format!("s{i}"))).collect();
            let out = span_names(&p.process(traces(Some("a"), spans)));
            assert!(out.is_empty() || out.len() == 5, "split trace: {out:?}");
            // The same trace in a later batch, from another service, decides the same.
            let later = span_names(&p.process(traces(Some("b"), vec![span(&id, "late")])));
            assert_eq!(later.is_empty(), out.is_empty());
        }
    }

    #[test]
    fn proportion_kept_matches_the_rate() {
        for rate in [0.1, 0.5] {
            let mut rng = Rng(0x1234_5678_9abc_def1);
            let p = SampleProcessor::new(&cfg(rate, None));
            let n = 100_000;
            let kept = (0..n)
                .filter(|_| p.keeps_trace_id(&rng.trace_id()) == Some(true))
                .count();
            let got = kept as f64 / n as f64;
            // Binomial standard deviation is at most 0.0016 here: allow ~5 sigma.
            assert!((got - rate).abs() < 0.008, "rate {rate}: kept {got}");
        }
    }

    #[test]
    fn lower_rate_keeps_a_subset() {
        let mut rng = Rng(42);
        let low = SampleProcessor::new(&cfg(0.1, None));
        let mid = SampleProcessor::new(&cfg(0.25, None));
        let high = SampleProcessor::new(&cfg(0.5, None));
        let mut kept_low = 0;
        for _ in 0..20_000 {
            let id = rng.trace_id();
            let (l, m, h) = (
                low.keeps_trace_id(&id).unwrap(),
                mid.keeps_trace_id(&id).unwrap(),
                high.keeps_trace_id(&id).unwrap(),
            );
            assert!(!l || m, "kept at 0.1 but not at 0.25");
            assert!(!m || h, "kept at 0.25 but not at 0.5");
            kept_low += usize::from(l);
        }
        assert!(kept_low > 1000);
    }

    #[test]
    fn invalid_trace_ids_are_kept_and_counted() {
        let mut p = SampleProcessor::new(&cfg(0.0, Some(1.0)));
        let out = p.process(traces(
            None,
            vec![
                span(&[0; 16], "zero"),
                span(&[1, 2, 3], "short"),
                span(&[], "empty"),
            ],
        ));
        assert_eq!(span_names(&out), ["zero", "short", "empty"]);
        assert_eq!(
            p.stats(),
            &SampleStats {
                kept: 3,
                invalid_trace_id: 3,
                ..Default::default()
            }
        );
    }

    #[test]
    fn empty_scopes_and_resources_are_removed() {
        let keep = id_with(0);
        let drop = id_with((1 << 56) - 1);
        let mut p = SampleProcessor::new(&cfg(0.5, None));
        let Batch::Traces(mut req) = traces(Some("a"), vec![span(&drop, "x")]) else {
            unreachable!()
        };
        // Resource 0: one scope dropped entirely, one kept. Resource 1: everything dropped.
        req.resource_spans[0].scope_spans.push(ScopeSpans {
            spans: vec![span(&keep, "k"), span(&drop, "d")],
            ..Default::default()
        });
        let mut second = req.resource_spans[0].clone();
        second.scope_spans = vec![ScopeSpans {
            spans: vec![span(&drop, "y")],
            ..Default::default()
        }];
        req.resource_spans.push(second);
        let Some(Batch::Traces(out)) = p.process(Batch::Traces(req)) else {
            panic!("dropped")
        };
        assert_eq!(out.resource_spans.len(), 1);
        assert_eq!(out.resource_spans[0].scope_spans.len(), 1);
        assert_eq!(out.resource_spans[0].scope_spans[0].spans.len(), 1);
        assert_eq!(out.resource_spans[0].scope_spans[0].spans[0].name, "k");
        assert_eq!(p.stats().kept, 1);
        assert_eq!(p.stats().dropped_probability, 3);
        // A batch with nothing left is dropped.
        assert!(p.process(traces(None, vec![span(&drop, "z")])).is_none());
    }

    #[test]
    fn rate_limit_admits_the_budget_per_second_per_service() {
        let mut rng = Rng(5);
        let mut p = SampleProcessor::new(&cfg(1.0, Some(5.0)));
        let t0 = Instant::now();
        let send = |p: &mut SampleProcessor, rng: &mut Rng, svc: Option<&str>, at: Instant| {
            let spans: Vec<Span> = (0..20).map(|_| span(&rng.trace_id(), "s")).collect();
            span_names(&p.process_at(traces(svc, spans), at)).len()
        };
        // A full bucket: the burst of 5 for each service, including `unknown_service`.
        assert_eq!(send(&mut p, &mut rng, Some("a"), t0), 5);
        assert_eq!(send(&mut p, &mut rng, Some("b"), t0), 5);
        assert_eq!(send(&mut p, &mut rng, None, t0), 5);
        assert_eq!(send(&mut p, &mut rng, Some("a"), t0), 0);
        // Half a second refills half the budget.
        assert_eq!(
            send(&mut p, &mut rng, Some("a"), t0 + Duration::from_millis(500)),
            2
        );
        // Over each following second, exactly the budget.
        for s in 2..6 {
            let at = t0 + Duration::from_secs(s);
            assert_eq!(send(&mut p, &mut rng, Some("a"), at), 5, "second {s}");
        }
        // An idle period does not accumulate more than the burst.
        assert_eq!(
            send(&mut p, &mut rng, Some("b"), t0 + Duration::from_secs(30)),
            5
        );
        let st = p.stats();
        assert_eq!(st.kept, 5 + 5 + 5 + 2 + 4 * 5 + 5);
        assert_eq!(st.dropped_rate_limit, 10 * 20 - st.kept);
        assert_eq!(st.dropped_probability, 0);
    }

    #[test]
    fn fractional_limit_has_a_burst_of_one() {
        let mut rng = Rng(11);
        let mut p = SampleProcessor::new(&cfg(1.0, Some(0.5)));
        let t0 = Instant::now();
        let mut admitted = 0;
        for ms in (0..10_000).step_by(100) {
            let b = traces(Some("a"), vec![span(&rng.trace_id(), "s")]);
            admitted += span_names(&p.process_at(b, t0 + Duration::from_millis(ms))).len();
        }
        // One at once, then one every two seconds.
        assert_eq!(admitted, 1 + 4);
    }

    #[test]
    fn decisions_are_remembered() {
        let mut rng = Rng(3);
        let mut p = SampleProcessor::new(&cfg(1.0, Some(1.0)));
        let t0 = Instant::now();
        let admitted = rng.trace_id();
        let rejected = rng.trace_id();
        let out = p.process_at(
            traces(
                Some("a"),
                vec![span(&admitted, "a1"), span(&rejected, "r1")],
            ),
            t0,
        );
        assert_eq!(span_names(&out), ["a1"]);
        // Later spans: the admitted trace stays admitted without a token (the bucket is
        // empty), and the rejected one stays rejected though a token is available again.
        let later = t0 + Duration::from_secs(1);
        let out = p.process_at(
            traces(
                Some("a"),
                vec![span(&rejected, "r2"), span(&admitted, "a2")],
            ),
            later,
        );
        assert_eq!(span_names(&out), ["a2"]);
        // The token is still there for a new trace.
        let fresh = rng.trace_id();
        let out = p.process_at(traces(Some("a"), vec![span(&fresh, "f")]), later);
        assert_eq!(span_names(&out), ["f"]);
        // Another service's spans of an admitted trace are kept without a token of its own.
        let out = p.process_at(traces(Some("b"), vec![span(&admitted, "b1")]), later);
        assert_eq!(span_names(&out), ["b1"]);
        // The memory spans generations: still remembered after 90 s (promoted at 61 s)...
        let out = p.process_at(
            traces(Some("a"), vec![span(&admitted, "a3")]),
            t0 + Duration::from_secs(61),
        );
        assert_eq!(span_names(&out), ["a3"]);
        let out = p.process_at(
            traces(Some("a"), vec![span(&admitted, "a4")]),
            t0 + Duration::from_secs(90),
        );
        assert_eq!(span_names(&out), ["a4"]);
        // ...but a trace unseen for two generations is forgotten and decided afresh.
        let out = p.process_at(
            traces(Some("c"), vec![span(&rejected, "r3")]),
            t0 + Duration::from_secs(300),
        );
        assert_eq!(span_names(&out), ["r3"]);
    }

    #[test]
    fn memory_is_bounded() {
        let mut l = RateLimiter::new(1e9);
        let t0 = Instant::now();
        for i in 0..(3 * GENERATION_SIZE as u128) {
            l.admit(i, "a", t0);
        }
        assert!(l.current.len() <= GENERATION_SIZE);
        assert!(l.previous.len() <= GENERATION_SIZE);
    }

    #[test]
    fn service_buckets_are_bounded() {
        let mut l = RateLimiter::new(1.0);
        let t0 = Instant::now();
        let mut trace = 0u128;
        let mut admitted = 0;
        for i in 0..(MAX_SERVICES + 10) {
            trace += 1;
            admitted += usize::from(l.admit(trace, &format!("svc{i}"), t0));
        }
        // The services past the limit share one overflow bucket (a burst of 1).
        assert_eq!(admitted, MAX_SERVICES + 1);
        assert_eq!(l.buckets.len(), MAX_SERVICES + 1);
        // Much later every bucket is full again (idle) and can be forgotten.
        let later = t0 + Duration::from_secs(10);
        trace += 1;
        assert!(l.admit(trace, "another", later));
        assert!(l.buckets.len() <= 2);
    }

    #[test]
    fn metrics_and_logs_pass_untouched() {
        let mut p = SampleProcessor::new(&cfg(0.0, Some(1.0)));
        let mut b = MetricsBuilder::new(vec![attr::str("host.name", "h")], "s", "1");
        b.gauge("g", "1", "").gauge_i64(1, 1, &[]);
        let metrics = Batch::Metrics(b.finish());
        assert_eq!(p.process(metrics.clone()), Some(metrics));
        let logs = Batch::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        trace_id: vec![0xff; 16],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        assert_eq!(p.process(logs.clone()), Some(logs));
        assert_eq!(p.stats(), &SampleStats::default());
    }
}
