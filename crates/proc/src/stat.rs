//! `/proc/stat`: CPU times, boot time and process/scheduler counters.

use crate::error::ParseError;
use crate::util::{fields, lines, parse_u32, parse_u64};

/// Time one CPU (or all of them together) spent in each mode since boot, in clock ticks
/// (divide by [`clock_ticks_per_second`](crate::clock_ticks_per_second)).
///
/// Columns an older kernel does not print are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Normal processes in user mode (includes `guest`).
    pub user: u64,
    /// Niced processes in user mode (includes `guest_nice`).
    pub nice: u64,
    /// Kernel mode.
    pub system: u64,
    /// Idle.
    pub idle: u64,
    /// Idle while waiting for I/O.
    pub iowait: u64,
    /// Servicing hardware interrupts.
    pub irq: u64,
    /// Servicing softirqs.
    pub softirq: u64,
    /// Stolen by the hypervisor for other guests.
    pub steal: u64,
    /// Running a guest's virtual CPU (already counted in `user`).
    pub guest: u64,
    /// Running a niced guest's virtual CPU (already counted in `nice`).
    pub guest_nice: u64,
}

impl CpuTimes {
    /// All ticks, without double-counting `guest` and `guest_nice` (which `user` and `nice`
    /// already include).
    pub fn total(&self) -> u64 {
        [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
        ]
        .iter()
        .fold(0u64, |acc, v| acc.saturating_add(*v))
    }

    /// Ticks spent doing nothing: `idle + iowait`.
    pub fn idle_total(&self) -> u64 {
        self.idle.saturating_add(self.iowait)
    }
}

/// The parsed contents of `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// The aggregate `cpu` line: all CPUs together.
    pub total: CpuTimes,
    /// One entry per online CPU: its index (the `N` of `cpuN`, with gaps for offline CPUs) and
    /// times.
    pub per_cpu: Vec<(u32, CpuTimes)>,
    /// Boot time, seconds since the Unix epoch (`btime`).
    pub boot_time: u64,
    /// Processes and threads created since boot (`processes`).
    pub processes_created: u64,
    /// Threads runnable right now (`procs_running`).
    pub procs_running: u64,
    /// Threads blocked on I/O right now (`procs_blocked`).
    pub procs_blocked: u64,
    /// Context switches since boot (`ctxt`).
    pub context_switches: u64,
    /// Interrupts serviced since boot (the first number of `intr`).
    pub interrupts: u64,
}

/// Parses `/proc/stat`.
///
/// Unknown lines and columns are ignored and malformed lines skipped (their values stay 0); the
/// one required line is the aggregate `cpu` line.
pub fn parse_stat(input: &[u8]) -> Result<Stat, ParseError> {
    let mut stat = Stat::default();
    let mut have_total = false;
    let mut bad_total_line = None;
    for (n, line) in lines(input) {
        let mut f = fields(line);
        let Some(key) = f.next() else { continue };
        match key {
            b"cpu" => match parse_cpu_times(f) {
                Some(times) => {
                    stat.total = times;
                    have_total = true;
                }
                None => bad_total_line = bad_total_line.or(Some(n)),
            },
            _ if key.starts_with(b"cpu") => {
                if let (Some(index), Some(times)) = (parse_u32(&key[3..]), parse_cpu_times(f)) {
                    stat.per_cpu.push((index, times));
                }
            }
            b"intr" => set_first(&mut stat.interrupts, f),
            b"ctxt" => set_first(&mut stat.context_switches, f),
            b"btime" => set_first(&mut stat.boot_time, f),
            b"processes" => set_first(&mut stat.processes_created, f),
            b"procs_running" => set_first(&mut stat.procs_running, f),
            b"procs_blocked" => set_first(&mut stat.procs_blocked, f),
            _ => {}
        }
    }
    match (have_total, bad_total_line) {
        (true, _) => Ok(stat),
        (false, Some(n)) => Err(ParseError::at_line(
            n,
            "malformed aggregate \"cpu\" line: expected at least 4 numbers",
        )),
        (false, None) => Err(ParseError::new("no aggregate \"cpu\" line")),
    }
}

/// Stores the first field, if it is a number.
fn set_first<'a>(slot: &mut u64, mut f: impl Iterator<Item = &'a [u8]>) {
    if let Some(v) = f.next().and_then(parse_u64) {
        *slot = v;
    }
}

/// Up to ten tick columns; at least the four every kernel prints (user, nice, system, idle).
fn parse_cpu_times<'a>(f: impl Iterator<Item = &'a [u8]>) -> Option<CpuTimes> {
    let mut v = [0u64; 10];
    let mut n = 0;
    for (slot, field) in v.iter_mut().zip(f) {
        *slot = parse_u64(field)?;
        n += 1;
    }
    if n < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice] = v;
    Some(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixture() {
        let stat = parse_stat(&fixture("proc/stat")).unwrap();
        assert_eq!(
            stat.total,
            CpuTimes {
                user: 5499,
                nice: 0,
                system: 2702,
                idle: 29502,
                iowait: 419,
                irq: 0,
                softirq: 75,
                steal: 14,
                guest: 0,
                guest_nice: 0,
            }
        );
        assert_eq!(stat.per_cpu.len(), 2);
        assert_eq!(stat.per_cpu[0].0, 0);
        assert_eq!(stat.per_cpu[1].0, 1);
        assert_eq!(stat.per_cpu[1].1.user, 2831);
        assert_eq!(stat.per_cpu[1].1.steal, 11);
        assert_eq!(stat.boot_time, 1795443679);
        assert_eq!(stat.processes_created, 5822);
        assert_eq!(stat.procs_running, 3);
        assert_eq!(stat.procs_blocked, 0);
        assert_eq!(stat.context_switches, 743495);
        assert!(stat.interrupts > 240_000);
        assert_eq!(stat.total.total(), 5499 + 2702 + 29502 + 419 + 75 + 14);
        assert_eq!(stat.total.idle_total(), 29502 + 419);
    }

    #[test]
    fn old_kernel_with_four_columns_and_offline_cpu_gap() {
        let input = b"cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu2 5 6 7 8\nbtime 7\n";
        let stat = parse_stat(input).unwrap();
        assert_eq!(stat.total.idle, 4);
        assert_eq!(stat.total.iowait, 0);
        assert_eq!(stat.total.guest_nice, 0);
        assert_eq!(stat.per_cpu.iter().map(|c| c.0).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(stat.boot_time, 7);
        assert_eq!(stat.processes_created, 0);
    }

    #[test]
    fn newer_kernel_extra_columns_and_lines_are_ignored() {
        let input = b"cpu  1 2 3 4 5 6 7 8 9 10 11 12\n\
            cpu0 1 2 3 4 5 6 7 8 9 10 11 12\n\
            some_new_counter 42 43\n\
            procs_running 5 extra\n";
        let stat = parse_stat(input).unwrap();
        assert_eq!(stat.total.guest_nice, 10);
        assert_eq!(stat.per_cpu.len(), 1);
        assert_eq!(stat.procs_running, 5);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let input = b"cpu  1 2 3 4\ncpu0 1 x 3 4\ncpuX 1 2 3 4\ncpu1 1 2\nctxt oops\nbtime 9\n";
        let stat = parse_stat(input).unwrap();
        assert!(stat.per_cpu.is_empty());
        assert_eq!(stat.context_switches, 0);
        assert_eq!(stat.boot_time, 9);
    }

    #[test]
    fn very_large_numbers() {
        let input =
            b"cpu  18446744073709551615 18446744073709551615 0 0\nctxt 18446744073709551615\n";
        let stat = parse_stat(input).unwrap();
        assert_eq!(stat.total.user, u64::MAX);
        assert_eq!(stat.total.total(), u64::MAX, "saturates");
        assert_eq!(stat.context_switches, u64::MAX);
        // One past u64::MAX makes the line malformed rather than wrapping.
        let err = parse_stat(b"cpu  18446744073709551616 0 0 0\n").unwrap_err();
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn empty_truncated_and_garbage_inputs_are_errors() {
        assert!(parse_stat(b"").is_err());
        assert!(parse_stat(b"\n\n").is_err());
        assert!(parse_stat(b"\xff\xfe\x00garbage\n").is_err());
        assert_eq!(parse_stat(b"cpu  1 2").unwrap_err().line(), Some(1));
        // Truncated after the aggregate line: still usable.
        let stat = parse_stat(b"cpu  1 2 3 4 5\ncpu0 1 2").unwrap();
        assert_eq!(stat.total.iowait, 5);
        assert!(stat.per_cpu.is_empty());
    }
}
