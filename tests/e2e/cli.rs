//! The CLI around a running agent: status, diagnose, config show/validate, version, completions.

use crate::support::*;
use std::process::{Command, Stdio};

#[test]
fn status_without_agent_says_so_with_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = lookout(&["status", "--data-dir", d.path().to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert!(err.contains("no lookout agent is running"), "{err}");
}

#[test]
fn status_reports_the_running_agent_in_text_and_json() {
    let mut a = Agent::start(None, &[]);
    a.wait_ready();
    let dd = a.data_dir();
    let (code, out, err) = lookout(&["status", "--data-dir", dd.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("healthy"), "{out}");
    assert!(
        out.contains("host_metrics") && out.contains("prometheus"),
        "{out}"
    );
    let (code, out, _) = lookout(&["status", "--json", "--data-dir", dd.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    // a closed pipe is not an error
    let sh = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} status --json --data-dir {} | head -c 1",
            bin(),
            dd.display()
        ))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(sh.status.success());
    assert!(
        String::from_utf8_lossy(&sh.stderr).is_empty(),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
    assert_eq!(a.stop(), 0);
}

#[test]
fn config_show_masks_secrets_and_validate_accepts_the_default() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "policy: {allow_plaintext_secrets: true}\nsources:\n  host: {type: host_metrics}\nsinks:\n  nr:\n    type: otlp_http\n    inputs: [host]\n    endpoint: https://user:pw-secret@otlp.nr-data.net\n    headers: {api-key: \"${env:LOOKOUT_TEST_LICENSE}\"}\n",
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["config", "show", "--config", cfg.to_str().unwrap()])
        .env("LOOKOUT_TEST_LICENSE", "NRAK-very-secret-value")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        !out.contains("very-secret") && !out.contains("pw-secret"),
        "{out}"
    );
    assert!(out.contains("api-key: \"***\""), "{out}");
    // without the allowance, the policy refuses the password written in the URL, and the
    // error does not repeat it
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("policy: {allow_plaintext_secrets: true}\n", ""),
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["config", "validate", "--config", cfg.to_str().unwrap()])
        .env("LOOKOUT_TEST_LICENSE", "NRAK-very-secret-value")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("password in plain text"), "{err}");
    assert!(!err.contains("pw-secret"), "{err}");
    let (code, out, _) = lookout(&["config", "validate"]);
    assert_eq!(code, 0);
    assert!(out.contains("<embedded default>: valid"), "{out}");
    let (code, out, _) = lookout(&[
        "config",
        "show",
        "--json",
        "--set",
        "sources.host.interval=30s",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sources"]["host"]["interval"], "30s");
}

#[test]
fn diagnose_reports_every_check() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = lookout(&[
        "diagnose",
        "--json",
        "--data-dir",
        d.path().join("s").to_str().unwrap(),
        "--set",
        &format!("server.listen=127.0.0.1:{}", free_port()),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for n in [
        "config",
        "user",
        "proc",
        "processes",
        "data_dir",
        "server",
        "sink prometheus",
        "clock",
    ] {
        assert!(names.contains(&n), "missing check {n}: {names:?}");
    }
    let (code, out, _) = lookout(&[
        "diagnose",
        "--data-dir",
        d.path().join("s").to_str().unwrap(),
        "--set",
        "sinks.bad.type=otlp_http",
        "--set",
        "sinks.bad.inputs=[host]",
        "--set",
        &format!("sinks.bad.endpoint=http://127.0.0.1:{}", free_port()),
        "--set",
        "sinks.bad.headers.api-key=topsecret",
        "--set",
        "policy.allow_plaintext_secrets=true",
    ]);
    assert_eq!(code, 1, "an unreachable sink is a FAIL: {out}");
    assert!(out.contains("FAIL  sink bad"), "{out}");
    assert!(out.contains("fix:"), "{out}");
    assert!(!out.contains("topsecret"));
}

/// As a non-root user, diagnose explains what it cannot read and how to grant it.
#[test]
fn diagnose_as_non_root_explains_missing_access() {
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        // already unprivileged: run directly
        let (_, out, _) = lookout(&["diagnose"]);
        assert!(out.contains("WARN  user"), "{out}");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let d = tempfile::tempdir().unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args(["diagnose", "--data-dir"])
        .arg(d.path().join("nobody-state"))
        .args(["--set", &format!("server.listen=127.0.0.1:{}", free_port())])
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("WARN  user"), "{out}");
    assert!(out.contains("CAP_SYS_PTRACE"), "{out}");
    assert!(out.contains("processes"), "{out}");
    // the temp dir belongs to root: the data dir cannot be created by nobody
    assert!(out.contains("FAIL  data_dir"), "{out}");
    assert!(out.contains("--data-dir"), "{out}");
}

#[test]
fn version_and_completions() {
    let (code, out, _) = lookout(&["version"]);
    assert_eq!(code, 0);
    let provider = if cfg!(feature = "fips") {
        "aws-lc-rs (FIPS)"
    } else {
        "ring"
    };
    assert_eq!(
        out.trim(),
        format!("lookout {} (TLS: {provider})", env!("CARGO_PKG_VERSION"))
    );
    let (code, out, _) = lookout(&["version", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tls_provider"], provider);
    assert_eq!(v["fips"], cfg!(feature = "fips"));
    let (code, out, _) = lookout(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("_lookout()"), "bash completion function");
}

#[test]
fn redact_test_applies_command_line_and_configured_rules() {
    let sample = "login user=bob password=hunter2 from alice@example.com\norder ORD-123456 shipped\nnothing to see\n";
    let (code, out, err) = lookout_with_stdin(
        &[
            "redact",
            "test",
            "--json",
            "--rule",
            "order=ORD-[0-9]{6}=>ORD-******",
        ],
        sample,
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0]["redacted"],
        "login user=bob password=[REDACTED:password_assignment] from [REDACTED:email]"
    );
    assert_eq!(rows[1]["redacted"], "order ORD-****** shipped");
    assert_eq!(rows[2]["changed"], false);
    assert!(err.contains("order=1") && err.contains("email=1"), "{err}");
    // a bad pattern is a configuration error
    let (code, _, err) = lookout_with_stdin(&["redact", "test", "--rule", "bad=("], "x\n");
    assert_eq!(code, 2);
    assert!(err.contains("unclosed group"), "{err}");
    // the rules of a configured processor: only `email`, plus a custom one
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "sources:\n  otlp: {type: otlp}\nprocessors:\n  scrub:\n    type: redact\n    inputs: [otlp]\n    builtins: [email]\n    rules:\n      - {name: ticket, pattern: 'TCK-[0-9]+'}\nsinks:\n  out: {type: file, inputs: [scrub], path: /tmp/unused.jsonl}\n",
    )
    .unwrap();
    let (code, out, err) = lookout_with_stdin(
        &[
            "redact",
            "test",
            "--config",
            cfg.to_str().unwrap(),
            "--processor",
            "scrub",
        ],
        sample.replace("ORD-123456", "TCK-77").as_str(),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "login user=bob password=hunter2 from [REDACTED:email]",
        "only the configured rules"
    );
    assert_eq!(lines[1], "order [REDACTED] shipped");
    let (code, _, err) = lookout_with_stdin(
        &[
            "redact",
            "test",
            "--config",
            cfg.to_str().unwrap(),
            "--processor",
            "nope",
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("no `redact` processor `nope`"), "{err}");
}
