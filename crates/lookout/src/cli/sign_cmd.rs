//! `lookout config keygen|sign|verify`: operator keys and signed configurations
//! (`docs/remote-config.md`, crate `lookout-remote`).

use super::{out, EXIT_CONFIG};
use base64::Engine as _;
use lookout_remote::{Algorithm, Claims, Context, PrivateKey, PublicKey};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The public key as PEM (SubjectPublicKeyInfo), for tools such as openssl.
fn spki_pem(p: &PublicKey) -> Result<String, String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&p.public_key)
        .map_err(|e| e.to_string())?;
    // the fixed DER prefixes of a P-256 and an Ed25519 SubjectPublicKeyInfo
    let prefix: &[u8] = match p.algorithm {
        Algorithm::EcdsaP256 => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
        Algorithm::Ed25519 => &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ],
    };
    let der = [prefix, &raw].concat();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    Ok(pem)
}

fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// `lookout config keygen`.
pub fn keygen(key_id: &str, algorithm: &str, dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Some(alg) = Algorithm::parse(algorithm) else {
        eprintln!("error: unknown algorithm `{algorithm}`: ecdsa-p256 or ed25519");
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let (private, public) = match lookout_remote::generate(key_id, alg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    std::fs::create_dir_all(dir)?;
    let key_path = dir.join(format!("{key_id}.key"));
    let pub_path = dir.join(format!("{key_id}.pub"));
    let pem_path = dir.join(format!("{key_id}.pub.pem"));
    write_new(&key_path, &serde_json::to_string_pretty(&private)?, 0o600)?;
    write_new(&pub_path, &serde_json::to_string_pretty(&public)?, 0o644)?;
    write_new(
        &pem_path,
        &spki_pem(&public).map_err(anyhow::Error::msg)?,
        0o644,
    )?;
    if json {
        out(&serde_json::to_string(&serde_json::json!({
            "key_id": key_id, "algorithm": public.algorithm, "private_key": key_path, "public_key": pub_path, "public_key_pem": pem_path,
        }))?)?;
    } else {
        out(&format!(
            "private key: {} (0600: keep it off the hosts)\npublic key:  {} (give it to the agents: remote.trusted_keys)\n             {} (PEM, for other tools)",
            key_path.display(),
            pub_path.display(),
            pem_path.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a duration such as `7d` or `12h` as seconds.
fn secs(s: &str) -> Option<u64> {
    lookout_config::Duration::parse(s)
        .ok()
        .map(|d| d.0.as_secs())
}

/// `lookout config sign`.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    file: &Path,
    key: &Path,
    version: u64,
    expires: &str,
    hosts: &[String],
    out_path: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let k: PrivateKey = serde_json::from_str(
        &std::fs::read_to_string(key)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", key.display()))?,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{} is not a key made by `lookout config keygen`: {e}",
            key.display()
        )
    })?;
    let Some(ttl) = secs(expires) else {
        eprintln!("error: --expires `{expires}` is not a duration (e.g. 7d)");
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let issued = now();
    let claims = Claims {
        version,
        issued_at: issued,
        expires_at: issued + ttl,
        hosts: hosts
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let s = match lookout_remote::sign(&config, &claims, &k) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let path = out_path.unwrap_or_else(|| PathBuf::from(format!("{}.sig", file.display())));
    lookout_tail::write_atomic(&path, serde_json::to_string_pretty(&s)?.as_bytes())?;
    if json {
        out(&serde_json::to_string(
            &serde_json::json!({"signature": path, "version": version, "key_id": k.key_id, "expires_at": s.expires_at, "sha256": s.sha256}),
        )?)?;
    } else {
        out(&format!(
            "signed {} (version {version}, key {}, expires in {expires}): {}",
            file.display(),
            k.key_id,
            path.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lookout config verify`: the agent's check, for operators.
pub fn verify(
    file: &Path,
    signature: Option<PathBuf>,
    trust: &[PathBuf],
    host: Option<String>,
    running: u64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let sig_path = signature.unwrap_or_else(|| PathBuf::from(format!("{}.sig", file.display())));
    let sig = std::fs::read(&sig_path).ok();
    let mut keys = Vec::new();
    for t in trust {
        let text = std::fs::read_to_string(t)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", t.display()))?;
        let k: PublicKey = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a public key made by `lookout config keygen`: {e}",
                t.display()
            )
        })?;
        keys.push(k);
    }
    let host = host.unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    let cx = Context {
        trusted: &keys,
        host: &host,
        running_version: running,
        now: now(),
        skew: 300,
    };
    match lookout_remote::verify(&config, sig.as_deref(), &cx) {
        Ok(s) => {
            if json {
                out(&serde_json::to_string(
                    &serde_json::json!({"valid": true, "version": s.version, "key_id": s.key_id, "expires_at": s.expires_at}),
                )?)?;
            } else {
                out(&format!(
                    "valid: version {}, signed by {}, expires at {}",
                    s.version, s.key_id, s.expires_at
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(r) => {
            if json {
                out(&serde_json::to_string(
                    &serde_json::json!({"valid": false, "reason": r.code(), "message": r.to_string()}),
                )?)?;
            } else {
                eprintln!("refused: {r}");
            }
            Ok(ExitCode::from(EXIT_CONFIG))
        }
    }
}
