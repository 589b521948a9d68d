//! The release tarball (packaging/release.sh): built from the binary under test, checksummed,
//! signed; `lookout release verify` accepts it and refuses a changed tarball, a changed
//! checksum file and an unknown key; `sha256sum -c` (coreutils) agrees; the tarball runs.

use crate::support::*;
use std::process::Command;

fn verify(dir: &std::path::Path, key: &std::path::Path) -> (i32, serde_json::Value) {
    let (code, out, err) = lookout(&[
        "release",
        "verify",
        dir.to_str().unwrap(),
        "--trust",
        key.to_str().unwrap(),
        "--json",
    ]);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}")),
    )
}

#[test]
fn a_signed_release_verifies_and_any_change_is_refused() {
    require("sha256sum", "apt-get install coreutils");
    let d = tempfile::tempdir().unwrap();
    let keys = d.path().join("keys");
    for id in ["release-2026", "stranger"] {
        let (code, _, err) = lookout(&[
            "config",
            "keygen",
            "--key-id",
            id,
            "--algorithm",
            "ed25519",
            "--out",
            keys.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let out = d.path().join("dist");
    let o = Command::new("bash")
        .arg(repo().join("packaging/release.sh"))
        .args(["--binary", bin(), "--key"])
        .arg(keys.join("release-2026.key"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tarball = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let size = std::fs::metadata(&tarball).unwrap().len();
    eprintln!(
        "release tarball {}: {} bytes (debug binary)",
        tarball.display(),
        size
    );

    let good = keys.join("release-2026.pub");
    let (code, v) = verify(&out, &good);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["key_id"], "release-2026");
    assert_eq!(
        v["files"][0],
        tarball.file_name().unwrap().to_str().unwrap()
    );
    let c = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        c.status.success(),
        "sha256sum -c: {}",
        String::from_utf8_lossy(&c.stdout)
    );

    // it unpacks and runs, with the default configuration and the unit beside it
    let x = d.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap()
        .success());
    let top = std::fs::read_dir(&x)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for f in [
        "bin/lookout",
        "etc/lookout.yaml",
        "systemd/lookout.service",
        "doc/README.md",
    ] {
        assert!(top.join(f).exists(), "{f} missing from the tarball");
    }
    let v = Command::new(top.join("bin/lookout"))
        .args(["version"])
        .output()
        .unwrap();
    assert!(v.status.success());
    let check = Command::new(top.join("bin/lookout"))
        .args(["config", "validate"])
        .arg(top.join("etc/lookout.yaml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // refusals
    let (_, v) = verify(&out, &keys.join("stranger.pub"));
    assert_eq!(v["reason"], "unknown_key", "{v}");
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    std::fs::write(
        out.join("SHA256SUMS"),
        sums.replacen('a', "b", 1).replacen('0', "1", 1),
    )
    .unwrap();
    let (_, v) = verify(&out, &good);
    assert_eq!(v["reason"], "bad_signature", "{v}");
    std::fs::write(out.join("SHA256SUMS"), &sums).unwrap();
    let mut bytes = std::fs::read(&tarball).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&tarball, &bytes).unwrap();
    let (code, v) = verify(&out, &good);
    assert_eq!(
        (code, v["reason"].as_str()),
        (2, Some("checksum_mismatch")),
        "{v}"
    );
    std::fs::remove_file(out.join("SHA256SUMS.sig")).unwrap();
    let (_, v) = verify(&out, &good);
    assert_eq!(v["reason"], "unsigned", "{v}");
}
