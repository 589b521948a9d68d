//! The OTLP receiver, driven by the OpenTelemetry Python SDK's own exporters (gRPC and
//! HTTP/protobuf), grpcio for raw gRPC calls, and raw HTTP for JSON and malformed payloads.
//! What comes out of the file sink is compared with what the SDK says it exported.

use crate::support::*;
use lookout_model::otlp::{ExportTraceServiceRequest, ResourceSpans, ScopeSpans, Span};
use lookout_model::Batch;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

fn config(grpc: u16, http: u16, out: &std::path::Path, extra: &str) -> String {
    format!(
        "sources:\n  otlp:\n    type: otlp\n    grpc: 127.0.0.1:{grpc}\n    http: 127.0.0.1:{http}\n{extra}sinks:\n  out:\n    type: file\n    inputs: [otlp]\n    path: {}\n",
        out.display()
    )
}

fn spans_of(reqs: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for r in reqs {
        for rs in r["resourceSpans"].as_array().into_iter().flatten() {
            let svc = attrs(&rs["resource"]["attributes"])
                .get("service.name")
                .cloned()
                .unwrap_or_default();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    out.push((svc.clone(), s.clone()));
                }
            }
        }
    }
    out
}

fn logs_of(reqs: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for r in reqs {
        for rl in r["resourceLogs"].as_array().into_iter().flatten() {
            let svc = attrs(&rl["resource"]["attributes"])
                .get("service.name")
                .cloned()
                .unwrap_or_default();
            for sl in rl["scopeLogs"].as_array().into_iter().flatten() {
                for l in sl["logRecords"].as_array().into_iter().flatten() {
                    out.push((svc.clone(), l.clone()));
                }
            }
        }
    }
    out
}

fn metrics_of(reqs: &[Value], service: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for r in reqs {
        for rm in r["resourceMetrics"].as_array().into_iter().flatten() {
            if attrs(&rm["resource"]["attributes"])
                .get("service.name")
                .map(String::as_str)
                != Some(service)
            {
                continue;
            }
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                out.extend(sm["metrics"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

fn compare(reqs: &[Value], service: &str, expected: &Value) {
    // spans: every one, by span id, with ids, parent, name, kind, times, attributes, status
    let got: BTreeMap<String, Value> = spans_of(reqs)
        .into_iter()
        .filter(|(s, _)| s == service)
        .map(|(_, sp)| (sp["spanId"].as_str().unwrap().to_string(), sp))
        .collect();
    let want = expected["spans"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{service}: span count");
    for w in want {
        let g = &got[w["span_id"].as_str().unwrap()];
        assert_eq!(g["traceId"], w["trace_id"], "{service}");
        assert_eq!(
            g["parentSpanId"].as_str().unwrap_or(""),
            w["parent_span_id"].as_str().unwrap()
        );
        assert_eq!(g["name"], w["name"]);
        assert_eq!(g["kind"].as_u64(), w["kind"].as_u64());
        assert_eq!(
            u64_text(&g["startTimeUnixNano"]),
            w["start"].as_str().unwrap()
        );
        assert_eq!(u64_text(&g["endTimeUnixNano"]), w["end"].as_str().unwrap());
        let want_attrs: BTreeMap<String, String> =
            serde_json::from_value(w["attributes"].clone()).unwrap();
        assert_eq!(
            attrs(&g["attributes"]),
            want_attrs,
            "{service} {}",
            w["name"]
        );
        let events: Vec<&str> = g["events"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        let want_events: Vec<&str> = w["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(events, want_events);
        assert_eq!(
            g["status"]["code"].as_u64().unwrap_or(0),
            w["status_code"].as_u64().unwrap()
        );
    }
    // logs: body, severity, time, trace context, attributes
    let got: Vec<Value> = logs_of(reqs)
        .into_iter()
        .filter(|(s, _)| s == service)
        .map(|(_, l)| l)
        .collect();
    let want = expected["logs"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{service}: log count");
    for w in want {
        let g = got
            .iter()
            .find(|l| {
                u64_text(&l["timeUnixNano"]) == w["time"].as_str().unwrap()
                    && l["body"]["stringValue"] == w["body"]
            })
            .unwrap_or_else(|| panic!("{service}: log {w} not found in {got:?}"));
        assert_eq!(g["severityText"], w["severity_text"]);
        assert_eq!(g["severityNumber"].as_u64(), w["severity_number"].as_u64());
        assert_eq!(
            g["traceId"].as_str().unwrap_or(""),
            w["trace_id"].as_str().unwrap()
        );
        assert_eq!(
            g["spanId"].as_str().unwrap_or(""),
            w["span_id"].as_str().unwrap()
        );
        let mut a = attrs(&g["attributes"]);
        a.retain(|k, _| !k.starts_with("code."));
        let want_attrs: BTreeMap<String, String> =
            serde_json::from_value(w["attributes"].clone()).unwrap();
        assert_eq!(a, want_attrs);
    }
    // metrics: the last exported point of each (cumulative, as the SDK exports by default)
    let got = metrics_of(reqs, service);
    for (name, w) in expected["metrics"].as_object().unwrap() {
        let m = got
            .iter()
            .rev()
            .find(|m| m["name"] == *name)
            .unwrap_or_else(|| panic!("{service}: metric {name} missing"));
        if let Some(v) = w.get("value") {
            let p = &m["sum"]["dataPoints"][0];
            assert_eq!(
                num(p.get("asInt").or(p.get("asDouble")).unwrap()),
                v.as_f64().unwrap(),
                "{name}"
            );
            assert_eq!(attrs(&p["attributes"])["route"], "/orders");
        } else {
            let p = &m["histogram"]["dataPoints"][0];
            assert_eq!(num(&p["count"]), w["count"].as_f64().unwrap(), "{name}");
            assert_eq!(num(&p["sum"]), w["sum"].as_f64().unwrap(), "{name}");
        }
    }
}

#[test]
fn sdk_exports_over_grpc_and_http_arrive_unchanged() {
    require_py(
        "opentelemetry.exporter.otlp.proto.grpc",
        "opentelemetry-exporter-otlp-proto-grpc",
    );
    require_py(
        "opentelemetry.exporter.otlp.proto.http",
        "opentelemetry-exporter-otlp-proto-http",
    );
    let dir = tempfile::tempdir().unwrap();
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let mut a = Agent::start(Some(&config(g, h, &out, "")), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let runs = [
        ("grpc", format!("127.0.0.1:{g}"), "svc-grpc", false),
        ("grpc", format!("127.0.0.1:{g}"), "svc-grpc-gzip", true),
        ("http", format!("http://127.0.0.1:{h}"), "svc-http", false),
        (
            "http",
            format!("http://127.0.0.1:{h}"),
            "svc-http-gzip",
            true,
        ),
    ];
    let mut expected = Vec::new();
    for (proto, endpoint, service, gzip) in &runs {
        let p = dir.path().join(format!("{service}.json"));
        let mut args = vec![
            "--protocol",
            proto,
            "--endpoint",
            endpoint,
            "--service",
            service,
            "--out",
            p.to_str().unwrap(),
        ];
        if *gzip {
            args.push("--gzip");
        }
        python("otel_clients.py", &args);
        expected.push((service, p));
    }
    let st = component_status(&a, "otlp");
    assert_eq!(st["errors"], 0, "{st}\n{}", a.stderr());
    assert_eq!(a.stop(), 0);
    let reqs = read_jsonl(&out);
    for (service, p) in expected {
        let want: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert!(want["spans"].as_array().unwrap().len() >= 10);
        compare(&reqs, service, &want);
    }
}

fn trace_request(spans: Vec<Span>) -> Vec<u8> {
    Batch::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .encode_protobuf()
}

fn span(trace: u8, id: u8) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: format!("span-{trace}-{id}"),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        ..Default::default()
    }
}

fn header<'a>(h: &'a [(String, String)], k: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn json_partial_success_and_malformed_payloads_get_the_specified_answers() {
    require_py("grpc", "grpcio");
    let dir = tempfile::tempdir().unwrap();
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let mut a = Agent::start(
        Some(&config(g, h, &out, "    max_request_bytes: 65536\n")),
        &[],
    );
    a.wait_ready();
    wait_component(&a, "otlp");
    let pb = [("Content-Type", "application/x-protobuf")];

    // OTLP/JSON, as the specification's example encodes it
    let json = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},"scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"I'm a server span","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","kind":2,"attributes":[{"key":"my.span.attr","value":{"stringValue":"some value"}}]}]}]}]}"#;
    let (st, hd, body) = http_post(
        h,
        "/v1/traces",
        &[("Content-Type", "application/json")],
        json,
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&hd, "content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({})
    );

    // partial success: one span with a 15-byte trace id is rejected, the other kept
    let mut bad = span(1, 1);
    bad.trace_id.pop();
    let (st, _, body) = http_post(h, "/v1/traces", &pb, &trace_request(vec![span(2, 2), bad]));
    assert_eq!(st, 200);
    use prost::Message;
    let resp =
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
            &body[..],
        )
        .unwrap();
    let ps = resp.partial_success.expect("partial success");
    assert_eq!(ps.rejected_spans, 1);
    assert!(
        ps.error_message.contains("16 bytes"),
        "{}",
        ps.error_message
    );

    // truncated protobuf: 400 with a google.rpc.Status body
    let full = trace_request(vec![span(3, 3)]);
    let (st, hd, body) = http_post(h, "/v1/traces", &pb, &full[..full.len() - 3]);
    assert_eq!(st, 400);
    assert_eq!(header(&hd, "content-type"), Some("application/x-protobuf"));
    assert!(String::from_utf8_lossy(&body).contains("invalid OTLP traces payload"));
    // wrong content type, unknown encoding, wrong method, unknown path
    assert_eq!(
        http_post(h, "/v1/traces", &[("Content-Type", "text/plain")], b"hello").0,
        415
    );
    assert_eq!(
        http_post(
            h,
            "/v1/traces",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "br")
            ],
            &full
        )
        .0,
        415
    );
    assert_eq!(http_post(h, "/v2/traces", &pb, &full).0, 404);
    assert_eq!(http_get(h, "/v1/traces").map(|r| r.0), Some(405));
    // oversized, before and after decompression; bad gzip
    assert_eq!(http_post(h, "/v1/logs", &pb, &vec![0u8; 70_000]).0, 413);
    let bomb = gzip(&vec![b'a'; 1 << 20]);
    assert!(bomb.len() < 65536);
    assert_eq!(
        http_post(
            h,
            "/v1/logs",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "gzip")
            ],
            &bomb
        )
        .0,
        413
    );
    assert_eq!(
        http_post(
            h,
            "/v1/logs",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "gzip")
            ],
            b"nope"
        )
        .0,
        400
    );
    // invalid UTF-8 in a string field is a decode error
    let mut utf = trace_request(vec![span(4, 4)]);
    let at = utf.windows(8).position(|w| w == b"span-4-4").unwrap();
    utf[at] = 0xff;
    assert_eq!(http_post(h, "/v1/traces", &pb, &utf).0, 400);

    // gRPC through grpcio: truncated payload, unknown method, valid request
    let target = format!("127.0.0.1:{g}");
    let method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let trunc_hex: String = full[..full.len() - 3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r: Value =
        serde_json::from_str(&python("grpc_raw.py", &[&target, method, &trunc_hex])).unwrap();
    assert_eq!(r["code"], "INVALID_ARGUMENT", "{r}");
    let r: Value = serde_json::from_str(&python("grpc_raw.py", &[&target, "/x.Y/Z", ""])).unwrap();
    assert_eq!(r["code"], "UNIMPLEMENTED", "{r}");
    let ok_hex: String = trace_request(vec![span(5, 5)])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r: Value =
        serde_json::from_str(&python("grpc_raw.py", &[&target, method, &ok_hex])).unwrap();
    assert_eq!(r["code"], "OK", "{r}");
    let big = dir.path().join("big.hex");
    std::fs::write(&big, "0a".repeat(70_000)).unwrap();
    let big_arg = format!("@{}", big.display());
    let r: Value =
        serde_json::from_str(&python("grpc_raw.py", &[&target, method, &big_arg])).unwrap();
    assert_eq!(r["code"], "RESOURCE_EXHAUSTED", "{r}");

    // counted by result, and the good requests all arrived
    let page = a.get("/metrics").1;
    for (result, n) in [
        ("ok", 2),
        ("partial", 1),
        ("bad_request", 4),
        ("unsupported", 2),
        ("too_large", 3),
        ("not_found", 2),
        ("method_not_allowed", 1),
    ] {
        let line =
            format!("lookout_otlp_requests_total{{component_id=\"otlp\",result=\"{result}\"}} {n}");
        assert!(page.contains(&line), "missing `{line}` in\n{page}");
    }
    assert_eq!(a.stop(), 0);
    let names: Vec<String> = spans_of(&read_jsonl(&out))
        .into_iter()
        .map(|(_, s)| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["I'm a server span", "span-2-2", "span-5-5"]);
}

#[test]
fn full_buffers_answer_retryable_errors_and_nothing_is_half_accepted() {
    require_py("grpc", "grpcio");
    let (g, h, dead) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "sources:\n  otlp:\n    type: otlp\n    grpc: 127.0.0.1:{g}\n    http: 127.0.0.1:{h}\n    backpressure_wait: 200ms\nsinks:\n  nowhere:\n    type: otlp_http\n    inputs: [otlp]\n    endpoint: http://127.0.0.1:{dead}\n    buffer: {{max_batches: 1, when_full: block}}\n    batch: {{max_events: 1, timeout: 10ms}}\n    retry: {{initial_backoff: 10s, max_backoff: 10s, max_elapsed: 1h}}\n"
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let pb = [("Content-Type", "application/x-protobuf")];
    let mut codes = Vec::new();
    for i in 0..8u8 {
        let (st, hd, _) = http_post(h, "/v1/traces", &pb, &trace_request(vec![span(10 + i, 1)]));
        if st == 503 {
            assert_eq!(header(&hd, "retry-after"), Some("1"));
        }
        codes.push(st);
    }
    assert!(codes.iter().all(|c| *c == 200 || *c == 503), "{codes:?}");
    let accepted = codes.iter().filter(|c| **c == 200).count();
    assert!(
        (1..=4).contains(&accepted),
        "buffers of 1 batch cannot take {accepted}: {codes:?}"
    );
    assert!(codes.ends_with(&[503, 503]), "{codes:?}");
    let hex: String = trace_request(vec![span(99, 1)])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r: Value = serde_json::from_str(&python(
        "grpc_raw.py",
        &[
            &format!("127.0.0.1:{g}"),
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            &hex,
        ],
    ))
    .unwrap();
    assert_eq!(r["code"], "UNAVAILABLE", "{r}");
    let st = component_status(&a, "otlp");
    assert_eq!(st["received_items"].as_u64(), Some(accepted as u64), "{st}");
    let page = a.get("/metrics").1;
    let busy = codes.iter().filter(|c| **c == 503).count() + 1;
    assert!(
        page.contains(&format!(
            "lookout_receiver_busy_total{{component_id=\"otlp\",signal=\"traces\"}} {busy}"
        )),
        "{page}"
    );
}

#[test]
fn tls_listeners_serve_the_sdk_and_refuse_plaintext() {
    require_py(
        "opentelemetry.exporter.otlp.proto.grpc",
        "opentelemetry-exporter-otlp-proto-grpc",
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_cert(dir.path());
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let tls = format!(
        "    tls: {{cert: {}, key: {}}}\n",
        cert.display(),
        key.display()
    );
    let mut a = Agent::start(Some(&config(g, h, &out, &tls)), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let ca = cert.to_str().unwrap();
    for (proto, endpoint, service) in [
        ("grpc", format!("localhost:{g}"), "tls-grpc"),
        ("http", format!("https://127.0.0.1:{h}"), "tls-http"),
    ] {
        let p = dir.path().join(format!("{service}.json"));
        python(
            "otel_clients.py",
            &[
                "--protocol",
                proto,
                "--endpoint",
                &endpoint,
                "--service",
                service,
                "--ca",
                ca,
                "--out",
                p.to_str().unwrap(),
            ],
        );
    }
    // plaintext to a TLS port gets no OTLP answer
    let plain = std::panic::catch_unwind(|| {
        http_post(
            h,
            "/v1/traces",
            &[("Content-Type", "application/json")],
            b"{}",
        )
    });
    assert!(plain.map(|r| r.0 != 200).unwrap_or(true));
    assert_eq!(a.stop(), 0);
    let spans = spans_of(&read_jsonl(&out));
    for service in ["tls-grpc", "tls-http"] {
        assert_eq!(
            spans.iter().filter(|(s, _)| s == service).count(),
            10,
            "{service}"
        );
    }
}

/// Traces through `sample` and `redact`: every span of a trace shares one decision, the kept
/// set is exactly the one the documented rule predicts from the trace ids, and secrets in span
/// attributes and log bodies never reach the sink.
#[test]
fn sampling_is_consistent_by_trace_id_and_secrets_are_redacted() {
    use lookout_model::otlp::{any_value, AnyValue, LogRecord, ResourceLogs, ScopeLogs};
    let dir = tempfile::tempdir().unwrap();
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  otlp: {{type: otlp, grpc: 127.0.0.1:{g}, http: 127.0.0.1:{h}}}\nprocessors:\n  sample: {{type: sample, inputs: [otlp], rate: 0.5}}\n  scrub: {{type: redact, inputs: [sample]}}\nsinks:\n  out: {{type: file, inputs: [scrub], path: {}}}\n",
        out.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let s = |k: &str, v: &str| lookout_model::attr::str(k, v);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut traces = Vec::new();
    let pb = [("Content-Type", "application/x-protobuf")];
    for chunk in 0..8 {
        let mut spans = Vec::new();
        for _ in 0..50 {
            let mut tid = rand().to_be_bytes().to_vec();
            tid.extend(rand().to_be_bytes());
            for i in 0..3u8 {
                let mut sp = span(0, i + 1);
                sp.trace_id = tid.clone();
                sp.span_id = [rand().to_be_bytes()[0], chunk, i, 1, 2, 3, 4, 5].to_vec();
                sp.attributes = vec![
                    s("user.email", "alice@example.com"),
                    s("payment.card", "4111 1111 1111 1111"),
                    s("db.password", "hunter2"),
                    s(
                        "http.request.header.authorization",
                        "Bearer abcdef1234567890",
                    ),
                    s("order.id", "20240101123456"),
                ];
                spans.push(sp);
            }
            traces.push(tid);
        }
        let (st, _, _) = http_post(h, "/v1/traces", &pb, &trace_request(spans));
        assert_eq!(st, 200);
    }
    let log = Batch::Logs(lookout_model::otlp::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(
                            "login ok user=bob password=s3cr3t! from 10.1.2.3".into(),
                        )),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .encode_protobuf();
    assert_eq!(http_post(h, "/v1/logs", &pb, &log).0, 200);
    // the documented rule: keep when the last 7 bytes of the trace id < rate * 2^56
    let want: Vec<String> = traces
        .iter()
        .filter(|t| {
            let r = t[9..].iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
            (r as f64) < 0.5 * (1u64 << 56) as f64
        })
        .map(|t| t.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let dropped = ((traces.len() - want.len()) * 3) as u64;
    wait_for(Duration::from_secs(10), || {
        (component_status(&a, "sample")["dropped_items"].as_u64() == Some(dropped)).then_some(())
    })
    .unwrap_or_else(|| panic!("sample dropped_items: {}", component_status(&a, "sample")));
    let lines = [
        format!("lookout_sample_spans_total{{component_id=\"sample\",decision=\"kept\"}} {}", want.len() * 3),
        format!("lookout_sample_spans_total{{component_id=\"sample\",decision=\"dropped_probability\"}} {dropped}"),
        format!("lookout_redactions_total{{component_id=\"scrub\",rule=\"email\"}} {}", want.len() * 3),
    ];
    // the redact processor runs after the sampler: wait for it too
    wait_for(Duration::from_secs(10), || {
        let page = a.get("/metrics").1;
        lines
            .iter()
            .all(|l| page.contains(l.as_str()))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("missing one of {lines:?} in\n{}", a.get("/metrics").1));
    assert_eq!(a.stop(), 0);

    let text = std::fs::read_to_string(&out).unwrap();
    for secret in [
        "alice@example.com",
        "4111 1111 1111 1111",
        "hunter2",
        "abcdef1234567890",
        "s3cr3t!",
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(
        text.contains("20240101123456"),
        "an order id is not a card number"
    );
    assert!(text.contains("[REDACTED:email]"), "{text}");
    let spans = spans_of(&read_jsonl(&out));
    let mut per_trace: BTreeMap<String, usize> = BTreeMap::new();
    for (_, sp) in &spans {
        *per_trace
            .entry(sp["traceId"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(attrs(&sp["attributes"])["user.email"], "[REDACTED:email]");
    }
    assert!(
        per_trace.values().all(|n| *n == 3),
        "a trace was split: {per_trace:?}"
    );
    let got: Vec<String> = per_trace.keys().cloned().collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    assert!(
        (140..=260).contains(&got.len()),
        "kept {} of 400",
        got.len()
    );
}

/// At `max_connections`, a new connection waits in the accept queue (it is not refused) and is
/// served as soon as a slot frees.
#[test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let mut a = Agent::start(Some(&config(g, h, &out, "    max_connections: 2\n")), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let idle1 = std::net::TcpStream::connect(("127.0.0.1", h)).unwrap();
    let _idle2 = std::net::TcpStream::connect(("127.0.0.1", h)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = http_post(
            h,
            "/v1/logs",
            &[("Content-Type", "application/json")],
            b"{}",
        );
        let _ = tx.send(r.0);
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(700))
            .is_err(),
        "a third connection was served beside two open ones"
    );
    drop(idle1);
    let st = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the waiting connection was never served");
    assert_eq!(st, 200);
}

/// A `filter` processor between the OTLP receiver and a sink: severity, exclude pattern and
/// the per-second budget decide what reaches the file, and the drops are counted by reason.
#[test]
fn filter_drops_logs_by_severity_pattern_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (g, h) = (free_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  otlp: {{type: otlp, grpc: 127.0.0.1:{g}, http: 127.0.0.1:{h}}}\nprocessors:\n  f: {{type: filter, inputs: [otlp], min_severity: warn, exclude: ['healthz'], max_records_per_second: 5}}\nsinks:\n  out: {{type: file, inputs: [f], path: {}}}\n",
        out.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let rec = |body: &str, sev: u32| {
        format!(r#"{{"severityNumber":{sev},"body":{{"stringValue":"{body}"}}}}"#)
    };
    let mut recs = vec![rec("debug noise", 5), rec("GET /healthz failed", 17)];
    for i in 0..8 {
        recs.push(rec(&format!("error {i}"), 17));
    }
    let json = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
        recs.join(",")
    );
    let (st, _, _) = http_post(
        h,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        json.as_bytes(),
    );
    assert_eq!(st, 200);
    let want = [
        "lookout_filter_dropped_total{component_id=\"f\",reason=\"severity\"} 1",
        "lookout_filter_dropped_total{component_id=\"f\",reason=\"excluded\"} 1",
        "lookout_filter_dropped_total{component_id=\"f\",reason=\"rate_limited\"} 3",
    ];
    wait_for(std::time::Duration::from_secs(10), || {
        let page = a.get("/metrics").1;
        want.iter().all(|l| page.contains(l)).then_some(())
    })
    .unwrap_or_else(|| panic!("{}", a.get("/metrics").1));
    assert_eq!(a.stop(), 0);
    let bodies: Vec<String> = logs_of(&read_jsonl(&out))
        .iter()
        .map(|(_, l)| l["body"]["stringValue"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        bodies,
        ["error 0", "error 1", "error 2", "error 3", "error 4"]
    );
}
