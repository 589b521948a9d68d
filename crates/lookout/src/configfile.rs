//! Writing the agent's configuration file: directly when the agent may, else through the root
//! helper (`lookout-helper`, docs/helper.md). On a packaged install the file is root's and the
//! hardened service sees /etc read-only, so `config apply`, the TUI's editor and
//! `config rollback` go through the helper; on a hand-run agent owning its file nothing
//! changes.

use lookout_helper::{Request, DEFAULT_SOCKET, PROTOCOL_VERSION};
use std::path::{Path, PathBuf};

/// Where the helper is: `$LOOKOUT_HELPER_SOCKET`, else [`DEFAULT_SOCKET`].
pub fn helper_socket() -> PathBuf {
    std::env::var_os("LOOKOUT_HELPER_SOCKET")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// Who wrote the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The agent itself.
    Agent,
    /// The root helper, for the agent.
    Helper,
}

impl Writer {
    /// For the audit log: `` or ` (by the root helper)`.
    pub fn note(self) -> &'static str {
        match self {
            Writer::Agent => "",
            Writer::Helper => " (by the root helper)",
        }
    }
}

/// Whether a root helper answers and may write `path` for the agent.
pub fn helper_writes(path: &Path) -> bool {
    let socket = helper_socket();
    if !socket.exists() {
        return false;
    }
    let ping = Request {
        version: PROTOCOL_VERSION,
        op: "ping".into(),
        ..Request::default()
    };
    matches!(lookout_helper::call(&socket, &ping), Ok(r) if r.ok
        && r.paths.iter().flatten().any(|p| Path::new(p) == path))
}

fn denied(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EROFS)
}

/// Replaces `path` with `text` atomically. When the agent may not write it, asks the root
/// helper, which writes only if the file still holds `old` (when given: no lost update).
pub fn write(path: &Path, text: &str, old: Option<&str>) -> Result<Writer, String> {
    let e = match lookout_tail::write_atomic(path, text.as_bytes()) {
        Ok(()) => return Ok(Writer::Agent),
        Err(e) if denied(&e) => e,
        Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
    };
    let socket = helper_socket();
    if !socket.exists() {
        return Err(format!(
            "cannot write {}: {e}; no root helper at {} to write it for the agent (enable lookout-helper.socket: docs/helper.md)",
            path.display(),
            socket.display()
        ));
    }
    let req = Request {
        version: PROTOCOL_VERSION,
        op: "write_config".into(),
        path: Some(path.display().to_string()),
        content: Some(text.to_string()),
        expect_sha256: old.map(|o| lookout_helper::sha256_hex(o.as_bytes())),
    };
    match lookout_helper::call(&socket, &req) {
        Ok(r) if r.ok => Ok(Writer::Helper),
        Ok(r) => Err(format!(
            "cannot write {}: {e}; the root helper refused: {} ({})",
            path.display(),
            r.error.unwrap_or_default(),
            r.code.unwrap_or_default()
        )),
        Err(he) => Err(format!(
            "cannot write {}: {e}; the root helper at {}: {he}",
            path.display(),
            socket.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_own_file_is_written_directly() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("c.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        assert_eq!(write(&f, "a: 2\n", Some("a: 1\n")).unwrap(), Writer::Agent);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a: 2\n");
        // a missing directory is an error naming the file, not a helper call
        let e = write(&d.path().join("no/c.yaml"), "x", None).unwrap_err();
        assert!(e.contains("no/c.yaml"), "{e}");
    }
}
