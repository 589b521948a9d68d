//! The apply path: a configuration that does not validate, one whose new sink cannot connect
//! and one whose new source yields no data are each refused, while the running pipeline keeps
//! delivering without a gap and the history records why; a good configuration applied under
//! load loses no acknowledged event and its listener keeps accepting.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The times (Unix ns) of the host samples the file sink has delivered, in order.
fn sample_times(path: &Path) -> Vec<u64> {
    let mut t: Vec<u64> = read_jsonl(path)
        .iter()
        .flat_map(|r| all_metrics(std::slice::from_ref(r)))
        .filter(|m| m["name"] == "system.memory.usage")
        .filter_map(|m| {
            m["sum"]["dataPoints"][0]["timeUnixNano"]
                .as_str()
                .and_then(|s| s.parse().ok())
        })
        .collect();
    t.sort_unstable();
    t.dedup();
    t
}

fn closed_port() -> u16 {
    // a port nobody listens on: bound, then released
    free_port()
}

fn apply(data: &str, dir: &Path, name: &str, text: &str) -> (i32, String) {
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    let (code, out, err) = lookout(&["--data-dir", data, "config", "apply", f.to_str().unwrap()]);
    (code, format!("{out}{err}"))
}

#[test]
fn bad_configurations_are_refused_and_the_running_pipeline_delivers_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let base = format!(
        "sources:\n  host: {{type: host_metrics, interval: 100ms, collectors: [memory]}}\nsinks:\n  f: {{type: file, inputs: [host], path: {}}}\n",
        out.display()
    );
    let mut agent = Agent::start(Some(&base), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    let dd = data.to_str().unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || (sample_times(&out).len() > 5)
            .then_some(()))
        .is_some()
    );
    let (_, st0) = agent.get("/status");
    let hash0 = serde_json::from_str::<serde_json::Value>(&st0).unwrap()["config_hash"].clone();
    let started = now_ns();

    // 1. does not validate
    let (code, msg) = apply(
        dd,
        dir.path(),
        "bad.yaml",
        &format!("{base}  extra: {{type: nonsense}}\n"),
    );
    assert_ne!(code, 0, "{msg}");
    // 2. a new sink that cannot connect
    let sink = format!(
        "{base}  nr:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{}\n",
        closed_port()
    );
    let (code, msg) = apply(dd, dir.path(), "sink.yaml", &sink);
    assert_ne!(code, 0, "{msg}");
    assert!(msg.contains("sink `nr` cannot connect"), "{msg}");
    // 3. a new source that yields no data
    let source = base
        .replace(
            "sinks:",
            &format!(
                "  cache: {{type: redis, endpoint: 127.0.0.1:{}, timeout: 1s}}\nsinks:",
                closed_port()
            ),
        )
        .replace("inputs: [host]", "inputs: [host, cache]");
    let (code, msg) = apply(dd, dir.path(), "source.yaml", &source);
    assert_ne!(code, 0, "{msg}");
    assert!(msg.contains("source `cache` yields no data"), "{msg}");
    // the same by SIGHUP: the file is refused the same way
    std::fs::write(agent.config_path(), &sink).unwrap();
    agent.signal("HUP");
    let h = wait_for(Duration::from_secs(15), || {
        let (_, t, _) = lookout(&["--data-dir", dd, "config", "history", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&t).ok()?;
        (v["entries"].as_array()?.len() >= 5).then_some(v)
    })
    .expect("the SIGHUP attempt is in the history");
    std::fs::write(agent.config_path(), &base).unwrap();

    let (_, st) = agent.get("/status");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&st).unwrap()["config_hash"],
        hash0,
        "nothing was applied"
    );
    let entries: Vec<(String, String)> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["result"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let rejected: Vec<&(String, String)> = entries.iter().filter(|e| e.0 == "rejected").collect();
    assert_eq!(rejected.len(), 4, "{entries:?}");
    assert!(
        rejected[0].1.contains("`extra` has no `inputs:`"),
        "{entries:?}"
    );
    assert!(
        rejected[1].1.contains("cannot connect") && rejected[3].1.contains("cannot connect"),
        "{entries:?}"
    );
    assert!(rejected[2].1.contains("yields no data"), "{entries:?}");

    // the running pipeline never stopped: samples every 100 ms across all of it
    std::thread::sleep(Duration::from_millis(500));
    let times: Vec<u64> = sample_times(&out)
        .into_iter()
        .filter(|t| *t >= started)
        .collect();
    let span = times.last().unwrap() - times.first().unwrap();
    assert!(
        times.len() >= 5 && span > 400_000_000,
        "{} samples over {} ms",
        times.len(),
        span / 1_000_000
    );
    let worst = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        worst < 1_000_000_000,
        "a gap of {} ms in delivery during the attempts",
        worst / 1_000_000
    );
    agent.stop();
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// One OTLP/JSON log record posted; Ok(status) or Err(why the connection failed).
fn post(port: u16, body: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status in {resp:?}"))
}

#[test]
fn a_good_configuration_applied_under_load_loses_nothing_and_keeps_accepting() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let port = free_port();
    let cfg = |extra: &str| {
        format!(
            "sources:\n  otlp: {{type: otlp, grpc: null, http: 127.0.0.1:{port}}}\n  host: {{type: host_metrics, interval: 1s, collectors: [memory]}}\n{extra}sinks:\n  f: {{type: file, inputs: [otlp, host], path: {}}}\n",
            out.display()
        )
    };
    let mut agent = Agent::start(Some(&cfg("")), &[]);
    agent.wait_ready();
    wait_component(&agent, "otlp");
    let data = agent.data_dir();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let (stop, acked, failures) = (stop.clone(), acked.clone(), failures.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = format!(
                    r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{{"stringValue":"event-{n}"}}}}]}}]}}]}}"#
                );
                match post(port, &body) {
                    Ok(200) => acked.lock().unwrap().push(n),
                    Ok(code) => failures
                        .lock()
                        .unwrap()
                        .push(format!("event-{n}: HTTP {code}")),
                    Err(e) => failures.lock().unwrap().push(format!("event-{n}: {e}")),
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // a good change under load: another source and a different interval
    let good = cfg("  more: {type: host_metrics, interval: 300ms, collectors: [load]}\n")
        .replace("inputs: [otlp, host]", "inputs: [otlp, host, more]");
    let f = dir.path().join("good.yaml");
    std::fs::write(&f, &good).unwrap();
    let t = Instant::now();
    let (code, o, e) = lookout(&[
        "--data-dir",
        data.to_str().unwrap(),
        "config",
        "apply",
        f.to_str().unwrap(),
    ]);
    eprintln!("config apply (checks + swap) took {:?}", t.elapsed());
    assert_eq!(code, 0, "{o}{e}");
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "the listener refused or failed during the swap: {failures:?}"
    );
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "{}", acked.len());
    // every acknowledged event was delivered
    let delivered = wait_for(Duration::from_secs(15), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let missing: Vec<u64> = acked
            .iter()
            .copied()
            .filter(|n| !text.contains(&format!("\"event-{n}\"")))
            .collect();
        missing.is_empty().then_some(())
    });
    if delivered.is_none() {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let missing: Vec<u64> = acked
            .iter()
            .copied()
            .filter(|n| !text.contains(&format!("\"event-{n}\"")))
            .collect();
        panic!(
            "{} acknowledged events never delivered: {:?}",
            missing.len(),
            &missing[..missing.len().min(20)]
        );
    }
    let (_, st) = agent.get("/status");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&st).unwrap()["reloads"]["applied"],
        1
    );
    agent.stop();
}
