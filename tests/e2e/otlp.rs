//! The OTLP/HTTP exporter, checked by a receiver we did not write (Python opentelemetry-proto).

use crate::support::*;
use serde_json::Value;
use std::time::Duration;

fn otlp_config(port: u16, extra: &str, interval: &str) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: {interval}}}\nsinks:\n  otlp:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{port}\n    headers: {{api-key: \"${{env:LOOKOUT_TEST_KEY:-secret-test-key}}\"}}\n{extra}"
    )
}

fn metric<'a>(req: &'a Value, name: &str) -> Option<&'a Value> {
    req["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

#[test]
fn export_is_valid_otlp_with_names_units_temporality_and_resource() {
    let rx = Receiver::start(0, None);
    let mut a = Agent::start(
        Some(&otlp_config(rx.port, "    compression: gzip\n", "300ms")),
        &[],
    );
    a.wait_ready();
    let reqs = wait_for(Duration::from_secs(15), || {
        let r = rx.requests();
        (r.len() >= 2).then_some(r)
    })
    .unwrap_or_else(|| panic!("no OTLP requests; stderr:\n{}", a.stderr()));
    assert_eq!(a.stop(), 0);
    for r in &reqs {
        assert!(r.get("decode_error").is_none(), "{r}");
        assert_eq!(r["path"], "/v1/metrics");
        assert_eq!(r["encoding"], "gzip");
        assert_eq!(r["content_type"], "application/x-protobuf");
        assert_eq!(r["api_key"], true);
    }
    let r = &reqs[1];
    let cpu = metric(r, "system.cpu.time").expect("system.cpu.time");
    assert_eq!(
        (cpu["unit"].as_str(), cpu["kind"].as_str()),
        (Some("s"), Some("sum"))
    );
    assert_eq!(cpu["temporality"], 2, "cumulative by default");
    assert_eq!(cpu["monotonic"], true);
    let mem = metric(r, "system.memory.usage").expect("system.memory.usage");
    assert_eq!(
        (mem["unit"].as_str(), mem["monotonic"].as_bool()),
        (Some("By"), Some(false))
    );
    let util = metric(r, "system.cpu.utilization").expect("utilization after the second scrape");
    assert_eq!(
        (util["kind"].as_str(), util["unit"].as_str()),
        (Some("gauge"), Some("1"))
    );
    let load = metric(r, "system.cpu.load_average.1m").expect("load");
    assert_eq!(load["kind"], "gauge");
    for name in [
        "system.disk.io",
        "system.network.io",
        "system.filesystem.usage",
        "system.uptime",
        "system.processes.count",
        "system.paging.faults",
    ] {
        assert!(metric(r, name).is_some(), "missing {name}");
    }
    let res = &cpu["resource"];
    assert!(res["host.name"].is_string());
    assert_eq!(res["os.type"], "linux");
    assert!(res.get("service.name").is_none() && res.get("container.id").is_none());
    if std::path::Path::new("/etc/machine-id").exists() {
        assert!(res["host.id"].is_string());
    }
    assert_eq!(cpu["scope"], "lookout/host");
}

#[test]
fn delta_temporality_and_zstd() {
    let rx = Receiver::start(0, None);
    let cfg = otlp_config(
        rx.port,
        "    compression: zstd\n    temporality: delta\n",
        "300ms",
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    let reqs = wait_for(Duration::from_secs(15), || {
        let r = rx.requests();
        (r.len() >= 2).then_some(r)
    })
    .unwrap();
    assert_eq!(a.stop(), 0);
    let r = &reqs[1];
    assert_eq!(r["encoding"], "zstd");
    assert!(r.get("decode_error").is_none(), "{r}");
    let cpu = metric(r, "system.cpu.time").expect("cpu time delta");
    assert_eq!(cpu["temporality"], 1, "monotonic sums as delta");
    for p in cpu["values"].as_array().unwrap() {
        assert!(p["start"].as_u64().unwrap() < p["time"].as_u64().unwrap());
        assert!(p["value"].as_f64().unwrap() >= 0.0);
        // a delta over ~300 ms cannot exceed a few seconds of CPU time
        assert!(p["value"].as_f64().unwrap() < 10.0, "{p}");
    }
    let mem = metric(r, "system.memory.usage").unwrap();
    assert_eq!(mem["temporality"], 2, "up-down sums stay cumulative");
}

#[test]
fn unreachable_endpoint_turns_health_503_then_recovers_with_one_log_line_each() {
    let port = free_port();
    let extra = "    health_threshold: 1s\n    timeout: 1s\n    retry: {initial_backoff: 100ms, max_backoff: 300ms}\n    circuit: {failures: 3, open_for: 300ms}\n";
    let mut a = Agent::start(Some(&otlp_config(port, extra, "200ms")), &[]);
    a.wait_ready();
    let (code, body) = wait_for(Duration::from_secs(8), || {
        let (c, b) = http_get(a.port, "/health")?;
        (c == 503).then_some((c, b))
    })
    .unwrap_or_else(|| panic!("/health never turned 503; stderr:\n{}", a.stderr()));
    assert_eq!(code, 503);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["failing"][0]["component"], "otlp");
    assert!(
        v["failing"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{body}"
    );
    let (_, status) = a.get("/status");
    assert!(
        !status.contains("secret-test-key"),
        "a secret leaked into /status"
    );

    // the backend comes up on that port: health returns to 200
    let rx = Receiver::start(port, None);
    wait_for(Duration::from_secs(10), || {
        let (c, _) = http_get(a.port, "/health")?;
        (c == 200).then_some(())
    })
    .unwrap_or_else(|| panic!("/health did not recover; stderr:\n{}", a.stderr()));
    assert!(!rx.requests().is_empty());
    assert_eq!(a.stop(), 0);
    let log = a.stderr();
    assert_eq!(
        log.matches("is failing").count(),
        1,
        "one line when failing starts:\n{log}"
    );
    assert_eq!(
        log.matches("recovered").count(),
        1,
        "one line at recovery:\n{log}"
    );
    assert!(!log.contains("panicked"));
}

#[test]
fn failing_backend_status_is_retried_and_reported() {
    let rx = Receiver::start(0, Some(503));
    let extra =
        "    health_threshold: 500ms\n    retry: {initial_backoff: 50ms, max_backoff: 100ms}\n";
    let mut a = Agent::start(Some(&otlp_config(rx.port, extra, "200ms")), &[]);
    a.wait_ready();
    let body = wait_for(Duration::from_secs(8), || {
        let (c, b) = http_get(a.port, "/health")?;
        (c == 503).then_some(b)
    })
    .unwrap();
    assert!(body.contains("HTTP 503"), "{body}");
    assert!(rx.requests().len() >= 2, "retried");
    assert_eq!(a.stop(), 0);
}

#[test]
fn sigterm_loses_no_batch_collected_before_the_signal() {
    let rx = Receiver::start(0, None);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("copy.jsonl");
    let cfg = format!(
        "{}  copy: {{type: file, inputs: [host], path: {}}}\n",
        otlp_config(rx.port, "    batch: {max_events: 1}\n", "100ms"),
        file.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    wait_for(Duration::from_secs(10), || {
        (rx.requests().len() >= 8).then_some(())
    })
    .unwrap();
    assert_eq!(a.stop(), 0);
    // every batch the source produced went to both sinks; the file has them all
    let written = std::fs::read_to_string(&file).unwrap().lines().count();
    let received: Vec<Value> = rx.requests();
    assert!(received.iter().all(|r| r["status"] == 200));
    assert_eq!(
        received.len(),
        written,
        "batches in the file vs batches the receiver decoded"
    );
    let points = |r: &Value| -> u64 {
        r["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["points"].as_u64().unwrap())
            .sum()
    };
    assert!(received.iter().all(|r| points(r) > 0));
}
