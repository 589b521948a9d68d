//! OTLP trace load for bench/otlp.sh: CONNECTIONS workers, each with its own connection,
//! send export requests of SPANS spans (ATTRS attributes each, shaped like HTTP server spans)
//! back to back for SECONDS seconds, over gRPC (h2c, prior knowledge) or OTLP/HTTP protobuf
//! (HTTP/1.1 keep-alive). The bodies (64 requests with distinct trace and span ids) are
//! encoded before the clock starts, so the generator spends its time on the transport only.
//!
//!   otlp_load grpc|http BASE_URL CONNECTIONS SECONDS [SPANS=100] [ATTRS=10] [THREADS=1]
//!
//! e.g. `otlp_load grpc http://127.0.0.1:4317 8 10`. Prints one line:
//! `requests=N spans_accepted=N spans_per_s=R busy=N errors=N seconds=S p50_ms=X p99_ms=X`,
//! where busy counts retryable refusals (HTTP 503 / gRPC UNAVAILABLE) and errors everything
//! else that was not accepted (first error on stderr).

use bytes::Bytes;
use lookout_model::otlp::{
    ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans,
    Span,
};
use lookout_model::{attr, Batch};
use opentelemetry_proto::tonic::trace::v1::Status;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BODIES: usize = 64;

/// splitmix64: distinct ids without a random-number dependency.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn span_attrs(n: usize, i: u64) -> Vec<KeyValue> {
    let all = [
        attr::str(
            "http.request.method",
            if i.is_multiple_of(5) { "POST" } else { "GET" },
        ),
        attr::str("http.route", "/api/v1/items/{id}"),
        attr::str("url.path", format!("/api/v1/items/{}", i % 10_000)),
        attr::int(
            "http.response.status_code",
            if i.is_multiple_of(50) { 500 } else { 200 },
        ),
        attr::str("server.address", "api.internal.example"),
        attr::int("server.port", 8080),
        attr::str(
            "client.address",
            format!("10.0.{}.{}", i % 256, (i / 256) % 256),
        ),
        attr::str("network.protocol.version", "1.1"),
        attr::str(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
        ),
        attr::int("http.response.body.size", (i % 4096) as i64 + 128),
    ];
    let mut v: Vec<KeyValue> = all.into_iter().cycle().take(n).collect();
    // past the ten distinct ones, number the keys so that they stay distinct
    for (k, kv) in v.iter_mut().enumerate().skip(10) {
        kv.key = format!("{}.{k}", kv.key);
    }
    v
}

fn request(seed: u64, spans: usize, attrs: usize) -> Vec<u8> {
    let mut st = seed;
    let now = lookout_model::now_nanos();
    let mut out = Vec::with_capacity(spans);
    let mut trace = [0u8; 16];
    let mut root = [0u8; 8];
    for i in 0..spans {
        // ten spans per trace: a server root and its children
        if i % 10 == 0 {
            trace[..8].copy_from_slice(&next(&mut st).to_be_bytes());
            trace[8..].copy_from_slice(&next(&mut st).to_be_bytes());
            root = next(&mut st).to_be_bytes();
        }
        let id = if i % 10 == 0 {
            root
        } else {
            next(&mut st).to_be_bytes()
        };
        let start = now - 50_000_000 + (i as u64) * 1_000;
        out.push(Span {
            trace_id: trace.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: if i % 10 == 0 {
                Vec::new()
            } else {
                root.to_vec()
            },
            name: if i % 10 == 0 {
                "GET /api/v1/items/{id}".into()
            } else {
                format!("SELECT items {}", i % 10)
            },
            kind: if i % 10 == 0 { 2 } else { 3 },
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_000_000 + (next(&mut st) % 20_000_000),
            attributes: span_attrs(attrs, next(&mut st)),
            status: Some(Status {
                message: String::new(),
                code: 1,
            }),
            ..Default::default()
        });
    }
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    attr::str("service.name", "bench-api"),
                    attr::str("service.version", "1.4.2"),
                    attr::str("host.name", "bench-host-1"),
                    attr::str("telemetry.sdk.language", "rust"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench.otlp_load".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                spans: out,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::Traces(req).encode_protobuf()
}

#[derive(Default)]
struct Totals {
    requests: AtomicU64,
    spans: AtomicU64,
    busy: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    latencies_us: Mutex<Vec<u32>>,
}

impl Totals {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Relaxed);
        let mut f = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(e);
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: otlp_load grpc|http BASE_URL CONNECTIONS SECONDS [SPANS=100] [ATTRS=10] [THREADS=1]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        usage();
    }
    let grpc = match args[0].as_str() {
        "grpc" => true,
        "http" => false,
        _ => usage(),
    };
    let base = args[1].trim_end_matches('/').to_string();
    let num = |i: usize, d: usize| {
        args.get(i)
            .map_or(Some(d), |a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    let conns = num(2, 0);
    let secs = num(3, 0);
    let spans = num(4, 100);
    let attrs = num(5, 10);
    let threads = num(6, 1);
    if conns == 0 || secs == 0 || spans == 0 || threads == 0 {
        usage();
    }

    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..BODIES)
            .map(|k| {
                let pb = request(k as u64 * 7919 + 1, spans, attrs);
                if grpc {
                    let mut f = Vec::with_capacity(pb.len() + 5);
                    f.push(0);
                    f.extend_from_slice(&(pb.len() as u32).to_be_bytes());
                    f.extend_from_slice(&pb);
                    Bytes::from(f)
                } else {
                    Bytes::from(pb)
                }
            })
            .collect(),
    );
    let url = if grpc {
        format!("{base}/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    } else {
        format!("{base}/v1/traces")
    };

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otlp_load: cannot start a runtime: {e}");
            std::process::exit(1)
        }
    };
    let totals = Arc::new(Totals::default());
    let elapsed = rt.block_on(async {
        // one client per worker: reqwest shares one HTTP/2 connection per client, and keeps
        // one HTTP/1.1 connection busy per in-flight request
        let mut clients = Vec::with_capacity(conns);
        for _ in 0..conns {
            let b = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30));
            let b = if grpc {
                b.http2_prior_knowledge()
            } else {
                b.http1_only()
            };
            match b.build() {
                Ok(c) => clients.push(c),
                Err(e) => {
                    eprintln!("otlp_load: cannot build a client: {e}");
                    std::process::exit(1)
                }
            }
        }
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(secs as u64);
        let mut tasks = tokio::task::JoinSet::new();
        for (w, client) in clients.into_iter().enumerate() {
            let (bodies, totals, url) = (bodies.clone(), totals.clone(), url.clone());
            tasks.spawn(async move {
                let mut lat = Vec::new();
                let mut k = w;
                while Instant::now() < deadline {
                    let body = bodies[k % BODIES].clone();
                    k += 1;
                    let rb = client.post(&url).body(body);
                    let rb = if grpc {
                        rb.header("content-type", "application/grpc")
                            .header("te", "trailers")
                    } else {
                        rb.header("content-type", "application/x-protobuf")
                    };
                    let sent = Instant::now();
                    let resp = match rb.send().await {
                        Ok(r) => r,
                        Err(e) => {
                            totals.error(format!("send: {e}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let status = resp.status();
                    let grpc_status = resp
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    // read the whole answer (and gRPC trailers) so the stream is done
                    let _ = resp.bytes().await;
                    lat.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    totals.requests.fetch_add(1, Relaxed);
                    let ok =
                        status.as_u16() == 200 && grpc_status.as_deref().is_none_or(|s| s == "0");
                    let busy = status.as_u16() == 503 || grpc_status.as_deref() == Some("14");
                    if ok {
                        totals.spans.fetch_add(spans as u64, Relaxed);
                    } else if busy {
                        totals.busy.fetch_add(1, Relaxed);
                    } else {
                        totals.error(format!("HTTP {status}, grpc-status {grpc_status:?}"));
                    }
                }
                totals
                    .latencies_us
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(lat);
            });
        }
        while tasks.join_next().await.is_some() {}
        t0.elapsed().as_secs_f64()
    });

    let mut lat = std::mem::take(
        &mut *totals
            .latencies_us
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |v| *v as f64 / 1e3)
    };
    let spans_ok = totals.spans.load(Relaxed);
    println!(
        "requests={} spans_accepted={} spans_per_s={:.0} busy={} errors={} seconds={:.3} p50_ms={:.2} p99_ms={:.2}",
        totals.requests.load(Relaxed),
        spans_ok,
        spans_ok as f64 / elapsed,
        totals.busy.load(Relaxed),
        totals.errors.load(Relaxed),
        elapsed,
        pct(0.50),
        pct(0.99),
    );
    let first = totals
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(e) = first {
        eprintln!("otlp_load: first error: {e}");
    }
}
