//! `/proc/meminfo`: memory and swap totals.

use crate::error::ParseError;
use crate::util::{fields, lines, parse_u64, trim};

/// The parsed contents of `/proc/meminfo`, in bytes (the file says kB, meaning KiB).
///
/// A line an older kernel does not print leaves its field 0, except `available`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// Usable RAM (`MemTotal`).
    pub total: u64,
    /// Unused RAM (`MemFree`).
    pub free: u64,
    /// The kernel's estimate of memory available to new work without swapping (`MemAvailable`,
    /// Linux 3.14 and later).
    pub available: Option<u64>,
    /// Block device buffers (`Buffers`).
    pub buffers: u64,
    /// Page cache, including tmpfs and shared memory (`Cached`).
    pub cached: u64,
    /// Shared memory and tmpfs (`Shmem`).
    pub shared: u64,
    /// Kernel slab allocations (`Slab`).
    pub slab: u64,
    /// The reclaimable part of `slab` (`SReclaimable`).
    pub sreclaimable: u64,
    /// The unreclaimable part of `slab` (`SUnreclaim`).
    pub sunreclaim: u64,
    /// Swap space (`SwapTotal`).
    pub swap_total: u64,
    /// Unused swap space (`SwapFree`).
    pub swap_free: u64,
    /// Memory that is both in RAM and in swap (`SwapCached`).
    pub swap_cached: u64,
    /// Memory waiting to be written back to disk (`Dirty`).
    pub dirty: u64,
}

impl MemInfo {
    /// Used memory as `free(1)` (procps-ng) counts it: `total - free - buffers - cached -
    /// sreclaimable`, never below 0.
    pub fn used(&self) -> u64 {
        self.total
            .saturating_sub(self.free)
            .saturating_sub(self.buffers)
            .saturating_sub(self.cached)
            .saturating_sub(self.sreclaimable)
    }

    /// Used swap: `swap_total - swap_free`, never below 0.
    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }
}

/// Parses `/proc/meminfo`.
///
/// Unknown and malformed lines are skipped; `MemTotal` is required.
pub fn parse_meminfo(input: &[u8]) -> Result<MemInfo, ParseError> {
    let mut mem = MemInfo::default();
    let mut total = None;
    for (_, line) in lines(input) {
        let Some((key, value)) = parse_line(line) else {
            continue;
        };
        let slot = match key {
            b"MemTotal" => {
                total = Some(value);
                continue;
            }
            b"MemAvailable" => {
                mem.available = Some(value);
                continue;
            }
            b"MemFree" => &mut mem.free,
            b"Buffers" => &mut mem.buffers,
            b"Cached" => &mut mem.cached,
            b"Shmem" => &mut mem.shared,
            b"Slab" => &mut mem.slab,
            b"SReclaimable" => &mut mem.sreclaimable,
            b"SUnreclaim" => &mut mem.sunreclaim,
            b"SwapTotal" => &mut mem.swap_total,
            b"SwapFree" => &mut mem.swap_free,
            b"SwapCached" => &mut mem.swap_cached,
            b"Dirty" => &mut mem.dirty,
            _ => continue,
        };
        *slot = value;
    }
    match total {
        Some(total) => {
            mem.total = total;
            Ok(mem)
        }
        None => Err(ParseError::new("no MemTotal line")),
    }
}

/// `Key:   123 kB` as (`Key`, bytes). Every field this crate reads is in kB, so a line without
/// that unit (`HugePages_Total: 0`, or one cut short) is `None`, like any malformed line.
fn parse_line(line: &[u8]) -> Option<(&[u8], u64)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (key, rest) = line.split_at(colon);
    let mut f = fields(rest.get(1..)?);
    let value = parse_u64(f.next()?)?;
    match (f.next(), f.next()) {
        (Some(b"kB"), None) => Some((trim(key), value.saturating_mul(1024))),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixture() {
        let mem = parse_meminfo(&fixture("proc/meminfo")).unwrap();
        assert_eq!(mem.total, 24684092 * 1024);
        assert_eq!(mem.free, 23344420 * 1024);
        assert_eq!(mem.available, Some(23965104 * 1024));
        assert_eq!(mem.buffers, 13764 * 1024);
        assert_eq!(mem.cached, 836592 * 1024);
        assert_eq!(mem.shared, 69472 * 1024);
        assert_eq!(mem.slab, 122768 * 1024);
        assert_eq!(mem.sreclaimable, 97052 * 1024);
        assert_eq!(mem.sunreclaim, 25716 * 1024);
        assert_eq!(mem.swap_total, 0);
        assert_eq!(mem.swap_free, 0);
        assert_eq!(mem.swap_cached, 0);
        assert_eq!(mem.dirty, 106676 * 1024);
        assert_eq!(
            mem.used(),
            (24684092 - 23344420 - 13764 - 836592 - 97052) * 1024
        );
        assert_eq!(mem.swap_used(), 0);
    }

    #[test]
    fn old_kernel_without_memavailable() {
        let mem = parse_meminfo(b"MemTotal: 100 kB\nMemFree: 50 kB\n").unwrap();
        assert_eq!(mem.total, 102400);
        assert_eq!(mem.available, None);
        assert_eq!(mem.slab, 0);
    }

    #[test]
    fn unknown_unitless_and_malformed_lines() {
        let input = b"MemTotal:  100 kB\n\
            FutureField:  7 kB\n\
            HugePages_Total:       0\n\
            Mlocked:       9\n\
            Cached: 12 MB\n\
            Dirty 5 kB\n\
            Buffers:\n\
            SwapTotal: x kB\n\
            Shmem:   3 kB extra\n\
            \xff\xfe: 1 kB\n";
        let mem = parse_meminfo(input).unwrap();
        assert_eq!(mem.total, 102400);
        assert_eq!(mem.cached, 0, "unknown unit is skipped");
        assert_eq!(mem.dirty, 0);
        assert_eq!(mem.buffers, 0);
        assert_eq!(mem.swap_total, 0);
        assert_eq!(mem.shared, 0, "a third column is not understood");
        assert_eq!(mem.available, None);
    }

    #[test]
    fn very_large_values_saturate() {
        let mem = parse_meminfo(b"MemTotal: 18446744073709551615 kB\n").unwrap();
        assert_eq!(mem.total, u64::MAX);
    }

    #[test]
    fn missing_total_empty_truncated_garbage() {
        assert_eq!(
            parse_meminfo(b"").unwrap_err().message(),
            "no MemTotal line"
        );
        assert!(parse_meminfo(b"MemFree: 5 kB\n").is_err());
        assert!(parse_meminfo(b"MemTot").is_err());
        assert!(parse_meminfo(b"\x00\x01\x02:::\n").is_err());
        // Truncated mid-line after MemTotal: the cut line is skipped.
        let mem = parse_meminfo(b"MemTotal: 8 kB\nMemFree: 4").unwrap();
        assert_eq!(mem.total, 8192);
        assert_eq!(mem.free, 0);
    }
}
