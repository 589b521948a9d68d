//! Crash-safe checkpoint store: fingerprint → (last path, acknowledged offset, updated time).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The checkpoint file name inside the checkpoint directory.
pub const CHECKPOINT_FILE: &str = "checkpoints.json";
/// The temporary file a save writes before renaming it over [`CHECKPOINT_FILE`].
pub const CHECKPOINT_TMP: &str = "checkpoints.json.tmp";
/// Where a checkpoint file that cannot be parsed is moved.
pub const CHECKPOINT_CORRUPT: &str = "checkpoints.json.corrupt";

const FORMAT_VERSION: u32 = 1;

/// Acknowledged progress in one file (identified by its fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last path the file was read at (informational).
    pub path: PathBuf,
    /// Byte offset up to which lines were acknowledged (just past a newline).
    pub offset: u64,
    /// Device hint of the file the offset was read from (0 when unknown).
    pub dev: u64,
    /// Inode hint of the file the offset was read from (0 when unknown).
    pub ino: u64,
    /// When the entry was last acknowledged or seen in use, in milliseconds since the Unix epoch.
    pub updated_ms: u64,
}

/// What [`Checkpoints::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadStatus {
    /// No checkpoint file: an empty store (first start).
    Missing,
    /// The file was read: this many entries.
    Loaded(usize),
    /// The file could not be parsed: it was moved to `moved_to` and an empty store returned.
    Corrupt {
        /// Why it could not be parsed.
        error: String,
        /// Where it was moved.
        moved_to: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    entries: Vec<EntryFormat>,
}

#[derive(Serialize, Deserialize)]
struct EntryFormat {
    /// Fingerprint as 16 lowercase hex digits (JSON numbers lose precision above 2^53 in many
    /// readers).
    fingerprint: String,
    path: String,
    offset: u64,
    #[serde(default)]
    dev: u64,
    #[serde(default)]
    ino: u64,
    updated_ms: u64,
}

/// The checkpoint store, keyed by fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoints {
    entries: HashMap<u64, Checkpoint>,
}

/// Milliseconds since the Unix epoch for `t` (0 before the epoch).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Checkpoints {
    /// An empty store.
    pub fn new() -> Checkpoints {
        Checkpoints::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `fingerprint`.
    pub fn get(&self, fingerprint: u64) -> Option<&Checkpoint> {
        self.entries.get(&fingerprint)
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Checkpoint)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Record `offset` for `fingerprint` (replacing any earlier offset, so acknowledge in order).
    pub fn set(&mut self, fingerprint: u64, cp: Checkpoint) {
        self.entries.insert(fingerprint, cp);
    }

    /// Mark `fingerprint` as still in use at `now` (keeps it from being pruned).
    pub fn touch(&mut self, fingerprint: u64, now: SystemTime) {
        if let Some(e) = self.entries.get_mut(&fingerprint) {
            e.updated_ms = e.updated_ms.max(unix_ms(now));
        }
    }

    /// Remove entries not updated within `max_age` of `now`, then the oldest ones beyond
    /// `max_entries`. Returns how many were removed.
    pub fn prune(&mut self, now: SystemTime, max_age: Duration, max_entries: usize) -> usize {
        let before = self.entries.len();
        let cutoff =
            unix_ms(now).saturating_sub(u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX));
        self.entries.retain(|_, e| e.updated_ms >= cutoff);
        if self.entries.len() > max_entries {
            let mut by_age: Vec<(u64, u64)> = self
                .entries
                .iter()
                .map(|(k, e)| (e.updated_ms, *k))
                .collect();
            by_age.sort_unstable();
            let excess = self.entries.len() - max_entries;
            for (_, k) in by_age.into_iter().take(excess) {
                self.entries.remove(&k);
            }
        }
        before - self.entries.len()
    }

    /// Load `dir/checkpoints.json`. A missing file is an empty store; a file that cannot be parsed
    /// is moved to `checkpoints.json.corrupt` and reported, with an empty store. A leftover
    /// temporary file from an interrupted save is ignored (the previous file is intact).
    pub fn load(dir: &Path) -> io::Result<(Checkpoints, LoadStatus)> {
        let path = dir.join(CHECKPOINT_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((Checkpoints::new(), LoadStatus::Missing))
            }
            Err(e) => return Err(e),
        };
        match Checkpoints::parse(&bytes) {
            Ok(cps) => {
                let n = cps.len();
                Ok((cps, LoadStatus::Loaded(n)))
            }
            Err(error) => {
                let moved_to = dir.join(CHECKPOINT_CORRUPT);
                fs::rename(&path, &moved_to)?;
                sync_dir(dir)?;
                Ok((Checkpoints::new(), LoadStatus::Corrupt { error, moved_to }))
            }
        }
    }

    fn parse(bytes: &[u8]) -> Result<Checkpoints, String> {
        let f: FileFormat = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if f.version != FORMAT_VERSION {
            return Err(format!(
                "unsupported checkpoint format version {}",
                f.version
            ));
        }
        let mut entries = HashMap::with_capacity(f.entries.len());
        for e in f.entries {
            let fp = u64::from_str_radix(&e.fingerprint, 16)
                .map_err(|_| format!("bad fingerprint {:?}", e.fingerprint))?;
            entries.insert(
                fp,
                Checkpoint {
                    path: PathBuf::from(e.path),
                    offset: e.offset,
                    dev: e.dev,
                    ino: e.ino,
                    updated_ms: e.updated_ms,
                },
            );
        }
        Ok(Checkpoints { entries })
    }

    /// Save to `dir/checkpoints.json` atomically: write `checkpoints.json.tmp`, fsync it, rename
    /// it over the old file, fsync the directory. A crash at any point leaves either the old or
    /// the new file complete.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let mut entries: Vec<EntryFormat> = self
            .entries
            .iter()
            .map(|(fp, e)| EntryFormat {
                fingerprint: format!("{fp:016x}"),
                path: e.path.to_string_lossy().into_owned(),
                offset: e.offset,
                dev: e.dev,
                ino: e.ino,
                updated_ms: e.updated_ms,
            })
            .collect();
        entries.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let body = serde_json::to_vec_pretty(&FileFormat {
            version: FORMAT_VERSION,
            entries,
        })
        .map_err(io::Error::other)?;
        write_atomic(&dir.join(CHECKPOINT_FILE), &body)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new content: a
/// temporary file beside it (`<name>.tmp`, owner-only), fsync, rename over `path`, fsync of the
/// directory. Used for every small state file (checkpoints, journal cursors, overrides).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cp(offset: u64, ms: u64) -> Checkpoint {
        Checkpoint {
            path: PathBuf::from("/x"),
            offset,
            dev: 1,
            ino: 2,
            updated_ms: ms,
        }
    }

    #[test]
    fn roundtrip_and_missing() {
        let d = tempfile::tempdir().unwrap();
        let (c, st) = Checkpoints::load(d.path()).unwrap();
        assert!(c.is_empty());
        assert_eq!(st, LoadStatus::Missing);
        let mut c = Checkpoints::new();
        c.set(u64::MAX, cp(10, 5));
        c.set(7, cp(20, 6));
        c.save(d.path()).unwrap();
        let (back, st) = Checkpoints::load(d.path()).unwrap();
        assert_eq!(st, LoadStatus::Loaded(2));
        assert_eq!(back, c);
    }

    #[test]
    fn prune_by_age_and_count() {
        let mut c = Checkpoints::new();
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        c.set(1, cp(0, 1_000));
        c.set(2, cp(0, 990_000));
        c.set(3, cp(0, 995_000));
        c.set(4, cp(0, 999_000));
        assert_eq!(c.prune(now, Duration::from_secs(60), 10), 1);
        assert!(c.get(1).is_none());
        assert_eq!(c.prune(now, Duration::from_secs(60), 2), 1);
        assert!(c.get(2).is_none());
        assert!(c.get(3).is_some() && c.get(4).is_some());
    }
}
