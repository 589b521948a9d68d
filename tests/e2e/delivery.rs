//! Durable delivery: the disk buffer through outages, crashes and a full disk; 429 with
//! Retry-After; 400 to the dead-letter directory and `lookout dlq replay`.

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

/// The time of each host-metrics batch a receiver decoded, in arrival order.
fn received_times(rx: &Receiver) -> Vec<u64> {
    let mut out = Vec::new();
    for r in rx.requests().iter().filter(|r| r["status"] == 200) {
        for m in r["metrics"].as_array().into_iter().flatten() {
            if m["name"] == "system.uptime" {
                for v in m["values"].as_array().unwrap() {
                    out.push(v["time"].as_u64().unwrap());
                }
            }
        }
    }
    out
}

/// The time of each batch the witness file sink wrote.
fn witness_times(path: &std::path::Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        }; // a line torn by kill -9
        for rm in v["resourceMetrics"].as_array().into_iter().flatten() {
            for sm in rm["scopeMetrics"].as_array().unwrap() {
                for m in sm["metrics"].as_array().unwrap() {
                    if m["name"] == "system.uptime" {
                        for p in m["gauge"]["dataPoints"].as_array().unwrap() {
                            out.push(p["timeUnixNano"].as_str().unwrap().parse().unwrap());
                        }
                    }
                }
            }
        }
    }
    out
}

fn config(port: u16, witness: &std::path::Path, interval: &str, extra_buffer: &str) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: {interval}, collectors: [uptime, load, memory]}}\n\
         sinks:\n  otlp:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{port}\n    compression: none\n    health_threshold: 1s\n    timeout: 1s\n    retry: {{initial_backoff: 50ms, max_backoff: 200ms}}\n    circuit: {{failures: 3, open_for: 300ms}}\n    batch: {{timeout: 50ms}}\n    buffer: {{type: disk{extra_buffer}}}\n  witness: {{type: file, inputs: [host], path: {}}}\n",
        witness.display()
    )
}

fn gauge(metrics: &str, name: &str, component: &str) -> Option<f64> {
    let prefix = format!("{name}{{component_id=\"{component}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
}

#[test]
fn outage_queues_on_disk_then_drains_in_order_without_loss() {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let witness = tmp.path().join("witness.jsonl");
    let mut a = Agent::start(Some(&config(port, &witness, "100ms", "")), &[]);
    a.wait_ready();
    // backend down: /health turns 503 and the queue grows on disk
    wait_for(Duration::from_secs(10), || {
        (http_get(a.port, "/health")?.0 == 503).then_some(())
    })
    .unwrap_or_else(|| panic!("no 503; stderr:\n{}", a.stderr()));
    let queued = wait_for(Duration::from_secs(10), || {
        let (_, m) = http_get(a.port, "/metrics")?;
        gauge(&m, "lookout_buffer_events", "otlp").filter(|v| *v >= 20.0)
    })
    .unwrap_or_else(|| panic!("queue did not grow; stderr:\n{}", a.stderr()));
    let seg: u64 = std::fs::read_dir(a.data_dir().join("buffers/otlp"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "wal"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(seg > 0, "segments on disk");
    eprintln!("queued {queued} events, {seg} bytes on disk");
    // backend back: the queue drains and health returns
    let rx = Receiver::start(port, None);
    wait_for(Duration::from_secs(20), || {
        let (_, m) = http_get(a.port, "/metrics")?;
        // drained: no backlog left (new batches keep arriving every 100 ms)
        (gauge(&m, "lookout_buffer_oldest_age_seconds", "otlp")? < 1.0
            && http_get(a.port, "/health")?.0 == 200)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("did not drain; stderr:\n{}", a.stderr()));
    let got = received_times(&rx);
    let seen = witness_times(&witness);
    // every batch collected (and written by the witness) before the drain was delivered
    let drained_at = *got.last().unwrap();
    let missing: Vec<_> = seen
        .iter()
        .filter(|t| **t <= drained_at && !got.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "{} batches lost: {missing:?}",
        missing.len()
    );
    // in order, and nothing twice
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "delivered out of order or twice"
    );
    assert_eq!(a.stop(), 0);
    assert!(rx
        .requests()
        .iter()
        .all(|r| r.get("decode_error").is_none()));
}

#[test]
fn kill_9_twenty_times_loses_nothing_accepted() {
    let port = free_port();
    let rx = Receiver::start(port, None);
    let tmp = tempfile::tempdir().unwrap();
    let witness = tmp.path().join("witness.jsonl");
    let cfg = config(port, &witness, "100ms", ", fsync: always");
    let data = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("c.yaml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let log = tmp.path().join("agent.log");
    let start = |data: &std::path::Path| {
        let p = free_port();
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(bin())
            .args([
                "run",
                "--config",
                cfg_path.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .args(["--set", &format!("server.listen=127.0.0.1:{p}")])
            .stderr(err)
            .spawn()
            .unwrap();
        (child, p)
    };
    let crashes = 20;
    for i in 0..crashes {
        let (mut child, p) = start(data.path());
        if wait_for(Duration::from_secs(10), || http_get(p, "/health")).is_none() {
            let _ = child.kill();
            panic!(
                "agent not up after crash {i}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        // a different point in the cycle each time
        std::thread::sleep(Duration::from_millis(300 + (i * 53) % 600));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // one last clean run drains whatever the crashes left queued
    let (mut child, p) = start(data.path());
    wait_for(Duration::from_secs(30), || {
        let (_, m) = http_get(p, "/metrics")?;
        (gauge(&m, "lookout_buffer_events", "otlp")? == 0.0).then_some(())
    })
    .expect("queue drained after the crashes");
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    child.wait().unwrap();

    let got = received_times(&rx);
    let seen = witness_times(&witness);
    let got_set: BTreeSet<u64> = got.iter().copied().collect();
    let mut counts: BTreeMap<u64, u32> = BTreeMap::new();
    for t in &got {
        *counts.entry(*t).or_default() += 1;
    }
    let duplicates: u32 = counts.values().map(|c| c - 1).sum();
    let missing = seen.iter().filter(|t| !got_set.contains(t)).count();
    eprintln!(
        "{crashes} crashes: {} batches collected, {} delivered, {duplicates} duplicate(s), {missing} not delivered",
        seen.len(),
        got.len()
    );
    assert!(seen.len() >= 20, "enough load: {}", seen.len());
    // at-least-once: a batch may be sent again if the crash came between delivery and the
    // durable acknowledgement (at most one request per crash); a batch can be missing only if
    // the crash came after the witness wrote it and before the disk buffer accepted it
    assert!(
        duplicates as usize <= crashes as usize * 2,
        "{duplicates} duplicates"
    );
    assert!(
        missing <= crashes as usize,
        "{missing} batches lost across {crashes} crashes"
    );
}

#[test]
fn full_disk_degrades_and_recovers_without_corruption() {
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: needs root to mount a size-limited tmpfs");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=3m,mode=0700",
            "tmpfs",
            mnt.path().to_str().unwrap(),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: mount -t tmpfs is not permitted here");
        return;
    }
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _guard = Umount(mnt.path().to_path_buf());
    let port = free_port();
    let cfg = format!(
        "sources:\n  procs: {{type: process_metrics, interval: 100ms, top_n: 200, lifecycle_events: false}}\n\
         sinks:\n  otlp:\n    type: otlp_http\n    inputs: [procs]\n    endpoint: http://127.0.0.1:{port}\n    health_threshold: 500ms\n    retry: {{initial_backoff: 50ms, max_backoff: 200ms}}\n    circuit: {{failures: 0}}\n    buffer: {{type: disk, max_bytes: 67108864, fsync: always}}\n"
    );
    let mut a = Agent::start_in(Some(&cfg), Some(mnt.path()), &[]);
    a.wait_ready();
    wait_for(Duration::from_secs(60), || {
        let (_, m) = http_get(a.port, "/metrics")?;
        (gauge(&m, "lookout_buffer_no_space", "otlp")? == 1.0).then_some(())
    })
    .unwrap_or_else(|| panic!("the disk never filled; stderr:\n{}", a.stderr()));
    let (code, body) = a.get("/health");
    assert_eq!(code, 503, "{body}");
    let (_, status) = a.get("/status");
    assert!(
        status.contains("\"lookout_buffer_no_space\":1.0"),
        "status reports it: {status}"
    );
    assert!(
        a.stderr().contains("cannot write"),
        "logged: {}",
        a.stderr()
    );
    // space comes back as the backend drains the queue
    let rx = Receiver::start(port, None);
    wait_for(Duration::from_secs(60), || {
        let (_, m) = http_get(a.port, "/metrics")?;
        (gauge(&m, "lookout_buffer_no_space", "otlp")? == 0.0
            && http_get(a.port, "/health")?.0 == 200)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("did not recover; stderr:\n{}", a.stderr()));
    assert_eq!(a.stop(), 0);
    let reqs = rx.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter().all(|r| r.get("decode_error").is_none()),
        "every queued record is intact OTLP"
    );
    let log = a.stderr();
    assert!(!log.contains("corrupt"), "{log}");
}

#[test]
fn retry_after_on_429_is_honoured() {
    let rx = Receiver::start_with(0, Some(429), &["--fail-first", "1", "--retry-after", "2"]);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = format!(
        "sources:\n  host: {{type: host_metrics, interval: 10s, collectors: [uptime]}}\nsinks:\n  otlp:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{}\n    retry: {{initial_backoff: 10ms, max_backoff: 10s}}\n  witness: {{type: file, inputs: [host], path: {}}}\n",
        rx.port,
        tmp.path().join("w.jsonl").display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    let reqs = wait_for(Duration::from_secs(15), || {
        let r = rx.requests();
        (r.len() >= 2).then_some(r)
    })
    .unwrap();
    assert_eq!(reqs[0]["status"], 429);
    assert_eq!(reqs[1]["status"], 200);
    let gap = reqs[1]["at"].as_f64().unwrap() - reqs[0]["at"].as_f64().unwrap();
    assert!(
        (1.9..6.0).contains(&gap),
        "second attempt {gap:.2}s after the 429 (Retry-After: 2)"
    );
    assert_eq!(a.stop(), 0);
}

#[test]
fn bad_request_is_dead_lettered_and_replayed() {
    let bad = Receiver::start_with(0, Some(400), &["--fail-first", "1"]);
    let cfg = format!(
        "sources:\n  host: {{type: host_metrics, interval: 10s, collectors: [uptime, load]}}\nsinks:\n  otlp:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{}\n",
        bad.port
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    let dd = a.data_dir();
    let d = dd.to_str().unwrap();
    let entries = wait_for(Duration::from_secs(10), || {
        let (_, out, _) = lookout(&["dlq", "list", "--json", "--data-dir", d]);
        let v: Value = serde_json::from_str(&out).ok()?;
        (!v.as_array()?.is_empty()).then_some(v)
    })
    .unwrap_or_else(|| panic!("nothing dead-lettered; stderr:\n{}", a.stderr()));
    assert_eq!(a.stop(), 0);
    let e = &entries[0];
    assert_eq!(e["status"], 400);
    assert_eq!(e["sink"], "otlp");
    assert!(e["reason"].as_str().unwrap().contains("HTTP 400"));
    let id = e["id"].as_str().unwrap();
    let (code, shown, _) = lookout(&["dlq", "show", id, "--data-dir", d]);
    assert_eq!(code, 0);
    assert!(shown.contains("valid OTLP"), "{shown}");
    // replay to a working endpoint: delivered and removed; a second replay sends nothing
    let good = Receiver::start(0, None);
    let to = format!("http://127.0.0.1:{}", good.port);
    let (code, out, err) = lookout(&["dlq", "replay", "--to", &to, "--json", "--data-dir", d]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["failed"], 0);
    assert_eq!(v["results"][0]["replayed"], true);
    assert_eq!(good.requests().len(), 1);
    assert!(good.requests()[0]["metrics"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    let (code, out, _) = lookout(&["dlq", "replay", "--to", &to, "--json", "--data-dir", d]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 0, "idempotent");
    assert_eq!(good.requests().len(), 1);
    let (_, out, _) = lookout(&["dlq", "list", "--data-dir", d]);
    assert!(out.contains("no dead-lettered batch"), "{out}");
}
