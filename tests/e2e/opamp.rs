//! OpAMP: a local OpAMP server (tests/support/opamp_server.py, built on the protobuf
//! definitions of PyPI's `opentelemetry-opamp-client`) receives lookout's status, health,
//! effective configuration and inventory, and serves remote configurations with their
//! signature in a custom message: valid ones are applied and reported APPLIED; tampered,
//! unknown-key, expired, older and other-host ones are reported FAILED with the reason; a key
//! rotation works; with the server down, backoff and the circuit show in `status`. A secret in
//! the configuration never reaches the server.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Server {
    _py: PyServer,
    port: u16,
    plan: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        require_py(
            "opentelemetry._opamp.proto.opamp_pb2",
            "opentelemetry-opamp-client",
        );
        let plan = dir.join("plan.json");
        let log = dir.join("opamp.log");
        let py = PyServer::start(
            "opamp_server.py",
            &[
                "--plan".as_ref(),
                plan.as_os_str(),
                "--log".as_ref(),
                log.as_os_str(),
            ],
        );
        let port = py.port;
        Server {
            _py: py,
            port,
            plan,
            log,
        }
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn serve(&self, plan: &serde_json::Value) {
        let tmp = self.plan.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(plan).unwrap()).unwrap();
        std::fs::rename(&tmp, &self.plan).unwrap();
    }

    /// The remote config status of the latest message (after `after` messages).
    fn wait_status(
        &self,
        after: usize,
        what: &str,
        f: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        wait_for(Duration::from_secs(20), || {
            let m = self.messages();
            m.iter()
                .skip(after)
                .filter_map(|x| x.get("remote_config_status"))
                .find(|s| f(s))
                .cloned()
        })
        .unwrap_or_else(|| {
            panic!(
                "the server never saw {what}: {:#?}",
                self.messages()
                    .last()
                    .map(|m| m["remote_config_status"].clone())
            )
        })
    }
}

const SECRET: &str = "s3cr3t-opamp-value-9f2c";

fn remote_config(dir: &Path, n: u64) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: 200ms, collectors: [memory]}}\nsinks:\n  remote: {{type: file, inputs: [host], path: {}}}\n  nr:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:9\n    headers: {{api-key: \"${{file:{}}}\"}}\napply: {{checks: false}}\nshutdown_grace: 500ms\n",
        dir.join(format!("remote-{n}.jsonl")).display(),
        dir.join("secret").display()
    )
}

fn plan(dir: &Path, text: &str, key: &str, version: u64, extra: &[&str]) -> serde_json::Value {
    let f = dir.join("to-sign.yaml");
    std::fs::write(&f, text).unwrap();
    let sig = dir.join("to-sign.sig");
    let v = version.to_string();
    let mut args = vec![
        "config",
        "sign",
        f.to_str().unwrap(),
        "--key",
        key,
        "--out",
        sig.to_str().unwrap(),
        "--config-version",
        v.as_str(),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = lookout(&args);
    assert_eq!(code, 0, "{out}{err}");
    let signature: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sig).unwrap()).unwrap();
    serde_json::json!({"config": text, "signature": signature})
}

fn remote_status(agent: &Agent) -> serde_json::Value {
    let (_, body) = agent.get("/status");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["remote"].clone()
}

#[test]
fn an_opamp_server_manages_the_agent_and_every_refusal_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("secret"), SECRET).unwrap();
    std::fs::set_permissions(
        d.join("secret"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let keys = d.join("keys");
    for (id, alg) in [
        ("k1", "ed25519"),
        ("k2", "ecdsa-p256"),
        ("stranger", "ed25519"),
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
    let local = format!(
        "shutdown_grace: 500ms\nremote:\n  protocol: opamp\n  url: http://127.0.0.1:{}/v1/opamp\n  interval: 300ms\n  timeout: 1s\n  trusted_keys: [{}, {}]\n  initial_backoff: 100ms\n  max_backoff: 300ms\n  circuit_failures: 3\n  open_for: 3s\nsources:\n  host: {{type: host_metrics, interval: 200ms, collectors: [memory]}}\nsinks:\n  local: {{type: file, inputs: [host], path: {}}}\n  nr:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:9\n    headers: {{api-key: \"${{file:{}}}\"}}\n",
        server.port,
        keys.join("k1.pub").display(),
        keys.join("k2.pub").display(),
        d.join("local.jsonl").display(),
        d.join("secret").display()
    );
    let data = d.join("state");
    let mut agent = Agent::start_in(Some(&local), Some(&data), &[]);
    agent.wait_ready();

    // the reports: who, health per component, the effective configuration, the inventory
    let first = wait_for(Duration::from_secs(20), || {
        server
            .messages()
            .into_iter()
            .find(|m| m["custom_message"].is_object())
    })
    .unwrap_or_else(|| {
        panic!(
            "no inventory: {:?}\n{}",
            server.messages().len(),
            agent.stderr()
        )
    });
    let m = &first;
    assert_eq!(m["content_type"], "application/x-protobuf");
    assert_eq!(m["identifying"]["service.name"], "lookout");
    assert_eq!(
        m["identifying"]["service.instance.id"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    assert_eq!(m["instance_uid"], m["identifying"]["service.instance.id"]);
    assert!(
        m["non_identifying"]["host.name"].is_string()
            && m["non_identifying"]["lookout.config_hash"].is_string(),
        "{m}"
    );
    assert_eq!(
        m["capabilities"].as_u64().unwrap() & 0x1807,
        0x1807,
        "status, remote config, effective config, health, remote config status"
    );
    assert!(
        m["health"]["components"]["host"]["status"]
            .as_str()
            .unwrap()
            .contains("sent="),
        "{m}"
    );
    assert!(
        m["effective_config"][""]
            .as_str()
            .unwrap()
            .contains("local.jsonl"),
        "{m}"
    );
    assert_eq!(m["custom_message"]["capability"], "io.lookout.inventory");
    let inventory: serde_json::Value =
        serde_json::from_str(m["custom_message"]["data"].as_str().unwrap()).unwrap();
    let kinds: Vec<String> = inventory
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].to_string().to_lowercase())
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| k.contains("redis") || k.contains("mysql") || k.contains("postgres")),
        "the machine's services: {kinds:?}"
    );
    assert!(m["custom_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "io.lookout.config-signature"));

    // version 1: applied, reported APPLIED with the server's hash
    let n = server.messages().len();
    server.serve(&plan(d, &remote_config(d, 1), &key("k1"), 1, &[]));
    let s = server.wait_status(n, "APPLIED", |s| {
        s["status"] == "RemoteConfigStatuses_APPLIED"
    });
    let plan_hash = {
        use sha2::Digest;
        let raw = std::fs::read(&server.plan).unwrap();
        sha2::Sha256::digest(&raw)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(s["hash"], plan_hash);
    assert_eq!(remote_status(&agent)["applied_version"], 1);
    assert!(wait_for(Duration::from_secs(10), || std::fs::metadata(
        d.join("remote-1.jsonl")
    )
    .ok())
    .is_some());
    let eff = wait_for(Duration::from_secs(10), || {
        server
            .messages()
            .into_iter()
            .rev()
            .find_map(|m| m["effective_config"][""].as_str().map(str::to_string))
            .filter(|e| e.contains("remote-1.jsonl"))
    });
    assert!(
        eff.is_some(),
        "the effective configuration reported is the remote one"
    );

    // refusals, each reported FAILED with its reason
    let mut tampered = plan(d, &remote_config(d, 2), &key("k1"), 2, &[]);
    tampered["config"] = serde_json::json!(remote_config(d, 666));
    let expired = plan(d, &remote_config(d, 4), &key("k1"), 4, &["--expires", "1s"]);
    std::thread::sleep(Duration::from_millis(1100));
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (tampered, "bad_signature"),
        (
            plan(d, &remote_config(d, 3), &key("stranger"), 3, &[]),
            "unknown_key",
        ),
        (expired, "expired"),
        (
            plan(d, &remote_config(d, 1), &key("k1"), 1, &[]),
            "older_version",
        ),
        (
            plan(
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
    for (p, reason) in cases {
        let n = server.messages().len();
        server.serve(&p);
        let s = server.wait_status(n, reason, |s| {
            s["status"] == "RemoteConfigStatuses_FAILED"
                && s["error"].as_str().unwrap_or("").starts_with(reason)
        });
        assert!(!s["error"].as_str().unwrap().is_empty());
        assert_eq!(remote_status(&agent)["applied_version"], 1, "{reason}");
    }
    assert!(!d.join("remote-666.jsonl").exists());

    // rotation: the second trusted key
    let n = server.messages().len();
    server.serve(&plan(d, &remote_config(d, 6), &key("k2"), 6, &[]));
    server.wait_status(n, "APPLIED after rotation", |s| {
        s["status"] == "RemoteConfigStatuses_APPLIED"
    });
    assert_eq!(remote_status(&agent)["applied_version"], 6);

    // nothing the agent sent holds the secret
    for m in server.messages() {
        assert!(
            !m["raw"].as_str().unwrap_or("").contains(SECRET),
            "the secret reached the OpAMP server"
        );
    }
    assert!(server
        .messages()
        .iter()
        .all(|m| m.get("decode_error").is_none()));

    // server down: backoff, then the circuit opens, visible in status
    drop(server);
    let r = wait_for(Duration::from_secs(20), || {
        let r = remote_status(&agent);
        (r["state"] == "open").then_some(r)
    })
    .unwrap_or_else(|| panic!("never open: {}", remote_status(&agent)));
    assert!(r["failures"].as_u64().unwrap() >= 3);
    agent.stop();
}
