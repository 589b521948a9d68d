//! Appends batches as OTLP/JSON lines (the official OTLP JSON encoding, one export request per
//! line, as the OpenTelemetry Collector's file exporter writes), so any OpenTelemetry tool can
//! read the file. The file is created owner-only (0600). With `rotate_bytes`, a file that grew
//! past the limit is renamed to `<path>.1` (replacing an older one) and a new one started.
//! A failed write (e.g. a full disk) is retried every second until the shutdown grace ends;
//! the batch is never half-written twice: a line is written with one `write_all` and flushed.

use lookout_config::FileSinkConfig;
use lookout_pipeline::{BoxFuture, Retry, Sink, SinkContext};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// The sink.
pub struct FileSink {
    path: PathBuf,
    rotate_bytes: u64,
    file: Option<File>,
}

/// Opens for appending. A file whose last line is torn (the agent was killed in the middle of a
/// write) gets a newline first, so the torn line stays alone and the next line is whole JSON.
fn open(path: &PathBuf) -> std::io::Result<File> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .open(path)?;
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        if f.read_at(&mut last, len - 1)? == 1 && last[0] != b'\n' {
            f.write_all(b"\n")?;
        }
    }
    Ok(f)
}

impl FileSink {
    /// Opens (creating) the file; fails if it cannot be written.
    pub fn new(cfg: &FileSinkConfig) -> Result<Self, String> {
        let file =
            open(&cfg.path).map_err(|e| format!("cannot open {}: {e}", cfg.path.display()))?;
        Ok(FileSink {
            path: cfg.path.clone(),
            rotate_bytes: cfg.rotate_bytes,
            file: Some(file),
        })
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.rotate_bytes > 0 {
            let len = self
                .file
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .map_or(0, |m| m.len());
            if len > 0 && len + line.len() as u64 > self.rotate_bytes {
                let mut old = self.path.clone().into_os_string();
                old.push(".1");
                std::fs::rename(&self.path, &old)?;
                self.file = None;
            }
        }
        if self.file.is_none() {
            self.file = Some(open(&self.path)?);
        }
        match self.file.as_mut() {
            Some(f) => {
                f.write_all(line)?;
                f.flush()
            }
            None => Err(std::io::Error::other("file not open")),
        }
    }
}

impl Sink for FileSink {
    fn run(mut self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
        Box::pin(async move {
            while let Some(ev) = cx.recv().await {
                let items = ev.item_count() as u64;
                let mut line = match ev.to_json() {
                    Ok(j) => j.into_bytes(),
                    Err(e) => {
                        cx.stats.dropped_items.fetch_add(items, Relaxed);
                        cx.stats
                            .record_error(&format!("cannot encode batch as JSON: {e}"));
                        continue;
                    }
                };
                line.push(b'\n');
                loop {
                    let t = Instant::now();
                    match self.write_line(&line) {
                        Ok(()) => {
                            cx.delivered(items, t).await;
                            break;
                        }
                        Err(e) => {
                            cx.stats.record_failure(&format!(
                                "cannot write {}: {e}",
                                self.path.display()
                            ));
                            // reopen on the next attempt (the file may have been removed)
                            self.file = None;
                            match cx.pause_before_retry(items).await {
                                Retry::Again => {}
                                Retry::GiveUp => break,
                                Retry::Stop => return, // stays queued on disk
                            }
                        }
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod torn_tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn a_torn_last_line_is_closed_before_appending() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"b\":").unwrap();
        let mut f = super::open(&p).unwrap();
        std::io::Write::write_all(&mut f, b"{\"c\":3}\n").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":\n{\"c\":3}\n");
        // a whole file is left as is
        drop(super::open(&p).unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    #[test]
    fn creates_owner_only_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let mut s = FileSink::new(&FileSinkConfig {
            path: path.clone(),
            rotate_bytes: 10,
        })
        .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        s.write_line(b"first line\n").unwrap();
        s.write_line(b"second\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.jsonl.1")).unwrap(),
            "first line\n"
        );
        assert!(FileSink::new(&FileSinkConfig {
            path: dir.path().join("no/such/dir"),
            rotate_bytes: 0
        })
        .is_err());
    }

    #[tokio::test]
    async fn every_batch_becomes_one_otlp_json_line() {
        use lookout_model::{Batch, MetricsBuilder};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.jsonl");
        let sink = FileSink::new(&FileSinkConfig {
            path: path.clone(),
            rotate_bytes: 0,
        })
        .unwrap();
        let batches: Vec<Batch> = (0..5)
            .map(|i| {
                let mut b = MetricsBuilder::new(vec![], "s", "1");
                b.gauge("g", "1", "").gauge_i64(1, i, &[]);
                Batch::Metrics(b.finish())
            })
            .collect();
        let snap =
            lookout_pipeline::testkit::run_sink(Box::new(sink), batches, Duration::from_secs(5))
                .await;
        lookout_pipeline::testkit::assert_sink_metrics(5, &snap);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 5);
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["resourceMetrics"].is_array());
        }
    }
}
