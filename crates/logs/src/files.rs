//! The `files` source: a reader thread drives a [`Tailer`], joins and parses lines into
//! batches; the async side sends them with acknowledgement tokens and hands settled offsets
//! back to the thread, which saves them as checkpoints.

use crate::assemble::{kv, kv_bool, rule_of, Joiner, Recorder};
use crate::ledger::Ledger;
use lookout_config::{FilesConfig, LogSettings, LogStartAt};
use lookout_logparse::MultilineRule;
use lookout_model::logs::LogsBuilder;
use lookout_model::otlp::{KeyValue, LogRecord};
use lookout_model::Batch;
use lookout_pipeline::{Acks, BoxFuture, ComponentStats, Source, SourceContext};
use lookout_tail::{Checkpoints, LoadStatus, StartAt, TailConfig, TailStats, Tailer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Offsets a batch's acknowledgement allows to record: (fingerprint, offset).
pub(crate) type Offsets = Vec<(u64, u64)>;

/// How long a stopping source waits for its last batches to be settled.
pub(crate) const FINAL_ACK_WAIT: Duration = Duration::from_secs(5);

/// How a tailed line becomes records: plain files, or Docker's json-file records.
pub(crate) trait LineHandler: Send + 'static {
    /// Handles one line of file `fp` at `path`, pushing completed records into `out`.
    fn line(&mut self, line: lookout_tail::Line, now: u64, out: &mut Records);
    /// Completes records idle for the multi-line timeout.
    fn flush_due(&mut self, now: u64, out: &mut Records);
    /// The offset of `fp` a restart may resume at, if `fp` was touched.
    fn safe_offset(&self, fp: u64) -> Option<u64>;
    /// Forgets files no longer open, completing what they still held into `out`.
    fn retain(&mut self, open: &dyn Fn(u64) -> bool, now: u64, out: &mut Records);
    /// Publishes handler-specific counters.
    fn report(&self, stats: &ComponentStats);
}

/// Records of the batch being built, grouped by resource.
#[derive(Default)]
pub(crate) struct Records {
    /// (resource attributes key, resource, records).
    groups: Vec<(String, Arc<Vec<KeyValue>>, Vec<LogRecord>)>,
    count: usize,
    /// Fingerprints that produced lines since the last cut.
    pub(crate) touched: Vec<u64>,
    /// Final offsets of files forgotten since the last cut.
    pub(crate) closed: Vec<(u64, u64)>,
}

impl Records {
    /// Adds a record under `resource` (identified by `key`).
    pub(crate) fn push(&mut self, key: &str, resource: &Arc<Vec<KeyValue>>, r: LogRecord) {
        self.count += 1;
        if let Some(g) = self.groups.iter_mut().find(|g| g.0 == key) {
            g.2.push(r);
        } else {
            self.groups
                .push((key.to_string(), resource.clone(), vec![r]));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    fn take_batch(&mut self, scope: &str) -> Option<Batch> {
        if self.count == 0 {
            return None;
        }
        self.count = 0;
        let mut req: Option<lookout_model::otlp::ExportLogsServiceRequest> = None;
        for (_, res, recs) in self.groups.drain(..) {
            let mut b = LogsBuilder::new((*res).clone(), scope, env!("CARGO_PKG_VERSION"));
            for r in recs {
                b.push(r);
            }
            let part = b.finish();
            match &mut req {
                Some(r) => r.resource_logs.extend(part.resource_logs),
                None => req = Some(part),
            }
        }
        req.map(Batch::Logs)
    }
}

/// The plain-file handler: one joiner per file.
pub(crate) struct PlainFiles {
    rule: MultilineRule,
    settings: LogSettings,
    recorder: Recorder,
    resource: Arc<Vec<KeyValue>>,
    files: HashMap<u64, Joiner>,
    paths: HashMap<u64, Arc<Path>>,
    truncated_records_gone: u64,
}

impl PlainFiles {
    pub(crate) fn new(
        settings: &LogSettings,
        resource: Arc<Vec<KeyValue>>,
    ) -> Result<Self, String> {
        Ok(PlainFiles {
            rule: rule_of(&settings.multiline, settings.parser)?,
            settings: settings.clone(),
            recorder: Recorder::new(settings)?,
            resource,
            files: HashMap::new(),
            paths: HashMap::new(),
            truncated_records_gone: 0,
        })
    }

    fn emit(&self, fp: u64, j: crate::assemble::Joined, now: u64, out: &mut Records) {
        let mut attrs = Vec::with_capacity(3);
        if let Some(p) = self.paths.get(&fp) {
            attrs.push(kv("log.file.path", p.to_string_lossy()));
            if let Some(n) = p.file_name() {
                attrs.push(kv("log.file.name", n.to_string_lossy()));
            }
        }
        if j.truncated {
            attrs.push(kv_bool("log.record.truncated", true));
        }
        out.push(
            "",
            &self.resource,
            self.recorder.record(&j.text, now, attrs),
        );
    }
}

impl LineHandler for PlainFiles {
    fn line(&mut self, line: lookout_tail::Line, now: u64, out: &mut Records) {
        let fp = line.fingerprint;
        if self.paths.get(&fp).is_none_or(|p| *p != line.file) {
            self.paths.insert(fp, line.file.clone());
        }
        let j = self
            .files
            .entry(fp)
            .or_insert_with(|| Joiner::new(&self.rule, self.settings.max_record_bytes));
        let done = j.push(
            line.text,
            line.truncated,
            line.offset_before,
            line.offset_after,
            now,
        );
        out.touched.push(fp);
        if let Some(d) = done {
            self.emit(fp, d, now, out);
        }
    }

    fn flush_due(&mut self, now: u64, out: &mut Records) {
        let idle = self.settings.multiline_timeout.0.as_nanos() as u64;
        let due: Vec<(u64, crate::assemble::Joined)> = self
            .files
            .iter_mut()
            .filter(|(_, j)| j.has_pending())
            .filter_map(|(fp, j)| j.flush_due(now, idle).map(|d| (*fp, d)))
            .collect();
        for (fp, d) in due {
            out.touched.push(fp);
            self.emit(fp, d, now, out);
        }
    }

    fn safe_offset(&self, fp: u64) -> Option<u64> {
        self.files.get(&fp).map(Joiner::safe_offset)
    }

    fn retain(&mut self, open: &dyn Fn(u64) -> bool, now: u64, out: &mut Records) {
        let gone: Vec<u64> = self
            .files
            .keys()
            .filter(|fp| !open(**fp))
            .copied()
            .collect();
        for fp in gone {
            if let Some(mut j) = self.files.remove(&fp) {
                if let Some(d) = j.flush() {
                    self.emit(fp, d, now, out);
                }
                out.closed.push((fp, j.safe_offset()));
                self.truncated_records_gone += j.truncated_records();
            }
            self.paths.remove(&fp);
        }
    }

    fn report(&self, stats: &ComponentStats) {
        let cut: u64 = self.truncated_records_gone
            + self
                .files
                .values()
                .map(Joiner::truncated_records)
                .sum::<u64>();
        stats.set_labeled(
            "lookout_log_truncated_total",
            "Log lines or multi-line records cut at their size limit.",
            "what",
            "record",
            cut,
        );
    }
}

/// Everything the reader thread needs.
pub(crate) struct ReaderSetup {
    pub(crate) tail: TailConfig,
    pub(crate) checkpoint_dir: PathBuf,
    pub(crate) checkpoint_interval: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) batch_max: usize,
    pub(crate) scope: &'static str,
}

/// Loads the checkpoint store, logging what happened to a damaged one.
fn load_checkpoints(dir: &Path, id: &str, stats: &ComponentStats) -> Checkpoints {
    match Checkpoints::load(dir) {
        Ok((c, LoadStatus::Corrupt { .. })) => {
            let msg = format!(
                "checkpoint file in {} was unreadable; moved aside to {}; files are read again from their start",
                dir.display(),
                lookout_tail::CHECKPOINT_CORRUPT
            );
            tracing::warn!(source = id, "{msg}");
            stats.record_error(&msg);
            c
        }
        Ok((c, _)) => c,
        Err(e) => {
            let msg = format!("cannot read checkpoints in {}: {e}", dir.display());
            tracing::warn!(source = id, "{msg}");
            stats.record_error(&msg);
            Checkpoints::new()
        }
    }
}

fn publish_tail(stats: &ComponentStats, t: &TailStats, open: usize) {
    let c = |what: &str, n: u64| {
        stats.set_labeled(
            "lookout_log_files_events_total",
            "File tailer events: lines, bytes, rotations, truncations, errors.",
            "event",
            what,
            n,
        )
    };
    c("lines", t.lines);
    c("bytes", t.bytes);
    c("truncated_lines", t.truncated_lines);
    c("skipped_bytes", t.skipped_bytes);
    c("invalid_utf8_lines", t.invalid_utf8_lines);
    c("files_opened", t.files_opened);
    c("files_released", t.files_released);
    c("rotations_renamed", t.rotations_renamed);
    c("rotations_truncated", t.rotations_truncated);
    c("read_errors", t.read_errors);
    c("unreadable_dirs", t.unreadable_dirs);
    stats.set_gauge(
        "lookout_log_files_open",
        "Log files currently open.",
        open as f64,
    );
}

/// The reader thread: polls, builds batches, applies settled offsets, saves checkpoints.
fn reader(
    id: String,
    setup: ReaderSetup,
    mut handler: Box<dyn LineHandler>,
    stats: Arc<ComponentStats>,
    stop: Arc<AtomicBool>,
    batches: mpsc::Sender<(Batch, Offsets)>,
    settled: std_mpsc::Receiver<Offsets>,
) {
    if let Err(e) = std::fs::create_dir_all(&setup.checkpoint_dir) {
        let msg = format!(
            "cannot create checkpoint directory {}: {e}; progress will not survive a restart",
            setup.checkpoint_dir.display()
        );
        tracing::warn!(source = %id, "{msg}");
        stats.record_error(&msg);
    }
    let cps = load_checkpoints(&setup.checkpoint_dir, &id, &stats);
    let mut tailer = match Tailer::with_checkpoints(setup.tail, cps) {
        Ok(t) => t,
        Err(e) => {
            stats.record_failure(&format!("cannot start: {e}"));
            return;
        }
    };
    let mut dirty = false;
    let mut last_save = Instant::now();
    let mut save_failed = false;
    let mut save = |tailer: &mut Tailer, dirty: &mut bool| {
        if !*dirty {
            return;
        }
        match tailer.save_checkpoints(&setup.checkpoint_dir) {
            Ok(()) => {
                *dirty = false;
                if save_failed {
                    save_failed = false;
                    tracing::info!(source = %id, "checkpoints are saved again");
                }
            }
            Err(e) => {
                if !save_failed {
                    save_failed = true;
                    tracing::warn!(source = %id, "cannot save checkpoints in {}: {e}", setup.checkpoint_dir.display());
                }
                stats.record_error(&format!("cannot save checkpoints: {e}"));
            }
        }
    };
    let apply = |tailer: &mut Tailer, offs: Offsets| {
        for (fp, off) in offs {
            tailer.ack(fp, off);
        }
    };
    let mut lines = Vec::new();
    let mut recs = Records::default();
    let mut last_retain = Instant::now();
    let send = |recs: &mut Records, handler: &dyn LineHandler| -> bool {
        let mut offs: Offsets = std::mem::take(&mut recs.closed);
        recs.touched.sort_unstable();
        recs.touched.dedup();
        for fp in recs.touched.drain(..) {
            if let Some(o) = handler.safe_offset(fp) {
                offs.push((fp, o));
            }
        }
        match recs.take_batch(setup.scope) {
            Some(b) => batches.blocking_send((b, offs)).is_ok(),
            // nothing to send, yet lines were consumed (e.g. a multi-line record started):
            // the offsets are still valid but cannot be acknowledged without a batch
            None => true,
        }
    };
    'run: while !stop.load(Relaxed) {
        while let Ok(offs) = settled.try_recv() {
            apply(&mut tailer, offs);
            dirty = true;
        }
        if last_save.elapsed() >= setup.checkpoint_interval {
            save(&mut tailer, &mut dirty);
            last_save = Instant::now();
        }
        lines.clear();
        let ps = tailer.poll(&mut lines);
        let now = lookout_model::now_nanos();
        for line in lines.drain(..) {
            handler.line(line, now, &mut recs);
            if recs.len() >= setup.batch_max && !send(&mut recs, &*handler) {
                break 'run;
            }
        }
        handler.flush_due(now, &mut recs);
        if recs.len() > 0 && !send(&mut recs, &*handler) {
            break;
        }
        if last_retain.elapsed() >= Duration::from_secs(5) {
            let open: std::collections::HashSet<u64> = tailer
                .files()
                .iter()
                .filter_map(|f| f.fingerprint)
                .collect();
            handler.retain(&|fp| open.contains(&fp), now, &mut recs);
            last_retain = Instant::now();
        }
        publish_tail(&stats, &tailer.stats(), tailer.files().len());
        handler.report(&stats);
        if ps.bytes == 0 {
            std::thread::sleep(setup.poll_interval);
        }
    }
    // stopping: the async side forwards the last settled offsets, then hangs up
    while let Ok(offs) = settled.recv() {
        apply(&mut tailer, offs);
        dirty = true;
    }
    save(&mut tailer, &mut dirty);
    publish_tail(&stats, &tailer.stats(), 0);
}

/// Runs a tailing source: the reader thread plus the acknowledgement loop.
pub(crate) async fn run_tailing(
    id: String,
    setup: ReaderSetup,
    handler: Box<dyn LineHandler>,
    cx: SourceContext,
) {
    let SourceContext {
        out,
        mut shutdown,
        stats,
    } = cx;
    let stop = Arc::new(AtomicBool::new(false));
    let (btx, mut brx) = mpsc::channel::<(Batch, Offsets)>(4);
    let (stx, srx) = std_mpsc::channel::<Offsets>();
    let thread = {
        let (id, stats, stop) = (id.clone(), stats.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("files-{id}"))
            .spawn(move || reader(id, setup, handler, stats, stop, btx, srx))
    };
    let thread = match thread {
        Ok(t) => t,
        Err(e) => {
            stats.record_failure(&format!("cannot start the reader thread: {e}"));
            return;
        }
    };
    let mut acks = Acks::new();
    let mut ledger: Ledger<Offsets> = Ledger::default();
    let mut warned_stall = false;
    let mut settle = |r, ledger: &mut Ledger<Offsets>| {
        for offs in ledger.settle(r) {
            let _ = stx.send(offs);
        }
        if ledger.stalled() && !warned_stall {
            warned_stall = true;
            tracing::warn!(source = %id, "a batch was not delivered (a buffer could not take it); checkpoints stay before it and its lines are read again after a restart");
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            b = brx.recv() => match b {
                Some((batch, offs)) => {
                    let tok = acks.token();
                    ledger.insert(tok.id(), offs);
                    out.send_acked(batch, tok).await;
                }
                None => break,
            },
            Some(r) = acks.recv() => settle(r, &mut ledger),
        }
    }
    stop.store(true, Relaxed);
    // batches built but not sent are simply read again next time
    drop(brx);
    drop(out);
    let until = tokio::time::Instant::now() + FINAL_ACK_WAIT;
    while !ledger.all_settled() {
        match tokio::time::timeout_at(until, acks.recv()).await {
            Ok(Some(r)) => settle(r, &mut ledger),
            _ => break,
        }
    }
    drop(stx);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
}

/// The `files` source.
pub struct FilesSource {
    id: String,
    cfg: FilesConfig,
    resource: Arc<Vec<KeyValue>>,
    data_dir: PathBuf,
}

impl FilesSource {
    /// A files source; `data_dir` holds its checkpoints (`checkpoints/<id>/`). Checks the
    /// globs and the multi-line pattern now.
    pub fn new(
        id: &str,
        cfg: FilesConfig,
        resource: Arc<Vec<KeyValue>>,
        data_dir: &Path,
    ) -> Result<FilesSource, String> {
        let s = FilesSource {
            id: id.to_string(),
            cfg,
            resource,
            data_dir: data_dir.to_path_buf(),
        };
        lookout_tail::Discovery::new(&s.cfg.include, &s.cfg.exclude).map_err(|e| e.to_string())?;
        rule_of(&s.cfg.multiline, s.cfg.parser)?;
        Recorder::new(&s.cfg.logs())?;
        Ok(s)
    }

    fn tail_config(&self) -> TailConfig {
        let c = &self.cfg;
        TailConfig {
            include: c.include.clone(),
            exclude: c.exclude.clone(),
            start_at: match c.start_at {
                LogStartAt::Beginning => StartAt::Beginning,
                LogStartAt::End => StartAt::End,
            },
            max_line_bytes: c.max_line_bytes,
            release_after: c.release_after.0,
            rescan_interval: c.rescan_interval.0,
            ..TailConfig::default()
        }
    }
}

/// Where a source keeps its checkpoints.
pub(crate) fn checkpoint_dir(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("checkpoints").join(id)
}

impl Source for FilesSource {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let handler = match PlainFiles::new(&self.cfg.logs(), self.resource.clone()) {
                Ok(h) => h,
                Err(e) => {
                    cx.stats.record_failure(&e);
                    return;
                }
            };
            let setup = ReaderSetup {
                tail: self.tail_config(),
                checkpoint_dir: checkpoint_dir(&self.data_dir, &self.id),
                checkpoint_interval: self.cfg.checkpoint_interval.0,
                poll_interval: self.cfg.poll_interval.0,
                batch_max: self.cfg.batch_max_records,
                scope: "lookout.files",
            };
            run_tailing(self.id.clone(), setup, Box::new(handler), cx).await
        })
    }
}
