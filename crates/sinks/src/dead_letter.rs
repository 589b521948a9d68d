//! The dead-letter directory: batches a sink could not deliver for good (a permanent error, a
//! request too large for any backend limit, retries exhausted) are kept as files instead of
//! being dropped, with the reason and the backend's answer, for `lookout dlq`.
//!
//! Layout: `<data_dir>/dead_letter/<sink id>/<entry>.pb` is the OTLP protobuf export request
//! (any OpenTelemetry tool reads it) and `<entry>.json` its [`Entry`] metadata. Both are written
//! to a temporary name, fsynced and renamed, owner-only (0600), so a crash never leaves half an
//! entry.

use lookout_model::{Batch, Signal};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What is known about one dead-lettered batch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Entry id (file stem), unique per directory.
    pub id: String,
    /// The sink that gave it up.
    pub sink: String,
    /// `metrics`, `logs` or `traces`.
    pub signal: String,
    /// Items in the batch.
    pub events: u64,
    /// Size of the protobuf payload.
    pub bytes: u64,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The HTTP status, if the backend answered.
    pub status: Option<u16>,
    /// The start of the backend's answer.
    pub response: Option<String>,
    /// Where it was being sent (credentials removed).
    pub endpoint: Option<String>,
    /// When (Unix milliseconds).
    pub time_unix_ms: u64,
}

/// The dead-letter directory of one sink.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    dir: PathBuf,
    sink: String,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.to_path_buf().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The signal named in an entry.
pub fn signal_of(name: &str) -> Option<Signal> {
    match name {
        "metrics" => Some(Signal::Metrics),
        "logs" => Some(Signal::Logs),
        "traces" => Some(Signal::Traces),
        _ => None,
    }
}

impl DeadLetters {
    /// The directory for `sink` under `data_dir`.
    pub fn new(data_dir: &Path, sink: &str) -> Self {
        DeadLetters {
            dir: data_dir.join("dead_letter").join(sink),
            sink: sink.to_string(),
        }
    }

    /// The root of every sink's dead letters.
    pub fn root(data_dir: &Path) -> PathBuf {
        data_dir.join("dead_letter")
    }

    /// Keeps a batch; returns the entry.
    pub fn put(
        &self,
        batch: &Batch,
        reason: &str,
        status: Option<u16>,
        response: Option<&str>,
        endpoint: Option<&str>,
    ) -> std::io::Result<Entry> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let now = lookout_model::now_nanos() / 1_000_000;
        let id = format!(
            "{now:013}-{:06}-{}",
            SEQ.fetch_add(1, Relaxed),
            std::process::id()
        );
        let payload = batch.encode_protobuf();
        let entry = Entry {
            id: id.clone(),
            sink: self.sink.clone(),
            signal: batch.signal().as_str().to_string(),
            events: batch.item_count() as u64,
            bytes: payload.len() as u64,
            reason: reason.to_string(),
            status,
            response: response.map(|r| r.chars().take(2000).collect()),
            endpoint: endpoint.map(str::to_string),
            time_unix_ms: now,
        };
        write_atomic(&self.dir.join(format!("{id}.pb")), &payload)?;
        let meta = serde_json::to_vec_pretty(&entry).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join(format!("{id}.json")), &meta)?;
        Ok(entry)
    }
}

/// Every entry under a data directory (all sinks), oldest first. Unreadable metadata is
/// skipped.
pub fn list(data_dir: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let Ok(sinks) = std::fs::read_dir(DeadLetters::root(data_dir)) else {
        return out;
    };
    for s in sinks.flatten() {
        let Ok(files) = std::fs::read_dir(s.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "json") {
                if let Some(e) = std::fs::read(&p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
                {
                    out.push(e);
                }
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The payload file and metadata file of an entry.
pub fn files(data_dir: &Path, e: &Entry) -> (PathBuf, PathBuf) {
    let dir = DeadLetters::root(data_dir).join(&e.sink);
    (
        dir.join(format!("{}.pb", e.id)),
        dir.join(format!("{}.json", e.id)),
    )
}

/// Loads an entry's batch.
pub fn load(data_dir: &Path, e: &Entry) -> Result<Batch, String> {
    let (pb, _) = files(data_dir, e);
    let bytes = std::fs::read(&pb).map_err(|err| format!("cannot read {}: {err}", pb.display()))?;
    let signal = signal_of(&e.signal).ok_or_else(|| format!("unknown signal {}", e.signal))?;
    Batch::decode_protobuf(signal, &bytes)
        .map_err(|err| format!("{} is not valid OTLP: {err}", pb.display()))
}

/// Removes an entry (both files).
pub fn remove(data_dir: &Path, e: &Entry) -> std::io::Result<()> {
    let (pb, json) = files(data_dir, e);
    // metadata first: an entry without it is not listed, so a crash in between cannot replay twice
    std::fs::remove_file(json)?;
    match std::fs::remove_file(pb) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::MetricsBuilder;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn put_list_load_remove() {
        let d = tempfile::tempdir().unwrap();
        let dl = DeadLetters::new(d.path(), "otlp");
        let mut b = MetricsBuilder::new(vec![], "s", "1");
        b.gauge("g", "1", "").gauge_i64(1, 2, &[]);
        let batch = Batch::Metrics(b.finish());
        let e = dl
            .put(&batch, "HTTP 400", Some(400), Some("bad"), Some("http://x"))
            .unwrap();
        let all = list(d.path());
        assert_eq!(all, vec![e.clone()]);
        assert_eq!(load(d.path(), &e).unwrap(), batch);
        let (pb, json) = files(d.path(), &e);
        assert_eq!(
            std::fs::metadata(&pb).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(json.exists());
        remove(d.path(), &e).unwrap();
        assert!(list(d.path()).is_empty());
        assert!(!pb.exists());
    }
}
