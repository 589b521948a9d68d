//! The configuration history: every configuration text the agent was asked to run, with its
//! content hash, where the change came from, when, and whether it runs (`applied`) or was
//! refused (`rejected`, with the reason).
//!
//! Kept in `<data_dir>/history/`: `index.jsonl` (one entry per line, owner-only) and each
//! distinct text once as `<sha256>.yaml` (0600). The newest [`KEEP`] entries are kept; texts no
//! entry refers to any more are deleted. `lookout config history|diff|rollback` read it without
//! a running agent.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Entries kept.
pub const KEEP: usize = 100;

/// One configuration the agent was asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3... in the order of the attempts.
    pub version: u64,
    /// When (Unix seconds).
    pub unix: f64,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Why it was loaded: `start`, `SIGHUP`, `control: config apply`, `rollback to 3`...
    pub origin: String,
    /// The file it was read from (none for the embedded default).
    pub path: Option<String>,
    /// `applied` or `rejected`.
    pub result: String,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Size of the text.
    pub bytes: usize,
}

fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("history")
}

/// The entries, oldest first (none when there is no history yet). A line that cannot be read
/// is skipped (a torn last line after a crash).
pub fn list(data_dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir_of(data_dir).join("index.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The text of a version.
pub fn text(data_dir: &Path, version: u64) -> Result<(Entry, String), String> {
    let entries = list(data_dir)?;
    let e = entries
        .into_iter()
        .find(|e| e.version == version)
        .ok_or_else(|| {
            format!("no version {version} in the history (`lookout config history` lists them)")
        })?;
    let p = dir_of(data_dir).join(format!("{}.yaml", e.sha256));
    let t =
        std::fs::read_to_string(&p).map_err(|err| format!("cannot read {}: {err}", p.display()))?;
    if lookout_remote::sha256_hex(t.as_bytes()) != e.sha256 {
        return Err(format!(
            "{} does not hold version {version} any more (changed on disk)",
            p.display()
        ));
    }
    Ok((e, t))
}

/// Records an attempt to run `text`. Errors are returned for the caller to log: a history
/// that cannot be written never stops a reload.
pub fn record(
    data_dir: &Path,
    text: &str,
    path: Option<&Path>,
    origin: &str,
    result: Result<(), &str>,
) -> Result<Entry, String> {
    let dir = dir_of(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut entries = list(data_dir)?;
    let sha = lookout_remote::sha256_hex(text.as_bytes());
    let blob = dir.join(format!("{sha}.yaml"));
    if !blob.exists() {
        write_private(&blob, text.as_bytes())?;
    }
    let entry = Entry {
        version: entries.last().map_or(1, |e| e.version + 1),
        unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        sha256: sha,
        origin: origin.to_string(),
        path: path.map(|p| p.display().to_string()),
        result: if result.is_ok() {
            "applied"
        } else {
            "rejected"
        }
        .into(),
        reason: result.err().map(str::to_string),
        bytes: text.len(),
    };
    entries.push(entry.clone());
    let index = dir.join("index.jsonl");
    if entries.len() > KEEP {
        let keep = entries.split_off(entries.len() - KEEP);
        let mut lines = String::new();
        for e in &keep {
            lines.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
            lines.push('\n');
        }
        write_private(&index, lines.as_bytes())?;
        // texts no kept entry refers to
        for gone in entries {
            if !keep.iter().any(|k| k.sha256 == gone.sha256) {
                let _ = std::fs::remove_file(dir.join(format!("{}.yaml", gone.sha256)));
            }
        }
    } else {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&index)
            .map_err(|e| format!("cannot open {}: {e}", index.display()))?;
        let line = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
        // a line torn by a crash is ended first, so this one stays readable
        let torn = std::fs::read(&index).is_ok_and(|t| t.last().is_some_and(|b| *b != b'\n'));
        let sep = if torn { "\n" } else { "" };
        writeln!(f, "{sep}{line}")
            .map_err(|e| format!("cannot append to {}: {e}", index.display()))?;
    }
    Ok(entry)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    lookout_tail::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))
}

/// The version now running: the newest applied entry.
pub fn running(entries: &[Entry]) -> Option<&Entry> {
    entries.iter().rev().find(|e| e.result == "applied")
}

/// The version a bare `rollback` goes to: the newest applied one whose text differs from the
/// running one's.
pub fn previous(entries: &[Entry]) -> Option<&Entry> {
    let cur = running(entries)?;
    entries
        .iter()
        .rev()
        .filter(|e| e.result == "applied" && e.version < cur.version)
        .find(|e| e.sha256 != cur.sha256)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_lists_and_gives_back_each_text() {
        let d = tempfile::tempdir().unwrap();
        let p = Path::new("/etc/lookout/lookout.yaml");
        record(d.path(), "a: 1\n", Some(p), "start", Ok(())).unwrap();
        record(d.path(), "a: 2\n", Some(p), "SIGHUP", Ok(())).unwrap();
        let bad = record(
            d.path(),
            "a: [\n",
            Some(p),
            "SIGHUP",
            Err("p:1:4: invalid YAML"),
        )
        .unwrap();
        assert_eq!(bad.version, 3);
        assert_eq!(bad.result, "rejected");
        let all = list(d.path()).unwrap();
        assert_eq!(all.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(running(&all).unwrap().version, 2);
        assert_eq!(previous(&all).unwrap().version, 1);
        assert_eq!(text(d.path(), 1).unwrap().1, "a: 1\n");
        assert_eq!(text(d.path(), 3).unwrap().1, "a: [\n");
        assert!(text(d.path(), 9).unwrap_err().contains("no version 9"));
        // owner-only
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(d.path().join("history/index.jsonl")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        let blob = d.path().join(format!("history/{}.yaml", all[0].sha256));
        assert_eq!(
            std::fs::metadata(&blob).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // a text changed on disk is not given back as the version
        std::fs::write(&blob, "a: 666\n").unwrap();
        assert!(text(d.path(), 1).unwrap_err().contains("changed on disk"));
    }

    #[test]
    fn keeps_the_newest_entries_and_only_their_texts() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..(KEEP + 5) {
            record(d.path(), &format!("n: {i}\n"), None, "SIGHUP", Ok(())).unwrap();
        }
        let all = list(d.path()).unwrap();
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].version, 6);
        assert_eq!(all.last().unwrap().version, (KEEP + 5) as u64);
        let blobs = std::fs::read_dir(d.path().join("history")).unwrap().count() - 1;
        assert_eq!(blobs, KEEP, "the texts of dropped entries are deleted");
        assert!(text(d.path(), 6).is_ok() && text(d.path(), 5).is_err());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), "a: 1\n", None, "start", Ok(())).unwrap();
        let idx = d.path().join("history/index.jsonl");
        let mut t = std::fs::read_to_string(&idx).unwrap();
        t.push_str("{\"version\": 2, \"unix\"");
        std::fs::write(&idx, t).unwrap();
        assert_eq!(list(d.path()).unwrap().len(), 1);
        // and the next entry continues after it on a line of its own
        assert_eq!(
            record(d.path(), "a: 2\n", None, "SIGHUP", Ok(()))
                .unwrap()
                .version,
            2
        );
        assert_eq!(list(d.path()).unwrap().len(), 2);
    }
}
