//! The state directory: where the running agent leaves `agent.json` (how other commands find
//! it) and, later, queues and checkpoints. Owner-only (0700).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Whether the process runs as root.
#[allow(unsafe_code)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Resolves the data directory: `--data-dir`, else the config's `data_dir`, else
/// /var/lib/lookout as root, else `$XDG_STATE_HOME/lookout` or `~/.local/state/lookout`.
pub fn resolve(cli: Option<&Path>, config: Option<&Path>) -> PathBuf {
    if let Some(p) = cli.or(config) {
        return p.to_path_buf();
    }
    if is_root() {
        return PathBuf::from("/var/lib/lookout");
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("lookout");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/state/lookout"),
        None => std::env::temp_dir().join("lookout"),
    }
}

/// Creates the directory (0700) if missing.
pub fn ensure(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let meta = fs::metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "data directory {} is readable by other users; run `chmod 700 {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// What a running agent publishes about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Process id.
    pub pid: u32,
    /// The HTTP server address.
    pub server: String,
    /// Version.
    pub version: String,
    /// Start time (Unix seconds).
    pub started_unix: u64,
}

/// Path of the agent info file.
pub fn info_path(dir: &Path) -> PathBuf {
    dir.join("agent.json")
}

/// Writes the agent info atomically (write, fsync, rename), owner-only.
pub fn write_info(dir: &Path, info: &AgentInfo) -> anyhow::Result<()> {
    let tmp = dir.join(".agent.json.tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(serde_json::to_string(info)?.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, info_path(dir))?;
    Ok(())
}

/// Reads the agent info, if present.
pub fn read_info(dir: &Path) -> Option<AgentInfo> {
    let text = fs::read_to_string(info_path(dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Takes the exclusive lock that keeps a second agent off the same data directory. The lock
/// lives as long as the returned file.
pub fn lock(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join("lookout.lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another lookout agent is running with the data directory {} (see `lookout status --data-dir {}`)",
            dir.display(),
            dir.display()
        ),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// Whether an agent holds the data directory's lock (it runs, or is starting and has not opened
/// its control socket yet). Takes and drops the lock at once when it is free.
pub fn agent_holds(dir: &Path) -> bool {
    let Ok(f) = File::options().write(true).open(dir.join("lookout.lock")) else {
        return false;
    };
    matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock))
}

/// Appends one event to the audit log, `<data_dir>/audit.log` (JSON lines, owner-only): what
/// changed the agent's configuration or was refused. Never a secret value: callers pass ids
/// and paths only. A failure to write is logged, not fatal.
pub fn audit(dir: &Path, kind: &str, message: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let line = serde_json::json!({
        "unix": unix,
        "kind": kind,
        "message": message,
        "uid": if is_root() { 0 } else { own_uid() },
    });
    let path = dir.join("audit.log");
    let r = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = r {
        tracing::warn!("cannot append to {}: {e}", path.display());
    }
}

#[allow(unsafe_code)]
fn own_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Reads an operator's-choices file of the data directory (its default when the file is
/// missing; an unreadable or malformed file is an error naming it).
pub fn load_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, String> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes such a file atomically, owner-only, creating the data directory.
pub fn save_json<T: Serialize>(data_dir: &Path, path: &Path, value: &T) -> Result<(), String> {
    ensure(data_dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    lookout_tail::write_atomic(path, &text)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
