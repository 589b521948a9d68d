//! The StatsD/DogStatsD receiver, driven by clients we did not write (the `datadog` package's
//! DogStatsd and the plain `statsd` package) over UDP, a Unix datagram socket and TCP; the
//! aggregated output (file sink, OTLP/JSON) is compared with what the clients sent.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Documented percentile error bound with the default sketch (docs/receivers.md): relative
/// error at most 0.28% (scale >= 7) for data within a 2^16 range.
const PERCENTILE_ERROR: f64 = 0.0028;

fn config(udp: u16, tcp: u16, unix: &std::path::Path, out: &std::path::Path) -> String {
    format!(
        "sources:\n  statsd:\n    type: statsd\n    udp: 127.0.0.1:{udp}\n    tcp: 127.0.0.1:{tcp}\n    unix: {}\n    flush_interval: 60s\nsinks:\n  out:\n    type: file\n    inputs: [statsd]\n    path: {}\n",
        unix.display(),
        out.display()
    )
}

/// Metrics by name, each with its data points (every flush window).
fn by_name(reqs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for metric in all_metrics(reqs) {
        m.entry(metric["name"].as_str().unwrap().to_string())
            .or_default()
            .push(metric);
    }
    m
}

fn points<'a>(metrics: &'a [Value], kind: &str) -> Vec<&'a Value> {
    metrics
        .iter()
        .flat_map(|m| {
            m[kind]["dataPoints"]
                .as_array()
                .unwrap_or_else(|| panic!("{} is not a {kind}: {m}", m["name"]))
        })
        .collect()
}

fn value(p: &Value) -> f64 {
    p.get("asDouble")
        .or_else(|| p.get("asInt"))
        .map(num)
        .unwrap_or(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The exact percentile is ambiguous between two neighbouring ranks; the estimate must be
/// within the error bound of that interval.
fn check_percentile(name: &str, sorted: &[f64], q: f64, got: f64) {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = sorted[pos.floor() as usize];
    let hi = sorted[pos.ceil() as usize];
    assert!(
        got >= lo * (1.0 - PERCENTILE_ERROR) - 1e-9 && got <= hi * (1.0 + PERCENTILE_ERROR) + 1e-9,
        "{name} p{q}: {got} outside [{lo}, {hi}] +- {PERCENTILE_ERROR}"
    );
}

#[test]
fn datadog_and_plain_clients_are_aggregated_exactly() {
    require_py("datadog", "datadog");
    require_py("statsd", "statsd");
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_port());
    let sock = dir.path().join("dsd.sock");
    let out = dir.path().join("out.jsonl");
    let mut a = Agent::start(Some(&config(udp, tcp, &sock, &out)), &[]);
    a.wait_ready();
    wait_component(&a, "statsd");
    wait_for(Duration::from_secs(10), || sock.exists().then_some(()))
        .expect("unix socket not created");
    let expected_path = dir.path().join("expected.json");
    python(
        "statsd_clients.py",
        &[
            "--udp",
            &udp.to_string(),
            "--unix",
            sock.to_str().unwrap(),
            "--tcp",
            &tcp.to_string(),
            "--out",
            expected_path.to_str().unwrap(),
        ],
    );
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    let want_lines = expected["lines"].as_u64().unwrap();
    // every line read before stopping (UDP is asynchronous)
    wait_for(Duration::from_secs(10), || {
        (component_status(&a, "statsd")["received_items"].as_u64() >= Some(want_lines))
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "not every line arrived: {}; stderr:\n{}",
            component_status(&a, "statsd"),
            a.stderr()
        )
    });
    let st = component_status(&a, "statsd");
    assert_eq!(st["errors"], 0, "{st}");
    assert_eq!(a.stop(), 0);

    let reqs = read_jsonl(&out);
    let metrics = by_name(&reqs);
    for (name, want) in expected["metrics"].as_object().unwrap() {
        let got = metrics
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing; have {:?}", metrics.keys()));
        let kind = want["kind"].as_str().unwrap();
        let pts = match kind {
            "counter" => points(got, "sum"),
            "gauge" | "set" => points(got, "gauge"),
            "summary" => points(got, "summary"),
            "histogram" => points(got, "exponentialHistogram"),
            _ => unreachable!(),
        };
        // tags (and the DogStatsD container id) become attributes
        let want_tags: BTreeMap<String, String> =
            serde_json::from_value(want["tags"].clone()).unwrap();
        for p in &pts {
            assert_eq!(attrs(&p["attributes"]), want_tags, "{name} attributes");
        }
        match kind {
            "counter" => {
                let total: f64 = pts.iter().map(|p| value(p)).sum();
                let w = want["sum"].as_f64().unwrap();
                assert!(close(total, w), "{name}: counted {total}, sent {w}");
                assert!(
                    got.iter().all(|m| m["sum"]["aggregationTemporality"] == 1),
                    "{name} is delta"
                );
            }
            "gauge" => {
                let last = pts.last().map(|p| value(p)).unwrap();
                assert!(
                    close(last, want["last"].as_f64().unwrap()),
                    "{name}: {last} vs {}",
                    want["last"]
                );
            }
            "set" => {
                assert_eq!(pts.len(), 1, "{name}");
                assert_eq!(
                    value(pts[0]) as u64,
                    want["unique"].as_u64().unwrap(),
                    "{name}"
                );
            }
            "summary" | "histogram" => {
                assert_eq!(pts.len(), 1, "{name}: one window");
                let p = pts[0];
                assert_eq!(
                    num(&p["count"]),
                    want["count"].as_f64().unwrap().round(),
                    "{name} count"
                );
                assert!(
                    close(num(&p["sum"]), want["sum"].as_f64().unwrap()),
                    "{name} sum {} vs {}",
                    p["sum"],
                    want["sum"]
                );
                let sorted: Vec<f64> = want["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                if kind == "summary" {
                    let qs = p["quantileValues"].as_array().unwrap();
                    let q = |x: f64| {
                        qs.iter()
                            .find(|v| (v.get("quantile").map(num).unwrap_or(0.0) - x).abs() < 1e-9)
                            .map(|v| v.get("value").map(num).unwrap_or(0.0))
                            .unwrap_or_else(|| panic!("{name}: no quantile {x} in {p}"))
                    };
                    assert_eq!(q(0.0), want["min"].as_f64().unwrap(), "{name} min");
                    assert_eq!(q(1.0), want["max"].as_f64().unwrap(), "{name} max");
                    for pq in [0.5, 0.9, 0.95, 0.99] {
                        check_percentile(name, &sorted, pq, q(pq));
                    }
                } else {
                    assert_eq!(num(&p["min"]), want["min"].as_f64().unwrap(), "{name} min");
                    assert_eq!(num(&p["max"]), want["max"].as_f64().unwrap(), "{name} max");
                    let buckets: f64 = p["positive"]["bucketCounts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(num)
                        .sum::<f64>()
                        + p["negative"]["bucketCounts"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(num)
                            .sum::<f64>()
                        + p.get("zeroCount").map(num).unwrap_or(0.0);
                    assert_eq!(buckets, num(&p["count"]), "{name}: buckets add up to count");
                }
            }
            _ => unreachable!(),
        }
    }

    // events and service checks are log records
    let logs = all_logs(&reqs);
    for e in expected["events"].as_array().unwrap() {
        let rec = logs
            .iter()
            .find(|l| {
                attrs(&l["attributes"])
                    .get("statsd.event.title")
                    .map(String::as_str)
                    == e["title"].as_str()
            })
            .unwrap_or_else(|| panic!("event {} missing in {logs:?}", e["title"]));
        assert_eq!(rec["body"]["stringValue"], e["text"], "{rec}");
        assert_eq!(rec["severityText"], e["severity"], "{rec}");
        assert_eq!(
            attrs(&rec["attributes"])
                .get("statsd.event.alert_type")
                .map(String::as_str),
            e["alert_type"].as_str()
        );
    }
    for c in expected["service_checks"].as_array().unwrap() {
        let rec = logs
            .iter()
            .find(|l| {
                attrs(&l["attributes"])
                    .get("statsd.service_check.name")
                    .map(String::as_str)
                    == c["name"].as_str()
            })
            .unwrap_or_else(|| panic!("service check {} missing in {logs:?}", c["name"]));
        assert_eq!(rec["severityText"], c["severity"], "{rec}");
        assert_eq!(
            attrs(&rec["attributes"])
                .get("statsd.service_check.status")
                .map(String::as_str),
            Some(c["status"].to_string().as_str())
        );
        if let Some(m) = c.get("message") {
            assert_eq!(rec["body"]["stringValue"], *m, "{rec}");
        }
    }
}

#[test]
fn bad_lines_are_counted_by_reason_and_the_rest_of_the_datagram_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_port());
    let out = dir.path().join("out.jsonl");
    let mut a = Agent::start(
        Some(&config(udp, tcp, &dir.path().join("s.sock"), &out)),
        &[],
    );
    a.wait_ready();
    wait_component(&a, "statsd");
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut dgram: Vec<u8> = b"good.a:1|c\nno.pipe:1\nbad.tag:1|c|#k:".to_vec();
    dgram.extend_from_slice(&[0xff, 0xfe]);
    dgram.extend_from_slice(b"\ngood.b:2.5|g\n:1|c\nx:1|q\nx:abc|c\nx:1|c|@0\n_sc|n|9\n");
    s.send_to(&dgram, ("127.0.0.1", udp)).unwrap();
    s.send_to(b"good.a:2|c", ("127.0.0.1", udp)).unwrap();
    // garbage datagrams of every size up to 2 KiB, then a valid one: nothing else is lost
    let mut x: u32 = 7;
    for len in (0..2048).step_by(97) {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x & 0xff) as u8
            })
            .collect();
        s.send_to(&junk, ("127.0.0.1", udp)).unwrap();
    }
    s.send_to(b"good.a:4|c", ("127.0.0.1", udp)).unwrap();
    // an overlong TCP line is skipped, the next line is kept
    {
        use std::io::Write;
        let mut t = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        t.write_all(&vec![b'x'; 70 * 1024]).unwrap();
        t.write_all(b"\ngood.tcp:5|c\n").unwrap();
    }
    let page = wait_for(Duration::from_secs(10), || {
        let (_, p) = a.get("/metrics");
        (p.contains("reason=\"unknown_type\"") && p.contains("line_too_long")).then_some(p)
    })
    .unwrap_or_else(|| {
        panic!(
            "no parse error counters; /metrics:\n{}",
            a.get("/metrics").1
        )
    });
    for reason in [
        "invalid_utf8",
        "missing_type",
        "empty_name",
        "bad_value",
        "bad_sample_rate",
        "bad_service_check",
        "line_too_long",
    ] {
        assert!(
            page.contains(&format!(
                "lookout_statsd_parse_errors_total{{component_id=\"statsd\",reason=\"{reason}\"}}"
            )),
            "{reason} not counted:\n{page}"
        );
    }
    promtool_check(&page).unwrap();
    assert_eq!(a.stop(), 0);
    let metrics = by_name(&read_jsonl(&out));
    let total = |n: &str| -> f64 { points(&metrics[n], "sum").iter().map(|p| value(p)).sum() };
    assert_eq!(total("good.a"), 7.0);
    assert_eq!(total("good.tcp"), 5.0);
    assert_eq!(value(points(&metrics["good.b"], "gauge")[0]), 2.5);
}

#[test]
fn statsd_parse_prints_one_json_object_per_line() {
    let (code, text, _) = lookout_with_stdin(
        &["statsd", "parse", "--aggregate"],
        "page.views:1:2:3|c|@0.5|#env:prod,canary|c:abc|T1700000000\nbroken:1\n_sc|db.up|0|m:fine\n",
    );
    assert_eq!(code, 1, "a bad line makes the exit code 1");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3, "{text}");
    let m = &lines[0];
    assert_eq!(m["name"], "page.views");
    assert_eq!(m["kind"], "c");
    assert_eq!(m["values"], serde_json::json!([1.0, 2.0, 3.0]));
    assert_eq!(m["sample_rate"], 0.5);
    assert_eq!(m["container_id"], "abc");
    assert_eq!(m["timestamp"], 1700000000);
    assert_eq!(lines[1]["error"], "missing_type");
    assert!(lines[1]["message"].as_str().unwrap().len() > 5);
    assert_eq!(lines[2]["type"], "service_check");
    // the aggregate: 3 timestamped values at rate 0.5 -> 12 in all
    let agg: Vec<&Value> = lines[3..].iter().collect();
    let total: f64 = all_metrics(&agg.into_iter().cloned().collect::<Vec<_>>())
        .iter()
        .filter(|m| m["name"] == "page.views")
        .flat_map(|m| m["sum"]["dataPoints"].as_array().unwrap().clone())
        .map(|p| value(&p))
        .sum();
    assert_eq!(total, 12.0, "{text}");
}

#[test]
fn tcp_with_tls_takes_lines_from_a_tls_client() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_cert(dir.path());
    let tcp = free_port();
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  statsd:\n    type: statsd\n    udp: null\n    tcp: 127.0.0.1:{tcp}\n    tls: {{cert: {}, key: {}}}\nsinks:\n  out: {{type: file, inputs: [statsd], path: {}}}\n",
        cert.display(),
        key.display(),
        out.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    wait_component(&a, "statsd");
    // Python's ssl module (OpenSSL) as the client, verifying the agent's certificate
    let client = format!(
        "import socket, ssl\nctx = ssl.create_default_context(cafile={:?})\nwith socket.create_connection(('127.0.0.1', {tcp})) as raw:\n    with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as s:\n        s.sendall(b'tls.count:5|c|#via:tls\\ntls.count:7|c|#via:tls\\n')\n",
        cert.display().to_string()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &client])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // a plaintext client gets nothing in: its bytes are not a TLS handshake
    {
        use std::io::Write;
        let mut plain = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        let _ = plain.write_all(b"plain.count:1|c\n");
    }
    wait_for(Duration::from_secs(10), || {
        (component_status(&a, "statsd")["received_items"].as_u64() == Some(2)).then_some(())
    })
    .unwrap_or_else(|| panic!("{}", component_status(&a, "statsd")));
    assert_eq!(a.stop(), 0);
    let metrics = by_name(&read_jsonl(&out));
    let total: f64 = points(&metrics["tls.count"], "sum")
        .iter()
        .map(|p| value(p))
        .sum();
    assert_eq!(total, 12.0);
    assert!(!metrics.contains_key("plain.count"));
}
