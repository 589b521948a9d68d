//! OTLP/HTTP exporter (binary protobuf), as the OTLP specification and New Relic's OTLP
//! endpoint document it.
//!
//! Per batch: optional cumulative→delta conversion, attribute limits, splitting to the request
//! size limit, compression, then `POST {endpoint}/v1/{signal}`. A 2xx is success. 429, 502, 503, 504 and
//! network errors are retried with full-jitter backoff (honouring `Retry-After`) until the
//! retry budget (`retry.max_elapsed`) is spent; other 4xx are permanent and the batch is dropped
//! and counted. Self-metrics: received/sent/dropped items, errors, delivery latency; health
//! goes failing on the first failed attempt and unhealthy after `health_threshold`.

use crate::compress::compress;
use crate::limits::{self, AttributeLimits};
use crate::retry::Backoff;
use crate::split::split;
use lookout_config::{Limits, OtlpHttpConfig, Temporality};
use lookout_model::temporality::DeltaConverter;
use lookout_model::{Batch, Signal};
use lookout_pipeline::{BoxFuture, Sink, SinkContext};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// The exporter.
pub struct OtlpHttpSink {
    cfg: OtlpHttpConfig,
    client: reqwest::Client,
    limits: Option<AttributeLimits>,
    delta: Option<DeltaConverter>,
}

/// The URL for a signal: the endpoint's path with `/v1/<signal>` appended, unless the endpoint
/// already names a signal path.
pub fn signal_url(endpoint: &Url, signal: Signal) -> String {
    let s = endpoint.as_str();
    let suffix = format!("/v1/{}", signal.as_str());
    if ["/v1/metrics", "/v1/logs", "/v1/traces"]
        .iter()
        .any(|p| endpoint.path().ends_with(p))
    {
        return s.to_string();
    }
    format!("{}{}", s.trim_end_matches('/'), suffix)
}

/// Whether a host is one of New Relic's OTLP endpoints.
pub fn is_new_relic(endpoint: &Url) -> bool {
    endpoint
        .host_str()
        .is_some_and(|h| h.ends_with("nr-data.net"))
}

use reqwest::Url;

enum Outcome {
    Delivered,
    Retry(String, Option<Duration>),
    Permanent(String),
}

impl OtlpHttpSink {
    /// Builds the exporter (the HTTP client is created here so a bad TLS setup fails the build).
    pub fn new(cfg: OtlpHttpConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0.min(Duration::from_secs(10)))
            .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        let limits = match cfg.limits {
            Limits::NewRelic => Some(AttributeLimits::NEW_RELIC),
            Limits::Auto if is_new_relic(&cfg.endpoint.0) => Some(AttributeLimits::NEW_RELIC),
            _ => None,
        };
        let delta = (cfg.temporality == Temporality::Delta)
            .then(|| DeltaConverter::new(Duration::from_secs(3600).as_nanos() as u64));
        Ok(OtlpHttpSink {
            cfg,
            client,
            limits,
            delta,
        })
    }

    async fn attempt(&self, signal: Signal, body: &[u8], encoding: Option<&str>) -> Outcome {
        let mut req = self
            .client
            .post(signal_url(&self.cfg.endpoint.0, signal))
            .header("content-type", "application/x-protobuf");
        if let Some(e) = encoding {
            req = req.header("content-encoding", e);
        }
        for (k, v) in &self.cfg.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match req.body(body.to_vec()).send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    format!("cannot connect: {}", root_cause(&e))
                } else {
                    format!("request failed: {}", root_cause(&e))
                };
                return Outcome::Retry(what, None);
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status.is_success() {
            return Outcome::Delivered;
        }
        let text = resp.text().await.unwrap_or_default();
        let detail = summarize(&text);
        let msg = format!("HTTP {}{detail}", status.as_u16());
        match status.as_u16() {
            408 | 429 | 502 | 503 | 504 => Outcome::Retry(msg, retry_after),
            401 | 403 => Outcome::Retry(
                format!("{msg} (check the api-key or other auth header)"),
                retry_after,
            ),
            400..=499 => Outcome::Permanent(msg),
            _ => Outcome::Retry(msg, retry_after),
        }
    }

    /// Delivers one (already limited and split) request, retrying as configured. Returns true
    /// if delivered.
    async fn deliver(&self, cx: &mut SinkContext, part: &Batch) -> bool {
        let items = part.item_count() as u64;
        let body = part.encode_protobuf();
        let (body, encoding) = match compress(self.cfg.compression, &body) {
            Ok(x) => x,
            Err(e) => {
                cx.stats.record_error(&format!("compression failed: {e}"));
                (body, None)
            }
        };
        let started = Instant::now();
        let mut backoff = Backoff::new(
            self.cfg.retry.initial_backoff.0,
            self.cfg.retry.max_backoff.0,
        );
        loop {
            let t = Instant::now();
            match self.attempt(part.signal(), &body, encoding).await {
                Outcome::Delivered => {
                    cx.stats.latency.observe(t.elapsed());
                    cx.stats.sent_items.fetch_add(items, Relaxed);
                    cx.stats.record_success();
                    return true;
                }
                Outcome::Permanent(msg) => {
                    cx.stats.dropped_items.fetch_add(items, Relaxed);
                    cx.stats.record_error(&msg);
                    tracing::error!(sink = %cx.stats.id, items, "batch rejected, dropped: {msg}");
                    return false;
                }
                Outcome::Retry(msg, after) => {
                    cx.stats.record_failure(&msg);
                    if started.elapsed() >= self.cfg.retry.max_elapsed.0 {
                        cx.stats.dropped_items.fetch_add(items, Relaxed);
                        tracing::error!(
                            sink = %cx.stats.id,
                            items,
                            "giving up on a batch after {} attempts over {:?}: {msg}",
                            backoff.attempts() + 1,
                            started.elapsed()
                        );
                        return false;
                    }
                    let wait = backoff.next(after);
                    tracing::debug!(sink = %cx.stats.id, "retrying in {wait:?}: {msg}");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cx.abort.wait() => {
                            cx.stats.dropped_items.fetch_add(items, Relaxed);
                            tracing::warn!(sink = %cx.stats.id, items, "shutdown grace period over: batch not delivered");
                            return false;
                        }
                    }
                }
            }
        }
    }

    async fn run_loop(mut self, mut cx: SinkContext) {
        while let Some(ev) = cx.recv().await {
            let mut batch = (*ev).clone();
            drop(ev);
            if let (Some(conv), Batch::Metrics(req)) = (&mut self.delta, &mut batch) {
                conv.convert(req);
            }
            if let Some(l) = &self.limits {
                limits::apply(&mut batch, l);
            }
            if batch.is_empty() {
                continue;
            }
            for part in split(batch, self.cfg.max_request_bytes) {
                if cx.abort.is_set() {
                    cx.stats
                        .dropped_items
                        .fetch_add(part.item_count() as u64, Relaxed);
                    continue;
                }
                self.deliver(&mut cx, &part).await;
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The first line of an error body, short, for a log line (OTLP servers answer with a
/// `google.rpc.Status` protobuf or JSON; either way a hint of it helps).
fn summarize(text: &str) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if line.trim().is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

impl Sink for OtlpHttpSink {
    fn run(self: Box<Self>, cx: SinkContext) -> BoxFuture {
        Box::pin(self.run_loop(cx))
    }

    fn health_threshold(&self) -> Duration {
        self.cfg.health_threshold.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            signal_url(&u, Signal::Metrics),
            "http://127.0.0.1:4318/v1/metrics"
        );
        let u = Url::parse("https://otlp.nr-data.net:4318/").unwrap();
        assert_eq!(
            signal_url(&u, Signal::Logs),
            "https://otlp.nr-data.net:4318/v1/logs"
        );
        assert!(is_new_relic(&u));
        let u = Url::parse("http://h/custom/v1/metrics").unwrap();
        assert_eq!(
            signal_url(&u, Signal::Metrics),
            "http://h/custom/v1/metrics"
        );
        let u = Url::parse("http://h/prefix").unwrap();
        assert_eq!(signal_url(&u, Signal::Traces), "http://h/prefix/v1/traces");
        assert!(!is_new_relic(&u));
    }

    #[test]
    fn summaries_are_short() {
        assert_eq!(summarize(""), "");
        assert_eq!(summarize("bad key\nmore"), ": bad key");
        assert_eq!(summarize(&"x".repeat(500)).len(), 202);
    }

    #[tokio::test]
    async fn dead_endpoint_gives_up_after_budget_and_counts_drops() {
        use lookout_config::{Duration as D, Endpoint, RetryConfig};
        use lookout_model::MetricsBuilder;
        // a port with nothing listening
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = OtlpHttpConfig {
            endpoint: Endpoint(Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()),
            headers: Default::default(),
            compression: lookout_config::Compression::Gzip,
            timeout: D::from_secs(1),
            temporality: Temporality::Cumulative,
            max_request_bytes: 1_000_000,
            limits: Limits::None,
            retry: RetryConfig {
                initial_backoff: D::from_millis(10),
                max_backoff: D::from_millis(20),
                max_elapsed: D::from_millis(150),
            },
            health_threshold: D::from_millis(50),
        };
        let batches: Vec<Batch> = (0..3)
            .map(|i| {
                let mut b = MetricsBuilder::new(vec![], "s", "1");
                b.gauge("g", "1", "").gauge_i64(1, i, &[("a", "b")]);
                Batch::Metrics(b.finish())
            })
            .collect();
        let sink = OtlpHttpSink::new(cfg).unwrap();
        let snap =
            lookout_pipeline::testkit::run_sink(Box::new(sink), batches, Duration::from_secs(10))
                .await;
        lookout_pipeline::testkit::assert_sink_metrics(3, &snap);
        assert_eq!(snap.dropped_items, 3);
        assert!(snap.errors >= 3, "{snap:?}");
        assert!(!snap.healthy);
        assert!(snap.last_error.unwrap().contains("connect"));
    }
}
