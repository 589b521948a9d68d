use crate::support::*;
use std::time::Duration;

/// A fresh `lookout run` with no config file collects host metrics, answers /health with 200
/// and serves Prometheus pages that promtool accepts.
#[test]
fn default_config_runs_and_serves_valid_prometheus() {
    let mut a = Agent::start(None, &[]);
    let ready = a.wait_ready();
    eprintln!("time to first /health answer: {ready:?}");
    let (code, body) = a.get("/health");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"ok\""));

    // the first collection happens at start; wait for it to reach the page
    let port = a.port;
    let page = wait_for(Duration::from_secs(10), || {
        let (c, b) = http_get(port, "/metrics/host")?;
        (c == 200 && b.contains("system_memory_usage_bytes")).then_some(b)
    })
    .unwrap_or_else(|| panic!("no host metrics; stderr:\n{}", a.stderr()));
    for family in [
        "system_cpu_time_seconds_total",
        "system_cpu_load_average_1m",
        "system_memory_usage_bytes",
        "system_filesystem_usage_bytes",
        "system_network_io_bytes_total",
        "system_disk_io_bytes_total",
        "system_uptime_seconds",
        "system_processes_count_process",
        "target_info",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "missing {family} in:\n{page}"
        );
    }
    promtool_check(&page).unwrap_or_else(|e| panic!("promtool rejects /metrics/host:\n{e}"));

    let (code, own) = a.get("/metrics");
    assert_eq!(code, 200);
    for family in [
        "lookout_component_sent_items_total",
        "lookout_component_batch_duration_seconds",
        "lookout_buffer_batches",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ] {
        assert!(
            own.contains(&format!("# TYPE {family} ")),
            "missing {family}"
        );
    }
    assert!(own.contains("component_id=\"host\""));
    promtool_check(&own).unwrap_or_else(|e| panic!("promtool rejects /metrics:\n{e}"));

    let (code, status) = a.get("/status");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["healthy"], true);
    assert_eq!(v["config_origin"], "<embedded default>");
    assert_eq!(v["components"].as_array().unwrap().len(), 2);
    assert_eq!(a.stop(), 0);
    assert!(
        !a.data_dir().join("agent.json").exists(),
        "agent.json removed at exit"
    );
}

/// A second agent on the same data directory refuses to start.
#[test]
fn second_agent_on_same_data_dir_is_refused() {
    let mut a = Agent::start(None, &[]);
    a.wait_ready();
    let (code, _, err) = lookout(&[
        "run",
        "--data-dir",
        a.data_dir().to_str().unwrap(),
        "--set",
        &format!("server.listen=127.0.0.1:{}", free_port()),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("another lookout agent is running"), "{err}");
    assert_eq!(a.stop(), 0);
}
