//! SIGHUP: a bad config is rejected with one log line and the running pipeline keeps going; a
//! good one is applied.

use crate::support::*;
use std::time::Duration;

#[test]
fn sighup_rejects_bad_config_and_applies_good_one() {
    let cfg = "sources:\n  host: {type: host_metrics, interval: 200ms}\nsinks:\n  prom: {type: prometheus, inputs: [host]}\n";
    let mut a = Agent::start(Some(cfg), &[]);
    a.wait_ready();
    let status =
        |a: &Agent| -> serde_json::Value { serde_json::from_str(&a.get("/status").1).unwrap() };
    let hash0 = status(&a)["config_hash"].as_str().unwrap().to_string();

    std::fs::write(
        a.config_path(),
        "sources:\n  host: {type: host_metrics, interval: nonsense}\n",
    )
    .unwrap();
    a.signal("HUP");
    wait_for(Duration::from_secs(10), || {
        a.stderr().contains("configuration rejected").then_some(())
    })
    .unwrap_or_else(|| panic!("no rejection line:\n{}", a.stderr()));
    assert_eq!(status(&a)["config_hash"], hash0.as_str());
    assert_eq!(a.get("/metrics/host").0, 200, "old pipeline still serves");

    let good = "sources:\n  host: {type: host_metrics, interval: 200ms}\nsinks:\n  prom: {type: prometheus, inputs: [host], path: /metrics/new}\n";
    std::fs::write(a.config_path(), good).unwrap();
    a.signal("HUP");
    wait_for(Duration::from_secs(10), || {
        a.stderr().contains("configuration reloaded").then_some(())
    })
    .unwrap_or_else(|| panic!("no reload line:\n{}", a.stderr()));
    let st = status(&a);
    assert_ne!(st["config_hash"], hash0.as_str());
    assert_eq!(st["reloads"]["applied"], 1);
    assert_eq!(st["reloads"]["rejected"], 1);
    let port = a.port;
    wait_for(Duration::from_secs(5), || {
        let (c, b) = http_get(port, "/metrics/new")?;
        (c == 200 && b.contains("system_cpu")).then_some(())
    })
    .unwrap();
    assert_eq!(a.get("/metrics/host").0, 404);
    assert_eq!(a.stop(), 0);
    assert_eq!(a.stderr().matches("configuration rejected").count(), 1);
}

/// Receivers keep their ports across a reload (the new topology binds beside the old one with
/// SO_REUSEPORT): OTLP requests sent before, during and after SIGHUP are all answered, and every
/// StatsD line sent before and after arrives.
#[test]
fn receivers_keep_their_ports_across_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (g, h, u) = (free_port(), free_port(), free_udp_port());
    let out = dir.path().join("out.jsonl");
    let cfg = |interval: &str| {
        format!(
            "sources:\n  otlp: {{type: otlp, grpc: 127.0.0.1:{g}, http: 127.0.0.1:{h}}}\n  statsd: {{type: statsd, udp: 127.0.0.1:{u}, flush_interval: {interval}}}\nsinks:\n  out: {{type: file, inputs: [otlp, statsd], path: {}}}\n",
            out.display()
        )
    };
    let mut a = Agent::start(Some(&cfg("60s")), &[]);
    a.wait_ready();
    wait_component(&a, "otlp");
    let json = |n: usize| {
        format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"1700000000000000000","body":{{"stringValue":"log {n}"}}}}]}}]}}]}}"#
        )
    };
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0;
    let post = |n: usize| {
        let (st, _, _) = http_post(
            h,
            "/v1/logs",
            &[("Content-Type", "application/json")],
            json(n).as_bytes(),
        );
        assert_eq!(st, 200, "request {n}");
    };
    for i in 0..20 {
        post(i);
        udp.send_to(b"reload.count:1|c", ("127.0.0.1", u)).unwrap();
        sent += 1;
    }
    std::fs::write(a.config_path(), cfg("59s")).unwrap();
    a.signal("HUP");
    for i in 20..60 {
        post(i);
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for(Duration::from_secs(10), || {
        a.stderr().contains("configuration reloaded").then_some(())
    })
    .unwrap_or_else(|| panic!("no reload:\n{}", a.stderr()));
    for i in 60..80 {
        post(i);
        udp.send_to(b"reload.count:1|c", ("127.0.0.1", u)).unwrap();
        sent += 1;
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.stop(), 0);
    let reqs = read_jsonl(&out);
    let mut bodies: Vec<String> = all_logs(&reqs)
        .iter()
        .map(|l| l["body"]["stringValue"].as_str().unwrap().to_string())
        .collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 80, "every acknowledged request arrived once");
    let counted: f64 = all_metrics(&reqs)
        .iter()
        .filter(|m| m["name"] == "reload.count")
        .flat_map(|m| m["sum"]["dataPoints"].as_array().unwrap().clone())
        .map(|p| num(&p["asDouble"]))
        .sum();
    assert_eq!(counted, sent as f64);
}
