//! `/proc/<pid>/stat`: one process's status line, and process counts by state.

use crate::error::ParseError;
use crate::util::{fields, parse_i32, parse_i64, parse_u32, parse_u64};

/// The fields lookout reads from `/proc/<pid>/stat` (see `proc_pid_stat(5)`), in the file's units:
/// times in clock ticks, `starttime` in ticks after boot, `vsize` in bytes, `rss_pages` in pages
/// (see [`clock_ticks_per_second`](crate::clock_ticks_per_second) and
/// [`page_size`](crate::page_size)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidStat {
    /// Process ID (field 1).
    pub pid: u32,
    /// Executable name, at most 15 bytes, which may contain spaces and parentheses (field 2,
    /// without its parentheses; invalid UTF-8 replaced).
    pub comm: String,
    /// State: `R` running, `S` sleeping, `D` disk sleep, `Z` zombie, `T` stopped, `t` tracing
    /// stop, `X` dead, `I` idle kernel thread, ... (field 3).
    pub state: char,
    /// Parent process ID (field 4; 0 for init and kernel threads' parent).
    pub ppid: u32,
    /// Process group ID (field 5).
    pub pgrp: i32,
    /// Session ID (field 6).
    pub session: i32,
    /// Controlling terminal, 0 if none (field 7).
    pub tty_nr: i32,
    /// Foreground process group of the terminal, -1 if none (field 8).
    pub tpgid: i32,
    /// Kernel flags, `PF_*` (field 9).
    pub flags: u32,
    /// Minor faults (field 10).
    pub minflt: u64,
    /// Minor faults of waited-for children (field 11).
    pub cminflt: u64,
    /// Major faults (field 12).
    pub majflt: u64,
    /// Major faults of waited-for children (field 13).
    pub cmajflt: u64,
    /// Ticks in user mode, guest time included (field 14).
    pub utime: u64,
    /// Ticks in kernel mode (field 15).
    pub stime: u64,
    /// Ticks of waited-for children in user mode (field 16).
    pub cutime: i64,
    /// Ticks of waited-for children in kernel mode (field 17).
    pub cstime: i64,
    /// Scheduling priority as the kernel shows it (field 18).
    pub priority: i64,
    /// Nice value, -20..19 (field 19).
    pub nice: i64,
    /// Threads in the process (field 20).
    pub num_threads: u64,
    /// Start time, ticks after boot (field 22).
    pub starttime: u64,
    /// Virtual memory size in bytes (field 23).
    pub vsize: u64,
    /// Resident set size in pages (field 24).
    pub rss_pages: u64,
    /// Soft limit on the resident set in bytes (field 25).
    pub rsslim: Option<u64>,
    /// CPU the process last ran on (field 39, Linux 2.2.8 and later).
    pub processor: Option<u32>,
    /// Ticks spent waiting for block I/O (field 42, Linux 2.6.18 and later).
    pub delayacct_blkio_ticks: Option<u64>,
}

/// Fields 3 onwards that [`parse_pid_stat`] looks at (up to field 42).
const MAX_FIELDS: usize = 40;
/// Fields 3..=24 (state through rss) are required.
const REQUIRED_FIELDS: usize = 22;

/// Parses `/proc/<pid>/stat`.
///
/// `comm` is found between the first `(` and the *last* `)`, so names like `a) (b` are handled.
/// Fields up to `rss` are required; later ones are optional and ones unknown to this crate are
/// ignored.
pub fn parse_pid_stat(input: &[u8]) -> Result<PidStat, ParseError> {
    let (pid, comm, rest) = split_comm(input)?;
    let mut f: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
    let mut n = 0;
    for (slot, field) in f.iter_mut().zip(fields(rest)) {
        *slot = field;
        n += 1;
    }
    if n < REQUIRED_FIELDS {
        return Err(ParseError::new("expected at least 24 fields (through rss)"));
    }
    // f[i] is field i + 3 of proc_pid_stat(5).
    let state = state_char(f[0]).ok_or_else(|| bad("state"))?;
    let num = |i: usize, name: &'static str| parse_u64(f[i]).ok_or_else(|| bad(name));
    let signed = |i: usize, name: &'static str| parse_i64(f[i]).ok_or_else(|| bad(name));
    let small = |i: usize, name: &'static str| parse_i32(f[i]).ok_or_else(|| bad(name));
    let optional = |i: usize| (i < n).then(|| parse_u64(f[i])).flatten();
    Ok(PidStat {
        pid,
        comm: String::from_utf8_lossy(comm).into_owned(),
        state,
        ppid: parse_u32(f[1]).ok_or_else(|| bad("ppid"))?,
        pgrp: small(2, "pgrp")?,
        session: small(3, "session")?,
        tty_nr: small(4, "tty_nr")?,
        tpgid: small(5, "tpgid")?,
        flags: parse_u32(f[6]).ok_or_else(|| bad("flags"))?,
        minflt: num(7, "minflt")?,
        cminflt: num(8, "cminflt")?,
        majflt: num(9, "majflt")?,
        cmajflt: num(10, "cmajflt")?,
        utime: num(11, "utime")?,
        stime: num(12, "stime")?,
        cutime: signed(13, "cutime")?,
        cstime: signed(14, "cstime")?,
        priority: signed(15, "priority")?,
        nice: signed(16, "nice")?,
        num_threads: num(17, "num_threads")?,
        starttime: num(19, "starttime")?,
        vsize: num(20, "vsize")?,
        // Printed as a signed long; never negative in practice.
        rss_pages: u64::try_from(signed(21, "rss")?).unwrap_or(0),
        rsslim: optional(22),
        processor: optional(36).and_then(|v| u32::try_from(v).ok()),
        delayacct_blkio_ticks: optional(39),
    })
}

/// Parses only the state letter of `/proc/<pid>/stat`: what counting processes by state needs.
pub fn parse_pid_state(input: &[u8]) -> Result<char, ParseError> {
    let (_, _, rest) = split_comm(input)?;
    fields(rest)
        .next()
        .and_then(state_char)
        .ok_or_else(|| bad("state"))
}

/// When a process started, in nanoseconds since the Unix epoch: its `starttime` (ticks after
/// boot, [`PidStat::starttime`]) added to the boot time (seconds since the epoch,
/// [`Stat::boot_time`](crate::Stat::boot_time)), with `ticks_per_sec` from
/// [`clock_ticks_per_second`](crate::clock_ticks_per_second) (0 is taken as 100, its fallback).
///
/// Exact to the tick, without floating point; saturates at `u64::MAX` (the year 2554). The kernel
/// gives the boot time in whole seconds, so two readings agree, but each can be off by up to a
/// second from the true start.
pub fn start_time_unix_nanos(starttime_ticks: u64, boot_time_secs: u64, ticks_per_sec: u64) -> u64 {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let ticks_per_sec = if ticks_per_sec == 0 {
        100
    } else {
        ticks_per_sec
    };
    let nanos = u128::from(boot_time_secs) * NANOS_PER_SEC
        + u128::from(starttime_ticks) * NANOS_PER_SEC / u128::from(ticks_per_sec);
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

fn bad(field: &str) -> ParseError {
    ParseError::new(format!("bad {field} field"))
}

/// Splits `pid (comm) rest` at the first `(` and the last `)`. `comm` may hold any byte but NUL,
/// newlines included, so the input is not split into lines.
fn split_comm(input: &[u8]) -> Result<(u32, &[u8], &[u8]), ParseError> {
    let open = input
        .iter()
        .position(|&b| b == b'(')
        .ok_or_else(|| ParseError::new("no \"(\" before comm"))?;
    let close = input
        .iter()
        .rposition(|&b| b == b')')
        .filter(|&close| close > open)
        .ok_or_else(|| ParseError::new("no \")\" after comm"))?;
    let pid =
        parse_u32(input[..open].trim_ascii()).ok_or_else(|| ParseError::new("bad pid field"))?;
    let comm = input.get(open + 1..close).unwrap_or_default();
    let rest = input.get(close + 1..).unwrap_or_default();
    Ok((pid, comm, rest))
}

fn state_char(field: &[u8]) -> Option<char> {
    match field {
        [b] if b.is_ascii_alphabetic() => Some(char::from(*b)),
        _ => None,
    }
}

/// Processes counted by the state letter of `/proc/<pid>/stat`, from
/// [`ProcFs::count_processes_by_state`](crate::ProcFs::count_processes_by_state).
///
/// Only processes (thread group leaders) are counted, not their other threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStateCounts {
    /// `R`: running or runnable.
    pub running: u64,
    /// `S`: interruptible sleep.
    pub sleeping: u64,
    /// `D`: uninterruptible (usually disk) sleep.
    pub disk_sleep: u64,
    /// `Z`: zombie, exited but not reaped.
    pub zombie: u64,
    /// `T`: stopped by a signal.
    pub stopped: u64,
    /// `t`: stopped by a debugger.
    pub tracing_stop: u64,
    /// `I`: idle kernel thread.
    pub idle: u64,
    /// `X` or `x`: dead.
    pub dead: u64,
    /// Any other letter (`W` waking, `K` wakekill, `P` parked on old kernels).
    pub other: u64,
    /// Processes that exited between listing `/proc` and reading their `stat`: not an error.
    pub vanished: u64,
    /// Processes whose `stat` could not be read (other than vanishing) or parsed.
    pub failed: u64,
}

impl ProcessStateCounts {
    /// Counts one process in state `state`.
    pub fn record(&mut self, state: char) {
        let slot = match state {
            'R' => &mut self.running,
            'S' => &mut self.sleeping,
            'D' => &mut self.disk_sleep,
            'Z' => &mut self.zombie,
            'T' => &mut self.stopped,
            't' => &mut self.tracing_stop,
            'I' => &mut self.idle,
            'X' | 'x' => &mut self.dead,
            _ => &mut self.other,
        };
        *slot = slot.saturating_add(1);
    }

    /// Processes counted in some state (not `vanished` or `failed`).
    pub fn total(&self) -> u64 {
        [
            self.running,
            self.sleeping,
            self.disk_sleep,
            self.zombie,
            self.stopped,
            self.tracing_stop,
            self.idle,
            self.dead,
            self.other,
        ]
        .iter()
        .fold(0u64, |acc, n| acc.saturating_add(*n))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixtures() {
        let cat = parse_pid_stat(&fixture("proc/self/stat")).unwrap();
        assert_eq!(cat.pid, 5838);
        assert_eq!(cat.comm, "cat");
        assert_eq!(cat.state, 'R');
        assert_eq!(cat.ppid, 5816);
        assert_eq!(cat.pgrp, 5816);
        assert_eq!(cat.session, 5079);
        assert_eq!(cat.tty_nr, 0);
        assert_eq!(cat.tpgid, -1);
        assert_eq!(cat.flags, 4194304);
        assert_eq!(cat.minflt, 117);
        assert_eq!(cat.num_threads, 1);
        assert_eq!(cat.starttime, 19363);
        assert_eq!(cat.vsize, 3133440);
        assert_eq!(cat.rss_pages, 413);
        assert_eq!(cat.rsslim, Some(u64::MAX));
        assert_eq!(cat.priority, 20);
        assert_eq!(cat.nice, 0);
        assert_eq!(cat.processor, Some(1));
        assert_eq!(cat.delayacct_blkio_ticks, Some(0));

        let pg = parse_pid_stat(&fixture("proc/2204/stat")).unwrap();
        assert_eq!(
            (pg.pid, pg.comm.as_str(), pg.state),
            (2204, "postgres", 'S')
        );
        assert_eq!(
            (pg.minflt, pg.cminflt, pg.utime, pg.stime),
            (3949, 12317, 1, 2)
        );
        assert_eq!((pg.cutime, pg.cstime), (2, 13));
        assert_eq!(pg.rss_pages, 7608);
        assert_eq!(pg.processor, Some(1));

        let kthreadd = parse_pid_stat(&fixture("proc/2/stat")).unwrap();
        assert_eq!((kthreadd.pid, kthreadd.ppid), (2, 0));
        assert_eq!(kthreadd.comm, "kthreadd");
        assert_eq!((kthreadd.vsize, kthreadd.rss_pages), (0, 0));
        assert_eq!(parse_pid_state(&fixture("proc/2/stat")).unwrap(), 'S');
    }

    const TAIL: &str = "S 1 2 3 0 -1 4194304 10 0 0 0 5 6 0 0 20 0 1 0 100 2000 30 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 7 0 0";

    #[test]
    fn comm_with_parentheses_spaces_and_newline() {
        for comm in [") (", "a) S 1 (b", "(", ")", "x\ny", "", "  ", "R) 1 2 3 4"] {
            let input = format!("42 ({comm}) {TAIL}\n");
            let stat = parse_pid_stat(input.as_bytes()).unwrap();
            assert_eq!(stat.comm, comm);
            assert_eq!(stat.state, 'S');
            assert_eq!(stat.ppid, 1);
            assert_eq!(stat.rss_pages, 30);
            assert_eq!(stat.delayacct_blkio_ticks, Some(7));
            assert_eq!(parse_pid_state(input.as_bytes()).unwrap(), 'S');
        }
    }

    #[test]
    fn non_utf8_comm() {
        let mut input = b"7 (\xff\xfe) ".to_vec();
        input.extend_from_slice(TAIL.as_bytes());
        assert_eq!(parse_pid_stat(&input).unwrap().comm, "\u{fffd}\u{fffd}");
    }

    #[test]
    fn old_kernel_without_optional_fields_and_newer_with_more() {
        let short = "1 (init) S 0 1 1 0 -1 0 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11";
        let stat = parse_pid_stat(short.as_bytes()).unwrap();
        assert_eq!(stat.rss_pages, 11);
        assert_eq!(stat.rsslim, None);
        assert_eq!(stat.processor, None);
        let long = format!("1 (init) {TAIL} 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9\n");
        let stat = parse_pid_stat(long.as_bytes()).unwrap();
        assert_eq!(stat.processor, Some(1));
    }

    #[test]
    fn very_large_and_negative_numbers() {
        let input = "4294967295 (big) R 4294967295 -2147483648 2147483647 0 -1 4294967295 \
            18446744073709551615 0 18446744073709551615 0 18446744073709551615 18446744073709551615 \
            -9223372036854775808 9223372036854775807 -100 -20 18446744073709551615 0 \
            18446744073709551615 18446744073709551615 -5";
        let stat = parse_pid_stat(input.as_bytes()).unwrap();
        assert_eq!(stat.pid, u32::MAX);
        assert_eq!(stat.pgrp, i32::MIN);
        assert_eq!(stat.utime, u64::MAX);
        assert_eq!(stat.cutime, i64::MIN);
        assert_eq!(stat.nice, -20);
        assert_eq!(stat.vsize, u64::MAX);
        assert_eq!(stat.rss_pages, 0, "a negative rss is clamped");
        let overflow = input.replacen("18446744073709551615", "18446744073709551616", 1);
        assert_eq!(
            parse_pid_stat(overflow.as_bytes()).unwrap_err().message(),
            "bad minflt field"
        );
    }

    #[test]
    fn truncated_empty_and_garbage() {
        assert!(parse_pid_stat(b"").is_err());
        assert!(parse_pid_state(b"").is_err());
        assert!(parse_pid_stat(b"42 (cat").is_err());
        assert!(parse_pid_state(b"42 (cat").is_err());
        assert!(parse_pid_stat(b"42 (cat) R 1 2 3").is_err());
        assert_eq!(parse_pid_state(b"42 (cat) R").unwrap(), 'R');
        assert!(parse_pid_state(b"42 (cat) ").is_err());
        assert!(parse_pid_state(b"42 (cat) RR 1").is_err());
        assert!(parse_pid_state(b"42 (cat) 1 1").is_err());
        assert!(parse_pid_state(b") 42 (").is_err());
        assert!(parse_pid_state(b"x (cat) R").is_err());
        assert!(parse_pid_state(b"\xff\x00(\x01)\x02").is_err());
        let input = format!("42 (cat) {}", TAIL.replace(" -1 ", " x "));
        assert_eq!(
            parse_pid_stat(input.as_bytes()).unwrap_err().message(),
            "bad tpgid field"
        );
    }

    #[test]
    fn start_time() {
        // The fixture's postgres: 3988 ticks after a boot at 1795443679.
        let pg = parse_pid_stat(&fixture("proc/2204/stat")).unwrap();
        assert_eq!(
            start_time_unix_nanos(pg.starttime, 1795443679, 100),
            1_795_443_718_880_000_000
        );
        assert_eq!(start_time_unix_nanos(0, 0, 100), 0);
        assert_eq!(start_time_unix_nanos(1, 0, 3), 333_333_333, "rounds down");
        assert_eq!(start_time_unix_nanos(250, 10, 250), 11_000_000_000);
        assert_eq!(
            start_time_unix_nanos(250, 10, 0),
            12_500_000_000,
            "0 ticks/s is 100"
        );
        assert_eq!(start_time_unix_nanos(u64::MAX, u64::MAX, 1), u64::MAX);
        assert_eq!(
            start_time_unix_nanos(0, 18_446_744_073, 100),
            18_446_744_073_000_000_000
        );
        assert_eq!(start_time_unix_nanos(0, 18_446_744_074, 100), u64::MAX);
    }

    #[test]
    fn state_counts() {
        let mut counts = ProcessStateCounts::default();
        for c in "RRSDZTtIXxWK".chars() {
            counts.record(c);
        }
        assert_eq!(counts.running, 2);
        assert_eq!(counts.sleeping, 1);
        assert_eq!(counts.disk_sleep, 1);
        assert_eq!(counts.zombie, 1);
        assert_eq!(counts.stopped, 1);
        assert_eq!(counts.tracing_stop, 1);
        assert_eq!(counts.idle, 1);
        assert_eq!(counts.dead, 2);
        assert_eq!(counts.other, 2);
        assert_eq!(counts.total(), 12);
    }
}
