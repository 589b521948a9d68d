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
