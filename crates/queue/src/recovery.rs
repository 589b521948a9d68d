//! What [`DiskQueue::open`](crate::DiskQueue::open) finds on disk: [`recover`] lists the
//! segments, reads the position, checks every record's checksum, truncates torn tails, notes
//! damaged regions so readers jump over them, deletes segments with nothing left to deliver, and
//! reports what it did in a [`RecoveryReport`].

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::format::{self, read_record, resync};
use crate::QueueError;

/// What [`DiskQueue::open`](crate::DiskQueue::open) found and repaired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Unacknowledged records found intact: what the reader will hand out.
    pub records: u64,
    /// Unacknowledged records lost to damage (counted by the gap in ids they left; damage that
    /// lost no id counts as one). They are skipped.
    pub corrupt_records: u64,
    /// Bytes cut off the end of segments because they held no complete, valid record: the torn
    /// tail a crash leaves in the newest segment, or junk after the last record of an older one.
    pub truncated_bytes: u64,
    /// The position record was missing (with segments on disk) or corrupt: every record on disk
    /// is handed out again, so some may be delivered twice.
    pub position_missing: bool,
}

/// A place in the queue: a segment (by its first id), a byte offset in it, and the id the
/// record there is expected to have (at least).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) seg: u64,
    pub(crate) offset: u64,
    pub(crate) id: u64,
}

/// A damaged region of a segment: a reader at `at` goes on at `resume`, where the record
/// `resume_id` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) at: u64,
    pub(crate) resume: u64,
    pub(crate) resume_id: u64,
}

/// One segment file as the queue knows it.
#[derive(Debug)]
pub(crate) struct Segment {
    /// From the file name; every record in it has an id at least this.
    pub(crate) first_id: u64,
    pub(crate) path: PathBuf,
    /// The end of the last valid record: readers stop here, the writer appends here.
    pub(crate) end: u64,
    /// The id of the last valid record, if any.
    pub(crate) last_id: Option<u64>,
    /// Damaged regions, in file order.
    pub(crate) skips: Vec<Skip>,
    /// The writer must not append here: what follows `end` is unknown (a read or truncate
    /// failed) or its durability is (an fsync failed).
    pub(crate) sealed: bool,
}

/// The queue's state as found on disk.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) segments: VecDeque<Segment>,
    /// The last acknowledged id (0 for none).
    pub(crate) acked: u64,
    /// What the position file says, if it is valid.
    pub(crate) position_on_disk: Option<u64>,
    pub(crate) next_id: u64,
    /// The first unacknowledged record, or where the next pushed one will be.
    pub(crate) head: Cursor,
    pub(crate) head_enqueued_ms: Option<u64>,
    pub(crate) records: u64,
    pub(crate) events: u64,
    pub(crate) bytes: u64,
    pub(crate) report: RecoveryReport,
}

pub(crate) const POSITION_FILE: &str = "position";
pub(crate) const POSITION_TMP: &str = "position.tmp";
pub(crate) const LOCK_FILE: &str = "lock";

/// Reads the position file: `Ok(Some(id))`, `Ok(None)` if absent, `Err(())` if unreadable or
/// corrupt.
fn read_position(dir: &Path) -> Result<Option<u64>, ()> {
    match fs::read(dir.join(POSITION_FILE)) {
        Ok(bytes) => format::decode_position(&bytes).map(Some).ok_or(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(()),
    }
}

/// The segment files in `dir`, oldest first. Anything else in the directory is left alone.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, QueueError> {
    let entries = fs::read_dir(dir).map_err(|e| QueueError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| QueueError::io(dir, e))?;
        let Some(first_id) = entry
            .file_name()
            .to_str()
            .and_then(format::parse_segment_name)
        else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            out.push((first_id, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Scans the queue in `dir`. Fails only if the directory cannot be listed: damage in the files
/// is repaired or skipped and counted.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, QueueError> {
    let files = list_segments(dir)?;
    let position = read_position(dir);
    let acked = match position {
        Ok(Some(id)) => id,
        _ => 0,
    };
    let mut report = RecoveryReport {
        position_missing: match position {
            Ok(Some(_)) => false,
            Ok(None) => !files.is_empty(),
            Err(()) => true,
        },
        ..RecoveryReport::default()
    };

    let mut scan = Scan {
        acked,
        last_valid: None,
        head: None,
        records: 0,
        events: 0,
        bytes: 0,
        report: &mut report,
        buf: Vec::new(),
        next_id_floor: 1,
    };
    let mut segments = VecDeque::new();
    for (first_id, path) in files {
        if let Some(seg) = scan.segment(first_id, path) {
            segments.push_back(seg);
        }
    }
    let Scan {
        last_valid,
        head,
        records,
        events,
        bytes,
        next_id_floor,
        ..
    } = scan;

    // Segments with nothing left to deliver go (a sealed one stays on disk, unread).
    segments.retain(|seg| {
        let keep = seg.last_id.is_some_and(|id| id > acked);
        if !keep && !seg.sealed {
            let _ = fs::remove_file(&seg.path);
        }
        keep
    });
    let _ = fs::remove_file(dir.join(POSITION_TMP));

    let next_id = last_valid
        .unwrap_or(0)
        .max(acked)
        .saturating_add(1)
        .max(next_id_floor);
    let (head, head_enqueued_ms) = match head {
        Some((cursor, ms)) => (cursor, Some(ms)),
        None => (
            Cursor {
                seg: next_id,
                offset: 0,
                id: next_id,
            },
            None,
        ),
    };
    report.records = records;
    Ok(Recovered {
        segments,
        acked,
        position_on_disk: position.ok().flatten(),
        next_id,
        head,
        head_enqueued_ms,
        records,
        events,
        bytes,
        report,
    })
}

/// The running state of a scan over all segments.
struct Scan<'a> {
    acked: u64,
    /// The id of the last valid record seen in any segment.
    last_valid: Option<u64>,
    head: Option<(Cursor, u64)>,
    records: u64,
    events: u64,
    bytes: u64,
    report: &'a mut RecoveryReport,
    buf: Vec<u8>,
    /// Ids below this may be on disk in files that could not be read.
    next_id_floor: u64,
}

impl Scan<'_> {
    /// Counts the unacknowledged ids in `from..to` as lost (at least one if `damaged`).
    fn lost(&mut self, from: u64, to: u64, damaged: bool) {
        let mut n = to.saturating_sub(from.max(self.acked.saturating_add(1)));
        if damaged && n == 0 && from > self.acked {
            // Junk between two records, none lost: still worth a count.
            n = 1;
        }
        self.report.corrupt_records += n;
    }

    /// Scans one segment file; `None` if it cannot even be opened.
    fn segment(&mut self, first_id: u64, path: PathBuf) -> Option<Segment> {
        let opened = File::open(&path).and_then(|f| f.metadata().map(|m| (f, m.len())));
        let (file, len) = match opened {
            Ok(x) => x,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    // Unreadable: leave it alone, keep new ids clear of it, count it.
                    self.report.corrupt_records += 1;
                    self.next_id_floor = self.next_id_floor.max(first_id.saturating_add(1));
                }
                return None;
            }
        };
        let mut seg = Segment {
            first_id,
            path,
            end: 0,
            last_id: None,
            skips: Vec::new(),
            sealed: false,
        };
        // The id the next record should have, and whether damage was just skipped.
        let mut expected = self
            .last_valid
            .map_or(first_id, |id| id.saturating_add(1))
            .max(first_id);
        let mut count_from = self.last_valid.map_or(first_id, |id| id.saturating_add(1));
        let mut damaged = false;
        let mut pos = 0;
        let mut buf = std::mem::take(&mut self.buf);
        while pos < len {
            let found = match read_record(&file, pos, len, expected, &mut buf) {
                Ok(Some(h)) => Ok(Some((pos, h))),
                Ok(None) => resync(&file, pos, len, expected, &mut buf),
                Err(e) => Err(e),
            };
            match found {
                Ok(Some((at, h))) => {
                    if at != pos {
                        seg.skips.push(Skip {
                            at: pos,
                            resume: at,
                            resume_id: h.id,
                        });
                        damaged = true;
                    }
                    self.lost(count_from, h.id, damaged);
                    damaged = false;
                    if h.id > self.acked {
                        self.records += 1;
                        self.events += u64::from(h.events);
                        self.bytes += h.disk_len();
                        if self.head.is_none() {
                            self.head = Some((
                                Cursor {
                                    seg: first_id,
                                    offset: at,
                                    id: h.id,
                                },
                                h.enqueued_unix_ms,
                            ));
                        }
                    }
                    seg.last_id = Some(h.id);
                    self.last_valid = Some(h.id);
                    expected = h.id + 1;
                    count_from = expected;
                    pos = at + h.disk_len();
                }
                Ok(None) => {
                    // Nothing valid up to the end: a torn tail, or junk. Cut it off.
                    self.report.truncated_bytes += len - pos;
                    let cut = OpenOptions::new()
                        .write(true)
                        .open(&seg.path)
                        .and_then(|f| f.set_len(pos));
                    if cut.is_err() {
                        seg.sealed = true;
                    }
                    break;
                }
                Err(_) => {
                    // A read error: stop here for this run, change nothing on disk.
                    self.report.corrupt_records += 1;
                    seg.sealed = true;
                    break;
                }
            }
        }
        self.buf = buf;
        seg.end = pos;
        Some(seg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_directory_is_a_fresh_queue() {
        let dir = tempfile::tempdir().unwrap();
        let r = recover(dir.path()).unwrap();
        assert_eq!(r.report, RecoveryReport::default());
        assert_eq!((r.acked, r.next_id, r.records), (0, 1, 0));
        assert!(r.segments.is_empty());
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            recover(&dir.path().join("nope")),
            Err(QueueError::Io { .. })
        ));
    }
}
