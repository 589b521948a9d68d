//! The OTLP receiver: OTLP/gRPC (default 127.0.0.1:4317) and OTLP/HTTP (default
//! 127.0.0.1:4318) for metrics, logs and traces, protobuf and JSON, gzip.
//!
//! Both listeners serve both transports: a request whose `content-type` is `application/grpc*`
//! is handled as gRPC (unary `Export` of the three collector services), anything else as
//! OTLP/HTTP (`POST /v1/{metrics,logs,traces}`). HTTP/1.1 and HTTP/2 (prior knowledge or ALPN
//! with TLS) are accepted on either port.
//!
//! Answers follow the OTLP specification:
//! - accepted: 200 with an `Export*ServiceResponse` (gRPC status OK), carrying
//!   `partial_success` when items were rejected (spans with a trace id that is not 16 bytes or
//!   a span id that is not 8 bytes, metrics without a name);
//! - undecodable payload: HTTP 400 with a `google.rpc.Status` body / gRPC `INVALID_ARGUMENT`
//!   (not retryable);
//! - too large (compressed or decompressed beyond `max_request_bytes`): HTTP 413 / gRPC
//!   `RESOURCE_EXHAUSTED` without retry info (not retryable);
//! - wrong content type or encoding: HTTP 415 / gRPC `UNIMPLEMENTED`;
//! - back-pressure (a buffer downstream stayed full for `backpressure_wait`): HTTP 503 with
//!   `Retry-After` / gRPC `UNAVAILABLE`, which SDK exporters retry with backoff. Nothing of the
//!   request was forwarded, so the retry cannot duplicate data.
//!
//! Listeners are bound when the component is built; across a configuration reload the new
//! receiver takes over the old one's socket (see [`crate::listen`]), so connections waiting in
//! the accept queue are served by the new one. On shutdown the accept loops stop, connections
//! accepted in the last moment get 200 ms for their first request, then connections are closed
//! gracefully (in-flight requests finish, for at most 5 s), and the output is dropped so the
//! sinks can drain.

use crate::listen::bind_tcp;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use lookout_config::OtlpReceiverConfig;
use lookout_model::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use lookout_model::{Batch, Signal};
use lookout_pipeline::{BoxFuture, ComponentStats, Output, Source, SourceContext};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long open connections get to finish their requests when the receiver stops.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to send a request's headers (HTTP/1) before the connection is
/// closed (a slow client must not hold a connection slot forever).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection builder: HTTP/1.1 and HTTP/2 (prior knowledge or ALPN), with a header read
/// timeout.
fn conn_builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    b.http2().timer(hyper_util::rt::TokioTimer::new());
    b
}

/// The OTLP receiver source.
pub struct OtlpSource {
    cfg: OtlpReceiverConfig,
    listeners: Vec<(&'static str, std::net::TcpListener)>,
    tls: Option<TlsAcceptor>,
}

impl OtlpSource {
    /// Binds the configured listeners (so a busy port fails the build, with the address in
    /// the message) and loads TLS material.
    pub fn new(cfg: &OtlpReceiverConfig) -> Result<Self, String> {
        let tls = match &cfg.tls {
            Some(t) => Some(crate::tls::acceptor(t, &[b"h2", b"http/1.1"])?),
            None => None,
        };
        let mut listeners = Vec::new();
        for (name, addr) in [("grpc", cfg.grpc), ("http", cfg.http)] {
            if let Some(addr) = addr {
                crate::listen::warn_if_public(name, addr, tls.is_some());
                listeners.push((name, bind_tcp(addr).map_err(|e| format!("{name}: {e}"))?));
            }
        }
        Ok(OtlpSource {
            cfg: cfg.clone(),
            listeners,
            tls,
        })
    }

    /// The bound addresses (useful when a port 0 was configured).
    pub fn local_addrs(&self) -> Vec<(&'static str, std::net::SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|(n, l)| l.local_addr().ok().map(|a| (*n, a)))
            .collect()
    }
}

/// Everything a request handler needs.
pub struct Ingest {
    out: Output,
    stats: Arc<ComponentStats>,
    max_bytes: usize,
    wait: Duration,
}

impl Ingest {
    /// A handler state for tests and benchmarks.
    pub fn new(out: Output, stats: Arc<ComponentStats>, max_bytes: usize, wait: Duration) -> Self {
        Ingest {
            out,
            stats,
            max_bytes,
            wait,
        }
    }

    fn count(&self, result: &str) {
        self.stats.add_labeled(
            "lookout_otlp_requests_total",
            "OTLP export requests by result.",
            "result",
            result,
            1,
        );
    }
}

impl Source for OtlpSource {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let SourceContext {
                out,
                shutdown,
                stats,
            } = cx;
            let ingest = Arc::new(Ingest {
                out,
                stats: stats.clone(),
                max_bytes: self.cfg.max_request_bytes,
                wait: self.cfg.backpressure_wait.0,
            });
            let mut loops = JoinSet::new();
            for (name, l) in self.listeners {
                let listener = match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => l,
                    Err(e) => {
                        stats.record_error(&format!("otlp {name} listener: {e}"));
                        continue;
                    }
                };
                loops.spawn(serve(
                    listener,
                    self.tls.clone(),
                    ingest.clone(),
                    shutdown.clone(),
                    self.cfg.max_connections.max(1),
                ));
            }
            drop(ingest);
            while loops.join_next().await.is_some() {}
        })
    }
}

/// How long a stopping receiver waits for the first request of connections it just accepted.
const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(200);

/// Accepts connections until shutdown, then closes them gracefully.
async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    ingest: Arc<Ingest>,
    mut shutdown: lookout_pipeline::Shutdown,
    max_connections: usize,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = conn_builder();
    let mut conns = JoinSet::new();
    loop {
        // at the connection limit, new connections wait in the kernel's accept queue
        let accepted = tokio::select! {
            _ = shutdown.wait() => break,
            a = listener.accept(), if conns.len() < max_connections => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // e.g. EMFILE: back off briefly rather than spin
                tracing::warn!(error = %e, "otlp: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ingest = ingest.clone();
        let svc = hyper::service::service_fn(move |req| {
            let ingest = ingest.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&ingest, req).await) }
        });
        match &tls {
            None => {
                let conn = builder
                    .serve_connection(TokioIo::new(stream), svc)
                    .into_owned();
                let conn = graceful.watch(conn);
                conns.spawn(async move {
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                let builder = builder.clone();
                conns.spawn(async move {
                    let stream = match tokio::time::timeout(
                        Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        _ => return,
                    };
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), svc)
                        .into_owned();
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    drop(listener);
    // a connection accepted just before the stop may not have sent its request yet: hyper's
    // graceful shutdown closes such an idle connection at once and the client gets no answer.
    // Give just-accepted connections a moment for their first request to arrive (new
    // connections already go to the listener's next owner).
    tokio::time::sleep(FIRST_REQUEST_GRACE).await;
    let _ = tokio::time::timeout(CLOSE_GRACE, graceful.shutdown()).await;
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// A response body: at most one data frame, then optional trailers (gRPC status).
#[derive(Debug, Default)]
pub struct RespBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl RespBody {
    fn bytes(b: impl Into<Bytes>) -> Self {
        RespBody {
            data: Some(b.into()),
            trailers: None,
        }
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if let Some(t) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(t))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, &self.trailers) {
            (Some(d), None) => SizeHint::with_exact(d.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC status codes used here.
mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const UNAVAILABLE: i32 = 14;
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Reject {
    /// Not decodable (bad protobuf or JSON, bad gzip, bad gRPC framing).
    BadRequest(String),
    /// Beyond `max_request_bytes`.
    TooLarge(String),
    /// Unsupported content type or encoding.
    Unsupported(String),
    /// Downstream buffers full: retry later.
    Busy,
}

impl Reject {
    fn result(&self) -> &'static str {
        match self {
            Reject::BadRequest(_) => "bad_request",
            Reject::TooLarge(_) => "too_large",
            Reject::Unsupported(_) => "unsupported",
            Reject::Busy => "busy",
        }
    }
    fn message(&self) -> String {
        match self {
            Reject::BadRequest(m) | Reject::TooLarge(m) | Reject::Unsupported(m) => m.clone(),
            Reject::Busy => "the agent's buffers are full; retry later".into(),
        }
    }
}

/// Payload encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Binary protobuf.
    Protobuf,
    /// OTLP/JSON.
    Json,
}

async fn handle(ingest: &Ingest, req: Request<Incoming>) -> Response<RespBody> {
    let ct = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/grpc") {
        grpc(ingest, req, &ct).await
    } else {
        http(ingest, req, &ct).await
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Reads the whole body, refusing more than `max` bytes.
async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, Reject> {
    match Limited::new(req.into_body(), max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Reject::TooLarge(format!(
            "request body larger than max_request_bytes ({max})"
        ))),
        Err(e) => Err(Reject::BadRequest(format!("reading the request body: {e}"))),
    }
}

/// Decompresses gzip, refusing output beyond `max` bytes.
pub fn gunzip(data: &[u8], max: usize) -> Result<Vec<u8>, Reject> {
    let mut out = Vec::with_capacity((data.len() * 4).min(max));
    let mut dec = flate2::read::MultiGzDecoder::new(data).take(max as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| Reject::BadRequest(format!("invalid gzip body: {e}")))?;
    if out.len() > max {
        return Err(Reject::TooLarge(format!(
            "decompressed body larger than max_request_bytes ({max})"
        )));
    }
    Ok(out)
}

/// Decodes an export request of `signal`.
pub fn decode(signal: Signal, enc: Encoding, body: &[u8]) -> Result<Batch, Reject> {
    let bad =
        |e: String| Reject::BadRequest(format!("invalid OTLP {} payload: {e}", signal.as_str()));
    match enc {
        Encoding::Protobuf => Batch::decode_protobuf(signal, body).map_err(|e| bad(e.to_string())),
        Encoding::Json => match signal {
            Signal::Metrics => {
                serde_json::from_slice::<ExportMetricsServiceRequest>(body).map(Batch::Metrics)
            }
            Signal::Logs => {
                serde_json::from_slice::<ExportLogsServiceRequest>(body).map(Batch::Logs)
            }
            Signal::Traces => {
                serde_json::from_slice::<ExportTraceServiceRequest>(body).map(Batch::Traces)
            }
        }
        .map_err(|e| bad(e.to_string())),
    }
}

/// Removes items the specification says a receiver must not accept; returns how many were
/// removed and why (for `partial_success`).
pub fn validate(batch: &mut Batch) -> Option<(i64, String)> {
    match batch {
        Batch::Traces(r) => {
            let mut rejected = 0i64;
            for rs in &mut r.resource_spans {
                for ss in &mut rs.scope_spans {
                    let before = ss.spans.len();
                    ss.spans.retain(|s| {
                        s.trace_id.len() == 16
                            && s.span_id.len() == 8
                            && (s.parent_span_id.is_empty() || s.parent_span_id.len() == 8)
                    });
                    rejected += (before - ss.spans.len()) as i64;
                }
            }
            (rejected > 0).then(|| {
                (
                    rejected,
                    format!(
                        "{rejected} spans rejected: trace id must be 16 bytes, span ids 8 bytes"
                    ),
                )
            })
        }
        Batch::Metrics(r) => {
            let mut rejected = 0i64;
            for rm in &mut r.resource_metrics {
                for sm in &mut rm.scope_metrics {
                    sm.metrics.retain(|m| {
                        if m.name.is_empty() {
                            rejected += lookout_model::metric_points(m).max(1) as i64;
                            false
                        } else {
                            true
                        }
                    });
                }
            }
            (rejected > 0).then(|| {
                (
                    rejected,
                    format!("{rejected} data points rejected: metric name is empty"),
                )
            })
        }
        Batch::Logs(_) => None,
    }
}

/// Validates and forwards a decoded batch; returns the partial success to report.
async fn accept(ingest: &Ingest, mut batch: Batch) -> Result<Option<(i64, String)>, Reject> {
    let partial = validate(&mut batch);
    if let Some((n, _)) = &partial {
        ingest.stats.dropped_items.fetch_add(*n as u64, Relaxed);
    }
    let items = batch.item_count() as u64;
    if items > 0 {
        ingest
            .out
            .send_within(batch, ingest.wait)
            .await
            .map_err(|_| Reject::Busy)?;
        ingest.stats.received_items.fetch_add(items, Relaxed);
    }
    Ok(partial)
}

fn response_message(signal: Signal, partial: Option<(i64, String)>) -> Vec<u8> {
    match signal {
        Signal::Traces => ExportTraceServiceResponse {
            partial_success: partial.map(|(n, m)| ExportTracePartialSuccess {
                rejected_spans: n,
                error_message: m,
            }),
        }
        .encode_to_vec(),
        Signal::Metrics => ExportMetricsServiceResponse {
            partial_success: partial.map(|(n, m)| ExportMetricsPartialSuccess {
                rejected_data_points: n,
                error_message: m,
            }),
        }
        .encode_to_vec(),
        Signal::Logs => ExportLogsServiceResponse {
            partial_success: partial.map(|(n, m)| ExportLogsPartialSuccess {
                rejected_log_records: n,
                error_message: m,
            }),
        }
        .encode_to_vec(),
    }
}

fn response_json(signal: Signal, partial: Option<(i64, String)>) -> Vec<u8> {
    let v = match (signal, partial) {
        (_, None) => serde_json::json!({}),
        (Signal::Traces, Some((n, m))) => {
            serde_json::json!({"partialSuccess": {"rejectedSpans": n.to_string(), "errorMessage": m}})
        }
        (Signal::Metrics, Some((n, m))) => {
            serde_json::json!({"partialSuccess": {"rejectedDataPoints": n.to_string(), "errorMessage": m}})
        }
        (Signal::Logs, Some((n, m))) => {
            serde_json::json!({"partialSuccess": {"rejectedLogRecords": n.to_string(), "errorMessage": m}})
        }
    };
    v.to_string().into_bytes()
}

// ---------------------------------------------------------------- OTLP/HTTP

fn http_signal(path: &str) -> Option<Signal> {
    match path {
        "/v1/metrics" => Some(Signal::Metrics),
        "/v1/logs" => Some(Signal::Logs),
        "/v1/traces" => Some(Signal::Traces),
        _ => None,
    }
}

async fn http(ingest: &Ingest, req: Request<Incoming>, ct: &str) -> Response<RespBody> {
    let enc = if ct.starts_with("application/json") {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    let Some(signal) = http_signal(req.uri().path()) else {
        ingest.count("not_found");
        return http_error(
            StatusCode::NOT_FOUND,
            enc,
            "unknown path: OTLP/HTTP paths are /v1/metrics, /v1/logs and /v1/traces",
        );
    };
    if req.method() != Method::POST {
        ingest.count("method_not_allowed");
        let mut r = http_error(StatusCode::METHOD_NOT_ALLOWED, enc, "use POST");
        r.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    match http_inner(ingest, req, ct, enc, signal).await {
        Ok(partial) => {
            ingest.count(if partial.is_some() { "partial" } else { "ok" });
            let (body, ctype) = match enc {
                Encoding::Protobuf => (response_message(signal, partial), "application/x-protobuf"),
                Encoding::Json => (response_json(signal, partial), "application/json"),
            };
            let mut r = Response::new(RespBody::bytes(body));
            r.headers_mut()
                .insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            r
        }
        Err(rej) => {
            ingest.count(rej.result());
            if !matches!(rej, Reject::Busy) {
                ingest.stats.errors.fetch_add(1, Relaxed);
                tracing::debug!(reason = rej.result(), message = %rej.message(), "otlp/http request refused");
            }
            let status = match rej {
                Reject::BadRequest(_) => StatusCode::BAD_REQUEST,
                Reject::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                Reject::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Reject::Busy => StatusCode::SERVICE_UNAVAILABLE,
            };
            let mut r = http_error(status, enc, &rej.message());
            if matches!(rej, Reject::Busy) {
                r.headers_mut()
                    .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
    }
}

async fn http_inner(
    ingest: &Ingest,
    req: Request<Incoming>,
    ct: &str,
    enc: Encoding,
    signal: Signal,
) -> Result<Option<(i64, String)>, Reject> {
    let media = ct.split(';').next().unwrap_or("").trim();
    if !matches!(
        media,
        "application/x-protobuf" | "application/protobuf" | "application/json"
    ) {
        return Err(Reject::Unsupported(format!(
            "unsupported content type `{media}`: use application/x-protobuf or application/json"
        )));
    }
    let gzip = match header(&req, "content-encoding").map(|s| s.trim().to_ascii_lowercase()) {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => {
            return Err(Reject::Unsupported(format!(
                "unsupported content encoding `{e}`: use gzip or none"
            )))
        }
    };
    let max = ingest.max_bytes;
    if let Some(len) = header(&req, "content-length").and_then(|l| l.parse::<u64>().ok()) {
        if len > max as u64 {
            return Err(Reject::TooLarge(format!(
                "request body of {len} bytes is larger than max_request_bytes ({max})"
            )));
        }
    }
    let raw = read_body(req, max).await?;
    let body = if gzip {
        Bytes::from(gunzip(&raw, max)?)
    } else {
        raw
    };
    let batch = decode(signal, enc, &body)?;
    accept(ingest, batch).await
}

fn http_error(status: StatusCode, enc: Encoding, message: &str) -> Response<RespBody> {
    let code = match status {
        StatusCode::BAD_REQUEST => code::INVALID_ARGUMENT,
        StatusCode::SERVICE_UNAVAILABLE => code::UNAVAILABLE,
        StatusCode::PAYLOAD_TOO_LARGE => code::RESOURCE_EXHAUSTED,
        _ => code::UNIMPLEMENTED,
    };
    let (body, ctype) = match enc {
        Encoding::Protobuf => (
            RpcStatus {
                code,
                message: message.to_string(),
            }
            .encode_to_vec(),
            "application/x-protobuf",
        ),
        Encoding::Json => (
            serde_json::json!({"code": code, "message": message})
                .to_string()
                .into_bytes(),
            "application/json",
        ),
    };
    let mut r = Response::new(RespBody::bytes(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

// ---------------------------------------------------------------- OTLP/gRPC

fn grpc_signal(path: &str) -> Option<Signal> {
    match path {
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" => Some(Signal::Metrics),
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export" => Some(Signal::Logs),
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export" => Some(Signal::Traces),
        _ => None,
    }
}

async fn grpc(ingest: &Ingest, req: Request<Incoming>, ct: &str) -> Response<RespBody> {
    let Some(signal) = grpc_signal(req.uri().path()) else {
        ingest.count("not_found");
        return grpc_status(
            code::UNIMPLEMENTED,
            &format!("unknown method {}", req.uri().path()),
        );
    };
    match grpc_inner(ingest, req, ct, signal).await {
        Ok(partial) => {
            ingest.count(if partial.is_some() { "partial" } else { "ok" });
            let msg = response_message(signal, partial);
            let mut framed = Vec::with_capacity(msg.len() + 5);
            framed.push(0);
            framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
            framed.extend_from_slice(&msg);
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static("0"));
            let mut r = Response::new(RespBody {
                data: Some(Bytes::from(framed)),
                trailers: Some(trailers),
            });
            grpc_headers(r.headers_mut());
            r
        }
        Err(rej) => {
            ingest.count(rej.result());
            if !matches!(rej, Reject::Busy) {
                ingest.stats.errors.fetch_add(1, Relaxed);
                tracing::debug!(reason = rej.result(), message = %rej.message(), "otlp/grpc request refused");
            }
            let c = match rej {
                Reject::BadRequest(_) => code::INVALID_ARGUMENT,
                Reject::TooLarge(_) => code::RESOURCE_EXHAUSTED,
                Reject::Unsupported(_) => code::UNIMPLEMENTED,
                Reject::Busy => code::UNAVAILABLE,
            };
            grpc_status(c, &rej.message())
        }
    }
}

async fn grpc_inner(
    ingest: &Ingest,
    req: Request<Incoming>,
    ct: &str,
    signal: Signal,
) -> Result<Option<(i64, String)>, Reject> {
    if !(ct == "application/grpc"
        || ct.starts_with("application/grpc+proto")
        || ct.starts_with("application/grpc;"))
    {
        return Err(Reject::Unsupported(format!(
            "unsupported gRPC content type `{ct}`: use application/grpc (protobuf)"
        )));
    }
    let gzip = match header(&req, "grpc-encoding").map(|s| s.trim().to_ascii_lowercase()) {
        None => false,
        Some(e) if e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => {
            return Err(Reject::Unsupported(format!(
                "unsupported grpc-encoding `{e}`: use gzip or identity"
            )))
        }
    };
    let max = ingest.max_bytes;
    let raw = read_body(req, max + 5).await?;
    let payload = grpc_unframe(&raw, max)?;
    let body = if payload.0 {
        if !gzip {
            return Err(Reject::BadRequest(
                "compressed message without a grpc-encoding header".into(),
            ));
        }
        Bytes::from(gunzip(payload.1, max)?)
    } else {
        // the message is the rest of the body after the 5-byte header (checked by unframe)
        raw.slice(5..)
    };
    let batch = decode(signal, Encoding::Protobuf, &body)?;
    accept(ingest, batch).await
}

/// Splits a unary gRPC request body into (compressed flag, message).
pub fn grpc_unframe(raw: &[u8], max: usize) -> Result<(bool, &[u8]), Reject> {
    if raw.len() < 5 {
        return Err(Reject::BadRequest(format!(
            "gRPC message truncated: {} bytes, the 5-byte frame header is incomplete",
            raw.len()
        )));
    }
    let compressed = match raw[0] {
        0 => false,
        1 => true,
        f => return Err(Reject::BadRequest(format!("invalid gRPC frame flag {f}"))),
    };
    let len = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]) as usize;
    if len > max {
        return Err(Reject::TooLarge(format!(
            "gRPC message of {len} bytes is larger than max_request_bytes ({max})"
        )));
    }
    let rest = &raw[5..];
    if rest.len() < len {
        return Err(Reject::BadRequest(format!(
            "gRPC message truncated: frame announces {len} bytes, {} received",
            rest.len()
        )));
    }
    if rest.len() > len {
        return Err(Reject::BadRequest(
            "more than one message in a unary gRPC request".into(),
        ));
    }
    Ok((compressed, rest))
}

fn grpc_headers(h: &mut HeaderMap) {
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert(
        HeaderName::from_static("grpc-accept-encoding"),
        HeaderValue::from_static("gzip,identity"),
    );
}

/// A trailers-only gRPC response carrying a status.
fn grpc_status(code: i32, message: &str) -> Response<RespBody> {
    let mut r = Response::new(RespBody::default());
    grpc_headers(r.headers_mut());
    let h = r.headers_mut();
    h.insert(
        HeaderName::from_static("grpc-status"),
        HeaderValue::from(code),
    );
    if let Ok(v) = HeaderValue::from_str(&percent_encode(message)) {
        h.insert(HeaderName::from_static("grpc-message"), v);
    }
    r
}

/// The decoding path of one request, for fuzzing: `data[0]` picks the signal, the encoding,
/// gzip and gRPC framing; the rest is the body. Every step may refuse the input; none may
/// panic, and an accepted batch must re-encode.
pub fn fuzz_decode(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let signal = match sel % 3 {
        0 => Signal::Metrics,
        1 => Signal::Logs,
        _ => Signal::Traces,
    };
    let enc = if sel & 0x04 != 0 {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    let mut payload: Vec<u8> = body.to_vec();
    if sel & 0x08 != 0 {
        match grpc_unframe(body, 1 << 20) {
            Ok((_, m)) => payload = m.to_vec(),
            Err(_) => return,
        }
    }
    if sel & 0x10 != 0 {
        match gunzip(&payload, 1 << 20) {
            Ok(p) => payload = p,
            Err(_) => return,
        }
    }
    if let Ok(mut b) = decode(signal, enc, &payload) {
        let _ = validate(&mut b);
        let _ = b.encode_protobuf();
        let _ = b.item_count();
    }
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII and `%`.
fn percent_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::otlp::{ResourceSpans, ScopeSpans, Span};

    fn span(trace: usize, id: usize) -> Span {
        Span {
            trace_id: vec![1; trace],
            span_id: vec![2; id],
            name: "s".into(),
            ..Default::default()
        }
    }

    #[test]
    fn unframe_checks_header_length_and_flag() {
        assert!(matches!(
            grpc_unframe(&[0, 0], 10),
            Err(Reject::BadRequest(_))
        ));
        assert_eq!(
            grpc_unframe(&[0, 0, 0, 0, 2, 7, 8], 10).unwrap(),
            (false, &[7u8, 8][..])
        );
        assert!(matches!(
            grpc_unframe(&[0, 0, 0, 0, 3, 7, 8], 10),
            Err(Reject::BadRequest(m)) if m.contains("truncated")
        ));
        assert!(matches!(
            grpc_unframe(&[0, 0, 0, 1, 0], 10),
            Err(Reject::TooLarge(_))
        ));
        assert!(matches!(
            grpc_unframe(&[9, 0, 0, 0, 0], 10),
            Err(Reject::BadRequest(_))
        ));
        assert!(matches!(
            grpc_unframe(&[0, 0, 0, 0, 1, 7, 8], 10),
            Err(Reject::BadRequest(m)) if m.contains("more than one")
        ));
        assert_eq!(grpc_unframe(&[1, 0, 0, 0, 0], 10).unwrap(), (true, &[][..]));
    }

    #[test]
    fn gunzip_limits_output() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&[0u8; 10_000]).unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(gunzip(&gz, 10_000).unwrap().len(), 10_000);
        assert!(matches!(gunzip(&gz, 9_999), Err(Reject::TooLarge(_))));
        assert!(matches!(
            gunzip(b"not gzip", 100),
            Err(Reject::BadRequest(_))
        ));
    }

    #[test]
    fn validate_rejects_bad_ids_and_keeps_the_rest() {
        let mut b = Batch::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(16, 8), span(15, 8), span(16, 0), span(16, 8)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let (n, msg) = validate(&mut b).unwrap();
        assert_eq!(n, 2);
        assert!(msg.contains("16 bytes"), "{msg}");
        assert_eq!(b.item_count(), 2);
        assert_eq!(validate(&mut b), None);
    }

    #[test]
    fn decode_reports_bad_payloads() {
        assert!(matches!(
            decode(Signal::Traces, Encoding::Protobuf, &[0xff, 0xff, 0xff]),
            Err(Reject::BadRequest(_))
        ));
        assert!(matches!(
            decode(Signal::Logs, Encoding::Json, b"{\"resourceLogs\": 5}"),
            Err(Reject::BadRequest(_))
        ));
        let ok = decode(
            Signal::Traces,
            Encoding::Json,
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"}]}]}]}"#,
        )
        .unwrap();
        let Batch::Traces(t) = ok else { panic!() };
        let s = &t.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(s.trace_id.len(), 16);
        assert_eq!(s.start_time_unix_nano, 1544712660000000000);
        assert_eq!(s.kind, 2);
    }

    #[test]
    fn fuzz_body_survives_random_and_mutated_inputs() {
        let good = Batch::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(16, 8)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .encode_protobuf();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..3000 {
            let mut input = vec![(i % 32) as u8];
            if i % 2 == 0 {
                input.extend_from_slice(&good);
                let n = input.len();
                for _ in 0..(next() % 4) {
                    let at = 1 + (next() as usize % (n - 1));
                    input[at] = next() as u8;
                }
                input.truncate(1 + next() as usize % n);
            } else {
                let len = next() as usize % 200;
                input.extend((0..len).map(|_| next() as u8));
            }
            fuzz_decode(&input);
        }
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("a b%\nc"), "a b%25%0Ac");
        let r = grpc_status(code::UNAVAILABLE, "full");
        assert_eq!(r.headers()["grpc-status"], "14");
        assert_eq!(r.headers()["content-type"], "application/grpc");
    }
}
