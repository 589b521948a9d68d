//! The `journald` source: a supervised `journalctl --output=json --follow` child, its entries
//! sent in acknowledged batches, the cursor of the last settled entry saved atomically.
//!
//! Why `journalctl` and not the journal files directly: the journal file format is an
//! append-only database with hash tables, entry arrays, per-field compression (xz, lz4, zstd),
//! sealing, online rotation and files that other processes are still writing; systemd only
//! promises stability for `sd-journal` (which `journalctl` uses), not for the file layout.
//! Reading through `journalctl` gets interleaving across files, rotation and corruption
//! handling from the reference implementation, costs one child process, and needs no C
//! library at build time. The cost is JSON parsing (a few µs per entry).

use crate::files::{checkpoint_dir, FINAL_ACK_WAIT};
use crate::ledger::Ledger;
use lookout_config::{JournaldConfig, LogStartAt};
use lookout_logparse::{journalctl_args, parse_journal_entry, JournalctlArgs};
use lookout_model::logs::LogsBuilder;
use lookout_model::otlp::{KeyValue, LogRecord};
use lookout_model::Batch;
use lookout_pipeline::{Acks, BoxFuture, ComponentStats, Source, SourceContext};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The file holding the last acknowledged cursor.
pub const CURSOR_FILE: &str = "journald.cursor";

/// The `journald` source.
pub struct JournaldSource {
    id: String,
    cfg: JournaldConfig,
    resource: Arc<Vec<KeyValue>>,
    data_dir: PathBuf,
}

/// Problems reported once each until they go away (no log spam when the journal is missing).
#[derive(Default)]
struct Quiet {
    last: Option<String>,
}

impl Quiet {
    fn report(&mut self, id: &str, stats: &ComponentStats, msg: String) {
        // the first failure of a streak is logged by the stats; a different one is logged here
        stats.record_failure(&msg);
        if self.last.as_ref().is_some_and(|l| *l != msg) {
            tracing::warn!(source = id, "{msg} (retrying quietly)");
        }
        self.last = Some(msg);
    }

    fn ok(&mut self, id: &str) {
        if self.last.take().is_some() {
            tracing::info!(source = id, "journalctl runs again");
        }
    }
}

impl JournaldSource {
    /// A journald source; its cursor goes to `<data_dir>/checkpoints/<id>/journald.cursor`.
    /// Checks the filters now.
    pub fn new(
        id: &str,
        cfg: JournaldConfig,
        resource: Arc<Vec<KeyValue>>,
        data_dir: &Path,
    ) -> Result<JournaldSource, String> {
        let s = JournaldSource {
            id: id.to_string(),
            cfg,
            resource,
            data_dir: data_dir.to_path_buf(),
        };
        journalctl_args(&s.args(None, false))?;
        Ok(s)
    }

    fn args(&self, cursor: Option<String>, from_tail: bool) -> JournalctlArgs {
        JournalctlArgs {
            directory: self
                .cfg
                .directory
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
            units: self.cfg.units.clone(),
            matches: self
                .cfg
                .matches
                .iter()
                .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
                .collect(),
            current_boot_only: self.cfg.current_boot_only,
            after_cursor: cursor,
            from_tail,
        }
    }

    fn batch(&self, records: &mut Vec<LogRecord>) -> Batch {
        let mut b = LogsBuilder::new(
            (*self.resource).clone(),
            "lookout.journald",
            env!("CARGO_PKG_VERSION"),
        );
        for r in records.drain(..) {
            b.push(r);
        }
        Batch::Logs(b.finish())
    }
}

impl Source for JournaldSource {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture {
        Box::pin(run(*self, cx))
    }
}

async fn run(src: JournaldSource, cx: SourceContext) {
    let SourceContext {
        out,
        mut shutdown,
        stats,
    } = cx;
    let id = src.id.clone();
    let cursor_path = checkpoint_dir(&src.data_dir, &id).join(CURSOR_FILE);
    let saved = std::fs::read_to_string(&cursor_path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    // where the next journalctl resumes: after the last entry sent (in this run), else after
    // the last acknowledged one (previous runs)
    let mut resume = saved.clone();
    let first_start = saved.is_none();
    let mut acked: Option<String> = None;
    let mut dirty = false;
    let mut acks = Acks::new();
    let mut ledger: Ledger<String> = Ledger::default();
    let mut quiet = Quiet::default();
    let mut backoff = Duration::from_secs(1);
    let mut bad: HashMap<&'static str, u64> = HashMap::new();
    let mut save_tick = tokio::time::interval(src.cfg.checkpoint_interval.0);
    save_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let save = |acked: &Option<String>, dirty: &mut bool, stats: &ComponentStats| {
        if let (true, Some(c)) = (*dirty, acked) {
            let made = cursor_path.parent().map_or(Ok(()), std::fs::create_dir_all);
            match made.and_then(|()| lookout_tail::write_atomic(&cursor_path, c.as_bytes())) {
                Ok(()) => *dirty = false,
                Err(e) => stats.record_error(&format!(
                    "cannot save the journal cursor to {}: {e}",
                    cursor_path.display()
                )),
            }
        }
    };
    'supervise: while !shutdown.is_set() {
        if let Some(d) = &src.cfg.directory {
            if !d.is_dir() {
                quiet.report(
                    &id,
                    &stats,
                    format!("journal directory {} does not exist", d.display()),
                );
                tokio::select! {
                    _ = shutdown.wait() => break 'supervise,
                    _ = tokio::time::sleep(Duration::from_secs(3)) => continue 'supervise,
                }
            }
        }
        let from_tail = first_start && resume.is_none() && src.cfg.start_at == LogStartAt::End;
        let args = match journalctl_args(&src.args(resume.clone(), from_tail)) {
            Ok(a) => a,
            Err(e) => {
                stats.record_failure(&e);
                break;
            }
        };
        let mut child = match tokio::process::Command::new(&src.cfg.journalctl)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                quiet.report(
                    &id,
                    &stats,
                    format!("cannot run {}: {e}", src.cfg.journalctl.display()),
                );
                tokio::select! {
                    _ = shutdown.wait() => break 'supervise,
                    _ = tokio::time::sleep(Duration::from_secs(30)) => continue 'supervise,
                }
            }
        };
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            break;
        };
        let mut lines = BufReader::with_capacity(256 * 1024, stdout).lines();
        let mut records: Vec<LogRecord> = Vec::new();
        let mut last_cursor: Option<String> = None;
        let mut flush = tokio::time::interval(Duration::from_millis(200));
        let mut got_any = false;
        loop {
            tokio::select! {
                _ = shutdown.wait() => {
                    if !records.is_empty() {
                        let tok = acks.token();
                        ledger.insert(tok.id(), last_cursor.clone().unwrap_or_default());
                        out.send_acked(src.batch(&mut records), tok).await;
                    }
                    let _ = child.start_kill();
                    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                    break 'supervise;
                }
                l = lines.next_line() => match l {
                    Ok(Some(l)) => {
                        if !got_any {
                            got_any = true;
                            quiet.ok(&id);
                            backoff = Duration::from_secs(1);
                        }
                        match parse_journal_entry(l.as_bytes(), lookout_model::now_nanos()) {
                            Ok(e) => {
                                records.push(e.record);
                                last_cursor = Some(e.cursor);
                            }
                            Err(e) => {
                                let n = bad.entry(e.reason()).or_default();
                                *n += 1;
                                if *n == 1 {
                                    tracing::warn!(source = %id, "journalctl printed a line that is not a journal entry ({}); skipped and counted (logged once)", e.reason());
                                }
                                stats.set_labeled("lookout_log_journald_bad_entries_total", "journalctl output lines that are not entries, by reason.", "reason", e.reason(), *n);
                            }
                        }
                        if records.len() >= src.cfg.batch_max_records {
                            let tok = acks.token();
                            let c = last_cursor.clone().unwrap_or_default();
                            ledger.insert(tok.id(), c.clone());
                            resume = Some(c);
                            out.send_acked(src.batch(&mut records), tok).await;
                        }
                    }
                    // journalctl ended (or its output failed)
                    _ => break,
                },
                _ = flush.tick() => {
                    if !records.is_empty() {
                        let tok = acks.token();
                        let c = last_cursor.clone().unwrap_or_default();
                        ledger.insert(tok.id(), c.clone());
                        resume = Some(c);
                        out.send_acked(src.batch(&mut records), tok).await;
                    }
                }
                Some(r) = acks.recv() => {
                    if let Some(c) = ledger.settle(r).pop() {
                        acked = Some(c);
                        dirty = true;
                    }
                }
                _ = save_tick.tick() => save(&acked, &mut dirty, &stats),
            }
        }
        // journalctl exited: send what it printed, report why, restart with backoff
        if !records.is_empty() {
            let tok = acks.token();
            let c = last_cursor.clone().unwrap_or_default();
            ledger.insert(tok.id(), c.clone());
            resume = Some(c);
            out.send_acked(src.batch(&mut records), tok).await;
        }
        let status = child.wait().await;
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err).await;
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let msg = match status {
            Ok(s) => format!(
                "journalctl exited ({s}){}{first}",
                if first.is_empty() { "" } else { ": " }
            ),
            Err(e) => format!("journalctl could not be waited for: {e}"),
        };
        quiet.report(&id, &stats, msg);
        tokio::select! {
            _ = shutdown.wait() => break 'supervise,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
    drop(out);
    let until = tokio::time::Instant::now() + FINAL_ACK_WAIT;
    while !ledger.all_settled() {
        match tokio::time::timeout_at(until, acks.recv()).await {
            Ok(Some(r)) => {
                if let Some(c) = ledger.settle(r).pop() {
                    acked = Some(c);
                    dirty = true;
                }
            }
            _ => break,
        }
    }
    save(&acked, &mut dirty, &stats);
}
