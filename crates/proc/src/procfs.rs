//! [`ProcFs`]: reads files under a proc root into a caller's buffer and hands them to the parsers.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::diskstats::{parse_diskstats, DiskStat};
use crate::error::{ParseError, ReadError};
use crate::loadavg::{parse_loadavg, parse_uptime, LoadAvg, Uptime};
use crate::meminfo::{parse_meminfo, MemInfo};
use crate::mountinfo::{parse_mountinfo, Mount};
use crate::netdev::{parse_net_dev, NetDev};
use crate::pidstat::{parse_pid_stat, parse_pid_state, PidStat, ProcessStateCounts};
use crate::sockets::{count_tcp_states, parse_socket_count, TcpStateCounts};
use crate::stat::{parse_stat, Stat};
use crate::util::parse_u32;
use crate::vmstat::{parse_vmstat, VmStat};

/// A proc filesystem: `/proc`, or a folder of recorded files in tests.
///
/// Each `read_*` method reads one file whole into `buf` (cleared first; pass the same buffer every
/// time so its capacity is reused) and parses it. Network files are those of the reading
/// process's network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcFs {
    root: PathBuf,
}

impl Default for ProcFs {
    fn default() -> Self {
        ProcFs::new()
    }
}

impl ProcFs {
    /// The system's `/proc`.
    pub fn new() -> Self {
        ProcFs::with_root("/proc")
    }

    /// A proc filesystem mounted elsewhere (a host's `/proc` bind-mounted into a container as
    /// `/host/proc`) or a folder of recorded files.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        ProcFs { root: root.into() }
    }

    /// The root this reads from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads `/proc/stat`.
    pub fn read_stat(&self, buf: &mut Vec<u8>) -> Result<Stat, ReadError> {
        self.read_parsed(&self.root.join("stat"), buf, parse_stat)
    }

    /// Reads `/proc/meminfo`.
    pub fn read_meminfo(&self, buf: &mut Vec<u8>) -> Result<MemInfo, ReadError> {
        self.read_parsed(&self.root.join("meminfo"), buf, parse_meminfo)
    }

    /// Reads `/proc/loadavg`.
    pub fn read_loadavg(&self, buf: &mut Vec<u8>) -> Result<LoadAvg, ReadError> {
        self.read_parsed(&self.root.join("loadavg"), buf, parse_loadavg)
    }

    /// Reads `/proc/uptime`.
    pub fn read_uptime(&self, buf: &mut Vec<u8>) -> Result<Uptime, ReadError> {
        self.read_parsed(&self.root.join("uptime"), buf, parse_uptime)
    }

    /// Reads `/proc/vmstat`.
    pub fn read_vmstat(&self, buf: &mut Vec<u8>) -> Result<VmStat, ReadError> {
        self.read_parsed(&self.root.join("vmstat"), buf, parse_vmstat)
    }

    /// Reads `/proc/diskstats`.
    pub fn read_diskstats(&self, buf: &mut Vec<u8>) -> Result<Vec<DiskStat>, ReadError> {
        self.read_parsed(&self.root.join("diskstats"), buf, parse_diskstats)
    }

    /// Reads `/proc/net/dev`.
    pub fn read_net_dev(&self, buf: &mut Vec<u8>) -> Result<Vec<NetDev>, ReadError> {
        self.read_parsed(&self.root.join("net/dev"), buf, parse_net_dev)
    }

    /// Reads `/proc/net/tcp` and `/proc/net/tcp6` and adds up their sockets by state. A missing
    /// `tcp6` (IPv6 disabled) counts as no sockets; a missing `tcp` is an error.
    pub fn read_tcp_states(&self, buf: &mut Vec<u8>) -> Result<TcpStateCounts, ReadError> {
        let mut counts = TcpStateCounts::default();
        self.read_parsed(&self.root.join("net/tcp"), buf, |input| {
            count_tcp_states(input, &mut counts)
        })?;
        match self.read_parsed(&self.root.join("net/tcp6"), buf, |input| {
            count_tcp_states(input, &mut counts)
        }) {
            Ok(()) | Err(ReadError::NotFound { .. }) => Ok(counts),
            Err(err) => Err(err),
        }
    }

    /// Reads `/proc/net/udp` and `/proc/net/udp6` and adds up their sockets. A missing `udp6`
    /// (IPv6 disabled) counts as none; a missing `udp` is an error.
    pub fn read_udp_socket_count(&self, buf: &mut Vec<u8>) -> Result<u64, ReadError> {
        let udp = self.read_parsed(&self.root.join("net/udp"), buf, parse_socket_count)?;
        match self.read_parsed(&self.root.join("net/udp6"), buf, parse_socket_count) {
            Ok(udp6) => Ok(udp.saturating_add(udp6)),
            Err(ReadError::NotFound { .. }) => Ok(udp),
            Err(err) => Err(err),
        }
    }

    /// Reads `/proc/self/mountinfo`: the mounts the reading process sees.
    pub fn read_mountinfo(&self, buf: &mut Vec<u8>) -> Result<Vec<Mount>, ReadError> {
        self.read_parsed(&self.root.join("self/mountinfo"), buf, parse_mountinfo)
    }

    /// Reads `/proc/<pid>/mountinfo`: the mounts process `pid` sees (`1` for the host's mounts
    /// when this runs in a container sharing the host's PID namespace).
    pub fn read_pid_mountinfo(&self, pid: u32, buf: &mut Vec<u8>) -> Result<Vec<Mount>, ReadError> {
        self.read_parsed(&self.pid_path(pid, "mountinfo"), buf, parse_mountinfo)
    }

    /// Reads `/proc/self/stat`: the reading process's own CPU times and memory.
    pub fn read_self_stat(&self, buf: &mut Vec<u8>) -> Result<PidStat, ReadError> {
        self.read_parsed(&self.root.join("self/stat"), buf, parse_pid_stat)
    }

    /// Reads `/proc/<pid>/stat`. A process that does not exist (any more) gives
    /// [`ReadError::NotFound`].
    pub fn read_pid_stat(&self, pid: u32, buf: &mut Vec<u8>) -> Result<PidStat, ReadError> {
        self.read_parsed(&self.pid_path(pid, "stat"), buf, parse_pid_stat)
    }

    /// Counts processes by the state letter of their `/proc/<pid>/stat`, reading every numeric
    /// entry of the root into one reused buffer and parsing only the state.
    ///
    /// A process that exits between the listing and the read is counted as `vanished`; one whose
    /// `stat` cannot be read or parsed for another reason as `failed`. Only failing to list the
    /// root is an error.
    pub fn count_processes_by_state(&self) -> Result<ProcessStateCounts, ReadError> {
        let mut counts = ProcessStateCounts::default();
        let mut buf = Vec::with_capacity(512);
        let mut path = self.root.clone();
        let entries = fs::read_dir(&self.root).map_err(|e| ReadError::from_io(&self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ReadError::from_io(&self.root, e))?;
            let name = entry.file_name();
            if parse_u32(name.as_bytes()).is_none() {
                continue;
            }
            path.push(&name);
            path.push("stat");
            match read_into(&path, &mut buf) {
                // A process that exits after `open` may read as empty.
                Ok(()) if buf.is_empty() => counts.vanished += 1,
                Ok(()) => match parse_pid_state(&buf) {
                    Ok(state) => counts.record(state),
                    Err(_) => counts.failed += 1,
                },
                Err(ReadError::NotFound { .. }) => counts.vanished += 1,
                Err(_) => counts.failed += 1,
            }
            path.pop();
            path.pop();
        }
        Ok(counts)
    }

    fn pid_path(&self, pid: u32, file: &str) -> PathBuf {
        let mut path = self.root.join(pid.to_string());
        path.push(file);
        path
    }

    fn read_parsed<T>(
        &self,
        path: &Path,
        buf: &mut Vec<u8>,
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T, ReadError> {
        read_into(path, buf)?;
        parse(buf).map_err(|error| ReadError::Parse {
            path: path.into(),
            error,
        })
    }
}

/// Replaces `buf`'s contents with the whole file at `path`.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    buf.clear();
    File::open(path)
        .and_then(|mut file| file.read_to_end(buf))
        .map(drop)
        .map_err(|e| ReadError::from_io(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture_root;
    use std::collections::BTreeSet;
    use std::io;

    fn fixture_fs() -> ProcFs {
        ProcFs::with_root(fixture_root())
    }

    #[test]
    fn reads_every_file_of_the_fixture_root() {
        let fs = fixture_fs();
        let mut buf = Vec::new();
        assert_eq!(fs.read_stat(&mut buf).unwrap().boot_time, 1795443679);
        assert_eq!(fs.read_meminfo(&mut buf).unwrap().total, 24684092 * 1024);
        assert_eq!(fs.read_loadavg(&mut buf).unwrap().last_pid, 5823);
        assert_eq!(fs.read_uptime(&mut buf).unwrap().uptime_secs, 193.59);
        assert_eq!(fs.read_vmstat(&mut buf).unwrap().pgmajfault, 977);
        assert_eq!(fs.read_diskstats(&mut buf).unwrap().len(), 10);
        assert_eq!(fs.read_net_dev(&mut buf).unwrap().len(), 4);
        let tcp = fs.read_tcp_states(&mut buf).unwrap();
        assert_eq!((tcp.listen, tcp.total()), (11, 17));
        assert_eq!(fs.read_udp_socket_count(&mut buf).unwrap(), 0);
        assert_eq!(fs.read_mountinfo(&mut buf).unwrap().len(), 19);
        assert_eq!(fs.read_self_stat(&mut buf).unwrap().comm, "cat");
        assert_eq!(fs.read_pid_stat(2204, &mut buf).unwrap().comm, "postgres");
        let counts = fs.count_processes_by_state().unwrap();
        assert_eq!(
            counts,
            ProcessStateCounts {
                sleeping: 2,
                ..Default::default()
            },
            "2 and 2204 are counted; self, net and the files are not"
        );
    }

    #[test]
    fn errors_name_the_path_and_sort_by_cause() {
        let fs = fixture_fs();
        let mut buf = Vec::new();

        let err = fs.read_pid_stat(999_999, &mut buf).unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.path(), fixture_root().join("999999/stat"));
        assert!(fs
            .read_pid_mountinfo(2, &mut buf)
            .unwrap_err()
            .is_not_found());

        // A pid's stat read as /proc/stat: the parser's error, with the file.
        let err = ProcFs::with_root(fixture_root().join("2204"))
            .read_stat(&mut buf)
            .unwrap_err();
        let ReadError::Parse { path, error } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*path, fixture_root().join("2204/stat"));
        assert_eq!(error.message(), "no aggregate \"cpu\" line");
        assert_eq!(err.to_string(), format!("cannot parse {}", path.display()));
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(source, "no aggregate \"cpu\" line");

        // Not a directory: neither missing nor forbidden.
        let err = ProcFs::with_root("/dev/null")
            .read_stat(&mut buf)
            .unwrap_err();
        assert!(matches!(err, ReadError::Io { .. }), "{err:?}");
        assert_eq!(err.path(), Path::new("/dev/null/stat"));

        let missing = ProcFs::with_root("/nonexistent/lookout");
        assert!(missing
            .count_processes_by_state()
            .unwrap_err()
            .is_not_found());
        assert!(missing
            .read_tcp_states(&mut buf)
            .unwrap_err()
            .is_not_found());
        assert!(missing
            .read_udp_socket_count(&mut buf)
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn io_errors_are_sorted() {
        let p = Path::new("/proc/1/stat");
        let sort = |e| ReadError::from_io(p, e);
        assert!(sort(io::Error::from(io::ErrorKind::NotFound)).is_not_found());
        assert!(sort(io::Error::from_raw_os_error(libc::ESRCH)).is_not_found());
        assert!(matches!(
            sort(io::Error::from(io::ErrorKind::PermissionDenied)),
            ReadError::PermissionDenied { .. }
        ));
        let err = sort(io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(err, ReadError::Io { .. }));
        assert_eq!(err.to_string(), "cannot read /proc/1/stat");
        assert_eq!(
            sort(io::Error::from(io::ErrorKind::PermissionDenied)).to_string(),
            "permission denied reading /proc/1/stat"
        );
    }

    #[test]
    fn the_buffer_is_reused() {
        let fs = fixture_fs();
        let mut buf = Vec::with_capacity(64 * 1024);
        let ptr = buf.as_ptr();
        fs.read_meminfo(&mut buf).unwrap();
        fs.read_loadavg(&mut buf).unwrap();
        assert_eq!(buf.as_ptr(), ptr, "no reallocation for small files");
        assert_eq!(buf, std::fs::read(fixture_root().join("loadavg")).unwrap());
    }

    // The tests below read this machine's real /proc and check what must hold on any Linux host.

    fn names_in(dir: &str) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn now_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn real_stat() {
        let stat = ProcFs::new().read_stat(&mut Vec::new()).unwrap();
        assert!(!stat.per_cpu.is_empty());
        let online = std::thread::available_parallelism().unwrap().get();
        assert!(
            stat.per_cpu.len() >= online,
            "{} < {online}",
            stat.per_cpu.len()
        );
        let sum_user: u64 = stat.per_cpu.iter().map(|(_, t)| t.user).sum();
        // The aggregate line is the sum of the per-CPU lines, give or take the ticks that pass
        // while the kernel prints them.
        assert!(stat.total.user.abs_diff(sum_user) <= 100, "{stat:?}");
        assert!(stat.total.total() > 0);
        assert!(stat.boot_time > 1_000_000_000 && stat.boot_time <= now_secs());
        assert!(stat.processes_created > 0);
        assert!(stat.procs_running >= 1, "this test is running");
        assert!(stat.context_switches > 0 && stat.interrupts > 0);
    }

    #[test]
    fn real_meminfo() {
        let mem = ProcFs::new().read_meminfo(&mut Vec::new()).unwrap();
        let available = mem.available.unwrap();
        assert!(mem.total > available && available > 0, "{mem:?}");
        assert!(mem.total > mem.free);
        assert!(mem.slab >= mem.sreclaimable);
        assert!(mem.swap_total >= mem.swap_free);
        assert!(mem.used() > 0 && mem.used() < mem.total);
        assert_eq!(mem.total % 1024, 0);
    }

    #[test]
    fn real_loadavg_and_uptime() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let load = fs.read_loadavg(&mut buf).unwrap();
        assert!(load.running >= 1 && load.total >= load.running, "{load:?}");
        assert!(load.last_pid > 0);
        assert!(load.one >= 0.0 && load.five >= 0.0 && load.fifteen >= 0.0);
        let up = fs.read_uptime(&mut buf).unwrap();
        assert!(up.uptime_secs > 0.0 && up.idle_secs >= 0.0);
        let boot_time = fs.read_stat(&mut buf).unwrap().boot_time;
        // Uptime counts from boot: btime + uptime is about now (the wall clock may have been set
        // since boot, so allow some slack).
        let implied_now = boot_time as f64 + up.uptime_secs;
        assert!((implied_now - now_secs() as f64).abs() < 600.0);
    }

    #[test]
    fn real_vmstat() {
        let vm = ProcFs::new().read_vmstat(&mut Vec::new()).unwrap();
        assert!(vm.pgfault > 0 && vm.pgfault >= vm.pgmajfault, "{vm:?}");
    }

    #[test]
    fn real_diskstats_match_sys_block() {
        let disks = ProcFs::new().read_diskstats(&mut Vec::new()).unwrap();
        let names: BTreeSet<_> = disks.iter().map(|d| d.name.clone()).collect();
        // Every whole disk in /sys/block with a stat file is in /proc/diskstats...
        for dev in names_in("/sys/block") {
            if Path::new(&format!("/sys/block/{dev}/stat")).exists() {
                assert!(names.contains(&dev), "{dev} missing from {names:?}");
            }
        }
        // ...and every line of /proc/diskstats is a block device (disk or partition; '/' in a
        // name is '!' in sysfs).
        let block = names_in("/sys/class/block");
        for disk in &disks {
            assert!(
                block.contains(&disk.name.replace('/', "!")),
                "{}",
                disk.name
            );
            // The counters only grow: sysfs, read later, shows at least as many reads.
            let sys =
                std::fs::read_to_string(format!("/sys/class/block/{}/stat", disk.name)).unwrap();
            let sys_reads: u64 = sys.split_whitespace().next().unwrap().parse().unwrap();
            assert!(sys_reads >= disk.reads_completed, "{}", disk.name);
        }
    }

    #[test]
    fn real_net_dev_matches_sys_class_net() {
        let devs = ProcFs::new().read_net_dev(&mut Vec::new()).unwrap();
        let names: BTreeSet<_> = devs.iter().map(|d| d.name.clone()).collect();
        assert_eq!(names, names_in("/sys/class/net"));
        let lo = devs.iter().find(|d| d.name == "lo").unwrap();
        assert_eq!(lo.rx_bytes, lo.tx_bytes, "loopback receives what it sends");
    }

    #[test]
    fn real_tcp_and_udp_sockets() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tcp = fs.read_tcp_states(&mut buf).unwrap();
        assert!(tcp.listen >= 1, "{tcp:?}");
        assert!(tcp.established >= 2, "both ends of our connection: {tcp:?}");
        assert!(fs.read_udp_socket_count(&mut buf).unwrap() >= 1);
        drop((client, udp));
    }

    #[test]
    fn real_mountinfo() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let mounts = fs.read_mountinfo(&mut buf).unwrap();
        let root = mounts.iter().find(|m| m.mount_point == Path::new("/"));
        assert!(root.is_some(), "{mounts:?}");
        assert!(mounts
            .iter()
            .any(|m| m.mount_point == Path::new("/proc") && m.fs_type == "proc"));
        let ids: BTreeSet<_> = mounts.iter().map(|m| m.mount_id).collect();
        assert_eq!(ids.len(), mounts.len(), "mount IDs are unique");
        let own = fs.read_pid_mountinfo(std::process::id(), &mut buf).unwrap();
        assert_eq!(own, mounts);
    }

    #[test]
    fn real_self_stat() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let me = fs.read_self_stat(&mut buf).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(
            me.num_threads >= 1 && me.rss_pages > 0 && me.vsize > 0,
            "{me:?}"
        );
        // The main thread's comm is the executable's name, cut to 15 bytes.
        let exe = std::env::current_exe().unwrap();
        let exe = exe.file_name().unwrap().to_string_lossy();
        assert!(exe.starts_with(&me.comm), "{exe} vs {}", me.comm);
        let boot = fs.read_stat(&mut buf).unwrap().boot_time;
        let up = fs.read_uptime(&mut buf).unwrap().uptime_secs;
        let started = me.starttime / crate::clock_ticks_per_second();
        assert!(started as f64 <= up + 1.0, "started after boot, before now");
        assert!(boot > 0);
        let same = fs.read_pid_stat(me.pid, &mut buf).unwrap();
        assert_eq!((same.pid, same.starttime), (me.pid, me.starttime));
    }

    #[test]
    fn real_process_counts() {
        let counts = ProcFs::new().count_processes_by_state().unwrap();
        // This process and its parent at least.
        assert!(counts.total() >= 2, "{counts:?}");
        assert_eq!(counts.failed, 0, "{counts:?}");
    }

    #[test]
    fn real_sysconf() {
        let ticks = crate::clock_ticks_per_second();
        assert!((1..=10_000).contains(&ticks));
        let page = crate::page_size();
        assert!(page >= 4096 && page.is_power_of_two());
    }

    #[test]
    fn real_statvfs_of_root_matches_df() {
        let fs = crate::statvfs("/").unwrap();
        assert!(fs.blocks > 0 && fs.block_size > 0, "{fs:?}");
        assert!(fs.blocks >= fs.blocks_free && fs.blocks_free >= fs.blocks_avail);
        assert!(fs.used_bytes() + fs.avail_bytes() <= fs.total_bytes());
        assert_eq!(fs.used_bytes() + fs.free_bytes(), fs.total_bytes());
        // df prints size, used and available in 1K blocks; used and available can move between
        // the two calls, the size cannot.
        let out = std::process::Command::new("df")
            .args(["-k", "--output=size,used,avail", "/"])
            .output();
        let Ok(out) = out else {
            eprintln!("df not available, skipping the comparison");
            return;
        };
        let text = String::from_utf8(out.stdout).unwrap();
        let numbers: Vec<u64> = text
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let [size_k, used_k, avail_k] = numbers[..] else {
            panic!("{text}")
        };
        assert_eq!(size_k, fs.total_bytes() / 1024);
        let near = |a: u64, b: u64| a.abs_diff(b) <= (b / 100).max(1024);
        assert!(near(used_k, fs.used_bytes() / 1024), "{used_k} vs {fs:?}");
        assert!(
            near(avail_k, fs.avail_bytes() / 1024),
            "{avail_k} vs {fs:?}"
        );
    }
}
