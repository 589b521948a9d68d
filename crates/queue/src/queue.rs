//! [`DiskQueue`]: the writer, the reader and the acknowledgement bookkeeping over the segments
//! that [`recover`](crate::recovery::recover) found.

use std::collections::VecDeque;
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::format::{self, read_record, resync, RecordHeader, FRAMING, MAX_PAYLOAD};
use crate::recovery::{self, Cursor, Segment, Skip, LOCK_FILE, POSITION_FILE, POSITION_TMP};
use crate::{FsyncPolicy, QueueConfig, QueueError, RecoveryReport, WhenFull};

/// The signal byte of a metrics export request.
pub const SIGNAL_METRICS: u8 = 0;
/// The signal byte of a logs export request.
pub const SIGNAL_LOGS: u8 = 1;
/// The signal byte of a traces export request.
pub const SIGNAL_TRACES: u8 = 2;

/// One record handed out by [`DiskQueue::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's id: ids are consecutive in push order. Pass it to [`DiskQueue::ack`].
    pub id: u64,
    /// What the payload is: [`SIGNAL_METRICS`], [`SIGNAL_LOGS`] or [`SIGNAL_TRACES`] (the queue
    /// stores any byte).
    pub signal: u8,
    /// How many items (data points, log records, spans) the payload holds, as pushed.
    pub events: u32,
    /// When the record was pushed, in Unix milliseconds.
    pub enqueued_unix_ms: u64,
    /// The payload as pushed: an OTLP protobuf export request.
    pub payload: Vec<u8>,
}

/// What [`DiskQueue::push`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Written (and fsynced under [`FsyncPolicy::Always`]).
    Accepted {
        /// The record's id.
        id: u64,
    },
    /// Only with [`WhenFull::Block`]: the queue is full and nothing was written; wait for an
    /// acknowledgement and push again.
    Full,
    /// Only with [`WhenFull::DropNewest`]: the queue is full and this record was dropped
    /// (counted in [`QueueStats::dropped_records`]).
    DroppedNewest,
    /// Only with [`WhenFull::DropOldest`]: written, after dropping the oldest unacknowledged
    /// records (some of which may have been handed out already) to make room.
    AcceptedDroppedOldest {
        /// The record's id.
        id: u64,
        /// Records dropped for this one.
        dropped_records: u64,
        /// The events those records held.
        dropped_events: u64,
    },
}

/// A snapshot of a queue's depth and counters, for self-metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Unacknowledged records.
    pub records: u64,
    /// The events they hold (may read high after damage found at run time, until the queue
    /// drains: a corrupt record's event count is unknown).
    pub events: u64,
    /// Their size on disk, framing included: what [`QueueConfig::max_bytes`] limits.
    pub bytes: u64,
    /// When the oldest unacknowledged record was pushed (Unix milliseconds).
    pub oldest_unix_ms: Option<u64>,
    /// Records dropped because the queue was full (either policy), since open.
    pub dropped_records: u64,
    /// The events those records held.
    pub dropped_events: u64,
    /// Records skipped by [`DiskQueue::next`] for being older than `max_age`, since open;
    /// counted when they are acknowledged, which is at once unless records handed out before
    /// them are still unacknowledged.
    pub expired_records: u64,
    /// Records lost to damage, at open ([`RecoveryReport::corrupt_records`]) and since.
    pub corrupt_records: u64,
    /// Bytes of torn tail and junk truncated at open.
    pub truncated_bytes: u64,
    /// Segment files in the queue's directory.
    pub segments: u64,
    /// The last push failed for lack of disk space; cleared by the next successful push.
    pub no_space: bool,
}

/// The segment the writer appends to (always the newest).
#[derive(Debug)]
struct Writer {
    seg: u64,
    file: File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Returned by `next`: acknowledged only by the caller.
    Handed,
    /// Skipped by `next` (expired, or lost to damage): acknowledged as soon as everything
    /// before it is.
    Skipped,
}

/// A stretch of records the reader has passed but that is not acknowledged yet.
#[derive(Debug, Clone, Copy)]
struct Visited {
    first_id: u64,
    last_id: u64,
    records: u64,
    bytes: u64,
    events: u64,
    enqueued_ms: Option<u64>,
    start: Cursor,
    end: Cursor,
    kind: Kind,
}

impl Visited {
    fn record(h: &RecordHeader, start: Cursor, end: Cursor, kind: Kind) -> Self {
        Visited {
            first_id: h.id,
            last_id: h.id,
            records: 1,
            bytes: h.disk_len(),
            events: u64::from(h.events),
            enqueued_ms: Some(h.enqueued_unix_ms),
            start,
            end,
            kind,
        }
    }
}

/// One move of the reader.
enum Step {
    /// A valid record (its payload is in the buffer passed to `step`).
    Record {
        header: RecordHeader,
        start: Cursor,
        end: Cursor,
    },
    /// Damage found at run time: `lost` ids from `first_id` are gone (already taken off the
    /// depth counters).
    Gap {
        first_id: u64,
        lost: u64,
        start: Cursor,
        end: Cursor,
    },
}

/// A durable FIFO of records in a directory: a segmented write-ahead log with a position
/// record, for one sink. See the [crate documentation](crate) for the design.
///
/// Synchronous and single-owner: share it behind a mutex. Dropping it flushes (fsyncs) and
/// releases the directory's lock.
#[derive(Debug)]
pub struct DiskQueue {
    cfg: QueueConfig,
    dir_file: File,
    _lock: File,
    segments: VecDeque<Segment>,
    writer: Option<Writer>,
    reader_file: Option<(u64, File)>,
    next_id: u64,
    /// Everything up to this id is acknowledged (0: nothing).
    acked: u64,
    /// What the position file says (`None`: no valid one).
    position_on_disk: Option<u64>,
    /// The position file and its directory entry are fsynced.
    position_synced: bool,
    /// Open on the position file once it has been written in place.
    position_file: Option<File>,
    head_enqueued_ms: Option<u64>,
    /// Where `next` reads.
    reader: Cursor,
    /// Passed by the reader, not acknowledged, oldest first.
    visited: VecDeque<Visited>,
    records: u64,
    events: u64,
    bytes: u64,
    dropped_records: u64,
    dropped_events: u64,
    expired_records: u64,
    corrupt_records: u64,
    truncated_bytes: u64,
    no_space: bool,
    data_unsynced: bool,
    dir_unsynced: bool,
    last_flush: Instant,
    scratch: Vec<u8>,
    clock: fn() -> u64,
    flush_on_drop: bool,
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn write_all_vectored(file: &mut File, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    let mut bufs = bufs;
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match file.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How often and how long `open` retries a lock that is held.
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(10);

/// Buffers that grew for a large record are not kept.
const SCRATCH_KEEP: usize = 1024 * 1024;

impl DiskQueue {
    /// Opens (creating if needed) the queue in `cfg.dir`, takes its lock and recovers what is on
    /// disk: torn tails are truncated, damaged records skipped and counted, and reading starts
    /// after the last acknowledged record.
    ///
    /// Fails only if the configuration is unusable, the directory cannot be created, listed or
    /// locked ([`QueueError::Locked`] if another queue holds it): damage inside the files never
    /// stops it.
    pub fn open(cfg: QueueConfig) -> Result<(DiskQueue, RecoveryReport), QueueError> {
        cfg.check()?;
        let dir = cfg.dir.clone();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| QueueError::io(&dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| QueueError::io(&lock_path, e))?;
        // A child process forked by another thread holds a copy of every descriptor until it
        // execs, lock included: a reopen right after a close can see the lock still held for a
        // moment. Only a holder that stays past a short wait is another queue.
        let mut attempts = 0;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if attempts < LOCK_ATTEMPTS => {
                    attempts += 1;
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(TryLockError::WouldBlock) => return Err(QueueError::Locked { dir }),
                Err(TryLockError::Error(e)) => return Err(QueueError::io(&lock_path, e)),
            }
        }
        // Who holds it, for a person looking (best effort).
        let _ = lock
            .set_len(0)
            .and_then(|()| writeln!(lock, "{}", std::process::id()));
        let dir_file = File::open(&dir).map_err(|e| QueueError::io(&dir, e))?;
        let rec = recovery::recover(&dir)?;
        let report = rec.report;
        let fresh = rec.position_on_disk.is_none() && rec.segments.is_empty();
        let mut queue = DiskQueue {
            cfg,
            dir_file,
            _lock: lock,
            segments: rec.segments,
            writer: None,
            reader_file: None,
            next_id: rec.next_id,
            acked: rec.acked,
            position_on_disk: rec.position_on_disk,
            position_synced: true,
            position_file: None,
            head_enqueued_ms: rec.head_enqueued_ms,
            reader: rec.head,
            visited: VecDeque::new(),
            records: rec.records,
            events: rec.events,
            bytes: rec.bytes,
            dropped_records: 0,
            dropped_events: 0,
            expired_records: 0,
            corrupt_records: report.corrupt_records,
            truncated_bytes: report.truncated_bytes,
            no_space: false,
            data_unsynced: false,
            dir_unsynced: false,
            last_flush: Instant::now(),
            scratch: Vec::new(),
            clock: now_unix_ms,
            flush_on_drop: true,
        };
        if fresh {
            // A new queue gets its position record now, so that a missing one later means
            // damage. On failure (a full disk) it is written at the first ack or flush.
            let _ = queue.persist_position(true);
        }
        Ok((queue, report))
    }

    /// The queue's directory.
    pub fn dir(&self) -> &Path {
        &self.cfg.dir
    }

    /// Appends a record: `signal` says what the payload is, `events` how many items it holds.
    ///
    /// When the record would take the unacknowledged bytes past `max_bytes`, the
    /// [`WhenFull`] policy decides ([`Push`] says what happened). A record larger than
    /// `max_bytes` on its own is [`QueueError::TooLarge`]. A write error (a full disk is
    /// [`QueueError::NoSpace`]) leaves the files as they were before the call: the partial
    /// record is cut off again, and the queue goes on reading and acknowledging.
    pub fn push(&mut self, signal: u8, events: u32, payload: &[u8]) -> Result<Push, QueueError> {
        let size = FRAMING.saturating_add(payload.len() as u64);
        if payload.len() as u64 > MAX_PAYLOAD || size > self.cfg.max_bytes {
            return Err(QueueError::TooLarge {
                dir: self.cfg.dir.clone(),
                bytes: size,
                max_bytes: self.cfg.max_bytes,
            });
        }
        let mut dropped = None;
        if self.bytes.saturating_add(size) > self.cfg.max_bytes {
            match self.cfg.when_full {
                WhenFull::Block => return Ok(Push::Full),
                WhenFull::DropNewest => {
                    self.dropped_records += 1;
                    self.dropped_events += u64::from(events);
                    return Ok(Push::DroppedNewest);
                }
                WhenFull::DropOldest => dropped = Some(self.drop_oldest(size)?),
            }
        }
        let id = self.next_id;
        let enqueued = (self.clock)();
        if let Err(e) = self.append(id, signal, events, enqueued, payload) {
            if matches!(e, QueueError::NoSpace { .. }) {
                self.no_space = true;
            }
            return Err(e);
        }
        self.no_space = false;
        self.next_id += 1;
        if self.records == 0 {
            self.head_enqueued_ms = Some(enqueued);
        }
        self.records += 1;
        self.events += u64::from(events);
        self.bytes += size;
        Ok(match dropped {
            Some((dropped_records, dropped_events)) => Push::AcceptedDroppedOldest {
                id,
                dropped_records,
                dropped_events,
            },
            None => Push::Accepted { id },
        })
    }

    /// Whether the caller should call [`flush`](DiskQueue::flush) now: under
    /// [`FsyncPolicy::Interval`], when something is not yet durable and the interval has passed
    /// since the last flush. Always false under the other policies.
    pub fn flush_due(&self) -> bool {
        match self.cfg.fsync {
            FsyncPolicy::Interval(every) => {
                self.has_unsynced() && self.last_flush.elapsed() >= every
            }
            FsyncPolicy::Always | FsyncPolicy::Never => false,
        }
    }

    fn has_unsynced(&self) -> bool {
        self.data_unsynced
            || self.dir_unsynced
            || self.position_on_disk != Some(self.acked)
            || !self.position_synced
    }

    /// Makes everything pushed and acknowledged so far durable: fsyncs the segment being
    /// written, the directory and the position record. Call it on the fsync interval and at
    /// shutdown (dropping the queue calls it too).
    ///
    /// If fsyncing the segment fails, the kernel may have dropped the data it could not write,
    /// and retrying cannot tell: the error is returned once, the writer moves to a new segment,
    /// and checksums catch at the next open whatever the disk lost.
    pub fn flush(&mut self) -> Result<(), QueueError> {
        let mut result = Ok(());
        if self.data_unsynced {
            self.data_unsynced = false;
            if let Some(w) = self.writer.take() {
                match w.file.sync_data() {
                    Ok(()) => self.writer = Some(w),
                    Err(e) => {
                        let path = self.seal(w.seg);
                        result = Err(QueueError::io(path, e));
                    }
                }
            }
        }
        if self.dir_unsynced {
            match self.dir_file.sync_all() {
                Ok(()) => self.dir_unsynced = false,
                Err(e) => result = result.and(Err(QueueError::io(&self.cfg.dir, e))),
            }
        }
        // Retries of what an acknowledgement could not finish.
        let deleted = self.delete_acked_segments();
        let position = self.persist_position(true);
        self.last_flush = Instant::now();
        result.and(deleted).and(position)
    }

    /// Marks the segment `seg` as not to be appended to; returns its path.
    fn seal(&mut self, seg: u64) -> std::path::PathBuf {
        match self.segments.iter_mut().find(|s| s.first_id == seg) {
            Some(s) => {
                s.sealed = true;
                s.path.clone()
            }
            None => self.cfg.dir.join(format::segment_name(seg)),
        }
    }

    /// The next record after the last one handed out, or `None` if there is none yet.
    ///
    /// Records older than `max_age` are skipped and counted as expired; records found damaged
    /// are skipped and counted as corrupt. Skipped records are acknowledged as soon as everything
    /// before them is. An error (a segment that cannot be opened) leaves the reader where it
    /// was.
    // Not an `Iterator`: it is fallible, and `None` means "nothing yet", not "finished".
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, QueueError> {
        let now = (self.clock)();
        let max_age_ms = self
            .cfg
            .max_age
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut out = None;
        while out.is_none() {
            let mut payload = Vec::new();
            let Some(step) = self.step(&mut payload)? else {
                break;
            };
            match step {
                Step::Record {
                    header: h,
                    start,
                    end,
                } => {
                    let expired =
                        max_age_ms.is_some_and(|age| now.saturating_sub(h.enqueued_unix_ms) > age);
                    if expired {
                        self.push_visited(Visited::record(&h, start, end, Kind::Skipped));
                    } else {
                        self.push_visited(Visited::record(&h, start, end, Kind::Handed));
                        out = Some(Record {
                            id: h.id,
                            signal: h.signal,
                            events: h.events,
                            enqueued_unix_ms: h.enqueued_unix_ms,
                            payload,
                        });
                    }
                }
                Step::Gap {
                    first_id,
                    lost,
                    start,
                    end,
                } => self.gap_visited(first_id, lost, start, end),
            }
        }
        if self.settle() {
            // Position and deletions are retried by the next ack or flush if this fails: the
            // record in hand must not be lost to it.
            let _ = self.after_ack();
        }
        Ok(out)
    }

    /// Acknowledges every record up to and including `id` (ids beyond the newest record count
    /// as the newest): they are never handed out again, the position record is updated
    /// (durably under [`FsyncPolicy::Always`], otherwise at the next flush) and segments whose
    /// records are all acknowledged are deleted.
    ///
    /// The acknowledgement holds in memory even if writing the position or deleting a segment
    /// fails (the error is returned); both are retried by the next ack or flush.
    pub fn ack(&mut self, id: u64) -> Result<(), QueueError> {
        let target = id.min(self.next_id.saturating_sub(1));
        if target <= self.acked {
            return Ok(());
        }
        while let Some(v) = self.visited.front().copied() {
            if v.first_id > target {
                break;
            }
            self.visited.pop_front();
            self.release(&v);
        }
        let mut result = Ok(());
        if self.visited.is_empty() && self.acked < target {
            // Beyond what was handed out: walk the disk.
            let mut scratch = std::mem::take(&mut self.scratch);
            while self.acked < target {
                match self.step(&mut scratch) {
                    Ok(Some(Step::Record { header, start, end })) => {
                        self.release(&Visited::record(&header, start, end, Kind::Handed));
                    }
                    Ok(Some(Step::Gap {
                        first_id,
                        lost,
                        start,
                        end,
                    })) => {
                        self.gap_visited(first_id, lost, start, end);
                        self.settle();
                    }
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            self.keep_scratch(scratch);
        }
        self.settle();
        result.and(self.after_ack())
    }

    /// Hands records out again from the first unacknowledged one, as if `next` had not been
    /// called since the last acknowledgement (after a failed delivery).
    pub fn rewind(&mut self) {
        if let Some(v) = self.visited.front() {
            self.reader = v.start;
        }
        self.visited.clear();
    }

    /// A snapshot of the queue's depth and counters.
    pub fn stats(&self) -> QueueStats {
        QueueStats {
            records: self.records,
            events: self.events,
            bytes: self.bytes,
            oldest_unix_ms: if self.records == 0 {
                None
            } else {
                self.head_enqueued_ms
            },
            dropped_records: self.dropped_records,
            dropped_events: self.dropped_events,
            expired_records: self.expired_records,
            corrupt_records: self.corrupt_records,
            truncated_bytes: self.truncated_bytes,
            segments: self.segments.len() as u64,
            no_space: self.no_space,
        }
    }

    /// Whether every record pushed is acknowledged (or dropped, expired or lost).
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    // ---- writing ----

    /// Writes one record at the end of the newest segment (rolling first if it would pass
    /// `segment_bytes`), fsyncing under `Always`. On error, cuts the file back to where it was.
    fn append(
        &mut self,
        id: u64,
        signal: u8,
        events: u32,
        enqueued: u64,
        payload: &[u8],
    ) -> Result<(), QueueError> {
        let size = FRAMING + payload.len() as u64;
        self.ensure_writer(size)?;
        let always = self.cfg.fsync == FsyncPolicy::Always;
        let (Some(w), Some(seg)) = (self.writer.as_mut(), self.segments.back_mut()) else {
            return Err(QueueError::io(
                &self.cfg.dir,
                io::Error::other("no segment to write to"),
            ));
        };
        let start = seg.end;
        let prefix = format::encode_prefix(id, signal, events, enqueued, payload);
        let mut bufs = [IoSlice::new(&prefix), IoSlice::new(payload)];
        let mut written = write_all_vectored(&mut w.file, &mut bufs);
        if written.is_ok() && always {
            written = w.file.sync_data();
            if written.is_ok() && self.dir_unsynced {
                written = self.dir_file.sync_all();
                if written.is_ok() {
                    self.dir_unsynced = false;
                }
            }
        }
        if let Err(e) = written {
            // Never leave a partial record behind.
            let undo = w
                .file
                .set_len(start)
                .and_then(|()| w.file.seek(SeekFrom::Start(start)));
            if undo.is_err() {
                // Append no more here (recovery cuts the partial record); make what came
                // before durable, since flush() will not see this file again.
                let _ = w.file.sync_data();
                seg.sealed = true;
                self.writer = None;
            }
            return Err(QueueError::io(&seg.path, e));
        }
        seg.end = start + size;
        seg.last_id = Some(id);
        if !always {
            self.data_unsynced = true;
        }
        Ok(())
    }

    /// Makes sure the writer is on a segment that can take `size` more bytes.
    fn ensure_writer(&mut self, size: u64) -> Result<(), QueueError> {
        let limit = self.cfg.segment_bytes;
        let fits =
            |seg: &Segment| !seg.sealed && (seg.end == 0 || seg.end.saturating_add(size) <= limit);
        if let Some(w) = self.writer.take() {
            match self.segments.back() {
                Some(seg) if seg.first_id == w.seg && fits(seg) => {
                    self.writer = Some(w);
                    return Ok(());
                }
                _ => {
                    // Roll: the old segment is made durable under every policy.
                    self.data_unsynced = false;
                    if let Err(e) = w.file.sync_data() {
                        let path = self.seal(w.seg);
                        return Err(QueueError::io(path, e));
                    }
                }
            }
        }
        // After open, or after the active segment was deleted: append to the newest if it fits.
        if let Some(seg) = self.segments.back().filter(|s| fits(s)) {
            let id = seg.first_id;
            let opened = OpenOptions::new()
                .write(true)
                .open(&seg.path)
                .and_then(|mut f| f.seek(SeekFrom::Start(seg.end)).map(|_| f));
            return match opened {
                Ok(file) => {
                    self.writer = Some(Writer { seg: id, file });
                    Ok(())
                }
                Err(e) => {
                    let path = self.seal(id);
                    Err(QueueError::io(path, e))
                }
            };
        }
        // A new segment, named after the record about to be written. A sealed, empty segment
        // of that name (a failed first write) is replaced.
        if self
            .segments
            .back()
            .is_some_and(|s| s.first_id >= self.next_id && s.last_id.is_none())
        {
            self.segments.pop_back();
        }
        let path = self.cfg.dir.join(format::segment_name(self.next_id));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| QueueError::io(&path, e))?;
        self.segments.push_back(Segment {
            first_id: self.next_id,
            path,
            end: 0,
            last_id: None,
            skips: Vec::new(),
            sealed: false,
        });
        self.writer = Some(Writer {
            seg: self.next_id,
            file,
        });
        self.dir_unsynced = true;
        Ok(())
    }

    /// Drops the oldest unacknowledged records until `size` more bytes fit; returns the records
    /// and events dropped.
    fn drop_oldest(&mut self, size: u64) -> Result<(u64, u64), QueueError> {
        let (mut records, mut events) = (0u64, 0u64);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut result = Ok(());
        while self.bytes.saturating_add(size) > self.cfg.max_bytes && self.records > 0 {
            if let Some(v) = self.visited.pop_front() {
                if v.kind == Kind::Handed {
                    records += v.records;
                    events += v.events;
                }
                self.release(&v);
                continue;
            }
            match self.step(&mut scratch) {
                Ok(Some(Step::Record { header, start, end })) => {
                    records += 1;
                    events += u64::from(header.events);
                    self.release(&Visited::record(&header, start, end, Kind::Handed));
                }
                Ok(Some(Step::Gap {
                    first_id,
                    lost,
                    start,
                    end,
                })) => self.gap_visited(first_id, lost, start, end),
                Ok(None) => {
                    // The counters drifted from what is on disk: nothing is left.
                    self.records = 0;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.keep_scratch(scratch);
        self.dropped_records += records;
        self.dropped_events += events;
        self.settle();
        // Failures to write the position or delete segments are retried later; the push goes on.
        let _ = self.after_ack();
        result.map(|()| (records, events))
    }

    // ---- reading ----

    /// The segment index and normalised cursor for `c`: moved to the next segment when past the
    /// end of its own (or when its segment is gone). `None` if no segment is at or after it.
    fn locate(&self, c: Cursor) -> Option<(usize, Cursor)> {
        let mut i = self.segments.partition_point(|s| s.first_id < c.seg);
        let mut c = c;
        loop {
            let seg = self.segments.get(i)?;
            if seg.first_id > c.seg {
                c = Cursor {
                    seg: seg.first_id,
                    offset: 0,
                    id: c.id.max(seg.first_id),
                };
            }
            if c.offset < seg.end || i + 1 == self.segments.len() {
                return Some((i, c));
            }
            i += 1;
            let next = &self.segments[i];
            c = Cursor {
                seg: next.first_id,
                offset: 0,
                id: c.id.max(next.first_id),
            };
        }
    }

    /// The reader's handle on segment `i`.
    fn reader_file_for(&mut self, i: usize) -> io::Result<&File> {
        let seg = &self.segments[i];
        if !matches!(&self.reader_file, Some((id, _)) if *id == seg.first_id) {
            self.reader_file = None;
            self.reader_file = Some((seg.first_id, File::open(&seg.path)?));
        }
        match &self.reader_file {
            Some((_, f)) => Ok(f),
            None => Err(io::Error::other("no reader file")),
        }
    }

    /// Moves the reader over one record (its payload into `payload`) or one damaged region.
    /// `Ok(None)`: nothing more to read now.
    fn step(&mut self, payload: &mut Vec<u8>) -> Result<Option<Step>, QueueError> {
        loop {
            let Some((i, cur)) = self.locate(self.reader) else {
                return Ok(None);
            };
            self.reader = cur;
            let (seg_id, end, last_id) = {
                let s = &self.segments[i];
                (s.first_id, s.end, s.last_id)
            };
            if cur.offset >= end {
                return Ok(None);
            }
            if let Some(k) = self.segments[i]
                .skips
                .iter()
                .find(|k| k.at == cur.offset)
                .copied()
            {
                self.reader = Cursor {
                    seg: seg_id,
                    offset: k.resume,
                    id: k.resume_id.max(cur.id),
                };
                continue;
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            let found = match self.reader_file_for(i) {
                Ok(f) => match read_record(f, cur.offset, end, cur.id, payload) {
                    Ok(Some(h)) => Ok(Some((cur.offset, h))),
                    Ok(None) => resync(f, cur.offset, end, cur.id, &mut scratch),
                    Err(e) => Err(e),
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(e),
                Err(e) => {
                    self.scratch = scratch;
                    return Err(QueueError::io(&self.segments[i].path, e));
                }
            };
            self.keep_scratch(scratch);
            let (resume, resume_id) = match found {
                Ok(Some((at, h))) if at == cur.offset => {
                    let end = Cursor {
                        seg: seg_id,
                        offset: at + h.disk_len(),
                        id: h.id + 1,
                    };
                    self.reader = end;
                    return Ok(Some(Step::Record {
                        header: h,
                        start: cur,
                        end,
                    }));
                }
                Ok(Some((at, h))) => (at, h.id),
                // Nothing readable up to the end (or a read error): skip the rest.
                Ok(None) | Err(_) => (
                    end,
                    last_id.map_or(cur.id, |l| l.saturating_add(1)).max(cur.id),
                ),
            };
            self.segments[i].skips.push(Skip {
                at: cur.offset,
                resume,
                resume_id,
            });
            let lost = resume_id - cur.id;
            // These records were counted when pushed or recovered; they are gone now.
            self.records = self.records.saturating_sub(lost);
            self.bytes = self.bytes.saturating_sub(resume - cur.offset);
            self.corrupt_records += lost.max(1);
            let end = Cursor {
                seg: seg_id,
                offset: resume,
                id: resume_id,
            };
            self.reader = end;
            return Ok(Some(Step::Gap {
                first_id: cur.id,
                lost,
                start: cur,
                end,
            }));
        }
    }

    /// The enqueued time of the record at the reader, if one is there.
    fn peek_enqueued(&mut self) -> Option<u64> {
        let mut c = self.reader;
        loop {
            let (i, cur) = self.locate(c)?;
            let seg = &self.segments[i];
            let end = seg.end;
            if cur.offset >= end {
                return None;
            }
            if let Some(k) = seg
                .skips
                .iter()
                .find(|k| k.at == cur.offset && k.resume > k.at)
            {
                c = Cursor {
                    offset: k.resume,
                    id: k.resume_id,
                    ..cur
                };
                continue;
            }
            let file = self.reader_file_for(i).ok()?;
            return format::peek_header(file, cur.offset, end)
                .ok()
                .flatten()
                .map(|h| h.enqueued_unix_ms);
        }
    }

    fn keep_scratch(&mut self, mut scratch: Vec<u8>) {
        if scratch.capacity() > SCRATCH_KEEP {
            scratch = Vec::new();
        }
        self.scratch = scratch;
    }

    // ---- acknowledging ----

    fn push_visited(&mut self, v: Visited) {
        if v.kind == Kind::Skipped {
            if let Some(back) = self.visited.back_mut().filter(|b| b.kind == Kind::Skipped) {
                back.last_id = v.last_id;
                back.records += v.records;
                back.bytes += v.bytes;
                back.events += v.events;
                back.end = v.end;
                return;
            }
        }
        self.visited.push_back(v);
    }

    /// Remembers a damaged region the reader passed, so the ids lost in it are acknowledged
    /// with what comes before.
    fn gap_visited(&mut self, first_id: u64, lost: u64, start: Cursor, end: Cursor) {
        if lost > 0 {
            self.push_visited(Visited {
                first_id,
                last_id: first_id + lost - 1,
                records: 0,
                bytes: 0,
                events: 0,
                enqueued_ms: None,
                start,
                end,
                kind: Kind::Skipped,
            });
        }
    }

    fn release(&mut self, v: &Visited) {
        if v.kind == Kind::Skipped {
            // Expired records (damaged ones carry no records: they were counted when found).
            self.expired_records += v.records;
        }
        self.acked = self.acked.max(v.last_id);
        self.records = self.records.saturating_sub(v.records);
        self.bytes = self.bytes.saturating_sub(v.bytes);
        self.events = self.events.saturating_sub(v.events);
    }

    /// Acknowledges skipped records at the front; true if any were.
    fn settle(&mut self) -> bool {
        let mut any = false;
        while let Some(v) = self
            .visited
            .front()
            .copied()
            .filter(|v| v.kind == Kind::Skipped)
        {
            self.visited.pop_front();
            self.release(&v);
            any = true;
        }
        any
    }

    /// After the acknowledged id advanced: fixes the depth gauges, deletes finished segments
    /// and writes the position.
    fn after_ack(&mut self) -> Result<(), QueueError> {
        if self.records == 0 {
            self.events = 0;
            self.bytes = 0;
            self.head_enqueued_ms = None;
        } else {
            self.head_enqueued_ms = match self.visited.front() {
                Some(v) => v.enqueued_ms,
                None => self.peek_enqueued(),
            };
        }
        let deleted = self.delete_acked_segments();
        let written = self.persist_position(self.cfg.fsync == FsyncPolicy::Always);
        deleted.and(written)
    }

    /// Deletes the oldest segments while every record in them is acknowledged.
    fn delete_acked_segments(&mut self) -> Result<(), QueueError> {
        while let Some(seg) = self.segments.front() {
            let done = match seg.last_id {
                Some(last) => last <= self.acked,
                None => self.segments.len() > 1,
            };
            if !done {
                break;
            }
            match fs::remove_file(&seg.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(QueueError::io(&seg.path, e)),
            }
            let id = seg.first_id;
            if self.writer.as_ref().is_some_and(|w| w.seg == id) {
                self.writer = None;
                self.data_unsynced = false;
            }
            if self.reader_file.as_ref().is_some_and(|(r, _)| *r == id) {
                self.reader_file = None;
            }
            self.segments.pop_front();
        }
        Ok(())
    }

    /// Writes the acknowledged id to the position file.
    ///
    /// `durable`: the full protocol, a temp file fsynced, renamed over the position, the
    /// directory fsynced (or, if the position already holds the id, fsyncs of file and
    /// directory). Otherwise one 20-byte write in place, which survives a crash of the process
    /// and costs no allocation on a full disk; `flush` makes it durable. A write torn by a power
    /// failure fails the checksum: the queue then starts from its oldest record (at-least-once).
    fn persist_position(&mut self, durable: bool) -> Result<(), QueueError> {
        let dir = &self.cfg.dir;
        let path = dir.join(POSITION_FILE);
        if self.position_on_disk == Some(self.acked) {
            if durable && !self.position_synced {
                match &self.position_file {
                    Some(f) => f.sync_data(),
                    None => File::open(&path).and_then(|f| f.sync_data()),
                }
                .map_err(|e| QueueError::io(&path, e))?;
                self.dir_file
                    .sync_all()
                    .map_err(|e| QueueError::io(dir, e))?;
                self.position_synced = true;
            }
            return Ok(());
        }
        let bytes = format::encode_position(self.acked);
        if !durable {
            if self.position_file.is_none() {
                let f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| QueueError::io(&path, e))?;
                self.position_file = Some(f);
            }
            if let Some(f) = &self.position_file {
                f.write_all_at(&bytes, 0)
                    .and_then(|()| match f.metadata()?.len() {
                        len if len > bytes.len() as u64 => f.set_len(bytes.len() as u64),
                        _ => Ok(()),
                    })
                    .map_err(|e| QueueError::io(&path, e))?;
            }
            self.position_on_disk = Some(self.acked);
            self.position_synced = false;
            return Ok(());
        }
        let tmp = dir.join(POSITION_TMP);
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_all()
            })
            .map_err(|e| QueueError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| QueueError::io(&path, e))?;
        // The handle, if any, is on the file the rename replaced.
        self.position_file = None;
        self.position_on_disk = Some(self.acked);
        self.position_synced = false;
        self.dir_file
            .sync_all()
            .map_err(|e| QueueError::io(dir, e))?;
        self.position_synced = true;
        Ok(())
    }
}

impl Drop for DiskQueue {
    fn drop(&mut self) {
        if self.flush_on_drop {
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
impl DiskQueue {
    /// Replaces the clock (Unix milliseconds) used for enqueued times and expiry.
    pub(crate) fn set_clock(&mut self, clock: fn() -> u64) {
        self.clock = clock;
    }

    /// Drops the queue without flushing, as a crash would leave it.
    pub(crate) fn crash(mut self) {
        self.flush_on_drop = false;
    }
}

#[cfg(test)]
mod damage_tests;
#[cfg(test)]
mod enospc_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
