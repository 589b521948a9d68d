//! OTLP/HTTP exporter (binary protobuf), as the OTLP specification and New Relic's OTLP
//! endpoint document it.
//!
//! Batches arriving within `batch.timeout` are merged (up to `batch.max_events`), then go
//! through small layers: cumulative→delta conversion, attribute [`limits`], [`split`] to the
//! request size limit (5 MB by default, 1 MB for New Relic), [`compress`], and `POST
//! {endpoint}/v1/{signal}`. A 2xx is delivered. 408, 429, 5xx and network errors are retried
//! with full-jitter backoff, honouring `Retry-After` (seconds or HTTP date), behind a
//! [`Circuit`] breaker; other 4xx are permanent. A batch the backend refuses, one too large for
//! any request, or one whose retry budget is spent goes to the [`DeadLetters`] directory with
//! the reason, never silently away. With a disk buffer, retries go on until the agent stops
//! (the batch stays queued, unacknowledged); with a memory buffer, until `retry.max_elapsed`.
//! Self-metrics: received/sent/retried/dead-lettered/dropped items, sent bytes, errors,
//! delivery latency, circuit state; health goes failing on the first failed attempt and
//! unhealthy after `health_threshold`.

use crate::circuit::Circuit;
use crate::compress::compress;
use crate::dead_letter::DeadLetters;
use crate::limits::{self, AttributeLimits};
use crate::retry::Backoff;
use crate::split::split;
use lookout_config::{Limits, OtlpHttpConfig, Temporality};
use lookout_model::temporality::DeltaConverter;
use lookout_model::{Batch, Signal};
use lookout_pipeline::{BoxFuture, Sink, SinkContext};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The exporter.
pub struct OtlpHttpSink {
    cfg: OtlpHttpConfig,
    client: reqwest::Client,
    limits: Option<AttributeLimits>,
    delta: Option<DeltaConverter>,
    max_request: usize,
    dead: DeadLetters,
    endpoint_shown: String,
    circuit: Circuit,
}

/// The certificate authorities of `tls.ca_file` and every `.pem`/`.crt` file of `tls.ca_dir`,
/// trusted beside the system's roots.
pub fn extra_roots(
    tls: &lookout_config::ClientTlsConfig,
) -> Result<Vec<reqwest::Certificate>, String> {
    let mut files = Vec::new();
    if let Some(f) = &tls.ca_file {
        files.push(f.clone());
    }
    if let Some(d) = &tls.ca_dir {
        let rd = std::fs::read_dir(d)
            .map_err(|e| format!("cannot read tls.ca_dir {}: {e}", d.display()))?;
        let mut found: Vec<_> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        found.sort();
        files.extend(found);
    }
    let mut out = Vec::new();
    for f in files {
        let pem =
            std::fs::read(&f).map_err(|e| format!("cannot read CA file {}: {e}", f.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{} holds no PEM certificate: {e}", f.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", f.display()));
        }
        out.extend(certs);
    }
    Ok(out)
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

/// The endpoint without credentials, for logs and dead-letter metadata.
pub fn shown(endpoint: &Url) -> String {
    let mut u = endpoint.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

use reqwest::Url;

/// The answer to one request.
#[derive(Debug)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// Worth retrying (network error, 408, 429, 5xx), with the server's `Retry-After`.
    Retry(String, Option<Duration>),
    /// Will fail again (other 4xx): status and the start of the body.
    Permanent(String, u16, String),
}

/// What happened to one request's worth of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Delivered,
    DeadLettered,
    /// The agent is stopping and the buffer is durable: leave it queued (no ack).
    Stopped,
}

/// Parses `Retry-After` (seconds, or an HTTP date).
fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let when = httpdate_parse(v)?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires senders to use.
fn httpdate_parse(v: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4].split(':').filter_map(|x| x.parse().ok()).collect();
    if hms.len() != 3 {
        return None;
    }
    // days from civil (Howard Hinnant)
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    Some(std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

impl OtlpHttpSink {
    /// Builds the exporter (the HTTP client is created here so a bad TLS setup fails the
    /// build); `data_dir` and `sink_id` locate its dead-letter directory.
    pub fn new(
        cfg: OtlpHttpConfig,
        data_dir: &std::path::Path,
        sink_id: &str,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0.min(Duration::from_secs(10)))
            .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .min_tls_version(reqwest::tls::Version::TLS_1_2);
        match &cfg.proxy {
            Some(p) => {
                let proxy =
                    reqwest::Proxy::all(p.0.as_str()).map_err(|e| format!("invalid proxy: {e}"))?;
                builder = builder.proxy(proxy);
            }
            None if !cfg.env_proxy => builder = builder.no_proxy(),
            None => {}
        }
        match crate::tls::client_config(&cfg.tls)? {
            // a client certificate or pins: our own rustls configuration (roots included)
            Some(tls) => builder = builder.use_preconfigured_tls(tls),
            None => {
                for cert in extra_roots(&cfg.tls)? {
                    builder = builder.add_root_certificate(cert);
                }
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        let nr = is_new_relic(&cfg.endpoint.0);
        let limits = match cfg.limits {
            Limits::NewRelic => Some(AttributeLimits::NEW_RELIC),
            Limits::Auto if nr => Some(AttributeLimits::NEW_RELIC),
            _ => None,
        };
        let delta = (cfg.temporality == Temporality::Delta)
            .then(|| DeltaConverter::new(Duration::from_secs(3600).as_nanos() as u64));
        let max_request = cfg
            .max_request_bytes
            .unwrap_or(if nr { 1_000_000 } else { 5_000_000 });
        Ok(OtlpHttpSink {
            endpoint_shown: shown(&cfg.endpoint.0),
            circuit: Circuit::new(cfg.circuit.failures, cfg.circuit.open_for.0),
            dead: DeadLetters::new(data_dir, sink_id),
            max_request,
            cfg,
            client,
            limits,
            delta,
        })
    }

    /// Sends one request.
    pub async fn attempt(&self, signal: Signal, body: &[u8], encoding: Option<&str>) -> Outcome {
        send(
            &self.client,
            &signal_url(&self.cfg.endpoint.0, signal),
            &self.cfg.headers,
            body,
            encoding,
        )
        .await
    }

    fn dead_letter(
        &self,
        cx: &SinkContext,
        part: &Batch,
        reason: &str,
        status: Option<u16>,
        response: Option<&str>,
    ) -> Delivery {
        let items = part.item_count() as u64;
        match self
            .dead
            .put(part, reason, status, response, Some(&self.endpoint_shown))
        {
            Ok(e) => {
                cx.stats.dead_lettered_items.fetch_add(items, Relaxed);
                tracing::error!(sink = %cx.stats.id, items, entry = %e.id, "batch dead-lettered: {reason} (see `lookout dlq list`)");
            }
            Err(err) => {
                cx.stats.dropped_items.fetch_add(items, Relaxed);
                tracing::error!(sink = %cx.stats.id, items, "batch lost: {reason}, and the dead-letter directory cannot be written: {err}");
            }
        }
        Delivery::DeadLettered
    }

    /// Delivers one (already limited and split) request, retrying as configured.
    async fn deliver(&mut self, cx: &mut SinkContext, part: &Batch) -> Delivery {
        let items = part.item_count() as u64;
        let durable = cx.durable();
        let raw = part.encode_protobuf();
        if raw.len() > self.max_request {
            let why = format!(
                "a single item is larger than the request limit ({} > {} bytes) and cannot be split further",
                raw.len(),
                self.max_request
            );
            return self.dead_letter(cx, part, &why, None, None);
        }
        let (body, encoding) = match compress(self.cfg.compression, &raw) {
            Ok(x) => x,
            Err(e) => {
                cx.stats.record_error(&format!("compression failed: {e}"));
                (raw, None)
            }
        };
        let started = Instant::now();
        let mut attempts: u32 = 0;
        let mut backoff = Backoff::new(
            self.cfg.retry.initial_backoff.0,
            self.cfg.retry.max_backoff.0,
        );
        loop {
            let wait = self.circuit.wait(Instant::now());
            cx.stats.set_gauge(
                "lookout_sink_circuit_state",
                "Circuit breaker of a sink: 0 closed, 1 half-open, 2 open.",
                self.circuit.state(Instant::now()).gauge(),
            );
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cx.abort.wait() => {
                        return if durable { Delivery::Stopped } else { self.dead_letter(cx, part, "shutdown grace period over before delivery", None, None) };
                    }
                    _ = cx.stop.wait(), if durable => return Delivery::Stopped,
                }
            }
            attempts += 1;
            let t = Instant::now();
            match self.attempt(part.signal(), &body, encoding).await {
                Outcome::Delivered => {
                    self.circuit.success();
                    cx.stats.set_gauge(
                        "lookout_sink_circuit_state",
                        "Circuit breaker of a sink: 0 closed, 1 half-open, 2 open.",
                        0.0,
                    );
                    cx.stats.latency.observe(t.elapsed());
                    cx.stats.sent_items.fetch_add(items, Relaxed);
                    cx.stats.sent_bytes.fetch_add(body.len() as u64, Relaxed);
                    cx.stats.record_success();
                    return Delivery::Delivered;
                }
                Outcome::Permanent(msg, status, response) => {
                    // the backend answered: it is up, the data is what it refuses
                    self.circuit.success();
                    cx.stats.record_error(&msg);
                    return self.dead_letter(cx, part, &msg, Some(status), Some(&response));
                }
                Outcome::Retry(msg, after) => {
                    cx.stats.record_failure(&msg);
                    if self.circuit.failure(Instant::now()) {
                        tracing::warn!(sink = %cx.stats.id, "circuit open: no request to {} for {:?} after repeated failures", self.endpoint_shown, self.cfg.circuit.open_for.0);
                    }
                    let budget_spent = (self.cfg.retry.max_attempts > 0
                        && attempts >= self.cfg.retry.max_attempts)
                        || (!durable && started.elapsed() >= self.cfg.retry.max_elapsed.0);
                    if budget_spent {
                        let why = format!(
                            "retries exhausted after {attempts} attempt(s) over {:?}: {msg}",
                            started.elapsed()
                        );
                        return self.dead_letter(cx, part, &why, None, None);
                    }
                    cx.stats.retried_items.fetch_add(items, Relaxed);
                    let wait = backoff.next(after);
                    tracing::debug!(sink = %cx.stats.id, "retrying in {wait:?}: {msg}");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cx.abort.wait() => {
                            return if durable { Delivery::Stopped } else { self.dead_letter(cx, part, &format!("shutdown grace period over before delivery: {msg}"), None, None) };
                        }
                        _ = cx.stop.wait(), if durable => return Delivery::Stopped,
                    }
                }
            }
        }
    }

    /// Receives the next request's worth of batches: waits for one, then merges whatever else
    /// arrives within `batch.timeout`, up to `batch.max_events`. Returns the merged batches (one
    /// per signal) and whether the input is finished.
    async fn next_batch(&self, cx: &mut SinkContext) -> (Vec<Batch>, bool) {
        let Some(first) = cx.recv().await else {
            return (Vec::new(), true);
        };
        let mut out: Vec<Batch> = vec![Arc::unwrap_or_clone(first)];
        let mut items: usize = out[0].item_count();
        let deadline = tokio::time::Instant::now() + self.cfg.batch.timeout.0;
        while items < self.cfg.batch.max_events {
            let ev = tokio::select! {
                ev = cx.recv() => ev,
                _ = tokio::time::sleep_until(deadline) => break,
            };
            let Some(ev) = ev else { return (out, true) };
            let b = Arc::unwrap_or_clone(ev);
            items += b.item_count();
            let mut pending = Some(b);
            for existing in out.iter_mut() {
                if let Some(b) = pending.take() {
                    if let Err(back) = existing.merge(b) {
                        pending = Some(back);
                    }
                }
            }
            if let Some(b) = pending {
                out.push(b);
            }
        }
        (out, false)
    }

    async fn run_loop(mut self, mut cx: SinkContext) {
        loop {
            let (batches, finished) = self.next_batch(&mut cx).await;
            let mut stopped = false;
            for mut batch in batches {
                if let (Some(conv), Batch::Metrics(req)) = (&mut self.delta, &mut batch) {
                    conv.convert(req);
                }
                if let Some(l) = &self.limits {
                    limits::apply(&mut batch, l);
                }
                if batch.is_empty() {
                    continue;
                }
                for part in split(batch, self.max_request) {
                    if stopped {
                        break;
                    }
                    if self.deliver(&mut cx, &part).await == Delivery::Stopped {
                        stopped = true;
                    }
                }
            }
            if stopped {
                // durable buffer and the agent is stopping: what was not delivered stays queued
                return;
            }
            cx.ack().await;
            if finished {
                return;
            }
        }
    }
}

/// Sends one OTLP/HTTP request and classifies the answer as the OTLP specification does:
/// 2xx delivered; 408, 429, 5xx and network errors retryable (with `Retry-After`); other 4xx
/// permanent.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    body: &[u8],
    encoding: Option<&str>,
) -> Outcome {
    let mut req = client
        .post(url)
        .header("content-type", "application/x-protobuf");
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    for (k, v) in headers {
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
    let after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    if status.is_success() {
        return Outcome::Delivered;
    }
    let text = resp.text().await.unwrap_or_default();
    let detail = summarize(&text);
    let code = status.as_u16();
    let msg = format!("HTTP {code}{detail}");
    match code {
        408 | 429 => Outcome::Retry(msg, after),
        400..=499 => {
            let hint = if code == 401 || code == 403 {
                " (check the api-key or other auth header)"
            } else {
                ""
            };
            Outcome::Permanent(
                format!("{msg}{hint}"),
                code,
                text.chars().take(2000).collect(),
            )
        }
        _ => Outcome::Retry(msg, after),
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

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        let t = httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            784_111_777
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[tokio::test]
    async fn dead_endpoint_dead_letters_after_budget() {
        use lookout_config::{BatchConfig, CircuitConfig, Duration as D, Endpoint, RetryConfig};
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
            max_request_bytes: None,
            batch: BatchConfig {
                max_events: 1,
                timeout: D::from_millis(1),
            },
            circuit: CircuitConfig {
                failures: 2,
                open_for: D::from_millis(30),
            },
            limits: Limits::None,
            retry: RetryConfig {
                initial_backoff: D::from_millis(10),
                max_backoff: D::from_millis(20),
                max_elapsed: D::from_millis(150),
                max_attempts: 0,
            },
            health_threshold: D::from_millis(50),
            proxy: None,
            env_proxy: true,
            tls: Default::default(),
        };
        let batches: Vec<Batch> = (0..3)
            .map(|i| {
                let mut b = MetricsBuilder::new(vec![], "s", "1");
                b.gauge("g", "1", "").gauge_i64(1, i, &[("a", "b")]);
                Batch::Metrics(b.finish())
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let sink = OtlpHttpSink::new(cfg, dir.path(), "otlp").unwrap();
        let snap =
            lookout_pipeline::testkit::run_sink(Box::new(sink), batches, Duration::from_secs(10))
                .await;
        lookout_pipeline::testkit::assert_sink_metrics(3, &snap);
        assert_eq!(snap.dead_lettered_items, 3);
        assert!(snap.errors >= 3, "{snap:?}");
        assert!(!snap.healthy);
        assert!(snap.last_error.unwrap().contains("connect"));
        let entries = crate::dead_letter::list(dir.path());
        assert_eq!(entries.len(), 3);
        assert!(
            entries[0].reason.starts_with("retries exhausted"),
            "{:?}",
            entries[0]
        );
    }
}
