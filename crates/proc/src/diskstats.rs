//! `/proc/diskstats`: I/O counters per block device and partition.

use crate::error::ParseError;
use crate::util::{fields, is_blank, lines, parse_u32, parse_u64};

/// Bytes in one sector of `/proc/diskstats`: always 512, whatever the device's own sector size.
pub const SECTOR_SIZE: u64 = 512;

/// One line of `/proc/diskstats`: a block device or partition.
///
/// Counters are since boot (or since the device appeared) and wrap at the kernel's `unsigned long`.
/// See the kernel's `Documentation/admin-guide/iostats.rst`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskStat {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Kernel name, as in `/sys/class/block` (`sda`, `nvme0n1p2`, `dm-0`).
    pub name: String,
    /// Reads completed.
    pub reads_completed: u64,
    /// Adjacent reads merged before being issued.
    pub reads_merged: u64,
    /// Sectors read (of [`SECTOR_SIZE`] bytes).
    pub sectors_read: u64,
    /// Milliseconds spent reading, summed over all reads.
    pub read_time_ms: u64,
    /// Writes completed.
    pub writes_completed: u64,
    /// Adjacent writes merged before being issued.
    pub writes_merged: u64,
    /// Sectors written (of [`SECTOR_SIZE`] bytes).
    pub sectors_written: u64,
    /// Milliseconds spent writing, summed over all writes.
    pub write_time_ms: u64,
    /// I/Os in flight right now (the only value that is not a counter).
    pub io_in_progress: u64,
    /// Milliseconds the device had I/O in flight.
    pub io_time_ms: u64,
    /// `io_time_ms` weighted by the number of I/Os in flight.
    pub weighted_io_time_ms: u64,
    /// Discards completed (Linux 4.18 and later).
    pub discards_completed: Option<u64>,
    /// Adjacent discards merged (Linux 4.18 and later).
    pub discards_merged: Option<u64>,
    /// Sectors discarded (Linux 4.18 and later).
    pub sectors_discarded: Option<u64>,
    /// Milliseconds spent discarding (Linux 4.18 and later).
    pub discard_time_ms: Option<u64>,
    /// Flush requests completed (Linux 5.5 and later).
    pub flushes_completed: Option<u64>,
    /// Milliseconds spent flushing (Linux 5.5 and later).
    pub flush_time_ms: Option<u64>,
}

impl DiskStat {
    /// Bytes read: `sectors_read * 512`.
    pub fn bytes_read(&self) -> u64 {
        self.sectors_read.saturating_mul(SECTOR_SIZE)
    }

    /// Bytes written: `sectors_written * 512`.
    pub fn bytes_written(&self) -> u64 {
        self.sectors_written.saturating_mul(SECTOR_SIZE)
    }
}

/// Parses `/proc/diskstats`, one [`DiskStat`] per line, in the file's order.
///
/// Lines with fewer than the 11 classic counters (including the 4-field partition lines of
/// kernels before 2.6.25) and malformed lines are skipped; columns after the 17 known ones are
/// ignored. An empty file (no block devices) gives an empty list; an error means lines were there
/// but none could be parsed.
pub fn parse_diskstats(input: &[u8]) -> Result<Vec<DiskStat>, ParseError> {
    let mut disks = Vec::new();
    let mut first_bad = None;
    for (n, line) in lines(input) {
        match parse_line(line) {
            Some(disk) => disks.push(disk),
            None if is_blank(line) => {}
            None => first_bad = first_bad.or(Some(n)),
        }
    }
    match first_bad {
        Some(n) if disks.is_empty() => Err(ParseError::at_line(
            n,
            "expected major, minor, name and at least 11 counters",
        )),
        _ => Ok(disks),
    }
}

fn parse_line(line: &[u8]) -> Option<DiskStat> {
    let mut f = fields(line);
    let major = parse_u32(f.next()?)?;
    let minor = parse_u32(f.next()?)?;
    let name = f.next()?;
    let mut v = [0u64; 17];
    let mut n = 0;
    for (slot, field) in v.iter_mut().zip(f) {
        *slot = parse_u64(field)?;
        n += 1;
    }
    if n < 11 {
        return None;
    }
    let opt = |i: usize, present: bool| present.then(|| v.get(i).copied().unwrap_or(0));
    let discards = n >= 15;
    let flushes = n >= 17;
    Some(DiskStat {
        major,
        minor,
        name: String::from_utf8_lossy(name).into_owned(),
        reads_completed: v[0],
        reads_merged: v[1],
        sectors_read: v[2],
        read_time_ms: v[3],
        writes_completed: v[4],
        writes_merged: v[5],
        sectors_written: v[6],
        write_time_ms: v[7],
        io_in_progress: v[8],
        io_time_ms: v[9],
        weighted_io_time_ms: v[10],
        discards_completed: opt(11, discards),
        discards_merged: opt(12, discards),
        sectors_discarded: opt(13, discards),
        discard_time_ms: opt(14, discards),
        flushes_completed: opt(15, flushes),
        flush_time_ms: opt(16, flushes),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixture() {
        let disks = parse_diskstats(&fixture("proc/diskstats")).unwrap();
        let names: Vec<_> = disks.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6", "loop7", "vda",
                "zram0"
            ]
        );
        let vda = &disks[8];
        assert_eq!(
            *vda,
            DiskStat {
                major: 254,
                minor: 0,
                name: "vda".into(),
                reads_completed: 31249,
                reads_merged: 5967,
                sectors_read: 2516402,
                read_time_ms: 11170,
                writes_completed: 23836,
                writes_merged: 9532,
                sectors_written: 1618568,
                write_time_ms: 11542,
                io_in_progress: 0,
                io_time_ms: 6804,
                weighted_io_time_ms: 23670,
                discards_completed: Some(9493),
                discards_merged: Some(58),
                sectors_discarded: Some(961160),
                discard_time_ms: Some(692),
                flushes_completed: Some(4703),
                flush_time_ms: Some(263),
            }
        );
        assert_eq!(vda.bytes_read(), 2516402 * 512);
        assert_eq!(vda.bytes_written(), 1618568 * 512);
    }

    #[test]
    fn older_kernels_have_fewer_columns() {
        // 4.17 (11 counters), 4.18 (15), and a pre-2.6.25 partition line (4 counters).
        let input = b"   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n\
                         8       0 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n\
                         8       1 sda1 1 2 3 4\n";
        let disks = parse_diskstats(input).unwrap();
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[0].weighted_io_time_ms, 11);
        assert_eq!(disks[0].discards_completed, None);
        assert_eq!(disks[0].flushes_completed, None);
        assert_eq!(disks[1].discard_time_ms, Some(15));
        assert_eq!(disks[1].flushes_completed, None);
    }

    #[test]
    fn newer_kernel_extra_columns_are_ignored() {
        let input = b"259 0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n";
        let disks = parse_diskstats(input).unwrap();
        assert_eq!(disks[0].flush_time_ms, Some(17));
        assert_eq!(disks[0].name, "nvme0n1");
    }

    #[test]
    fn malformed_lines_are_skipped_but_all_bad_is_an_error() {
        let input = b"8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n\
                      garbage\n\
                      8 16 sdb 1 2 3 x 5 6 7 8 9 10 11\n\
                      \n\
                      8 32 sdc 18446744073709551615 2 18446744073709551615 4 5 6 7 8 9 10 11\n";
        let disks = parse_diskstats(input).unwrap();
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[1].reads_completed, u64::MAX);
        assert_eq!(disks[1].bytes_read(), u64::MAX, "saturates");
        let err = parse_diskstats(b"\n\xff\xfe garbage\n8 0 sda 1 2\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn empty_and_truncated() {
        assert_eq!(parse_diskstats(b"").unwrap(), vec![]);
        assert_eq!(parse_diskstats(b"\n").unwrap(), vec![]);
        let disks = parse_diskstats(b"8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2 3").unwrap();
        assert_eq!(disks.len(), 1);
    }
}
