//! lookout's secrets.
//!
//! - [`Store`]: a local encrypted store, `<data_dir>/secrets.enc`: one JSON map of names to
//!   values, sealed with ChaCha20-Poly1305 (authenticated: a changed byte, a truncated file or
//!   the wrong key is an error, never a wrong value). A fresh random nonce on every write.
//! - The key: 32 random bytes in a file readable by its owner only, looked for in this order:
//!   `$LOOKOUT_SECRETS_KEY` (a path), the systemd credential
//!   `$CREDENTIALS_DIRECTORY/lookout-secrets-key` (`LoadCredential=`: the key stays root-only
//!   and the service gets a private copy), `/etc/lookout/secrets.key`, else
//!   `<data_dir>/secrets.key`, where `lookout secrets set` creates one if none exists.
//! - [`backend`]: an external secret command speaking the JSON-over-stdin protocol of the
//!   Datadog Agent's `secret_backend_command`, so existing helpers work unchanged.
//!
//! Values never appear in errors or `Debug` output.

pub mod backend;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The start of a store file (format version 1).
const MAGIC: &[u8; 6] = b"LKSEC\x01";
/// The systemd credential name of the key.
pub const CREDENTIAL: &str = "lookout-secrets-key";

/// A secret name: letters, digits, `_`, `-`, `.`, `/`; at most 128 bytes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
}

/// Where the key is: `$LOOKOUT_SECRETS_KEY`, the systemd credential, `/etc/lookout/secrets.key`
/// when it exists, else in the data directory.
pub fn key_path(data_dir: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("LOOKOUT_SECRETS_KEY").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let p = PathBuf::from(dir).join(CREDENTIAL);
        if p.exists() {
            return p;
        }
    }
    let etc = PathBuf::from("/etc/lookout/secrets.key");
    if etc.exists() {
        return etc;
    }
    data_dir.join("secrets.key")
}

fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            m.mode() & 0o777
        ));
    }
    Ok(())
}

/// Reads the key; with `create`, makes one (random, owner-only) when there is none.
pub fn load_key(path: &Path, create: bool) -> Result<[u8; 32], String> {
    match std::fs::read(path) {
        Ok(b) => {
            check_private(path)?;
            <[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
                format!(
                    "{} is not a lookout secrets key (32 bytes, found {})",
                    path.display(),
                    b.len()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let mut key = [0u8; 32];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| "no random numbers from the system".to_string())?;
            if let Some(dir) = path.parent() {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            lookout_tail::write_atomic(path, &key)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "no secrets key at {}: `lookout secrets set` creates one",
            path.display()
        )),
        Err(e) => Err(format!("cannot read the key {}: {e}", path.display())),
    }
}

/// The encrypted store.
pub struct Store {
    path: PathBuf,
    key: LessSafeKey,
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn sealing_key(key: &[u8; 32]) -> Result<LessSafeKey, String> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| "bad key".to_string())
}

impl Store {
    /// The store file of a data directory.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("secrets.enc")
    }

    /// Opens (and decrypts) the store at `path` with `key`; no file is an empty store.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Store, String> {
        let key = sealing_key(key)?;
        let values = match std::fs::read(path) {
            Ok(bytes) => {
                check_private(path)?;
                open_sealed(&key, &bytes).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Store {
            path: path.to_path_buf(),
            key,
            values,
        })
    }

    /// Opens the store of a data directory with its key (created when `create`).
    pub fn open_in(data_dir: &Path, create: bool) -> Result<Store, String> {
        let key = load_key(&key_path(data_dir), create)?;
        Store::open(&Self::path(data_dir), &key)
    }

    /// A value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.values.keys().map(String::as_str).collect()
    }

    /// Sets a value and writes the store.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        if !valid_name(name) {
            return Err(format!(
                "invalid secret name `{name}`: use letters, digits, `_`, `-`, `.`, `/`"
            ));
        }
        self.values.insert(name.to_string(), value.to_string());
        self.save()
    }

    /// Removes a value; whether it was there.
    pub fn remove(&mut self, name: &str) -> Result<bool, String> {
        let had = self.values.remove(name).is_some();
        if had {
            self.save()?;
        }
        Ok(had)
    }

    fn save(&self) -> Result<(), String> {
        let plain = serde_json::to_vec(&self.values).map_err(|e| e.to_string())?;
        let sealed = seal(&self.key, plain)?;
        lookout_tail::write_atomic(&self.path, &sealed)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

fn seal(key: &LessSafeKey, mut plain: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| "no random numbers from the system".to_string())?;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(MAGIC),
        &mut plain,
    )
    .map_err(|_| "encryption failed".to_string())?;
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&plain);
    Ok(out)
}

/// Decrypts the content of a store file: its names and values, or why not (any bytes give an
/// answer, never a panic: fuzzed).
pub fn decrypt(key: &[u8; 32], bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    open_sealed(&sealing_key(key)?, bytes)
}

fn open_sealed(key: &LessSafeKey, bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a lookout secret store (or a newer format)")?;
    if rest.len() < NONCE_LEN {
        return Err("truncated".into());
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "truncated".to_string())?;
    let mut buf = sealed.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(MAGIC), &mut buf)
        .map_err(|_| {
            "cannot be decrypted: the file was changed, or this is not its key".to_string()
        })?;
    serde_json::from_slice(plain).map_err(|_| "its content is malformed".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(b: u8) -> [u8; 32] {
        [b; 32]
    }

    #[test]
    fn values_round_trip_sealed_and_never_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.enc");
        let mut s = Store::open(&p, &key(1)).unwrap();
        assert!(s.names().is_empty());
        s.set("redis/password", "hunter2-very-secret").unwrap();
        s.set("nr", "eu01xx0123456789").unwrap();
        let raw = std::fs::read(&p).unwrap();
        assert!(raw.starts_with(MAGIC));
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("hunter2") && !text.contains("redis/password"));
        let again = Store::open(&p, &key(1)).unwrap();
        assert_eq!(again.get("redis/password"), Some("hunter2-very-secret"));
        assert_eq!(again.names(), ["nr", "redis/password"]);
        assert!(!format!("{again:?}").contains("hunter2"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // a fresh nonce each write: the same content seals differently
        let mut s2 = Store::open(&p, &key(1)).unwrap();
        s2.set("nr", "eu01xx0123456789").unwrap();
        assert_ne!(std::fs::read(&p).unwrap(), raw);
        assert!(s2.remove("nr").unwrap());
        assert!(!s2.remove("nr").unwrap());
        assert_eq!(
            Store::open(&p, &key(1)).unwrap().names(),
            ["redis/password"]
        );
        assert!(s2
            .set("bad name", "x")
            .unwrap_err()
            .contains("invalid secret name"));
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.enc");
        Store::open(&p, &key(1)).unwrap().set("a", "b").unwrap();
        let e = Store::open(&p, &key(2)).unwrap_err();
        assert!(e.contains("cannot be decrypted"), "{e}");
        let good = std::fs::read(&p).unwrap();
        for i in [0, 7, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            lookout_tail::write_atomic(&p, &bad).unwrap();
            assert!(
                Store::open(&p, &key(1)).is_err(),
                "byte {i} changed unnoticed"
            );
        }
        lookout_tail::write_atomic(&p, &good[..good.len() - 3]).unwrap();
        assert!(Store::open(&p, &key(1)).is_err());
        lookout_tail::write_atomic(&p, &good[..8]).unwrap();
        assert!(Store::open(&p, &key(1)).unwrap_err().contains("truncated"));
    }

    #[test]
    fn keys_are_created_private_and_must_stay_so() {
        let dir = tempfile::tempdir().unwrap();
        let kp = dir.path().join("sub/secrets.key");
        assert!(load_key(&kp, false)
            .unwrap_err()
            .contains("lookout secrets set"));
        let k = load_key(&kp, true).unwrap();
        assert_eq!(load_key(&kp, false).unwrap(), k);
        assert_ne!(k, [0u8; 32]);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kp, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_key(&kp, false)
            .unwrap_err()
            .contains("readable by others"));
        std::fs::set_permissions(&kp, std::fs::Permissions::from_mode(0o600)).unwrap();
        lookout_tail::write_atomic(&kp, b"short").unwrap();
        assert!(load_key(&kp, false).unwrap_err().contains("32 bytes"));
    }
}
