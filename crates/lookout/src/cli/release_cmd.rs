//! `lookout release sign|verify`: detached signatures of release checksums. A release directory
//! holds the tarballs (or packages), `SHA256SUMS` (as `sha256sum` writes it) and
//! `SHA256SUMS.sig`, a signature document of the same format as signed configurations
//! (`docs/remote-config.md`) over the checksum file's exact bytes.

use super::{out, EXIT_CONFIG};
use lookout_remote::{Claims, Context, PrivateKey, PublicKey};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `lookout release ...`
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Sign a checksum file (writes FILE.sig).
    Sign {
        /// The `SHA256SUMS` file.
        file: PathBuf,
        /// The private key (`lookout config keygen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a downloaded release: the signature of `SHA256SUMS`, then every file it lists.
    Verify {
        /// The directory holding `SHA256SUMS`, `SHA256SUMS.sig` and the files.
        dir: PathBuf,
        /// Trusted public keys (`ID.pub`), repeatable.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Entry point.
pub fn main(action: Action) -> anyhow::Result<ExitCode> {
    match action {
        Action::Sign { file, key } => sign(&file, &key),
        Action::Verify { dir, trust, json } => verify(&dir, &trust, json),
    }
}

fn sign(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let k: PrivateKey = serde_json::from_str(&std::fs::read_to_string(key)?).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a key of `lookout config keygen`: {e}",
            key.display()
        )
    })?;
    let issued = now();
    // a release stays verifiable for ten years; its version is not checked
    let claims = Claims {
        version: 1,
        issued_at: issued,
        expires_at: issued + 10 * 365 * 86400,
        hosts: Vec::new(),
    };
    let s = lookout_remote::sign(&bytes, &claims, &k).map_err(anyhow::Error::msg)?;
    let path = PathBuf::from(format!("{}.sig", file.display()));
    lookout_tail::write_atomic(&path, serde_json::to_string_pretty(&s)?.as_bytes())?;
    out(&format!(
        "signed {} with {}: {}",
        file.display(),
        k.key_id,
        path.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn sha256_file(p: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn verify(dir: &Path, trust: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let fail = |json: bool, reason: &str, message: String| -> anyhow::Result<ExitCode> {
        if json {
            out(
                &serde_json::json!({"valid": false, "reason": reason, "message": message})
                    .to_string(),
            )?;
        } else {
            eprintln!("refused: {message}");
        }
        Ok(ExitCode::from(EXIT_CONFIG))
    };
    let sums_path = dir.join("SHA256SUMS");
    let sums = match std::fs::read(&sums_path) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                json,
                "missing",
                format!("cannot read {}: {e}", sums_path.display()),
            )
        }
    };
    let sig = std::fs::read(dir.join("SHA256SUMS.sig")).ok();
    let mut keys = Vec::new();
    for t in trust {
        let k: PublicKey = serde_json::from_str(&std::fs::read_to_string(t)?).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a public key of `lookout config keygen`: {e}",
                t.display()
            )
        })?;
        keys.push(k);
    }
    let cx = Context {
        trusted: &keys,
        host: "",
        running_version: 0,
        now: now(),
        skew: 300,
    };
    let s = match lookout_remote::verify(&sums, sig.as_deref(), &cx) {
        Ok(s) => s,
        Err(r) => return fail(json, r.code(), format!("SHA256SUMS: {r}")),
    };
    let text = String::from_utf8_lossy(&sums);
    let mut files = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((hash, name)) = line.split_once("  ").or_else(|| line.split_once(" *")) else {
            return fail(
                json,
                "malformed",
                format!("SHA256SUMS: cannot read the line {line:?}"),
            );
        };
        if name.contains('/') || name.starts_with('.') {
            return fail(
                json,
                "malformed",
                format!("SHA256SUMS names a path outside the directory: {name}"),
            );
        }
        match sha256_file(&dir.join(name)) {
            Ok(h) if h == hash.trim().to_ascii_lowercase() => files.push(name.to_string()),
            Ok(_) => {
                return fail(
                    json,
                    "checksum_mismatch",
                    format!("{name}: its SHA-256 is not the signed one (changed or damaged)"),
                )
            }
            Err(e) => return fail(json, "missing", format!("{name}: {e}")),
        }
    }
    if json {
        out(&serde_json::json!({"valid": true, "key_id": s.key_id, "files": files}).to_string())?;
    } else {
        out(&format!(
            "valid: SHA256SUMS signed by {}; {} file(s) match: {}",
            s.key_id,
            files.len(),
            files.join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
