//! [`ProcFs`]: reads files under a proc root into a caller's buffer and hands them to the parsers.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cgroup::container_id_from_cgroup;
use crate::cmdline::{cmdline_bytes_needed, len_without_trailing_nuls, parse_cmdline, parse_comm};
use crate::diskstats::{parse_diskstats, DiskStat};
use crate::error::{ParseError, ReadError};
use crate::loadavg::{parse_loadavg, parse_uptime, LoadAvg, Uptime};
use crate::meminfo::{parse_meminfo, MemInfo};
use crate::mountinfo::{parse_mountinfo, Mount};
use crate::netdev::{parse_net_dev, NetDev};
use crate::pidstat::{parse_pid_stat, parse_pid_state, PidStat, ProcessStateCounts};
use crate::pidstatus::{parse_pid_io, parse_pid_status, PidIo, PidStatus};
use crate::sockets::{count_tcp_states, parse_socket_count, TcpStateCounts};
use crate::stat::{parse_stat, Stat};
use crate::sys::{is_procfs, Dir};
use crate::util::parse_u32;
use crate::vmstat::{parse_vmstat, VmStat};

/// A proc filesystem: `/proc`, or a folder of recorded files in tests.
///
/// Each `read_*` method reads one file whole into `buf` (cleared first; pass the same buffer every
/// time so its capacity is reused) and parses it. Network files are those of the reading
/// process's network namespace.
///
/// The per-process methods (`read_pid_*`, [`count_pid_fds`](ProcFs::count_pid_fds)) give
/// [`ReadError::NotFound`] for a process that does not exist or exited meanwhile, and
/// [`ReadError::PermissionDenied`] for a file the kernel keeps from other users (`io`, `fd`,
/// `exe` need the right to ptrace the process: the same user, or `CAP_SYS_PTRACE`).
#[derive(Debug, Clone)]
pub struct ProcFs {
    root: PathBuf,
    /// Whether `root` is a real proc filesystem, asked once when first needed.
    is_procfs: OnceLock<bool>,
}

impl PartialEq for ProcFs {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl Eq for ProcFs {}

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
        ProcFs {
            root: root.into(),
            is_procfs: OnceLock::new(),
        }
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

    /// Reads `/proc/<pid>/status`: name, owner, threads, memory and context switches.
    pub fn read_pid_status(&self, pid: u32, buf: &mut Vec<u8>) -> Result<PidStatus, ReadError> {
        self.read_parsed(&self.pid_path(pid, "status"), buf, parse_pid_status)
    }

    /// Reads `/proc/<pid>/io`. Other users' processes give [`ReadError::PermissionDenied`]
    /// unless this process may ptrace them.
    pub fn read_pid_io(&self, pid: u32, buf: &mut Vec<u8>) -> Result<PidIo, ReadError> {
        self.read_parsed(&self.pid_path(pid, "io"), buf, parse_pid_io)
    }

    /// Reads `/proc/<pid>/cmdline` into `out` as [`parse_cmdline`] does, and returns whether it
    /// was cut at `max_len` bytes. `out` is cleared first, so it is empty on error.
    ///
    /// Only as much of the file is read as the first `max_len` bytes need (a Java command line
    /// can be hundreds of kilobytes), into `buf`.
    pub fn read_pid_cmdline(
        &self,
        pid: u32,
        buf: &mut Vec<u8>,
        max_len: usize,
        out: &mut String,
    ) -> Result<bool, ReadError> {
        out.clear();
        let path = self.pid_path(pid, "cmdline");
        read_cmdline_into(&path, buf, cmdline_bytes_needed(max_len))
            .map_err(|e| ReadError::from_io(&path, e))?;
        Ok(parse_cmdline(buf, max_len, out))
    }

    /// Reads `/proc/<pid>/cgroup` and finds the ID of the container the process runs in, as
    /// [`container_id_from_cgroup`] does; `None` for a process of the host.
    pub fn read_pid_cgroup_container(
        &self,
        pid: u32,
        buf: &mut Vec<u8>,
    ) -> Result<Option<String>, ReadError> {
        let path = self.pid_path(pid, "cgroup");
        read_into(&path, buf)?;
        Ok(container_id_from_cgroup(buf))
    }

    /// Reads `/proc/<pid>/comm`: the executable's name as the kernel keeps it (at most 15
    /// bytes, the same as [`PidStat::comm`]), without the newline; invalid UTF-8 replaced.
    pub fn read_pid_comm(&self, pid: u32, buf: &mut Vec<u8>) -> Result<String, ReadError> {
        let path = self.pid_path(pid, "comm");
        read_into(&path, buf)?;
        Ok(parse_comm(buf))
    }

    /// Reads the `/proc/<pid>/exe` link: the path of the process's executable, as the process's
    /// mount namespace sees it. The kernel appends ` (deleted)` when the file was removed or
    /// replaced (as by a package upgrade) since the process started.
    ///
    /// `Ok(None)` for a process without an executable (kernel threads, zombies) or, under a root
    /// of recorded files, a process directory without `exe`. Other users' processes give
    /// [`ReadError::PermissionDenied`] unless this process may ptrace them.
    pub fn read_pid_exe(&self, pid: u32) -> Result<Option<PathBuf>, ReadError> {
        let path = self.pid_path(pid, "exe");
        match fs::read_link(&path) {
            Ok(target) if target.as_os_str().is_empty() => Ok(None),
            Ok(target) => Ok(Some(target)),
            // The link of a process without an executable is missing too: tell it from a
            // vanished process by its directory.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                match fs::symlink_metadata(self.pid_dir(pid)) {
                    Ok(_) => Ok(None),
                    Err(dir_err) => Err(ReadError::from_io(&path, dir_err)),
                }
            }
            Err(err) => Err(ReadError::from_io(&path, err)),
        }
    }

    /// Counts the open file descriptors of process `pid`: the entries of `/proc/<pid>/fd`.
    ///
    /// Since Linux 6.2 the directory's size is that count, so on a real proc filesystem one
    /// `stat(2)` does (and works on other users' processes too); otherwise, or when the size is
    /// 0, the entries are read and counted, which gives [`ReadError::PermissionDenied`] for other
    /// users' processes unless this process may ptrace them.
    pub fn count_pid_fds(&self, pid: u32) -> Result<u64, ReadError> {
        let path = self.pid_path(pid, "fd");
        if *self.is_procfs.get_or_init(|| is_procfs(&self.root)) {
            let size = fs::metadata(&path)
                .map_err(|e| ReadError::from_io(&path, e))?
                .len();
            if size > 0 {
                return Ok(size);
            }
        }
        count_entries(&path)
    }

    /// Lists the processes: the numeric entries of the root, into `out` (cleared first; pass the
    /// same vector every scan so its capacity is reused), in the directory's order (ascending
    /// on Linux). These are the processes of the PID namespace the proc filesystem was mounted
    /// in (the host's for a host's `/proc` bind-mounted into a container), not their other
    /// threads.
    pub fn list_pids(&self, out: &mut Vec<u32>) -> Result<(), ReadError> {
        out.clear();
        let sort = |e| ReadError::from_io(&self.root, e);
        Dir::open(&self.root)
            .map_err(sort)?
            .for_each_name(|name| {
                if let Some(pid) = parse_u32(name) {
                    out.push(pid);
                }
            })
            .map_err(sort)
    }

    fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    fn pid_path(&self, pid: u32, file: &str) -> PathBuf {
        let mut path = self.pid_dir(pid);
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

/// The number of entries of the directory at `path`, but `.` and `..`.
fn count_entries(path: &Path) -> Result<u64, ReadError> {
    let sort = |e| ReadError::from_io(path, e);
    let mut n = 0u64;
    Dir::open(path)
        .map_err(sort)?
        .for_each_name(|_| n += 1)
        .map_err(sort)?;
    Ok(n)
}

/// Replaces `buf`'s contents with the start of the `cmdline` file at `path`: at least `needed`
/// bytes before its trailing NULs, or all of it.
fn read_cmdline_into(path: &Path, buf: &mut Vec<u8>, needed: usize) -> io::Result<()> {
    /// Read at least a page at a time: the kernel copies the arguments a page at a time.
    const MIN_READ: usize = 4096;
    buf.clear();
    let mut file = File::open(path)?;
    loop {
        let want = needed
            .saturating_sub(len_without_trailing_nuls(buf))
            .max(MIN_READ);
        let want = u64::try_from(want).unwrap_or(u64::MAX);
        let got = (&mut file).take(want).read_to_end(buf)?;
        let at_end = u64::try_from(got).unwrap_or(u64::MAX) < want;
        if at_end || len_without_trailing_nuls(buf) >= needed {
            return Ok(());
        }
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
    use crate::testutil::{fixture_root, TempDir};
    use std::collections::BTreeSet;
    use std::io;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

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

    const POSTGRES_CMDLINE: &str = "/usr/lib/postgresql/15/bin/postgres -D \
        /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf";

    #[test]
    fn reads_the_per_process_files_of_the_fixture_root() {
        let fs = fixture_fs();
        let mut buf = Vec::new();
        let pg = fs.read_pid_status(2204, &mut buf).unwrap();
        assert_eq!(
            (pg.name.as_str(), pg.uid_effective, pg.vm_rss),
            ("postgres", 101, Some(30684 * 1024))
        );
        assert_eq!(fs.read_pid_status(2, &mut buf).unwrap().vm_rss, None);
        assert_eq!(
            fs.read_pid_io(2204, &mut buf).unwrap().write_bytes,
            12132352
        );
        let mut cmd = String::from("old");
        assert!(!fs.read_pid_cmdline(2204, &mut buf, 4096, &mut cmd).unwrap());
        assert_eq!(cmd, POSTGRES_CMDLINE);
        assert!(fs.read_pid_cmdline(2204, &mut buf, 35, &mut cmd).unwrap());
        assert_eq!(cmd, "/usr/lib/postgresql/15/bin/postgres");
        assert!(!fs.read_pid_cmdline(2, &mut buf, 4096, &mut cmd).unwrap());
        assert_eq!(cmd, "", "kernel threads have no command line");
        assert_eq!(fs.read_pid_cgroup_container(2204, &mut buf).unwrap(), None);
        assert_eq!(fs.read_pid_comm(2204, &mut buf).unwrap(), "postgres");
        assert_eq!(fs.read_pid_comm(2, &mut buf).unwrap(), "kthreadd");
        assert_eq!(fs.read_pid_exe(2204).unwrap(), None, "no exe link recorded");
        let mut pids = vec![7, 8, 9];
        fs.list_pids(&mut pids).unwrap();
        pids.sort_unstable();
        assert_eq!(pids, [2, 2204], "self and net are not processes");
        assert!(
            fs.count_pid_fds(2204).unwrap_err().is_not_found(),
            "no fd folder recorded"
        );
    }

    #[test]
    fn a_missing_process_is_not_found_by_every_reader() {
        let fs = fixture_fs();
        let mut buf = Vec::new();
        let mut cmd = String::from("old");
        let errors = [
            fs.read_pid_status(999_999, &mut buf).unwrap_err(),
            fs.read_pid_io(999_999, &mut buf).unwrap_err(),
            fs.read_pid_cmdline(999_999, &mut buf, 100, &mut cmd)
                .unwrap_err(),
            fs.read_pid_cgroup_container(999_999, &mut buf).unwrap_err(),
            fs.read_pid_comm(999_999, &mut buf).unwrap_err(),
            fs.read_pid_exe(999_999).unwrap_err(),
            fs.count_pid_fds(999_999).unwrap_err(),
        ];
        for (err, file) in errors
            .iter()
            .zip(["status", "io", "cmdline", "cgroup", "comm", "exe", "fd"])
        {
            assert!(err.is_not_found(), "{err:?}");
            assert_eq!(err.path(), fixture_root().join("999999").join(file));
        }
        assert_eq!(cmd, "", "cleared on error");
        let missing = ProcFs::with_root("/nonexistent/lookout");
        assert!(missing
            .list_pids(&mut Vec::new())
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn a_root_of_plain_files_counts_fd_entries_and_reads_exe_links() {
        let dir = TempDir::new();
        let root = dir.path();
        std::fs::create_dir_all(root.join("42/fd")).unwrap();
        std::fs::create_dir_all(root.join("43/fd")).unwrap();
        std::fs::create_dir_all(root.join("self")).unwrap();
        for fd in ["0", "1", "2", "7"] {
            std::fs::write(root.join("42/fd").join(fd), "").unwrap();
        }
        std::os::unix::fs::symlink("/usr/sbin/nginx (deleted)", root.join("42/exe")).unwrap();
        let fs = ProcFs::with_root(root);
        // Not a proc filesystem: the entries are counted, not the directory's size trusted.
        assert_eq!(fs.count_pid_fds(42).unwrap(), 4);
        assert_eq!(fs.count_pid_fds(43).unwrap(), 0);
        assert_eq!(
            fs.read_pid_exe(42).unwrap(),
            Some(PathBuf::from("/usr/sbin/nginx (deleted)"))
        );
        assert_eq!(fs.read_pid_exe(43).unwrap(), None);
        let mut pids = Vec::new();
        fs.list_pids(&mut pids).unwrap();
        pids.sort_unstable();
        assert_eq!(pids, [42, 43]);
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

    /// The output of `id` with `flag`, as a number.
    fn id(flag: &str) -> u32 {
        let out = Command::new("id").arg(flag).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn real_status_io_and_comm_of_self() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let me = std::process::id();
        let stat = fs.read_pid_stat(me, &mut buf).unwrap();
        let status = fs.read_pid_status(me, &mut buf).unwrap();
        assert_eq!(status.name, stat.comm);
        assert_eq!(fs.read_pid_comm(me, &mut buf).unwrap(), stat.comm);
        assert!(status.state.is_ascii_alphabetic(), "{status:?}");
        assert_eq!(status.ppid, std::os::unix::process::parent_id());
        assert_eq!(status.uid_effective, id("-u"));
        assert_eq!(status.uid_real, id("-ru"));
        assert!(status.threads >= 1);
        let rss = status.vm_rss.unwrap();
        assert!(rss > 0 && status.vm_size.unwrap() >= rss, "{status:?}");
        assert!(status.vm_swap.is_some());
        assert!(status.voluntary_ctxt_switches + status.nonvoluntary_ctxt_switches > 0);
        let io = fs.read_pid_io(me, &mut buf).unwrap();
        assert!(io.rchar > 0 && io.syscr > 0, "this test read files: {io:?}");
        assert!(fs.read_pid_cgroup_container(me, &mut buf).is_ok());
        let init = fs.read_pid_status(1, &mut buf).unwrap();
        assert_eq!(init.ppid, 0, "{init:?}");
    }

    #[test]
    fn real_cmdline_and_exe_of_self() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let me = std::process::id();
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let want = args.join(" ");
        let mut cmd = String::new();
        assert!(!fs
            .read_pid_cmdline(me, &mut buf, usize::MAX, &mut cmd)
            .unwrap());
        assert_eq!(cmd, want);
        assert!(!fs
            .read_pid_cmdline(me, &mut buf, want.len(), &mut cmd)
            .unwrap());
        assert_eq!(cmd, want);
        let cut = fs.read_pid_cmdline(me, &mut buf, 5, &mut cmd).unwrap();
        assert_eq!(cut, want.len() > 5);
        assert!(want.starts_with(&cmd) && cmd.len() <= 5);
        assert_eq!(
            fs.read_pid_exe(me).unwrap(),
            Some(std::env::current_exe().unwrap())
        );
    }

    #[test]
    fn real_list_pids() {
        let fs = ProcFs::new();
        let mut pids = Vec::with_capacity(4096);
        fs.list_pids(&mut pids).unwrap();
        assert!(pids.contains(&std::process::id()));
        assert!(pids.contains(&1), "every PID namespace has an init");
        let unique: BTreeSet<_> = pids.iter().collect();
        assert_eq!(unique.len(), pids.len());
        let ptr = pids.as_ptr();
        fs.list_pids(&mut pids).unwrap();
        assert_eq!(pids.as_ptr(), ptr, "the vector is reused");
        let counts = fs.count_processes_by_state().unwrap();
        // Processes come and go between the two listings.
        assert!(
            (pids.len() as u64).abs_diff(counts.total() + counts.vanished) < 50,
            "{} vs {counts:?}",
            pids.len()
        );
    }

    #[test]
    fn real_start_time_is_between_boot_and_now() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let boot = fs.read_stat(&mut buf).unwrap().boot_time;
        let me = fs.read_self_stat(&mut buf).unwrap();
        let started =
            crate::start_time_unix_nanos(me.starttime, boot, crate::clock_ticks_per_second());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let secs = 1_000_000_000;
        assert!(started >= boot * secs);
        // The boot time comes from a clock that may have been set since boot: allow slack.
        assert!(started <= now + 600 * secs, "{started} > {now}");
        assert!(
            started + 3600 * secs >= now,
            "this test started within the hour"
        );
    }

    /// Polls `pid`'s state until it is `want`; panics after 10 s.
    fn wait_for_state(fs: &ProcFs, pid: u32, want: char) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = Vec::new();
        loop {
            if fs.read_pid_stat(pid, &mut buf).unwrap().state == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{pid} never reached state {want}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn spawn(program: &str, args: &[&str]) -> Child {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    #[test]
    fn real_fd_counts_agree_with_the_fd_folder() {
        let fs = ProcFs::new();
        assert!(is_procfs(Path::new("/proc")));
        assert!(!is_procfs(&fixture_root()));
        assert!(fs.count_pid_fds(std::process::id()).unwrap() > 2);
        // A sleeping child holds its three standard streams and whatever this process inherited
        // without close-on-exec, and opens nothing more: both ways of counting agree.
        let mut child = spawn("sleep", &["60"]);
        wait_for_state(&fs, child.id(), 'S');
        let n = fs.count_pid_fds(child.id()).unwrap();
        let listed = count_entries(&fs.pid_path(child.id(), "fd")).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(n, listed);
        assert!(n >= 3, "{n}");
    }

    #[test]
    fn real_zombies_and_vanished_processes() {
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let mut cmd = String::new();
        let mut child = spawn("true", &[]);
        let pid = child.id();
        // Exited but not yet waited for: a zombie, with no memory, files or command line.
        wait_for_state(&fs, pid, 'Z');
        assert_eq!(fs.read_pid_exe(pid).unwrap(), None);
        assert!(!fs.read_pid_cmdline(pid, &mut buf, 100, &mut cmd).unwrap());
        assert_eq!(cmd, "");
        let status = fs.read_pid_status(pid, &mut buf).unwrap();
        assert_eq!((status.state, status.vm_rss), ('Z', None), "{status:?}");
        assert_eq!(fs.count_pid_fds(pid).unwrap(), 0);
        child.wait().unwrap();
        // Reaped: gone.
        assert!(fs
            .read_pid_status(pid, &mut buf)
            .unwrap_err()
            .is_not_found());
        assert!(fs.read_pid_io(pid, &mut buf).unwrap_err().is_not_found());
        assert!(fs
            .read_pid_cmdline(pid, &mut buf, 100, &mut cmd)
            .unwrap_err()
            .is_not_found());
        assert!(fs.read_pid_exe(pid).unwrap_err().is_not_found());
        assert!(fs.count_pid_fds(pid).unwrap_err().is_not_found());
        assert!(fs.read_pid_comm(pid, &mut buf).unwrap_err().is_not_found());
        assert!(fs
            .read_pid_cgroup_container(pid, &mut buf)
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn real_kernel_threads() {
        /// `PF_KTHREAD` in the flags of `stat`.
        const PF_KTHREAD: u32 = 0x0020_0000;
        let fs = ProcFs::new();
        let mut buf = Vec::new();
        let mut pids = Vec::new();
        fs.list_pids(&mut pids).unwrap();
        let kthread = pids.into_iter().find(|&pid| {
            fs.read_pid_stat(pid, &mut buf)
                .is_ok_and(|st| st.flags & PF_KTHREAD != 0)
        });
        let Some(pid) = kthread else {
            eprintln!("no kernel thread visible (a PID namespace?), skipping");
            return;
        };
        let status = fs.read_pid_status(pid, &mut buf).unwrap();
        assert_eq!(
            (status.vm_rss, status.vm_size, status.vm_swap),
            (None, None, None)
        );
        let mut cmd = String::from("x");
        assert!(!fs.read_pid_cmdline(pid, &mut buf, 100, &mut cmd).unwrap());
        assert_eq!(cmd, "");
        assert_eq!(fs.read_pid_exe(pid).unwrap(), None);
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
