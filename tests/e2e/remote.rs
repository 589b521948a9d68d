//! Remote configuration: a local endpoint (tests/support/remote_config_server.py, the contract
//! of docs/remote-config.md) serves signed bundles made with `lookout config sign`; the agent
//! applies the valid ones, refuses the tampered, unknown-key, expired, older and other-host
//! ones with their reason, follows a key rotation, backs off and opens its circuit when the
//! endpoint is down, and starts offline on the last good configuration.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Server {
    _py: PyServer,
    port: u16,
    bundle: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let bundle = dir.join("bundle.json");
        let log = dir.join("server.log");
        let py = PyServer::start(
            "remote_config_server.py",
            &[
                "--bundle".as_ref(),
                bundle.as_os_str(),
                "--log".as_ref(),
                log.as_os_str(),
            ],
        );
        let port = py.port;
        Server {
            _py: py,
            port,
            bundle,
            log,
        }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn remote_config(dir: &Path, n: u64) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: 200ms, collectors: [memory]}}\nsinks:\n  remote: {{type: file, inputs: [host], path: {}}}\n",
        dir.join(format!("remote-{n}.jsonl")).display()
    )
}

/// A bundle: the text signed by `key` with `lookout config sign`.
fn bundle(dir: &Path, text: &str, key: &str, version: u64, extra: &[&str]) -> serde_json::Value {
    let f = dir.join("to-sign.yaml");
    std::fs::write(&f, text).unwrap();
    let sig = dir.join("to-sign.sig");
    let mut args = vec![
        "config",
        "sign",
        f.to_str().unwrap(),
        "--key",
        key,
        "--out",
        sig.to_str().unwrap(),
    ];
    let v = version.to_string();
    args.extend(["--config-version", v.as_str()]);
    args.extend_from_slice(extra);
    let (code, out, err) = lookout(&args);
    assert_eq!(code, 0, "{out}{err}");
    let signature: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sig).unwrap()).unwrap();
    serde_json::json!({"config": text, "signature": signature})
}

fn serve(s: &Server, b: &serde_json::Value) {
    let tmp = s.bundle.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(b).unwrap()).unwrap();
    std::fs::rename(&tmp, &s.bundle).unwrap();
}

fn remote_status(agent: &Agent) -> serde_json::Value {
    let (_, body) = agent.get("/status");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["remote"].clone()
}

fn wait_remote(
    agent: &Agent,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait_for(Duration::from_secs(20), || {
        let r = remote_status(agent);
        f(&r).then_some(r)
    })
    .unwrap_or_else(|| {
        panic!(
            "remote never {what}: {:#}\n{}",
            remote_status(agent),
            agent.stderr()
        )
    })
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn signed_remote_configurations_are_applied_or_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    for (id, alg) in [
        ("k1", "ecdsa-p256"),
        ("k2", "ed25519"),
        ("stranger", "ecdsa-p256"),
    ] {
        let (code, _, err) = lookout(&[
            "config",
            "keygen",
            "--key-id",
            id,
            "--algorithm",
            alg,
            "--out",
            keys.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let key = |id: &str| keys.join(format!("{id}.key")).display().to_string();
    let server = Server::start(d);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let local = format!(
        "remote:\n  url: http://127.0.0.1:{}/config\n  interval: 300ms\n  timeout: 1s\n  trusted_keys: [{}, {}]\n  initial_backoff: 100ms\n  max_backoff: 300ms\n  circuit_failures: 3\n  open_for: 3s\nsources:\n  host: {{type: host_metrics, interval: 200ms, collectors: [memory]}}\nsinks:\n  local: {{type: file, inputs: [host], path: {}}}\n",
        server.port,
        keys.join("k1.pub").display(),
        keys.join("k2.pub").display(),
        d.join("local.jsonl").display()
    );
    // version 1, for this host among others
    let pattern = format!("{}*", &host[..host.len().min(3)]);
    serve(
        &server,
        &bundle(
            d,
            &remote_config(d, 1),
            &key("k1"),
            1,
            &["--hosts", &format!("other-host,{pattern}")],
        ),
    );
    let data = d.join("state");
    let mut agent = Agent::start_in(Some(&local), Some(&data), &[]);
    agent.wait_ready();
    let r = wait_remote(&agent, "applied version 1", |r| r["applied_version"] == 1);
    assert_eq!(r["state"], "ok", "{r}");
    assert!(
        wait_for(Duration::from_secs(10), || (lines(
            &d.join("remote-1.jsonl")
        ) > 0)
            .then_some(()))
        .is_some(),
        "the remote pipeline runs"
    );
    // the same bundle again: 304 Not Modified, nothing re-applied
    let r = wait_remote(&agent, "saw 304", |r| {
        r["not_modified"].as_u64().unwrap_or(0) >= 2
    });
    assert_eq!(r["applied_version"], 1);
    assert!(server
        .requests()
        .iter()
        .any(|q| q["status"] == 304 && q["if_none_match"].is_string()));

    // each bad bundle is refused with its reason; version 1 keeps running
    let mut tampered = bundle(d, &remote_config(d, 2), &key("k1"), 2, &[]);
    tampered["config"] = serde_json::json!(remote_config(d, 666));
    let expired = bundle(d, &remote_config(d, 4), &key("k1"), 4, &["--expires", "1s"]);
    std::thread::sleep(Duration::from_millis(1100));
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (tampered, "bad_signature"),
        (
            bundle(d, &remote_config(d, 3), &key("stranger"), 3, &[]),
            "unknown_key",
        ),
        (expired, "expired"),
        (
            bundle(d, &remote_config(d, 1), &key("k1"), 1, &[]),
            "older_version",
        ),
        (
            bundle(
                d,
                &remote_config(d, 5),
                &key("k1"),
                5,
                &["--hosts", "no-such-host-*"],
            ),
            "wrong_host",
        ),
        (
            serde_json::json!({"config": remote_config(d, 7), "signature": null}),
            "unsigned",
        ),
    ];
    for (b, reason) in cases {
        serve(&server, &b);
        let want = b["signature"]["version"].clone();
        let r = wait_remote(&agent, &format!("refused with {reason}"), |r| {
            r["last_rejection"]["reason"] == reason
                && (want.is_null() || r["last_rejection"]["version"] == want)
        });
        assert_eq!(r["applied_version"], 1, "{reason}: {r}");
        assert!(!d.join("remote-666.jsonl").exists());
    }
    // rotation: version 6 signed by the second trusted key
    let start = Instant::now();
    serve(
        &server,
        &bundle(d, &remote_config(d, 6), &key("k2"), 6, &[]),
    );
    wait_remote(&agent, "applied version 6", |r| r["applied_version"] == 6);
    let served_to_running = start.elapsed();
    assert!(wait_for(Duration::from_secs(10), || (lines(
        &d.join("remote-6.jsonl")
    ) > 0)
        .then_some(()))
    .is_some());
    eprintln!("remote config served -> running: {served_to_running:?} (poll interval 300 ms)");
    // history and audit say what happened
    let (_, h, _) = lookout(&[
        "--data-dir",
        data.to_str().unwrap(),
        "config",
        "history",
        "--json",
    ]);
    let h: serde_json::Value = serde_json::from_str(&h).unwrap();
    let origins: Vec<String> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["origin"].as_str().unwrap(),
                e["result"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "remote version 1 applied",
        "remote version 2 rejected",
        "remote version 6 applied",
    ] {
        assert!(
            origins.iter().any(|o| o == want),
            "{want} not in {origins:?}"
        );
    }
    let (_, audit, _) = lookout(&[
        "--data-dir",
        data.to_str().unwrap(),
        "audit",
        "--kind",
        "remote",
    ]);
    assert!(
        audit.contains("version 6 (key k2) applied") && audit.contains("refused (expired)"),
        "{audit}"
    );

    // the endpoint goes away: backoff, then the circuit opens
    drop(server);
    wait_remote(&agent, "backed off", |r| {
        r["state"] == "backoff" || r["state"] == "open"
    });
    let r = wait_remote(&agent, "opened its circuit", |r| r["state"] == "open");
    assert!(r["failures"].as_u64().unwrap() >= 3, "{r}");
    assert!(
        r["last_error"].as_str().unwrap().contains("no answer"),
        "{r}"
    );
    assert_eq!(r["applied_version"], 6);
    let (_, status, _) = lookout(&["--data-dir", data.to_str().unwrap(), "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        status["remote"]["state"], "open",
        "lookout status shows it: {status}"
    );
    agent.stop();

    // offline start: the last good configuration runs at once
    let before = lines(&d.join("remote-6.jsonl"));
    let mut agent = Agent::start_in(Some(&local), Some(&data), &[]);
    agent.wait_ready();
    assert_eq!(remote_status(&agent)["applied_version"], 6);
    assert!(
        wait_for(Duration::from_secs(10), || (lines(
            &d.join("remote-6.jsonl")
        ) > before)
            .then_some(()))
        .is_some(),
        "version 6 runs offline"
    );
    agent.stop();
}
