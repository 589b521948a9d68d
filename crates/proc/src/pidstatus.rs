//! `/proc/<pid>/status` and `/proc/<pid>/io`: one process's owner, memory, threads, context
//! switches and I/O counters.

use crate::error::ParseError;
use crate::util::{fields, lines, parse_u32, parse_u64, trim};

/// The fields lookout reads from `/proc/<pid>/status` (see `proc_pid_status(5)`), memory in bytes
/// (the file says kB, meaning KiB).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidStatus {
    /// Executable name, at most 15 bytes, as in `stat`'s `comm` (`Name`, with the kernel's `\n`
    /// and `\\` escapes decoded and invalid UTF-8 replaced).
    pub name: String,
    /// State letter, as in `stat` (`State`, without the word in parentheses).
    pub state: char,
    /// Parent process ID (`PPid`; 0 for init and kthreadd).
    pub ppid: u32,
    /// Real user ID (`Uid`, first column).
    pub uid_real: u32,
    /// Effective user ID, the one permissions are checked against (`Uid`, second column).
    pub uid_effective: u32,
    /// Threads in the process (`Threads`).
    pub threads: u64,
    /// Resident set size in bytes (`VmRSS`); `None` for kernel threads and zombies, which have
    /// no memory of their own.
    pub vm_rss: Option<u64>,
    /// Virtual memory size in bytes (`VmSize`); `None` for kernel threads and zombies.
    pub vm_size: Option<u64>,
    /// Memory swapped out, in bytes (`VmSwap`, Linux 2.6.34 and later); `None` for kernel threads
    /// and zombies.
    pub vm_swap: Option<u64>,
    /// Times the process gave up the CPU, usually to wait (`voluntary_ctxt_switches`; 0 if
    /// absent).
    pub voluntary_ctxt_switches: u64,
    /// Times the process was preempted (`nonvoluntary_ctxt_switches`; 0 if absent).
    pub nonvoluntary_ctxt_switches: u64,
}

/// Parses `/proc/<pid>/status`.
///
/// `Name`, `State`, `PPid`, `Uid` and `Threads` are required; the `Vm*` lines are optional (kernel
/// threads and zombies have none) and so are the context switch counts. Unknown lines are
/// ignored, and malformed optional lines skipped.
pub fn parse_pid_status(input: &[u8]) -> Result<PidStatus, ParseError> {
    let mut name = Required::default();
    let mut state = Required::default();
    let mut ppid = Required::default();
    let mut uids = Required::default();
    let mut threads = Required::default();
    let mut status = PidStatus::default();
    for (n, line) in lines(input) {
        let Some((key, value)) = split_key(line) else {
            continue;
        };
        match key {
            // The name is the rest of the line after one tab: it may start or end with spaces.
            b"Name" => name.set(n, unescape_name(value.strip_prefix(b"\t"))),
            b"State" => state.set(n, fields(value).next().and_then(state_char)),
            b"PPid" => ppid.set(n, parse_u32(trim(value))),
            b"Uid" => {
                let mut f = fields(value).map(parse_u32);
                uids.set(n, f.next().flatten().zip(f.next().flatten()));
            }
            b"Threads" => threads.set(n, parse_u64(trim(value))),
            b"VmRSS" => status.vm_rss = parse_kb(value).or(status.vm_rss),
            b"VmSize" => status.vm_size = parse_kb(value).or(status.vm_size),
            b"VmSwap" => status.vm_swap = parse_kb(value).or(status.vm_swap),
            b"voluntary_ctxt_switches" => set_u64(&mut status.voluntary_ctxt_switches, value),
            b"nonvoluntary_ctxt_switches" => {
                set_u64(&mut status.nonvoluntary_ctxt_switches, value);
            }
            _ => {}
        }
    }
    status.name = name.get("Name")?;
    status.state = state.get("State")?;
    status.ppid = ppid.get("PPid")?;
    (status.uid_real, status.uid_effective) = uids.get("Uid")?;
    status.threads = threads.get("Threads")?;
    Ok(status)
}

/// The I/O counters of `/proc/<pid>/io` (see `proc_pid_io(5)`), in bytes or system calls since
/// the process started. Reading it needs the right to ptrace the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidIo {
    /// Bytes passed to `read(2)` and similar calls, from disk, page cache, pipes or sockets
    /// (`rchar`).
    pub rchar: u64,
    /// Bytes passed to `write(2)` and similar calls (`wchar`).
    pub wchar: u64,
    /// Read system calls (`syscr`).
    pub syscr: u64,
    /// Write system calls (`syscw`).
    pub syscw: u64,
    /// Bytes the process caused to be fetched from storage (`read_bytes`).
    pub read_bytes: u64,
    /// Bytes the process caused to be sent to storage, counted when pages are dirtied
    /// (`write_bytes`).
    pub write_bytes: u64,
    /// Bytes of `write_bytes` that were never written because the file was truncated or deleted
    /// first (`cancelled_write_bytes`).
    pub cancelled_write_bytes: u64,
}

/// Parses `/proc/<pid>/io`.
///
/// Unknown and malformed lines are skipped (a counter without a usable line stays 0); `rchar`,
/// the first line of every kernel's file, is required.
pub fn parse_pid_io(input: &[u8]) -> Result<PidIo, ParseError> {
    let mut io = PidIo::default();
    let mut rchar = Required::default();
    for (n, line) in lines(input) {
        let Some((key, value)) = split_key(line) else {
            continue;
        };
        let slot = match key {
            b"rchar" => {
                rchar.set(n, parse_u64(trim(value)));
                continue;
            }
            b"wchar" => &mut io.wchar,
            b"syscr" => &mut io.syscr,
            b"syscw" => &mut io.syscw,
            b"read_bytes" => &mut io.read_bytes,
            b"write_bytes" => &mut io.write_bytes,
            b"cancelled_write_bytes" => &mut io.cancelled_write_bytes,
            _ => continue,
        };
        set_u64(slot, value);
    }
    io.rchar = rchar.get("rchar")?;
    Ok(io)
}

/// A required value: the first good one, or the first line where it was malformed.
struct Required<T> {
    value: Option<T>,
    bad_line: Option<usize>,
}

impl<T> Default for Required<T> {
    fn default() -> Self {
        Required {
            value: None,
            bad_line: None,
        }
    }
}

impl<T> Required<T> {
    /// Records line `n`'s value, or that it was malformed.
    fn set(&mut self, n: usize, value: Option<T>) {
        match value {
            Some(v) if self.value.is_none() => self.value = Some(v),
            Some(_) => {}
            None => self.bad_line = self.bad_line.or(Some(n)),
        }
    }

    fn get(self, key: &'static str) -> Result<T, ParseError> {
        match (self.value, self.bad_line) {
            (Some(v), _) => Ok(v),
            (None, Some(n)) => Err(ParseError::at_line(n, format!("malformed {key} line"))),
            (None, None) => Err(ParseError::new(format!("no {key} line"))),
        }
    }
}

/// `Key:value` as (`Key`, `value`), split at the first colon.
fn split_key(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((line.get(..colon)?, line.get(colon + 1..)?))
}

/// Sets `slot` to the single number in `value`; leaves it alone if there is none.
fn set_u64(slot: &mut u64, value: &[u8]) {
    if let Some(v) = parse_u64(trim(value)) {
        *slot = v;
    }
}

/// `   30684 kB` in bytes (saturating); `None` without exactly that unit.
fn parse_kb(value: &[u8]) -> Option<u64> {
    let mut f = fields(value);
    let kb = parse_u64(f.next()?)?;
    match (f.next(), f.next()) {
        (Some(b"kB"), None) => Some(kb.saturating_mul(1024)),
        _ => None,
    }
}

/// Decodes the two escapes the kernel writes in `Name` (`\n` for a newline, `\\` for a
/// backslash); `None` if the line has no tab after the colon.
fn unescape_name(value: Option<&[u8]>) -> Option<String> {
    let value = value?;
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'\\') => out.push(b'\\'),
            Some(other) => out.extend_from_slice(&[b'\\', other]),
            None => out.push(b'\\'),
        }
    }
    Some(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// `S` of `S (sleeping)`.
fn state_char(field: &[u8]) -> Option<char> {
    match field {
        [b] if b.is_ascii_alphabetic() => Some(char::from(*b)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_postgres_status() {
        let pg = parse_pid_status(&fixture("proc/2204/status")).unwrap();
        assert_eq!(
            pg,
            PidStatus {
                name: "postgres".into(),
                state: 'S',
                ppid: 1,
                uid_real: 101,
                uid_effective: 101,
                threads: 1,
                vm_rss: Some(30684 * 1024),
                vm_size: Some(217328 * 1024),
                vm_swap: Some(0),
                voluntary_ctxt_switches: 106,
                nonvoluntary_ctxt_switches: 1,
            }
        );
    }

    #[test]
    fn debian12_kernel_thread_has_no_memory() {
        let kthreadd = parse_pid_status(&fixture("proc/2/status")).unwrap();
        assert_eq!(kthreadd.name, "kthreadd");
        assert_eq!((kthreadd.state, kthreadd.ppid), ('S', 0));
        assert_eq!((kthreadd.uid_real, kthreadd.uid_effective), (0, 0));
        assert_eq!(kthreadd.threads, 1);
        assert_eq!(
            (kthreadd.vm_rss, kthreadd.vm_size, kthreadd.vm_swap),
            (None, None, None)
        );
        assert_eq!(kthreadd.voluntary_ctxt_switches, 71);
        assert_eq!(kthreadd.nonvoluntary_ctxt_switches, 0);
    }

    /// Lines of mariadbd's status on the recording machine: 9 threads and 8 TiB of address space.
    const MARIADBD: &str = "Name:\tmariadbd\nUmask:\t0006\nState:\tS (sleeping)\nTgid:\t3781\n\
        PPid:\t1\nUid:\t107\t107\t107\t107\nVmPeak:\t8591135980 kB\nVmSize:\t8591070444 kB\n\
        VmRSS:\t  102712 kB\nVmSwap:\t       0 kB\nThreads:\t9\n\
        voluntary_ctxt_switches:\t188\nnonvoluntary_ctxt_switches:\t11\n";

    #[test]
    fn large_address_space_and_many_threads() {
        let st = parse_pid_status(MARIADBD.as_bytes()).unwrap();
        assert_eq!(st.vm_size, Some(8591070444 * 1024));
        assert_eq!(st.vm_rss, Some(102712 * 1024));
        assert_eq!((st.threads, st.uid_effective), (9, 107));
        let huge = MARIADBD.replace("8591070444", "18446744073709551615");
        let st = parse_pid_status(huge.as_bytes()).unwrap();
        assert_eq!(st.vm_size, Some(u64::MAX), "saturates");
        let overflow = MARIADBD.replace("8591070444", "18446744073709551616");
        assert_eq!(parse_pid_status(overflow.as_bytes()).unwrap().vm_size, None);
    }

    #[test]
    fn real_and_effective_uid_differ_for_setuid() {
        let input = MARIADBD.replace("Uid:\t107\t107", "Uid:\t1000\t0");
        let st = parse_pid_status(input.as_bytes()).unwrap();
        assert_eq!((st.uid_real, st.uid_effective), (1000, 0));
    }

    #[test]
    fn names_are_unescaped_and_keep_their_spaces() {
        for (line, name) in [
            ("Name:\ta\\nb", "a\nb"),
            ("Name:\tback\\\\slash", "back\\slash"),
            ("Name:\t a b ", " a b "),
            ("Name:\tx: y", "x: y"),
            ("Name:\t\\q\\", "\\q\\"),
            ("Name:\t", ""),
            ("Name:\t\t", "\t"),
        ] {
            let input = MARIADBD.replace("Name:\tmariadbd", line);
            assert_eq!(parse_pid_status(input.as_bytes()).unwrap().name, name);
        }
        let mut input = b"Name:\t\xff(\n".to_vec();
        input.extend_from_slice(MARIADBD.split_once('\n').unwrap().1.as_bytes());
        assert_eq!(parse_pid_status(&input).unwrap().name, "\u{fffd}(");
    }

    #[test]
    fn unknown_and_malformed_optional_lines() {
        let input = format!(
            "{MARIADBD}FutureField:\t7 kB\nVmRSS: 5 MB\nVmSwap:\nvoluntary_ctxt_switches: x\n\
             no colon here\n:\n\u{1}\u{2}: 3\n"
        );
        let st = parse_pid_status(input.as_bytes()).unwrap();
        assert_eq!(st.vm_rss, Some(102712 * 1024), "the good line counts");
        assert_eq!(st.vm_swap, Some(0));
        assert_eq!(st.voluntary_ctxt_switches, 188);
        let input = MARIADBD
            .replace("VmRSS:\t  102712 kB", "VmRSS:\t102712")
            .replace("voluntary_ctxt_switches:\t188\n", "");
        let st = parse_pid_status(input.as_bytes()).unwrap();
        assert_eq!(st.vm_rss, None, "no unit");
        assert_eq!(st.voluntary_ctxt_switches, 0, "absent");
        assert_eq!(st.nonvoluntary_ctxt_switches, 11);
    }

    #[test]
    fn missing_or_malformed_required_lines() {
        for (key, line) in [
            ("Name", "Name:\tmariadbd\n"),
            ("State", "State:\tS (sleeping)\n"),
            ("PPid", "PPid:\t1\n"),
            ("Uid", "Uid:\t107\t107\t107\t107\n"),
            ("Threads", "Threads:\t9\n"),
        ] {
            let input = MARIADBD.replace(line, "");
            let err = parse_pid_status(input.as_bytes()).unwrap_err();
            assert_eq!(err.message(), format!("no {key} line"));
            assert_eq!(err.line(), None);
        }
        for (from, to, key, line) in [
            ("Name:\t", "Name: ", "Name", 1),
            ("S (sleeping)", "sleeping", "State", 3),
            ("S (sleeping)", "", "State", 3),
            ("PPid:\t1", "PPid:\t-1", "PPid", 5),
            ("Uid:\t107\t107\t107\t107", "Uid:\t107", "Uid", 6),
            ("Uid:\t107", "Uid:\t4294967296", "Uid", 6),
            ("Threads:\t9", "Threads:\t9 9", "Threads", 11),
        ] {
            let input = MARIADBD.replace(from, to);
            let err = parse_pid_status(input.as_bytes()).unwrap_err();
            assert_eq!(err.message(), format!("malformed {key} line"), "{to}");
            assert_eq!(err.line(), Some(line), "{to}");
        }
        assert_eq!(parse_pid_status(b"").unwrap_err().message(), "no Name line");
        assert!(parse_pid_status(b"\0\0\0").is_err());
        assert!(parse_pid_status(&fixture("proc/2204/io")).is_err());
    }

    #[test]
    fn debian12_io() {
        let pg = parse_pid_io(&fixture("proc/2204/io")).unwrap();
        assert_eq!(
            pg,
            PidIo {
                rchar: 9926757,
                wchar: 10716166,
                syscr: 1476,
                syscw: 757,
                read_bytes: 90112,
                write_bytes: 12132352,
                cancelled_write_bytes: 28672,
            }
        );
        assert_eq!(
            parse_pid_io(&fixture("proc/2/io")).unwrap(),
            PidIo::default()
        );
    }

    #[test]
    fn io_edge_cases() {
        let io = parse_pid_io(
            b"rchar: 18446744073709551615\nwchar: 18446744073709551616\nsyscr: -1\n\
              future: 9\nread_bytes:7\nwrite_bytes: 8 9\n",
        )
        .unwrap();
        assert_eq!(io.rchar, u64::MAX);
        assert_eq!((io.wchar, io.syscr, io.syscw), (0, 0, 0));
        assert_eq!((io.read_bytes, io.write_bytes), (7, 0));
        // Cut short mid-file: what was read counts.
        assert_eq!(parse_pid_io(b"rchar: 1\nwchar: 2\nsys").unwrap().wchar, 2);
        assert_eq!(parse_pid_io(b"").unwrap_err().message(), "no rchar line");
        let err = parse_pid_io(b"wchar: 2\nrchar: x\n").unwrap_err();
        assert_eq!(
            (err.message(), err.line()),
            ("malformed rchar line", Some(2))
        );
        assert!(parse_pid_io(&fixture("proc/2204/status")).is_err());
    }
}
