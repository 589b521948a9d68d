//! The [`Tailer`]: discovery, identity, rotation and line reading.

use crate::checkpoint::{unix_ms, Checkpoint, Checkpoints};
use crate::discovery::Discovery;
use crate::glob::GlobError;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Where to start reading a file seen at the very first start (no checkpoints at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// Read existing content.
    #[default]
    Beginning,
    /// Skip existing content; read only what is appended after the first scan.
    End,
}

/// Tailer configuration.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// Absolute path globs of files to read (`*`, `?`, `[abc]`, `**`).
    pub include: Vec<String>,
    /// Globs of files to leave out: absolute, or a file-name pattern such as `*.gz`.
    pub exclude: Vec<String>,
    /// Where files present at the very first start (empty checkpoint store) begin.
    pub start_at: StartAt,
    /// Longest line emitted, in bytes; longer lines are cut and flagged `truncated`.
    pub max_line_bytes: usize,
    /// Most bytes read from one file in one poll (fairness across files).
    pub read_budget_bytes: usize,
    /// Most bytes hashed into a fingerprint (fewer when the first line is shorter).
    pub fingerprint_bytes: usize,
    /// Idle time after which a held incomplete last line is emitted, and after which a fully read
    /// file that was rotated away or deleted is closed.
    pub release_after: Duration,
    /// Minimum time between discovery scans.
    pub rescan_interval: Duration,
    /// Most checkpoint entries kept (oldest pruned first).
    pub max_checkpoints: usize,
    /// Checkpoint entries not used for this long are pruned.
    pub checkpoint_max_age: Duration,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            include: Vec::new(),
            exclude: Vec::new(),
            start_at: StartAt::Beginning,
            max_line_bytes: 256 * 1024,
            read_budget_bytes: 1024 * 1024,
            fingerprint_bytes: 256,
            release_after: Duration::from_secs(5),
            rescan_interval: Duration::from_secs(1),
            max_checkpoints: 10_000,
            checkpoint_max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl TailConfig {
    /// Defaults with these include globs.
    pub fn new<S: Into<String>>(include: impl IntoIterator<Item = S>) -> TailConfig {
        TailConfig {
            include: include.into_iter().map(Into::into).collect(),
            ..TailConfig::default()
        }
    }
}

/// A configuration the tailer cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A glob is invalid.
    Glob(GlobError),
    /// A size that must be positive is zero.
    Zero(&'static str),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Glob(e) => e.fmt(f),
            ConfigError::Zero(what) => write!(f, "{what} must be greater than zero"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// One line read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The file's current (last known) path.
    pub file: Arc<Path>,
    /// The file's fingerprint (its identity, and the key to acknowledge with).
    pub fingerprint: u64,
    /// Byte offset where this line starts: acknowledging it resumes a restart at this line
    /// (what a source acknowledges while the line is held, e.g. for a multi-line record).
    pub offset_before: u64,
    /// Byte offset just past this line's newline (or past its last byte when an incomplete last
    /// line was flushed): acknowledge this with [`Tailer::ack`].
    pub offset_after: u64,
    /// The line without its `\n` (and a `\r` before it), invalid UTF-8 replaced by U+FFFD.
    pub text: String,
    /// The line was longer than `max_line_bytes`: `text` holds its first bytes only.
    pub truncated: bool,
}

/// Counters, for one poll ([`PollStats`]) or since the start ([`Tailer::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailStats {
    /// Lines emitted.
    pub lines: u64,
    /// Bytes consumed from files (newlines and skipped bytes included).
    pub bytes: u64,
    /// Lines cut at `max_line_bytes`.
    pub truncated_lines: u64,
    /// Bytes of overlong lines skipped.
    pub skipped_bytes: u64,
    /// Lines that held invalid UTF-8.
    pub invalid_utf8_lines: u64,
    /// File handles opened.
    pub files_opened: u64,
    /// File handles closed (rotated away or deleted, fully read, idle).
    pub files_released: u64,
    /// Files seen moved away from their path (rename rotation).
    pub rotations_renamed: u64,
    /// Files seen truncated or rewritten in place (copytruncate).
    pub rotations_truncated: u64,
    /// Open, stat or read errors (the file is retried later).
    pub read_errors: u64,
    /// Directories discovery could not list.
    pub unreadable_dirs: u64,
    /// Discovery scans run.
    pub scans: u64,
}

/// Counters of one [`Tailer::poll`].
pub type PollStats = TailStats;

impl TailStats {
    fn add(&mut self, o: &TailStats) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.truncated_lines += o.truncated_lines;
        self.skipped_bytes += o.skipped_bytes;
        self.invalid_utf8_lines += o.invalid_utf8_lines;
        self.files_opened += o.files_opened;
        self.files_released += o.files_released;
        self.rotations_renamed += o.rotations_renamed;
        self.rotations_truncated += o.rotations_truncated;
        self.read_errors += o.read_errors;
        self.unreadable_dirs += o.unreadable_dirs;
        self.scans += o.scans;
    }
}

/// The state of one open file, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// Last known path.
    pub path: Arc<Path>,
    /// Fingerprint, once the file has one.
    pub fingerprint: Option<u64>,
    /// This handle is the one reading its fingerprint's content (false: waiting for a
    /// fingerprint, or a copy of content another handle is reading).
    pub reading: bool,
    /// Next byte offset to read.
    pub offset: u64,
    /// Still found at a path the globs match.
    pub matched: bool,
    /// Unlinked (read to its end through the open handle).
    pub deleted: bool,
    /// Errors on this handle.
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Normal reading.
    None,
    /// `partial` holds the first `max_line_bytes` of an overlong line; discard to the newline,
    /// then emit it truncated.
    Overlong,
    /// Discard to the next newline without emitting (start mid-line, or the rest of an overlong
    /// line already flushed).
    Discard,
}

struct Handle {
    file: File,
    path: Arc<Path>,
    dev: u64,
    ino: u64,
    fp: Option<u64>,
    /// The bytes the fingerprint was computed from (to detect in-place rewrites).
    prefix: Vec<u8>,
    claimed: bool,
    offset: u64,
    /// Offset just past the last emitted line (start of `partial`).
    line_start: u64,
    partial: Vec<u8>,
    skip: Skip,
    last_size: u64,
    last_activity: Instant,
    matched: bool,
    deleted: bool,
    /// Set for files seen at the very first scan with `StartAt::End`.
    initial_size: Option<u64>,
    errors: u64,
    release: bool,
}

#[derive(Debug, Clone)]
struct Known {
    /// Offset just past the last line emitted (or acknowledged, for entries from checkpoints).
    offset: u64,
    dev: u64,
    ino: u64,
    path: Arc<Path>,
    used: u64,
}

const CHUNK: usize = 64 * 1024;

/// The synchronous file tailer. See the crate documentation for the model.
pub struct Tailer {
    cfg: TailConfig,
    discovery: Discovery,
    handles: Vec<Handle>,
    /// Fingerprints being read by some handle.
    claimed: HashSet<u64>,
    /// Read positions of fingerprints not currently claimed (and of claimed ones when they were
    /// last released), seeded from the checkpoints.
    known: HashMap<u64, Known>,
    checkpoints: Checkpoints,
    first_start: bool,
    scanned: bool,
    last_scan: Option<Instant>,
    open_errors: HashMap<PathBuf, u64>,
    rr: usize,
    tick: u64,
    scratch: Vec<u8>,
    totals: TailStats,
}

impl std::fmt::Debug for Tailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tailer")
            .field("files", &self.handles.len())
            .field("known", &self.known.len())
            .field("checkpoints", &self.checkpoints.len())
            .field("totals", &self.totals)
            .finish()
    }
}

/// Fingerprint of a file: SHA-256 of its first line including the newline, or of its first
/// `max` bytes if the first line is longer, folded to 64 bits. None while the file holds fewer
/// than `max` bytes and no complete line.
fn fingerprint(file: &File, max: usize) -> io::Result<Option<(u64, Vec<u8>)>> {
    let mut buf = vec![0u8; max];
    let mut n = 0;
    while n < max {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    buf.truncate(n);
    let len = match memchr::memchr(b'\n', &buf) {
        Some(i) => i + 1,
        None if n == max => max,
        None => return Ok(None),
    };
    buf.truncate(len);
    Ok(Some((hash64(&buf), buf)))
}

fn hash64(b: &[u8]) -> u64 {
    let d = Sha256::digest(b);
    let mut x = [0u8; 8];
    x.copy_from_slice(&d[..8]);
    u64::from_be_bytes(x)
}

/// Whether the file still starts with `prefix`.
fn prefix_matches(file: &File, prefix: &[u8]) -> io::Result<bool> {
    let mut buf = vec![0u8; prefix.len()];
    let mut n = 0;
    while n < buf.len() {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            return Ok(false);
        }
        n += r;
    }
    Ok(buf == prefix)
}

impl Tailer {
    /// A tailer with an empty checkpoint store (a first start: `start_at` applies).
    pub fn new(cfg: TailConfig) -> Result<Tailer, ConfigError> {
        Tailer::with_checkpoints(cfg, Checkpoints::new())
    }

    /// A tailer resuming from `checkpoints` (see [`Checkpoints::load`]). When the store is empty
    /// this is a first start and `start_at` applies to the files found by the first scan;
    /// otherwise files without a checkpoint are read from the beginning.
    pub fn with_checkpoints(
        cfg: TailConfig,
        checkpoints: Checkpoints,
    ) -> Result<Tailer, ConfigError> {
        for (v, name) in [
            (cfg.max_line_bytes, "max_line_bytes"),
            (cfg.read_budget_bytes, "read_budget_bytes"),
            (cfg.fingerprint_bytes, "fingerprint_bytes"),
        ] {
            if v == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        let discovery = Discovery::new(&cfg.include, &cfg.exclude).map_err(ConfigError::Glob)?;
        let known = checkpoints
            .iter()
            .map(|(fp, c)| {
                (
                    fp,
                    Known {
                        offset: c.offset,
                        dev: c.dev,
                        ino: c.ino,
                        path: Arc::from(c.path.as_path()),
                        used: 0,
                    },
                )
            })
            .collect();
        Ok(Tailer {
            first_start: checkpoints.is_empty(),
            cfg,
            discovery,
            handles: Vec::new(),
            claimed: HashSet::new(),
            known,
            checkpoints,
            scanned: false,
            last_scan: None,
            open_errors: HashMap::new(),
            rr: 0,
            tick: 0,
            scratch: Vec::new(),
            totals: TailStats::default(),
        })
    }

    /// Counters since the start.
    pub fn stats(&self) -> TailStats {
        self.totals
    }

    /// The checkpoint store (acknowledged progress).
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// Open files.
    pub fn files(&self) -> Vec<FileStatus> {
        self.handles
            .iter()
            .map(|h| FileStatus {
                path: h.path.clone(),
                fingerprint: h.fp,
                reading: h.claimed,
                offset: h.offset,
                matched: h.matched,
                deleted: h.deleted,
                errors: h.errors,
            })
            .collect()
    }

    /// Paths that matched but could not be opened, with their error counts.
    pub fn open_errors(&self) -> &HashMap<PathBuf, u64> {
        &self.open_errors
    }

    /// Record that lines of `fingerprint` up to `offset_after` were accepted downstream. The next
    /// [`save_checkpoints`](Tailer::save_checkpoints) persists it. Acknowledge in order: a lower
    /// offset replaces a higher one.
    pub fn ack(&mut self, fingerprint: u64, offset_after: u64) {
        let (path, dev, ino) = if let Some(h) = self
            .handles
            .iter()
            .find(|h| h.claimed && h.fp == Some(fingerprint))
        {
            (h.path.to_path_buf(), h.dev, h.ino)
        } else if let Some(k) = self.known.get(&fingerprint) {
            (k.path.to_path_buf(), k.dev, k.ino)
        } else if let Some(c) = self.checkpoints.get(fingerprint) {
            (c.path.clone(), c.dev, c.ino)
        } else {
            (PathBuf::new(), 0, 0)
        };
        self.checkpoints.set(
            fingerprint,
            Checkpoint {
                path,
                offset: offset_after,
                dev,
                ino,
                updated_ms: unix_ms(SystemTime::now()),
            },
        );
    }

    /// Prune old checkpoint entries (keeping those of open files) and save the store atomically
    /// to `dir` (see [`Checkpoints::save`]).
    pub fn save_checkpoints(&mut self, dir: &Path) -> io::Result<()> {
        let now = SystemTime::now();
        for h in &self.handles {
            if let Some(fp) = h.fp {
                self.checkpoints.touch(fp, now);
            }
        }
        self.checkpoints
            .prune(now, self.cfg.checkpoint_max_age, self.cfg.max_checkpoints);
        self.checkpoints.save(dir)
    }

    /// Read what is available now (never blocks waiting for data): rescan discovery when
    /// `rescan_interval` has passed, handle rotation and truncation, and read up to
    /// `read_budget_bytes` from each file, starting the round at a different file each poll.
    /// Lines are appended to `out`.
    pub fn poll(&mut self, out: &mut Vec<Line>) -> PollStats {
        let mut st = TailStats::default();
        let now = Instant::now();
        let due = self
            .last_scan
            .is_none_or(|t| now.duration_since(t) >= self.cfg.rescan_interval);
        if due {
            self.rescan(&mut st);
            self.last_scan = Some(now);
        }
        let n = self.handles.len();
        if n > 0 {
            let start = self.rr % n;
            self.rr = self.rr.wrapping_add(1);
            for k in 0..n {
                self.service((start + k) % n, now, out, &mut st);
            }
            let before = self.handles.len();
            self.handles.retain(|h| !h.release);
            st.files_released += (before - self.handles.len()) as u64;
        }
        self.bound_known();
        self.totals.add(&st);
        st
    }

    fn rescan(&mut self, st: &mut TailStats) {
        let scan = self.discovery.scan();
        st.scans += 1;
        st.unreadable_dirs += scan.unreadable_dirs;
        let mut found: HashMap<(u64, u64), PathBuf> = HashMap::with_capacity(scan.files.len());
        for f in scan.files {
            found.insert((f.dev, f.ino), f.path);
        }
        for h in &mut self.handles {
            match found.remove(&(h.dev, h.ino)) {
                Some(p) => {
                    if *h.path != *p {
                        if h.matched {
                            st.rotations_renamed += 1;
                        }
                        h.path = Arc::from(p.as_path());
                    }
                    h.matched = true;
                }
                None => {
                    if h.matched {
                        let gone = h.file.metadata().map(|m| m.nlink() == 0).unwrap_or(false);
                        if gone {
                            h.deleted = true;
                        } else {
                            st.rotations_renamed += 1;
                        }
                    }
                    h.matched = false;
                }
            }
        }
        let first = !self.scanned;
        self.scanned = true;
        let mut new: Vec<PathBuf> = found.into_values().collect();
        new.sort();
        self.open_errors.retain(|p, _| new.contains(p));
        for path in new {
            let opened = File::open(&path).and_then(|f| {
                let m = f.metadata()?;
                Ok((f, m))
            });
            let (file, meta) = match opened {
                Ok(x) => x,
                Err(_) => {
                    st.read_errors += 1;
                    *self.open_errors.entry(path).or_insert(0) += 1;
                    continue;
                }
            };
            self.open_errors.remove(&path);
            if !meta.is_file()
                || self
                    .handles
                    .iter()
                    .any(|h| h.dev == meta.dev() && h.ino == meta.ino())
            {
                continue;
            }
            let initial_size = (first && self.first_start && self.cfg.start_at == StartAt::End)
                .then_some(meta.len());
            st.files_opened += 1;
            self.handles.push(Handle {
                file,
                path: Arc::from(path.as_path()),
                dev: meta.dev(),
                ino: meta.ino(),
                fp: None,
                prefix: Vec::new(),
                claimed: false,
                offset: 0,
                line_start: 0,
                partial: Vec::new(),
                skip: Skip::None,
                last_size: meta.len(),
                last_activity: Instant::now(),
                matched: true,
                deleted: false,
                initial_size,
                errors: 0,
                release: false,
            });
        }
    }

    fn bound_known(&mut self) {
        let max = self.cfg.max_checkpoints.max(16);
        if self.known.len() <= max {
            return;
        }
        let mut v: Vec<(u64, u64)> = self
            .known
            .iter()
            .filter(|(fp, _)| !self.claimed.contains(fp))
            .map(|(fp, k)| (k.used, *fp))
            .collect();
        v.sort_unstable();
        let excess = self.known.len() - max;
        for (_, fp) in v.into_iter().take(excess) {
            self.known.remove(&fp);
        }
    }

    fn service(&mut self, i: usize, now: Instant, out: &mut Vec<Line>, st: &mut TailStats) {
        self.tick += 1;
        let tick = self.tick;
        let Tailer {
            cfg,
            handles,
            claimed,
            known,
            scratch,
            ..
        } = self;
        let h = &mut handles[i];
        let meta = match h.file.metadata() {
            Ok(m) => m,
            Err(_) => {
                h.errors += 1;
                st.read_errors += 1;
                return;
            }
        };
        let size = meta.len();
        if meta.nlink() == 0 {
            h.deleted = true;
        }
        let size_changed = size != h.last_size;
        if size_changed {
            h.last_activity = now;
        }
        h.last_size = size;

        // Identity and in-place rewrite detection (at most one reset per poll).
        for _ in 0..2 {
            if !h.claimed {
                if h.fp.is_none() {
                    match fingerprint(&h.file, cfg.fingerprint_bytes) {
                        Ok(Some((fp, prefix))) => {
                            h.fp = Some(fp);
                            h.prefix = prefix;
                        }
                        Ok(None) => break,
                        Err(_) => {
                            h.errors += 1;
                            st.read_errors += 1;
                            return;
                        }
                    }
                }
                let Some(fp) = h.fp else { break };
                if claimed.contains(&fp) {
                    // A copy of content another handle is reading: wait for it to finish.
                    break;
                }
                let start = match known.get_mut(&fp) {
                    Some(k) => {
                        k.used = tick;
                        if size < k.offset && (k.dev, k.ino) == (h.dev, h.ino) {
                            // The same file, now shorter: it was truncated.
                            0
                        } else {
                            // Same content (possibly a copy): already read up to here.
                            k.offset
                        }
                    }
                    None => h.initial_size.unwrap_or(0),
                };
                h.claimed = true;
                claimed.insert(fp);
                h.offset = start;
                h.line_start = start;
                h.partial.clear();
                h.skip = Skip::None;
                if start > 0 && h.initial_size == Some(start) && h.fp.is_some() {
                    let mut b = [0u8; 1];
                    if h.file.read_at(&mut b, start - 1).ok() == Some(1) && b[0] != b'\n' {
                        h.skip = Skip::Discard;
                    }
                }
                h.initial_size = None;
                break;
            }
            // Claimed: was the file truncated or rewritten in place?
            if size < h.offset
                || (size_changed && !prefix_matches(&h.file, &h.prefix).unwrap_or(false))
            {
                reset_after_rewrite(h, claimed, known, tick);
                st.rotations_truncated += 1;
                continue;
            }
            break;
        }
        if !h.claimed {
            if (!h.matched || h.deleted) && now.duration_since(h.last_activity) >= cfg.release_after
            {
                h.release = true;
            }
            return;
        }

        // Read up to the budget.
        let budget = cfg.read_budget_bytes;
        scratch.clear();
        let mut total = 0usize;
        let mut failed = false;
        while total < budget {
            let want = CHUNK.min(budget - total);
            scratch.resize(total + want, 0);
            match h
                .file
                .read_at(&mut scratch[total..], h.offset + total as u64)
            {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    if n < want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        scratch.truncate(total);
        if failed {
            h.errors += 1;
            st.read_errors += 1;
        }
        if total > 0 {
            // Re-check identity after the read: if the file was rewritten in place meanwhile,
            // these bytes may belong to the new content. Drop them; the copy (if any) or the
            // new content is read from the right place.
            if !prefix_matches(&h.file, &h.prefix).unwrap_or(false) {
                reset_after_rewrite(h, claimed, known, tick);
                st.rotations_truncated += 1;
                return;
            }
            h.last_activity = now;
            st.bytes += total as u64;
            let base = h.offset;
            process(h, cfg.max_line_bytes, base, scratch, out, st);
            return;
        }
        if failed {
            return;
        }
        // At end of file.
        if now.duration_since(h.last_activity) >= cfg.release_after {
            flush_partial(h, out, st);
            if !h.matched || h.deleted {
                if let Some(fp) = h.fp {
                    claimed.remove(&fp);
                    remember(known, fp, h, tick);
                }
                h.release = true;
            }
        }
    }
}

fn remember(known: &mut HashMap<u64, Known>, fp: u64, h: &Handle, tick: u64) {
    known.insert(
        fp,
        Known {
            offset: h.line_start,
            dev: h.dev,
            ino: h.ino,
            path: h.path.clone(),
            used: tick,
        },
    );
}

/// The handle's content was replaced (copytruncate or a rewrite): the old content's position is
/// kept for its copy, and the handle starts over as new content.
fn reset_after_rewrite(
    h: &mut Handle,
    claimed: &mut HashSet<u64>,
    known: &mut HashMap<u64, Known>,
    tick: u64,
) {
    if let Some(fp) = h.fp {
        claimed.remove(&fp);
        remember(known, fp, h, tick);
    }
    h.fp = None;
    h.prefix.clear();
    h.claimed = false;
    h.offset = 0;
    h.line_start = 0;
    h.partial.clear();
    h.skip = Skip::None;
    h.initial_size = None;
}

fn emit(
    h: &mut Handle,
    offset_after: u64,
    truncated: bool,
    out: &mut Vec<Line>,
    st: &mut TailStats,
) {
    let Some(fp) = h.fp else { return };
    let mut bytes = std::mem::take(&mut h.partial);
    if bytes.last() == Some(&b'\r') && !truncated {
        bytes.pop();
    }
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let incomplete_tail = truncated && e.utf8_error().error_len().is_none();
            let mut bytes = e.into_bytes();
            if incomplete_tail {
                // The cut split a character: drop its first bytes.
                bytes.truncate(valid);
                String::from_utf8(bytes).unwrap_or_default()
            } else {
                st.invalid_utf8_lines += 1;
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    };
    st.lines += 1;
    if truncated {
        st.truncated_lines += 1;
    }
    out.push(Line {
        file: h.path.clone(),
        fingerprint: fp,
        offset_before: h.line_start,
        offset_after,
        text,
        truncated,
    });
    h.line_start = offset_after;
}

/// Emit a held incomplete last line (the file went idle).
fn flush_partial(h: &mut Handle, out: &mut Vec<Line>, st: &mut TailStats) {
    match h.skip {
        Skip::Overlong => {
            emit(h, h.offset, true, out, st);
            h.skip = Skip::Discard;
        }
        Skip::None if !h.partial.is_empty() => emit(h, h.offset, false, out, st),
        _ => {}
    }
}

/// Split `buf` (read at `base`) into lines.
fn process(
    h: &mut Handle,
    max: usize,
    base: u64,
    buf: &[u8],
    out: &mut Vec<Line>,
    st: &mut TailStats,
) {
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let seg = &rest[..i];
                pos += i + 1;
                let after = base + pos as u64;
                match h.skip {
                    Skip::Discard => {
                        h.skip = Skip::None;
                        h.line_start = after;
                    }
                    Skip::Overlong => {
                        st.skipped_bytes += seg.len() as u64;
                        h.skip = Skip::None;
                        emit(h, after, true, out, st);
                    }
                    Skip::None => {
                        let room = max.saturating_sub(h.partial.len());
                        if seg.len() > room {
                            h.partial.extend_from_slice(&seg[..room]);
                            st.skipped_bytes += (seg.len() - room) as u64;
                            emit(h, after, true, out, st);
                        } else {
                            h.partial.extend_from_slice(seg);
                            emit(h, after, false, out, st);
                        }
                    }
                }
            }
            None => {
                pos = buf.len();
                match h.skip {
                    Skip::Discard => {}
                    Skip::Overlong => st.skipped_bytes += rest.len() as u64,
                    Skip::None => {
                        let room = max.saturating_sub(h.partial.len());
                        if rest.len() > room {
                            h.partial.extend_from_slice(&rest[..room]);
                            st.skipped_bytes += (rest.len() - room) as u64;
                            h.skip = Skip::Overlong;
                        } else {
                            h.partial.extend_from_slice(rest);
                        }
                    }
                }
            }
        }
    }
    h.offset = base + buf.len() as u64;
}
