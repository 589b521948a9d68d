//! `lookout config keygen|sign|verify`: signed configurations. The signature is checked by
//! openssl too (from the documented message format and the PEM public key), so the format is
//! what `docs/remote-config.md` says and not only what lookout's own code agrees with.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const CONFIG: &str =
    "sources:\n  host: {type: host_metrics}\nsinks:\n  p: {type: prometheus, inputs: [host]}\n";

fn verify_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["config", "verify", "--json"];
    a.extend_from_slice(args);
    let (code, out, err) = lookout(&a);
    let v = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    (code, v)
}

/// The signed message rebuilt from the signature document as the documentation describes it.
fn message(sig: &serde_json::Value) -> String {
    let hosts: Vec<&str> = sig["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    format!(
        "lookout.config.signature/v1\nkey_id={}\nalgorithm={}\nversion={}\nissued_at={}\nexpires_at={}\nhosts={}\nsha256={}\n",
        sig["key_id"].as_str().unwrap(),
        sig["algorithm"].as_str().unwrap(),
        sig["version"],
        sig["issued_at"],
        sig["expires_at"],
        hosts.join(","),
        sig["sha256"].as_str().unwrap()
    )
}

fn openssl_verifies(dir: &Path, pem: &Path, sig: &serde_json::Value) -> bool {
    let msg = dir.join("message");
    std::fs::write(&msg, message(sig)).unwrap();
    let b64 = dir.join("sig.b64");
    std::fs::write(&b64, sig["signature"].as_str().unwrap()).unwrap();
    let raw = dir.join("sig.bin");
    let ok = Command::new("openssl")
        .args(["base64", "-d", "-A", "-in"])
        .arg(&b64)
        .arg("-out")
        .arg(&raw)
        .status()
        .unwrap();
    assert!(ok.success());
    let o = if sig["algorithm"] == "ED25519" {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(pem)
            .arg("-in")
            .arg(&msg)
            .arg("-sigfile")
            .arg(&raw)
            .output()
            .unwrap()
    } else {
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(pem)
            .arg("-signature")
            .arg(&raw)
            .arg(&msg)
            .output()
            .unwrap()
    };
    o.status.success()
}

#[test]
fn signed_configurations_verify_here_and_in_openssl_and_every_refusal_says_why() {
    require("openssl", "apt-get install openssl");
    require("sha256sum", "apt-get install coreutils");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("lookout.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let c = cfg.to_str().unwrap();
    for (id, alg) in [("ops-p256", "ecdsa-p256"), ("ops-ed", "ed25519")] {
        let (code, out, err) = lookout(&[
            "config",
            "keygen",
            "--key-id",
            id,
            "--algorithm",
            alg,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let key = d.join(format!("{id}.key"));
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // a second keygen never overwrites a key
        let (code, _, _) = lookout(&[
            "config",
            "keygen",
            "--key-id",
            id,
            "--algorithm",
            alg,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert_ne!(code, 0);

        let (code, out, err) = lookout(&[
            "config",
            "sign",
            c,
            "--key",
            key.to_str().unwrap(),
            "--config-version",
            "7",
            "--hosts",
            "web-*,db-01",
            "--expires",
            "1h",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let sig: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("lookout.yaml.sig")).unwrap())
                .unwrap();
        assert_eq!(sig["key_id"], id);
        assert_eq!(sig["version"], 7);
        // the hash is sha256sum's, and openssl accepts the signature over the documented message
        let sum = Command::new("sha256sum").arg(&cfg).output().unwrap();
        assert!(String::from_utf8_lossy(&sum.stdout).starts_with(sig["sha256"].as_str().unwrap()));
        assert!(
            openssl_verifies(d, &d.join(format!("{id}.pub.pem")), &sig),
            "openssl refuses the {alg} signature"
        );
        let mut forged = sig.clone();
        forged["version"] = serde_json::json!(8);
        assert!(
            !openssl_verifies(d, &d.join(format!("{id}.pub.pem")), &forged),
            "openssl accepts a changed version"
        );

        let public = d.join(format!("{id}.pub"));
        let p = public.to_str().unwrap();
        let (code, v) = verify_json(&[c, "--trust", p, "--host", "web-3"]);
        assert_eq!(
            (code, v["valid"].clone(), v["version"].clone()),
            (0, serde_json::json!(true), serde_json::json!(7)),
            "{v}"
        );
        let cases: &[(&[&str], &str)] = &[
            (&["--host", "db-02"], "wrong_host"),
            (
                &["--host", "web-3", "--running-version", "7"],
                "older_version",
            ),
            (
                &["--host", "web-3", "--signature", "/nonexistent.sig"],
                "unsigned",
            ),
        ];
        for (extra, reason) in cases {
            let mut a = vec![c, "--trust", p];
            a.extend_from_slice(extra);
            let (code, v) = verify_json(&a);
            assert_eq!(code, 2, "{v}");
            assert_eq!(v["reason"], *reason, "{v}");
        }
    }
    // signed by one key, checked against the other's: unknown key; a changed byte: bad signature
    let p256 = d.join("ops-p256.pub");
    let ed = d.join("ops-ed.pub");
    let (_, v) = verify_json(&[c, "--trust", p256.to_str().unwrap(), "--host", "web-3"]);
    assert_eq!(v["reason"], "unknown_key", "{v}");
    std::fs::write(&cfg, CONFIG.replace("host_metrics", "host_metricz")).unwrap();
    let (_, v) = verify_json(&[c, "--trust", ed.to_str().unwrap(), "--host", "web-3"]);
    assert_eq!(v["reason"], "bad_signature", "{v}");
    // expired
    std::fs::write(&cfg, CONFIG).unwrap();
    let (code, _, _) = lookout(&[
        "config",
        "sign",
        c,
        "--key",
        d.join("ops-ed.key").to_str().unwrap(),
        "--config-version",
        "9",
        "--expires",
        "1s",
    ]);
    assert_eq!(code, 0);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (_, v) = verify_json(&[c, "--trust", ed.to_str().unwrap(), "--host", "anything"]);
    assert_eq!(v["reason"], "expired", "{v}");
    // the private key never shows in any output
    let key_text = std::fs::read_to_string(d.join("ops-ed.key")).unwrap();
    let pkcs8: serde_json::Value = serde_json::from_str(&key_text).unwrap();
    let (_, text, _) = lookout(&["config", "verify", c, "--trust", ed.to_str().unwrap()]);
    assert!(!text.contains(pkcs8["pkcs8"].as_str().unwrap()));
}
