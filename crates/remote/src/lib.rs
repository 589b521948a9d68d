//! Remote configuration for lookout. Today: the signature of a configuration (this crate's
//! [`Signature`]), operator keys ([`generate`]), and the agent's check of both ([`verify`]),
//! as `docs/remote-config.md` specifies. The poller and the OpAMP client build on it.
//!
//! A signature signs the configuration's exact bytes (through their SHA-256) together with its
//! metadata: the configuration version (which only goes up), when it was issued, when it
//! expires, and which hosts it is for. The agent trusts a set of public keys by key id (so a
//! key can be rotated: trust the new one, sign with it, then drop the old one), and refuses a
//! configuration that is unsigned, signed by an unknown key, tampered with, expired, not yet
//! valid, meant for another host, or older than the one it runs.

pub mod opamp;

use base64::Engine as _;
use ring::signature::{self as sig, KeyPair};
use serde::{Deserialize, Serialize};

/// The `format` of a signature document.
pub const FORMAT: &str = "lookout.config.signature/v1";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256, the signature ASN.1 DER encoded.
    #[serde(rename = "ECDSA_P256_SHA256")]
    EcdsaP256,
    /// Ed25519.
    #[serde(rename = "ED25519")]
    Ed25519,
}

impl Algorithm {
    /// Parses `ecdsa-p256` / `ed25519` (any case, `_` or `-`).
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "ecdsa-p256" | "ecdsa-p256-sha256" | "p256" | "ecdsa" => Some(Algorithm::EcdsaP256),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }
}

/// A public key the agent trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// The key's id, named in every signature it makes.
    pub key_id: String,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The public key, base64 (an uncompressed P-256 point, or 32 Ed25519 bytes).
    pub public_key: String,
}

/// A signature document, kept beside the configuration (`lookout.yaml.sig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// [`FORMAT`].
    pub format: String,
    /// The signing key's id.
    pub key_id: String,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The configuration's version: a new configuration must carry a higher one.
    pub version: u64,
    /// When it was signed (Unix seconds).
    pub issued_at: u64,
    /// After this (Unix seconds) it is refused.
    pub expires_at: u64,
    /// Host-name globs (`*`, `?`) it is meant for; empty: every host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// SHA-256 of the configuration's bytes, hex.
    pub sha256: String,
    /// The signature over [`Signature::message`], base64.
    pub signature: String,
}

impl Signature {
    /// The bytes that are signed: every field but the signature, one per line, in this order.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{FORMAT}\nkey_id={}\nalgorithm={}\nversion={}\nissued_at={}\nexpires_at={}\nhosts={}\nsha256={}\n",
            self.key_id,
            match self.algorithm {
                Algorithm::EcdsaP256 => "ECDSA_P256_SHA256",
                Algorithm::Ed25519 => "ED25519",
            },
            self.version,
            self.issued_at,
            self.expires_at,
            self.hosts.join(","),
            self.sha256
        )
        .into_bytes()
    }
}

/// A private key and its public half, as `lookout config keygen` writes them.
#[derive(Clone, Serialize, Deserialize)]
pub struct PrivateKey {
    /// The key's id.
    pub key_id: String,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// PKCS#8 DER, base64.
    pub pkcs8: String,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PrivateKey({}, {:?}, not shown)",
            self.key_id, self.algorithm
        )
    }
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No signature came with it.
    Unsigned,
    /// The signature document cannot be read.
    Malformed(String),
    /// Signed by a key the agent does not trust.
    UnknownKey(String),
    /// The bytes or the metadata were changed after signing, or the signature is not the key's.
    BadSignature,
    /// Past its expiry.
    Expired {
        /// When it expired.
        expires_at: u64,
    },
    /// Issued in the future (a clock or a forgery).
    NotYetValid {
        /// When it says it was issued.
        issued_at: u64,
    },
    /// Meant for other hosts.
    WrongHost {
        /// This host.
        host: String,
        /// The hosts it is for.
        hosts: Vec<String>,
    },
    /// Not newer than the configuration the agent runs (a replay or a rollback attack).
    OlderVersion {
        /// Its version.
        version: u64,
        /// The version running.
        running: u64,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Unsigned => write!(f, "unsigned: no signature came with the configuration"),
            Rejection::Malformed(e) => write!(f, "malformed signature: {e}"),
            Rejection::UnknownKey(k) => write!(f, "signed by an unknown key `{k}` (not in the trusted keys)"),
            Rejection::BadSignature => write!(f, "bad signature: the configuration or its metadata changed after signing"),
            Rejection::Expired { expires_at } => write!(f, "expired at {expires_at} (Unix seconds)"),
            Rejection::NotYetValid { issued_at } => write!(f, "issued in the future ({issued_at}, Unix seconds)"),
            Rejection::WrongHost { host, hosts } => write!(f, "meant for {} , not this host `{host}`", hosts.join(", ")),
            Rejection::OlderVersion { version, running } => write!(f, "version {version} is not newer than the running version {running} (replay or rollback refused)"),
        }
    }
}

impl Rejection {
    /// A short machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unsigned => "unsigned",
            Rejection::Malformed(_) => "malformed",
            Rejection::UnknownKey(_) => "unknown_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::Expired { .. } => "expired",
            Rejection::NotYetValid { .. } => "not_yet_valid",
            Rejection::WrongHost { .. } => "wrong_host",
            Rejection::OlderVersion { .. } => "older_version",
        }
    }
}

/// Makes a key pair.
pub fn generate(key_id: &str, algorithm: Algorithm) -> Result<(PrivateKey, PublicKey), String> {
    if key_id.is_empty()
        || !key_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "invalid key id `{key_id}`: use letters, digits, `-`, `_`, `.`"
        ));
    }
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = match algorithm {
        Algorithm::EcdsaP256 => {
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        }
        Algorithm::Ed25519 => sig::Ed25519KeyPair::generate_pkcs8(&rng),
    }
    .map_err(|_| "cannot generate a key".to_string())?;
    let private = PrivateKey {
        key_id: key_id.to_string(),
        algorithm,
        pkcs8: B64.encode(pkcs8.as_ref()),
    };
    let public = public_of(&private)?;
    Ok((private, public))
}

enum Pair {
    Ecdsa(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

fn pair(k: &PrivateKey) -> Result<Pair, String> {
    let der = B64
        .decode(&k.pkcs8)
        .map_err(|e| format!("the private key is not base64: {e}"))?;
    match k.algorithm {
        Algorithm::EcdsaP256 => sig::EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            &der,
            &ring::rand::SystemRandom::new(),
        )
        .map(Pair::Ecdsa)
        .map_err(|e| format!("not a P-256 PKCS#8 key: {e}")),
        Algorithm::Ed25519 => sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map(Pair::Ed)
            .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}")),
    }
}

/// The public half of a private key.
pub fn public_of(k: &PrivateKey) -> Result<PublicKey, String> {
    let bytes = match pair(k)? {
        Pair::Ecdsa(p) => p.public_key().as_ref().to_vec(),
        Pair::Ed(p) => p.public_key().as_ref().to_vec(),
    };
    Ok(PublicKey {
        key_id: k.key_id.clone(),
        algorithm: k.algorithm,
        public_key: B64.encode(bytes),
    })
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a signature says, before it is signed.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// The configuration version.
    pub version: u64,
    /// Issued at (Unix seconds).
    pub issued_at: u64,
    /// Expires at (Unix seconds).
    pub expires_at: u64,
    /// Host-name globs.
    pub hosts: Vec<String>,
}

/// Signs a configuration's exact bytes with its claims.
pub fn sign(config: &[u8], claims: &Claims, key: &PrivateKey) -> Result<Signature, String> {
    if claims.expires_at <= claims.issued_at {
        return Err("the expiry must come after the issue time".into());
    }
    let mut s = Signature {
        format: FORMAT.to_string(),
        key_id: key.key_id.clone(),
        algorithm: key.algorithm,
        version: claims.version,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
        hosts: claims.hosts.clone(),
        sha256: sha256_hex(config),
        signature: String::new(),
    };
    let msg = s.message();
    let bytes = match pair(key)? {
        Pair::Ecdsa(p) => p
            .sign(&ring::rand::SystemRandom::new(), &msg)
            .map_err(|_| "cannot sign".to_string())?
            .as_ref()
            .to_vec(),
        Pair::Ed(p) => p.sign(&msg).as_ref().to_vec(),
    };
    s.signature = B64.encode(bytes);
    Ok(s)
}

/// Whether `host` matches a glob with `*` and `?` (ASCII case-insensitive, as host names are).
pub fn host_matches(glob: &str, host: &str) -> bool {
    lookout_config::Pattern(glob.to_ascii_lowercase()).matches(&host.to_ascii_lowercase())
}

/// What the agent knows when a configuration arrives.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The keys it trusts.
    pub trusted: &'a [PublicKey],
    /// Its host name.
    pub host: &'a str,
    /// The version it runs (0: none yet).
    pub running_version: u64,
    /// Now (Unix seconds).
    pub now: u64,
    /// Tolerated clock difference for `issued_at` (seconds).
    pub skew: u64,
}

/// Checks a configuration and its signature document (`None`: it came unsigned). On success,
/// the signature (its version becomes the running one once the configuration runs).
pub fn verify(
    config: &[u8],
    signature: Option<&[u8]>,
    cx: &Context<'_>,
) -> Result<Signature, Rejection> {
    let raw = signature.ok_or(Rejection::Unsigned)?;
    let s: Signature =
        serde_json::from_slice(raw).map_err(|e| Rejection::Malformed(e.to_string()))?;
    if s.format != FORMAT {
        return Err(Rejection::Malformed(format!(
            "format `{}`, expected `{FORMAT}`",
            s.format
        )));
    }
    let key = cx
        .trusted
        .iter()
        .find(|k| k.key_id == s.key_id)
        .ok_or_else(|| Rejection::UnknownKey(s.key_id.clone()))?;
    if key.algorithm != s.algorithm {
        return Err(Rejection::BadSignature);
    }
    let public = B64
        .decode(&key.public_key)
        .map_err(|e| Rejection::Malformed(format!("trusted key `{}`: {e}", key.key_id)))?;
    let signature = B64
        .decode(&s.signature)
        .map_err(|_| Rejection::BadSignature)?;
    let alg: &dyn sig::VerificationAlgorithm = match s.algorithm {
        Algorithm::EcdsaP256 => &sig::ECDSA_P256_SHA256_ASN1,
        Algorithm::Ed25519 => &sig::ED25519,
    };
    sig::UnparsedPublicKey::new(alg, &public)
        .verify(&s.message(), &signature)
        .map_err(|_| Rejection::BadSignature)?;
    // the signature holds for these claims: now the bytes, then the claims
    if sha256_hex(config) != s.sha256 {
        return Err(Rejection::BadSignature);
    }
    if cx.now >= s.expires_at {
        return Err(Rejection::Expired {
            expires_at: s.expires_at,
        });
    }
    if s.issued_at > cx.now.saturating_add(cx.skew) {
        return Err(Rejection::NotYetValid {
            issued_at: s.issued_at,
        });
    }
    if !s.hosts.is_empty() && !s.hosts.iter().any(|g| host_matches(g, cx.host)) {
        return Err(Rejection::WrongHost {
            host: cx.host.to_string(),
            hosts: s.hosts.clone(),
        });
    }
    if s.version <= cx.running_version {
        return Err(Rejection::OlderVersion {
            version: s.version,
            running: cx.running_version,
        });
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
