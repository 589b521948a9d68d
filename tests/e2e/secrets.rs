//! The encrypted secret store: `lookout secrets set|list|rm`, `${secret:NAME}` as a real Redis
//! server's password, a rotation applied to the running agent without a restart, an external
//! secret command (the Datadog protocol), tampering detected; no value anywhere it could be
//! printed.

use crate::integrations::{redis_cli, redis_server};
use crate::support::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn secrets(data: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let d = data.display().to_string();
    let mut a = vec!["secrets"];
    a.extend_from_slice(args);
    a.extend(["--data-dir", &d]);
    lookout_with_stdin(&a, stdin)
}

/// Redis metrics lines written to the sink so far.
fn redis_points(out: &Path) -> usize {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("redis.clients.connected"))
        .count()
}

#[test]
fn a_secret_from_the_store_opens_redis_and_a_rotation_applies_without_restart() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let data = w.join("state");
    let (pw1, pw2) = ("first-Secret-4711", "second-Secret-0815");
    let port = free_port();
    let _redis = redis_server(w, port, pw1);

    let (code, out, err) = secrets(&data, &["set", "redis_pw"], &format!("{pw1}\n"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("redis_pw stored"), "{out}");
    assert!(!out.contains(pw1) && !err.contains(pw1));
    let (_, out, _) = secrets(&data, &["list", "--json"], "");
    assert_eq!(out.trim(), r#"{"names":["redis_pw"]}"#);
    let raw = std::fs::read(data.join("secrets.enc")).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains(pw1),
        "the store is encrypted"
    );
    // the same value again changes nothing: not even the nonce (an installer's second run)
    let (code, out, err) = secrets(&data, &["set", "redis_pw", "--json"], pw1);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(r#""change":"unchanged""#), "{out}");
    assert_eq!(std::fs::read(data.join("secrets.enc")).unwrap(), raw);
    use std::os::unix::fs::PermissionsExt;
    for f in ["secrets.enc", "secrets.key"] {
        let mode = std::fs::metadata(data.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }

    let sink = w.join("out.jsonl");
    let config = format!(
        "sources:\n  r:\n    type: redis\n    endpoint: 127.0.0.1:{port}\n    password: ${{secret:redis_pw}}\n    interval: 1s\nsinks:\n  out: {{type: file, path: {}, inputs: [r]}}\n",
        sink.display()
    );
    let mut agent = Agent::start_in(Some(&config), Some(&data), &[]);
    agent.wait_ready();
    agent.wait_control();
    wait_for(Duration::from_secs(15), || {
        (redis_points(&sink) > 0).then_some(())
    })
    .unwrap_or_else(|| panic!("no redis metrics; stderr:\n{}", agent.stderr()));

    // rotate: the server's password changes, then the store's; the agent follows
    assert!(redis_cli(port, pw1, &["CONFIG", "SET", "requirepass", pw2]).contains("OK"));
    let (code, out, err) = secrets(&data, &["set", "redis_pw"], pw2);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("redis_pw rotated"), "{out}");
    assert!(out.contains("configuration reloaded"), "{out}");
    let before = redis_points(&sink);
    std::thread::sleep(Duration::from_millis(300));
    wait_for(Duration::from_secs(15), || {
        (redis_points(&sink) >= before + 3).then_some(())
    })
    .unwrap_or_else(|| panic!("no metrics after the rotation; stderr:\n{}", agent.stderr()));
    let r = component_status(&agent, "r");
    assert_eq!(r["healthy"], true, "{r}");

    // nowhere a value could be printed
    let d = data.display().to_string();
    let cfg = agent.config_path().display().to_string();
    let (_, shown, _) = lookout(&["config", "show", "--config", &cfg, "--data-dir", &d]);
    assert!(shown.contains("password"), "{shown}");
    let (_, status, _) = lookout(&["status", "--json", "--data-dir", &d]);
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("redis_pw read from the store"), "{audit}");
    assert!(audit.contains("redis_pw rotated"), "{audit}");
    agent.stop();
    let stderr = agent.stderr();
    for (what, text) in [
        ("config show", &shown),
        ("status", &status),
        ("agent log", &stderr),
        ("audit log", &audit),
    ] {
        assert!(
            !text.contains(pw1) && !text.contains(pw2),
            "a secret in the {what}:\n{text}"
        );
    }

    // tampering is detected: the configuration then refuses to load, naming the store
    let mut bad = std::fs::read(data.join("secrets.enc")).unwrap();
    let n = bad.len();
    bad[n - 5] ^= 0x40;
    std::fs::write(data.join("secrets.enc"), &bad).unwrap();
    let (code, _, err) = lookout(&["config", "validate", &cfg, "--data-dir", &d]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be decrypted"), "{err}");
    assert!(!err.contains(pw2));
    // and without the key the store is unreadable
    std::fs::write(data.join("secrets.enc"), &raw).unwrap();
    std::fs::remove_file(data.join("secrets.key")).unwrap();
    let (code, _, err) = secrets(&data, &["list"], "");
    assert_ne!(code, 0);
    assert!(err.contains("no secrets key"), "{err}");
}

#[test]
fn an_external_secret_command_answers_what_the_store_does_not_hold() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let data = w.join("state");
    let port = free_port();
    let pw = "from-the-vault-2024";
    let _redis = redis_server(w, port, pw);
    // a helper written for the Datadog Agent's secret_backend_command: JSON in, JSON out
    let helper = w.join("vault-helper.py");
    std::fs::write(
        &helper,
        format!(
            "#!/usr/bin/env python3\nimport json, sys\nreq = json.load(sys.stdin)\nassert req['version'] == '1.0'\nout = {{}}\nfor name in req['secrets']:\n    if name == 'vault/redis':\n        out[name] = {{'value': '{pw}', 'error': None}}\n    else:\n        out[name] = {{'value': None, 'error': 'no such secret in the vault'}}\nprint(json.dumps(out))\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700)).unwrap();
    let sink = w.join("out.jsonl");
    let config = format!(
        "secret_backend:\n  command: {}\n  timeout: 10s\nsources:\n  r:\n    type: redis\n    endpoint: 127.0.0.1:{port}\n    password: ${{secret:vault/redis}}\n    interval: 1s\nsinks:\n  out: {{type: file, path: {}, inputs: [r]}}\n",
        helper.display(),
        sink.display()
    );
    let mut agent = Agent::start_in(Some(&config), Some(&data), &[]);
    agent.wait_ready();
    wait_for(Duration::from_secs(15), || {
        (redis_points(&sink) > 0).then_some(())
    })
    .unwrap_or_else(|| panic!("no redis metrics; stderr:\n{}", agent.stderr()));
    agent.stop();
    assert!(!agent.stderr().contains(pw));
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(
        audit.contains("vault/redis read from the secret command"),
        "{audit}"
    );
    // a name the command refuses: the configuration is refused with its reason
    let bad = w.join("bad.yaml");
    std::fs::write(&bad, config.replace("vault/redis", "vault/other")).unwrap();
    let d = data.display().to_string();
    let (code, _, err) = lookout(&[
        "config",
        "validate",
        bad.to_str().unwrap(),
        "--data-dir",
        &d,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no such secret in the vault"), "{err}");
}

#[test]
fn the_support_bundle_holds_the_facts_and_no_secret() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let data = w.join("state");
    let store_pw = "Bundle-Redis-Secret-91";
    let env_tok = "tok-Bundle-Env-Secret-77";
    let file_tok = "file-Bundle-Secret-55";
    let port = free_port();
    let _redis = redis_server(w, port, store_pw);
    let (code, _, err) = secrets(&data, &["set", "redis_pw"], store_pw);
    assert_eq!(code, 0, "{err}");
    let tok_file = w.join("token");
    std::fs::write(&tok_file, file_tok).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tok_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dead = free_port();
    let config = format!(
        "sources:\n  r:\n    type: redis\n    endpoint: 127.0.0.1:{port}\n    password: ${{secret:redis_pw}}\n    interval: 1s\nsinks:\n  out: {{type: file, path: {sink}, inputs: [r]}}\n  backend:\n    type: otlp_http\n    endpoint: http://127.0.0.1:{dead}\n    headers:\n      authorization: ${{env:BUNDLE_API_TOKEN}}\n      x-file-token: ${{file:{tf}}}\n    inputs: [r]\n",
        sink = w.join("out.jsonl").display(),
        tf = tok_file.display()
    );
    let cfg = w.join("lookout.yaml");
    std::fs::write(&cfg, &config).unwrap();
    let port_http = free_port();
    let mut agent = Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&data)
        .args(["--set", &format!("server.listen=127.0.0.1:{port_http}")])
        .env("BUNDLE_API_TOKEN", env_tok)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(Duration::from_secs(20), || {
        data.join("control.sock").exists().then_some(())
    })
    .unwrap();
    // a log that leaked a secret (a third-party library printing a connection string)
    append(
        &data.join("agent.log"),
        &format!("connecting redis://:{store_pw}@127.0.0.1 with {env_tok}\nall good\n"),
    );
    std::thread::sleep(Duration::from_secs(2));
    let bundle = w.join("support.tar.gz");
    let o = Command::new(bin())
        .args(["diagnose", "--bundle"])
        .arg(&bundle)
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&data)
        .env("BUNDLE_API_TOKEN", env_tok)
        .output()
        .unwrap();
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // opened by tar, as support would
    let x = w.join("x");
    std::fs::create_dir(&x).unwrap();
    let t = Command::new("tar")
        .arg("xzf")
        .arg(&bundle)
        .arg("-C")
        .arg(&x)
        .output()
        .unwrap();
    assert!(t.status.success(), "{t:?}");
    let root = x.join("lookout-bundle");
    let read =
        |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert!(read("status.json").contains("\"components\""));
    assert!(read("self-metrics.txt").contains("lookout_"));
    assert!(read("config.yaml").contains("***"));
    assert!(read("diagnose.json").contains("\"check\""));
    assert!(read("agent-log.txt").contains("all good"));
    assert!(read("environment.txt").contains("lookout "));
    assert!(read("audit-log.jsonl").contains("redis_pw"));
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        for s in [store_pw, env_tok, file_tok] {
            assert!(!text.contains(s), "{s} in {}:\n{text}", p.display());
        }
    }
}
