//! `lookout-proc` reads the Linux kernel's view of the host: pure parsers turn the bytes of one
//! `/proc` file into a struct ([`parse_stat`] gives a [`Stat`], [`parse_meminfo`] a [`MemInfo`],
//! and so on for `loadavg`, `uptime`, `vmstat`, `diskstats`, `net/dev`, `net/tcp*`,
//! `net/udp*`, `<pid>/mountinfo` and `<pid>/stat`; per process also [`parse_pid_status`],
//! [`parse_pid_io`], [`parse_cmdline`] and [`container_id_from_cgroup`]), and [`ProcFs`] knows the
//! paths, reads each file into a reused buffer and returns the parsed value or a [`ReadError`]
//! sorted by what the caller should do; it also lists processes ([`ProcFs::list_pids`]), counts
//! their open files and reads their executable's path. [`UserNames`] names user IDs from a
//! `passwd` file. [`statvfs`], [`clock_ticks_per_second`] and [`page_size`] ask the C library for
//! what `/proc` does not hold. The host metrics and process sources in `lookout-sources` are built
//! on it; it depends on no other lookout crate.
//!
//! Parsers never do I/O and never panic; they tolerate the extra lines and columns newer kernels
//! add, skip a malformed line of a line-oriented file, and return a [`ParseError`] (with the line
//! where one is to blame) only when nothing usable is left. Values stay in the kernel's units
//! (clock ticks, pages, sectors) except where a field says otherwise; conversions that need the
//! system (ticks per second, page size) are left to the caller so tests can fix them.
#![deny(missing_docs)]

mod cgroup;
mod cmdline;
mod diskstats;
mod error;
mod fsstat;
mod loadavg;
mod meminfo;
mod mountinfo;
mod netdev;
mod pidstat;
mod pidstatus;
mod procfs;
#[cfg(test)]
mod robustness;
mod sockets;
mod stat;
mod sys;
mod users;
mod util;
mod vmstat;

pub use cgroup::container_id_from_cgroup;
pub use cmdline::parse_cmdline;
pub use diskstats::{parse_diskstats, DiskStat, SECTOR_SIZE};
pub use error::{ParseError, ReadError};
pub use fsstat::{statvfs, FsStats};
pub use loadavg::{parse_loadavg, parse_uptime, LoadAvg, Uptime};
pub use meminfo::{parse_meminfo, MemInfo};
pub use mountinfo::{is_pseudo_fs, parse_mountinfo, Mount};
pub use netdev::{parse_net_dev, NetDev};
pub use pidstat::{
    parse_pid_stat, parse_pid_state, start_time_unix_nanos, PidStat, ProcessStateCounts,
};
pub use pidstatus::{parse_pid_io, parse_pid_status, PidIo, PidStatus};
pub use procfs::ProcFs;
pub use sockets::{count_tcp_states, parse_socket_count, parse_tcp_states, TcpStateCounts};
pub use stat::{parse_stat, CpuTimes, Stat};
pub use sys::{clock_ticks_per_second, page_size};
pub use users::UserNames;
pub use vmstat::{parse_vmstat, VmStat};

#[cfg(test)]
mod testutil {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The recorded sample folder used by the unit tests.
    pub(crate) const FIXTURE: &str = "debian12-6.18.44-fc-v657";

    /// The `proc` folder of the recorded samples, usable as a [`crate::ProcFs`] root.
    pub(crate) fn fixture_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(FIXTURE)
            .join("proc")
    }

    /// The bytes of one recorded file, by its path under the fixture folder (`proc/stat`).
    pub(crate) fn fixture(path: &str) -> Vec<u8> {
        let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(FIXTURE)
            .join(path);
        match std::fs::read(&full) {
            Ok(bytes) => bytes,
            Err(err) => panic!("cannot read fixture {}: {err}", full.display()),
        }
    }

    /// A new empty directory under the system's temporary folder, removed with what it holds
    /// when dropped.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new() -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let path = std::env::temp_dir().join(format!(
                "lookout-proc-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            // Left over from an earlier run that had this process ID.
            let _ = std::fs::remove_dir_all(&path);
            if let Err(err) = std::fs::create_dir(&path) {
                panic!("cannot create {}: {err}", path.display());
            }
            TempDir(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
